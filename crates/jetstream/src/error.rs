use std::time::Duration;

/// What went wrong talking to NATS. `is_transient` tells the caller whether trying
/// again later may succeed (a dropped connection, a timeout) or not (a refused request).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("NATS connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("no answer from NATS within {0:?} ({1})")]
    Timeout(Duration, &'static str),
    #[error("NATS protocol: {0}")]
    Protocol(String),
    /// The server refused us with `-ERR` (authorization, a payload too large…).
    #[error("NATS server error: {0}")]
    Server(String),
    /// No one listens on the subject: JetStream is off, or no stream takes the subject.
    #[error("no responders on {0} (is JetStream on, and does a stream take this subject?)")]
    NoResponders(String),
    /// JetStream answered a request with an error.
    #[error("JetStream refused ({code}/{err_code}): {description}")]
    Api {
        code: u16,
        err_code: u64,
        description: String,
    },
    #[error("invalid: {0}")]
    InvalidInput(String),
    #[error(transparent)]
    Store(#[from] db::StoreError),
}

impl Error {
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Io(_) | Error::Timeout(..) | Error::NoResponders(_) => true,
            // 503: JetStream temporarily unavailable (no quorum, restarting).
            Error::Api { code, .. } => *code == 503,
            Error::Store(e) => matches!(e, db::StoreError::Busy(_) | db::StoreError::Conflict(_)),
            Error::Protocol(_) | Error::Server(_) | Error::InvalidInput(_) => false,
        }
    }
}
