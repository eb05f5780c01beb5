//! Opening the store named by a database URL: `sqlite:PATH` (the embedded default) or
//! `postgres://...` (hosted).

use std::sync::Arc;
use store::Store;

pub const DEFAULT_DATABASE: &str = "sqlite:data/opengp.db";

/// Opens the store and makes sure the outbox table is there.
pub fn open(url: &str) -> Result<Arc<dyn Store>, String> {
    let store = open_store(url)?;
    outbox::schema::ensure(store.as_ref())
        .map_err(|e| format!("creating the outbox table: {e}"))?;
    Ok(store)
}

fn open_store(url: &str) -> Result<Arc<dyn Store>, String> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(
                "the sqlite: database URL names no file (e.g. sqlite:data/opengp.db)".into(),
            );
        }
        let store = store_sqlite::SqliteStore::open(path)
            .map_err(|e| format!("opening SQLite database {path}: {e}"))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // The URL can hold a password: errors name only the kind of database.
        let store = store_postgres::PostgresStore::connect(url)
            .map_err(|e| format!("connecting to PostgreSQL: {e}"))?;
        Ok(Arc::new(store))
    } else {
        Err("the database URL must be sqlite:PATH or postgres://USER@HOST/DATABASE".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unknown_schemes_without_echoing_them() {
        let err = open("mysql://root:secret@db/x").err().unwrap();
        assert!(!err.contains("secret"));
        assert!(open("sqlite:").is_err());
    }

    #[test]
    fn opens_sqlite_creating_its_directory() {
        let dir = std::env::temp_dir().join(format!("opengp-db-test-{}", std::process::id()));
        let path = dir.join("nested").join("opengp.db");
        let store = open(&format!("sqlite:{}", path.display())).unwrap();
        assert!(path.exists(), "{}", store.describe());
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
