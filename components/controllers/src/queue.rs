//! A de-duplicating work queue of keys (client-go's workqueue, minus rate limiting): a key
//! added while queued is queued once; a key added while being processed is processed again
//! afterwards. Keys added with a delay wait in a heap served by one timer task per queue (a
//! task per delayed key cost ~300 bytes each: 1.5 MB for the token renewals of 5,000 pods).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Clone, Default)]
pub struct Queue {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    notify: Notify,
    /// Wakes the timer task when a delayed key is due before the ones it waits for.
    timer: Arc<Notify>,
}

#[derive(Default)]
struct State {
    order: VecDeque<String>,
    queued: HashSet<String>,
    /// Keys added with a delay, earliest first.
    delayed: BinaryHeap<Reverse<(Instant, String)>>,
    timer_started: bool,
}

impl Queue {
    pub fn new() -> Queue {
        Queue::default()
    }

    pub fn add(&self, key: impl Into<String>) {
        let key = key.into();
        let mut s = self.lock();
        if s.queued.insert(key.clone()) {
            s.order.push_back(key);
            drop(s);
            self.inner.notify.notify_one();
        }
    }

    /// Adds the key after a delay (must be called within a tokio runtime).
    pub fn add_after(&self, key: impl Into<String>, delay: Duration) {
        let due = Instant::now() + delay;
        let mut s = self.lock();
        let sooner = s
            .delayed
            .peek()
            .is_none_or(|Reverse((next, _))| due < *next);
        s.delayed.push(Reverse((due, key.into())));
        let start = !std::mem::replace(&mut s.timer_started, true);
        drop(s);
        if start {
            tokio::spawn(run_timer(
                Arc::downgrade(&self.inner),
                self.inner.timer.clone(),
            ));
        } else if sooner {
            self.inner.timer.notify_one();
        }
    }

    /// Keys waiting for their delay.
    pub fn delayed_len(&self) -> usize {
        self.lock().delayed.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next key, waiting for one.
    pub async fn next(&self) -> String {
        loop {
            let notified = self.inner.notify.notified();
            {
                let mut s = self.lock();
                if let Some(k) = s.order.pop_front() {
                    s.queued.remove(&k);
                    if !s.order.is_empty() {
                        self.inner.notify.notify_one();
                    }
                    return k;
                }
            }
            notified.await;
        }
    }

    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Moves due keys into the queue, then sleeps until the next is due or a sooner one arrives;
/// ends with the queue.
async fn run_timer(queue: Weak<Inner>, timer: Arc<Notify>) {
    loop {
        let next_due = {
            let Some(inner) = queue.upgrade() else {
                return;
            };
            let q = Queue { inner };
            let now = Instant::now();
            let mut due = Vec::new();
            let next_due = {
                let mut s = q.lock();
                while let Some(Reverse((at, _))) = s.delayed.peek() {
                    if *at > now {
                        break;
                    }
                    if let Some(Reverse((_, key))) = s.delayed.pop() {
                        due.push(key);
                    }
                }
                s.delayed.peek().map(|Reverse((at, _))| *at)
            };
            for key in due {
                q.add(key);
            }
            next_due
        };
        match next_due {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = timer.notified() => {}
                }
            }
            None => timer.notified().await,
        }
    }
}

/// `namespace/name` (or `name` for cluster-scoped objects).
pub fn key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// Splits a key from [`key`].
pub fn split(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dedups_and_orders() {
        let q = Queue::new();
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.len(), 2);
        assert_eq!(q.next().await, "a");
        q.add("a");
        assert_eq!(q.next().await, "b");
        assert_eq!(q.next().await, "a");
        assert!(q.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_keys_come_when_due_in_due_order_from_one_timer() {
        let q = Queue::new();
        q.add_after("late", Duration::from_secs(60));
        q.add_after("soon", Duration::from_secs(5));
        q.add_after("sooner", Duration::from_secs(1));
        for i in 0..1000 {
            q.add_after(format!("renew-{i}"), Duration::from_secs(3600));
        }
        tokio::task::yield_now().await;
        assert!(q.is_empty(), "nothing is due yet");
        assert_eq!(q.delayed_len(), 1003);

        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(q.next().await, "sooner");
        assert!(q.is_empty());
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(q.next().await, "soon");
        // A key added later but due earlier wakes the timer.
        q.add_after("urgent", Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(q.next().await, "urgent");
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(q.next().await, "late");
        assert_eq!(q.delayed_len(), 1000);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(q.len(), 1000);
        assert_eq!(q.delayed_len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_key_already_queued_is_queued_once() {
        let q = Queue::new();
        q.add("a");
        q.add_after("a", Duration::from_secs(1));
        q.add_after("a", Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(q.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_ends_with_its_queue() {
        let q = Queue::new();
        q.add_after("a", Duration::from_secs(1));
        let weak = Arc::downgrade(&q.inner);
        drop(q);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            weak.upgrade().is_none(),
            "the timer holds no reference between wake-ups"
        );
    }

    #[test]
    fn keys() {
        assert_eq!(key(Some("ns"), "x"), "ns/x");
        assert_eq!(split("ns/x"), (Some("ns"), "x"));
        assert_eq!(split("x"), (None, "x"));
    }
}
