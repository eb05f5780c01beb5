//! The worker: claims due messages with a lease, delivers them, records the answer.
//!
//! A claim takes up to `batch` due messages and leases them to this worker until
//! `lease_until` (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so workers in several processes
//! take different rows; SQLite: the single writer serialises claims). A worker that dies
//! mid-send simply lets its lease expire: the message is claimed again and sent again
//! with the same id. Each claim counts as an attempt, so a message that kills its worker
//! every time still reaches its maximum and goes to `dead`.

use crate::queue::Message;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use store::{Dialect, Row, SqlValue, Store, StoreError, TxMode};

/// What a destination answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Acknowledged; what it answered, for the screen (no patient data).
    Sent(String),
    /// Not now (unreachable, busy, a conflict to fetch again): try again later.
    Retry(String),
    /// Can never succeed as it is (refused as invalid, no such patient).
    Permanent(String),
}

/// The one "send" step. A destination must treat `message.id` as an idempotency key:
/// it may be given the same message more than once. A transport (e.g. NATS JetStream,
/// publishing with the id as its de-duplication id) is a `Destination` too, registered
/// with [`Worker::route_all`]. Reasons and outcomes are shown on screens and logged:
/// they must not hold patient data.
pub trait Destination: Send + Sync {
    fn deliver(&self, message: &Message) -> Delivery;
}

/// When to try again and when to give up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The wait after the first failure; it doubles after each further one...
    pub base: Duration,
    /// ...up to this (30 s by default).
    pub cap: Duration,
    /// Give up after this many attempts.
    pub max_attempts: i64,
    /// Give up on a message older than this (counted from its last manual retry).
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            max_attempts: 100,
            max_age: Duration::from_secs(72 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`: `base * 2^(attempts-1)`, capped, with
    /// "equal jitter" (a random point in the upper half), so workers that failed
    /// together do not all come back at the same moment.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        let full = self.base.saturating_mul(1u32 << doublings).min(self.cap);
        let half = full / 2;
        half + half.mul_f64(random_fraction())
    }
}

/// A random number in [0, 1), from the OS's randomness (a v4 UUID is 122 random bits).
fn random_fraction() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this worker in leases and logs.
    pub owner: String,
    /// How long a claim is kept before another worker may take the message.
    pub lease: Duration,
    /// Messages claimed at once.
    pub batch: i64,
    /// The wait between looks at an empty queue.
    pub idle: Duration,
    pub retry: RetryPolicy,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            lease: Duration::from_secs(60),
            batch: 10,
            idle: Duration::from_millis(250),
            retry: RetryPolicy::default(),
        }
    }
}

pub struct Worker {
    store: Arc<dyn Store>,
    config: WorkerConfig,
    routes: HashMap<String, Arc<dyn Destination>>,
    /// Receives every message, whatever its destination (a transport).
    all: Option<Arc<dyn Destination>>,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, config: WorkerConfig) -> Worker {
        Worker {
            store,
            config,
            routes: HashMap::new(),
            all: None,
        }
    }

    /// Delivers messages for `destination` (e.g. `pds`) through `to`. Messages for
    /// destinations this worker has no route for are left for another worker.
    pub fn route(mut self, destination: &str, to: Arc<dyn Destination>) -> Worker {
        self.routes.insert(destination.to_string(), to);
        self
    }

    /// Delivers every message through `to` (a transport that fans out itself).
    pub fn route_all(mut self, to: Arc<dyn Destination>) -> Worker {
        self.all = Some(to);
        self
    }

    /// Claims one batch and delivers it; returns how many messages it claimed.
    pub fn run_once(&self) -> Result<usize, StoreError> {
        let claimed_at = std::time::Instant::now();
        let claimed = self.claim()?;
        // Past this, another worker may take the rest: they are handed back instead.
        let deadline = self.config.lease.mul_f64(0.8);
        for (i, message) in claimed.iter().enumerate() {
            if claimed_at.elapsed() >= deadline {
                self.release(&claimed[i..])?;
                break;
            }
            let delivery = match self.destination_of(message) {
                Some(to) => to.deliver(message),
                None => continue,
            };
            self.record(message, delivery)?;
        }
        Ok(claimed.len())
    }

    /// Hands back claimed messages this worker did not get to, uncounted.
    fn release(&self, messages: &[Message]) -> Result<(), StoreError> {
        let ctx = store::RequestContext::system("outbox");
        let mut tx = self.store.begin(&ctx, TxMode::Write)?;
        for m in messages {
            tx.execute(
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL, \
                 attempts = attempts - 1 WHERE id = ? AND state = 'pending' AND lease_owner = ?",
                &[m.id.as_str().into(), self.config.owner.as_str().into()],
            )?;
        }
        tx.commit()
    }

    /// Runs until `stop` is set, sleeping `idle` whenever the queue is empty.
    /// A destination that panics does not stop the worker: the message it was sending
    /// is claimed again when its lease expires, and counts as an attempt.
    pub fn run(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            let once = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_once()));
            match once {
                Ok(Ok(0)) => std::thread::sleep(self.config.idle),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the outbox worker could not reach the database");
                    std::thread::sleep(self.config.idle.max(Duration::from_secs(1)));
                }
                Err(_) => {
                    tracing::error!(
                        "an outbox destination panicked; the message will be tried again"
                    );
                    std::thread::sleep(self.config.idle.max(Duration::from_secs(1)));
                }
            }
        }
    }

    /// Runs on a thread of its own until the handle is stopped or dropped.
    pub fn spawn(self) -> WorkerHandle {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("outbox-worker".into())
            .spawn(move || self.run(&flag))
            .expect("starting the outbox worker thread");
        WorkerHandle {
            stop,
            thread: Some(thread),
        }
    }

    fn destination_of(&self, message: &Message) -> Option<&Arc<dyn Destination>> {
        self.all
            .as_ref()
            .or_else(|| self.routes.get(&message.destination))
    }

    /// Leases up to `batch` due messages to this worker, counting an attempt for each.
    fn claim(&self) -> Result<Vec<Message>, StoreError> {
        let ctx = store::RequestContext::system("outbox");
        let mut tx = self.store.begin(&ctx, TxMode::Write)?;
        let now = store::time::now_micros();
        // A message whose worker died mid-send on its last allowed attempt.
        tx.execute(
            "UPDATE outbox SET state = 'dead', done_at = ?, lease_owner = NULL, \
             lease_until = NULL, last_error = 'gave up after ' || attempts || \
             ' attempts that never finished (the worker stopped while sending)' \
             WHERE state = 'pending' AND attempts >= ? AND lease_until <= ?",
            &[
                now.into(),
                self.config.retry.max_attempts.into(),
                now.into(),
            ],
        )?;
        let mut sql = "SELECT seq, id, practice, destination, kind, subject, payload, attempts, \
                       COALESCE(retried, created) FROM outbox WHERE state = 'pending' AND next_attempt <= ? \
                       AND (lease_until IS NULL OR lease_until <= ?)"
            .to_string();
        let mut params: Vec<SqlValue> = vec![now.into(), now.into()];
        if self.all.is_none() {
            if self.routes.is_empty() {
                return Ok(Vec::new());
            }
            let marks = vec!["?"; self.routes.len()].join(", ");
            sql.push_str(&format!(" AND destination IN ({marks})"));
            params.extend(self.routes.keys().map(|d| SqlValue::from(d.as_str())));
        }
        sql.push_str(" ORDER BY seq LIMIT ?");
        params.push(self.config.batch.into());
        if self.store.dialect() == Dialect::Postgres {
            sql.push_str(" FOR UPDATE SKIP LOCKED");
        }
        let rows = tx.query(&sql, &params)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let lease_until = now + self.config.lease.as_micros() as i64;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let (seq, mut message) = message_of(row);
            tx.execute(
                "UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 \
                 WHERE seq = ?",
                &[
                    self.config.owner.as_str().into(),
                    lease_until.into(),
                    seq.into(),
                ],
            )?;
            message.attempts += 1;
            claimed.push(message);
        }
        tx.commit()?;
        Ok(claimed)
    }

    /// Records what the destination answered. Only a pending message changes: one a
    /// slower twin already marked keeps its first answer.
    fn record(&self, message: &Message, delivery: Delivery) -> Result<(), StoreError> {
        let ctx = store::RequestContext::system(message.practice.as_str());
        let now = store::time::now_micros();
        let (sql, params): (&str, Vec<SqlValue>) = match &delivery {
            Delivery::Sent(outcome) => (
                "UPDATE outbox SET state = 'sent', outcome = ?, done_at = ?, lease_owner = NULL, \
                 lease_until = NULL WHERE id = ? AND state = 'pending'",
                vec![
                    outcome.as_str().into(),
                    now.into(),
                    message.id.as_str().into(),
                ],
            ),
            Delivery::Permanent(reason) => dead(reason.clone(), now, &message.id),
            Delivery::Retry(reason) => match self.give_up(message, now) {
                Some(why) => dead(format!("{why}; last failure: {reason}"), now, &message.id),
                None => {
                    let wait = self.config.retry.backoff(message.attempts);
                    (
                        "UPDATE outbox SET last_error = ?, next_attempt = ?, lease_owner = NULL, \
                         lease_until = NULL WHERE id = ? AND state = 'pending'",
                        vec![
                            reason.as_str().into(),
                            (now + wait.as_micros() as i64).into(),
                            message.id.as_str().into(),
                        ],
                    )
                }
            },
        };
        let mut tx = self.store.begin(&ctx, TxMode::Write)?;
        tx.execute(sql, &params)?;
        tx.commit()?;
        match &delivery {
            Delivery::Sent(_) => {
                tracing::debug!(message = %message.id, kind = %message.kind, "outbox message sent")
            }
            // The reason is a remote service's words, which may echo patient details: it
            // is kept on the row for the admin page and the CLI, never logged.
            Delivery::Retry(_) => tracing::info!(message = %message.id, kind = %message.kind,
                attempts = message.attempts, "outbox message not delivered; will retry"),
            Delivery::Permanent(_) => tracing::warn!(message = %message.id,
                kind = %message.kind, "outbox message can never be delivered"),
        }
        Ok(())
    }

    /// Why a failing message should be given up now, if it should.
    fn give_up(&self, message: &Message, now: i64) -> Option<String> {
        let policy = &self.config.retry;
        if message.attempts >= policy.max_attempts {
            return Some(format!("gave up after {} attempts", message.attempts));
        }
        let age = Duration::from_micros(now.saturating_sub(message.created).max(0) as u64);
        (age > policy.max_age).then(|| {
            format!(
                "gave up after {} attempts over {} hours",
                message.attempts,
                age.as_secs() / 3600
            )
        })
    }
}

fn dead(reason: String, now: i64, id: &str) -> (&'static str, Vec<SqlValue>) {
    (
        "UPDATE outbox SET state = 'dead', last_error = ?, done_at = ?, lease_owner = NULL, \
         lease_until = NULL WHERE id = ? AND state = 'pending'",
        vec![reason.into(), now.into(), id.into()],
    )
}

fn message_of(row: Row) -> (i64, Message) {
    let mut it = row.into_iter();
    let seq = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
    let mut next_text = || it.next().and_then(SqlValue::into_string);
    let id = next_text().unwrap_or_default();
    let practice = next_text().unwrap_or_default();
    let destination = next_text().unwrap_or_default();
    let kind = next_text().unwrap_or_default();
    let subject = next_text();
    let payload = next_text().unwrap_or_default();
    let attempts = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
    let created = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
    (
        seq,
        Message {
            id,
            practice,
            destination,
            kind,
            subject,
            payload,
            attempts,
            created,
        },
    )
}

/// A worker running on its own thread; stops it (and waits) when dropped.
pub struct WorkerHandle {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WorkerHandle {
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.halt();
    }
}
