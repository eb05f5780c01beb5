//! History: every version of one resource, of a type, or of the whole system (one
//! practice's), newest first, as a `history` Bundle. Only versions of resources the
//! requester may see now are listed (the resource's current tags decide), and the
//! result is audited.
//!
//! Paging: each page is ordered by `resource_versions.seq` (insertion order), newest
//! first. The first page fixes the highest `seq` it can see (`_page_max`) and every
//! `next` link carries it with the last `seq` shown (`_page_before`), so later pages
//! neither repeat nor skip versions while others keep writing.

use crate::access::Interaction;
use crate::audit::{Action, AuditRecord, Outcome};
use crate::backend::{SqlValue, Transaction, TxMode};
use crate::context::RequestContext;
use crate::error::{FhirError, FhirResult};
use crate::repository::{HistoryRequest, Repository};
use crate::search::visibility::{access_columns, read_refusal, resource_access, visibility};
use crate::version::ResourceVersion;
use serde_json::{Map, Value, json};

const PAGE_MAX: &str = "_page_max";
const PAGE_BEFORE: &str = "_page_before";

/// The parsed parameters of a history request.
#[derive(Debug, Default)]
struct Params {
    /// `_since`: versions updated at or after this instant (µs).
    since: Option<i64>,
    /// `_at`: the version of each resource current at this instant (µs).
    at: Option<i64>,
    count: usize,
    page_max: Option<i64>,
    page_before: Option<i64>,
    /// The client's own parameters, as given (for the `self` link).
    given: Vec<(String, String)>,
}

fn parse_params(repo: &Repository, params: &[(String, String)]) -> FhirResult<Params> {
    let mut p = Params {
        count: repo.config.default_count,
        ..Params::default()
    };
    for (name, value) in params {
        match name.as_str() {
            "_since" => p.since = Some(parse_instant(name, value)?.0),
            // The latest instant the value covers: `_at=2024-05-01` is the end of that day.
            "_at" => p.at = Some(parse_instant(name, value)?.1),
            "_count" => {
                let n: usize = value.parse().map_err(|_| {
                    FhirError::bad_request(format!("_count must be a whole number, not '{value}'"))
                })?;
                p.count = n.min(repo.config.max_count);
            }
            PAGE_MAX => p.page_max = Some(parse_cursor(name, value)?),
            PAGE_BEFORE => p.page_before = Some(parse_cursor(name, value)?),
            // Formatting and other parameters the server handles are not ours to judge.
            _ => {}
        }
        if !matches!(name.as_str(), PAGE_MAX | PAGE_BEFORE) {
            p.given.push((name.clone(), value.clone()));
        }
    }
    Ok(p)
}

fn parse_instant(name: &str, value: &str) -> FhirResult<(i64, i64)> {
    // A `+` time zone arrives as a space when the client did not percent-encode it.
    let value = value.trim().replace(' ', "+");
    fhir::datetime::parse_range(&value).ok_or_else(|| {
        FhirError::bad_request(format!(
            "{name} must be a FHIR instant or date, not '{value}'"
        ))
    })
}

fn parse_cursor(name: &str, value: &str) -> FhirResult<i64> {
    value
        .parse()
        .map_err(|_| FhirError::bad_request(format!("{name} is not a valid paging position")))
}

pub(crate) fn history(
    repo: &Repository,
    ctx: &RequestContext,
    req: &HistoryRequest,
) -> FhirResult<Value> {
    if req.id.is_some() && req.rtype.is_none() {
        return Err(FhirError::bad_request(
            "instance history needs a resource type",
        ));
    }
    if let Some(rtype) = &req.rtype {
        crate::write::check_type(rtype)?;
    }
    let event = match (&req.rtype, &req.id) {
        (Some(rtype), Some(_)) => {
            repo.permit(ctx, rtype, Interaction::Read, "history-instance")?;
            "history-instance"
        }
        (Some(rtype), None) => {
            repo.permit(ctx, rtype, Interaction::Search, "history-type")?;
            "history-type"
        }
        _ => {
            repo.permit_some_reading(ctx, "history-system")?;
            "history-system"
        }
    };
    let bundle = visible_history(repo, ctx, req)?;
    let record = AuditRecord::new(event, Action::Read, Outcome::Success)
        .query(link("", &req.params, &[]).trim_start_matches('?'))
        .with_bundle_entries(&bundle);
    repo.audit_read(ctx, record)?;
    Ok(bundle)
}

/// NotFound unless `rtype/id` exists and `ctx` may see it (Forbidden if restricted).
fn check_instance(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    rtype: &str,
    id: &str,
) -> FhirResult<()> {
    let rows = tx.query(
        &format!(
            "SELECT {} FROM resources r WHERE r.practice = ? AND r.rtype = ? AND r.id = ?",
            access_columns("r")
        ),
        &[ctx.practice.as_str().into(), rtype.into(), id.into()],
    )?;
    let Some(row) = rows.first() else {
        return Err(FhirError::NotFound(format!("{rtype}/{id} is not known")));
    };
    match read_refusal(ctx, rtype, id, &resource_access(rtype, row)) {
        Some(refused) => Err(refused),
        None => Ok(()),
    }
}

fn visible_history(
    repo: &Repository,
    ctx: &RequestContext,
    req: &HistoryRequest,
) -> FhirResult<Value> {
    let p = parse_params(repo, &req.params)?;
    let mut tx = repo.store.begin(ctx, TxMode::Read)?;
    let practice = SqlValue::from(ctx.practice.as_str());

    if let (Some(rtype), Some(id)) = (&req.rtype, &req.id) {
        check_instance(tx.as_mut(), ctx, rtype, id)?;
    }
    let page_max = match p.page_max {
        Some(m) => m,
        None => tx
            .query(
                "SELECT MAX(seq) FROM resource_versions WHERE practice = ?",
                std::slice::from_ref(&practice),
            )?
            .first()
            .and_then(|r| r[0].as_i64())
            .unwrap_or(0),
    };

    // The filters shared by the page query and the total.
    let mut filter = String::from("v.practice = ? AND v.seq <= ?");
    let mut args = vec![practice, SqlValue::Int(page_max)];
    if let Some(rtype) = &req.rtype {
        filter.push_str(" AND v.rtype = ?");
        args.push(rtype.as_str().into());
    }
    if let Some(id) = &req.id {
        filter.push_str(" AND v.id = ?");
        args.push(id.as_str().into());
    }
    if let Some(since) = p.since {
        filter.push_str(" AND v.last_updated >= ?");
        args.push(since.into());
    }
    if let Some(at) = p.at {
        filter.push_str(
            " AND v.last_updated <= ? AND NOT EXISTS (SELECT 1 FROM resource_versions w
               WHERE w.practice = v.practice AND w.rtype = v.rtype AND w.id = v.id
                 AND w.version > v.version AND w.last_updated <= ? AND w.seq <= ?)",
        );
        args.extend([at.into(), at.into(), page_max.into()]);
    }
    let visible = visibility(ctx, "r");
    filter.push_str(&format!(" AND r.pk = v.res_pk AND ({})", visible.sql));
    args.extend(visible.args);

    let total = match &req.id {
        Some(_) => {
            let rows = tx.query(
                &format!(
                    "SELECT COUNT(*) FROM resource_versions v CROSS JOIN resources r WHERE {filter}"
                ),
                &args,
            )?;
            Some(rows.first().and_then(|r| r[0].as_i64()).unwrap_or(0))
        }
        None => None,
    };

    let mut page_sql = format!(
        "SELECT v.seq, v.rtype, v.id, v.version, v.last_updated, v.method, v.body
         FROM resource_versions v CROSS JOIN resources r WHERE {filter}"
    );
    let mut page_args = args;
    if let Some(before) = p.page_before {
        page_sql.push_str(" AND v.seq < ?");
        page_args.push(before.into());
    }
    page_sql.push_str(" ORDER BY v.seq DESC LIMIT ?");
    page_args.push(SqlValue::Int(p.count as i64 + 1));
    let mut rows = tx.query(&page_sql, &page_args)?;
    let more = rows.len() > p.count;
    rows.truncate(p.count);

    let mut entries = Vec::with_capacity(rows.len());
    let mut last_seq = None;
    for row in rows {
        let mut it = row.into_iter();
        let mut next = || it.next().unwrap_or(SqlValue::Null);
        last_seq = next().as_i64();
        let rtype = next().into_string().unwrap_or_default();
        let id = next().into_string().unwrap_or_default();
        let version = next().as_i64().unwrap_or_default();
        let last_updated = next().as_i64().unwrap_or_default();
        let method = next().into_string().unwrap_or_default();
        let body = next().into_string();
        let v = ResourceVersion {
            rtype,
            id,
            version,
            last_updated,
            deleted: method == "DELETE",
            body,
        };
        entries.push(entry(&req.base_url, &v, &method));
    }

    let path = match (&req.rtype, &req.id) {
        (Some(t), Some(i)) => format!("{}/{t}/{i}/_history", req.base_url),
        (Some(t), None) => format!("{}/{t}/_history", req.base_url),
        _ => format!("{}/_history", req.base_url),
    };
    let mut links = vec![json!({"relation": "self", "url": link(&path, &p.given, &[])})];
    if let (true, Some(last)) = (more, last_seq) {
        let mut next: Vec<(String, String)> = p
            .given
            .iter()
            .filter(|(n, _)| n != "_count")
            .cloned()
            .collect();
        next.push(("_count".into(), p.count.to_string()));
        let paging = [
            (PAGE_MAX, page_max.to_string()),
            (PAGE_BEFORE, last.to_string()),
        ];
        links.push(json!({"relation": "next", "url": link(&path, &next, &paging)}));
    }

    let mut bundle = Map::new();
    bundle.insert("resourceType".into(), "Bundle".into());
    bundle.insert("id".into(), crate::write::new_id().into());
    bundle.insert("type".into(), "history".into());
    if let Some(t) = total {
        bundle.insert("total".into(), t.into());
    }
    bundle.insert("link".into(), links.into());
    bundle.insert("entry".into(), entries.into());
    Ok(Value::Object(bundle))
}

/// `path?a=1&b=2` with the parameters percent-encoded.
fn link(path: &str, params: &[(String, String)], paging: &[(&str, String)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (n, v) in params {
        query.append_pair(n, v);
    }
    for (n, v) in paging {
        query.append_pair(n, v);
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// One history entry: the version (no resource for a deletion), the request that wrote
/// it and the response it got.
pub(crate) fn entry(base_url: &str, v: &ResourceVersion, method: &str) -> Value {
    let mut e = Map::new();
    e.insert(
        "fullUrl".into(),
        format!("{base_url}/{}", v.reference()).into(),
    );
    if let Some(resource) = v.json() {
        e.insert("resource".into(), resource);
    }
    let url = if method == "POST" {
        v.rtype.clone()
    } else {
        v.reference()
    };
    e.insert("request".into(), json!({"method": method, "url": url}));
    let status = match method {
        "DELETE" => "204 No Content",
        _ if v.version == 1 => "201 Created",
        _ => "200 OK",
    };
    e.insert(
        "response".into(),
        json!({"status": status, "etag": v.etag(), "lastModified": v.last_updated_instant()}),
    );
    Value::Object(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_their_parameters() {
        let given = vec![(
            "_since".to_string(),
            "2024-01-01T00:00:00+01:00".to_string(),
        )];
        assert_eq!(
            link(
                "http://x/fhir/_history",
                &given,
                &[(PAGE_BEFORE, "7".into())]
            ),
            "http://x/fhir/_history?_since=2024-01-01T00%3A00%3A00%2B01%3A00&_page_before=7"
        );
        assert_eq!(
            link("http://x/fhir/_history", &[], &[]),
            "http://x/fhir/_history"
        );
    }

    #[test]
    fn an_unencoded_plus_in_a_time_zone_is_understood() {
        let plain = parse_instant("_since", "2024-01-01T01:00:00+01:00").unwrap();
        assert_eq!(
            parse_instant("_since", "2024-01-01T01:00:00 01:00").unwrap(),
            plain
        );
        assert!(parse_instant("_since", "yesterday").is_err());
    }
}
