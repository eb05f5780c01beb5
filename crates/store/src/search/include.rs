//! `_include` and `_revinclude`: the resources a page's matches reference, and those
//! that reference them, each fetched with one query per include parameter, and only
//! those the requester may see.

use super::page::Found;
use super::params::{Include, Query};
use super::sql::placeholders;
use super::visibility::visibility;
use crate::backend::{SqlValue, Transaction};
use crate::context::RequestContext;
use crate::error::FhirResult;
use std::collections::HashSet;

/// Sources per query: far below every backend's limit on bound values.
const CHUNK: usize = 500;

/// The resources `q`'s includes add to `matches` (none of them twice, none already a
/// match). `:iterate` includes are applied once more to what the first pass found.
pub(crate) fn resolve(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    q: &Query,
    matches: &[Found],
) -> FhirResult<Vec<Found>> {
    if matches.is_empty() || (q.includes.is_empty() && q.revincludes.is_empty()) {
        return Ok(vec![]);
    }
    let mut seen: HashSet<i64> = matches.iter().map(|m| m.pk).collect();
    let mut found = Vec::new();
    let mut add = |new: Vec<Found>, out: &mut Vec<Found>| {
        for f in new {
            if seen.insert(f.pk) {
                out.push(f);
            }
        }
    };
    for inc in &q.includes {
        add(forward(tx, ctx, inc, matches)?, &mut found);
    }
    for inc in &q.revincludes {
        add(reverse(tx, ctx, inc, matches)?, &mut found);
    }
    let first_pass = found.clone();
    for inc in q.includes.iter().filter(|i| i.iterate) {
        add(forward(tx, ctx, inc, &first_pass)?, &mut found);
    }
    for inc in q.revincludes.iter().filter(|i| i.iterate) {
        add(reverse(tx, ctx, inc, &first_pass)?, &mut found);
    }
    Ok(found)
}

fn sources<'a>(inc: &Include, from: &'a [Found]) -> Vec<&'a Found> {
    from.iter()
        .filter(|f| inc.source.as_deref().is_none_or(|s| s == f.rtype))
        .collect()
}

/// The resources that `from` reference through `inc.param`.
fn forward(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    inc: &Include,
    from: &[Found],
) -> FhirResult<Vec<Found>> {
    let mut out = Vec::new();
    for src in sources(inc, from).chunks(CHUNK) {
        out.extend(forward_chunk(tx, ctx, inc, src)?);
    }
    Ok(out)
}

fn forward_chunk(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    inc: &Include,
    src: &[&Found],
) -> FhirResult<Vec<Found>> {
    // CROSS JOIN keeps SQLite on this order: the sources' rows by res_pk, then each
    // target by its unique key (it otherwise may scan the practice's resources).
    let mut sql = format!(
        "SELECT t.pk, t.rtype, t.id, v.body FROM idx_reference x CROSS JOIN resources t \
         CROSS JOIN resource_versions v \
         WHERE x.practice = ? AND x.res_pk IN ({}) AND t.practice = ? AND t.rtype = x.target_type AND t.id = x.target_id \
         AND NOT t.deleted AND t.practice = v.practice AND v.rtype = t.rtype AND v.id = t.id AND v.version = t.version",
        placeholders(src.len())
    );
    let mut args: Vec<SqlValue> = vec![ctx.practice.as_str().into()];
    args.extend(src.iter().map(|f| SqlValue::Int(f.pk)));
    args.push(ctx.practice.as_str().into());
    let visible = visibility(ctx, "t");
    sql.push_str(&format!(" AND ({})", visible.sql));
    args.extend(visible.args);
    // The sources are already of the include's type: naming it again (x.rtype = ?)
    // would tempt SQLite onto the (rtype, param) index instead of res_pk.
    if let Some(p) = &inc.param {
        sql.push_str(" AND x.param = ?");
        args.push(p.as_str().into());
    }
    if let Some(t) = &inc.target {
        sql.push_str(" AND x.target_type = ?");
        args.push(t.as_str().into());
    }
    sql.push_str(" ORDER BY t.pk");
    tx.query(&sql, &args)?
        .into_iter()
        .map(Found::from_row)
        .collect()
}

/// The resources (of `inc.source`) that reference any of `from` through `inc.param`.
fn reverse(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    inc: &Include,
    from: &[Found],
) -> FhirResult<Vec<Found>> {
    let mut out = Vec::new();
    let mut types: Vec<&str> = from.iter().map(|f| f.rtype.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    for target_type in types {
        if inc.target.as_deref().is_some_and(|t| t != target_type) {
            continue;
        }
        let all_ids: Vec<SqlValue> = from
            .iter()
            .filter(|f| f.rtype == target_type)
            .map(|f| f.id.as_str().into())
            .collect();
        for ids in all_ids.chunks(CHUNK) {
            out.extend(reverse_chunk(tx, ctx, inc, target_type, ids.to_vec())?);
        }
    }
    Ok(out)
}

fn reverse_chunk(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    inc: &Include,
    target_type: &str,
    ids: Vec<SqlValue>,
) -> FhirResult<Vec<Found>> {
    let mut sql = format!(
        "SELECT s.pk, s.rtype, s.id, v.body FROM idx_reference x CROSS JOIN resources s \
         CROSS JOIN resource_versions v \
         WHERE x.practice = ? AND x.target_id IN ({}) AND x.target_type = ? \
         AND s.pk = x.res_pk AND s.practice = ? \
         AND NOT s.deleted AND s.practice = v.practice AND v.rtype = s.rtype AND v.id = s.id AND v.version = s.version",
        placeholders(ids.len())
    );
    let mut args = vec![SqlValue::from(ctx.practice.as_str())];
    args.extend(ids);
    args.extend([SqlValue::from(target_type), ctx.practice.as_str().into()]);
    let visible = visibility(ctx, "s");
    sql.push_str(&format!(" AND ({})", visible.sql));
    args.extend(visible.args);
    narrow(&mut sql, &mut args, inc);
    sql.push_str(" ORDER BY s.pk");
    tx.query(&sql, &args)?
        .into_iter()
        .map(Found::from_row)
        .collect()
}

/// Limits the index rows to the include's source type and parameter, when it names them.
fn narrow(sql: &mut String, args: &mut Vec<SqlValue>, inc: &Include) {
    if let Some(s) = &inc.source {
        sql.push_str(" AND x.rtype = ?");
        args.push(s.as_str().into());
    }
    if let Some(p) = &inc.param {
        sql.push_str(" AND x.param = ?");
        args.push(p.as_str().into());
    }
}
