//! The store conformance suite on SQLite: every case on a fresh database file.

use std::sync::Arc;
use store::Store;
use store_sqlite::SqliteStore;

fn main() -> std::process::ExitCode {
    store::conformance::run(|| {
        Arc::new(SqliteStore::open_temp().expect("temporary SQLite store")) as Arc<dyn Store>
    })
}
