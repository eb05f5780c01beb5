//! The de-duplicating consumer inbox on SQLite, and on PostgreSQL when
//! OPENGP_TEST_POSTGRES names a database (each run in a scratch schema).

use access::RequestContext;
use db::{SqlValue, Store, StoreError, Transaction, TxMode};
use jetstream::inbox::{self, Delivery};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use store_postgres::ScratchStore;
use store_sqlite::SqliteStore;

fn ctx() -> RequestContext {
    RequestContext::system("A81001")
}

fn sqlite() -> SqliteStore {
    SqliteStore::open_temp().unwrap()
}

fn postgres() -> Option<ScratchStore> {
    match std::env::var("OPENGP_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(ScratchStore::create(&url).unwrap()),
        _ => {
            eprintln!("skipped on PostgreSQL: set OPENGP_TEST_POSTGRES=postgres://…");
            None
        }
    }
}

/// The inbox and a table standing for a handling's local effect (say, a task created
/// from an incoming message).
fn prepare(store: &dyn Store) {
    inbox::create_table(store).unwrap();
    inbox::create_table(store).expect("creating it again is harmless");
    let mut tx = store.begin(&ctx(), TxMode::Write).unwrap();
    tx.execute(
        "CREATE TABLE effects (message_id TEXT NOT NULL, body TEXT NOT NULL)",
        &[],
    )
    .unwrap();
    tx.commit().unwrap();
}

fn count(store: &dyn Store, sql: &str) -> i64 {
    let mut tx = store.begin(&ctx(), TxMode::Read).unwrap();
    tx.query(sql, &[]).unwrap()[0][0].as_i64().unwrap()
}

fn add_effect(tx: &mut dyn Transaction, id: &str) -> Result<(), jetstream::Error> {
    tx.execute(
        "INSERT INTO effects (message_id, body) VALUES (?, ?)",
        &[id.into(), SqlValue::from("task created")],
    )?;
    Ok(())
}

fn a_redelivered_message_is_not_handled_twice(store: &dyn Store) {
    prepare(store);
    let handle = |id: &str| inbox::handle_once(store, &ctx(), id, "sink", |tx| add_effect(tx, id));
    assert_eq!(handle("m1").unwrap(), Delivery::First);
    assert_eq!(handle("m1").unwrap(), Delivery::Repeat);
    assert_eq!(handle("m2").unwrap(), Delivery::First);
    assert_eq!(handle("m1").unwrap(), Delivery::Repeat);
    assert_eq!(
        count(
            store,
            "SELECT COUNT(*) FROM effects WHERE message_id = 'm1'"
        ),
        1
    );
    assert_eq!(count(store, "SELECT COUNT(*) FROM effects"), 2);
    assert_eq!(
        count(
            store,
            "SELECT COUNT(*) FROM outbox_inbox WHERE destination = 'sink'"
        ),
        2
    );
}

fn a_failed_handling_keeps_nothing_so_the_next_delivery_handles_it(store: &dyn Store) {
    prepare(store);
    let failed = inbox::handle_once(store, &ctx(), "m1", "sink", |tx| {
        add_effect(tx, "m1")?;
        Err(jetstream::Error::InvalidInput(
            "the destination refused".into(),
        ))
    });
    assert!(failed.is_err());
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM effects"),
        0,
        "its effect rolled back"
    );
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM outbox_inbox"),
        0,
        "and its inbox row"
    );
    let again = inbox::handle_once(store, &ctx(), "m1", "sink", |tx| add_effect(tx, "m1"));
    assert_eq!(again.unwrap(), Delivery::First);
    assert_eq!(count(store, "SELECT COUNT(*) FROM effects"), 1);
}

#[test]
fn sqlite_a_redelivered_message_is_not_handled_twice() {
    a_redelivered_message_is_not_handled_twice(&sqlite());
}

#[test]
fn sqlite_a_failed_handling_keeps_nothing_so_the_next_delivery_handles_it() {
    a_failed_handling_keeps_nothing_so_the_next_delivery_handles_it(&sqlite());
}

#[test]
fn postgres_a_redelivered_message_is_not_handled_twice() {
    if let Some(store) = postgres() {
        a_redelivered_message_is_not_handled_twice(&store);
    }
}

#[test]
fn postgres_a_failed_handling_keeps_nothing_so_the_next_delivery_handles_it() {
    if let Some(store) = postgres() {
        a_failed_handling_keeps_nothing_so_the_next_delivery_handles_it(&store);
    }
}

/// Two nodes handed the same message at once (a redelivery racing a slow first
/// handling): the second waits for the first's transaction and then sees a repeat.
#[test]
fn postgres_two_nodes_handling_one_message_at_once_handle_it_once() {
    let Some(store) = postgres() else { return };
    prepare(&store);
    let store = Arc::new(store);
    let start = Arc::new(Barrier::new(2));
    let nodes: Vec<_> = (0..2)
        .map(|_| {
            let (store, start) = (store.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                inbox::handle_once(store.as_ref(), &ctx(), "m1", "sink", |tx| {
                    // A slow handling, so the other node's insert meets this open one.
                    std::thread::sleep(Duration::from_millis(300));
                    add_effect(tx, "m1")
                })
                .unwrap()
            })
        })
        .collect();
    let mut outcomes: Vec<Delivery> = nodes.into_iter().map(|n| n.join().unwrap()).collect();
    outcomes.sort_by_key(|d| *d == Delivery::Repeat);
    assert_eq!(outcomes, vec![Delivery::First, Delivery::Repeat]);
    assert_eq!(count(store.as_ref(), "SELECT COUNT(*) FROM effects"), 1);
}

#[test]
fn a_store_error_is_reported_not_swallowed() {
    let store = sqlite();
    // No inbox table: recording must fail loudly rather than count as handled.
    let mut tx = store.begin(&ctx(), TxMode::Write).unwrap();
    match inbox::record(tx.as_mut(), "m1", "sink") {
        Err(jetstream::Error::Store(StoreError::Backend(_))) => {}
        other => panic!("expected a store error, got {other:?}"),
    }
}
