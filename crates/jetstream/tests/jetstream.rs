//! Against a live NATS with JetStream (OPENGP_TEST_NATS, default nats://127.0.0.1:4222).
//! Each test makes its own stream and subjects and deletes them afterwards; without a
//! NATS server the tests skip with a note.

use jetstream::{Client, ConsumerConfig, Error, JetStream, PullConsumer, Retention, StreamConfig};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn nats_url() -> String {
    std::env::var("OPENGP_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// None (the test skips) when there is no NATS, unless OPENGP_TEST_NATS says there
/// must be one (as CI does).
fn connect() -> Option<JetStream> {
    match JetStream::connect(&nats_url()) {
        Ok(js) => Some(js),
        Err(e) if std::env::var_os("OPENGP_TEST_NATS").is_some() => {
            panic!(
                "OPENGP_TEST_NATS is set but NATS at {} is not usable: {e}",
                nats_url()
            )
        }
        Err(e) => {
            eprintln!("skipped: no NATS with JetStream at {} ({e})", nats_url());
            None
        }
    }
}

/// A stream of its own for one test, deleted when dropped.
struct TestStream {
    js: JetStream,
    config: StreamConfig,
    /// The subject prefix the stream takes: `<prefix>.>`.
    prefix: String,
}

impl TestStream {
    fn create(retention: Retention) -> Option<TestStream> {
        let mut js = connect()?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let prefix = format!("opengp-test.{id}");
        let config = StreamConfig {
            name: format!("T_{id}"),
            subjects: vec![format!("{prefix}.>")],
            duplicate_window: Duration::from_secs(60),
            retention,
            max_age: Duration::from_secs(600),
        };
        js.ensure_stream(&config).expect("create the test stream");
        Some(TestStream { js, config, prefix })
    }

    fn subject(&self, last: &str) -> String {
        format!("{}.{last}", self.prefix)
    }

    fn messages(&mut self) -> u64 {
        let name = self.config.name.clone();
        self.js
            .stream_state(&name)
            .unwrap()
            .expect("stream exists")
            .messages
    }

    fn consumer(&self, config: &ConsumerConfig) -> PullConsumer {
        let js = JetStream::connect(&nats_url()).unwrap();
        PullConsumer::ensure(js, &self.config.name, config).unwrap()
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let name = self.config.name.clone();
        if let Err(e) = self.js.delete_stream(&name) {
            eprintln!("could not delete test stream {name}: {e}");
        }
    }
}

#[test]
fn publishing_twice_with_one_msg_id_stores_the_message_once() {
    let Some(mut s) = TestStream::create(Retention::Limits) else {
        return;
    };
    let subject = s.subject("pds");
    let first = s.js.publish(&subject, "outbox-1", b"{\"n\":1}").unwrap();
    assert!(!first.duplicate);
    assert_eq!(first.stream, s.config.name);
    let again = s.js.publish(&subject, "outbox-1", b"{\"n\":1}").unwrap();
    assert!(again.duplicate, "the repeat is reported as a duplicate");
    assert_eq!(again.seq, first.seq, "and points at the stored message");
    assert_eq!(s.messages(), 1);

    let other = s.js.publish(&subject, "outbox-2", b"{\"n\":2}").unwrap();
    assert!(!other.duplicate);
    assert_eq!(other.seq, first.seq + 1);
    assert_eq!(s.messages(), 2);
}

#[test]
fn ensuring_a_stream_twice_keeps_its_messages_and_updates_its_window() {
    let Some(mut s) = TestStream::create(Retention::WorkQueue) else {
        return;
    };
    let subject = s.subject("x");
    s.js.publish(&subject, "m1", b"1").unwrap();
    let mut config = s.config.clone();
    config.duplicate_window = Duration::from_secs(90);
    let state = s.js.ensure_stream(&config).unwrap();
    assert_eq!(state.duplicate_window, Duration::from_secs(90));
    assert_eq!(state.messages, 1, "a running stream is not recreated");
}

#[test]
fn a_subject_no_stream_takes_is_refused_not_lost() {
    let Some(mut js) = connect() else { return };
    let subject = format!("opengp-test.{}.nowhere", uuid::Uuid::new_v4().simple());
    match js.publish(&subject, "m1", b"x") {
        Err(e @ Error::NoResponders(_)) => assert!(e.is_transient()),
        other => panic!("expected no responders, got {other:?}"),
    }
}

#[test]
fn a_message_a_dead_consumer_never_acknowledged_goes_to_another_consumer() {
    let Some(mut s) = TestStream::create(Retention::WorkQueue) else {
        return;
    };
    let mut config = ConsumerConfig::new("relay");
    config.ack_wait = Duration::from_secs(1);
    s.js.publish(&s.subject("pds"), "outbox-7", b"payload-7")
        .unwrap();

    let mut dying = s.consumer(&config);
    let got = dying.fetch(10, Duration::from_secs(2)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].msg_id.as_deref(), Some("outbox-7"));
    assert_eq!(got[0].delivered, 1);

    // While the first node holds it, nobody else gets it.
    let mut survivor = s.consumer(&config);
    let started = Instant::now();
    assert!(
        survivor
            .fetch(10, Duration::from_millis(300))
            .unwrap()
            .is_empty()
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "an empty fetch ends at its expiry"
    );

    drop(dying); // the node dies without acknowledging

    let again = survivor.fetch(10, Duration::from_secs(3)).unwrap();
    assert_eq!(again.len(), 1, "redelivered after the ack wait");
    assert_eq!(again[0].msg_id.as_deref(), Some("outbox-7"));
    assert_eq!(again[0].payload, b"payload-7");
    assert_eq!(again[0].delivered, 2);
    survivor.ack(&again[0]).unwrap();

    // Acknowledged: not delivered again, and gone from the work queue.
    assert!(
        survivor
            .fetch(10, Duration::from_millis(1500))
            .unwrap()
            .is_empty()
    );
    assert_eq!(survivor.pending().unwrap(), (0, 0));
    assert_eq!(s.messages(), 0);
}

#[test]
fn a_batch_is_shared_between_consumers_and_each_message_is_delivered_once() {
    let Some(mut s) = TestStream::create(Retention::WorkQueue) else {
        return;
    };
    let config = ConsumerConfig::new("relay");
    for n in 0..20 {
        s.js.publish(
            &s.subject("sink"),
            &format!("m{n}"),
            format!("{n}").as_bytes(),
        )
        .unwrap();
    }
    let mut a = s.consumer(&config);
    let mut b = s.consumer(&config);
    let first = a.fetch(8, Duration::from_secs(1)).unwrap();
    let rest = b.fetch(100, Duration::from_millis(500)).unwrap();
    assert_eq!(first.len(), 8);
    assert_eq!(
        rest.len(),
        12,
        "the second consumer gets only what the first did not"
    );
    let mut ids: Vec<String> = first
        .iter()
        .chain(&rest)
        .filter_map(|m| m.msg_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    for m in &first {
        a.ack(m).unwrap();
    }
    for m in &rest {
        b.ack(m).unwrap();
    }
    assert_eq!(s.messages(), 0);
}

#[test]
fn a_consumer_at_its_unacknowledged_limit_gets_an_empty_batch_not_an_error() {
    let Some(mut s) = TestStream::create(Retention::WorkQueue) else {
        return;
    };
    let mut config = ConsumerConfig::new("relay");
    config.max_ack_pending = 2;
    for n in 0..5 {
        s.js.publish(&s.subject("x"), &format!("m{n}"), b"x")
            .unwrap();
    }
    let mut c = s.consumer(&config);
    let started = Instant::now();
    let held = c.fetch(10, Duration::from_secs(1)).unwrap();
    assert_eq!(held.len(), 2);
    assert!(c.fetch(10, Duration::from_millis(300)).unwrap().is_empty());
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "a batch cut short at the limit does not stall the node ({:?})",
        started.elapsed()
    );
    c.ack(&held[0]).unwrap();
    assert_eq!(
        c.fetch(10, Duration::from_secs(1)).unwrap().len(),
        1,
        "room for one more"
    );
}

#[test]
fn a_nak_with_a_delay_brings_the_message_back_later() {
    let Some(s) = TestStream::create(Retention::WorkQueue) else {
        return;
    };
    let mut config = ConsumerConfig::new("relay");
    config.ack_wait = Duration::from_secs(30);
    let mut js = JetStream::connect(&nats_url()).unwrap();
    js.publish(&s.subject("pds"), "outbox-9", b"x").unwrap();
    let mut c = s.consumer(&config);
    let got = c.fetch(1, Duration::from_secs(2)).unwrap();
    c.nak(&got[0], Duration::from_millis(500)).unwrap();
    let again = c.fetch(1, Duration::from_secs(3)).unwrap();
    assert_eq!(again.len(), 1, "back well before the 30 s ack wait");
    assert_eq!(again[0].delivered, 2);
    c.term(&again[0]).unwrap();
    assert!(c.fetch(1, Duration::from_millis(1500)).unwrap().is_empty());
}

#[test]
fn a_dropped_connection_is_opened_again() {
    let Some(s) = TestStream::create(Retention::Limits) else {
        return;
    };
    let proxy = CuttingProxy::start("127.0.0.1:4222");
    let client = Client::connect(&format!("nats://{}", proxy.addr)).unwrap();
    let mut js = JetStream::new(client);
    js.publish(&s.subject("a"), "before", b"1").unwrap();

    proxy.cut_all();
    let ack = js.publish(&s.subject("a"), "after", b"2").unwrap();
    assert!(!ack.duplicate);
    assert_eq!(js.client().reconnects(), 1);

    // The relay publishes again when it never saw the PubAck: nothing is stored twice.
    proxy.cut_all();
    let repeat = js.publish(&s.subject("a"), "after", b"2").unwrap();
    assert!(repeat.duplicate);
    assert_eq!(repeat.seq, ack.seq);
}

#[test]
fn a_server_that_is_not_there_is_a_clear_transient_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    match Client::connect(&format!("nats://127.0.0.1:{port}")) {
        Err(e @ Error::Io(_)) => assert!(e.is_transient()),
        Err(other) => panic!("expected a connection error, got {other}"),
        Ok(_) => panic!("connected to nothing"),
    }
}

/// A TCP proxy in front of NATS whose connections the test can cut, as a network
/// failure or a server restart would.
struct CuttingProxy {
    addr: String,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl CuttingProxy {
    fn start(upstream: &'static str) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let open = Arc::new(Mutex::new(Vec::new()));
        let registry = open.clone();
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                let Ok(inbound) = inbound else { return };
                let outbound = TcpStream::connect(upstream).unwrap();
                let mut conns = registry.lock().unwrap();
                conns.push(inbound.try_clone().unwrap());
                conns.push(outbound.try_clone().unwrap());
                pipe(inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
                pipe(outbound, inbound);
            }
        });
        CuttingProxy { addr, open }
    }

    fn cut_all(&self) {
        for conn in self.open.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// Figures for the notes: `cargo test -p jetstream --release --test jetstream -- --ignored`.
#[test]
#[ignore = "measures; run on demand"]
fn throughput() {
    let Some(mut s) = TestStream::create(Retention::WorkQueue) else {
        return;
    };
    let n = 5000;
    let started = Instant::now();
    for i in 0..n {
        s.js.publish(&s.subject("x"), &format!("m{i}"), &[b'x'; 512])
            .unwrap();
    }
    let publish = started.elapsed();
    let mut c = s.consumer(&ConsumerConfig::new("bench"));
    let started = Instant::now();
    let mut got = 0;
    while got < n {
        for m in c.fetch(100, Duration::from_secs(1)).unwrap() {
            c.ack(&m).unwrap();
            got += 1;
        }
    }
    let consume = started.elapsed();
    eprintln!(
        "{n} messages of 512 bytes: publish with PubAck {:.0}/s, fetch+ack {:.0}/s",
        n as f64 / publish.as_secs_f64(),
        n as f64 / consume.as_secs_f64()
    );
}
