//! The outbox over a real store (SQLite and PostgreSQL): a message commits with its
//! transaction or not at all, is delivered with its id as the idempotency key, retried,
//! given up with its reason, sent back by an operator, and claimed again after a worker
//! dies holding it.

use outbox::{
    Delivery, Destination, Message, MessageState, NewMessage, RetryPolicy, Worker, WorkerConfig,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{RequestContext, Store, TxMode};

fn sqlite() -> Arc<dyn Store> {
    let store = Arc::new(store_sqlite::SqliteStore::open_temp().expect("temporary store"));
    outbox::schema::ensure(store.as_ref()).expect("outbox table");
    store
}

fn postgres() -> Option<Arc<dyn Store>> {
    let url = std::env::var("OPENGP_TEST_POSTGRES").ok()?;
    let store = Arc::new(store_postgres::ScratchStore::create(&url).expect("scratch schema"));
    outbox::schema::ensure(store.as_ref()).expect("outbox table");
    Some(store)
}

macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::sqlite()); } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                match super::postgres() {
                    Some(store) => super::$name(store),
                    None => eprintln!("skipped: OPENGP_TEST_POSTGRES is not set"),
                }
            } )*
        }
    };
}

backends!(
    a_message_commits_with_its_transaction_or_not_at_all,
    a_message_is_delivered_once_with_its_id_as_the_idempotency_key,
    a_failure_is_retried_later_and_then_delivered,
    a_permanent_refusal_is_a_dead_letter_with_its_reason_and_can_be_sent_again,
    a_message_that_keeps_failing_is_given_up_after_the_maximum_attempts,
    a_lease_left_by_a_dead_worker_is_claimed_again,
    workers_side_by_side_never_take_the_same_message,
    status_counts_per_destination_and_per_practice,
    a_slow_batch_hands_back_what_it_could_not_send_within_its_lease,
);

const PRACTICE: &str = "A81001";

fn message(n: usize) -> NewMessage {
    NewMessage {
        practice: PRACTICE.into(),
        destination: "pds".into(),
        kind: "pds.update-contact".into(),
        subject: Some(format!("Patient/p{n}")),
        payload: format!(r#"{{"n":{n}}}"#),
    }
}

fn enqueue(store: &dyn Store, m: &NewMessage) -> String {
    let mut tx = store
        .begin(&RequestContext::system(PRACTICE), TxMode::Write)
        .unwrap();
    let id = outbox::enqueue(tx.as_mut(), m).unwrap();
    tx.commit().unwrap();
    id
}

/// A destination that answers from a script (then `Sent`) and records what it got.
#[derive(Default)]
struct Scripted {
    answers: Mutex<Vec<Delivery>>,
    got: Mutex<Vec<Message>>,
}

impl Scripted {
    fn answering(answers: Vec<Delivery>) -> Arc<Scripted> {
        Arc::new(Scripted {
            answers: Mutex::new(answers.into_iter().rev().collect()),
            got: Mutex::default(),
        })
    }
    fn ids(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.id.clone())
            .collect()
    }
}

impl Destination for Scripted {
    fn deliver(&self, message: &Message) -> Delivery {
        self.got.lock().unwrap().push(message.clone());
        self.answers
            .lock()
            .unwrap()
            .pop()
            .unwrap_or_else(|| Delivery::Sent("accepted".into()))
    }
}

fn quick() -> WorkerConfig {
    WorkerConfig {
        lease: Duration::from_secs(30),
        idle: Duration::from_millis(10),
        retry: RetryPolicy {
            base: Duration::from_millis(40),
            cap: Duration::from_millis(80),
            ..RetryPolicy::default()
        },
        ..WorkerConfig::default()
    }
}

fn worker(store: &Arc<dyn Store>, to: Arc<Scripted>, config: WorkerConfig) -> Worker {
    Worker::new(store.clone(), config).route("pds", to)
}

fn state_of(store: &dyn Store, id: &str) -> outbox::Summary {
    let all = outbox::for_subject(store, PRACTICE, "Patient/p1", 100).unwrap();
    all.into_iter()
        .find(|s| s.id == id)
        .expect("the message is there")
}

fn count(store: &dyn Store) -> i64 {
    let mut tx = store
        .begin(&RequestContext::system(PRACTICE), TxMode::Read)
        .unwrap();
    tx.query("SELECT COUNT(*) FROM outbox", &[]).unwrap()[0][0]
        .as_i64()
        .unwrap()
}

fn a_message_commits_with_its_transaction_or_not_at_all(store: Arc<dyn Store>) {
    let ctx = RequestContext::system(PRACTICE);
    let mut tx = store.begin(&ctx, TxMode::Write).unwrap();
    outbox::enqueue(tx.as_mut(), &message(1)).unwrap();
    drop(tx); // rolled back, as when the clinical change fails
    assert_eq!(
        count(store.as_ref()),
        0,
        "a rolled-back message is not sent"
    );
    enqueue(store.as_ref(), &message(1));
    assert_eq!(count(store.as_ref()), 1);
}

fn a_message_is_delivered_once_with_its_id_as_the_idempotency_key(store: Arc<dyn Store>) {
    let id = enqueue(store.as_ref(), &message(1));
    let pds = Scripted::answering(vec![Delivery::Sent("PDS updated (version 3)".into())]);
    let w = worker(&store, pds.clone(), quick());
    assert_eq!(w.run_once().unwrap(), 1);
    assert_eq!(w.run_once().unwrap(), 0, "a sent message is not sent again");
    assert_eq!(pds.ids(), vec![id.clone()]);
    assert_eq!(pds.got.lock().unwrap()[0].payload, r#"{"n":1}"#);
    let s = state_of(store.as_ref(), &id);
    assert_eq!(s.state, MessageState::Sent);
    assert_eq!(s.outcome.as_deref(), Some("PDS updated (version 3)"));
    assert_eq!(s.attempts, 1);
}

fn a_failure_is_retried_later_and_then_delivered(store: Arc<dyn Store>) {
    let id = enqueue(store.as_ref(), &message(1));
    let pds = Scripted::answering(vec![
        Delivery::Retry("PDS is unavailable: 503".into()),
        Delivery::Retry("PDS is unavailable: 503".into()),
    ]);
    let w = worker(&store, pds.clone(), quick());
    assert_eq!(w.run_once().unwrap(), 1);
    let s = state_of(store.as_ref(), &id);
    assert_eq!(s.state, MessageState::Pending);
    assert_eq!(s.last_error.as_deref(), Some("PDS is unavailable: 503"));
    assert_eq!(
        w.run_once().unwrap(),
        0,
        "not tried again before its backoff"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while state_of(store.as_ref(), &id).state == MessageState::Pending {
        assert!(std::time::Instant::now() < deadline, "never delivered");
        w.run_once().unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(state_of(store.as_ref(), &id).state, MessageState::Sent);
    assert_eq!(
        pds.ids(),
        vec![id.clone(), id.clone(), id],
        "the same id every time"
    );
}

fn a_permanent_refusal_is_a_dead_letter_with_its_reason_and_can_be_sent_again(
    store: Arc<dyn Store>,
) {
    let id = enqueue(store.as_ref(), &message(1));
    let pds = Scripted::answering(vec![Delivery::Permanent(
        "PDS has no patient with this NHS number".into(),
    )]);
    let w = worker(&store, pds.clone(), quick());
    w.run_once().unwrap();
    let s = state_of(store.as_ref(), &id);
    assert_eq!(s.state, MessageState::Dead);
    assert_eq!(
        s.last_error.as_deref(),
        Some("PDS has no patient with this NHS number")
    );
    let status = outbox::status(store.as_ref(), None).unwrap();
    assert_eq!(status[0].dead, 1);
    assert_eq!(status[0].pending, 0);
    assert_eq!(status[0].latest_dead[0].id, id);
    assert_eq!(
        status[0].latest_dead[0].reason,
        "PDS has no patient with this NHS number"
    );
    assert!(
        !outbox::retry(store.as_ref(), Some("Y99999"), &id).unwrap(),
        "another practice's"
    );
    assert!(outbox::retry(store.as_ref(), Some(PRACTICE), &id).unwrap());
    assert!(
        !outbox::retry(store.as_ref(), None, &id).unwrap(),
        "no longer dead"
    );
    w.run_once().unwrap();
    assert_eq!(state_of(store.as_ref(), &id).state, MessageState::Sent);
    assert_eq!(pds.ids().len(), 2);
}

fn a_message_that_keeps_failing_is_given_up_after_the_maximum_attempts(store: Arc<dyn Store>) {
    let id = enqueue(store.as_ref(), &message(1));
    let pds = Scripted::answering(vec![Delivery::Retry("timed out".into()); 10]);
    let mut config = quick();
    config.retry.base = Duration::from_millis(1);
    config.retry.cap = Duration::from_millis(2);
    config.retry.max_attempts = 3;
    let w = worker(&store, pds.clone(), config);
    for _ in 0..20 {
        w.run_once().unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let s = state_of(store.as_ref(), &id);
    assert_eq!(s.state, MessageState::Dead);
    assert_eq!(s.attempts, 3);
    assert_eq!(
        s.last_error.as_deref(),
        Some("gave up after 3 attempts; last failure: timed out")
    );
    assert_eq!(pds.ids().len(), 3);
}

fn a_lease_left_by_a_dead_worker_is_claimed_again(store: Arc<dyn Store>) {
    let id = enqueue(store.as_ref(), &message(1));
    struct Crashes;
    impl Destination for Crashes {
        fn deliver(&self, _: &Message) -> Delivery {
            panic!("the worker dies while sending");
        }
    }
    let mut short = quick();
    short.lease = Duration::from_millis(300);
    let dying = Worker::new(store.clone(), short).route("pds", Arc::new(Crashes));
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dying.run_once()));
    assert!(crashed.is_err());
    let pds = Scripted::answering(vec![]);
    let w = worker(&store, pds.clone(), quick());
    assert_eq!(w.run_once().unwrap(), 0, "leased to the other worker");
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(
        w.run_once().unwrap(),
        1,
        "the expired lease is claimed again"
    );
    let s = state_of(store.as_ref(), &id);
    assert_eq!(s.state, MessageState::Sent);
    assert_eq!(s.attempts, 2, "the attempt that died counts");
}

fn workers_side_by_side_never_take_the_same_message(store: Arc<dyn Store>) {
    let n = 120;
    for i in 0..n {
        enqueue(store.as_ref(), &message(i));
    }
    let pds = Scripted::answering(vec![]);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let w = worker(
                &store,
                pds.clone(),
                WorkerConfig {
                    batch: 3,
                    ..quick()
                },
            );
            s.spawn(move || while w.run_once().unwrap() > 0 {});
        }
    });
    let ids = pds.ids();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    assert_eq!(seen.len(), n, "every message delivered");
    assert_eq!(ids.len(), n, "none delivered twice while its worker lived");
    let status = outbox::status(store.as_ref(), Some(PRACTICE)).unwrap();
    assert_eq!((status[0].sent, status[0].pending), (n as i64, 0));
}

fn status_counts_per_destination_and_per_practice(store: Arc<dyn Store>) {
    enqueue(store.as_ref(), &message(1));
    enqueue(store.as_ref(), &message(2));
    let mut other = message(3);
    other.practice = "Y99999".into();
    other.destination = "notify".into();
    enqueue(store.as_ref(), &other);
    std::thread::sleep(Duration::from_millis(1100));
    let all = outbox::status(store.as_ref(), None).unwrap();
    let names: Vec<&str> = all.iter().map(|s| s.destination.as_str()).collect();
    assert_eq!(names, ["notify", "pds"]);
    assert_eq!(all[1].pending, 2);
    assert!(all[1].oldest_pending_secs.unwrap() >= 1);
    let mine = outbox::status(store.as_ref(), Some(PRACTICE)).unwrap();
    assert_eq!(mine.len(), 1, "another practice's messages are not shown");
    assert_eq!(mine[0].pending, 2);
}

#[test]
fn backoff_doubles_up_to_its_cap_with_jitter() {
    let policy = RetryPolicy::default();
    for attempts in 1..=8 {
        let full = (500u64 << (attempts - 1)).min(30_000);
        let wait = policy.backoff(attempts).as_millis() as u64;
        assert!(
            (full / 2..=full).contains(&wait),
            "attempt {attempts}: {wait} ms, expected {}..={full}",
            full / 2
        );
    }
    assert!(
        policy.backoff(1000) <= Duration::from_secs(30),
        "capped at 30 s"
    );
    let waits: std::collections::HashSet<u128> =
        (0..20).map(|_| policy.backoff(10).as_micros()).collect();
    assert!(waits.len() > 1, "jittered");
}

fn a_slow_batch_hands_back_what_it_could_not_send_within_its_lease(store: Arc<dyn Store>) {
    let ids: Vec<String> = (0..3)
        .map(|i| enqueue(store.as_ref(), &message(i)))
        .collect();
    struct Slow;
    impl Destination for Slow {
        fn deliver(&self, _: &Message) -> Delivery {
            std::thread::sleep(Duration::from_millis(120));
            Delivery::Sent("accepted".into())
        }
    }
    let config = WorkerConfig {
        lease: Duration::from_millis(200),
        ..quick()
    };
    let slow = Worker::new(store.clone(), config).route("pds", Arc::new(Slow));
    assert_eq!(slow.run_once().unwrap(), 3);
    let pds = Scripted::answering(vec![]);
    let other = worker(&store, pds.clone(), quick());
    assert_eq!(
        other.run_once().unwrap(),
        1,
        "the third, handed back at once rather than after its lease"
    );
    let summaries: Vec<_> = (0..3)
        .map(|i| {
            outbox::for_subject(store.as_ref(), PRACTICE, &format!("Patient/p{i}"), 1).unwrap()[0]
                .clone()
        })
        .collect();
    assert!(summaries.iter().all(|s| s.state == MessageState::Sent));
    assert_eq!(pds.ids(), vec![ids[2].clone()]);
    assert_eq!(
        summaries[2].attempts, 1,
        "the handed-back claim is not counted"
    );
}
