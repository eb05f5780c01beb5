//! Appending entries to a practice's chain inside an open write transaction.

use super::AuditRecord;
use super::entry::{Entry, GENESIS_HASH, Origin, chain_hash};
use crate::backend::{SqlValue, StoreError, Transaction};

/// Rows per multi-row INSERT: well under both backends' parameter limits.
const ROWS_PER_INSERT: usize = 200;

const LOG_COLUMNS: &str = "practice, seq, recorded, prev_hash, hash, event, outcome, actor, \
                           client_id, entity_count, entry";
const LOG_COLUMN_COUNT: usize = 11;

/// Appends one entry per `(origin, record)` to `practice`'s chain, in order. Every
/// origin must be of `practice`.
pub fn append_entries(
    tx: &mut dyn Transaction,
    practice: &str,
    items: &[(&Origin, &AuditRecord)],
) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    let (mut seq, mut prev_hash) = lock_head(tx, practice)?;
    let mut log_rows = Vec::with_capacity(items.len());
    let mut patient_rows = Vec::new();
    for (origin, record) in items {
        seq += 1;
        let entry = Entry::new(seq, origin, record);
        let json = entry.canonical_json();
        let hash = chain_hash(&prev_hash, &json);
        for patient in &entry.patients {
            patient_rows.push(vec![
                SqlValue::from(practice),
                SqlValue::from(patient.as_str()),
                SqlValue::Int(seq),
            ]);
        }
        log_rows.push(vec![
            SqlValue::from(practice),
            SqlValue::Int(seq),
            SqlValue::Int(entry.recorded),
            SqlValue::from(prev_hash),
            SqlValue::from(hash.as_str()),
            SqlValue::from(entry.event),
            SqlValue::from(entry.outcome),
            SqlValue::from(entry.actor.id),
            SqlValue::from(entry.client_id),
            SqlValue::Int(entry.entities.len() as i64),
            SqlValue::from(json),
        ]);
        prev_hash = hash;
    }
    insert_rows(tx, "audit_log", LOG_COLUMNS, LOG_COLUMN_COUNT, log_rows)?;
    insert_rows(
        tx,
        "audit_patients",
        "practice, patient_id, seq",
        3,
        patient_rows,
    )?;
    tx.execute(
        "UPDATE audit_head SET seq = ?, hash = ? WHERE practice = ?",
        &[
            SqlValue::Int(seq),
            SqlValue::from(prev_hash),
            SqlValue::from(practice),
        ],
    )?;
    Ok(())
}

/// The chain's last seq and hash, creating the head of a new chain. One upsert both
/// creates and locks the head row: on PostgreSQL it stays locked until the transaction
/// ends, so concurrent writers chain one after the other (the no-op update waits for
/// the holder, then returns the head it left); SQLite's write transactions are
/// exclusive already. Written once for both backends, as a transaction does not say
/// which it is.
fn lock_head(tx: &mut dyn Transaction, practice: &str) -> Result<(i64, String), StoreError> {
    let mut rows = tx.query(
        "INSERT INTO audit_head (practice, seq, hash) VALUES (?, 0, ?) \
         ON CONFLICT (practice) DO UPDATE SET seq = audit_head.seq \
         RETURNING seq, hash",
        &[SqlValue::from(practice), SqlValue::from(GENESIS_HASH)],
    )?;
    let mut row = rows
        .pop()
        .ok_or_else(|| StoreError::Backend("the audit chain's head row is missing".into()))?
        .into_iter();
    let seq = row.next().and_then(|v| v.as_i64());
    let hash = row.next().and_then(SqlValue::into_string);
    match (seq, hash) {
        (Some(seq), Some(hash)) => Ok((seq, hash)),
        _ => Err(StoreError::Backend(
            "the audit chain's head row is malformed".into(),
        )),
    }
}

fn insert_rows(
    tx: &mut dyn Transaction,
    table: &str,
    columns: &str,
    column_count: usize,
    rows: Vec<Vec<SqlValue>>,
) -> Result<(), StoreError> {
    let row_placeholders = format!("({})", vec!["?"; column_count].join(", "));
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values = vec![row_placeholders.as_str(); chunk.len()].join(", ");
        let sql = format!("INSERT INTO {table} ({columns}) VALUES {values}");
        let params: Vec<SqlValue> = chunk.iter().flatten().cloned().collect();
        tx.execute(&sql, &params)?;
    }
    Ok(())
}
