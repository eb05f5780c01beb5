//! The FHIR interactions over a [`Store`]: what the HTTP server, the CLI, the demo loader
//! and the benchmarks call. Every method takes the [`RequestContext`], and every SQL
//! statement it runs is limited to `ctx.practice`.

use crate::audit::AuditLog;
use crate::backend::{Store, TxMode};
use crate::context::RequestContext;
use crate::error::FhirResult;
use crate::version::{ResourceVersion, WriteKind, WriteOutcome};
use crate::write::{self, NewResource};
use crate::{bundle, history};
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct RepositoryConfig {
    /// Page size when a search names no `_count`.
    pub default_count: usize,
    /// The largest `_count` honoured (larger ones are reduced to it).
    pub max_count: usize,
    /// The most results a paged search keeps in its snapshot.
    pub max_snapshot: usize,
    /// How long a paged search's snapshot stays valid, in seconds.
    pub snapshot_ttl_secs: i64,
}

impl Default for RepositoryConfig {
    fn default() -> Self {
        RepositoryConfig {
            default_count: 20,
            max_count: 1000,
            max_snapshot: 100_000,
            snapshot_ttl_secs: 3600,
        }
    }
}

/// A search: `rtype` None is a search across all types (`GET [base]?...`).
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub rtype: Option<String>,
    /// The query's parameters in order, already percent-decoded.
    pub params: Vec<(String, String)>,
    /// The FHIR base URL, e.g. `http://127.0.0.1:8080/fhir`, for fullUrl and links.
    pub base_url: String,
    /// `Prefer: handling=lenient`: unknown parameters are ignored with a warning.
    pub lenient: bool,
}

/// History of one resource (`rtype` and `id`), of a type (`rtype`), or of the whole
/// system (neither).
#[derive(Debug, Clone, Default)]
pub struct HistoryRequest {
    pub rtype: Option<String>,
    pub id: Option<String>,
    /// `_since`, `_at`, `_count`, and the paging parameters of the links it returns.
    pub params: Vec<(String, String)>,
    pub base_url: String,
}

pub struct Repository {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: RepositoryConfig,
    pub(crate) audit: AuditLog,
}

impl Repository {
    pub fn new(store: Arc<dyn Store>, config: RepositoryConfig) -> Self {
        let audit = AuditLog::start(store.clone());
        Repository {
            store,
            config,
            audit,
        }
    }

    /// The audit trail, for events recorded outside the FHIR interactions (sign-in,
    /// token issue).
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config(&self) -> &RepositoryConfig {
        &self.config
    }

    /// The current version. NotFound if it never existed, Gone if deleted.
    pub fn read(&self, ctx: &RequestContext, rtype: &str, id: &str) -> FhirResult<ResourceVersion> {
        let mut tx = self.store.begin(ctx, TxMode::Read)?;
        write::read_in(tx.as_mut(), ctx, rtype, id)
    }

    /// A given version (deleted versions are Gone).
    pub fn vread(
        &self,
        ctx: &RequestContext,
        rtype: &str,
        id: &str,
        version: &str,
    ) -> FhirResult<ResourceVersion> {
        let mut tx = self.store.begin(ctx, TxMode::Read)?;
        write::vread_in(tx.as_mut(), ctx, rtype, id, version)
    }

    /// Validates and stores a new resource with a server-assigned id. With `if_none_exist`
    /// (a search query such as `identifier=sys|val`): no match creates, one match returns
    /// it Unchanged, several matches are PreconditionFailed.
    pub fn create(
        &self,
        ctx: &RequestContext,
        rtype: &str,
        body: Value,
        if_none_exist: Option<&str>,
    ) -> FhirResult<WriteOutcome> {
        write::check_body(rtype, &body, None)?;
        self.write_tx(ctx, false, |w| {
            if let Some(criteria) = if_none_exist
                && let Some(existing) = w.existing_match(rtype, criteria)?
            {
                return Ok(WriteOutcome {
                    kind: WriteKind::Unchanged,
                    resource: existing,
                });
            }
            let new = NewResource {
                rtype: rtype.into(),
                id: write::new_id(),
                method: "POST",
                body: body.clone(),
            };
            let resource = w
                .insert_new(vec![new])?
                .pop()
                .expect("one resource inserted");
            Ok(WriteOutcome {
                kind: WriteKind::Created,
                resource,
            })
        })
    }

    /// Stores a new version at `id` (creating it if absent: create-on-update).
    /// `if_match` is the version the client last saw; a different current version is
    /// PreconditionFailed.
    pub fn update(
        &self,
        ctx: &RequestContext,
        rtype: &str,
        id: &str,
        body: Value,
        if_match: Option<i64>,
    ) -> FhirResult<WriteOutcome> {
        write::check_body(rtype, &body, Some(id))?;
        self.write_tx(ctx, if_match.is_some(), |w| {
            w.update(rtype, id, body.clone(), if_match, "PUT")
        })
    }

    /// Update by search criteria: no match creates, one match updates it, several are
    /// PreconditionFailed.
    pub fn conditional_update(
        &self,
        ctx: &RequestContext,
        rtype: &str,
        criteria: &str,
        body: Value,
        if_match: Option<i64>,
    ) -> FhirResult<WriteOutcome> {
        let body_id = body.get("id").and_then(Value::as_str).map(str::to_string);
        write::check_body(rtype, &body, body_id.as_deref())?;
        self.write_tx(ctx, if_match.is_some(), |w| {
            let id = w.conditional_target(rtype, criteria, body_id.as_deref())?;
            w.update(rtype, &id, body.clone(), if_match, "PUT")
        })
    }

    /// Deletes (keeping history). Deleting a deleted or absent resource succeeds and
    /// returns None.
    pub fn delete(
        &self,
        ctx: &RequestContext,
        rtype: &str,
        id: &str,
    ) -> FhirResult<Option<ResourceVersion>> {
        self.write_tx(ctx, false, |w| w.delete(rtype, id))
    }

    /// Deletes the one resource matching `criteria`; several matches are
    /// PreconditionFailed. Returns how many were deleted (0 or 1).
    pub fn conditional_delete(
        &self,
        ctx: &RequestContext,
        rtype: &str,
        criteria: &str,
    ) -> FhirResult<usize> {
        self.write_tx(ctx, false, |w| w.conditional_delete(rtype, criteria))
    }

    /// A history Bundle.
    pub fn history(&self, ctx: &RequestContext, req: &HistoryRequest) -> FhirResult<Value> {
        history::history(self, ctx, req)
    }

    /// Processes a `batch` or `transaction` Bundle and returns the response Bundle.
    pub fn bundle(&self, ctx: &RequestContext, bundle: Value, base_url: &str) -> FhirResult<Value> {
        bundle::process(self, ctx, bundle, base_url)
    }
}
