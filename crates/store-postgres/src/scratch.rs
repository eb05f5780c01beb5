//! A throwaway store for tests and benchmarks: a fresh schema that is dropped again when
//! the store is, so runs against one shared database never see each other's rows.

use crate::{PostgresOptions, PostgresStore};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use store::{Dialect, RequestContext, Store, StoreError, Transaction, TxMode};

pub struct ScratchStore {
    /// Always Some until dropped: taken first so its connections close before the
    /// schema is dropped.
    store: Option<PostgresStore>,
    url: String,
    schema: String,
}

impl ScratchStore {
    /// A store in a new schema `t_<pid>_<time>_<n>` of the database at `url`.
    pub fn create(url: &str) -> Result<ScratchStore, StoreError> {
        Self::create_with(url, PostgresOptions::default())
    }

    pub fn create_with(url: &str, options: PostgresOptions) -> Result<ScratchStore, StoreError> {
        let schema = unique_schema_name();
        let store = PostgresStore::connect_with(
            url,
            PostgresOptions {
                schema: Some(schema.clone()),
                ..options
            },
        )?;
        Ok(ScratchStore {
            store: Some(store),
            url: url.to_string(),
            schema,
        })
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub fn inner(&self) -> &PostgresStore {
        self.store.as_ref().expect("present until dropped")
    }
}

fn unique_schema_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!(
        "t_{}_{}_{}",
        std::process::id(),
        micros,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Store for ScratchStore {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn begin(
        &self,
        ctx: &RequestContext,
        mode: TxMode,
    ) -> Result<Box<dyn Transaction>, StoreError> {
        self.inner().begin(ctx, mode)
    }

    fn describe(&self) -> String {
        self.inner().describe()
    }
}

impl Drop for ScratchStore {
    fn drop(&mut self) {
        let store = self.store.take();
        let (url, schema) = (self.url.clone(), self.schema.clone());
        // On a thread of its own: the blocking client cannot run inside an async
        // runtime, and tests and benchmarks may drop the store from one.
        let cleanup = std::thread::spawn(move || {
            drop(store);
            postgres::Client::connect(&url, postgres::NoTls).and_then(|mut client| {
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(schema = %self.schema, error = %e, "could not drop a scratch schema")
            }
            Err(_) => tracing::warn!(schema = %self.schema, "dropping a scratch schema panicked"),
        }
    }
}
