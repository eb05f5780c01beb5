//! Writing messages into the outbox, and reading them back for a page.

use store::{Row, SqlValue, Store, StoreError, Transaction, TxMode};

/// A message to send, as the service that causes it describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub practice: String,
    /// Where it goes: `pds` (later `eps`, `notify`, `gp2gp`).
    pub destination: String,
    /// What it asks, e.g. `pds.update-contact`.
    pub kind: String,
    /// The record it is about (`Patient/123`), so that record's page can show it.
    pub subject: Option<String>,
    /// JSON for the destination. May hold patient data: never logged.
    pub payload: String,
}

/// A claimed message, as the worker hands it to its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Also the idempotency key the destination is given.
    pub id: String,
    pub practice: String,
    pub destination: String,
    pub kind: String,
    pub subject: Option<String>,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// When it was queued, or last sent back to the queue by an operator
    /// (microseconds since the epoch).
    pub created: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    Pending,
    Sent,
    Dead,
}

impl MessageState {
    pub fn code(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Sent => "sent",
            MessageState::Dead => "dead",
        }
    }

    pub fn parse(code: &str) -> Option<MessageState> {
        match code {
            "pending" => Some(MessageState::Pending),
            "sent" => Some(MessageState::Sent),
            "dead" => Some(MessageState::Dead),
            _ => None,
        }
    }
}

/// One message as a page shows it (no payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub id: String,
    pub kind: String,
    pub state: MessageState,
    pub attempts: i64,
    pub created: i64,
    /// Why the last attempt failed (pending) or why it was given up (dead).
    pub last_error: Option<String>,
    /// What the destination answered (sent).
    pub outcome: Option<String>,
    pub done_at: Option<i64>,
}

/// Adds `message` to the outbox inside `tx`: it is sent only if `tx` commits.
/// Returns the message id (the idempotency key).
pub fn enqueue(tx: &mut dyn Transaction, message: &NewMessage) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    let now = store::time::now_micros();
    tx.execute(
        "INSERT INTO outbox (id, practice, destination, kind, subject, payload, state, \
         attempts, created, next_attempt) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        &[
            id.as_str().into(),
            message.practice.as_str().into(),
            message.destination.as_str().into(),
            message.kind.as_str().into(),
            message.subject.clone().into(),
            message.payload.as_str().into(),
            now.into(),
            now.into(),
        ],
    )?;
    Ok(id)
}

/// The messages about `subject` in `practice`, newest first (at most `limit`).
pub fn for_subject(
    store: &dyn Store,
    practice: &str,
    subject: &str,
    limit: i64,
) -> Result<Vec<Summary>, StoreError> {
    let ctx = store::RequestContext::system(practice);
    let mut tx = store.begin(&ctx, TxMode::Read)?;
    let rows = tx.query(
        "SELECT id, kind, state, attempts, created, last_error, outcome, done_at FROM outbox \
         WHERE practice = ? AND subject = ? ORDER BY seq DESC LIMIT ?",
        &[practice.into(), subject.into(), limit.into()],
    )?;
    Ok(rows.into_iter().map(summary).collect())
}

fn summary(row: Row) -> Summary {
    let mut it = row.into_iter();
    let mut next = || it.next().unwrap_or(SqlValue::Null);
    let text = |v: SqlValue| v.into_string();
    let id = text(next()).unwrap_or_default();
    let kind = text(next()).unwrap_or_default();
    let state = text(next())
        .and_then(|s| MessageState::parse(&s))
        .unwrap_or(MessageState::Pending);
    let attempts = next().as_i64().unwrap_or_default();
    let created = next().as_i64().unwrap_or_default();
    let last_error = text(next());
    let outcome = text(next());
    let done_at = next().as_i64();
    Summary {
        id,
        kind,
        state,
        attempts,
        created,
        last_error,
        outcome,
        done_at,
    }
}

/// Sends a dead letter back to the queue (an operator's retry, once the cause is fixed):
/// its attempts start again from zero. `practice` limits it to one practice's messages.
/// Returns whether there was such a dead letter.
pub fn retry(store: &dyn Store, practice: Option<&str>, id: &str) -> Result<bool, StoreError> {
    let ctx = store::RequestContext::system(practice.unwrap_or("outbox"));
    let mut tx = store.begin(&ctx, TxMode::Write)?;
    let now = store::time::now_micros();
    let mut sql = "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt = ?, \
                   retried = ?, lease_owner = NULL, lease_until = NULL, done_at = NULL \
                   WHERE id = ? AND state = 'dead'"
        .to_string();
    let mut params: Vec<SqlValue> = vec![now.into(), now.into(), id.into()];
    if let Some(p) = practice {
        sql.push_str(" AND practice = ?");
        params.push(p.into());
    }
    let changed = tx.execute(&sql, &params)?;
    tx.commit()?;
    if changed > 0 {
        tracing::info!(message = id, "dead letter sent back to the outbox queue");
    }
    Ok(changed > 0)
}
