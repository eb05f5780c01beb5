//! A transaction on one pooled connection. Writes run at READ COMMITTED: the store's
//! unique keys, not the isolation level, decide between concurrent writers. Reads run on
//! one snapshot.
//!
//! Unlike SQLite, PostgreSQL aborts the whole transaction when a statement fails: later
//! statements fail, and a `COMMIT` silently rolls back. So after an error this
//! transaction refuses to commit, and reports the first error's kind instead.

use crate::bulk;
use crate::errors::from_pg;
use crate::pool::{Pool, PooledConn};
use crate::values::{Param, bind_all, read_row};
use postgres::types::ToSql;
use std::sync::Arc;
use store::{Row, SqlValue, StoreError, Transaction, TxMode};

pub struct PgTransaction {
    /// None once committed.
    conn: Option<PooledConn>,
    /// The first error's variant and message, once a statement has failed.
    failed: Option<(ErrorVariant, String)>,
}

/// One of `StoreError`'s constructors, to report a later call in the same kind.
type ErrorVariant = fn(String) -> StoreError;

impl PgTransaction {
    pub fn begin(pool: &Arc<Pool>, mode: TxMode) -> Result<PgTransaction, StoreError> {
        let begin = match mode {
            // One snapshot for the whole read (a search page and its includes agree),
            // as SQLite's read transactions give; read-only, so it never has to retry.
            TxMode::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            TxMode::Write => "BEGIN",
            // Committed without waiting for the WAL flush; later durable commits flush it.
            TxMode::Disposable => "BEGIN; SET LOCAL synchronous_commit TO OFF",
        };
        // Idle connections may have died (a server restart, an idle timeout). BEGIN
        // changes nothing, so it is retried on the next connection, which after the
        // idle ones runs out is a newly opened one.
        for _ in 0..pool.max_size() {
            let mut conn = pool.acquire()?;
            match conn.client.batch_execute(begin).map_err(from_pg) {
                Ok(()) => {
                    return Ok(PgTransaction {
                        conn: Some(conn),
                        failed: None,
                    });
                }
                Err(StoreError::Busy(_)) => conn.discard(),
                Err(e) => {
                    conn.discard();
                    return Err(e);
                }
            }
        }
        let mut conn = pool.acquire()?;
        conn.client.batch_execute(begin).map_err(from_pg)?;
        Ok(PgTransaction {
            conn: Some(conn),
            failed: None,
        })
    }

    fn conn(&mut self) -> Result<&mut PooledConn, StoreError> {
        if let Some((variant, first)) = &self.failed {
            return Err(variant(format!(
                "the transaction was aborted by an earlier error: {first}"
            )));
        }
        Ok(self
            .conn
            .as_mut()
            .expect("a transaction has its connection until committed"))
    }

    /// Remembers that `result` failed, so the transaction cannot be committed.
    fn track<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &result
            && self.failed.is_none()
        {
            let (variant, message): (ErrorVariant, _) = match e {
                StoreError::Conflict(m) => (StoreError::Conflict, m),
                StoreError::Busy(m) => (StoreError::Busy, m),
                StoreError::Backend(m) => (StoreError::Backend, m),
            };
            self.failed = Some((variant, message.clone()));
        }
        result
    }
}

fn as_sql<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(Param::as_sql).collect()
}

impl Transaction for PgTransaction {
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let result = conn.prepare(sql).and_then(|statement| {
            let bound = bind_all(params, statement.params())?;
            conn.client
                .execute(&statement, &as_sql(&bound))
                .map_err(from_pg)
        });
        self.track(result)
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        let conn = self.conn()?;
        let result = conn.prepare(sql).and_then(|statement| {
            let bound = bind_all(params, statement.params())?;
            let rows = conn
                .client
                .query(&statement, &as_sql(&bound))
                .map_err(from_pg)?;
            rows.iter().map(read_row).collect()
        });
        self.track(result)
    }

    fn insert_many(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Row],
    ) -> Result<(), StoreError> {
        let conn = self.conn()?;
        let result = bulk::insert_many(conn, table, columns, rows);
        self.track(result)
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.conn()?;
        let mut conn = self.conn.take().expect("checked above");
        // On failure PostgreSQL has ended the transaction; the connection is reusable
        // unless it closed, which the pool checks.
        conn.client.batch_execute("COMMIT").map_err(from_pg)
    }
}

impl Drop for PgTransaction {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take()
            && conn.client.batch_execute("ROLLBACK").is_err()
        {
            conn.discard();
        }
    }
}
