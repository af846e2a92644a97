//! The SQLite-backed revisioned store.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use tokio::sync::broadcast;

use crate::StoreError;
use crate::keys::KeyRange;
use crate::pool::{ReadPool, lock};
use crate::watch::{Event, EventKind, Watcher};

/// Rows (revisions) handled per compaction transaction; the write lock is
/// released between batches.
const COMPACT_BATCH: i64 = 1_000;
/// Default capacity of the live watch fan-out channel. The channel holds its last events (each
/// with the value before it) whether or not anyone still needs them: 1,024 pod events held ~8 MB
/// under load. A watcher further behind catches up from the table, which has every event.
pub(crate) const DEFAULT_WATCH_CAPACITY: usize = 256;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const STATEMENT_CACHE: usize = 64;
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    created         INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision   INTEGER NOT NULL,
    value           BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS kv_live (
    name TEXT    PRIMARY KEY,
    id   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    k TEXT    PRIMARY KEY,
    v INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (k, v) VALUES ('compacted', 0);
INSERT OR IGNORE INTO meta (k, v) VALUES ('schema_version', 1);
";

const SQL_CURRENT_REV: &str = "SELECT MAX(
    COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'kv'), 0),
    COALESCE((SELECT MAX(id) FROM kv), 0))";
const SQL_COMPACTED_REV: &str = "SELECT v FROM meta WHERE k = 'compacted'";
const SQL_GET_LIVE: &str = "SELECT k.id, k.create_revision, k.value
    FROM kv_live l JOIN kv k ON k.id = l.id WHERE l.name = ?1";
const SQL_GET_AT: &str = "SELECT id, create_revision, deleted, value FROM kv
    WHERE name = ?1 AND id <= ?2 ORDER BY id DESC LIMIT 1";
const SQL_INSERT: &str = "INSERT INTO kv
    (id, name, created, deleted, create_revision, prev_revision, value)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Tuning knobs for [`Store::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// How many revisions of history [`Store::spawn_compactor`] keeps
    /// (it compacts to `current_revision - retention_revisions`).
    /// A negative value disables the periodic compactor.
    pub retention_revisions: i64,
    /// How often [`Store::spawn_compactor`] runs.
    pub compact_interval: Duration,
    /// Number of read-only connections used for `get` / `list` / `count` and
    /// watch catch-up (at least one is always opened).
    pub read_connections: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            retention_revisions: 10_000,
            compact_interval: Duration::from_secs(60),
            read_connections: 4,
        }
    }
}

/// A key with its value at some revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key, e.g. `/registry/apps/deployments/default/web`.
    pub key: String,
    /// Revision of the write that created this incarnation of the key.
    pub create_revision: i64,
    /// Revision of the last write to the key (its `resourceVersion`).
    pub mod_revision: i64,
    /// Opaque value bytes.
    pub value: Vec<u8>,
}

/// Options for [`Store::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Read the state as of this revision; `None` reads the latest state.
    pub revision: Option<i64>,
    /// Only return keys strictly greater than this one (pagination cursor).
    pub start_after: Option<String>,
    /// Maximum number of items; `None` or `Some(0)` means unlimited.
    pub limit: Option<usize>,
}

/// One page of a [`Store::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The revision the list was read at (pass it back as
    /// [`ListOptions::revision`] to read further pages consistently).
    pub revision: i64,
    /// Items in key order.
    pub items: Vec<KeyValue>,
    /// Whether more items exist after the last returned one at `revision`.
    pub more: bool,
    /// How many items exist after the last returned one at `revision`.
    pub remaining: u64,
}

pub(crate) struct Inner {
    path: PathBuf,
    opts: StoreOptions,
    writer: Mutex<Option<Connection>>,
    readers: ReadPool,
    events: Mutex<Option<broadcast::Sender<Arc<Event>>>>,
    current_rev: AtomicI64,
    compacted_rev: AtomicI64,
}

/// Handle to an open store. Cheap to clone; all clones share the same
/// connections and watch fan-out.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("current_revision", &self.current_revision())
            .field("compacted_revision", &self.compacted_revision())
            .finish()
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Current revision as seen by the connection's snapshot / transaction.
fn read_current_rev(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(SQL_CURRENT_REV)?
        .query_row([], |r| r.get::<_, i64>(0))?)
}

/// Compacted revision as seen by the connection's snapshot / transaction.
fn read_compacted_rev(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(SQL_COMPACTED_REV)?
        .query_row([], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0))
}

/// Latest live row of `key`: `(mod_revision, create_revision, value)`.
fn read_live(conn: &Connection, key: &str) -> Result<Option<(i64, i64, Vec<u8>)>, StoreError> {
    Ok(conn
        .prepare_cached(SQL_GET_LIVE)?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

/// Lower-bound clause and parameter for a list starting at `range.prefix`,
/// exclusive of `start_after`.
fn lower_bound<'a>(range: &'a KeyRange, start_after: Option<&'a str>) -> (&'static str, &'a str) {
    match start_after {
        Some(after) if after >= range.prefix.as_str() => (">", after),
        _ => (">=", range.prefix.as_str()),
    }
}

impl Store {
    /// Open (creating if needed) the database at `path`, set WAL mode,
    /// `synchronous=NORMAL` and create the schema.
    ///
    /// `path` must be a file path; the parent directory is created if missing.
    pub fn open(path: &Path, opts: StoreOptions) -> Result<Store, StoreError> {
        Self::open_with_watch_capacity(path, opts, DEFAULT_WATCH_CAPACITY)
    }

    pub(crate) fn open_with_watch_capacity(
        path: &Path,
        opts: StoreOptions,
        watch_capacity: usize,
    ) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), %mode, "could not enable WAL journal mode");
        }
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "foreign_keys", "OFF")?;
        {
            let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(SCHEMA)?;
            let version: i64 =
                tx.query_row("SELECT v FROM meta WHERE k = 'schema_version'", [], |r| {
                    r.get(0)
                })?;
            if version > SCHEMA_VERSION {
                return Err(StoreError::Internal(format!(
                    "database schema version {version} is newer than supported {SCHEMA_VERSION}"
                )));
            }
            tx.commit()?;
        }
        let current = read_current_rev(&writer)?;
        let compacted = read_compacted_rev(&writer)?;

        let n_readers = opts.read_connections.max(1);
        let mut readers = Vec::with_capacity(n_readers);
        for _ in 0..n_readers {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure(&conn)?;
            readers.push(conn);
        }

        let (tx, _) = broadcast::channel(watch_capacity.clamp(1, 1 << 20));
        tracing::info!(
            path = %path.display(),
            current_revision = current,
            compacted_revision = compacted,
            "store opened"
        );
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                opts,
                writer: Mutex::new(Some(writer)),
                readers: ReadPool::new(readers),
                events: Mutex::new(Some(tx)),
                current_rev: AtomicI64::new(current),
                compacted_rev: AtomicI64::new(compacted),
            }),
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.opts
    }

    /// Revision of the latest acknowledged write (0 for an empty store).
    pub fn current_revision(&self) -> i64 {
        self.inner.current_rev.load(Ordering::Acquire)
    }

    /// Revision up to which history has been compacted; reads and watches
    /// below it fail with [`StoreError::Compacted`].
    pub fn compacted_revision(&self) -> i64 {
        self.inner.compacted_rev.load(Ordering::Acquire)
    }

    /// Close the store: in-flight operations finish, later ones fail with
    /// [`StoreError::Closed`], and watchers end after draining.
    /// Dropping every handle has the same effect.
    pub fn close(&self) {
        drop(lock(&self.inner.events).take());
        drop(lock(&self.inner.writer).take());
        self.inner.readers.close();
        tracing::info!(path = %self.inner.path.display(), "store closed");
    }

    pub(crate) fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Store {
        Store { inner }
    }

    /// Run `f` in an IMMEDIATE write transaction; after COMMIT, publish the
    /// resulting event (still under the write lock, so events are published in
    /// revision order).
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<(T, Event), StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = lock(&self.inner.writer);
        let conn = guard.as_mut().ok_or(StoreError::Closed)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (out, event) = f(&tx)?;
        tx.commit()?;
        let rev = event.kv.mod_revision;
        self.inner.current_rev.fetch_max(rev, Ordering::AcqRel);
        if let Some(sender) = lock(&self.inner.events).as_ref()
            && sender.receiver_count() > 0
        {
            // An error only means there are no receivers.
            let _ = sender.send(Arc::new(event));
        }
        Ok(out)
    }

    /// Run `f` inside a read transaction on a pooled read-only connection, so
    /// that all its queries see one consistent snapshot.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.inner.readers.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The live row of `key` as `(mod revision, create revision, value)`, checked against the
    /// caller's expected mod revision: the precondition shared by update and delete.
    fn live_at(
        tx: &Transaction<'_>,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<(i64, i64, Vec<u8>), StoreError> {
        let (prev_rev, create_rev, prev_value) =
            read_live(tx, key)?.ok_or_else(|| StoreError::NotFound {
                key: key.to_owned(),
            })?;
        if let Some(expected) = expected_mod_revision
            && expected != prev_rev
        {
            return Err(StoreError::Conflict {
                key: key.to_owned(),
                current_revision: prev_rev,
            });
        }
        Ok((prev_rev, create_rev, prev_value))
    }

    fn next_revision(tx: &Transaction<'_>) -> Result<i64, StoreError> {
        read_current_rev(tx)?
            .checked_add(1)
            .ok_or_else(|| StoreError::Internal("revision counter overflow".into()))
    }

    /// Create `key`; fails with [`StoreError::AlreadyExists`] if it is live.
    /// Returns the new revision.
    pub fn create(&self, key: &str, value: &[u8]) -> Result<i64, StoreError> {
        self.create_with(key, |_| value.to_vec())
    }

    /// Like [`Store::create`], with the value made from the revision it will be stored at (so a
    /// value can embed its own revision, as Kubernetes objects embed `resourceVersion`).
    /// `value_for` runs only when the write goes ahead.
    pub fn create_with(
        &self,
        key: &str,
        value_for: impl FnOnce(i64) -> Vec<u8>,
    ) -> Result<i64, StoreError> {
        self.write(|tx| {
            if read_live(tx, key)?.is_some() {
                return Err(StoreError::AlreadyExists {
                    key: key.to_owned(),
                });
            }
            let rev = Self::next_revision(tx)?;
            let value = value_for(rev);
            let value = value.as_slice();
            tx.prepare_cached(SQL_INSERT)?
                .execute(params![rev, key, 1, 0, rev, 0, value])?;
            tx.prepare_cached("INSERT OR REPLACE INTO kv_live (name, id) VALUES (?1, ?2)")?
                .execute(params![key, rev])?;
            let event = Event {
                kind: EventKind::Created,
                kv: KeyValue {
                    key: key.to_owned(),
                    create_revision: rev,
                    mod_revision: rev,
                    value: value.to_vec(),
                },
                prev_value: None,
            };
            Ok((rev, event))
        })
    }

    /// Replace the value of a live `key`. With `expected_mod_revision`, fails
    /// with [`StoreError::Conflict`] unless it equals the key's mod revision.
    /// Returns the new revision.
    pub fn update(
        &self,
        key: &str,
        value: &[u8],
        expected_mod_revision: Option<i64>,
    ) -> Result<i64, StoreError> {
        self.update_with(key, |_| value.to_vec(), expected_mod_revision)
    }

    /// Like [`Store::update`], with the value made from the revision it will be stored at.
    /// `value_for` runs only when the write goes ahead.
    pub fn update_with(
        &self,
        key: &str,
        value_for: impl FnOnce(i64) -> Vec<u8>,
        expected_mod_revision: Option<i64>,
    ) -> Result<i64, StoreError> {
        self.write(|tx| {
            let (prev_rev, create_rev, prev_value) = Self::live_at(tx, key, expected_mod_revision)?;
            let rev = Self::next_revision(tx)?;
            let value = value_for(rev);
            let value = value.as_slice();
            tx.prepare_cached(SQL_INSERT)?
                .execute(params![rev, key, 0, 0, create_rev, prev_rev, value])?;
            tx.prepare_cached("UPDATE kv_live SET id = ?2 WHERE name = ?1")?
                .execute(params![key, rev])?;
            let event = Event {
                kind: EventKind::Updated,
                kv: KeyValue {
                    key: key.to_owned(),
                    create_revision: create_rev,
                    mod_revision: rev,
                    value: value.to_vec(),
                },
                prev_value: Some(prev_value),
            };
            Ok((rev, event))
        })
    }

    /// Delete a live `key` (same `expected_mod_revision` rule as
    /// [`Store::update`]). Returns the delete's revision and the key's last
    /// value; like the `Deleted` watch event, the returned
    /// [`KeyValue::mod_revision`] is the delete's revision.
    pub fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<(i64, KeyValue), StoreError> {
        self.write(|tx| {
            let (prev_rev, create_rev, prev_value) = Self::live_at(tx, key, expected_mod_revision)?;
            let rev = Self::next_revision(tx)?;
            let empty: &[u8] = &[];
            tx.prepare_cached(SQL_INSERT)?
                .execute(params![rev, key, 0, 1, create_rev, prev_rev, empty])?;
            tx.prepare_cached("DELETE FROM kv_live WHERE name = ?1")?
                .execute([key])?;
            let kv = KeyValue {
                key: key.to_owned(),
                create_revision: create_rev,
                mod_revision: rev,
                value: prev_value,
            };
            let event = Event {
                kind: EventKind::Deleted,
                prev_value: Some(kv.value.clone()),
                kv: kv.clone(),
            };
            Ok(((rev, kv), event))
        })
    }

    /// The latest value of `key`, if live.
    pub fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let conn = self.inner.readers.get()?;
        Ok(
            read_live(&conn, key)?.map(|(mod_revision, create_revision, value)| KeyValue {
                key: key.to_owned(),
                create_revision,
                mod_revision,
                value,
            }),
        )
    }

    /// The value of `key` as of `revision`.
    pub fn get_at(&self, key: &str, revision: i64) -> Result<Option<KeyValue>, StoreError> {
        self.read(|tx| {
            check_revision(tx, revision)?;
            let row: Option<(i64, i64, bool, Vec<u8>)> = tx
                .prepare_cached(SQL_GET_AT)?
                .query_row(params![key, revision], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            Ok(match row {
                Some((mod_revision, create_revision, false, value)) => Some(KeyValue {
                    key: key.to_owned(),
                    create_revision,
                    mod_revision,
                    value,
                }),
                _ => None,
            })
        })
    }

    /// List keys under `prefix` (plain string prefix) in key order, at the
    /// latest revision or at `opts.revision`, paginated by
    /// `start_after` / `limit`.
    pub fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListPage, StoreError> {
        let range = KeyRange::prefix(prefix);
        let limit = match opts.limit {
            None | Some(0) => None,
            Some(n) => Some(n),
        };
        self.read(|tx| {
            let current = read_current_rev(tx)?;
            let revision = match opts.revision {
                Some(rev) => {
                    check_revision_with(tx, rev, current)?;
                    rev
                }
                None => current,
            };
            // The live table is exactly the state at the snapshot's current
            // revision, so use it whenever that is what was asked for.
            let latest = revision == current;
            let (op, lower) = lower_bound(&range, opts.start_after.as_deref());
            let fetch = limit.map_or(-1, |n| to_i64(n).saturating_add(1));
            let mut items =
                list_rows(tx, latest, op, lower, range.end.as_deref(), revision, fetch)?;
            let mut more = false;
            let mut remaining = 0;
            if let Some(n) = limit
                && items.len() > n
            {
                items.truncate(n);
                if let Some(last) = items.last() {
                    remaining =
                        count_rows(tx, latest, ">", &last.key, range.end.as_deref(), revision)?;
                    more = remaining > 0;
                }
            }
            Ok(ListPage {
                revision,
                items,
                more,
                remaining,
            })
        })
    }

    /// Number of live keys under `prefix`.
    pub fn count(&self, prefix: &str) -> Result<u64, StoreError> {
        let range = KeyRange::prefix(prefix);
        let conn = self.inner.readers.get()?;
        count_rows(&conn, true, ">=", &range.prefix, range.end.as_deref(), 0)
    }

    /// Watch every change under `prefix` with revision `> after_revision`.
    /// Fails with [`StoreError::Compacted`] if `after_revision` is below the
    /// compacted revision.
    pub fn watch(&self, prefix: &str, after_revision: i64) -> Result<Watcher, StoreError> {
        // Subscribe to the live fan-out *before* catching up from the table so
        // that no event can fall between the two.
        let rx = lock(&self.inner.events)
            .as_ref()
            .map(|s| s.subscribe())
            .ok_or(StoreError::Closed)?;
        let compacted = self.compacted_revision();
        if after_revision < compacted {
            return Err(StoreError::Compacted {
                requested: after_revision,
                compacted,
            });
        }
        tracing::debug!(prefix, after_revision, "watch started");
        Ok(Watcher::new(
            self.downgrade(),
            KeyRange::prefix(prefix),
            after_revision,
            rx,
        ))
    }

    /// Up to `limit` events under `range` with revision `> after`, in revision
    /// order, read from the table (used by watch catch-up).
    pub(crate) fn events_after(
        &self,
        range: &KeyRange,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        self.read(|tx| {
            let compacted = read_compacted_rev(tx)?;
            if after < compacted {
                return Err(StoreError::Compacted {
                    requested: after,
                    compacted,
                });
            }
            let upper = if range.end.is_some() {
                "AND k.name < ?3"
            } else {
                ""
            };
            let sql = format!(
                "SELECT k.id, k.name, k.created, k.deleted, k.create_revision, k.value, p.value
                 FROM kv k LEFT JOIN kv p ON p.id = k.prev_revision AND k.prev_revision > 0
                 WHERE k.id > ?1 AND k.name >= ?2 {upper}
                 ORDER BY k.id LIMIT ?4"
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            let end = range.end.as_deref().unwrap_or("");
            let rows = stmt.query_map(params![after, range.prefix, end, to_i64(limit)], |r| {
                let id: i64 = r.get(0)?;
                let name: String = r.get(1)?;
                let created: bool = r.get(2)?;
                let deleted: bool = r.get(3)?;
                let create_revision: i64 = r.get(4)?;
                let value: Vec<u8> = r.get(5)?;
                let prev: Option<Vec<u8>> = r.get(6)?;
                Ok(if deleted {
                    Event {
                        kind: EventKind::Deleted,
                        kv: KeyValue {
                            key: name,
                            create_revision,
                            mod_revision: id,
                            value: prev.clone().unwrap_or_default(),
                        },
                        prev_value: prev,
                    }
                } else {
                    Event {
                        kind: if created {
                            EventKind::Created
                        } else {
                            EventKind::Updated
                        },
                        kv: KeyValue {
                            key: name,
                            create_revision,
                            mod_revision: id,
                            value,
                        },
                        prev_value: if created { None } else { prev },
                    }
                })
            })?;
            let mut out = Vec::new();
            for ev in rows {
                out.push(ev?);
            }
            Ok(out)
        })
    }

    /// Remove history that is not needed to read at revisions
    /// `>= keep_from_revision`: rows superseded at or before it and tombstones
    /// at or before it. Works in batches, releasing the write lock between
    /// them, and records the compacted revision persistently.
    /// Returns the number of rows removed.
    pub fn compact(&self, keep_from_revision: i64) -> Result<u64, StoreError> {
        let mut removed: u64 = 0;
        let started = std::time::Instant::now();
        let mut from = None;
        loop {
            let mut guard = lock(&self.inner.writer);
            let conn = guard.as_mut().ok_or(StoreError::Closed)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current = read_current_rev(&tx)?;
            if keep_from_revision > current {
                return Err(StoreError::FutureRevision {
                    requested: keep_from_revision,
                    current,
                });
            }
            let lo = read_compacted_rev(&tx)?;
            if lo >= keep_from_revision {
                break;
            }
            from.get_or_insert(lo);
            let hi = lo.saturating_add(COMPACT_BATCH).min(keep_from_revision);
            let superseded = tx
                .prepare_cached(
                    "DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv
                     WHERE id > ?1 AND id <= ?2 AND prev_revision > 0)",
                )?
                .execute(params![lo, hi])?;
            let tombstones = tx
                .prepare_cached("DELETE FROM kv WHERE id > ?1 AND id <= ?2 AND deleted = 1")?
                .execute(params![lo, hi])?;
            tx.prepare_cached("UPDATE meta SET v = ?1 WHERE k = 'compacted'")?
                .execute([hi])?;
            tx.commit()?;
            self.inner.compacted_rev.fetch_max(hi, Ordering::AcqRel);
            removed = removed.saturating_add(u64::try_from(superseded + tombstones).unwrap_or(0));
            drop(guard);
            std::thread::yield_now();
        }
        if let Some(from) = from {
            tracing::info!(
                from,
                to = keep_from_revision,
                removed,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "compacted store"
            );
        }
        Ok(removed)
    }

    /// Spawn a tokio task that every `compact_interval` compacts to
    /// `current_revision - retention_revisions`. The task ends when every
    /// [`Store`] handle has been dropped or the store is closed.
    /// Must be called from within a tokio runtime.
    pub fn spawn_compactor(&self) -> tokio::task::JoinHandle<()> {
        let weak = self.downgrade();
        let retention = self.inner.opts.retention_revisions;
        let period = self
            .inner
            .opts
            .compact_interval
            .max(Duration::from_millis(10));
        tokio::spawn(async move {
            if retention < 0 {
                tracing::info!("periodic compaction disabled (negative retention)");
                return;
            }
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let store = Store::from_inner(inner);
                let target = store.current_revision().saturating_sub(retention);
                if target <= store.compacted_revision() {
                    continue;
                }
                let res = tokio::task::spawn_blocking(move || store.compact(target)).await;
                match res {
                    Ok(Ok(_)) => {}
                    Ok(Err(StoreError::Closed)) => break,
                    Ok(Err(e)) => tracing::warn!(error = %e, target, "periodic compaction failed"),
                    Err(e) => tracing::warn!(error = %e, target, "compaction task failed"),
                }
            }
            tracing::debug!("compactor stopped");
        })
    }
}

fn check_revision(tx: &Transaction<'_>, revision: i64) -> Result<(), StoreError> {
    let current = read_current_rev(tx)?;
    check_revision_with(tx, revision, current)
}

fn check_revision_with(
    tx: &Transaction<'_>,
    revision: i64,
    current: i64,
) -> Result<(), StoreError> {
    if revision > current {
        return Err(StoreError::FutureRevision {
            requested: revision,
            current,
        });
    }
    let compacted = read_compacted_rev(tx)?;
    if revision < compacted {
        return Err(StoreError::Compacted {
            requested: revision,
            compacted,
        });
    }
    Ok(())
}

/// SQL for listing (`count == false`) or counting rows, either from the live
/// table (`latest`) or as of a revision (`?3`).
pub(crate) fn list_sql(latest: bool, count: bool, op: &str, bounded: bool) -> String {
    let upper_l = if bounded { "AND l.name < ?2" } else { "" };
    let upper_k = if bounded { "AND k.name < ?2" } else { "" };
    match (latest, count) {
        (true, false) => format!(
            "SELECT l.name, k.create_revision, k.id, k.value
             FROM kv_live l JOIN kv k ON k.id = l.id
             WHERE l.name {op} ?1 {upper_l} ORDER BY l.name LIMIT ?4"
        ),
        (true, true) => {
            format!("SELECT COUNT(*) FROM kv_live l WHERE l.name {op} ?1 {upper_l}")
        }
        (false, false) => format!(
            "SELECT k.name, k.create_revision, k.id, k.value FROM kv k
             WHERE k.name {op} ?1 {upper_k} AND k.id <= ?3 AND k.deleted = 0
               AND k.id = (SELECT MAX(h.id) FROM kv h WHERE h.name = k.name AND h.id <= ?3)
             ORDER BY k.name LIMIT ?4"
        ),
        (false, true) => format!(
            "SELECT COUNT(*) FROM kv k
             WHERE k.name {op} ?1 {upper_k} AND k.id <= ?3 AND k.deleted = 0
               AND k.id = (SELECT MAX(h.id) FROM kv h WHERE h.name = k.name AND h.id <= ?3)"
        ),
    }
}

fn list_rows(
    conn: &Connection,
    latest: bool,
    op: &str,
    lower: &str,
    upper: Option<&str>,
    revision: i64,
    limit: i64,
) -> Result<Vec<KeyValue>, StoreError> {
    let sql = list_sql(latest, false, op, upper.is_some());
    let mut stmt = conn.prepare_cached(&sql)?;
    // Bind by index: ?1 lower, ?2 upper, ?3 revision, ?4 limit.
    stmt.raw_bind_parameter(1, lower)?;
    if let Some(upper) = upper {
        stmt.raw_bind_parameter(2, upper)?;
    }
    if !latest {
        stmt.raw_bind_parameter(3, revision)?;
    }
    stmt.raw_bind_parameter(4, limit)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(KeyValue {
            key: r.get(0)?,
            create_revision: r.get(1)?,
            mod_revision: r.get(2)?,
            value: r.get(3)?,
        });
    }
    Ok(out)
}

fn count_rows(
    conn: &Connection,
    latest: bool,
    op: &str,
    lower: &str,
    upper: Option<&str>,
    revision: i64,
) -> Result<u64, StoreError> {
    let sql = list_sql(latest, true, op, upper.is_some());
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.raw_bind_parameter(1, lower)?;
    if let Some(upper) = upper {
        stmt.raw_bind_parameter(2, upper)?;
    }
    if !latest {
        stmt.raw_bind_parameter(3, revision)?;
    }
    let mut rows = stmt.raw_query();
    let n: i64 = match rows.next()? {
        Some(r) => r.get(0)?,
        None => 0,
    };
    Ok(to_u64(n))
}
