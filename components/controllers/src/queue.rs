//! A de-duplicating work queue of keys (client-go's workqueue, minus rate limiting): a key
//! added while queued is queued once; a key added while being processed is processed again
//! afterwards.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct Queue {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Default)]
struct State {
    order: VecDeque<String>,
    queued: HashSet<String>,
}

impl Queue {
    pub fn new() -> Queue {
        Queue::default()
    }

    pub fn add(&self, key: impl Into<String>) {
        let key = key.into();
        let mut s = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.queued.insert(key.clone()) {
            s.order.push_back(key);
            drop(s);
            self.inner.notify.notify_one();
        }
    }

    /// Adds the key after a delay.
    pub fn add_after(&self, key: impl Into<String>, delay: Duration) {
        let key = key.into();
        let q = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            q.add(key);
        });
    }

    /// The next key, waiting for one.
    pub async fn next(&self) -> String {
        loop {
            let notified = self.inner.notify.notified();
            {
                let mut s = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
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
        self.inner
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .order
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    #[test]
    fn keys() {
        assert_eq!(key(Some("ns"), "x"), "ns/x");
        assert_eq!(split("ns/x"), (Some("ns"), "x"));
        assert_eq!(split("x"), (None, "x"));
    }
}
