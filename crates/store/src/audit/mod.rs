//! The audit trail: an append-only, hash-chained log of every access to the record.
//!
//! - One chain per practice: each entry holds the SHA-256 of the one before, so an
//!   entry altered, deleted or inserted afterwards breaks the chain, and [`verify`]
//!   names the first bad entry.
//! - A change and its audit entry are written in the same transaction
//!   ([`AuditLog::append_in`]). Reads are recorded by [`AuditLog::record`], which batches
//!   the entries of concurrent requests into one write (group commit) and returns only
//!   once they are durable, so no data leaves without its audit entry, and reads do not
//!   queue one by one behind SQLite's single writer.
//! - The tables refuse UPDATE and DELETE (triggers on both backends); nothing in OpenGP
//!   can switch auditing off.
//! - Entries are served as FHIR AuditEvent in the IHE Basic Audit Log Patterns shape.

use crate::backend::{Dialect, Store, Transaction};
use crate::context::RequestContext;
use crate::error::FhirResult;
use serde_json::Value;
use std::sync::Arc;

/// AuditEvent.action: C, R, U, D, E.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Create,
    Read,
    Update,
    Delete,
    Execute,
}

/// AuditEvent.outcome: success (0), refused (4, minor failure), failed (8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    Success,
    Refused,
    Failed,
}

/// One audited event. Who, from where, for which app, and why come from the request
/// context it is recorded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// What happened: `read`, `vread`, `search`, `history`, `create`, `update`,
    /// `delete`, `transaction`, `batch`, `everything`, `export`, `login`,
    /// `login-failed`, `logout`, `token`, `token-refused`, `revoke`, `refused`,
    /// `break-glass`, `user-add`, `role-change`, `client-add`.
    pub event: String,
    pub action: AuditAction,
    pub outcome: AuditOutcome,
    /// The resources involved, `Type/id/_history/version` (or `Type/id`).
    pub entities: Vec<String>,
    /// The patients (Patient ids) whose records were involved.
    pub patients: Vec<String>,
    /// The search or request query, as asked.
    pub query: Option<String>,
    /// Free text: a refusal's reason, a break-glass reason. Never patient data.
    pub detail: Option<String>,
}

impl AuditRecord {
    pub fn new(event: &str, action: AuditAction, outcome: AuditOutcome) -> AuditRecord {
        AuditRecord {
            event: event.to_string(),
            action,
            outcome,
            entities: vec![],
            patients: vec![],
            query: None,
            detail: None,
        }
    }

    pub fn entity(mut self, reference: impl Into<String>) -> Self {
        self.entities.push(reference.into());
        self
    }

    pub fn patient(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        if !self.patients.contains(&id) {
            self.patients.push(id);
        }
        self
    }

    pub fn query(mut self, q: impl Into<String>) -> Self {
        self.query = Some(q.into());
        self
    }

    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
}

/// Appends audit entries. Cheap to clone; one per store.
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn Store>,
}

impl AuditLog {
    /// Starts the audit writer for `store` (the group-commit thread for reads).
    pub fn start(store: Arc<dyn Store>) -> AuditLog {
        // Placeholder until the audit writer lands: records nothing.
        AuditLog { store }
    }

    /// Appends `records` inside the caller's write transaction: the change and its audit
    /// entries commit together, or neither does.
    pub fn append_in(
        &self,
        tx: &mut dyn Transaction,
        ctx: &RequestContext,
        records: &[AuditRecord],
    ) -> FhirResult<()> {
        let _ = (tx, ctx, records, &self.store);
        Ok(())
    }

    /// Appends `records` in a transaction of their own, batched with other requests'
    /// records; returns once they are durable. An error means the caller must not
    /// release the data it was about to return.
    pub fn record(&self, ctx: &RequestContext, records: Vec<AuditRecord>) -> FhirResult<()> {
        let _ = (ctx, records);
        Ok(())
    }
}

/// The DDL of the audit tables and their append-only triggers (idempotent).
pub fn ddl(dialect: Dialect) -> Vec<String> {
    let _ = dialect;
    vec![]
}

/// How an entry breaks the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Its content no longer matches its hash.
    Altered,
    /// An entry before it is missing (a gap in the sequence, or the chain does not link).
    Deleted,
    /// It was not written by OpenGP in sequence (its link to the previous entry is wrong).
    Inserted,
}

/// The first entry that breaks a practice's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub practice: String,
    /// The sequence number of the first bad entry.
    pub seq: i64,
    pub kind: Tamper,
    /// In words, for the person running `opengp audit verify`.
    pub message: String,
}

/// The result of walking every practice's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub practices: usize,
    pub entries: u64,
    /// The first bad entry found, if any.
    pub broken: Option<ChainBreak>,
}

/// Walks every practice's chain from the start.
pub fn verify(store: &dyn Store) -> FhirResult<VerifyReport> {
    let _ = store;
    todo!("audit: verify")
}

/// How much one app used the practice's data (from the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUsage {
    pub client_id: String,
    pub requests: u64,
    /// Resources returned or written.
    pub resources: u64,
    /// Microseconds since the epoch of its latest request.
    pub last_seen: i64,
}

/// Usage per app of `ctx.practice`, busiest first.
pub fn client_usage(store: &dyn Store, ctx: &RequestContext) -> FhirResult<Vec<ClientUsage>> {
    let _ = (store, ctx);
    todo!("audit: client_usage")
}

/// A searchset Bundle of AuditEvents of `ctx.practice` (the caller has checked that
/// `ctx` may read the audit trail; a patient context limits it to that patient).
/// Parameters: `patient`, `agent` (user id or client id), `entity` (Type/id), `date`
/// (with prefixes), `subtype` (the event, e.g. `break-glass`), `outcome`, `_count`;
/// newest first.
pub fn search(
    store: &dyn Store,
    ctx: &RequestContext,
    params: &[(String, String)],
    base_url: &str,
) -> FhirResult<Value> {
    let _ = (store, ctx, params, base_url);
    todo!("audit: search")
}

/// One AuditEvent by id (its sequence number in the practice's chain).
pub fn read(store: &dyn Store, ctx: &RequestContext, id: &str) -> FhirResult<Value> {
    let _ = (store, ctx, id);
    todo!("audit: read")
}
