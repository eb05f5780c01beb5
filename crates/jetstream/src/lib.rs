//! NATS JetStream as the outbox's transport between server processes.
//!
//! The database outbox stays the system of record: the relay marks a row sent only after
//! JetStream has acknowledged it, every message carries the outbox id as `Nats-Msg-Id`
//! (the stream drops repeats inside its duplicate window), and every consumer records
//! what it handled in the [`inbox`], because JetStream may still deliver a message twice
//! or, under faults, lose one it acknowledged.
//!
//! - [`Client`]: a blocking NATS connection that reconnects when it drops.
//! - [`JetStream`]: streams ([`StreamConfig`]) and publishing ([`PubAck`]).
//! - [`PullConsumer`]: a durable pull consumer with explicit acknowledgement.
//! - [`inbox`]: the de-duplicating consumer inbox table, on both store backends, and
//!   [`DedupConsumer`], which handles each pulled message at most once with it.

mod api;
mod client;
mod connection;
mod consumer;
mod dedup;
mod error;
pub mod inbox;
mod protocol;
mod stream;

pub use api::JetStream;
pub use client::{Client, ServerAddr};
pub use connection::ServerInfo;
pub use consumer::{ConsumerConfig, JsMessage, PullConsumer};
pub use dedup::{DedupConsumer, PollCounts, Verdict};
pub use error::Error;
pub use protocol::{Headers, Message};
pub use stream::{PubAck, Retention, StreamConfig, StreamState};
