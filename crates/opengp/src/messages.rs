//! `opengp outbox`: the operator's view of the outbox (`status`), sending a dead letter
//! back to the queue (`retry`), and a worker on its own (`work`, hidden: `serve` runs
//! one by default). Also how `serve` starts its worker.

use crate::database;
use outbox::{Destination, RetryPolicy, Worker, WorkerConfig, WorkerHandle};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use store::Store;

#[derive(clap::Subcommand)]
pub enum OutboxCommand {
    /// Per destination: messages waiting, the age of the oldest, sent, and the failed
    /// (dead) ones with their reasons. Counts and reasons only, never a message's content.
    Status {
        #[arg(long, value_name = "URL")]
        database: String,
    },
    /// Send a failed (dead) message back to the queue, once its cause is fixed.
    Retry {
        /// The message id, as `status` prints it.
        id: String,
        #[arg(long, value_name = "URL")]
        database: String,
    },
    /// Run an outbox worker without the web server (serve runs one already).
    #[command(hide = true)]
    Work {
        #[arg(long, value_name = "URL")]
        database: String,
        #[command(flatten)]
        worker: WorkerArgs,
        /// Base URL of the PDS FHIR API (its token is read from OPENGP_PDS_TOKEN).
        #[arg(long, value_name = "URL")]
        pds_url: Option<String>,
    },
}

/// How the outbox worker retries (for `serve` and `outbox work`).
#[derive(clap::Args, Debug, Clone)]
pub struct WorkerArgs {
    /// The longest wait between two attempts to send a message, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub outbox_backoff_cap: u64,
    /// Give a message up (dead letter) after this many attempts.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..))]
    pub outbox_max_attempts: i64,
    /// Give a message up when it is older than this many hours.
    #[arg(long, value_name = "HOURS", default_value_t = 72, value_parser = clap::value_parser!(u64).range(1..))]
    pub outbox_max_age_hours: u64,
    /// How long a worker holds the messages it claimed before another process may take
    /// them (a crashed process's messages move on after this).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub outbox_lease: u64,
}

impl WorkerArgs {
    pub(crate) fn config(&self) -> WorkerConfig {
        WorkerConfig {
            retry: RetryPolicy {
                cap: Duration::from_secs(self.outbox_backoff_cap),
                max_attempts: self.outbox_max_attempts,
                max_age: Duration::from_secs(self.outbox_max_age_hours * 3600),
                ..RetryPolicy::default()
            },
            lease: Duration::from_secs(self.outbox_lease),
            ..WorkerConfig::default()
        }
    }
}

/// The worker `serve` runs: it delivers to every destination this server can reach
/// (PDS when it is set up). Messages for others wait, counted by `status`.
pub fn start_worker(
    store: Arc<dyn Store>,
    args: &WorkerArgs,
    destinations: HashMap<String, Arc<dyn Destination>>,
) -> WorkerHandle {
    let mut worker = Worker::new(store, args.config());
    for (name, destination) in destinations {
        worker = worker.route(&name, destination);
    }
    worker.spawn()
}

pub fn run(command: OutboxCommand) -> Result<(), String> {
    match command {
        OutboxCommand::Status { database: url } => {
            let store = database::open(&url)?;
            let status = outbox::status(store.as_ref(), None).map_err(|e| e.to_string())?;
            print!("{}", status_text(&status));
            Ok(())
        }
        OutboxCommand::Retry { id, database: url } => {
            let store = database::open(&url)?;
            if outbox::retry(store.as_ref(), None, &id).map_err(|e| e.to_string())? {
                println!("message {id} is queued again");
                Ok(())
            } else {
                Err(format!("no failed (dead) message has the id {id}"))
            }
        }
        OutboxCommand::Work {
            database: url,
            worker,
            pds_url,
        } => {
            let store = database::open(&url)?;
            let pds = pds_url.as_deref().map(crate::national::pds_client);
            let destinations = crate::transport::local_destinations(pds, &[]);
            let _running = start_worker(store, &worker, destinations);
            println!("the outbox worker is running (Ctrl-C stops it)");
            loop {
                std::thread::park();
            }
        }
    }
}

/// The operator's table: one line per destination, then its latest dead letters.
pub fn status_text(status: &[outbox::DestinationStatus]) -> String {
    if status.is_empty() {
        return "the outbox is empty: no message has been queued\n".into();
    }
    let mut out = format!(
        "{:<12} {:>8} {:>14} {:>8} {:>6}\n",
        "destination", "pending", "oldest", "sent", "dead"
    );
    for d in status {
        let oldest = d
            .oldest_pending_secs
            .map(|s| format!("{s} s"))
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{:<12} {:>8} {:>14} {:>8} {:>6}\n",
            d.destination, d.pending, oldest, d.sent, d.dead
        ));
    }
    for d in status.iter().filter(|d| !d.latest_dead.is_empty()) {
        out.push_str(&format!("\nlatest dead letters for {}:\n", d.destination));
        for m in &d.latest_dead {
            out.push_str(&format!(
                "  {}  {}  {}  after {} attempts: {}\n",
                m.id,
                m.kind,
                store::time::format_instant(m.at),
                m.attempts,
                m.reason
            ));
        }
    }
    out
}
