//! The outbox survives `kill -9`: a worker process delivering to a local HTTP sink is
//! killed at random moments while it sends, and restarted each time; afterwards every
//! message has reached the sink (duplicates are allowed: delivery is at least once, and
//! the sink de-duplicates on the idempotency key) and every row is `sent`.
//!
//! The worker process is this test binary run again with `--ignored worker_process`
//! and the database and sink in its environment.

use outbox::{Delivery, Destination, Message, NewMessage, RetryPolicy, Worker, WorkerConfig};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{RequestContext, Store, TxMode};

const MESSAGES: usize = 500;
const KILLS: usize = 10;
const PRACTICE: &str = "A81001";

#[test]
fn sqlite_worker_killed_ten_times_loses_nothing() {
    let path = std::env::temp_dir().join(format!(
        "opengp-outbox-kill-{}-{}.db",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let store: Arc<dyn Store> = Arc::new(store_sqlite::SqliteStore::open(&path).unwrap());
    kill_loop(store, &[("OUTBOX_KILL_SQLITE", path.display().to_string())]);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[test]
fn postgres_worker_killed_ten_times_loses_nothing() {
    let Ok(url) = std::env::var("OPENGP_TEST_POSTGRES") else {
        eprintln!("skipped: OPENGP_TEST_POSTGRES is not set");
        return;
    };
    let scratch = store_postgres::ScratchStore::create(&url).unwrap();
    let schema = scratch.schema().to_string();
    kill_loop(
        Arc::new(scratch),
        &[
            ("OUTBOX_KILL_POSTGRES", url),
            ("OUTBOX_KILL_SCHEMA", schema),
        ],
    );
}

fn kill_loop(store: Arc<dyn Store>, env: &[(&str, String)]) {
    let started = Instant::now();
    outbox::schema::ensure(store.as_ref()).unwrap();
    let mut payloads = HashMap::new();
    let ctx = RequestContext::system(PRACTICE);
    let mut tx = store.begin(&ctx, TxMode::Write).unwrap();
    for n in 0..MESSAGES {
        let payload = format!(r#"{{"n":{n}}}"#);
        let message = NewMessage {
            practice: PRACTICE.into(),
            destination: "sink".into(),
            kind: "test.kill".into(),
            subject: None,
            payload: payload.clone(),
        };
        payloads.insert(outbox::enqueue(tx.as_mut(), &message).unwrap(), payload);
    }
    tx.commit().unwrap();

    let sink = Sink::start();
    let spawn = || -> Child {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--ignored", "--exact", "worker_process", "--nocapture"])
            .env("OUTBOX_KILL_SINK", &sink.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().expect("starting the worker process")
    };
    let mut killed_while_sending = 0;
    for _ in 0..KILLS {
        let mut child = spawn();
        let before = sink.received();
        // A random moment, once it has started sending.
        let wait_start = Instant::now();
        while sink.received() == before && wait_start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(random_below(120)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if sink.received() > before && (sink.distinct() < MESSAGES) {
            killed_while_sending += 1;
        }
    }
    let mut last = spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while pending(store.as_ref()) > 0 {
        assert!(Instant::now() < deadline, "the worker never finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    last.kill().unwrap();
    last.wait().unwrap();

    let got = sink.got.lock().unwrap();
    let lost: Vec<&String> = payloads
        .keys()
        .filter(|id| !got.contains_key(*id))
        .collect();
    assert!(lost.is_empty(), "{} messages lost", lost.len());
    for (id, (bodies, _)) in got.iter() {
        assert_eq!(
            bodies, &payloads[id],
            "the payload sent under {id} is its own"
        );
    }
    assert_eq!(
        got.len(),
        MESSAGES,
        "the de-duplicated count is the number sent"
    );
    let deliveries: usize = got.values().map(|(_, n)| n).sum();
    let status = outbox::status(store.as_ref(), None).unwrap();
    assert_eq!(
        (status[0].sent, status[0].pending, status[0].dead),
        (MESSAGES as i64, 0, 0),
        "every row is sent"
    );
    assert!(
        killed_while_sending >= KILLS / 2,
        "most kills came mid-stream"
    );
    eprintln!(
        "{} ({}): {MESSAGES} messages, {KILLS} kills ({killed_while_sending} mid-stream), \
         0 lost, {} duplicates, {:.1} s",
        store.describe().split(' ').next().unwrap_or_default(),
        env[0].0,
        deliveries - MESSAGES,
        started.elapsed().as_secs_f64()
    );
}

fn pending(store: &dyn Store) -> i64 {
    let mut tx = store
        .begin(&RequestContext::system(PRACTICE), TxMode::Read)
        .unwrap();
    tx.query("SELECT COUNT(*) FROM outbox WHERE state <> 'sent'", &[])
        .unwrap()[0][0]
        .as_i64()
        .unwrap()
}

fn random_below(n: u64) -> u64 {
    (uuid::Uuid::new_v4().as_u128() % n as u128) as u64
}

/// A local HTTP server that records each `Idempotency-Key` with its body and how many
/// times it came.
struct Sink {
    address: String,
    got: Arc<Mutex<HashMap<String, (String, usize)>>>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let got: Arc<Mutex<HashMap<String, (String, usize)>>> = Arc::default();
        let record = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let record = record.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &record);
                });
            }
        });
        Sink { address, got }
    }
    fn received(&self) -> usize {
        self.got.lock().unwrap().values().map(|(_, n)| n).sum()
    }
    fn distinct(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

fn serve(
    stream: TcpStream,
    record: &Mutex<HashMap<String, (String, usize)>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let (mut key, mut length) = (String::new(), 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
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
    // As a real service: a little work before the answer, so kills land mid-send.
    std::thread::sleep(Duration::from_millis(2));
    {
        let mut got = record.lock().unwrap();
        let entry = got
            .entry(key)
            .or_insert_with(|| (String::from_utf8_lossy(&body).into_owned(), 0));
        entry.1 += 1;
    }
    let mut stream = stream;
    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

/// Posts each message to the sink with its id as the `Idempotency-Key`.
struct HttpSink(String);

impl Destination for HttpSink {
    fn deliver(&self, message: &Message) -> Delivery {
        let post = || -> std::io::Result<String> {
            let mut stream = TcpStream::connect(&self.0)?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            write!(
                stream,
                "POST /messages HTTP/1.1\r\nHost: {}\r\nIdempotency-Key: {}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                self.0,
                message.id,
                message.payload.len(),
                message.payload
            )?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        };
        match post() {
            Ok(answer) if answer.starts_with("HTTP/1.1 200") => Delivery::Sent("HTTP 200".into()),
            Ok(answer) => Delivery::Retry(answer.lines().next().unwrap_or_default().to_string()),
            Err(e) => Delivery::Retry(e.to_string()),
        }
    }
}

/// The worker process (run by the tests above, never on its own).
#[test]
#[ignore = "the worker process of the kill -9 tests"]
fn worker_process() {
    let Ok(sink) = std::env::var("OUTBOX_KILL_SINK") else {
        return;
    };
    let store: Arc<dyn Store> = if let Ok(path) = std::env::var("OUTBOX_KILL_SQLITE") {
        Arc::new(store_sqlite::SqliteStore::open(path).unwrap())
    } else {
        let url = std::env::var("OUTBOX_KILL_POSTGRES").unwrap();
        let schema = std::env::var("OUTBOX_KILL_SCHEMA").unwrap();
        Arc::new(store_postgres::PostgresStore::connect_in_schema(&url, &schema).unwrap())
    };
    let config = WorkerConfig {
        // Short, so the next process takes over a dead one's messages quickly.
        lease: Duration::from_millis(500),
        batch: 5,
        idle: Duration::from_millis(20),
        retry: RetryPolicy {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            ..RetryPolicy::default()
        },
        ..WorkerConfig::default()
    };
    let worker = Worker::new(store, config).route("sink", Arc::new(HttpSink(sink)));
    worker.run(&std::sync::atomic::AtomicBool::new(false));
}
