//! The FHIR interactions over a [`Store`]: what the HTTP server, the CLI, the demo loader
//! and the benchmarks call. Every method takes the [`RequestContext`], and every SQL
//! statement it runs is limited to `ctx.practice`.

use crate::backend::Store;
use crate::context::RequestContext;
use crate::error::FhirResult;
use crate::version::{ResourceVersion, WriteOutcome};
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
        RepositoryConfig { default_count: 20, max_count: 1000, max_snapshot: 100_000, snapshot_ttl_secs: 3600 }
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
}

impl Repository {
    pub fn new(store: Arc<dyn Store>, config: RepositoryConfig) -> Self {
        Repository { store, config }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config(&self) -> &RepositoryConfig {
        &self.config
    }

    /// The current version. NotFound if it never existed, Gone if deleted.
    pub fn read(&self, ctx: &RequestContext, rtype: &str, id: &str) -> FhirResult<ResourceVersion> {
        let _ = (ctx, rtype, id);
        todo!()
    }

    /// A given version (deleted versions are Gone).
    pub fn vread(&self, ctx: &RequestContext, rtype: &str, id: &str, version: &str) -> FhirResult<ResourceVersion> {
        let _ = (ctx, rtype, id, version);
        todo!()
    }

    /// Validates and stores a new resource with a server-assigned id. With `if_none_exist`
    /// (a search query such as `identifier=sys|val`): no match creates, one match returns
    /// it Unchanged, several matches are PreconditionFailed.
    pub fn create(&self, ctx: &RequestContext, rtype: &str, body: Value, if_none_exist: Option<&str>) -> FhirResult<WriteOutcome> {
        let _ = (ctx, rtype, body, if_none_exist);
        todo!()
    }

    /// Stores a new version at `id` (creating it if absent: create-on-update).
    /// `if_match` is the version the client last saw; a different current version is
    /// PreconditionFailed.
    pub fn update(&self, ctx: &RequestContext, rtype: &str, id: &str, body: Value, if_match: Option<i64>) -> FhirResult<WriteOutcome> {
        let _ = (ctx, rtype, id, body, if_match);
        todo!()
    }

    /// Update by search criteria: no match creates, one match updates it, several are
    /// PreconditionFailed.
    pub fn conditional_update(&self, ctx: &RequestContext, rtype: &str, criteria: &str, body: Value, if_match: Option<i64>) -> FhirResult<WriteOutcome> {
        let _ = (ctx, rtype, criteria, body, if_match);
        todo!()
    }

    /// Deletes (keeping history). Deleting a deleted or absent resource succeeds and
    /// returns None.
    pub fn delete(&self, ctx: &RequestContext, rtype: &str, id: &str) -> FhirResult<Option<ResourceVersion>> {
        let _ = (ctx, rtype, id);
        todo!()
    }

    /// Deletes the one resource matching `criteria`; several matches are
    /// PreconditionFailed. Returns how many were deleted (0 or 1).
    pub fn conditional_delete(&self, ctx: &RequestContext, rtype: &str, criteria: &str) -> FhirResult<usize> {
        let _ = (ctx, rtype, criteria);
        todo!()
    }

    /// A history Bundle.
    pub fn history(&self, ctx: &RequestContext, req: &HistoryRequest) -> FhirResult<Value> {
        let _ = (ctx, req);
        todo!()
    }

    /// Processes a `batch` or `transaction` Bundle and returns the response Bundle.
    pub fn bundle(&self, ctx: &RequestContext, bundle: Value, base_url: &str) -> FhirResult<Value> {
        let _ = (ctx, bundle, base_url);
        todo!()
    }
}
