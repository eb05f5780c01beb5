//! The patients a user opened recently, from the audit trail: every read of a record
//! is audited already, so this needs no history of its own and cannot disagree with it.

use crate::fetch;
use chrono::NaiveDate;
use fhir::uk::{NhsNumber, PersonName, parse_date};
use serde_json::Value;
use std::collections::HashMap;
use store::{FhirResult, Repository, RequestContext, SqlValue, TxMode};

/// How far back to look: older reads are not "recent" (and this bounds the scan).
const WINDOW_DAYS: i64 = 30;

/// A patient the user opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentPatient {
    pub id: String,
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub nhs_number: Option<String>,
    /// When the user last opened the record, microseconds since the Unix epoch.
    pub last_viewed: i64,
}

/// The last `limit` distinct patients whose record `user_id` read (successfully),
/// newest first, limited to the patients `ctx` may still see.
pub fn recently_viewed(
    repo: &Repository,
    ctx: &RequestContext,
    user_id: &str,
    limit: usize,
) -> FhirResult<Vec<RecentPatient>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let since = store::time::now_micros() - WINDOW_DAYS * 24 * 3600 * 1_000_000;
    // A few more than asked for, since some may no longer be visible.
    let wanted = (limit * 2 + 5) as i64;
    let mut tx = repo.store().begin(ctx, TxMode::Read)?;
    let rows = tx.query(
        "SELECT p.patient_id, MAX(l.recorded) AS last_viewed \
         FROM audit_log l JOIN audit_patients p ON p.practice = l.practice AND p.seq = l.seq \
         WHERE l.practice = ? AND l.actor = ? AND l.event = 'read' AND l.outcome = 'success' \
         AND l.recorded >= ? \
         GROUP BY p.patient_id ORDER BY last_viewed DESC LIMIT ?",
        &[
            SqlValue::from(ctx.practice.as_str()),
            SqlValue::from(user_id),
            SqlValue::Int(since),
            SqlValue::Int(wanted),
        ],
    )?;
    tx.commit()?;
    let viewed: Vec<(String, i64)> = rows
        .into_iter()
        .filter_map(|row| {
            let id = row.first()?.as_str()?.to_string();
            let at = row.get(1)?.as_i64()?;
            Some((id, at))
        })
        .collect();
    if viewed.is_empty() {
        return Ok(Vec::new());
    }
    // One search for them all: it applies the access rules, so hidden patients drop out.
    let ids = viewed
        .iter()
        .map(|(id, _)| id.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let count = viewed.len().to_string();
    let visible: HashMap<String, Value> = fetch::search(
        repo,
        ctx,
        "Patient",
        &[("_id", ids.as_str()), ("_count", count.as_str())],
    )?
    .into_iter()
    .filter_map(|p| Some((p["id"].as_str()?.to_string(), p)))
    .collect();
    Ok(viewed
        .into_iter()
        .filter_map(|(id, last_viewed)| {
            let patient = visible.get(&id)?;
            Some(RecentPatient {
                name: PersonName::banner_of(patient),
                birth_date: patient["birthDate"].as_str().and_then(parse_date),
                nhs_number: NhsNumber::recorded(patient),
                id,
                last_viewed,
            })
        })
        .take(limit)
        .collect())
}
