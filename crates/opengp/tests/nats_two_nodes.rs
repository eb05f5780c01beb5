//! Two `opengp serve --nats` processes on one PostgreSQL database and one NATS: a stream
//! of outbox messages to a local HTTP sink, one process killed with SIGKILL mid-stream.
//! Every message must reach the sink, none lost, and each be handled exactly once by
//! the de-duplicating consumer (one `outbox_inbox` row each).
//!
//! Needs OPENGP_TEST_POSTGRES (a database URL; the test makes a database of its own
//! beside it) and NATS with JetStream (OPENGP_TEST_NATS, default nats://127.0.0.1:4222);
//! skips with a note without them (CI starts both).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{RequestContext, Store, TxMode};

const MESSAGES: usize = 300;
const PRACTICE: &str = "A81001";

#[test]
fn two_nodes_one_killed_mid_stream_handle_each_message_once_and_lose_none() {
    let Some((pg_url, nats_url)) = services() else {
        return;
    };
    let database = ScratchDatabase::create(&pg_url);
    let store = store_postgres::PostgresStore::connect(&database.url).unwrap();
    outbox::schema::ensure(&store).unwrap();
    let namespace = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let sink = Sink::start(200);

    let node = |name: &str| Node::start(name, &database.url, &nats_url, &namespace, &sink.address);
    let booting = Instant::now();
    let mut a = node("a");
    let mut b = node("b");
    eprintln!("two nodes up in {:.1} s", booting.elapsed().as_secs_f64());

    // The stream: messages queued in small transactions while both nodes send.
    let mut ids = Vec::new();
    let started = Instant::now();
    let mut killed_at = None;
    for chunk in 0..MESSAGES / 10 {
        ids.extend(enqueue(&store, 10, chunk));
        std::thread::sleep(Duration::from_millis(20));
        if killed_at.is_none() && sink.distinct() >= MESSAGES / 4 {
            a.kill();
            killed_at = Some(sink.distinct());
        }
    }
    let killed_at = killed_at.unwrap_or_else(|| {
        a.kill();
        sink.distinct()
    });
    assert!(
        killed_at > 0 && killed_at < MESSAGES,
        "node a was killed mid-stream ({killed_at})"
    );

    let deadline = Instant::now() + Duration::from_secs(90);
    while count(&store, "SELECT COUNT(*) FROM outbox_inbox") < MESSAGES as i64
        || count(&store, "SELECT COUNT(*) FROM outbox WHERE state <> 'sent'") > 0
    {
        assert!(
            Instant::now() < deadline,
            "not all handled in time: {}",
            b.stderr_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let elapsed = started.elapsed();
    eprintln!(
        "all handled {:.1} s after the stream began",
        elapsed.as_secs_f64()
    );

    let got = sink.got.lock().unwrap().clone();
    let received: usize = got.values().sum();
    for id in &ids {
        assert!(got.contains_key(id), "message {id} never reached the sink");
    }
    assert_eq!(got.len(), MESSAGES, "the sink saw only the messages queued");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM outbox_inbox"),
        MESSAGES as i64
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(DISTINCT message_id) FROM outbox_inbox"
        ),
        MESSAGES as i64,
        "each message handled once"
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND outcome = 'HTTP 200'"
        ),
        MESSAGES as i64,
        "every row carries the sink's answer"
    );
    // A POST can repeat only if the killed node posted and died before its commit: one
    // message at most, and the sink de-duplicates it on the Idempotency-Key.
    assert!(
        received - MESSAGES <= 1,
        "{} repeated POSTs",
        received - MESSAGES
    );
    eprintln!(
        "{MESSAGES} messages over two nodes, node a killed after {killed_at} reached the sink; \
         all handled once in {:.1} s; {} repeated POST(s) at the sink",
        elapsed.as_secs_f64(),
        received - MESSAGES
    );
    b.kill();
    if let Ok(mut js) = jetstream::JetStream::connect(&nats_url) {
        let _ = js.delete_stream(&format!("OPENGP_OUTBOX_{}", namespace.to_uppercase()));
    }
}

/// A destination that refuses a message (HTTP 400) makes it a dead letter with its
/// reason, as the outbox worker would: the operator sees it in `opengp outbox status`.
#[test]
fn a_message_the_destination_refuses_becomes_a_dead_letter() {
    let Some((pg_url, nats_url)) = services() else {
        return;
    };
    let database = ScratchDatabase::create(&pg_url);
    let store = store_postgres::PostgresStore::connect(&database.url).unwrap();
    outbox::schema::ensure(&store).unwrap();
    let namespace = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let sink = Sink::start(400);
    let mut node = Node::start("a", &database.url, &nats_url, &namespace, &sink.address);
    let id = enqueue(&store, 1, 0).remove(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&store, "SELECT COUNT(*) FROM outbox WHERE state = 'dead'") == 0 {
        assert!(
            Instant::now() < deadline,
            "not given up: {}",
            node.stderr_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut tx = store
        .begin(&RequestContext::system(PRACTICE), TxMode::Read)
        .unwrap();
    let rows = tx
        .query(
            "SELECT id, last_error FROM outbox WHERE state = 'dead'",
            &[],
        )
        .unwrap();
    assert_eq!(rows[0][0].as_str(), Some(id.as_str()));
    assert_eq!(rows[0][1].as_str(), Some("refused with HTTP 400"));
    assert_eq!(
        sink.got.lock().unwrap().get(&id),
        Some(&1),
        "tried once, not again"
    );
    node.kill();
    if let Ok(mut js) = jetstream::JetStream::connect(&nats_url) {
        let _ = js.delete_stream(&format!("OPENGP_OUTBOX_{}", namespace.to_uppercase()));
    }
}

/// The PostgreSQL and NATS URLs, or None (with a note) when either is missing.
fn services() -> Option<(String, String)> {
    let Some(pg) = std::env::var("OPENGP_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: set OPENGP_TEST_POSTGRES=postgres://… (and run NATS) for this test");
        return None;
    };
    let nats = std::env::var("OPENGP_TEST_NATS").ok();
    let url = nats
        .clone()
        .unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    match jetstream::JetStream::connect(&url) {
        Ok(_) => Some((pg, url)),
        Err(e) if nats.is_some() => panic!("OPENGP_TEST_NATS is set but NATS is not usable: {e}"),
        Err(e) => {
            eprintln!("skipped: no NATS with JetStream at {url} ({e})");
            None
        }
    }
}

fn enqueue(store: &dyn Store, n: usize, chunk: usize) -> Vec<String> {
    let mut tx = store
        .begin(&RequestContext::system(PRACTICE), TxMode::Write)
        .unwrap();
    let ids = (0..n)
        .map(|i| {
            let message = outbox::NewMessage {
                practice: PRACTICE.into(),
                destination: "sink".into(),
                kind: "test.nats".into(),
                subject: None,
                payload: format!(r#"{{"n":{}}}"#, chunk * n + i),
            };
            outbox::enqueue(tx.as_mut(), &message).unwrap()
        })
        .collect();
    tx.commit().unwrap();
    ids
}

fn count(store: &dyn Store, sql: &str) -> i64 {
    let mut tx = store
        .begin(&RequestContext::system(PRACTICE), TxMode::Read)
        .unwrap();
    tx.query(sql, &[]).unwrap()[0][0].as_i64().unwrap()
}

/// One `opengp serve` process.
struct Node {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Node {
    fn start(name: &str, database: &str, nats: &str, namespace: &str, sink: &str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_opengp"))
            .args(["serve", "--database", database, "--listen", "127.0.0.1:0"])
            .args([
                "--nats",
                nats,
                "--nats-namespace",
                namespace,
                "--nats-ack-wait",
                "2",
            ])
            .args(["--outbox-lease", "3", "--outbox-backoff-cap", "1"])
            .arg("--outbox-webhook")
            .arg(format!("sink=http://{sink}/messages"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = stderr.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        // Ready when it says it is listening (the schema is made by then).
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while out.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("listening") {
            line.clear();
        }
        assert!(
            line.contains("listening"),
            "node {name} did not start: {}",
            stderr.lock().unwrap().join("\n")
        );
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Node { child, stderr }
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn stderr_tail(&self) -> String {
        let lines = self.stderr.lock().unwrap();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A database of its own next to OPENGP_TEST_POSTGRES's, dropped afterwards.
struct ScratchDatabase {
    admin: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    fn create(admin: &str) -> ScratchDatabase {
        let name = format!(
            "opengp_nats_{}_{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut client = postgres::Client::connect(admin, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, query) = match admin.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin, String::new()),
        };
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        ScratchDatabase {
            admin: admin.to_string(),
            url: format!("{server}/{name}{query}"),
            name,
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A local HTTP server counting each `Idempotency-Key`, a little slow as a real
/// service is, so the kill lands while messages are in flight.
struct Sink {
    address: String,
    got: Arc<Mutex<HashMap<String, usize>>>,
}

impl Sink {
    fn start(status: u16) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let got: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let record = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let record = record.clone();
                std::thread::spawn(move || {
                    let _ = answer(stream, &record, status);
                });
            }
        });
        Sink { address, got }
    }

    fn distinct(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

/// Reads requests on one connection (ureq keeps connections open) and answers 200.
fn answer(
    stream: TcpStream,
    record: &Mutex<HashMap<String, usize>>,
    status: u16,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let (mut key, mut length) = (String::new(), 0usize);
        let mut first = true;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let line = line.trim_end();
            if line.is_empty() && !first {
                break;
            }
            first = false;
            if let Some((name, value)) = line.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "idempotency-key" => key = value.trim().to_string(),
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        std::thread::sleep(Duration::from_millis(5));
        *record.lock().unwrap().entry(key).or_insert(0) += 1;
        let reply = format!("HTTP/1.1 {status} Answer\r\nContent-Length: 0\r\n\r\n");
        writer.write_all(reply.as_bytes())?;
    }
}
