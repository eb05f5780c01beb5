//! The SQLite backend: the embedded default, one practice on one machine.
//!
//! Durability first: WAL with `synchronous=FULL` (NORMAL can lose committed
//! transactions on power loss, unacceptable for clinical data), foreign keys on.
//! One writer connection (writers queue on a mutex rather than spinning on SQLite's busy
//! handler) and a pool of reader connections, which WAL lets run alongside the writer.
//! The WAL is checkpointed on a background thread; a commit only checkpoints itself (the
//! automatic checkpoint, raised to 64 MiB of WAL) if that thread falls far behind.

mod checkpoint;
mod pool;

use pool::{Pool, PooledConnection};
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::{Dialect, RequestContext, Row, SqlValue, Store, StoreError, Transaction, TxMode};

const READERS: usize = 8;

pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Pool>,
    readers: Arc<Pool>,
    /// Set for stores in a temporary file: removed when the store is dropped.
    temporary: bool,
    /// Stopped (and joined) first when the store is dropped.
    checkpointer: Option<checkpoint::Checkpointer>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Backend(format!("creating {}: {e}", dir.display())))?;
        }
        let first = open_connection(&path)?;
        let writer = Pool::new(path.clone(), 1);
        writer.give_back(first);
        let store = SqliteStore {
            readers: Pool::new(path.clone(), READERS),
            writer,
            checkpointer: Some(checkpoint::Checkpointer::start(path.clone())),
            path,
            temporary: false,
        };
        store::schema::migrate_store(&store)?;
        Ok(store)
    }

    /// A fresh database in a temporary file (tests, benchmarks), removed on drop.
    pub fn open_temp() -> Result<Self, StoreError> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("opengp-{}-{nanos}-{n}.db", std::process::id()));
        let mut store = Self::open(path)?;
        store.temporary = true;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Before the files go: the checkpoint thread must not reopen (recreate) them.
        self.checkpointer.take();
        if self.temporary {
            self.writer.close();
            self.readers.close();
            for suffix in ["", "-wal", "-shm"] {
                let mut p = self.path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// Opens one connection with the durability and performance settings.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(map_err)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;
         PRAGMA cache_size = -65536;
         PRAGMA temp_store = MEMORY;
         PRAGMA mmap_size = 268435456;
         PRAGMA wal_autocheckpoint = 16384;",
    )
    .map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

impl Store for SqliteStore {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn begin(
        &self,
        _ctx: &RequestContext,
        mode: TxMode,
    ) -> Result<Box<dyn Transaction>, StoreError> {
        let (pool, begin) = match mode {
            // IMMEDIATE takes the write lock now, so a transaction never fails half-way
            // on lock upgrade.
            TxMode::Write => (&self.writer, "BEGIN IMMEDIATE"),
            // No fsync at commit; the next durable commit syncs the WAL, frames and all.
            TxMode::Disposable => (&self.writer, "PRAGMA synchronous = OFF; BEGIN IMMEDIATE"),
            TxMode::Read => (&self.readers, "BEGIN DEFERRED"),
        };
        let conn = pool.take()?;
        let tx = SqliteTransaction {
            conn: Some(conn),
            restore_durability: mode == TxMode::Disposable,
        };
        tx.conn().execute_batch(begin).map_err(map_err)?;
        Ok(Box::new(tx))
    }

    fn describe(&self) -> String {
        format!("SQLite ({})", self.path.display())
    }
}

struct SqliteTransaction {
    /// Taken out on commit; on drop without commit the transaction is rolled back.
    conn: Option<PooledConnection>,
    /// A disposable transaction turned `synchronous` off on the shared writer connection:
    /// it must be back to FULL before the connection is used again.
    restore_durability: bool,
}

impl SqliteTransaction {
    /// Ends the transaction with `sql` (COMMIT or ROLLBACK) and hands the connection
    /// back, or discards it if it cannot be restored to durable settings.
    fn finish(&mut self, sql: &str) -> Result<(), StoreError> {
        let conn = self.conn.take().expect("transaction is open");
        let result = conn.execute_batch(sql).map_err(map_err);
        if result.is_err() && sql == "COMMIT" {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let restored =
            !self.restore_durability || conn.execute_batch("PRAGMA synchronous = FULL").is_ok();
        if !restored || (result.is_err() && sql == "ROLLBACK") {
            conn.discard();
        }
        result
    }
}

impl SqliteTransaction {
    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("transaction is open")
    }
}

/// Binds a value by reference: no copy of the text on the ingest hot path.
struct Bind<'a>(&'a SqlValue);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            SqlValue::Null => ValueRef::Null,
            SqlValue::Int(i) => ValueRef::Integer(*i),
            SqlValue::Real(r) => ValueRef::Real(*r),
            SqlValue::Text(s) => ValueRef::Text(s.as_bytes()),
            SqlValue::Bool(b) => ValueRef::Integer(*b as i64),
        }))
    }
}

fn bind(params: &[SqlValue]) -> impl rusqlite::Params + '_ {
    rusqlite::params_from_iter(params.iter().map(Bind))
}

fn read_value(v: ValueRef<'_>) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Int(i),
        ValueRef::Real(r) => SqlValue::Real(r),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Text(String::from_utf8_lossy(b).into_owned()),
    }
}

impl Transaction for SqliteTransaction {
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        let mut stmt = self.conn().prepare_cached(sql).map_err(map_err)?;
        let n = stmt.execute(bind(params)).map_err(map_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.conn().prepare_cached(sql).map_err(map_err)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(bind(params)).map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_err)? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(read_value(row.get_ref(i).map_err(map_err)?));
            }
            out.push(values);
        }
        Ok(out)
    }

    fn insert_many(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Row],
    ) -> Result<(), StoreError> {
        let placeholders = vec!["?"; columns.len()].join(", ");
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({placeholders})",
            columns.join(", ")
        );
        let mut stmt = self.conn().prepare_cached(&sql).map_err(map_err)?;
        for row in rows {
            stmt.execute(bind(row)).map_err(map_err)?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.finish("COMMIT")
    }
}

impl Drop for SqliteTransaction {
    fn drop(&mut self) {
        if self.conn.is_some() {
            let _ = self.finish("ROLLBACK");
        }
    }
}

fn map_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict(e.to_string()),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Busy(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

#[cfg(test)]
mod tests;
