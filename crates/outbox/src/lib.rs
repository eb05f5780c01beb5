//! The durable outbox: how every message leaves OpenGP (PDS updates now; EPS
//! prescriptions, reminders and GP2GP later).
//!
//! - [`enqueue`] writes a message in the caller's transaction, so it commits (or not)
//!   together with the clinical change that causes it;
//! - [`Worker`] claims due messages with a lease, hands each to its [`Destination`]
//!   (the one "send" step: a transport such as NATS JetStream plugs in there), marks it
//!   sent after the acknowledgement, retries with capped exponential backoff, and moves
//!   a message that can never succeed to `dead` with its reason;
//! - [`status`] and [`retry`] are what the operator sees and does.
//!
//! Delivery is at least once: a worker killed between sending and marking sends again,
//! with the same message id, which destinations use as the idempotency key.
//! Payloads may hold patient data and are never logged.

mod queue;
pub mod schema;
mod status;
mod worker;

pub use queue::{Message, MessageState, NewMessage, Summary, enqueue, for_subject, retry};
pub use status::{DeadLetter, DestinationStatus, status};
pub use worker::{Delivery, Destination, RetryPolicy, Worker, WorkerConfig, WorkerHandle};

/// The table's name, for the few callers that join to it.
pub const TABLE: &str = "outbox";
