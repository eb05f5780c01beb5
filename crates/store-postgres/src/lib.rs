//! The PostgreSQL backend of the store, for hosted OpenGP serving many practices.
//!
//! [`PostgresStore`] implements [`store::Store`] over a small pool of blocking
//! connections. The store's SQL arrives with `?` placeholders, which are numbered for
//! PostgreSQL, prepared once per connection and bound by each parameter's type. The
//! schema is migrated (`store::schema::migrate_store`) when the store connects.

mod bulk;
mod errors;
mod numeric;
mod placeholders;
mod pool;
pub mod scratch;
mod transaction;
mod values;

#[cfg(test)]
mod tests;

use pool::Pool;
use postgres::config::Host;
use std::sync::Arc;
use std::time::Duration;
use store::{Dialect, RequestContext, Store, StoreError, Transaction, TxMode};

pub use scratch::ScratchStore;

/// How a [`PostgresStore`] connects.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long `begin` waits for a free connection before answering `Busy`.
    pub acquire_timeout: Duration,
    /// A schema to keep the tables in (created if missing) instead of the default
    /// search path: one database can then hold several independent stores.
    pub schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(30),
            schema: None,
        }
    }
}

/// Serializes schema creation when several servers start at once against one
/// database: concurrent `CREATE … IF NOT EXISTS` can otherwise fail.
const SCHEMA_LOCK: i64 = store::migrate::POSTGRES_LOCK;

pub struct PostgresStore {
    pool: Arc<Pool>,
    description: String,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:5432/db` or `host=… dbname=…`) and
    /// creates the schema if it is not there yet.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        Self::connect_with(url, PostgresOptions::default())
    }

    /// Like [`connect`](Self::connect), with the tables in `schema` (created if missing).
    pub fn connect_in_schema(url: &str, schema: &str) -> Result<PostgresStore, StoreError> {
        Self::connect_with(
            url,
            PostgresOptions {
                schema: Some(schema.to_string()),
                ..PostgresOptions::default()
            },
        )
    }

    pub fn connect_with(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        // The parse error is not passed on: it could quote the password.
        let mut config: postgres::Config = url
            .parse()
            .map_err(|_| StoreError::Backend("not a valid PostgreSQL connection string".into()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("opengp");
        }
        let mut session_setup = "SET client_min_messages = warning;".to_string();
        if let Some(schema) = &options.schema {
            check_schema_name(schema)?;
            session_setup.push_str(&format!("SET search_path = \"{schema}\";"));
        }
        let description = describe(&config, &options);
        let pool = Arc::new(Pool::new(
            config,
            session_setup,
            options.max_connections,
            options.acquire_timeout,
        ));
        if let Some(schema) = options.schema.as_deref() {
            create_schema(&pool, schema)?;
        }
        let store = PostgresStore { pool, description };
        store::schema::migrate_store(&store)?;
        Ok(store)
    }
}

fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let plain = !schema.is_empty()
        && schema.len() < 64
        && schema.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "not a plain schema name: {schema:?}"
        )))
    }
}

/// Creates `schema` if it is missing, one server at a time (its tables come from the
/// migrations).
fn create_schema(pool: &Arc<Pool>, schema: &str) -> Result<(), StoreError> {
    let sql = format!(
        "BEGIN; SELECT pg_advisory_xact_lock({SCHEMA_LOCK}); \
         CREATE SCHEMA IF NOT EXISTS \"{schema}\"; COMMIT;"
    );
    let mut conn = pool.acquire()?;
    if let Err(e) = conn.client.batch_execute(&sql) {
        // The connection may be left inside the failed transaction.
        conn.discard();
        return Err(errors::from_pg(e));
    }
    Ok(())
}

/// Host, port, database and schema: no user or password.
fn describe(config: &postgres::Config, options: &PostgresOptions) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    // Without a database name PostgreSQL uses the user's name, which is left out here.
    let database = config.get_dbname().unwrap_or("(default database)");
    let mut text = format!("PostgreSQL {host}:{port}/{database}");
    if let Some(schema) = &options.schema {
        text.push_str(&format!(" schema {schema}"));
    }
    text.push_str(&format!(
        " (up to {} connections)",
        options.max_connections.max(1)
    ));
    text
}

impl Store for PostgresStore {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn begin(
        &self,
        _ctx: &RequestContext,
        mode: TxMode,
    ) -> Result<Box<dyn Transaction>, StoreError> {
        Ok(Box::new(transaction::PgTransaction::begin(
            &self.pool, mode,
        )?))
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}
