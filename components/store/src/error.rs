//! Error type for all store operations.

/// Errors returned by [`crate::Store`] and [`crate::Watcher`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `create` of a key that currently exists.
    #[error("key {key:?} already exists")]
    AlreadyExists {
        /// The key that was being created.
        key: String,
    },
    /// `update` / `delete` of a key that does not currently exist.
    #[error("key {key:?} not found")]
    NotFound {
        /// The key that was looked up.
        key: String,
    },
    /// The expected mod revision did not match the key's current mod revision.
    #[error("conflict on key {key:?}: current mod revision is {current_revision}")]
    Conflict {
        /// The key that was being written.
        key: String,
        /// The key's actual current mod revision.
        current_revision: i64,
    },
    /// The requested revision has been compacted away (HTTP 410 Gone upstream).
    #[error("revision {requested} has been compacted (compacted revision is {compacted})")]
    Compacted {
        /// The revision that was asked for.
        requested: i64,
        /// The store's compacted revision at the time of the request.
        compacted: i64,
    },
    /// A read or compaction at a revision newer than the current revision.
    #[error("revision {requested} is newer than the current revision {current}")]
    FutureRevision {
        /// The revision that was asked for.
        requested: i64,
        /// The store's current revision.
        current: i64,
    },
    /// An error reported by SQLite.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// An I/O error (for example while creating the database directory).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The store has been closed with [`crate::Store::close`].
    #[error("store is closed")]
    Closed,
    /// An internal invariant was violated or a helper task failed.
    #[error("internal store error: {0}")]
    Internal(String),
}

impl StoreError {
    /// True for [`StoreError::Compacted`] (maps to HTTP 410 Gone).
    pub fn is_compacted(&self) -> bool {
        matches!(self, StoreError::Compacted { .. })
    }

    /// True for [`StoreError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }

    /// True for [`StoreError::Conflict`].
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}
