//! Watchers: table catch-up followed by the live in-process fan-out.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Weak};

use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::StoreError;
use crate::keys::KeyRange;
use crate::store::{Inner, KeyValue, Store};

/// Events fetched from the table per catch-up query.
const CATCH_UP_BATCH: usize = 512;

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The key was created (it did not exist before this revision).
    Created,
    /// The key's value was replaced.
    Updated,
    /// The key was deleted.
    Deleted,
}

/// One change delivered by a [`Watcher`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The key's new state. For [`EventKind::Deleted`] this is the last value
    /// before the delete, with `mod_revision` set to the delete's revision.
    /// `kv.mod_revision` is always the event's revision.
    pub kv: KeyValue,
    /// The value before this change (`None` for [`EventKind::Created`]).
    pub prev_value: Option<Vec<u8>>,
}

impl Event {
    /// The revision at which this event happened.
    pub fn revision(&self) -> i64 {
        self.kv.mod_revision
    }
}

/// A stream of [`Event`]s under a key prefix, created by [`Store::watch`].
///
/// Events are delivered in revision order, without gaps or duplicates. A
/// watcher that falls behind the live fan-out re-reads the missed events from
/// the table; if they have been compacted meanwhile it yields
/// `Err(StoreError::Compacted)` and ends. The stream also ends (`None`) after
/// any other error and when the store is closed or dropped.
pub struct Watcher {
    store: Weak<Inner>,
    range: KeyRange,
    /// Revision of the last event delivered (or fetched from the table, for
    /// events still sitting in `buffer`).
    last: i64,
    buffer: VecDeque<Event>,
    rx: broadcast::Receiver<Arc<Event>>,
    catching_up: bool,
    done: bool,
}

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watcher")
            .field("prefix", &self.range.prefix)
            .field("last_revision", &self.last)
            .field("buffered", &self.buffer.len())
            .field("catching_up", &self.catching_up)
            .field("done", &self.done)
            .finish()
    }
}

/// Outcome of one step of the state machine that needs no I/O.
enum Step {
    Yield(Option<Result<Event, StoreError>>),
    CatchUp,
    Live,
}

impl Watcher {
    pub(crate) fn new(
        store: Weak<Inner>,
        range: KeyRange,
        after: i64,
        rx: broadcast::Receiver<Arc<Event>>,
    ) -> Self {
        Watcher {
            store,
            range,
            last: after,
            buffer: VecDeque::new(),
            rx,
            catching_up: true,
            done: false,
        }
    }

    /// The key prefix being watched.
    pub fn prefix(&self) -> &str {
        &self.range.prefix
    }

    /// Revision of the last event fetched by this watcher (initially the
    /// `after_revision` it was created with).
    pub fn last_revision(&self) -> i64 {
        match self.buffer.front() {
            Some(ev) => ev.kv.mod_revision - 1,
            None => self.last,
        }
    }

    /// Whether the stream has ended (`next` will only return `None`).
    pub fn is_terminated(&self) -> bool {
        self.done
    }

    fn step(&mut self) -> Step {
        if self.done {
            return Step::Yield(None);
        }
        if let Some(ev) = self.buffer.pop_front() {
            return Step::Yield(Some(Ok(ev)));
        }
        if self.catching_up {
            Step::CatchUp
        } else {
            Step::Live
        }
    }

    fn fail(&mut self, err: StoreError) -> Option<Result<Event, StoreError>> {
        tracing::debug!(prefix = %self.range.prefix, error = %err, "watch ended with error");
        self.done = true;
        self.buffer.clear();
        Some(Err(err))
    }

    fn end(&mut self) -> Option<Result<Event, StoreError>> {
        self.done = true;
        self.buffer.clear();
        None
    }

    /// Apply a catch-up result; returns something to yield on error.
    fn apply_catch_up(
        &mut self,
        res: Result<Vec<Event>, StoreError>,
    ) -> Option<Option<Result<Event, StoreError>>> {
        match res {
            Ok(events) => {
                if events.len() < CATCH_UP_BATCH {
                    // Everything committed before the catch-up snapshot has
                    // been read; later events are in the live channel, which
                    // was subscribed before the snapshot.
                    self.catching_up = false;
                }
                if let Some(last) = events.last() {
                    self.last = last.kv.mod_revision;
                }
                self.buffer.extend(events);
                None
            }
            Err(StoreError::Closed) => Some(self.end()),
            Err(e) => Some(self.fail(e)),
        }
    }

    /// Handle a live message; returns an event to deliver, if any.
    fn apply_live(&mut self, msg: Arc<Event>) -> Option<Event> {
        let rev = msg.kv.mod_revision;
        if rev <= self.last {
            return None; // already delivered during catch-up
        }
        if !self.range.contains(&msg.kv.key) {
            return None;
        }
        self.last = rev;
        Some(Arc::unwrap_or_clone(msg))
    }

    fn lagged(&mut self, skipped: u64) {
        tracing::debug!(
            prefix = %self.range.prefix,
            skipped,
            last = self.last,
            "watcher lagged behind live events; catching up from the table"
        );
        // Start a fresh subscription: everything sent before it was committed
        // before it, so the table catch-up will see it.
        self.rx = self.rx.resubscribe();
        self.catching_up = true;
    }

    fn catch_up_blocking(&self) -> Result<Vec<Event>, StoreError> {
        let inner = self.store.upgrade().ok_or(StoreError::Closed)?;
        Store::from_inner(inner).events_after(&self.range, self.last, CATCH_UP_BATCH)
    }

    /// Wait for the next event. Returns `None` once the stream has ended.
    ///
    /// Cancel-safe: dropping the future loses no events. Table reads run on
    /// tokio's blocking pool.
    pub async fn next(&mut self) -> Option<Result<Event, StoreError>> {
        loop {
            match self.step() {
                Step::Yield(out) => return out,
                Step::CatchUp => {
                    let Some(inner) = self.store.upgrade() else {
                        return self.end();
                    };
                    let range = self.range.clone();
                    let last = self.last;
                    let res = if tokio::runtime::Handle::try_current().is_ok() {
                        tokio::task::spawn_blocking(move || {
                            Store::from_inner(inner).events_after(&range, last, CATCH_UP_BATCH)
                        })
                        .await
                        .unwrap_or_else(|e| {
                            Err(StoreError::Internal(format!("catch-up task: {e}")))
                        })
                    } else {
                        Store::from_inner(inner).events_after(&range, last, CATCH_UP_BATCH)
                    };
                    if let Some(out) = self.apply_catch_up(res) {
                        return out;
                    }
                }
                Step::Live => match self.rx.recv().await {
                    Ok(msg) => {
                        if let Some(ev) = self.apply_live(msg) {
                            return Some(Ok(ev));
                        }
                    }
                    Err(RecvError::Lagged(n)) => self.lagged(n),
                    Err(RecvError::Closed) => return self.end(),
                },
            }
        }
    }

    /// Blocking variant of [`Watcher::next`] for use outside async code.
    /// Returns `Err(StoreError::Internal)` if called from within a tokio
    /// runtime (where blocking would stall the executor).
    pub fn next_blocking(&mut self) -> Option<Result<Event, StoreError>> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Some(Err(StoreError::Internal(
                "Watcher::next_blocking called from an async context; use next().await".into(),
            )));
        }
        loop {
            match self.step() {
                Step::Yield(out) => return out,
                Step::CatchUp => {
                    let res = self.catch_up_blocking();
                    if let Some(out) = self.apply_catch_up(res) {
                        return out;
                    }
                }
                Step::Live => match self.rx.blocking_recv() {
                    Ok(msg) => {
                        if let Some(ev) = self.apply_live(msg) {
                            return Some(Ok(ev));
                        }
                    }
                    Err(RecvError::Lagged(n)) => self.lagged(n),
                    Err(RecvError::Closed) => return self.end(),
                },
            }
        }
    }

    /// Non-waiting variant: returns the next event if one is available now,
    /// `None` if there is none yet or the stream has ended (see
    /// [`Watcher::is_terminated`]). May perform a (blocking) table read while
    /// catching up.
    pub fn try_next(&mut self) -> Option<Result<Event, StoreError>> {
        loop {
            match self.step() {
                Step::Yield(out) => return out,
                Step::CatchUp => {
                    let res = self.catch_up_blocking();
                    if let Some(out) = self.apply_catch_up(res) {
                        return out;
                    }
                }
                Step::Live => match self.rx.try_recv() {
                    Ok(msg) => {
                        if let Some(ev) = self.apply_live(msg) {
                            return Some(Ok(ev));
                        }
                    }
                    Err(TryRecvError::Empty) => return None,
                    Err(TryRecvError::Lagged(n)) => self.lagged(n),
                    Err(TryRecvError::Closed) => return self.end(),
                },
            }
        }
    }
}
