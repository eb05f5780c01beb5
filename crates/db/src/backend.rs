//! The interface a database backend implements: transactions that run SQL.
//!
//! All FHIR behaviour (validation, indexing, search, history, bundles) is written once,
//! in this crate, as SQL that both backends run; a backend provides connections,
//! transactions, its schema and the fastest bulk insert it has. SQL is written with `?`
//! placeholders; the PostgreSQL backend numbers them.

use crate::context::RequestContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value bound to, or read from, SQL. Integers are 64-bit (BIGINT columns),
/// reals are double precision, booleans are BOOLEAN (0/1 on SQLite).
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
}

impl SqlValue {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Int(i) => Some(*i),
            SqlValue::Bool(b) => Some(*b as i64),
            SqlValue::Real(r) => Some(*r as i64),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn into_string(self) -> Option<String> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            SqlValue::Bool(b) => Some(*b),
            SqlValue::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            SqlValue::Real(r) => Some(*r),
            SqlValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_string())
    }
}
impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}
impl From<i64> for SqlValue {
    fn from(i: i64) -> Self {
        SqlValue::Int(i)
    }
}
impl From<f64> for SqlValue {
    fn from(f: f64) -> Self {
        SqlValue::Real(f)
    }
}
impl From<bool> for SqlValue {
    fn from(b: bool) -> Self {
        SqlValue::Bool(b)
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(o: Option<T>) -> Self {
        o.map_or(SqlValue::Null, Into::into)
    }
}

pub type Row = Vec<SqlValue>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// Reads only (SQLite: a deferred transaction that never blocks writers).
    Read,
    /// Will write (SQLite: BEGIN IMMEDIATE, so writers queue instead of deadlocking).
    Write,
    /// Will write only data that may be lost in a crash without harm (search snapshots,
    /// which a client can recreate by searching again): the backend need not wait for the
    /// disk. Atomicity is kept; never use it for the record itself.
    Disposable,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint or serialization failure: another writer got there first.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database stayed locked or unreachable for longer than the timeout.
    #[error("database busy: {0}")]
    Busy(String),
    #[error("database error: {0}")]
    Backend(String),
}

/// A database backend: SQLite or PostgreSQL.
pub trait Store: Send + Sync + 'static {
    fn dialect(&self) -> Dialect;
    /// Starts a transaction on behalf of `ctx`. Dropping it without `commit` rolls back.
    fn begin(&self, ctx: &RequestContext, mode: TxMode)
    -> Result<Box<dyn Transaction>, StoreError>;
    /// A short description for logs and benchmark reports, without credentials.
    fn describe(&self) -> String;
}

/// One open database transaction.
pub trait Transaction: Send {
    /// Runs a statement; returns the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError>;
    /// Runs a query; returns its rows, each a vector of column values in SELECT order.
    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError>;
    /// Inserts many rows into `table` as fast as the backend can (index rows on ingest).
    fn insert_many(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Row],
    ) -> Result<(), StoreError>;
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
