//! A tiny blocking pool of read-only SQLite connections.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::Connection;

use crate::StoreError;

/// Lock a mutex, recovering from poisoning (all guarded state stays valid even
/// if a holder panicked, because SQLite transactions roll back on drop).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct PoolState {
    idle: Vec<Connection>,
    closed: bool,
}

pub(crate) struct ReadPool {
    state: Mutex<PoolState>,
    available: Condvar,
}

impl ReadPool {
    pub(crate) fn new(conns: Vec<Connection>) -> Self {
        ReadPool {
            state: Mutex::new(PoolState {
                idle: conns,
                closed: false,
            }),
            available: Condvar::new(),
        }
    }

    /// Take a connection, waiting for one to be returned if all are in use.
    pub(crate) fn get(&self) -> Result<PooledConn<'_>, StoreError> {
        let mut st = lock(&self.state);
        loop {
            if st.closed {
                return Err(StoreError::Closed);
            }
            if let Some(conn) = st.idle.pop() {
                return Ok(PooledConn {
                    pool: self,
                    conn: Some(conn),
                });
            }
            st = self.available.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Close the pool: idle connections are dropped now, busy ones when returned.
    pub(crate) fn close(&self) {
        let idle = {
            let mut st = lock(&self.state);
            st.closed = true;
            std::mem::take(&mut st.idle)
        };
        drop(idle);
        self.available.notify_all();
    }
}

pub(crate) struct PooledConn<'a> {
    pool: &'a ReadPool,
    conn: Option<Connection>,
}

impl Deref for PooledConn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // `conn` is only `None` while dropping.
        match &self.conn {
            Some(c) => c,
            None => unreachable_conn(),
        }
    }
}

impl DerefMut for PooledConn<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        match &mut self.conn {
            Some(c) => c,
            None => unreachable_conn(),
        }
    }
}

#[cold]
fn unreachable_conn() -> ! {
    unreachable!("pooled connection used after release")
}

impl Drop for PooledConn<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut st = lock(&self.pool.state);
            if !st.closed {
                st.idle.push(conn);
                drop(st);
                self.pool.available.notify_one();
            }
        }
    }
}
