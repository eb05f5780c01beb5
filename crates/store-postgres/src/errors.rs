//! Mapping PostgreSQL errors onto [`StoreError`].
//!
//! - Another writer got there first (unique violation, serialization failure, deadlock):
//!   `Conflict`, which the repository turns into a version conflict or a retry.
//! - The server is unreachable, shutting down or out of connections: `Busy`.
//! - Anything else: `Backend`.
//!
//! Messages keep PostgreSQL's primary message and constraint name but drop its DETAIL,
//! which echoes row values (a duplicate key's NHS number, say) into logs.

use postgres::error::SqlState;
use store::StoreError;

pub fn from_pg(e: postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        return if e.is_closed() || is_connection_failure(&e) {
            StoreError::Busy(e.to_string())
        } else {
            StoreError::Backend(e.to_string())
        };
    };
    let mut message = format!("{} ({})", db.message(), db.code().code());
    if let Some(constraint) = db.constraint() {
        message.push_str(&format!(" [constraint {constraint}]"));
    }
    let code = db.code();
    if [
        SqlState::UNIQUE_VIOLATION,
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
    ]
    .contains(code)
    {
        StoreError::Conflict(message)
    } else if code.code().starts_with("08") // connection exception
        || code.code().starts_with("57P") // operator intervention: shutdown, crash
        || *code == SqlState::TOO_MANY_CONNECTIONS
        || *code == SqlState::CANNOT_CONNECT_NOW
    {
        StoreError::Busy(message)
    } else {
        StoreError::Backend(message)
    }
}

/// Connecting failed, timed out, or the socket broke (the error wraps an I/O error).
fn is_connection_failure(e: &postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    let text = e.to_string();
    text.starts_with("error connecting") || text.starts_with("timeout")
}
