//! Batch and transaction Bundles.
//!
//! - `batch`: each entry on its own, in its own database transaction; a failing entry
//!   gets an error response (status and OperationOutcome) and the others go ahead.
//! - `transaction`: all or nothing, in ONE database transaction, in the order FHIR
//!   prescribes (DELETE, POST, PUT, GET). The `fullUrl`s of created resources
//!   (`urn:uuid:...`) are replaced by their new `Type/id` in every `reference` of the
//!   Bundle's resources and in conditional URLs. Brand-new resources are inserted in bulk.
//!   Reads (`Type/id`, `Type/id/_history/n`) run inside the transaction, so a failed read
//!   fails it; searches and history run after the commit (search opens its own
//!   transaction), so they see the writes but cannot undo them: a failing search gets an
//!   error response of its own.
//!
//! Access: every entry is checked like the interaction it names (a batch entry by that
//! interaction itself; a transaction's entries all before it starts, so one refused
//! entry refuses the whole transaction). A transaction is audited as one entry.

use crate::access::Interaction;
use crate::audit::{Action, AuditRecord, Outcome};
use crate::context::RequestContext;
use crate::error::{FhirError, FhirResult};
use crate::repository::{HistoryRequest, Repository, SearchRequest};
use crate::version::{ResourceVersion, WriteKind, WriteOutcome};
use crate::write::{self, NewResource, Writer, check_body, check_id, check_type, parse_etag};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// What one entry asks for.
#[derive(Debug, Clone)]
enum Op {
    Create {
        rtype: String,
        if_none_exist: Option<String>,
    },
    Update {
        rtype: String,
        id: String,
        if_match: Option<i64>,
    },
    ConditionalUpdate {
        rtype: String,
        criteria: String,
        if_match: Option<i64>,
    },
    Delete {
        rtype: String,
        id: String,
        if_match: Option<i64>,
    },
    ConditionalDelete {
        rtype: String,
        criteria: String,
    },
    Read {
        rtype: String,
        id: String,
    },
    VRead {
        rtype: String,
        id: String,
        version: String,
    },
    Search {
        rtype: Option<String>,
        query: String,
    },
    History {
        rtype: Option<String>,
        id: Option<String>,
        query: String,
    },
}

impl Op {
    /// DELETE, POST, PUT, GET: the order a transaction processes its entries in.
    fn phase(&self) -> u8 {
        match self {
            Op::Delete { .. } | Op::ConditionalDelete { .. } => 0,
            Op::Create { .. } => 1,
            Op::Update { .. } | Op::ConditionalUpdate { .. } => 2,
            _ => 3,
        }
    }
}

struct Entry {
    op: Op,
    resource: Option<Value>,
    full_url: Option<String>,
}

/// `Bundle.entry[3]`
fn location(i: usize) -> String {
    format!("Bundle.entry[{i}]")
}

/// Says which entry an error came from: issue expressions are re-rooted at the entry
/// (`Patient.name[0]` becomes `Bundle.entry[3].resource.name[0]`), messages prefixed.
fn at_entry(i: usize, err: FhirError) -> FhirError {
    let here = location(i);
    let relocate = |issues: Vec<fhir::Issue>| {
        issues
            .into_iter()
            .map(|mut issue| {
                issue.expression = Some(match issue.expression.take() {
                    Some(e) => match e.split_once('.') {
                        Some((_, rest)) => format!("{here}.resource.{rest}"),
                        None => format!("{here}.resource"),
                    },
                    None => here.clone(),
                });
                issue.diagnostics = format!("{here}: {}", issue.diagnostics);
                issue
            })
            .collect()
    };
    match err {
        FhirError::BadRequest(issues) => FhirError::BadRequest(relocate(issues)),
        FhirError::Unprocessable(issues) => FhirError::Unprocessable(relocate(issues)),
        FhirError::NotFound(m) => FhirError::NotFound(format!("{here}: {m}")),
        FhirError::Gone(m) => FhirError::Gone(format!("{here}: {m}")),
        FhirError::Conflict(m) => FhirError::Conflict(format!("{here}: {m}")),
        FhirError::PreconditionFailed(m) => FhirError::PreconditionFailed(format!("{here}: {m}")),
        FhirError::TooCostly(m) => FhirError::TooCostly(format!("{here}: {m}")),
        FhirError::Forbidden(m) => FhirError::Forbidden(format!("{here}: {m}")),
        FhirError::NotAllowed(m) => FhirError::NotAllowed(format!("{here}: {m}")),
        // A lost race or a database failure concerns the whole transaction.
        other @ FhirError::Store(_) => other,
    }
}

fn not_supported(what: String) -> FhirError {
    FhirError::BadRequest(vec![fhir::Issue::error("not-supported", what)])
}

/// Work a caller adds to a transaction Bundle's database transaction (an outbox
/// message): it runs after the entries are written, with their response entries, and
/// an error rolls everything back. It may run more than once if the write is retried.
pub type AlsoInTransaction<'a> =
    &'a mut dyn FnMut(&mut dyn crate::backend::Transaction, &[Value]) -> FhirResult<()>;

pub(crate) fn process(
    repo: &Repository,
    ctx: &RequestContext,
    bundle: Value,
    base_url: &str,
    also: Option<AlsoInTransaction>,
) -> FhirResult<Value> {
    let Value::Object(mut bundle) = bundle else {
        return Err(FhirError::bad_request("the body must be a Bundle"));
    };
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(FhirError::bad_request("the body must be a Bundle"));
    }
    let kind = bundle
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if kind != "batch" && kind != "transaction" {
        return Err(FhirError::bad_request(format!(
            "only batch and transaction Bundles can be processed, not '{kind}'"
        )));
    }
    if kind == "batch" && also.is_some() {
        return Err(FhirError::bad_request(
            "work can be added only to a transaction Bundle, not a batch",
        ));
    }
    let raw_entries = match bundle.shift_remove("entry") {
        None => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(FhirError::bad_request("Bundle.entry must be an array")),
    };
    let responses = if kind == "batch" {
        batch(repo, ctx, raw_entries, base_url)
    } else {
        let mut entries = Vec::with_capacity(raw_entries.len());
        for (i, e) in raw_entries.into_iter().enumerate() {
            entries.push(parse_entry(e, base_url).map_err(|err| at_entry(i, err))?);
        }
        transaction(repo, ctx, entries, base_url, also)?
    };
    Ok(json!({
        "resourceType": "Bundle",
        "id": write::new_id(),
        "type": format!("{kind}-response"),
        "link": [{"relation": "self", "url": base_url}],
        "entry": responses,
    }))
}

fn parse_entry(entry: Value, base_url: &str) -> FhirResult<Entry> {
    let Value::Object(mut entry) = entry else {
        return Err(FhirError::bad_request("a Bundle entry must be an object"));
    };
    let request = entry
        .get("request")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let text = |name: &str| {
        request
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let method =
        text("method").ok_or_else(|| FhirError::bad_request("the entry has no request.method"))?;
    let url = text("url").ok_or_else(|| FhirError::bad_request("the entry has no request.url"))?;
    let if_match = text("ifMatch").map(|m| parse_etag(&m)).transpose()?;
    // Some clients send ifNoneExist as a whole URL (`Patient?identifier=x`): keep the query.
    let if_none_exist = text("ifNoneExist")
        .map(|q| {
            q.split_once('?')
                .map_or(q.clone(), |(_, query)| query.to_string())
        })
        .filter(|q| !q.is_empty());
    let op = parse_op(&method, &url, base_url, if_match, if_none_exist)?;
    let resource = entry.shift_remove("resource");
    if matches!(
        op,
        Op::Create { .. } | Op::Update { .. } | Op::ConditionalUpdate { .. }
    ) && resource.is_none()
    {
        return Err(FhirError::bad_request(format!(
            "{method} {url} needs a resource"
        )));
    }
    let full_url = entry
        .get("fullUrl")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Entry {
        op,
        resource,
        full_url,
    })
}

/// The interaction an entry's method and URL name. URLs are relative to the base
/// (`Patient/1`, `/Patient?identifier=x`) or absolute on this server.
fn parse_op(
    method: &str,
    url: &str,
    base_url: &str,
    if_match: Option<i64>,
    if_none_exist: Option<String>,
) -> FhirResult<Op> {
    let relative = url.strip_prefix(base_url).unwrap_or(url);
    let (path, query) = match relative.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (relative, None),
    };
    if path.contains("://") {
        return Err(FhirError::bad_request(format!(
            "'{url}' is not a URL on this server"
        )));
    }
    let path = path.trim_start_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.iter().any(|s| s.starts_with('$')) {
        return Err(not_supported(format!(
            "operations ({url}) are not supported in Bundles"
        )));
    }
    let bad = || {
        FhirError::bad_request(format!(
            "{method} {url} is not an interaction this server supports"
        ))
    };
    if let Some(t) = segments.first().filter(|t| **t != "_history") {
        check_type(t)?;
    }
    let s = |i: usize| segments[i].to_string();
    let op = match (method, segments.as_slice(), query) {
        ("GET", [], q) => Op::Search {
            rtype: None,
            query: q.unwrap_or_default(),
        },
        ("GET", ["_history"], q) => Op::History {
            rtype: None,
            id: None,
            query: q.unwrap_or_default(),
        },
        ("GET", [_], q) => Op::Search {
            rtype: Some(s(0)),
            query: q.unwrap_or_default(),
        },
        ("GET", [_, "_history"], q) => Op::History {
            rtype: Some(s(0)),
            id: None,
            query: q.unwrap_or_default(),
        },
        ("GET", [_, _], _) => Op::Read {
            rtype: s(0),
            id: s(1),
        },
        ("GET", [_, _, "_history"], q) => Op::History {
            rtype: Some(s(0)),
            id: Some(s(1)),
            query: q.unwrap_or_default(),
        },
        ("GET", [_, _, "_history", _], _) => Op::VRead {
            rtype: s(0),
            id: s(1),
            version: s(3),
        },
        ("POST", [_], None) => Op::Create {
            rtype: s(0),
            if_none_exist,
        },
        ("PUT", [_, _], _) => Op::Update {
            rtype: s(0),
            id: s(1),
            if_match,
        },
        ("PUT", [_], Some(q)) => Op::ConditionalUpdate {
            rtype: s(0),
            criteria: q,
            if_match,
        },
        ("DELETE", [_, _], _) => Op::Delete {
            rtype: s(0),
            id: s(1),
            if_match,
        },
        ("DELETE", [_], Some(q)) => Op::ConditionalDelete {
            rtype: s(0),
            criteria: q,
        },
        ("PATCH" | "HEAD", _, _) => {
            return Err(not_supported(format!(
                "{method} is not supported in Bundles"
            )));
        }
        _ => return Err(bad()),
    };
    Ok(op)
}

// ---------------------------------------------------------------------------------------
// Responses

fn status_text(code: u16) -> &'static str {
    match code {
        200 => "200 OK",
        201 => "201 Created",
        204 => "204 No Content",
        400 => "400 Bad Request",
        403 => "403 Forbidden",
        404 => "404 Not Found",
        409 => "409 Conflict",
        410 => "410 Gone",
        412 => "412 Precondition Failed",
        422 => "422 Unprocessable Entity",
        503 => "503 Service Unavailable",
        _ => "500 Internal Server Error",
    }
}

/// The response entry of a stored (or deleted) version.
fn version_response(base_url: &str, v: &ResourceVersion, status: u16) -> Value {
    json!({
        "fullUrl": format!("{base_url}/{}", v.reference()),
        "response": {
            "status": status_text(status),
            "location": format!("{}/_history/{}", v.reference(), v.version),
            "etag": v.etag(),
            "lastModified": v.last_updated_instant(),
        }
    })
}

fn write_response(base_url: &str, w: &WriteOutcome) -> Value {
    let status = if w.kind == WriteKind::Created {
        201
    } else {
        200
    };
    version_response(base_url, &w.resource, status)
}

fn deleted_response() -> Value {
    json!({"response": {"status": status_text(204)}})
}

/// A read's response entry: the resource itself.
fn read_response(base_url: &str, v: &ResourceVersion) -> Value {
    let mut e = version_response(base_url, v, 200);
    if let (Some(obj), Some(resource)) = (e.as_object_mut(), v.json()) {
        obj.shift_insert(1, "resource".into(), resource);
    }
    e
}

fn error_response(err: &FhirError) -> Value {
    json!({"response": {"status": status_text(err.status()), "outcome": err.outcome()}})
}

// ---------------------------------------------------------------------------------------
// Batch

fn batch(
    repo: &Repository,
    ctx: &RequestContext,
    raw_entries: Vec<Value>,
    base_url: &str,
) -> Vec<Value> {
    raw_entries
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let result =
                parse_entry(raw, base_url).and_then(|e| batch_entry(repo, ctx, e, base_url));
            result.unwrap_or_else(|err| error_response(&at_entry(i, err)))
        })
        .collect()
}

fn batch_entry(
    repo: &Repository,
    ctx: &RequestContext,
    entry: Entry,
    base_url: &str,
) -> FhirResult<Value> {
    let Entry { op, resource, .. } = entry;
    let body = resource.unwrap_or(Value::Null);
    Ok(match op {
        Op::Create {
            rtype,
            if_none_exist,
        } => write_response(
            base_url,
            &repo.create(ctx, &rtype, body, if_none_exist.as_deref())?,
        ),
        Op::Update {
            rtype,
            id,
            if_match,
        } => write_response(base_url, &repo.update(ctx, &rtype, &id, body, if_match)?),
        Op::ConditionalUpdate {
            rtype,
            criteria,
            if_match,
        } => write_response(
            base_url,
            &repo.conditional_update(ctx, &rtype, &criteria, body, if_match)?,
        ),
        Op::Delete {
            rtype,
            id,
            if_match,
        } => {
            check_id(&id)?;
            repo.permit_write(ctx, &rtype, Interaction::Delete, "delete")?;
            repo.write_tx(ctx, if_match.is_some(), |w| {
                delete_checked(w, &rtype, &id, if_match)
            })?;
            deleted_response()
        }
        Op::ConditionalDelete { rtype, criteria } => {
            repo.conditional_delete(ctx, &rtype, &criteria)?;
            deleted_response()
        }
        Op::Read { rtype, id } => read_response(base_url, &repo.read(ctx, &rtype, &id)?),
        Op::VRead { rtype, id, version } => {
            read_response(base_url, &repo.vread(ctx, &rtype, &id, &version)?)
        }
        get @ (Op::Search { .. } | Op::History { .. }) => query_response(repo, ctx, get, base_url)?,
    })
}

/// A delete honouring `ifMatch`.
fn delete_checked(
    w: &mut Writer,
    rtype: &str,
    id: &str,
    if_match: Option<i64>,
) -> FhirResult<Option<ResourceVersion>> {
    if let Some(expected) = if_match {
        let current = w.current(rtype, id)?.map(|c| c.version);
        if current != Some(expected) {
            return Err(FhirError::PreconditionFailed(format!(
                "{rtype}/{id} is not at version {expected}"
            )));
        }
    }
    w.delete(rtype, id)
}

/// A search or history entry: the resulting Bundle as the entry's resource.
fn query_response(
    repo: &Repository,
    ctx: &RequestContext,
    op: Op,
    base_url: &str,
) -> FhirResult<Value> {
    let result = match op {
        Op::Search { rtype, query } => repo.search(
            ctx,
            &SearchRequest {
                rtype,
                params: decode_query(&query),
                base_url: base_url.into(),
                lenient: false,
            },
        )?,
        Op::History { rtype, id, query } => repo.history(
            ctx,
            &HistoryRequest {
                rtype,
                id,
                params: decode_query(&query),
                base_url: base_url.into(),
            },
        )?,
        _ => unreachable!("only searches and history are queries"),
    };
    // Not `json!`, which would copy the resource by serialising it.
    let mut entry = serde_json::Map::with_capacity(2);
    entry.insert("resource".into(), result);
    entry.insert("response".into(), json!({"status": status_text(200)}));
    Ok(Value::Object(entry))
}

fn decode_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

// ---------------------------------------------------------------------------------------
// Transaction

fn transaction(
    repo: &Repository,
    ctx: &RequestContext,
    mut entries: Vec<Entry>,
    base_url: &str,
    mut also: Option<AlsoInTransaction>,
) -> FhirResult<Vec<Value>> {
    // Everything that needs no database happens before the transaction opens.
    let checked = crate::parallel::map(entries.iter().collect(), check_entry);
    if let Some((i, err)) = checked
        .into_iter()
        .enumerate()
        .find_map(|(i, r)| r.err().map(|e| (i, e)))
    {
        return Err(at_entry(i, err));
    }
    for (i, e) in entries.iter().enumerate() {
        permit_entry(repo, ctx, &e.op).map_err(|err| at_entry(i, err))?;
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| entries[i].op.phase());
    // Plain POSTs get their ids now, so a retried transaction reuses them.
    let post_ids: Vec<Option<String>> = entries
        .iter()
        .map(|e| {
            matches!(
                e.op,
                Op::Create {
                    if_none_exist: None,
                    ..
                }
            )
            .then(write::new_id)
        })
        .collect();
    let resources: Vec<Option<Value>> = entries.iter_mut().map(|e| e.resource.take()).collect();
    let if_match_given = entries.iter().any(|e| {
        matches!(
            e.op,
            Op::Update {
                if_match: Some(_),
                ..
            } | Op::ConditionalUpdate {
                if_match: Some(_),
                ..
            } | Op::Delete {
                if_match: Some(_),
                ..
            }
        )
    });

    let mut responses = repo.write_tx(ctx, if_match_given, |w| {
        w.audit_as_one = Some("transaction");
        let mut run = TransactionRun {
            w,
            base_url,
            entries: &entries,
            targets: vec![None; entries.len()],
            responses: vec![None; entries.len()],
            refs: HashMap::new(),
        };
        run.execute(&order, &post_ids, resources.clone())?;
        if let Some(also) = also.as_mut() {
            let written: Vec<Value> = run
                .responses
                .iter()
                .map(|r| r.clone().unwrap_or(Value::Null))
                .collect();
            also(&mut *run.w.tx, &written)?;
        }
        Ok(run.responses)
    })?;

    // Searches and history after the commit: they see the writes.
    let refs = responses_refs(&entries, &responses);
    for &i in &order {
        if matches!(entries[i].op, Op::Search { .. } | Op::History { .. }) {
            let op = rewrite_query_op(entries[i].op.clone(), &refs);
            responses[i] = Some(
                query_response(repo, ctx, op, base_url)
                    .unwrap_or_else(|e| error_response(&at_entry(i, e))),
            );
        }
    }
    Ok(responses
        .into_iter()
        .map(|r| r.unwrap_or(Value::Null))
        .collect())
}

/// Refuses a transaction entry `ctx` may not perform (searches and history are checked
/// when they run, after the commit).
fn permit_entry(repo: &Repository, ctx: &RequestContext, op: &Op) -> FhirResult<()> {
    match op {
        Op::Create { rtype, .. } => repo.permit_write(ctx, rtype, Interaction::Create, "create"),
        Op::Update { rtype, .. } | Op::ConditionalUpdate { rtype, .. } => {
            repo.permit_write(ctx, rtype, Interaction::Update, "update")
        }
        Op::Delete { rtype, .. } | Op::ConditionalDelete { rtype, .. } => {
            repo.permit_write(ctx, rtype, Interaction::Delete, "delete")
        }
        Op::Read { rtype, .. } => repo.permit(ctx, rtype, Interaction::Read, "read"),
        Op::VRead { rtype, .. } => repo.permit(ctx, rtype, Interaction::Read, "vread"),
        Op::Search { .. } | Op::History { .. } => Ok(()),
    }
}

/// Checks an entry's resource against its URL, before the transaction.
fn check_entry(e: &Entry) -> FhirResult<()> {
    let body = e.resource.as_ref();
    match &e.op {
        Op::Create { rtype, .. } => check_body(rtype, body.unwrap_or(&Value::Null), None),
        Op::Update { rtype, id, .. } => check_body(rtype, body.unwrap_or(&Value::Null), Some(id)),
        Op::ConditionalUpdate { rtype, .. } => {
            let body = body.unwrap_or(&Value::Null);
            check_body(rtype, body, body.get("id").and_then(Value::as_str))
        }
        Op::Delete { id, .. } => check_id(id),
        _ => Ok(()),
    }
}

/// The fullUrl → `Type/id` map a committed transaction established, for its searches.
fn responses_refs(entries: &[Entry], responses: &[Option<Value>]) -> HashMap<String, String> {
    let mut refs = HashMap::new();
    for (e, r) in entries.iter().zip(responses) {
        let location = r.as_ref().and_then(|r| r["response"]["location"].as_str());
        if let (Some(full_url), Some(location)) = (
            e.full_url.as_ref().filter(|u| u.starts_with("urn:")),
            location,
        ) && let Some((reference, _)) = location.split_once("/_history/")
        {
            refs.insert(full_url.clone(), reference.to_string());
        }
    }
    refs
}

fn rewrite_query_op(op: Op, refs: &HashMap<String, String>) -> Op {
    match op {
        Op::Search { rtype, query } => Op::Search {
            rtype,
            query: rewrite_url(&query, refs),
        },
        Op::History { rtype, id, query } => Op::History {
            rtype,
            id,
            query: rewrite_url(&query, refs),
        },
        other => other,
    }
}

/// One attempt at a transaction, inside its database transaction.
struct TransactionRun<'a, 'w, 'tx> {
    w: &'w mut Writer<'tx>,
    base_url: &'a str,
    entries: &'a [Entry],
    /// The `Type/id` each write entry resolved to (None: nothing to write).
    targets: Vec<Option<(String, String)>>,
    responses: Vec<Option<Value>>,
    /// fullUrl (`urn:uuid:...`) → `Type/id`.
    refs: HashMap<String, String>,
}

impl TransactionRun<'_, '_, '_> {
    fn execute(
        &mut self,
        order: &[usize],
        post_ids: &[Option<String>],
        mut resources: Vec<Option<Value>>,
    ) -> FhirResult<()> {
        for &i in order {
            self.resolve(i, post_ids[i].as_deref())
                .map_err(|e| at_entry(i, e))?;
        }
        self.check_distinct_targets()?;
        // Every id is known now: point the Bundle's references at them.
        if !self.refs.is_empty() {
            for r in resources.iter_mut().flatten() {
                rewrite_references(r, &self.refs);
            }
        }
        let mut new = Vec::new();
        let mut new_entries = Vec::new();
        for &i in order {
            let Some((rtype, id)) = self.targets[i].clone() else {
                continue;
            };
            let body = resources[i].take().unwrap_or(Value::Null);
            match &self.entries[i].op {
                Op::Create { .. } => {
                    new.push(NewResource {
                        rtype,
                        id,
                        method: "POST",
                        body,
                    });
                    new_entries.push(i);
                }
                Op::Update { if_match, .. } | Op::ConditionalUpdate { if_match, .. } => {
                    let cur = self
                        .w
                        .current(&rtype, &id)
                        .map_err(|e| at_entry(i, e.into()))?;
                    if cur.is_none() && if_match.is_none() {
                        new.push(NewResource {
                            rtype,
                            id,
                            method: "PUT",
                            body,
                        });
                        new_entries.push(i);
                    } else {
                        let outcome = self
                            .w
                            .update_from(cur, &rtype, &id, body, *if_match, "PUT")
                            .map_err(|e| at_entry(i, e))?;
                        self.responses[i] = Some(write_response(self.base_url, &outcome));
                    }
                }
                _ => {}
            }
        }
        let created = self.w.insert_new(new)?;
        for (i, v) in new_entries.into_iter().zip(created) {
            self.responses[i] = Some(version_response(self.base_url, &v, 201));
        }
        for &i in order {
            let read = match &self.entries[i].op {
                Op::Read { rtype, id } => {
                    write::read_checked(&mut *self.w.tx, self.w.ctx, rtype, id)
                }
                Op::VRead { rtype, id, version } => {
                    write::vread_checked(&mut *self.w.tx, self.w.ctx, rtype, id, version)
                }
                _ => continue,
            };
            let (found, access) = read.map_err(|e| at_entry(i, e))?;
            let mut record = AuditRecord::new("read", Action::Read, Outcome::Success)
                .entity(format!("{}/_history/{}", found.reference(), found.version));
            if let Some(p) = access.patient_id {
                record = record.patient(p);
            }
            self.w.audit.push(record);
            self.responses[i] = Some(read_response(self.base_url, &found));
        }
        Ok(())
    }

    /// Deletes now; decides the id of every other write (conditional ones by searching)
    /// and records fullUrl → `Type/id`.
    fn resolve(&mut self, i: usize, post_id: Option<&str>) -> FhirResult<()> {
        let entries = self.entries;
        let entry = &entries[i];
        let target = match &entry.op {
            Op::Delete {
                rtype,
                id,
                if_match,
            } => {
                delete_checked(self.w, rtype, id, *if_match)?;
                self.targets[i] = Some((rtype.clone(), id.clone()));
                self.responses[i] = Some(deleted_response());
                return Ok(());
            }
            Op::ConditionalDelete { rtype, criteria } => {
                self.w.conditional_delete(rtype, criteria)?;
                self.responses[i] = Some(deleted_response());
                return Ok(());
            }
            Op::Create {
                rtype,
                if_none_exist: None,
            } => (rtype.clone(), post_id.unwrap_or_default().to_string()),
            Op::Create {
                rtype,
                if_none_exist: Some(criteria),
            } => {
                let criteria = rewrite_url(criteria, &self.refs);
                match self.w.existing_match(rtype, &criteria)? {
                    Some(existing) => {
                        self.refs_insert(entry, existing.reference());
                        self.responses[i] = Some(version_response(self.base_url, &existing, 200));
                        return Ok(());
                    }
                    None => (rtype.clone(), write::new_id()),
                }
            }
            Op::Update { rtype, id, .. } => (rtype.clone(), id.clone()),
            Op::ConditionalUpdate {
                rtype, criteria, ..
            } => {
                let criteria = rewrite_url(criteria, &self.refs);
                let body_id = entry
                    .resource
                    .as_ref()
                    .and_then(|r| r.get("id"))
                    .and_then(Value::as_str);
                (
                    rtype.clone(),
                    self.w.conditional_target(rtype, &criteria, body_id)?,
                )
            }
            _ => return Ok(()),
        };
        self.refs_insert(entry, format!("{}/{}", target.0, target.1));
        self.targets[i] = Some(target);
        Ok(())
    }

    /// Records where a `urn:uuid:` / `urn:oid:` fullUrl went. Other fullUrls (absolute
    /// URLs) name real locations, possibly on other servers, and are left alone.
    fn refs_insert(&mut self, entry: &Entry, reference: String) {
        if let Some(full_url) = entry.full_url.as_ref().filter(|u| u.starts_with("urn:")) {
            self.refs.insert(full_url.clone(), reference);
        }
    }

    /// FHIR: a transaction touching one resource twice is an error.
    fn check_distinct_targets(&self) -> FhirResult<()> {
        let mut seen = HashSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            if let Some(t) = t
                && !seen.insert(t)
            {
                return Err(at_entry(
                    i,
                    FhirError::bad_request(format!(
                        "{}/{} is changed by more than one entry",
                        t.0, t.1
                    )),
                ));
            }
        }
        Ok(())
    }
}

/// Replaces every `reference` naming a key of `refs` (a fullUrl) with its `Type/id`,
/// however deeply nested.
fn rewrite_references(value: &mut Value, refs: &HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "reference"
                    && let Value::String(s) = v
                {
                    if let Some(target) = refs.get(s.as_str()) {
                        *s = target.clone();
                    }
                    continue;
                }
                rewrite_references(v, refs);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_references(v, refs)),
        _ => {}
    }
}

/// Replaces fullUrls in a conditional URL or query, written plainly or percent-encoded.
fn rewrite_url(url: &str, refs: &HashMap<String, String>) -> String {
    if !url.contains("urn") {
        return url.to_string();
    }
    let mut out = url.to_string();
    for (full_url, target) in refs {
        if out.contains(full_url.as_str()) {
            out = out.replace(full_url.as_str(), target);
        }
        let encoded: String = form_urlencoded::byte_serialize(full_url.as_bytes()).collect();
        if out.contains(encoded.as_str()) {
            out = out.replace(
                encoded.as_str(),
                &form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_rewritten_at_any_depth() {
        let refs = HashMap::from([("urn:uuid:1".to_string(), "Patient/abc".to_string())]);
        let mut r = json!({"resourceType": "Observation", "subject": {"reference": "urn:uuid:1"},
            "component": [{"extension": [{"valueReference": {"reference": "urn:uuid:1"}}]}],
            "note": [{"text": "urn:uuid:1"}], "performer": [{"reference": "urn:uuid:2"}]});
        rewrite_references(&mut r, &refs);
        assert_eq!(r["subject"]["reference"], "Patient/abc");
        assert_eq!(
            r["component"][0]["extension"][0]["valueReference"]["reference"],
            "Patient/abc"
        );
        assert_eq!(r["note"][0]["text"], "urn:uuid:1", "only references change");
        assert_eq!(r["performer"][0]["reference"], "urn:uuid:2");
    }

    #[test]
    fn conditional_urls_are_rewritten_plain_or_encoded() {
        let refs = HashMap::from([("urn:uuid:1".to_string(), "Patient/abc".to_string())]);
        assert_eq!(
            rewrite_url("subject=urn:uuid:1&code=x", &refs),
            "subject=Patient/abc&code=x"
        );
        assert_eq!(
            rewrite_url("subject=urn%3Auuid%3A1", &refs),
            "subject=Patient%2Fabc"
        );
    }

    #[test]
    fn urls_name_interactions() {
        let base = "http://h/fhir";
        assert!(matches!(
            parse_op("GET", "/Patient/1", base, None, None).unwrap(),
            Op::Read { .. }
        ));
        assert!(matches!(
            parse_op(
                "GET",
                "http://h/fhir/Patient/1/_history/2",
                base,
                None,
                None
            )
            .unwrap(),
            Op::VRead { .. }
        ));
        assert!(matches!(
            parse_op("GET", "Patient?name=x", base, None, None).unwrap(),
            Op::Search { .. }
        ));
        assert!(matches!(
            parse_op("PUT", "Patient?identifier=https://x|1", base, None, None).unwrap(),
            Op::ConditionalUpdate { .. }
        ));
        assert!(matches!(
            parse_op("DELETE", "Patient?identifier=x", base, None, None).unwrap(),
            Op::ConditionalDelete { .. }
        ));
        assert_eq!(
            parse_op("POST", "ValueSet/$lookup", base, None, None)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse_op("GET", "http://elsewhere/fhir/Patient/1", base, None, None)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse_op("GET", "Nonsense/1", base, None, None)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse_op("DELETE", "Patient", base, None, None)
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn errors_name_their_entry() {
        let err = at_entry(
            3,
            FhirError::Unprocessable(vec![
                fhir::Issue::error("value", "bad").at("Patient.birthDate"),
            ]),
        );
        let issue = &err.issues()[0];
        assert_eq!(
            issue.expression.as_deref(),
            Some("Bundle.entry[3].resource.birthDate")
        );
        let err = at_entry(2, FhirError::PreconditionFailed("stale".into()));
        assert!(err.issues()[0].diagnostics.starts_with("Bundle.entry[2]"));
    }
}
