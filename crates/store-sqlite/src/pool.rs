//! A small blocking connection pool: connections are opened on demand up to `max`, and a
//! borrower waits when all are in use.

use rusqlite::Connection;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use store::StoreError;

pub(crate) struct Pool {
    path: PathBuf,
    max: usize,
    state: Mutex<PoolState>,
    available: Condvar,
}

struct PoolState {
    idle: Vec<Connection>,
    /// Connections open, idle or lent.
    open: usize,
    closed: bool,
}

const WAIT: Duration = Duration::from_secs(30);

impl Pool {
    pub(crate) fn new(path: PathBuf, max: usize) -> Arc<Pool> {
        Arc::new(Pool {
            path,
            max,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
                closed: false,
            }),
            available: Condvar::new(),
        })
    }

    /// Adds an already-open connection.
    pub(crate) fn give_back(&self, conn: Connection) {
        let mut state = self.state.lock().unwrap();
        state.open += 1;
        state.idle.push(conn);
    }

    pub(crate) fn take(self: &Arc<Self>) -> Result<PooledConnection, StoreError> {
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(PooledConnection {
                    conn: Some(conn),
                    pool: self.clone(),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match crate::open_connection(&self.path) {
                    Ok(conn) => Ok(PooledConnection {
                        conn: Some(conn),
                        pool: self.clone(),
                    }),
                    Err(e) => {
                        self.state.lock().unwrap().open -= 1;
                        Err(e)
                    }
                };
            }
            let (s, timeout) = self.available.wait_timeout(state, WAIT).unwrap();
            state = s;
            if timeout.timed_out() && state.idle.is_empty() {
                return Err(StoreError::Busy(
                    "no database connection became free".into(),
                ));
            }
        }
    }

    /// Closes idle connections and stops keeping returned ones.
    pub(crate) fn close(&self) {
        let mut state = self.state.lock().unwrap();
        state.closed = true;
        state.idle.clear();
    }

    fn put(&self, conn: Option<Connection>) {
        let mut state = self.state.lock().unwrap();
        match conn {
            Some(c) if !state.closed => state.idle.push(c),
            _ => state.open -= 1,
        }
        drop(state);
        self.available.notify_one();
    }
}

/// A connection lent by the pool; returned to it on drop.
pub(crate) struct PooledConnection {
    conn: Option<Connection>,
    pool: Arc<Pool>,
}

impl PooledConnection {
    /// Drops the connection instead of returning it (after an error left it unusable).
    pub(crate) fn discard(mut self) {
        self.conn.take();
    }
}

impl Deref for PooledConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("connection present until dropped")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        self.pool.put(self.conn.take());
    }
}
