//! `opengp serve --nats URL`: the outbox's messages cross server processes on NATS
//! JetStream.
//!
//! On every node the outbox worker is the relay: its only destination publishes each
//! claimed row to the stream (`Nats-Msg-Id` = the outbox id), and the row is marked
//! sent on the stream's acknowledgement. A consumer thread on every node pulls from one
//! durable consumer, delivers to the real destination (PDS, a webhook) and records the
//! message in `outbox_inbox` in the same transaction as the row's outcome, then
//! acknowledges: a message redelivered after a node died is acknowledged, not sent again.

use clinical::patients::update::pds_push::{self, PdsDestination};
use jetstream::{
    ConsumerConfig, DedupConsumer, JetStream, JsMessage, PullConsumer, StreamConfig, Verdict,
};
use outbox::{Delivery, Destination, Message, RetryPolicy, Worker, WorkerHandle};
use pds::Pds;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::RequestContext;
use store::Store;

/// The durable consumer every node pulls from.
const CONSUMER: &str = "opengp-outbox";

#[derive(clap::Args, Debug, Clone)]
pub struct NatsArgs {
    /// NATS with JetStream (nats://[user:password@]host:port) to carry outbox messages
    /// between the server processes sharing this database.
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// Keeps deployments (or test runs) that share one NATS apart: stream
    /// OPENGP_OUTBOX_<NS> on subjects opengp.outbox-<ns>.> instead of OPENGP_OUTBOX on
    /// opengp.outbox.>.
    #[arg(long, value_name = "NS", requires = "nats", value_parser = parse_namespace)]
    pub nats_namespace: Option<String>,
    /// An HTTP destination: messages for NAME are POSTed to URL with their id as the
    /// Idempotency-Key header (repeatable).
    #[arg(long, value_name = "NAME=URL", value_parser = parse_webhook)]
    pub outbox_webhook: Vec<(String, String)>,
    /// How long a node may hold a message from NATS unacknowledged before it goes to
    /// another node (a crashed node's messages move on after this).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub nats_ack_wait: u64,
}

fn parse_namespace(s: &str) -> Result<String, String> {
    let ok = !s.is_empty() && s.len() <= 32 && s.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| s.to_ascii_lowercase())
        .ok_or_else(|| "letters and digits only, at most 32".into())
}

fn parse_webhook(s: &str) -> Result<(String, String), String> {
    let (name, url) = s.split_once('=').ok_or("expected NAME=URL")?;
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !name_ok || !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(
            "expected NAME=URL with NAME of letters, digits and - and an http(s) URL".into(),
        );
    }
    Ok((name.to_string(), url.to_string()))
}

impl NatsArgs {
    fn stream(&self) -> StreamConfig {
        let mut config = StreamConfig::outbox();
        if let Some(ns) = &self.nats_namespace {
            config.name = format!("OPENGP_OUTBOX_{}", ns.to_ascii_uppercase());
            config.subjects = vec![format!("opengp.outbox-{ns}.>")];
        }
        config
    }

    fn subject_prefix(&self) -> String {
        match &self.nats_namespace {
            Some(ns) => format!("opengp.outbox-{ns}"),
            None => "opengp.outbox".into(),
        }
    }
}

/// The destinations this process delivers to itself, by name.
pub fn local_destinations(
    pds: Option<Arc<dyn Pds>>,
    webhooks: &[(String, String)],
) -> HashMap<String, Arc<dyn Destination>> {
    let mut routes: HashMap<String, Arc<dyn Destination>> = HashMap::new();
    if let Some(pds) = pds {
        routes.insert(
            pds_push::DESTINATION.into(),
            Arc::new(PdsDestination::new(pds)),
        );
    }
    for (name, url) in webhooks {
        routes.insert(name.clone(), Arc::new(Webhook::new(url)));
    }
    routes
}

/// The relay and the consumer of one node; both stop when this is dropped.
pub struct Running {
    _relay: WorkerHandle,
    stop: Arc<AtomicBool>,
    consumer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.consumer.take() {
            let _ = thread.join();
        }
    }
}

/// Connects to NATS (an error if it is not there: the operator asked for it), makes
/// sure of the stream and the durable consumer, and starts the relay and the consumer.
pub fn start(
    store: Arc<dyn Store>,
    worker: &crate::messages::WorkerArgs,
    nats: &NatsArgs,
    url: &str,
    destinations: HashMap<String, Arc<dyn Destination>>,
) -> Result<Running, String> {
    let nats_error = |e: jetstream::Error| format!("NATS at {}: {e}", redact(url));
    let mut js = JetStream::connect(url).map_err(nats_error)?;
    let stream = nats.stream();
    js.ensure_stream(&stream).map_err(nats_error)?;
    jetstream::inbox::create_table(store.as_ref()).map_err(|e| e.to_string())?;
    let consumer = PullConsumer::ensure(
        JetStream::connect(url).map_err(nats_error)?,
        &stream.name,
        &ConsumerConfig {
            ack_wait: Duration::from_secs(nats.nats_ack_wait),
            ..ConsumerConfig::new(CONSUMER)
        },
    )
    .map_err(nats_error)?;
    tracing::info!(server = %redact(url), stream = %stream.name, "outbox messages go through NATS JetStream");

    let config = worker.config();
    let retry = config.retry.clone();
    let relay = Relay {
        js: Mutex::new(js),
        prefix: nats.subject_prefix(),
    };
    let relay = Worker::new(store.clone(), config)
        .route_all(Arc::new(relay))
        .spawn();

    let stop = Arc::new(AtomicBool::new(false));
    let consuming = ConsumerLoop {
        consumer: DedupConsumer::new(consumer, "nats", RequestContext::system("outbox")),
        store,
        destinations,
        retry,
    };
    let flag = stop.clone();
    let consumer = std::thread::Builder::new()
        .name("outbox-nats-consumer".into())
        .spawn(move || consuming.run(&flag))
        .map_err(|e| e.to_string())?;
    Ok(Running {
        _relay: relay,
        stop,
        consumer: Some(consumer),
    })
}

/// The NATS URL without its password, for messages.
fn redact(url: &str) -> String {
    jetstream::ServerAddr::parse(url)
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "(the NATS URL)".into())
}

/// The outbox worker's one destination when NATS is on: publish, and count the row as
/// sent when the stream has it.
struct Relay {
    js: Mutex<JetStream>,
    prefix: String,
}

impl Destination for Relay {
    fn deliver(&self, message: &Message) -> Delivery {
        let name_ok = !message.destination.is_empty()
            && message
                .destination
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Delivery::Permanent("the destination's name cannot be a NATS subject".into());
        }
        let subject = format!("{}.{}", self.prefix, message.destination);
        let body = envelope(message).to_string();
        let mut js = self.js.lock().unwrap_or_else(|p| p.into_inner());
        match js.publish(&subject, &message.id, body.as_bytes()) {
            Ok(ack) => Delivery::Sent(format!("queued on NATS JetStream (stream seq {})", ack.seq)),
            Err(jetstream::Error::InvalidInput(why)) => Delivery::Permanent(why),
            Err(e) => Delivery::Retry(e.to_string()),
        }
    }
}

fn envelope(m: &Message) -> serde_json::Value {
    serde_json::json!({
        "id": m.id, "practice": m.practice, "destination": m.destination, "kind": m.kind,
        "subject": m.subject, "payload": m.payload, "attempts": m.attempts, "created": m.created,
    })
}

fn from_envelope(bytes: &[u8]) -> Option<Message> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let text = |k: &str| v[k].as_str().map(String::from);
    Some(Message {
        id: text("id")?,
        practice: text("practice")?,
        destination: text("destination")?,
        kind: text("kind")?,
        subject: text("subject"),
        payload: text("payload")?,
        attempts: v["attempts"].as_i64().unwrap_or(1),
        created: v["created"].as_i64().unwrap_or(0),
    })
}

struct ConsumerLoop {
    consumer: DedupConsumer,
    store: Arc<dyn Store>,
    destinations: HashMap<String, Arc<dyn Destination>>,
    retry: RetryPolicy,
}

impl ConsumerLoop {
    fn run(mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            let (destinations, retry) = (&self.destinations, &self.retry);
            let polled = self.consumer.poll(
                self.store.as_ref(),
                10,
                Duration::from_millis(500),
                |m, tx| handle(destinations, retry, m, tx),
            );
            if let Err(e) = polled {
                tracing::warn!(error = %e, "outbox consumer: will try again");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// Delivers one message; its outcome is written to its outbox row in the transaction
/// that records it in the inbox.
fn handle(
    destinations: &HashMap<String, Arc<dyn Destination>>,
    retry: &RetryPolicy,
    m: &JsMessage,
    tx: &mut dyn store::Transaction,
) -> Result<Verdict, jetstream::Error> {
    let Some(message) = from_envelope(&m.payload) else {
        return Ok(Verdict::Dead("not an outbox message".into()));
    };
    let later = retry.backoff(m.delivered as i64);
    let Some(destination) = destinations.get(&message.destination) else {
        // Another node may deliver to it; this one cannot.
        return Ok(Verdict::Retry(later));
    };
    let now = store::time::now_micros();
    match destination.deliver(&message) {
        Delivery::Sent(outcome) => {
            tx.execute(
                // The destination's answer is final, whichever of this and the relay's
                // own marking (only of a pending row) commits first.
                "UPDATE outbox SET state = 'sent', outcome = ?, done_at = ?, \
                 lease_owner = NULL, lease_until = NULL WHERE id = ?",
                &[outcome.into(), now.into(), message.id.as_str().into()],
            )?;
            Ok(Verdict::Handled)
        }
        Delivery::Retry(_) if (m.delivered as i64) < retry.max_attempts => {
            tracing::info!(message = %message.id, "outbox delivery will be tried again");
            Ok(Verdict::Retry(later))
        }
        Delivery::Retry(reason) => give_up(
            tx,
            &message.id,
            format!(
                "gave up after {} deliveries; last failure: {reason}",
                m.delivered
            ),
        ),
        Delivery::Permanent(reason) => give_up(tx, &message.id, reason),
    }
}

/// The message becomes a dead letter with its reason, as the outbox worker makes one.
fn give_up(
    tx: &mut dyn store::Transaction,
    id: &str,
    reason: String,
) -> Result<Verdict, jetstream::Error> {
    tx.execute(
        "UPDATE outbox SET state = 'dead', last_error = ?, done_at = ?, \
         lease_owner = NULL, lease_until = NULL WHERE id = ?",
        &[
            reason.as_str().into(),
            store::time::now_micros().into(),
            id.into(),
        ],
    )?;
    Ok(Verdict::Dead(reason))
}

/// POSTs a message's payload to a URL with its id as the Idempotency-Key.
struct Webhook {
    url: String,
    agent: ureq::Agent,
}

impl Webhook {
    fn new(url: &str) -> Webhook {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Webhook {
            url: url.to_string(),
            agent: config.into(),
        }
    }
}

impl Destination for Webhook {
    fn deliver(&self, message: &Message) -> Delivery {
        let sent = self
            .agent
            .post(&self.url)
            .header("Idempotency-Key", &message.id)
            .header("Content-Type", "application/json")
            .send(message.payload.as_str());
        match sent {
            Ok(response) => Delivery::Sent(format!("HTTP {}", response.status().as_u16())),
            Err(ureq::Error::StatusCode(code))
                if (400..500).contains(&code) && code != 408 && code != 429 =>
            {
                Delivery::Permanent(format!("refused with HTTP {code}"))
            }
            Err(ureq::Error::StatusCode(code)) => Delivery::Retry(format!("HTTP {code}")),
            Err(_) => Delivery::Retry("the webhook could not be reached".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_crosses_nats_unchanged() {
        let message = Message {
            id: "0193a-1".into(),
            practice: "A81001".into(),
            destination: "pds".into(),
            kind: "pds.update-contact".into(),
            subject: Some("Patient/1".into()),
            payload: r#"{"patch":[]}"#.into(),
            attempts: 2,
            created: 1_700_000_000_000_000,
        };
        let bytes = envelope(&message).to_string();
        assert_eq!(from_envelope(bytes.as_bytes()), Some(message));
        assert_eq!(
            from_envelope(b"{\"id\":\"x\"}"),
            None,
            "an incomplete envelope"
        );
        assert_eq!(from_envelope(b"not json"), None);
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(parse_namespace("CI42"), Ok("ci42".into()));
        assert!(parse_namespace("a.b").is_err() && parse_namespace("").is_err());
        assert_eq!(
            parse_webhook("sink=http://127.0.0.1:9/m"),
            Ok(("sink".into(), "http://127.0.0.1:9/m".into()))
        );
        assert!(parse_webhook("sink").is_err());
        assert!(
            parse_webhook("a.b=http://x").is_err(),
            "a name is a subject token"
        );
        assert!(parse_webhook("sink=ftp://x").is_err());
        let args = NatsArgs {
            nats: Some("nats://127.0.0.1:4222".into()),
            nats_namespace: Some("ci42".into()),
            outbox_webhook: vec![],
            nats_ack_wait: 30,
        };
        assert_eq!(args.stream().name, "OPENGP_OUTBOX_CI42");
        assert_eq!(
            args.stream().subjects,
            vec!["opengp.outbox-ci42.>".to_string()]
        );
        assert_eq!(args.subject_prefix(), "opengp.outbox-ci42");
        assert_eq!(redact("nats://relay:s3cret@nats:4222"), "nats://nats:4222");
    }
}
