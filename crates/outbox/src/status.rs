//! The backlog as an operator sees it: counts and ages, never payloads.

use std::collections::BTreeMap;
use store::{SqlValue, Store, StoreError, TxMode};

/// How many dead letters' reasons [`status`] lists per destination.
const LATEST_DEAD: i64 = 5;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationStatus {
    pub destination: String,
    pub pending: i64,
    /// Age of the oldest pending message, in seconds.
    pub oldest_pending_secs: Option<i64>,
    pub sent: i64,
    pub dead: i64,
    /// The latest dead letters, newest first.
    pub latest_dead: Vec<DeadLetter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: String,
    pub kind: String,
    pub reason: String,
    /// When it was given up (microseconds since the epoch).
    pub at: i64,
    pub attempts: i64,
}

/// Per destination: pending count, oldest pending age, sent and dead counts, the latest
/// dead letters. `practice` limits it to one practice (the practice manager's page);
/// `None` is every practice (the operator's command and metrics).
pub fn status(
    store: &dyn Store,
    practice: Option<&str>,
) -> Result<Vec<DestinationStatus>, StoreError> {
    let ctx = store::RequestContext::system(practice.unwrap_or("outbox"));
    let mut tx = store.begin(&ctx, TxMode::Read)?;
    let (filter, params): (&str, Vec<SqlValue>) = match practice {
        Some(p) => (" WHERE practice = ?", vec![p.into()]),
        None => ("", Vec::new()),
    };
    let rows = tx.query(
        &format!(
            "SELECT destination, state, COUNT(*), MIN(created) FROM outbox{filter} \
             GROUP BY destination, state"
        ),
        &params,
    )?;
    let now = store::time::now_micros();
    let mut by_destination: BTreeMap<String, DestinationStatus> = BTreeMap::new();
    for row in rows {
        let mut it = row.into_iter();
        let destination = it
            .next()
            .and_then(SqlValue::into_string)
            .unwrap_or_default();
        let state = it
            .next()
            .and_then(SqlValue::into_string)
            .unwrap_or_default();
        let count = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
        let oldest = it.next().and_then(|v| v.as_i64());
        let entry = by_destination
            .entry(destination.clone())
            .or_insert_with(|| DestinationStatus {
                destination,
                ..DestinationStatus::default()
            });
        match state.as_str() {
            "pending" => {
                entry.pending = count;
                entry.oldest_pending_secs = oldest.map(|c| (now - c).max(0) / 1_000_000);
            }
            "sent" => entry.sent = count,
            "dead" => entry.dead = count,
            _ => {}
        }
    }
    for entry in by_destination.values_mut().filter(|e| e.dead > 0) {
        let mut params = vec![SqlValue::from(entry.destination.as_str())];
        params.extend(practice.map(SqlValue::from));
        params.push(LATEST_DEAD.into());
        let and_practice = if practice.is_some() {
            " AND practice = ?"
        } else {
            ""
        };
        let rows = tx.query(
            &format!(
                "SELECT id, kind, last_error, done_at, attempts FROM outbox \
                 WHERE destination = ? AND state = 'dead'{and_practice} \
                 ORDER BY done_at DESC, seq DESC LIMIT ?"
            ),
            &params,
        )?;
        entry.latest_dead = rows
            .into_iter()
            .map(|row| {
                let mut it = row.into_iter();
                let mut text = || it.next().and_then(SqlValue::into_string);
                let (id, kind, reason) = (text(), text(), text());
                let at = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
                let attempts = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
                DeadLetter {
                    id: id.unwrap_or_default(),
                    kind: kind.unwrap_or_default(),
                    reason: reason.unwrap_or_default(),
                    at,
                    attempts,
                }
            })
            .collect();
    }
    Ok(by_destination.into_values().collect())
}
