//! Reading the log as AuditEvent resources: search (newest first, paged by seq) and read.

use super::entry::Entry;
use super::query::AuditQuery;
use super::render::audit_event;
use crate::backend::{SqlValue, Store, StoreError, TxMode};
use crate::context::RequestContext;
use crate::error::{FhirError, FhirResult};
use crate::version::ResourceVersion;
use serde_json::{Value, json};

/// A search of the log, as the repository received it.
#[derive(Debug, Clone, Copy)]
pub struct EventSearch<'a> {
    /// The query's parameters in order, already percent-decoded.
    pub params: &'a [(String, String)],
    /// The FHIR base URL, for fullUrl and links.
    pub base_url: &'a str,
    /// `Prefer: handling=lenient`: unknown parameters are ignored with a warning.
    pub lenient: bool,
}

/// `AuditEvent?…` as a searchset Bundle with `total`.
pub fn search(store: &dyn Store, ctx: &RequestContext, req: &EventSearch) -> FhirResult<Value> {
    let mut q = AuditQuery::parse(&ctx.practice, req.params, req.lenient)?;
    let viewer = ctx.access.patient.as_deref();
    if let Some(patient) = viewer {
        q.restrict_to_patient(&ctx.practice, patient);
    }
    let mut filter = String::from("practice = ?");
    let mut params = vec![SqlValue::from(ctx.practice.as_str())];
    for condition in &q.conditions {
        filter.push_str(" AND ");
        filter.push_str(condition);
    }
    params.extend(q.params.iter().cloned());

    let mut tx = store.begin(ctx, TxMode::Read)?;
    let total = tx
        .query(
            &format!("SELECT COUNT(*) FROM audit_log WHERE {filter}"),
            &params,
        )?
        .into_iter()
        .next()
        .and_then(|row| row.first().and_then(SqlValue::as_i64))
        .unwrap_or(0);
    let mut page_filter = filter.clone();
    let mut page_params = params;
    if let Some(cursor) = q.cursor {
        page_filter.push_str(" AND seq < ?");
        page_params.push(SqlValue::Int(cursor));
    }
    // One more than the page, to know whether there is a next page.
    page_params.push(SqlValue::Int(q.count as i64 + 1));
    let mut rows = tx.query(
        &format!("SELECT seq, entry FROM audit_log WHERE {page_filter} ORDER BY seq DESC LIMIT ?"),
        &page_params,
    )?;
    tx.commit()?;
    let has_next = rows.len() > q.count;
    rows.truncate(q.count);

    let base = req.base_url.trim_end_matches('/');
    let mut entries = Vec::with_capacity(rows.len() + 1);
    let mut last_seq = None;
    for row in rows {
        let (seq, entry) = stored_entry(row)?;
        last_seq = Some(seq);
        entries.push(json!({
            "fullUrl": format!("{base}/AuditEvent/{seq}"),
            "resource": audit_event(&entry, viewer),
            "search": { "mode": "match" },
        }));
    }
    if !q.warnings.is_empty() {
        entries.push(json!({
            "resource": fhir::operation_outcome(&q.warnings),
            "search": { "mode": "outcome" },
        }));
    }
    let mut links = vec![json!({ "relation": "self", "url": page_url(base, req.params, None) })];
    if let (true, Some(seq)) = (has_next, last_seq) {
        let next = page_url(base, req.params, Some((q.count, seq)));
        links.push(json!({ "relation": "next", "url": next }));
    }
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
    });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    Ok(bundle)
}

/// The search's URL; for the next page, with `_count` and `_cursor` (older than `seq`).
fn page_url(base: &str, params: &[(String, String)], next: Option<(usize, i64)>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if next.is_none() || (name != "_count" && name != "_cursor") {
            query.append_pair(name, value);
        }
    }
    if let Some((count, seq)) = next {
        query.append_pair("_count", &count.to_string());
        query.append_pair("_cursor", &seq.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        format!("{base}/AuditEvent")
    } else {
        format!("{base}/AuditEvent?{query}")
    }
}

/// `AuditEvent/[id]`: NotFound for ids that are not entries of the practice (or, in a
/// patient context, not about that patient).
pub fn read(store: &dyn Store, ctx: &RequestContext, id: &str) -> FhirResult<ResourceVersion> {
    let not_found = || FhirError::NotFound(format!("AuditEvent/{id} is not known"));
    let seq: i64 = id
        .parse()
        .ok()
        .filter(|_| id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(not_found)?;
    let mut sql = String::from("SELECT seq, entry FROM audit_log WHERE practice = ? AND seq = ?");
    let mut params = vec![SqlValue::from(ctx.practice.as_str()), SqlValue::Int(seq)];
    let viewer = ctx.access.patient.as_deref();
    if let Some(patient) = viewer {
        sql.push_str(
            " AND seq IN (SELECT seq FROM audit_patients WHERE practice = ? AND patient_id = ?)",
        );
        params.push(SqlValue::from(ctx.practice.as_str()));
        params.push(SqlValue::from(patient));
    }
    let mut tx = store.begin(ctx, TxMode::Read)?;
    let row = tx.query(&sql, &params)?.into_iter().next();
    tx.commit()?;
    let (_, entry) = stored_entry(row.ok_or_else(not_found)?)?;
    let body = audit_event(&entry, viewer);
    Ok(ResourceVersion {
        rtype: "AuditEvent".into(),
        id: seq.to_string(),
        version: 1,
        last_updated: entry.recorded,
        deleted: false,
        body: Some(body.to_string()),
    })
}

/// A `(seq, entry)` row. An entry that does not parse is reported by seq only: its text
/// may hold patient data.
fn stored_entry(row: Vec<SqlValue>) -> Result<(i64, Entry), StoreError> {
    let mut cols = row.into_iter();
    let seq = cols.next().and_then(|v| v.as_i64()).unwrap_or_default();
    let entry = cols
        .next()
        .and_then(SqlValue::into_string)
        .and_then(|text| serde_json::from_str::<Entry>(&text).ok())
        .ok_or_else(|| StoreError::Backend(format!("audit entry {seq} is not readable")))?;
    Ok((seq, entry))
}
