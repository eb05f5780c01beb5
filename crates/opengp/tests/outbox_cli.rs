//! `opengp outbox status` and `opengp outbox retry` on a database with a backlog: the
//! operator sees counts, ages and dead letters' reasons, never a message's content.

use std::process::Command;
use store::{RequestContext, Store, TxMode};

const OPENGP: &str = env!("CARGO_BIN_EXE_opengp");
const PAYLOAD: &str = r#"{"nhs_number":"9434765919","details":{"postcode":"LS6 2AA"}}"#;

struct Refuses;
impl outbox::Destination for Refuses {
    fn deliver(&self, _: &outbox::Message) -> outbox::Delivery {
        outbox::Delivery::Permanent("PDS has no patient with this NHS number".into())
    }
}

fn opengp(args: &[&str]) -> (bool, String) {
    let out = Command::new(OPENGP).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn status_shows_the_backlog_and_retry_sends_a_dead_letter_back() {
    let path = std::env::temp_dir().join(format!("opengp-outbox-cli-{}.db", std::process::id()));
    let url = format!("sqlite:{}", path.display());
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(store_sqlite::SqliteStore::open(&path).unwrap());
    outbox::schema::ensure(store.as_ref()).unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut tx = store
            .begin(&RequestContext::system("A81001"), TxMode::Write)
            .unwrap();
        let message = outbox::NewMessage {
            practice: "A81001".into(),
            destination: "pds".into(),
            kind: "pds.update-contact".into(),
            subject: Some("Patient/p1".into()),
            payload: PAYLOAD.into(),
        };
        ids.push(outbox::enqueue(tx.as_mut(), &message).unwrap());
        tx.commit().unwrap();
    }
    let config = outbox::WorkerConfig {
        batch: 1,
        ..outbox::WorkerConfig::default()
    };
    outbox::Worker::new(store.clone(), config)
        .route("pds", std::sync::Arc::new(Refuses))
        .run_once()
        .unwrap();

    let (ok, text) = opengp(&["outbox", "status", "--database", &url]);
    assert!(ok, "{text}");
    let line = text.lines().find(|l| l.starts_with("pds ")).expect(&text);
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[1], "2", "pending: {line}");
    assert_eq!((cells[4], cells[5]), ("0", "1"), "sent, dead: {line}");
    assert!(text.contains(&format!("{}  pds.update-contact", ids[0])));
    assert!(text.contains("after 1 attempts: PDS has no patient with this NHS number"));
    assert!(
        !text.contains("9434765919") && !text.contains("LS6"),
        "no content: {text}"
    );

    let (ok, text) = opengp(&["outbox", "retry", &ids[0], "--database", &url]);
    assert!(ok && text.contains("queued again"), "{text}");
    let (ok, text) = opengp(&["outbox", "retry", &ids[0], "--database", &url]);
    assert!(!ok && text.contains("no failed (dead) message"), "{text}");
    let (_, text) = opengp(&["outbox", "status", "--database", &url]);
    let line = text.lines().find(|l| l.starts_with("pds ")).expect(&text);
    assert_eq!(line.split_whitespace().nth(1), Some("3"), "{line}");
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
