//! The de-duplicating consumer: pulls from a durable consumer and hands each message to
//! a handler at most once per database, acknowledging repeats without handling them.
//!
//! For each message, one transaction: record the id in the inbox; if it is new, run the
//! handler in the same transaction; then commit and acknowledge. If the node dies at
//! any point before the commit, nothing is kept and JetStream delivers the message again
//! after the ack wait; if it dies after the commit but before the acknowledgement, the
//! redelivery finds the inbox row and is only acknowledged.

use crate::Error;
use crate::consumer::{JsMessage, PullConsumer};
use crate::inbox::{self, Delivery};
use access::RequestContext;
use db::{Store, Transaction, TxMode};
use std::time::Duration;

/// What the handler made of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Handled: commit (with the inbox row) and acknowledge.
    Handled,
    /// Can never succeed: commit what the handler wrote (its dead letter, with the
    /// reason) and tell JetStream never to deliver it again.
    Dead(String),
    /// May succeed later: keep nothing and have it delivered again after the delay.
    Retry(Duration),
}

/// What one poll did, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollCounts {
    pub handled: usize,
    /// Deliveries of messages already handled: acknowledged only.
    pub repeats: usize,
    pub dead: usize,
    pub retried: usize,
}

pub struct DedupConsumer {
    consumer: PullConsumer,
    /// Recorded with each inbox row: which destination handled it.
    destination: String,
    ctx: RequestContext,
}

impl DedupConsumer {
    pub fn new(consumer: PullConsumer, destination: &str, ctx: RequestContext) -> DedupConsumer {
        DedupConsumer {
            consumer,
            destination: destination.to_string(),
            ctx,
        }
    }

    pub fn consumer(&mut self) -> &mut PullConsumer {
        &mut self.consumer
    }

    /// Pulls up to `batch` messages (waiting up to `wait` for the first) and handles
    /// each. A database or broker error stops the batch: what was not acknowledged is
    /// delivered again.
    pub fn poll(
        &mut self,
        store: &dyn Store,
        batch: usize,
        wait: Duration,
        mut handler: impl FnMut(&JsMessage, &mut dyn Transaction) -> Result<Verdict, Error>,
    ) -> Result<PollCounts, Error> {
        let mut counts = PollCounts::default();
        for message in self.consumer.fetch(batch, wait)? {
            let Some(id) = message.msg_id.clone() else {
                // Not from the outbox relay: it cannot be de-duplicated, so never handled.
                tracing::warn!(subject = %message.subject, "message without Nats-Msg-Id dropped");
                self.consumer.term(&message)?;
                counts.dead += 1;
                continue;
            };
            let mut tx = store.begin(&self.ctx, TxMode::Write)?;
            if inbox::record(tx.as_mut(), &id, &self.destination)? == Delivery::Repeat {
                drop(tx);
                self.consumer.ack(&message)?;
                counts.repeats += 1;
                continue;
            }
            match handler(&message, tx.as_mut())? {
                Verdict::Handled => {
                    tx.commit()?;
                    self.consumer.ack(&message)?;
                    counts.handled += 1;
                }
                Verdict::Dead(_) => {
                    tx.commit()?;
                    self.consumer.term(&message)?;
                    tracing::warn!(message_id = %id, "message can never be handled");
                    counts.dead += 1;
                }
                Verdict::Retry(after) => {
                    drop(tx);
                    self.consumer.nak(&message, after)?;
                    counts.retried += 1;
                }
            }
        }
        Ok(counts)
    }
}
