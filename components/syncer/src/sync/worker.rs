//! Workers of one sync loop: keys popped from a de-duplicating queue, never the same key in two
//! workers at once, failures retried with a per-key exponential back-off, every sync timed.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use warren_controllers::queue::Queue;

use super::SyncError;
use super::metrics::Metrics;

/// What a sync asks for next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Done,
    /// Sync the key again after this long (something is due later, or a cache lags).
    After(Duration),
}

/// First retry delay after a failure; doubles per consecutive failure.
const FIRST_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Delay before retrying a key that failed `failures` times in a row.
pub fn retry_delay(failures: u32) -> Duration {
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1).min(16))
        .unwrap_or(u32::MAX);
    FIRST_RETRY.saturating_mul(factor).min(MAX_RETRY)
}

#[derive(Default)]
struct Bookkeeping {
    in_flight: HashSet<String>,
    /// Keys that came up again while a worker had them: synced once more as soon as it is done
    /// (client-go's workqueue "dirty" set), so a change seen mid-sync is neither lost nor late.
    again: HashSet<String>,
    failures: HashMap<String, u32>,
}

/// Starts `workers` tasks syncing keys of `queue` with `sync`.
pub fn spawn<F, Fut>(name: &'static str, queue: Queue, workers: usize, metrics: Metrics, sync: F)
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Next, SyncError>> + Send + 'static,
{
    metrics.register(name, &queue);
    let sync = Arc::new(sync);
    let books = Arc::new(Mutex::new(Bookkeeping::default()));
    for _ in 0..workers.max(1) {
        let (queue, metrics, sync, books) =
            (queue.clone(), metrics.clone(), sync.clone(), books.clone());
        tokio::spawn(async move {
            loop {
                let key = queue.next().await;
                {
                    let mut b = books.lock().unwrap_or_else(|e| e.into_inner());
                    if !b.in_flight.insert(key.clone()) {
                        // Another worker has it; it syncs the key again when done.
                        b.again.insert(key);
                        continue;
                    }
                }
                let started = Instant::now();
                let result = sync(key.clone()).await;
                metrics.observe(name, started.elapsed(), result.is_ok());
                let mut b = books.lock().unwrap_or_else(|e| e.into_inner());
                b.in_flight.remove(&key);
                let again = b.again.remove(&key);
                match result {
                    Ok(next) => {
                        b.failures.remove(&key);
                        drop(b);
                        if again {
                            queue.add(key);
                        } else if let Next::After(delay) = next {
                            queue.add_after(key, delay);
                        }
                    }
                    Err(error) => {
                        let failures = b.failures.entry(key.clone()).or_insert(0);
                        *failures += 1;
                        let delay = retry_delay(*failures);
                        let failures = *failures;
                        drop(b);
                        if failures > 3 {
                            tracing::warn!(sync = name, %key, %error, failures, "sync failed");
                        } else {
                            tracing::debug!(sync = name, %key, %error, failures, "sync failed");
                        }
                        queue.add_after(key, delay);
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key added while a worker syncs it is synced once more right after, not dropped and
    /// not delayed.
    #[tokio::test]
    async fn a_key_added_mid_sync_is_synced_again_at_once() {
        let queue = Queue::new();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let release = Arc::new(tokio::sync::Notify::new());
        let (c, r) = (calls.clone(), release.clone());
        spawn("test", queue.clone(), 4, Metrics::default(), move |_key| {
            let (c, r) = (c.clone(), r.clone());
            async move {
                if c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    r.notified().await;
                }
                Ok(Next::Done)
            }
        });
        queue.add("ns/a");
        tokio::time::sleep(Duration::from_millis(20)).await;
        queue.add("ns/a"); // taken by a second worker, which must leave it to the first
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        let started = Instant::now();
        release.notify_one();
        while calls.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "never synced again"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn retries_back_off_to_a_cap() {
        assert_eq!(retry_delay(1), Duration::from_millis(200));
        assert_eq!(retry_delay(2), Duration::from_millis(400));
        assert_eq!(retry_delay(5), Duration::from_millis(3200));
        assert_eq!(retry_delay(9), Duration::from_secs(30));
        assert_eq!(retry_delay(100), Duration::from_secs(30));
    }
}
