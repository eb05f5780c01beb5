//! Streams (created if missing, their subjects and duplicate window kept as configured)
//! and publishing with `Nats-Msg-Id`, waiting for the stream's acknowledgement.

use crate::Error;
use crate::api::{JetStream, codes, is_api_error, nanos, parse_answer};
use crate::protocol::Headers;
use serde_json::json;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// A message is removed once a consumer acknowledges it (a transport, not a log).
    WorkQueue,
    /// Messages stay until the stream's limits remove them.
    Limits,
}

#[derive(Debug, Clone)]
pub struct StreamConfig {
    pub name: String,
    pub subjects: Vec<String>,
    /// Within this window a second publish with the same `Nats-Msg-Id` is not stored
    /// again. It should cover how long the relay may take to publish a row again after
    /// a crash (the outbox lease) with room to spare.
    pub duplicate_window: Duration,
    pub retention: Retention,
    /// Messages older than this are removed (zero: kept until acknowledged or limits).
    pub max_age: Duration,
}

impl StreamConfig {
    /// The outbox's stream: every subject under `opengp.outbox.`, removed once handled.
    pub fn outbox() -> StreamConfig {
        StreamConfig {
            name: "OPENGP_OUTBOX".into(),
            subjects: vec!["opengp.outbox.>".into()],
            duplicate_window: Duration::from_secs(10 * 60),
            retention: Retention::WorkQueue,
            max_age: Duration::ZERO,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "subjects": self.subjects,
            "retention": match self.retention {
                Retention::WorkQueue => "workqueue",
                Retention::Limits => "limits",
            },
            "storage": "file",
            "num_replicas": 1,
            "duplicate_window": nanos(self.duplicate_window),
            "max_age": nanos(self.max_age),
            "discard": "old",
        })
    }
}

/// What the stream said about a stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubAck {
    pub stream: String,
    pub seq: u64,
    /// The stream already had a message with this `Nats-Msg-Id` (inside its duplicate
    /// window) and did not store this one.
    pub duplicate: bool,
}

/// The figures of a stream we read back in tests and status pages.
#[derive(Debug, Clone)]
pub struct StreamState {
    pub messages: u64,
    pub subjects: Vec<String>,
    pub duplicate_window: Duration,
}

impl JetStream {
    /// Creates the stream, or brings an existing one's subjects and duplicate window
    /// to `config`. Safe to run from every node at start-up.
    pub fn ensure_stream(&mut self, config: &StreamConfig) -> Result<StreamState, Error> {
        check_name(&config.name)?;
        match self.stream_state(&config.name)? {
            None => match self.call(&format!("STREAM.CREATE.{}", config.name), &config.to_json()) {
                Ok(answer) => Ok(state_of(&answer)),
                // Another node created it between our INFO and CREATE.
                Err(e) if is_api_error(&e, codes::STREAM_NAME_IN_USE) => self
                    .stream_state(&config.name)?
                    .ok_or_else(|| Error::Protocol("stream vanished while created".into())),
                Err(e) => Err(e),
            },
            Some(state)
                if state.subjects == config.subjects
                    && state.duplicate_window == config.duplicate_window =>
            {
                Ok(state)
            }
            Some(_) => {
                let answer =
                    self.call(&format!("STREAM.UPDATE.{}", config.name), &config.to_json())?;
                Ok(state_of(&answer))
            }
        }
    }

    /// The stream's state, or None if there is no such stream.
    pub fn stream_state(&mut self, name: &str) -> Result<Option<StreamState>, Error> {
        check_name(name)?;
        match self.call(&format!("STREAM.INFO.{name}"), &serde_json::Value::Null) {
            Ok(answer) => Ok(Some(state_of(&answer))),
            Err(e) if is_api_error(&e, codes::STREAM_NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the stream and its consumers; Ok if there was none.
    pub fn delete_stream(&mut self, name: &str) -> Result<(), Error> {
        check_name(name)?;
        match self.call(&format!("STREAM.DELETE.{name}"), &serde_json::Value::Null) {
            Ok(_) => Ok(()),
            Err(e) if is_api_error(&e, codes::STREAM_NOT_FOUND) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Publishes `payload` on `subject` with `Nats-Msg-Id: msg_id` and waits for the
    /// stream to store it. A repeat of the same id inside the duplicate window is
    /// acknowledged with `duplicate: true` and not stored again.
    pub fn publish(
        &mut self,
        subject: &str,
        msg_id: &str,
        payload: &[u8],
    ) -> Result<PubAck, Error> {
        if msg_id.is_empty() {
            return Err(Error::InvalidInput("a message id is required".into()));
        }
        let mut headers = Headers::default();
        headers.insert("Nats-Msg-Id", msg_id);
        let timeout = self.client().timeout();
        let reply = self.client().request(subject, &headers, payload, timeout)?;
        let answer = parse_answer(&reply.payload)?;
        Ok(PubAck {
            stream: answer["stream"].as_str().unwrap_or_default().to_string(),
            seq: answer["seq"]
                .as_u64()
                .ok_or_else(|| Error::Protocol("PubAck without seq".into()))?,
            duplicate: answer["duplicate"].as_bool().unwrap_or(false),
        })
    }
}

fn state_of(info: &serde_json::Value) -> StreamState {
    let config = &info["config"];
    StreamState {
        messages: info["state"]["messages"].as_u64().unwrap_or(0),
        subjects: config["subjects"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        duplicate_window: Duration::from_nanos(config["duplicate_window"].as_u64().unwrap_or(0)),
    }
}

/// Stream and consumer names become subject tokens.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "bad stream or consumer name {name:?}"
        )))
    }
}
