//! Reading a page of results, and the snapshots that keep paging stable while others
//! write: a search spanning several pages stores its ordered (resource, version) list
//! once, and every page is read from it.

use super::sql::{Selection, placeholders};
use super::visibility::{snapshot_owner, visibility};
use crate::backend::{SqlValue, Transaction};
use crate::context::RequestContext;
use crate::error::{FhirError, FhirResult};

/// A resource in a result page, with its body as stored.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub pk: i64,
    pub rtype: String,
    pub id: String,
    pub body: String,
}

impl Found {
    /// From a `pk, rtype, id, body` row.
    pub fn from_row(row: Vec<SqlValue>) -> FhirResult<Found> {
        let mut it = row.into_iter();
        let mut next = || it.next().unwrap_or(SqlValue::Null);
        let pk = next().as_i64();
        let (rtype, id, body) = (
            next().into_string(),
            next().into_string(),
            next().into_string(),
        );
        match (pk, rtype, id, body) {
            (Some(pk), Some(rtype), Some(id), Some(body)) => Ok(Found {
                pk,
                rtype,
                id,
                body,
            }),
            _ => Err(FhirError::Store(crate::StoreError::Backend(
                "unexpected result row in search".into(),
            ))),
        }
    }
}

/// The current bodies of the resources at `pks`, in that order (one query).
pub(crate) fn load_current(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    pks: &[i64],
) -> FhirResult<Vec<Found>> {
    if pks.is_empty() {
        return Ok(vec![]);
    }
    let mut args: Vec<SqlValue> = pks.iter().map(|pk| SqlValue::Int(*pk)).collect();
    args.push(ctx.practice.as_str().into());
    let visible = visibility(ctx, "r");
    args.extend(visible.args);
    // Driven by the primary keys (CROSS JOIN fixes the order on SQLite): left to
    // itself, SQLite may scan the practice's rows on its index instead.
    let sql = format!(
        "SELECT r.pk, r.rtype, r.id, v.body FROM (SELECT pk FROM resources WHERE pk IN ({})) d \
         CROSS JOIN resources r CROSS JOIN resource_versions v \
         WHERE r.pk = d.pk AND r.practice = ? AND NOT r.deleted AND r.practice = v.practice AND v.rtype = r.rtype AND v.id = r.id AND v.version = r.version \
         AND ({})",
        placeholders(pks.len()),
        visible.sql
    );
    let mut by_pk: std::collections::HashMap<i64, Found> = tx
        .query(&sql, &args)?
        .into_iter()
        .map(Found::from_row)
        .map(|f| f.map(|f| (f.pk, f)))
        .collect::<FhirResult<_>>()?;
    Ok(pks.iter().filter_map(|pk| by_pk.remove(pk)).collect())
}

/// A stored search: its id, when it was made, how many results it has and the query
/// that made it (`Type?params`, for the includes and shaping of later pages).
pub(crate) struct Snapshot {
    pub id: String,
    /// Every match of the search, even beyond what the snapshot could hold.
    pub total: i64,
    /// How many rows the snapshot holds (pages beyond them do not exist).
    pub rows: i64,
    pub query: String,
}

/// Stores the ordered matches of `sel` (at most `max_rows`) as a new snapshot made at
/// `now`, and with `clean` removes this practice's expired ones.
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_snapshot(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    sel: &Selection,
    query: &str,
    max_rows: usize,
    ttl_secs: i64,
    now: i64,
    clean: bool,
) -> FhirResult<Snapshot> {
    if clean {
        let expired = [
            SqlValue::from(ctx.practice.as_str()),
            SqlValue::Int(now - ttl_secs * 1_000_000),
        ];
        tx.execute(
            "DELETE FROM search_snapshot_rows WHERE snapshot_id IN \
             (SELECT id FROM search_snapshots WHERE practice = ? AND created < ?)",
            &expired,
        )?;
        tx.execute(
            "DELETE FROM search_snapshots WHERE practice = ? AND created < ?",
            &expired,
        )?;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let (sql, args) = sel.snapshot_insert(&id, max_rows);
    let rows = tx.execute(&sql, &args)? as i64;
    let total = if rows as usize >= max_rows {
        let (sql, args) = sel.count_query();
        tx.query(&sql, &args)?
            .first()
            .and_then(|r| r[0].as_i64())
            .unwrap_or(rows)
    } else {
        rows
    };
    tx.execute(
        "INSERT INTO search_snapshots (id, practice, created, total, query, owner) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            id.as_str().into(),
            ctx.practice.as_str().into(),
            now.into(),
            total.into(),
            query.into(),
            snapshot_owner(ctx).into(),
        ],
    )?;
    Ok(Snapshot {
        id,
        total,
        rows,
        query: query.to_string(),
    })
}

/// The snapshot `id` of this practice, made by this requester with the same access;
/// NotFound if unknown (or someone else's), Gone once expired.
pub(crate) fn open_snapshot(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    id: &str,
    ttl_secs: i64,
    max_rows: usize,
) -> FhirResult<Snapshot> {
    let rows = tx.query(
        "SELECT total, query, created FROM search_snapshots WHERE id = ? AND practice = ? AND owner = ?",
        &[
            id.into(),
            ctx.practice.as_str().into(),
            snapshot_owner(ctx).into(),
        ],
    )?;
    let Some(row) = rows.into_iter().next() else {
        return Err(FhirError::NotFound(format!(
            "no search results '{id}': run the search again"
        )));
    };
    let (total, created) = (row[0].as_i64().unwrap_or(0), row[2].as_i64().unwrap_or(0));
    if created < crate::time::now_micros() - ttl_secs * 1_000_000 {
        return Err(FhirError::Gone(format!(
            "search results '{id}' have expired: run the search again"
        )));
    }
    let query = row[1].as_str().unwrap_or_default().to_string();
    Ok(Snapshot {
        id: id.to_string(),
        total,
        rows: total.min(max_rows as i64),
        query,
    })
}

/// Positions `[offset, offset + count)` of a snapshot, as the versions it recorded.
pub(crate) fn load_snapshot_page(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    snapshot_id: &str,
    offset: usize,
    count: usize,
) -> FhirResult<Vec<Found>> {
    let visible = visibility(ctx, "r");
    let mut args: Vec<SqlValue> = vec![
        snapshot_id.into(),
        (offset as i64).into(),
        (offset.saturating_add(count) as i64).into(),
        ctx.practice.as_str().into(),
    ];
    args.extend(visible.args);
    // The rules are applied again: a resource may have become restricted since.
    let rows = tx.query(
        &format!(
            "SELECT r.pk, v.rtype, v.id, v.body FROM search_snapshot_rows s \
             CROSS JOIN resources r CROSS JOIN resource_versions v \
             WHERE s.snapshot_id = ? AND s.pos >= ? AND s.pos < ? AND r.pk = s.res_pk AND r.practice = ? \
             AND v.practice = r.practice AND v.rtype = r.rtype AND v.id = r.id AND v.version = s.version \
             AND v.body IS NOT NULL AND ({}) ORDER BY s.pos",
            visible.sql
        ),
        &args,
    )?;
    rows.into_iter().map(Found::from_row).collect()
}
