//! Revisioned key/value log over SQLite (see the crate description).
#![forbid(unsafe_code)]
