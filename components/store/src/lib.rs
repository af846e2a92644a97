//! Revisioned key/value log over SQLite (see the crate description).
//!
//! `warren-store` is a kine-like, log-structured key/value store that backs a
//! Kubernetes API server:
//!
//! * every write (create, update, delete) appends a row to the `kv` table; the
//!   row's `AUTOINCREMENT` id is the global **revision** (a Kubernetes object's
//!   `metadata.resourceVersion` is the revision of its last write);
//! * a `kv_live` table maps each live key to its latest row so that reads at the
//!   latest revision never scan history;
//! * historical reads (`get_at`, `list` with a revision) pick the latest row per
//!   key with `id <= revision`;
//! * [`Store::watch`] streams every change under a key prefix after a revision:
//!   it catches up from the table and then follows an in-process fan-out that
//!   writers feed after `COMMIT`;
//! * [`Store::compact`] drops history older than a revision in small batches.
//!
//! All [`Store`] methods are synchronous and may block on SQLite I/O; async
//! callers should wrap them in `tokio::task::spawn_blocking`.
#![forbid(unsafe_code)]

mod error;
mod keys;
mod pool;
mod store;
mod watch;

#[cfg(test)]
mod tests;

pub use error::StoreError;
pub use keys::prefix_end;
pub use store::{KeyValue, ListOptions, ListPage, Store, StoreOptions};
pub use watch::{Event, EventKind, Watcher};
