//! Durable pull consumers: every node pulls from the same consumer, so each message
//! goes to one of them; one that is not acknowledged within the ack wait (its node
//! died) is delivered again, to whichever node pulls next.

use crate::Error;
use crate::api::{JetStream, codes, is_api_error, nanos, parse_answer};
use crate::protocol::Message;
use crate::stream::check_name;
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub durable_name: String,
    /// How long a delivered message may go unacknowledged before it is delivered again.
    /// Longer than the slowest handling, short enough that a dead node's messages move on.
    pub ack_wait: Duration,
    /// Only subjects matching this (None: the whole stream).
    pub filter_subject: Option<String>,
    /// At most this many delivered and not yet acknowledged messages at once.
    pub max_ack_pending: i64,
}

impl ConsumerConfig {
    pub fn new(durable_name: &str) -> ConsumerConfig {
        ConsumerConfig {
            durable_name: durable_name.to_string(),
            ack_wait: Duration::from_secs(30),
            filter_subject: None,
            max_ack_pending: 1000,
        }
    }
}

/// A message delivered by a pull consumer.
#[derive(Debug, Clone)]
pub struct JsMessage {
    pub subject: String,
    /// The publisher's `Nats-Msg-Id`: the outbox id, the consumer's de-duplication key.
    pub msg_id: Option<String>,
    pub payload: Vec<u8>,
    /// How many times it has been delivered (1 the first time).
    pub delivered: u64,
    pub stream_seq: u64,
    ack_subject: String,
}

impl JsMessage {
    fn from_delivery(m: Message) -> Result<JsMessage, Error> {
        let ack_subject = m
            .reply
            .ok_or_else(|| Error::Protocol("JetStream delivery without an ack subject".into()))?;
        let (delivered, stream_seq) = ack_metadata(&ack_subject)
            .ok_or_else(|| Error::Protocol(format!("unexpected ack subject {ack_subject:?}")))?;
        Ok(JsMessage {
            subject: m.subject,
            msg_id: m.headers.get("Nats-Msg-Id").map(String::from),
            payload: m.payload,
            delivered,
            stream_seq,
            ack_subject,
        })
    }
}

/// Delivery count and stream sequence from `$JS.ACK.<stream>.<consumer>.<delivered>.
/// <stream seq>.<consumer seq>.<time>.<pending>`, or the longer form with domain and
/// account hash after `$JS.ACK`.
fn ack_metadata(subject: &str) -> Option<(u64, u64)> {
    let tokens: Vec<&str> = subject.split('.').collect();
    if tokens.len() < 9 || tokens[0] != "$JS" || tokens[1] != "ACK" {
        return None;
    }
    let first = if tokens.len() == 9 { 4 } else { 6 };
    Some((
        tokens.get(first)?.parse().ok()?,
        tokens.get(first + 1)?.parse().ok()?,
    ))
}

/// How long a request for the messages ready now stays open: the server does not end a
/// `no_wait` request that it cut short at the consumer's unacknowledged limit, so it
/// gets an expiry too.
const READY_EXPIRES: Duration = Duration::from_millis(200);

/// One node's handle on a durable pull consumer. Own connection (inside its
/// `JetStream`), used by one thread.
pub struct PullConsumer {
    js: JetStream,
    stream: String,
    name: String,
}

impl PullConsumer {
    /// Creates the durable consumer if it is missing (every node does this at start-up)
    /// and binds to it.
    pub fn ensure(
        mut js: JetStream,
        stream: &str,
        config: &ConsumerConfig,
    ) -> Result<PullConsumer, Error> {
        check_name(stream)?;
        check_name(&config.durable_name)?;
        let name = config.durable_name.clone();
        let info = format!("CONSUMER.INFO.{stream}.{name}");
        match js.call(&info, &serde_json::Value::Null) {
            Ok(_) => {}
            Err(e) if is_api_error(&e, codes::CONSUMER_NOT_FOUND) => {
                let mut settings = json!({
                    "durable_name": name,
                    "ack_policy": "explicit",
                    "deliver_policy": "all",
                    "replay_policy": "instant",
                    "ack_wait": nanos(config.ack_wait),
                    "max_deliver": -1,
                    "max_ack_pending": config.max_ack_pending,
                });
                if let Some(filter) = &config.filter_subject {
                    settings["filter_subject"] = filter.clone().into();
                }
                let body = json!({"stream_name": stream, "config": settings});
                // Creating a durable with the same configuration twice is not an error,
                // so two nodes starting together both succeed.
                js.call(&format!("CONSUMER.CREATE.{stream}.{name}"), &body)?;
            }
            Err(e) => return Err(e),
        }
        Ok(PullConsumer {
            js,
            stream: stream.to_string(),
            name,
        })
    }

    /// Up to `batch` messages: those ready now, or else the first to arrive within
    /// `expires` (an empty batch if none does). Returns as soon as it has any, so a
    /// message is never held back waiting for a batch to fill.
    pub fn fetch(&mut self, batch: usize, expires: Duration) -> Result<Vec<JsMessage>, Error> {
        let ready = self.pull(
            json!({"batch": batch.max(1), "no_wait": true, "expires": nanos(READY_EXPIRES)}),
            batch.max(1),
            Duration::ZERO,
        )?;
        if !ready.is_empty() {
            return Ok(ready);
        }
        self.pull(json!({"batch": 1, "expires": nanos(expires)}), 1, expires)
    }

    /// One pull request; collects deliveries until `batch` came or a status ends it.
    fn pull(
        &mut self,
        request: serde_json::Value,
        batch: usize,
        expires: Duration,
    ) -> Result<Vec<JsMessage>, Error> {
        let subject = format!("$JS.API.CONSUMER.MSG.NEXT.{}.{}", self.stream, self.name);
        // The server ends a short batch with a status (404 none ready, 408 expired); the
        // margin covers the round trip.
        let deadline = Instant::now() + expires + self.js.client().timeout();
        let mut delivered = 0;
        let replies = self.js.client().request_many(
            &subject,
            request.to_string().as_bytes(),
            deadline,
            |m| {
                if m.headers.status.is_none() {
                    delivered += 1;
                }
                m.headers.status.is_some() || delivered == batch
            },
        )?;
        let mut messages = Vec::with_capacity(replies.len());
        for reply in replies {
            match reply.headers.status {
                None => messages.push(JsMessage::from_delivery(reply)?),
                Some(404 | 408) => {}
                // Too many unacknowledged or waiting: a full pipeline, not a failure.
                Some(409) if reply.headers.description.starts_with("Exceeded") => {}
                Some(503) => return Err(Error::NoResponders(subject)),
                Some(code) => {
                    return Err(Error::Api {
                        code,
                        err_code: 0,
                        description: reply.headers.description,
                    });
                }
            }
        }
        Ok(messages)
    }

    /// Acknowledges `message` and waits for the server to confirm it, so it will not be
    /// delivered again.
    pub fn ack(&mut self, message: &JsMessage) -> Result<(), Error> {
        self.reply_to(message, b"+ACK")
    }

    /// Asks for `message` to be delivered again after `delay` (a failed delivery that
    /// may succeed later).
    pub fn nak(&mut self, message: &JsMessage, delay: Duration) -> Result<(), Error> {
        let body = format!("-NAK {}", json!({"delay": nanos(delay)}));
        self.reply_to(message, body.as_bytes())
    }

    /// Tells the server never to deliver `message` again (it can never succeed).
    pub fn term(&mut self, message: &JsMessage) -> Result<(), Error> {
        self.reply_to(message, b"+TERM")
    }

    /// Sends an acknowledgement as a request: the server answers once it has applied it.
    fn reply_to(&mut self, message: &JsMessage, body: &[u8]) -> Result<(), Error> {
        let client = self.js.client();
        let timeout = client.timeout();
        let answer = client.request(&message.ack_subject, &Default::default(), body, timeout)?;
        if !answer.payload.is_empty() {
            parse_answer(&answer.payload)?;
        }
        Ok(())
    }

    /// Messages delivered to this consumer and not yet acknowledged, and messages not
    /// yet delivered.
    pub fn pending(&mut self) -> Result<(u64, u64), Error> {
        let info = self.js.call(
            &format!("CONSUMER.INFO.{}.{}", self.stream, self.name),
            &serde_json::Value::Null,
        )?;
        Ok((
            info["num_ack_pending"].as_u64().unwrap_or(0),
            info["num_pending"].as_u64().unwrap_or(0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::ack_metadata;

    #[test]
    fn ack_subjects_of_both_forms() {
        assert_eq!(
            ack_metadata("$JS.ACK.S.C.3.17.12.1700000000000000000.4"),
            Some((3, 17))
        );
        assert_eq!(
            ack_metadata("$JS.ACK.hub.ACCHASH.S.C.2.9.8.1700000000000000000.0.tok"),
            Some((2, 9))
        );
        assert_eq!(ack_metadata("_INBOX.x.1"), None);
        assert_eq!(ack_metadata("$JS.ACK.S.C.x.17.12.1.4"), None);
    }
}
