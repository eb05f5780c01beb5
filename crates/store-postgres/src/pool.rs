//! A small blocking connection pool.
//!
//! Connections open lazily up to `max_size`; a caller waits (up to a timeout) when all
//! are in use. Each connection keeps its prepared statements, so the store's SQL is
//! parsed and planned once per connection. A connection whose socket has closed is
//! dropped instead of going back to the pool.

use crate::errors::from_pg;
use crate::placeholders::number_placeholders;
use postgres::types::Type;
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use store::StoreError;

/// Search SQL varies with the query, so a connection's statement cache is bounded;
/// past this many statements it starts again.
const MAX_CACHED_STATEMENTS: usize = 1000;

pub struct Pool {
    config: postgres::Config,
    /// Run on every new connection (search_path, message level).
    session_setup: String,
    max_size: usize,
    acquire_timeout: Duration,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    /// Connections in existence: idle, lent out, or being opened.
    open: usize,
}

/// One database connection and its prepared statements.
pub struct Conn {
    pub client: Client,
    /// Keyed by the SQL as the store wrote it (with `?` placeholders).
    statements: HashMap<String, Statement>,
    /// Column types of a table for COPY, keyed by "table(columns)".
    copy_types: HashMap<String, Vec<Type>>,
}

impl Conn {
    /// The prepared statement for `sql`, preparing it on first use.
    pub fn prepare(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self
            .client
            .prepare(&number_placeholders(sql))
            .map_err(from_pg)?;
        if self.statements.len() >= MAX_CACHED_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// The types of `columns` of `table`, looked up once per connection.
    pub fn column_types(&mut self, table: &str, columns: &str) -> Result<Vec<Type>, StoreError> {
        let key = format!("{table}({columns})");
        if let Some(types) = self.copy_types.get(&key) {
            return Ok(types.clone());
        }
        let statement = self
            .client
            .prepare(&format!("SELECT {columns} FROM {table}"))
            .map_err(from_pg)?;
        let types: Vec<Type> = statement
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        self.copy_types.insert(key, types.clone());
        Ok(types)
    }
}

impl Pool {
    pub fn new(
        config: postgres::Config,
        session_setup: String,
        max_size: usize,
        acquire_timeout: Duration,
    ) -> Self {
        Pool {
            config,
            session_setup,
            max_size: max_size.max(1),
            acquire_timeout,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    pub fn max_size(&self) -> usize {
        self.max_size
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // A panic while holding the lock cannot leave the state half-updated (each
        // update is a single push, pop or counter change), so a poisoned lock is usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A connection: an idle one, a new one if the pool is not full, or the next one
    /// returned, waiting up to the acquire timeout.
    pub fn acquire(self: &Arc<Self>) -> Result<PooledConn, StoreError> {
        let deadline = Instant::now() + self.acquire_timeout;
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                if !conn.client.is_closed() {
                    return Ok(self.lend(conn));
                }
                state.open -= 1;
                drop(state);
                close_elsewhere(vec![conn]);
                state = self.lock();
                continue;
            }
            if state.open < self.max_size {
                state.open += 1;
                drop(state);
                return match self.open_connection() {
                    Ok(conn) => Ok(self.lend(conn)),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Busy(format!(
                    "all {} database connections stayed in use for {:?}",
                    self.max_size, self.acquire_timeout
                )));
            }
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn lend(self: &Arc<Self>, conn: Conn) -> PooledConn {
        PooledConn {
            conn: Some(conn),
            pool: Arc::clone(self),
        }
    }

    fn open_connection(&self) -> Result<Conn, StoreError> {
        let mut client = self.config.connect(NoTls).map_err(from_pg)?;
        client.batch_execute(&self.session_setup).map_err(from_pg)?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
            copy_types: HashMap::new(),
        })
    }

    fn give_back(&self, conn: Conn) {
        let mut state = self.lock();
        if conn.client.is_closed() {
            state.open -= 1;
            drop(state);
            close_elsewhere(vec![conn]);
        } else {
            state.idle.push(conn);
            drop(state);
        }
        self.returned.notify_one();
    }

    fn forget(&self, conn: Conn) {
        self.lock().open -= 1;
        self.returned.notify_one();
        close_elsewhere(vec![conn]);
    }

    #[cfg(test)]
    pub fn counts(&self) -> (usize, usize) {
        let state = self.lock();
        (state.idle.len(), state.open)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        close_elsewhere(idle);
    }
}

/// Closes connections on a thread of their own. Each blocking client runs a small
/// async runtime, which panics if shut down from inside another async runtime, as when
/// the server drops the store at the end of its async main.
fn close_elsewhere(conns: Vec<Conn>) {
    if conns.is_empty() {
        return;
    }
    let closer = std::thread::spawn(move || drop(conns));
    // Waiting makes closing as prompt as dropping in place; a panic there is moot.
    let _ = closer.join();
}

/// A connection lent out by the pool; it goes back when dropped.
pub struct PooledConn {
    conn: Option<Conn>,
    pool: Arc<Pool>,
}

impl PooledConn {
    /// Closes the connection instead of returning it (its state is unknown).
    pub fn discard(mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.forget(conn);
        }
    }
}

impl Deref for PooledConn {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
            .as_ref()
            .expect("a lent connection is present until dropped")
    }
}

impl DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a lent connection is present until dropped")
    }
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn);
        }
    }
}
