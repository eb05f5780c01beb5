//! Versioned schema migrations, on both backends (also `store::migrate`).
//!
//! Each crate that owns tables declares a [`Component`]: its name and its numbered
//! [`Migration`]s, oldest first; migration 1 is the baseline (the schema as it was before
//! versions). [`migrate`] applies the ones a database has not had yet, each in its own
//! transaction together with its row in `schema_migrations`, so a migration is either
//! wholly applied and recorded or not at all.
//!
//! Two servers starting at once must not both apply a migration: on PostgreSQL each
//! migration's transaction first takes an advisory lock, on SQLite it is a write
//! transaction (`BEGIN IMMEDIATE`); either way the applied versions are read again under
//! the lock, so the second server finds the work done.
//!
//! A database whose schema is newer than the binary knows is refused with
//! [`MigrateError::Newer`]: an older OpenGP could otherwise write rows the newer schema
//! does not expect.

use crate::backend::{Dialect, SqlValue, Store, StoreError, Transaction, TxMode};
use crate::context::RequestContext;

/// One numbered change to a component's tables.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub apply: fn(&mut dyn Transaction, Dialect) -> Result<(), StoreError>,
}

/// The tables one crate owns, and how they came to be.
pub struct Component {
    pub name: &'static str,
    /// Oldest first, numbered 1, 2, 3… without gaps.
    pub migrations: &'static [Migration],
}

impl Component {
    /// The newest version this binary knows.
    pub fn latest(&self) -> i64 {
        self.migrations.last().map_or(0, |m| m.version)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "the database's {component} schema is at version {database}, newer than this OpenGP knows (version {binary}): run a newer OpenGP against it"
    )]
    Newer {
        component: &'static str,
        database: i64,
        binary: i64,
    },
    #[error("{component} schema migration {version} ({name}) failed: {source}")]
    Failed {
        component: &'static str,
        version: i64,
        name: &'static str,
        source: StoreError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The backends open with `StoreError`: the message (naming both versions) is kept.
impl From<MigrateError> for StoreError {
    fn from(e: MigrateError) -> StoreError {
        match e {
            MigrateError::Store(e) => e,
            other => StoreError::Backend(other.to_string()),
        }
    }
}

/// Serializes migrations across servers sharing one PostgreSQL database ("OpenGP" in
/// ASCII, the key schema creation has always used).
pub const POSTGRES_LOCK: i64 = 0x4f70_656e_4750;

const TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (component, version))";

/// Applies the component's pending migrations in order, each in its own transaction
/// with its schema_migrations row; refuses (error) if the database has a version
/// newer than the binary knows.
pub fn migrate(store: &dyn Store, component: &Component) -> Result<(), MigrateError> {
    debug_assert!(
        component
            .migrations
            .iter()
            .enumerate()
            .all(|(i, m)| m.version == i as i64 + 1),
        "{}: migrations must be numbered 1, 2, 3…",
        component.name
    );
    let ctx = RequestContext::system("schema-migrations");
    // The common case, every start after the first: one read, no lock.
    if let Some(applied) = read_applied(store, &ctx, component)? {
        check_not_newer(component, &applied)?;
        if component
            .migrations
            .iter()
            .all(|m| applied.contains(&m.version))
        {
            return Ok(());
        }
    }
    let dialect = store.dialect();
    for migration in component.migrations {
        let mut tx = store.begin(&ctx, TxMode::Write)?;
        lock(tx.as_mut(), dialect)?;
        tx.execute(TABLE, &[])?;
        let applied = applied_in(tx.as_mut(), component)?;
        check_not_newer(component, &applied)?;
        if applied.contains(&migration.version) {
            continue; // another server got here first; dropping `tx` rolls back
        }
        let failed = |source| MigrateError::Failed {
            component: component.name,
            version: migration.version,
            name: migration.name,
            source,
        };
        (migration.apply)(tx.as_mut(), dialect).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)",
            &[
                component.name.into(),
                migration.version.into(),
                migration.name.into(),
                crate::time::now_micros().into(),
            ],
        )?;
        tx.commit().map_err(failed)?;
        tracing::info!(
            component = component.name,
            version = migration.version,
            name = migration.name,
            "schema migration applied"
        );
    }
    Ok(())
}

/// The versions of `component` the database has (None before there is a
/// `schema_migrations` table).
pub fn applied_versions(
    store: &dyn Store,
    component: &Component,
) -> Result<Option<Vec<i64>>, StoreError> {
    read_applied(
        store,
        &RequestContext::system("schema-migrations"),
        component,
    )
}

fn read_applied(
    store: &dyn Store,
    ctx: &RequestContext,
    component: &Component,
) -> Result<Option<Vec<i64>>, StoreError> {
    let mut tx = store.begin(ctx, TxMode::Read)?;
    if !table_exists(tx.as_mut(), store.dialect(), "schema_migrations")? {
        return Ok(None);
    }
    applied_in(tx.as_mut(), component).map(Some)
}

fn applied_in(tx: &mut dyn Transaction, component: &Component) -> Result<Vec<i64>, StoreError> {
    let rows = tx.query(
        "SELECT version FROM schema_migrations WHERE component = ? ORDER BY version",
        &[component.name.into()],
    )?;
    Ok(rows.iter().filter_map(|r| r[0].as_i64()).collect())
}

fn check_not_newer(component: &Component, applied: &[i64]) -> Result<(), MigrateError> {
    match applied.iter().max() {
        Some(&database) if database > component.latest() => Err(MigrateError::Newer {
            component: component.name,
            database,
            binary: component.latest(),
        }),
        _ => Ok(()),
    }
}

fn lock(tx: &mut dyn Transaction, dialect: Dialect) -> Result<(), StoreError> {
    if dialect == Dialect::Postgres {
        // Held until the transaction ends.
        tx.query(
            "SELECT 1 FROM (SELECT pg_advisory_xact_lock(?)) l",
            &[SqlValue::Int(POSTGRES_LOCK)],
        )?;
    }
    Ok(())
}

/// Whether `table` exists (in the current schema on PostgreSQL).
pub fn table_exists(
    tx: &mut dyn Transaction,
    dialect: Dialect,
    table: &str,
) -> Result<bool, StoreError> {
    let sql = match dialect {
        Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = ?"
        }
    };
    let rows = tx.query(sql, &[table.into()])?;
    Ok(rows.first().and_then(|r| r[0].as_i64()).unwrap_or(0) > 0)
}

/// Whether `table` has `column`.
pub fn has_column(
    tx: &mut dyn Transaction,
    dialect: Dialect,
    table: &str,
    column: &str,
) -> Result<bool, StoreError> {
    let sql = match dialect {
        Dialect::Sqlite => "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?",
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?"
        }
    };
    let rows = tx.query(sql, &[table.into(), column.into()])?;
    Ok(rows.first().and_then(|r| r[0].as_i64()).unwrap_or(0) > 0)
}

/// Runs each statement in `tx` (a migration's DDL).
pub fn execute_all(
    tx: &mut dyn Transaction,
    statements: impl IntoIterator<Item = String>,
) -> Result<(), StoreError> {
    for statement in statements {
        tx.execute(&statement, &[])?;
    }
    Ok(())
}
