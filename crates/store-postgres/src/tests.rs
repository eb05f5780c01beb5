//! Tests against a live PostgreSQL: set OPENGP_TEST_POSTGRES to a database URL
//! (`postgres://root@127.0.0.1:5432/test`). Each test works in its own scratch schema.
//! Without the variable (at build time: see build.rs) they are ignored, so `cargo test`
//! works anywhere and shows what it did not run.

use crate::pool::Pool;
use crate::{PostgresOptions, PostgresStore, ScratchStore};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use store::{RequestContext, SqlValue, Store, StoreError, Transaction, TxMode};

fn database_url() -> Option<String> {
    let url = std::env::var("OPENGP_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("skipped: set OPENGP_TEST_POSTGRES=postgres://… to run the PostgreSQL tests");
    }
    url
}

fn scratch() -> Option<ScratchStore> {
    database_url().map(|url| ScratchStore::create(&url).expect("connect to OPENGP_TEST_POSTGRES"))
}

fn ctx() -> RequestContext {
    RequestContext::system("A81001")
}

fn begin(store: &dyn Store) -> Box<dyn Transaction> {
    store.begin(&ctx(), TxMode::Write).unwrap()
}

fn count(store: &dyn Store, table: &str) -> i64 {
    let mut tx = store.begin(&ctx(), TxMode::Read).unwrap();
    tx.query(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .unwrap()[0][0]
        .as_i64()
        .unwrap()
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

fn pool_of(store: &ScratchStore) -> &Arc<Pool> {
    &store.inner().pool
}

const ROUND_TRIP_TABLE: &str = "CREATE TABLE round_trip (
    i BIGINT, r DOUBLE PRECISION, t TEXT, b BOOLEAN, small INTEGER, n NUMERIC)";

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn values_of_every_type_round_trip() {
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    tx.execute(ROUND_TRIP_TABLE, &[]).unwrap();
    let rows = [
        vec![
            SqlValue::Int(i64::MAX),
            SqlValue::Real(0.1),
            text("Zoë Ångström 🙂 ✓ 'it''s' ?"),
            SqlValue::Bool(true),
        ],
        vec![
            SqlValue::Int(i64::MIN),
            SqlValue::Real(-1.5e300),
            text(""),
            SqlValue::Bool(false),
        ],
        vec![
            SqlValue::Int(0),
            SqlValue::Real(f64::MIN_POSITIVE / 4.0),
            text("line\nbreak\ttab"),
            SqlValue::Null,
        ],
        vec![
            SqlValue::Null,
            SqlValue::Null,
            SqlValue::Null,
            SqlValue::Null,
        ],
    ];
    for row in &rows {
        let changed = tx
            .execute(
                "INSERT INTO round_trip (i, r, t, b) VALUES (?, ?, ?, ?)",
                row,
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    let read = tx
        .query(
            "SELECT i, r, t, b FROM round_trip ORDER BY i NULLS LAST",
            &[],
        )
        .unwrap();
    assert_eq!(
        read,
        vec![
            rows[1].clone(),
            rows[2].clone(),
            rows[0].clone(),
            rows[3].clone()
        ]
    );
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn nulls_and_numbers_bind_to_narrower_columns_and_numeric_reads_back() {
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    tx.execute(ROUND_TRIP_TABLE, &[]).unwrap();
    tx.execute(
        "INSERT INTO round_trip (small, n) VALUES (?, 2.5)",
        &[SqlValue::Int(-7)],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO round_trip (small) VALUES (?)",
        &[SqlValue::Null],
    )
    .unwrap();
    let read = tx
        .query("SELECT small, n FROM round_trip ORDER BY small", &[])
        .unwrap();
    assert_eq!(
        read,
        vec![
            vec![SqlValue::Int(-7), SqlValue::Real(2.5)],
            vec![SqlValue::Null, SqlValue::Null]
        ]
    );
    // An INTEGER column rejects what does not fit instead of truncating it.
    let err = tx
        .execute(
            "INSERT INTO round_trip (small) VALUES (?)",
            &[SqlValue::Int(1 << 40)],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err}");
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn aggregates_read_as_integers() {
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    tx.execute(ROUND_TRIP_TABLE, &[]).unwrap();
    for i in [1_i64, 2, 40] {
        tx.execute(
            "INSERT INTO round_trip (i, r) VALUES (?, ?)",
            &[SqlValue::Int(i), SqlValue::Real(0.5)],
        )
        .unwrap();
    }
    // SUM over BIGINT is NUMERIC in PostgreSQL, an integer in SQLite; both read as Int.
    let read = tx
        .query(
            "SELECT COUNT(*), SUM(i), MAX(i), SUM(r), AVG(i) FROM round_trip",
            &[],
        )
        .unwrap();
    assert_eq!(
        read,
        vec![vec![
            SqlValue::Int(3),
            SqlValue::Int(43),
            SqlValue::Int(40),
            SqlValue::Real(1.5),
            SqlValue::Real(43.0 / 3.0)
        ]]
    );
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn question_marks_in_literals_are_not_parameters() {
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    let read = tx
        .query(
            "SELECT 'why?', CAST(? AS BIGINT), 'it''s ?' || ?",
            &[SqlValue::Int(5), text("!")],
        )
        .unwrap();
    assert_eq!(
        read,
        vec![vec![text("why?"), SqlValue::Int(5), text("it's ?!")]]
    );
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_statement_runs_again_from_the_cache() {
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    for i in 0..3 {
        let read = tx.query("SELECT ? + 1", &[SqlValue::Int(i)]).unwrap();
        assert_eq!(read, vec![vec![SqlValue::Int(i + 1)]]);
    }
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn the_wrong_number_of_parameters_is_an_error() {
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    let err = tx.query("SELECT ? + 1", &[]).unwrap_err();
    assert!(
        err.to_string().contains("1 parameters but 0 values"),
        "{err}"
    );
}

fn insert_resource(tx: &mut dyn Transaction, id: &str) -> Result<u64, StoreError> {
    tx.execute(
        "INSERT INTO resources (practice, rtype, id, version, last_updated, deleted) VALUES (?, ?, ?, ?, ?, ?)",
        &[text("A81001"), text("Patient"), text(id), SqlValue::Int(1), SqlValue::Int(0), SqlValue::Bool(false)],
    )
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_duplicate_key_is_a_conflict_and_the_transaction_cannot_commit() {
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    insert_resource(tx.as_mut(), "p1").unwrap();
    let err = insert_resource(tx.as_mut(), "p1").unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // The message names the constraint but does not echo the key's values.
    assert!(
        err.to_string().contains("resources_practice_rtype_id_key"),
        "{err}"
    );
    assert!(!err.to_string().contains("A81001"), "{err}");
    // PostgreSQL has aborted the transaction: later statements and the commit fail.
    assert!(matches!(
        tx.query("SELECT 1", &[]),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(tx.commit(), Err(StoreError::Conflict(_))));
    assert_eq!(count(&store, "resources"), 0);
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_commit_is_visible_to_later_transactions() {
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    insert_resource(tx.as_mut(), "p1").unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&store, "resources"), 1);
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn dropping_a_transaction_rolls_it_back_and_returns_the_connection() {
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    insert_resource(tx.as_mut(), "p1").unwrap();
    drop(tx);
    assert_eq!(count(&store, "resources"), 0);
    let (idle, open) = pool_of(&store).counts();
    assert_eq!((idle, open), (1, 1), "one connection, back in the pool");
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_failed_transaction_leaves_a_usable_connection() {
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    tx.execute("SELECT no_such_column FROM resources", &[])
        .unwrap_err();
    drop(tx);
    let mut tx = begin(&store);
    insert_resource(tx.as_mut(), "p1").unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&store, "resources"), 1);
    assert_eq!(pool_of(&store).counts(), (1, 1));
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_read_transaction_cannot_write() {
    let Some(store) = scratch() else { return };
    let mut tx = store.begin(&ctx(), TxMode::Read).unwrap();
    let err = insert_resource(tx.as_mut(), "p1").unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_read_transaction_sees_one_snapshot() {
    let Some(store) = scratch() else { return };
    let mut reader = store.begin(&ctx(), TxMode::Read).unwrap();
    let count_in = |tx: &mut Box<dyn Transaction>| {
        tx.query("SELECT COUNT(*) FROM resources", &[]).unwrap()[0][0]
            .as_i64()
            .unwrap()
    };
    assert_eq!(count_in(&mut reader), 0);
    let mut writer = begin(&store);
    insert_resource(writer.as_mut(), "p1").unwrap();
    writer.commit().unwrap();
    assert_eq!(count_in(&mut reader), 0, "the reader keeps its snapshot");
    drop(reader);
    assert_eq!(count(&store, "resources"), 1);
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_deadlock_is_a_conflict() {
    let Some(store) = scratch() else { return };
    let mut setup = begin(&store);
    insert_resource(setup.as_mut(), "a").unwrap();
    insert_resource(setup.as_mut(), "b").unwrap();
    setup.commit().unwrap();
    let store = Arc::new(store);
    let both_locked = Arc::new(Barrier::new(2));
    let lock_in_order = |first: &'static str, second: &'static str| {
        let (store, both_locked) = (Arc::clone(&store), Arc::clone(&both_locked));
        std::thread::spawn(move || {
            let mut tx = begin(store.as_ref());
            let touch = "UPDATE resources SET version = version + 1 WHERE id = ?";
            tx.execute(touch, &[text(first)]).unwrap();
            both_locked.wait();
            let result = tx.execute(touch, &[text(second)]);
            // Hold the locks until committing, so the other thread stays blocked
            // until PostgreSQL's deadlock check (one second) picks a victim.
            result.and_then(|_| tx.commit())
        })
    };
    let one = lock_in_order("a", "b");
    let two = lock_in_order("b", "a");
    let results = [one.join().unwrap(), two.join().unwrap()];
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
        .count();
    let successes = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!((conflicts, successes), (1, 1), "{results:?}");
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_full_pool_makes_callers_wait_then_answers_busy() {
    let Some(url) = database_url() else { return };
    let options = PostgresOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let store = ScratchStore::create_with(&url, options).unwrap();
    let first = begin(&store);
    let second = begin(&store);
    let started = Instant::now();
    let err = store
        .begin(&ctx(), TxMode::Read)
        .err()
        .expect("no connection is free");
    assert!(matches!(err, StoreError::Busy(_)), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A waiting caller gets the connection as soon as it is returned.
    let store = Arc::new(store);
    let waiter = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || store.begin(&ctx(), TxMode::Read).map(|_| ()))
    };
    std::thread::sleep(Duration::from_millis(50));
    drop(first);
    waiter.join().unwrap().unwrap();
    drop(second);
    assert_eq!(pool_of(&store).counts(), (2, 2));
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn connections_killed_while_idle_are_replaced() {
    let Some(url) = database_url() else { return };
    let store = ScratchStore::create(&url).unwrap();
    let backend_pid = |tx: &mut Box<dyn Transaction>| {
        tx.query("SELECT pg_backend_pid()", &[]).unwrap()[0][0]
            .as_i64()
            .unwrap()
    };
    // Three connections in the pool, as after a busy moment.
    let mut open: Vec<_> = (0..3).map(|_| begin(&store)).collect();
    let pids: Vec<i64> = open.iter_mut().map(backend_pid).collect();
    drop(open);
    assert_eq!(pool_of(&store).counts(), (3, 3));
    // Kill them all, as a server restart would.
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for pid in &pids {
        admin
            .execute("SELECT pg_terminate_backend($1)", &[&(*pid as i32)])
            .unwrap();
    }
    // begin notices and moves on to a working connection.
    let mut tx = begin(&store);
    assert!(!pids.contains(&backend_pid(&mut tx)));
    tx.commit().unwrap();
    assert_eq!(pool_of(&store).counts(), (1, 1));
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn the_store_can_be_dropped_inside_an_async_runtime() {
    // The server keeps the store in its state, dropped when its async main ends; the
    // blocking client's own runtime must not be shut down from there.
    let Some(store) = scratch() else { return };
    let mut tx = begin(&store);
    insert_resource(tx.as_mut(), "p1").unwrap();
    tx.commit().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        // Transactions run on blocking threads, as the server's handlers run them.
        let store = Arc::new(store);
        let reader = Arc::clone(&store);
        let read = tokio::task::spawn_blocking(move || count(reader.as_ref(), "resources"));
        assert_eq!(read.await.unwrap(), 1);
        drop(store);
    });
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn many_threads_share_a_small_pool() {
    let Some(url) = database_url() else { return };
    let options = PostgresOptions {
        max_connections: 3,
        ..Default::default()
    };
    let store = Arc::new(ScratchStore::create_with(&url, options).unwrap());
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let mut tx = begin(store.as_ref());
                    insert_resource(tx.as_mut(), &format!("w{worker}-{i}")).unwrap();
                    tx.commit().unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(count(store.as_ref(), "resources"), 200);
    let (idle, open) = pool_of(&store).counts();
    assert!(idle == open && open <= 3, "{idle} idle of {open} open");
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn stores_in_different_schemas_are_independent() {
    let (Some(one), Some(two)) = (scratch(), scratch()) else {
        return;
    };
    let mut tx = begin(&one);
    insert_resource(tx.as_mut(), "p1").unwrap();
    tx.commit().unwrap();
    assert_eq!((count(&one, "resources"), count(&two, "resources")), (1, 0));
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn servers_starting_together_create_the_schema_once() {
    let Some(url) = database_url() else { return };
    let first = ScratchStore::create(&url).unwrap();
    let schema = first.schema().to_string();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let (url, schema) = (url.clone(), schema.clone());
            std::thread::spawn(move || PostgresStore::connect_in_schema(&url, &schema).map(|_| ()))
        })
        .collect();
    for start in starts {
        start.join().unwrap().unwrap();
    }
    assert_eq!(count(&first, "resources"), 0);
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_scratch_schema_is_dropped_with_its_store() {
    let Some(url) = database_url() else { return };
    let store = ScratchStore::create(&url).unwrap();
    let schema = store.schema().to_string();
    drop(store);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let left = client
        .query("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .unwrap();
    assert!(left.is_empty(), "schema {schema} is still there");
}

#[test]
fn an_unreachable_server_is_busy() {
    // Port 1 on loopback: nothing listens, so the connection is refused at once.
    let err = PostgresStore::connect("postgres://nobody@127.0.0.1:1/none")
        .err()
        .expect("nothing listens");
    assert!(matches!(err, StoreError::Busy(_)), "{err}");
}

#[test]
fn a_bad_connection_string_does_not_echo_the_password() {
    let err = PostgresStore::connect("postgres://user:s3cret@host:notaport/db")
        .err()
        .unwrap();
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[test]
fn the_description_leaves_out_credentials() {
    let config: postgres::Config = "postgres://alice:s3cret@db.example:6543/opengp"
        .parse()
        .unwrap();
    let options = PostgresOptions {
        schema: Some("tenant_a".into()),
        ..Default::default()
    };
    assert_eq!(
        crate::describe(&config, &options),
        "PostgreSQL db.example:6543/opengp schema tenant_a (up to 16 connections)"
    );
}

#[test]
fn the_description_of_a_key_value_string_names_no_user() {
    let config: postgres::Config = "host=/var/run/postgresql user=alice password=s3cret"
        .parse()
        .unwrap();
    assert_eq!(
        crate::describe(&config, &PostgresOptions::default()),
        "PostgreSQL /var/run/postgresql:5432/(default database) (up to 16 connections)"
    );
}

#[test]
fn schema_names_must_be_plain() {
    assert!(crate::check_schema_name("t_1_abc").is_ok());
    for bad in ["", "a\"b", "a;drop", "1abc", &"x".repeat(64)] {
        assert!(crate::check_schema_name(bad).is_err(), "{bad:?}");
    }
}

fn token_row(i: usize) -> Vec<SqlValue> {
    vec![
        text("A81001"),
        SqlValue::Int(i as i64),
        text("Observation"),
        text("code"),
        if i.is_multiple_of(3) {
            SqlValue::Null
        } else {
            text("http://snomed.info/sct")
        },
        text(&format!("{}", 100_000 + i)),
        if i.is_multiple_of(2) {
            SqlValue::Null
        } else {
            text("Systolic blood pressure ✓")
        },
    ]
}

const TOKEN_COLUMNS: &[&str] = &[
    "practice", "res_pk", "rtype", "param", "system", "code", "text",
];

fn insert_tokens(store: &ScratchStore, rows: usize) -> Vec<Vec<SqlValue>> {
    let rows: Vec<_> = (0..rows).map(token_row).collect();
    let mut tx = begin(store);
    tx.insert_many("idx_token", TOKEN_COLUMNS, &rows).unwrap();
    tx.commit().unwrap();
    rows
}

fn read_tokens(store: &ScratchStore) -> Vec<Vec<SqlValue>> {
    let mut tx = store.begin(&ctx(), TxMode::Read).unwrap();
    tx.query(
        "SELECT practice, res_pk, rtype, param, system, code, text FROM idx_token ORDER BY res_pk",
        &[],
    )
    .unwrap()
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn insert_many_of_no_rows_does_nothing() {
    let Some(store) = scratch() else { return };
    insert_tokens(&store, 0);
    assert_eq!(count(&store, "idx_token"), 0);
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn insert_many_of_small_and_larger_batches_stores_every_value() {
    let Some(store) = scratch() else { return };
    // Up to 16 rows go as INSERT … VALUES, more by COPY.
    for rows in [1, 16, 17, 500] {
        let mut tx = begin(&store);
        tx.execute("DELETE FROM idx_token", &[]).unwrap();
        tx.commit().unwrap();
        let written = insert_tokens(&store, rows);
        assert_eq!(read_tokens(&store), written, "{rows} rows");
    }
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn insert_many_of_100k_rows() {
    let Some(store) = scratch() else { return };
    let written = insert_tokens(&store, 100_000);
    let read = read_tokens(&store);
    assert_eq!(read.len(), 100_000);
    assert_eq!(read, written);
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn insert_many_converts_booleans_and_rejects_bad_input() {
    let Some(store) = scratch() else { return };
    let rows: Vec<_> = (0..20)
        .map(|i| {
            vec![
                text("A81001"),
                text("Patient"),
                text(&format!("p{i}")),
                SqlValue::Int(1),
                SqlValue::Int(i),
                SqlValue::Bool(i % 2 == 0),
            ]
        })
        .collect();
    let columns = [
        "practice",
        "rtype",
        "id",
        "version",
        "last_updated",
        "deleted",
    ];
    let mut tx = begin(&store);
    tx.insert_many("resources", &columns, &rows).unwrap();
    let deleted = tx
        .query("SELECT COUNT(*) FROM resources WHERE deleted", &[])
        .unwrap();
    assert_eq!(deleted, vec![vec![SqlValue::Int(10)]]);
    // A duplicate key inside a COPY is a conflict like any other.
    let err = tx.insert_many("resources", &columns, &rows).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    drop(tx);

    let mut tx = begin(&store);
    let err = tx
        .insert_many("resources; drop table x", &columns, &rows)
        .unwrap_err();
    assert!(err.to_string().contains("not a plain identifier"), "{err}");
    drop(tx);
    let mut tx = begin(&store);
    let err = tx
        .insert_many("resources", &columns[..2], &rows)
        .unwrap_err();
    assert!(err.to_string().contains("6 values for 2 columns"), "{err}");
}

#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_duplicate_key_while_copy_streams_is_a_conflict() {
    let Some(store) = scratch() else { return };
    let columns = [
        "res_pk",
        "practice",
        "rtype",
        "id",
        "version",
        "last_updated",
        "method",
        "body",
    ];
    let body = "x".repeat(2000);
    // 40 MB, so the server has rejected row 2 long before the last chunk is sent.
    let rows: Vec<_> = (0..20_000)
        .map(|i| {
            let id = if i == 1 {
                "p0".to_string()
            } else {
                format!("p{i}")
            };
            vec![
                SqlValue::Int(1),
                text("A81001"),
                text("Patient"),
                text(&id),
                SqlValue::Int(1),
                SqlValue::Int(0),
                text("POST"),
                text(&body),
            ]
        })
        .collect();
    let mut tx = begin(&store);
    let err = tx
        .insert_many("resource_versions", &columns, &rows)
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    drop(tx);
    assert_eq!(count(&store, "resource_versions"), 0);
}

/// Bulk insert speed, COPY against multi-row INSERT:
/// `OPENGP_TEST_POSTGRES=… cargo test -p store-postgres --release bulk_speed -- --ignored --nocapture`
#[test]
#[ignore]
fn bulk_speed() {
    let Some(store) = scratch() else { return };
    let body = format!(
        "{{\"resourceType\":\"Observation\",\"note\":\"{}\"}}",
        "x".repeat(900)
    );
    let rows: Vec<_> = (0..100_000)
        .map(|i| {
            vec![
                SqlValue::Int(1),
                text("A81001"),
                text("Observation"),
                text(&format!("obs-{i}")),
                SqlValue::Int(1),
                SqlValue::Int(i),
                text("POST"),
                text(&body),
            ]
        })
        .collect();
    let columns = [
        "res_pk",
        "practice",
        "rtype",
        "id",
        "version",
        "last_updated",
        "method",
        "body",
    ];
    for round in 0..2 {
        for (name, insert) in [
            (
                "COPY",
                crate::bulk::insert_with_copy as fn(&mut _, &str, &[&str], &[_]) -> _,
            ),
            ("INSERT VALUES", crate::bulk::insert_with_values),
        ] {
            let mut conn = pool_of(&store).acquire().unwrap();
            conn.client
                .batch_execute("TRUNCATE resource_versions")
                .unwrap();
            let started = Instant::now();
            insert(&mut conn, "resource_versions", &columns, &rows).unwrap();
            let elapsed = started.elapsed();
            println!("round {round}: {name}: 100k rows of ~1 KB in {elapsed:?}");
        }
        // Index rows are small and arrive a few per resource write.
        let tokens: Vec<_> = (0..6400).map(token_row).collect();
        for batch in [1, 4, 8, 16, 32, 64] {
            for (name, insert) in [
                (
                    "COPY",
                    crate::bulk::insert_with_copy as fn(&mut _, &str, &[&str], &[_]) -> _,
                ),
                ("INSERT VALUES", crate::bulk::insert_with_values),
            ] {
                let mut conn = pool_of(&store).acquire().unwrap();
                conn.client
                    .batch_execute("TRUNCATE idx_token; BEGIN")
                    .unwrap();
                let started = Instant::now();
                for chunk in tokens.chunks(batch) {
                    insert(&mut conn, "idx_token", TOKEN_COLUMNS, chunk).unwrap();
                }
                // Inside one transaction, as the repository calls it (no commit per call).
                let per_call = started.elapsed() / (6400 / batch) as u32;
                conn.client.batch_execute("COMMIT").unwrap();
                println!("round {round}: {name}: batches of {batch}: {per_call:?} per call");
            }
        }
    }
}

/// The queries run, with their arguments.
type QueryLog = Arc<std::sync::Mutex<Vec<(String, Vec<SqlValue>)>>>;

/// A store that records the SQL of every query run through it, to EXPLAIN the
/// repository's own search SQL.
struct Recording {
    inner: Arc<ScratchStore>,
    queries: QueryLog,
}

struct RecordingTx {
    inner: Box<dyn Transaction>,
    queries: QueryLog,
}

impl Store for Recording {
    fn dialect(&self) -> store::Dialect {
        store::Dialect::Postgres
    }
    fn begin(
        &self,
        ctx: &RequestContext,
        mode: TxMode,
    ) -> Result<Box<dyn Transaction>, StoreError> {
        Ok(Box::new(RecordingTx {
            inner: self.inner.begin(ctx, mode)?,
            queries: self.queries.clone(),
        }))
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

impl Transaction for RecordingTx {
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        self.inner.execute(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<store::Row>, StoreError> {
        let mut queries = self.queries.lock().unwrap();
        queries.push((sql.to_string(), params.to_vec()));
        drop(queries);
        self.inner.query(sql, params)
    }
    fn insert_many(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[store::Row],
    ) -> Result<(), StoreError> {
        self.inner.insert_many(table, columns, rows)
    }
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.inner.commit()
    }
}

/// EXPLAIN's JSON, read as the text it is.
struct Json(String);

impl<'a> postgres::types::FromSql<'a> for Json {
    fn from_sql(
        _: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Json(String::from_utf8(raw.to_vec())?))
    }
    fn accepts(ty: &postgres::types::Type) -> bool {
        *ty == postgres::types::Type::JSON
    }
}

/// `EXPLAIN (ANALYZE, FORMAT JSON)` of `sql` with `args`, as the store would bind them.
fn explain(store: &ScratchStore, sql: &str, args: &[SqlValue]) -> serde_json::Value {
    let mut conn = pool_of(store).acquire().unwrap();
    let statement = conn
        .client
        .prepare(&format!(
            "EXPLAIN (ANALYZE, FORMAT JSON) {}",
            crate::placeholders::number_placeholders(sql)
        ))
        .unwrap();
    let bound = crate::values::bind_all(args, statement.params()).unwrap();
    let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
        bound.iter().map(|p| p.as_sql()).collect();
    let row = conn.client.query_one(&statement, &params).unwrap();
    serde_json::from_str(&row.get::<_, Json>(0).0).unwrap()
}

/// Every plan node that reads an index of an `idx_*` table, or scans one.
fn idx_nodes<'a>(node: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
    let on_idx = |key: &str| node[key].as_str().is_some_and(|n| n.starts_with("idx_"));
    if on_idx("Index Name") || (on_idx("Relation Name") && node.get("Index Name").is_none()) {
        out.push(node);
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        idx_nodes(child, out);
    }
}

/// A search in one practice reads only that practice's index rows, even when another
/// practice of the same database has many more matching rows: PostgreSQL's own plan of
/// the repository's search SQL, run with ANALYZE, shows it.
#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_search_reads_only_its_own_practices_index_rows() {
    use serde_json::json;
    let Some(scratch) = scratch() else { return };
    let scratch = Arc::new(scratch);
    let queries = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recording = Arc::new(Recording {
        inner: scratch.clone(),
        queries: queries.clone(),
    });
    let repo = store::Repository::new(recording, store::RepositoryConfig::default());
    let (big, small) = ("B82002", "A81001");
    let observations = |n: usize| {
        let entries: Vec<_> = (0..n)
            .map(|i| {
                json!({
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"text": "Blood pressure"},
                        "subject": {"reference": "Patient/p"},
                        "effectiveDateTime": format!("2020-01-{:02}", i % 28 + 1)
                    },
                    "request": {"method": "POST", "url": "Observation"}
                })
            })
            .collect();
        json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    };
    for (practice, n) in [(big, 2000_usize), (small, 3)] {
        let ctx = RequestContext::system(practice);
        let patient = json!({"resourceType": "Patient", "id": "p", "gender": "female"});
        repo.update(&ctx, "Patient", "p", patient, None).unwrap();
        for chunk in 0..n.div_ceil(500) {
            let size = (n - chunk * 500).min(500);
            repo.bundle(&ctx, observations(size), "http://x/fhir")
                .unwrap();
        }
    }
    let mut tx = begin(scratch.as_ref());
    tx.execute("ANALYZE", &[]).unwrap();
    tx.commit().unwrap();

    queries.lock().unwrap().clear();
    let request = store::SearchRequest {
        rtype: Some("Observation".into()),
        params: vec![
            ("subject".into(), "Patient/p".into()),
            ("date".into(), "ge2020-01-01".into()),
        ],
        base_url: "http://x/fhir".into(),
        lenient: false,
    };
    let bundle = repo
        .search(&RequestContext::system(small), &request)
        .unwrap();
    assert_eq!(bundle["total"], 3, "the small practice's own Observations");

    let searches: Vec<_> = queries
        .lock()
        .unwrap()
        .iter()
        .filter(|(sql, _)| sql.trim_start().starts_with("SELECT") && sql.contains("idx_"))
        .cloned()
        .collect();
    assert!(!searches.is_empty(), "the search read the index tables");
    let mut scans = 0;
    for (sql, args) in &searches {
        let plan = explain(&scratch, sql, args);
        let mut nodes = Vec::new();
        idx_nodes(&plan[0]["Plan"], &mut nodes);
        for node in nodes {
            scans += 1;
            let cond = node["Index Cond"].as_str().unwrap_or_default();
            assert!(
                cond.contains("practice"),
                "an {} on {} without the practice in its Index Cond: {node:#}",
                node["Node Type"],
                node["Relation Name"]
            );
            let read =
                node["Actual Rows"].as_i64().unwrap() * node["Actual Loops"].as_i64().unwrap();
            assert!(
                read <= 3,
                "{} read {read} index rows for the small practice's 3: {node:#}",
                node["Index Name"]
            );
        }
    }
    assert!(scans >= 2, "the plans used the idx indexes ({scans} scans)");
}

/// A database written by the release before versioned migrations (a `pg_dump` of it,
/// loaded into a schema of its own) is upgraded, then read, searched and written.
#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn a_database_from_before_versioned_migrations_is_upgraded() {
    let Some(url) = database_url() else { return };
    let schema = format!("fixture_{}", std::process::id());
    let dump = include_str!("../../store/tests/fixtures/main-before-migrations.sql")
        .replace("public.", &format!("\"{schema}\"."));
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\""
        ))
        .unwrap();
    client.batch_execute(&dump).unwrap();
    let store = Arc::new(PostgresStore::connect_in_schema(&url, &schema).unwrap());
    store::conformance::upgrade::check_upgraded_fixture(store.clone());
    drop(store);
    // Connecting again applies nothing.
    let store = PostgresStore::connect_in_schema(&url, &schema).unwrap();
    let versions = store::migrate::applied_versions(&store, &store::schema::COMPONENT);
    assert_eq!(versions.unwrap(), Some(vec![1, 2]));
    drop(store);
    client
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .unwrap();
}

/// Two servers starting at once on a new database: each migration is applied once.
#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn servers_starting_together_apply_each_migration_once() {
    let Some(url) = database_url() else { return };
    let schema = format!("together_{}", std::process::id());
    let barrier = Arc::new(Barrier::new(3));
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let (url, schema, barrier) = (url.clone(), schema.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                PostgresStore::connect_in_schema(&url, &schema).map(drop)
            })
        })
        .collect();
    for start in starts {
        start.join().unwrap().unwrap();
    }
    let store = PostgresStore::connect_in_schema(&url, &schema).unwrap();
    let mut tx = store.begin(&ctx(), TxMode::Read).unwrap();
    let rows = tx
        .query(
            "SELECT component, COUNT(*) FROM schema_migrations GROUP BY component ORDER BY component",
            &[],
        )
        .unwrap();
    drop(tx);
    drop(store);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .unwrap();
    assert_eq!(
        rows,
        vec![
            vec![text("audit"), SqlValue::Int(1)],
            vec![text("store"), SqlValue::Int(2)]
        ]
    );
}

/// Where a patient-compartment search's time goes on PostgreSQL (run by hand:
/// `cargo test -p store-postgres --release compartment_search_time -- --ignored --nocapture`).
/// Each statement and commit is timed through a wrapping store; the rest of a search's
/// time is the wait for its audit entry's group commit and the Bundle's assembly.
#[test]
#[ignore = "a measurement, run by hand"]
fn compartment_search_time() {
    use serde_json::json;
    use std::collections::BTreeMap;
    let Some(scratch) = scratch() else { return };
    let scratch = Arc::new(scratch);
    let times: Arc<std::sync::Mutex<BTreeMap<String, (u32, Duration)>>> = Arc::default();
    struct Timed {
        inner: Arc<ScratchStore>,
        times: Arc<std::sync::Mutex<BTreeMap<String, (u32, Duration)>>>,
    }
    struct TimedTx {
        inner: Box<dyn Transaction>,
        mode: TxMode,
        times: Arc<std::sync::Mutex<BTreeMap<String, (u32, Duration)>>>,
    }
    fn add(times: &std::sync::Mutex<BTreeMap<String, (u32, Duration)>>, key: String, d: Duration) {
        let mut times = times.lock().unwrap();
        let entry = times.entry(key).or_default();
        entry.0 += 1;
        entry.1 += d;
    }
    fn key(sql: &str) -> String {
        sql.split_whitespace().take(6).collect::<Vec<_>>().join(" ")
    }
    impl Store for Timed {
        fn dialect(&self) -> store::Dialect {
            store::Dialect::Postgres
        }
        fn begin(
            &self,
            ctx: &RequestContext,
            mode: TxMode,
        ) -> Result<Box<dyn Transaction>, StoreError> {
            let started = Instant::now();
            let inner = self.inner.begin(ctx, mode)?;
            add(&self.times, format!("BEGIN {mode:?}"), started.elapsed());
            Ok(Box::new(TimedTx {
                inner,
                mode,
                times: self.times.clone(),
            }))
        }
        fn describe(&self) -> String {
            self.inner.describe()
        }
    }
    impl Transaction for TimedTx {
        fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
            let started = Instant::now();
            let r = self.inner.execute(sql, params);
            add(&self.times, key(sql), started.elapsed());
            r
        }
        fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<store::Row>, StoreError> {
            let started = Instant::now();
            let r = self.inner.query(sql, params);
            add(&self.times, key(sql), started.elapsed());
            r
        }
        fn insert_many(
            &mut self,
            table: &str,
            columns: &[&str],
            rows: &[store::Row],
        ) -> Result<(), StoreError> {
            self.inner.insert_many(table, columns, rows)
        }
        fn commit(self: Box<Self>) -> Result<(), StoreError> {
            let started = Instant::now();
            let (mode, times) = (self.mode, self.times.clone());
            let r = self.inner.commit();
            add(&times, format!("COMMIT {mode:?}"), started.elapsed());
            r
        }
    }
    let repo = store::Repository::new(
        Arc::new(Timed {
            inner: scratch.clone(),
            times: times.clone(),
        }),
        store::RepositoryConfig::default(),
    );
    let ctx = RequestContext::system("A81001");
    let patients = 40;
    for p in 0..patients {
        let entries: Vec<_> = (0..120)
            .map(|i| {
                json!({
                    "resource": {
                        "resourceType": "Observation", "status": "final",
                        "code": {"text": "Blood pressure"},
                        "subject": {"reference": format!("Patient/p{p}")},
                        "effectiveDateTime": format!("2020-01-{:02}", i % 28 + 1)
                    },
                    "request": {"method": "POST", "url": "Observation"}
                })
            })
            .collect();
        repo.bundle(
            &ctx,
            json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}),
            "http://x/fhir",
        )
        .unwrap();
    }
    let mut tx = begin(scratch.as_ref());
    tx.execute("ANALYZE", &[]).unwrap();
    tx.commit().unwrap();
    times.lock().unwrap().clear();
    let searches = 300;
    let started = Instant::now();
    for i in 0..searches {
        let request = store::SearchRequest {
            rtype: Some("Observation".into()),
            params: vec![("subject".into(), format!("Patient/p{}", i % patients))],
            base_url: "http://x/fhir".into(),
            lenient: false,
        };
        repo.search(&ctx, &request).unwrap();
    }
    let total = started.elapsed();
    println!(
        "{searches} compartment searches, one client: {:.2} ms each",
        total.as_secs_f64() * 1000.0 / searches as f64
    );
    let mut timed = Duration::ZERO;
    for (key, (n, d)) in times.lock().unwrap().iter() {
        timed += *d;
        println!(
            "{:>8.3} ms/search {n:>5}x  {key}",
            d.as_secs_f64() * 1000.0 / searches as f64
        );
    }
    println!(
        "{:>8.3} ms/search untimed (audit wait, Bundle)",
        (total.saturating_sub(timed)).as_secs_f64() * 1000.0 / searches as f64
    );
}
