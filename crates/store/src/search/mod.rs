//! FHIR search: parsing the query ([`params`]), compiling each parameter to SQL
//! ([`filter`], [`sql`]), paging over stable snapshots ([`page`]), `_include` /
//! `_revinclude` ([`include`]) and the searchset Bundle ([`bundle`]).
//!
//! A search whose results fit in one page is answered from one read transaction and
//! writes nothing. A larger one stores its ordered result list as a snapshot, and its
//! pages (`?_getpages=<snapshot>&_getpagesoffset=N&_count=M`) are read from it, so
//! clients paging through it see no duplicates or gaps while others write.

mod bundle;
mod everything;
mod filter;
mod include;
mod page;
mod params;
mod sql;
pub(crate) mod visibility;

use crate::access::Interaction;
use crate::audit::{Action, AuditRecord, Outcome};
use crate::backend::{Transaction, TxMode};
use crate::context::RequestContext;
use crate::error::{FhirError, FhirResult};
use crate::repository::{Repository, SearchRequest};
use bundle::Searchset;
use filter::Scope;
use page::Found;
use params::{Limits, Query, Summary, Total};
use serde_json::Value;
use sql::Cond;

/// A resource that matches search criteria (its current version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Match {
    pub pk: i64,
    pub id: String,
    pub version: i64,
}

/// Every current resource of `rtype` matching `criteria` (a query string such as
/// `identifier=http://x|123&birthdate=1970`, percent-encoded), inside the caller's
/// transaction: used by conditional create/update/delete and transaction Bundles.
pub(crate) fn find_matches(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    rtype: &str,
    criteria: &str,
) -> FhirResult<Vec<Match>> {
    let criteria = criteria.strip_prefix('?').unwrap_or(criteria);
    let params: Vec<(String, String)> = form_urlencoded::parse(criteria.as_bytes())
        .into_owned()
        .collect();
    if params.is_empty() {
        return Err(FhirError::bad_request("conditional criteria are empty"));
    }
    let scope = Scope {
        rtype: Some(rtype),
        practice: &ctx.practice,
        base_url: "",
        ctx: Some(ctx),
    };
    let limits = Limits {
        default_count: usize::MAX,
        max_count: usize::MAX,
    };
    let q = parse_visible(ctx, &scope, &params, limits, false)?;
    let (sql, args) = q.selection.all_query();
    tx.query(&sql, &args)?
        .into_iter()
        .map(
            |row| match (row[0].as_i64(), row[1].as_str(), row[2].as_i64()) {
                (Some(pk), Some(id), Some(version)) => Ok(Match {
                    pk,
                    id: id.to_string(),
                    version,
                }),
                _ => Err(FhirError::Store(crate::StoreError::Backend(
                    "unexpected row in find_matches".into(),
                ))),
            },
        )
        .collect()
}

/// Parses a search and limits it to what `ctx` may see.
fn parse_visible(
    ctx: &RequestContext,
    scope: &Scope,
    params: &[(String, String)],
    limits: Limits,
    lenient: bool,
) -> FhirResult<Query> {
    let mut q = params::parse(scope, params, limits, lenient)?;
    q.restrict_to(ctx);
    Ok(q)
}

impl Query {
    /// Adds the access rules of `ctx` to the selection (see [`visibility`]).
    pub(crate) fn restrict_to(&mut self, ctx: &RequestContext) {
        let filter = std::mem::replace(&mut self.selection.filter, Cond::all(vec![]));
        self.selection.filter = Cond::all(vec![filter, visibility::visibility(ctx, "r")]);
    }
}

/// Whether a search that has more matches than its page keeps a snapshot for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paging {
    Snapshot,
    FirstPageOnly,
}

/// Where a search's Bundle links point and what its snapshot records.
pub(crate) struct Origin<'a> {
    pub base_url: &'a str,
    /// The URL of the search as asked (the `self` link of its first page).
    pub self_url: String,
    /// Stored with a snapshot, so later pages can be shaped the same way.
    pub stored_query: String,
}

impl Repository {
    /// A searchset Bundle for `req` (including `_getpages` page requests), limited to
    /// what `ctx` may see, and audited. A search of one type needs the search permission
    /// for it; a search across types covers the types `ctx` may read.
    pub fn search(&self, ctx: &RequestContext, req: &SearchRequest) -> FhirResult<Value> {
        self.search_paged(ctx, req, Paging::Snapshot)
    }

    /// The first page of a search only, with no snapshot kept for later pages (and so no
    /// `next` link): for type-ahead lists and summaries that show the top results and
    /// never page. Otherwise exactly [`Repository::search`]: the same access rules and
    /// the same audit entry. Keeping a snapshot costs a write of every match, which a
    /// broad search as you type ("smi") cannot afford on every keystroke.
    pub fn search_first_page(
        &self,
        ctx: &RequestContext,
        req: &SearchRequest,
    ) -> FhirResult<Value> {
        self.search_paged(ctx, req, Paging::FirstPageOnly)
    }

    fn search_paged(
        &self,
        ctx: &RequestContext,
        req: &SearchRequest,
        paging: Paging,
    ) -> FhirResult<Value> {
        let event = match &req.rtype {
            Some(_) => "search-type",
            None => "search-system",
        };
        match req.rtype.as_deref() {
            Some(rtype) => self.permit(ctx, rtype, Interaction::Search, event)?,
            None => self.permit_some_reading(ctx, event)?,
        }
        let bundle = match req.rtype.as_deref() {
            Some("AuditEvent") => self.audit.search_events(ctx, &req.audit_events())?,
            _ => self.search_visible(ctx, req, paging)?,
        };
        let record = AuditRecord::new(event, Action::Execute, Outcome::Success)
            .query(encode(&req.params))
            .with_bundle_entries(&bundle);
        self.audit_read(ctx, record)?;
        Ok(bundle)
    }

    fn search_visible(
        &self,
        ctx: &RequestContext,
        req: &SearchRequest,
        paging: Paging,
    ) -> FhirResult<Value> {
        if let Some((_, snapshot)) = req.params.iter().find(|(k, _)| k == "_getpages") {
            return self.search_page(ctx, req, snapshot);
        }
        let scope = Scope {
            rtype: req.rtype.as_deref(),
            practice: &ctx.practice,
            base_url: &req.base_url,
            ctx: Some(ctx),
        };
        let q = parse_visible(ctx, &scope, &req.params, self.limits(), req.lenient)?;
        let path = req.rtype.as_deref().unwrap_or("");
        let run: Vec<(String, String)> = req
            .params
            .iter()
            .filter(|(k, _)| !q.ignored.contains(k))
            .cloned()
            .collect();
        let encoded = encode(&run);
        let origin = Origin {
            base_url: &req.base_url,
            self_url: format!(
                "{}/{path}{}",
                req.base_url.trim_end_matches('/'),
                question(&encoded)
            ),
            stored_query: format!("{path}?{encoded}"),
        };
        self.run_query(ctx, &q, &origin, paging)
    }

    fn limits(&self) -> Limits {
        Limits {
            default_count: self.config.default_count,
            max_count: self.config.max_count,
        }
    }

    /// Runs a parsed search: one page straight from the database, or a snapshot and its
    /// first page when there are more.
    pub(crate) fn run_query(
        &self,
        ctx: &RequestContext,
        q: &Query,
        origin: &Origin,
        paging: Paging,
    ) -> FhirResult<Value> {
        let mut tx = self.store.begin(ctx, TxMode::Read)?;
        if q.summary == Summary::Count || q.count == 0 {
            let (sql, args) = q.selection.count_query();
            let total = tx
                .query(&sql, &args)?
                .first()
                .and_then(|r| r[0].as_i64())
                .unwrap_or(0);
            return self.searchset(
                q,
                origin.base_url,
                vec![],
                vec![],
                Some(total),
                vec![("self", origin.self_url.clone())],
            );
        }
        let (sql, args) = q.selection.page_query(q.count + 1);
        let mut rows = tx.query(&sql, &args)?;
        // More matches than the page: without a snapshot the total is unknown.
        let more = rows.len() > q.count;
        if paging == Paging::FirstPageOnly {
            rows.truncate(q.count);
        }
        if rows.len() <= q.count {
            let pks: Vec<i64> = rows.iter().filter_map(|r| r[0].as_i64()).collect();
            let matches = page::load_current(tx.as_mut(), ctx, &pks)?;
            let included = include::resolve(tx.as_mut(), ctx, q, &matches)?;
            let total = (q.total != Total::None && !more).then_some(matches.len() as i64);
            return self.searchset(
                q,
                origin.base_url,
                matches,
                included,
                total,
                vec![("self", origin.self_url.clone())],
            );
        }
        drop(tx);
        let now = crate::time::now_micros();
        let clean = self.snapshot_cleanup_due(&ctx.practice, now);
        let mut tx = self.store.begin(ctx, TxMode::Disposable)?;
        let snap = page::create_snapshot(
            tx.as_mut(),
            ctx,
            &q.selection,
            &origin.stored_query,
            self.config.max_snapshot,
            self.config.snapshot_ttl_secs,
            now,
            clean,
        )?;
        let matches = page::load_snapshot_page(tx.as_mut(), ctx, &snap.id, 0, q.count)?;
        let included = include::resolve(tx.as_mut(), ctx, q, &matches)?;
        tx.commit()?;
        let mut q = q.clone();
        if snap.rows < snap.total {
            q.warnings.push(fhir::Issue::warning(
                "too-costly",
                format!(
                    "only the first {} of {} results can be paged through; narrow the search",
                    snap.rows, snap.total
                ),
            ));
        }
        let links = page_links(
            origin.base_url,
            &snap,
            0,
            q.count,
            Some(origin.self_url.clone()),
        );
        let total = (q.total != Total::None).then_some(snap.total);
        self.searchset(&q, origin.base_url, matches, included, total, links)
    }

    /// A later page of a snapshot: `_getpages`, `_getpagesoffset`, `_count`.
    fn search_page(
        &self,
        ctx: &RequestContext,
        req: &SearchRequest,
        snapshot_id: &str,
    ) -> FhirResult<Value> {
        let number = |name: &str| -> FhirResult<Option<usize>> {
            match req.params.iter().find(|(k, _)| k == name) {
                None => Ok(None),
                Some((_, v)) => v.parse().map(Some).map_err(|_| {
                    FhirError::bad_request(format!("{name} must be a whole number, not '{v}'"))
                }),
            }
        };
        let offset = number("_getpagesoffset")?.unwrap_or(0);
        let requested_count = number("_count")?;
        let mut tx = self.store.begin(ctx, TxMode::Read)?;
        let snap = page::open_snapshot(
            tx.as_mut(),
            ctx,
            snapshot_id,
            self.config.snapshot_ttl_secs,
            self.config.max_snapshot,
        )?;
        let mut q = self.stored_query(ctx, &snap.query, &req.base_url)?;
        q.count = requested_count
            .unwrap_or(q.count)
            .clamp(1, self.config.max_count.max(1));
        let matches = page::load_snapshot_page(tx.as_mut(), ctx, &snap.id, offset, q.count)?;
        let included = include::resolve(tx.as_mut(), ctx, &q, &matches)?;
        let links = page_links(&req.base_url, &snap, offset, q.count, None);
        let total = (q.total != Total::None).then_some(snap.total);
        self.searchset(&q, &req.base_url, matches, included, total, links)
    }

    /// The query a snapshot was made from, for the includes and shaping of its pages.
    fn stored_query(
        &self,
        ctx: &RequestContext,
        stored: &str,
        base_url: &str,
    ) -> FhirResult<Query> {
        let (path, query) = stored.split_once('?').unwrap_or((stored, ""));
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let rtype = (!path.is_empty()).then_some(path);
        if let Some(patient) = path.strip_prefix(everything::STORED_PREFIX) {
            return everything::parse(ctx, patient, &params, self.limits());
        }
        let scope = Scope {
            rtype,
            practice: &ctx.practice,
            base_url,
            ctx: Some(ctx),
        };
        parse_visible(ctx, &scope, &params, self.limits(), true)
    }

    fn searchset(
        &self,
        q: &Query,
        base_url: &str,
        matches: Vec<Found>,
        included: Vec<Found>,
        total: Option<i64>,
        links: Vec<(&'static str, String)>,
    ) -> FhirResult<Value> {
        Searchset {
            base_url,
            matches,
            included,
            total,
            links,
            warnings: q.warnings.clone(),
            summary: q.summary,
            elements: q.elements.as_deref(),
        }
        .into_json()
    }
}

/// Links of the page at `offset` of a snapshot: self, first, previous, next, last.
fn page_links(
    base_url: &str,
    snap: &page::Snapshot,
    offset: usize,
    count: usize,
    self_url: Option<String>,
) -> Vec<(&'static str, String)> {
    let url = |o: usize| {
        format!(
            "{}?_getpages={}&_getpagesoffset={o}&_count={count}",
            base_url.trim_end_matches('/'),
            snap.id
        )
    };
    let rows = snap.rows.max(0) as usize;
    let mut links = vec![
        ("self", self_url.unwrap_or_else(|| url(offset))),
        ("first", url(0)),
    ];
    if offset > 0 {
        links.push(("previous", url(offset.saturating_sub(count))));
    }
    if offset + count < rows {
        links.push(("next", url(offset + count)));
    }
    if rows > 0 {
        links.push(("last", url((rows - 1) / count * count)));
    }
    links
}

fn encode(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

fn question(encoded: &str) -> String {
    if encoded.is_empty() {
        String::new()
    } else {
        format!("?{encoded}")
    }
}

impl SearchRequest {
    /// The same search, as the audit trail reads it (`AuditEvent?…`).
    pub fn audit_events(&self) -> crate::audit::EventSearch<'_> {
        crate::audit::EventSearch {
            params: &self.params,
            base_url: &self.base_url,
            lenient: self.lenient,
        }
    }
}
