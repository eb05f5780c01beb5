use super::*;
use store::{RequestContext, SqlValue, TxMode};

fn ctx() -> RequestContext {
    RequestContext::system("A81001")
}

#[test]
fn durable_settings_are_applied() {
    let store = SqliteStore::open_temp().unwrap();
    let mut tx = store.begin(&ctx(), TxMode::Read).unwrap();
    let mode = tx.query("PRAGMA journal_mode", &[]).unwrap();
    assert_eq!(mode[0][0], SqlValue::Text("wal".into()));
    let sync = tx.query("PRAGMA synchronous", &[]).unwrap();
    assert_eq!(sync[0][0], SqlValue::Int(2), "synchronous=FULL");
    let fk = tx.query("PRAGMA foreign_keys", &[]).unwrap();
    assert_eq!(fk[0][0], SqlValue::Int(1));
}

#[test]
fn uncommitted_work_is_rolled_back_and_commits_persist() {
    let store = SqliteStore::open_temp().unwrap();
    {
        let mut tx = store.begin(&ctx(), TxMode::Write).unwrap();
        tx.insert_many(
            "idx_uri",
            &["practice", "res_pk", "rtype", "param", "uri"],
            &[vec![
                "A81001".into(),
                1.into(),
                "Patient".into(),
                "x".into(),
                "u1".into(),
            ]],
        )
        .unwrap();
        // dropped without commit
    }
    let mut tx = store.begin(&ctx(), TxMode::Write).unwrap();
    assert_eq!(
        tx.query("SELECT COUNT(*) FROM idx_uri", &[]).unwrap()[0][0],
        SqlValue::Int(0)
    );
    tx.execute(
        "INSERT INTO idx_uri (practice, res_pk, rtype, param, uri) VALUES ('A81001', ?, ?, ?, ?)",
        &[2.into(), "Patient".into(), "x".into(), "u2".into()],
    )
    .unwrap();
    tx.commit().unwrap();
    let mut tx = store.begin(&ctx(), TxMode::Read).unwrap();
    let rows = tx.query("SELECT res_pk, uri FROM idx_uri", &[]).unwrap();
    assert_eq!(
        rows,
        vec![vec![SqlValue::Int(2), SqlValue::Text("u2".into())]]
    );
}

#[test]
fn unique_violation_is_a_conflict() {
    let store = SqliteStore::open_temp().unwrap();
    let mut tx = store.begin(&ctx(), TxMode::Write).unwrap();
    let insert = "INSERT INTO resources (practice, rtype, id, version, last_updated, deleted) VALUES (?, ?, ?, ?, ?, ?)";
    let row = [
        SqlValue::from("A81001"),
        "Patient".into(),
        "p1".into(),
        1.into(),
        0.into(),
        false.into(),
    ];
    tx.execute(insert, &row).unwrap();
    assert!(matches!(
        tx.execute(insert, &row),
        Err(StoreError::Conflict(_))
    ));
}

#[test]
fn temporary_store_files_are_removed() {
    let store = SqliteStore::open_temp().unwrap();
    let path = store.path().to_path_buf();
    assert!(path.exists());
    drop(store);
    assert!(!path.exists());
}

#[test]
fn readers_see_committed_data_while_a_writer_is_open() {
    let store = SqliteStore::open_temp().unwrap();
    let mut w = store.begin(&ctx(), TxMode::Write).unwrap();
    w.execute(
        "INSERT INTO idx_uri (practice, res_pk, rtype, param, uri) VALUES ('A81001', 1, 'Patient', 'x', 'u')",
        &[],
    )
    .unwrap();
    let mut r = store.begin(&ctx(), TxMode::Read).unwrap();
    assert_eq!(
        r.query("SELECT COUNT(*) FROM idx_uri", &[]).unwrap()[0][0],
        SqlValue::Int(0)
    );
    w.commit().unwrap();
}

#[test]
fn disposable_transactions_leave_the_writer_durable() {
    let store = SqliteStore::open_temp().unwrap();
    let mut tx = store.begin(&ctx(), TxMode::Disposable).unwrap();
    assert_eq!(
        tx.query("PRAGMA synchronous", &[]).unwrap()[0][0],
        SqlValue::Int(0)
    );
    tx.execute(
        "INSERT INTO idx_uri (practice, res_pk, rtype, param, uri) VALUES ('A81001', 1, 'Patient', 'x', 'u')",
        &[],
    )
    .unwrap();
    tx.commit().unwrap();
    // The same (only) writer connection serves the next write: durable again.
    let mut tx = store.begin(&ctx(), TxMode::Write).unwrap();
    assert_eq!(
        tx.query("PRAGMA synchronous", &[]).unwrap()[0][0],
        SqlValue::Int(2)
    );
    assert_eq!(
        tx.query("SELECT COUNT(*) FROM idx_uri", &[]).unwrap()[0][0],
        SqlValue::Int(1)
    );
    drop(tx);
    // Also after a rollback.
    drop(store.begin(&ctx(), TxMode::Disposable).unwrap());
    let mut tx = store.begin(&ctx(), TxMode::Write).unwrap();
    assert_eq!(
        tx.query("PRAGMA synchronous", &[]).unwrap()[0][0],
        SqlValue::Int(2)
    );
}

#[test]
fn the_wal_is_checkpointed_in_the_background() {
    let store = SqliteStore::open_temp().unwrap();
    let db_size = || std::fs::metadata(store.path()).unwrap().len();
    let before = db_size();
    let mut tx = store.begin(&ctx(), TxMode::Write).unwrap();
    let rows: Vec<_> = (0..2000)
        .map(|i| {
            vec![
                "A81001".into(),
                SqlValue::Int(i),
                "Patient".into(),
                "x".into(),
                format!("urn:{i:0>200}").into(),
            ]
        })
        .collect();
    tx.insert_many(
        "idx_uri",
        &["practice", "res_pk", "rtype", "param", "uri"],
        &rows,
    )
    .unwrap();
    tx.commit().unwrap();
    // The commit wrote to the WAL only (far below the automatic checkpoint threshold):
    // the database file grows only when the background thread copies the pages in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while db_size() < before + 400_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL was not checkpointed into the database file"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A copy of the fixture written by the release before versioned migrations.
fn fixture_copy() -> std::path::PathBuf {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../store/tests/fixtures/main-before-migrations.db"
    );
    let path = std::env::temp_dir().join(format!(
        "opengp-fixture-{}-{}.db",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::copy(fixture, &path).unwrap();
    path
}

fn remove_database(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn a_database_from_before_versioned_migrations_is_upgraded() {
    let path = fixture_copy();
    let store = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
    store::conformance::upgrade::check_upgraded_fixture(store.clone());
    drop(store);
    // Opening it again applies nothing and changes nothing.
    let store = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
    let versions = store::migrate::applied_versions(store.as_ref(), &store::schema::COMPONENT);
    assert_eq!(versions.unwrap(), Some(vec![1, 2]));
    drop(store);
    remove_database(&path);
}

#[test]
fn a_schema_newer_than_the_binary_is_refused_naming_both_versions() {
    let copy = fixture_copy();
    let path = copy.with_extension("newer.db");
    remove_database(&copy);
    let store = SqliteStore::open(&path).unwrap();
    let mut tx = store.begin(&ctx(), TxMode::Write).unwrap();
    tx.execute(
        "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ('store', 99, 'from the future', 0)",
        &[],
    )
    .unwrap();
    tx.commit().unwrap();
    drop(store);
    let refused = SqliteStore::open(&path).err().expect("refused").to_string();
    let known = store::schema::COMPONENT.latest();
    assert!(
        refused.contains("store schema is at version 99")
            && refused.contains(&format!("(version {known})")),
        "{refused}"
    );
    remove_database(&path);
}
