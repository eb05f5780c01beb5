//! JetStream's API: JSON requests on `$JS.API.*` subjects, JSON answers that carry either
//! the result or an `error` object.

use crate::Error;
use crate::client::Client;
use crate::protocol::Headers;
use serde_json::Value;
use std::time::Duration;

/// JetStream over one client connection.
pub struct JetStream {
    client: Client,
}

impl JetStream {
    /// Connects and checks that the server has JetStream on.
    pub fn connect(url: &str) -> Result<JetStream, Error> {
        let mut client = Client::connect(url)?;
        if !client.server_info()?.jetstream {
            return Err(Error::Protocol(format!(
                "NATS at {} has JetStream off (start nats-server with -js)",
                client.addr()
            )));
        }
        Ok(JetStream { client })
    }

    pub fn new(client: Client) -> JetStream {
        JetStream { client }
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// One API call: `$JS.API.<what>` with a JSON body; the answer, or its error.
    pub(crate) fn call(&mut self, what: &str, body: &Value) -> Result<Value, Error> {
        let subject = format!("$JS.API.{what}");
        let timeout = self.client.timeout();
        let payload = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(body).expect("JSON values serialise")
        };
        let reply = self
            .client
            .request(&subject, &Headers::default(), &payload, timeout)?;
        parse_answer(&reply.payload)
    }
}

/// A JetStream answer: `Err(Error::Api)` when it carries an `error`.
pub(crate) fn parse_answer(payload: &[u8]) -> Result<Value, Error> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| Error::Protocol(format!("JetStream answer is not JSON: {e}")))?;
    if let Some(error) = value.get("error") {
        return Err(Error::Api {
            code: error["code"].as_u64().unwrap_or(0) as u16,
            err_code: error["err_code"].as_u64().unwrap_or(0),
            description: error["description"].as_str().unwrap_or("").to_string(),
        });
    }
    Ok(value)
}

/// JetStream's `err_code`s this crate acts on.
pub(crate) mod codes {
    pub const STREAM_NOT_FOUND: u64 = 10059;
    pub const STREAM_NAME_IN_USE: u64 = 10058;
    pub const CONSUMER_NOT_FOUND: u64 = 10014;
}

pub(crate) fn is_api_error(e: &Error, wanted: u64) -> bool {
    matches!(e, Error::Api { err_code, .. } if *err_code == wanted)
}

/// JetStream durations are nanoseconds.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
