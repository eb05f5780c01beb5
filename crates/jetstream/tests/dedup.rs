//! The de-duplicating consumer end to end: NATS JetStream (OPENGP_TEST_NATS, default
//! nats://127.0.0.1:4222) and the inbox on SQLite, and on PostgreSQL when
//! OPENGP_TEST_POSTGRES is set. Skips with a note when NATS is absent.

use access::RequestContext;
use db::{SqlValue, Store, TxMode};
use jetstream::{
    ConsumerConfig, DedupConsumer, Error, JetStream, PollCounts, PullConsumer, Retention,
    StreamConfig, Verdict, inbox,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MESSAGES: usize = 60;

fn nats_url() -> String {
    std::env::var("OPENGP_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn ctx() -> RequestContext {
    RequestContext::system("A81001")
}

fn count(store: &dyn Store, sql: &str) -> i64 {
    let mut tx = store.begin(&ctx(), TxMode::Read).unwrap();
    tx.query(sql, &[]).unwrap()[0][0].as_i64().unwrap()
}

/// Node A dies after handling a few messages of its batch (the rest of that batch
/// unacknowledged); node B carries on. Also one message is published again after the
/// stream's duplicate window, so JetStream itself delivers it twice. Every message must
/// be handled exactly once, none lost.
fn each_message_is_handled_once_when_a_node_dies_mid_batch(store: Arc<dyn Store>) {
    let mut js = match JetStream::connect(&nats_url()) {
        Ok(js) => js,
        Err(e) if std::env::var_os("OPENGP_TEST_NATS").is_some() => {
            panic!(
                "OPENGP_TEST_NATS is set but NATS at {} is not usable: {e}",
                nats_url()
            )
        }
        Err(e) => {
            eprintln!("skipped: no NATS with JetStream at {} ({e})", nats_url());
            return;
        }
    };
    inbox::create_table(store.as_ref()).unwrap();
    let mut tx = store.begin(&ctx(), TxMode::Write).unwrap();
    tx.execute(
        "CREATE TABLE effects (message_id TEXT NOT NULL, node TEXT NOT NULL)",
        &[],
    )
    .unwrap();
    tx.commit().unwrap();

    let id = uuid::Uuid::new_v4().simple().to_string();
    let stream = StreamConfig {
        name: format!("T_{id}"),
        subjects: vec![format!("opengp-test.{id}.>")],
        duplicate_window: Duration::from_millis(200),
        retention: Retention::WorkQueue,
        max_age: Duration::from_secs(600),
    };
    js.ensure_stream(&stream).unwrap();
    let subject = format!("opengp-test.{id}.sink");
    for n in 0..MESSAGES {
        js.publish(&subject, &format!("m{n}"), b"{}").unwrap();
    }
    std::thread::sleep(Duration::from_millis(400));
    let late = js.publish(&subject, "m0", b"{}").unwrap();
    assert!(
        !late.duplicate,
        "outside the window JetStream stores it again"
    );

    let mut config = ConsumerConfig::new("sink");
    config.ack_wait = Duration::from_secs(1);
    let node = |name: &str| {
        let consumer = PullConsumer::ensure(
            JetStream::connect(&nats_url()).unwrap(),
            &stream.name,
            &config,
        )
        .unwrap();
        (
            DedupConsumer::new(consumer, "sink", ctx()),
            name.to_string(),
        )
    };
    let handle = |node: String, fail_after: Option<usize>| {
        let mut handled = 0;
        move |m: &jetstream::JsMessage, tx: &mut dyn db::Transaction| {
            if fail_after == Some(handled) {
                return Err(Error::InvalidInput("node died".into()));
            }
            handled += 1;
            tx.execute(
                "INSERT INTO effects (message_id, node) VALUES (?, ?)",
                &[m.msg_id.clone().into(), SqlValue::from(node.as_str())],
            )?;
            Ok(Verdict::Handled)
        }
    };

    let (mut a, a_name) = node("a");
    let died = a.poll(
        store.as_ref(),
        10,
        Duration::from_secs(2),
        handle(a_name, Some(4)),
    );
    assert!(died.is_err(), "node a stops mid-batch");
    drop(a); // its connection closes with 6 of its 10 messages unacknowledged

    let (mut b, b_name) = node("b");
    let mut handler = handle(b_name, None);
    let mut total = PollCounts::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(store.as_ref(), "SELECT COUNT(*) FROM outbox_inbox") < MESSAGES as i64
        || total.repeats == 0
    {
        assert!(Instant::now() < deadline, "not all handled: {total:?}");
        let c = b
            .poll(store.as_ref(), 10, Duration::from_millis(500), &mut handler)
            .unwrap();
        total.handled += c.handled;
        total.repeats += c.repeats;
    }

    assert_eq!(
        count(
            store.as_ref(),
            "SELECT COUNT(*) FROM effects WHERE node = 'a'"
        ),
        4
    );
    assert_eq!(
        total.handled,
        MESSAGES - 4,
        "b handled the rest, including a's unacked"
    );
    assert_eq!(
        total.repeats, 1,
        "the late copy of m0 was acknowledged, not handled"
    );
    assert_eq!(
        count(store.as_ref(), "SELECT COUNT(*) FROM effects"),
        MESSAGES as i64
    );
    assert_eq!(
        count(
            store.as_ref(),
            "SELECT COUNT(DISTINCT message_id) FROM effects"
        ),
        MESSAGES as i64,
        "no message handled twice"
    );
    assert_eq!(
        b.consumer().pending().unwrap(),
        (0, 0),
        "nothing left in flight"
    );
    js.delete_stream(&stream.name).unwrap();
}

#[test]
fn sqlite_each_message_is_handled_once_when_a_node_dies_mid_batch() {
    let store = store_sqlite::SqliteStore::open_temp().unwrap();
    each_message_is_handled_once_when_a_node_dies_mid_batch(Arc::new(store));
}

#[test]
fn postgres_each_message_is_handled_once_when_a_node_dies_mid_batch() {
    match std::env::var("OPENGP_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => {
            let store = store_postgres::ScratchStore::create(&url).unwrap();
            each_message_is_handled_once_when_a_node_dies_mid_batch(Arc::new(store));
        }
        _ => eprintln!("skipped on PostgreSQL: set OPENGP_TEST_POSTGRES=postgres://…"),
    }
}
