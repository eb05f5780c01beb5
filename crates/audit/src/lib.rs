//! The audit trail: who saw or changed what, when, from where, through which app, and
//! with what outcome. One append-only, hash-chained log per practice.
//!
//! - Writes append their entries in the same transaction as the change
//!   ([`AuditLog::append_in`]).
//! - Reads, searches, sign-ins and refusals are recorded with [`AuditLog::record`], which
//!   returns once the entries are durable (a group commit, so concurrent reads share one
//!   write transaction instead of queueing behind SQLite's single writer).
//! - [`verify`] walks every chain and names the first entry altered, deleted or inserted.
//! - Entries are readable as FHIR AuditEvent (IHE Basic Audit Log Patterns).
//!
//! Entries never hold resource bodies or demographics: only ids, codes and the query.
//! There is no switch to turn auditing off.
//!
//! Modules: [`entry`] (the canonical JSON and the chain hash), [`schema`] (tables and
//! append-only triggers), `append` (chaining inside a transaction), `group_commit`,
//! [`verify`](mod@verify), `render` and `query` (AuditEvent), `usage` (per-app counts).

mod append;
pub mod entry;
mod events;
mod group_commit;
mod query;
mod render;
pub mod schema;
mod usage;
pub mod verify;

pub use events::EventSearch;
pub use usage::ClientUsage;
pub use verify::{BreakKind, ChainBreak, VerifyReport, verify};

use access::RequestContext;
use db::{FhirResult, ResourceVersion, Store, StoreError, Transaction};
use group_commit::GroupCommit;
// The lower crates' modules, under the names this crate's modules have always used.
use access::context;
use db::{backend, error, time, version};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// Entries recorded under one `store::Repository::audited_together`, not yet written.
/// The request context holds them untyped (`RequestContext::held_audit`), since the
/// context sits below the audit trail; `held_by` gives them back their type.
pub type HeldAudit = Arc<Mutex<Vec<AuditRecord>>>;

/// The entries `ctx` holds back, inside `audited_together`.
fn held_by(ctx: &RequestContext) -> Option<&Mutex<Vec<AuditRecord>>> {
    ctx.held_audit.as_ref()?.downcast_ref()
}

/// What was done (AuditEvent.action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    /// An operation, a search, a sign-in, a token issue.
    Execute,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Create => "C",
            Action::Read => "R",
            Action::Update => "U",
            Action::Delete => "D",
            Action::Execute => "E",
        }
    }
}

/// How it ended (AuditEvent.outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Refused by the access rules, or a failed sign-in.
    Refused,
    /// Failed for another reason (bad request, not found).
    Failed,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

/// One event to record. The actor, practice, app, source address and request id come
/// from the [`RequestContext`] it is recorded with.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// The event: a FHIR restful interaction (`read`, `vread`, `search-type`,
    /// `search-system`, `history-instance`, `history-type`, `history-system`, `create`,
    /// `update`, `delete`, `transaction`, `batch`), an operation (`everything`,
    /// `export`), or an OpenGP security event (`login`, `logout`, `token`, `revoke`,
    /// `break-glass`, `user-admin`, `client-admin`).
    pub event: String,
    pub action: Action,
    pub outcome: Outcome,
    /// The resources concerned: `Type/id`, or `Type/id/_history/N` for a version.
    pub entities: Vec<String>,
    /// The ids of the patients whose records these are.
    pub patients: Vec<String>,
    /// The search query, as the parameters given (`name=smith&_count=10`).
    pub query: Option<String>,
    /// A short explanation: a refusal's reason, a break-glass reason. Never patient data.
    pub detail: Option<String>,
}

impl AuditRecord {
    pub fn new(event: impl Into<String>, action: Action, outcome: Outcome) -> AuditRecord {
        AuditRecord {
            event: event.into(),
            action,
            outcome,
            entities: Vec::new(),
            patients: Vec::new(),
            query: None,
            detail: None,
        }
    }

    pub fn entity(mut self, entity: impl Into<String>) -> Self {
        self.entities.push(entity.into());
        self
    }

    pub fn patient(mut self, patient_id: impl Into<String>) -> Self {
        let id = patient_id.into();
        if !self.patients.contains(&id) {
            self.patients.push(id);
        }
        self
    }

    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds every resource of a searchset or history Bundle, and their patients.
    pub fn with_bundle_entries(mut self, bundle: &Value) -> Self {
        let entries = bundle.get("entry").and_then(Value::as_array);
        for resource in entries
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("resource"))
        {
            let (Some(rtype), Some(id)) = (
                resource.get("resourceType").and_then(Value::as_str),
                resource.get("id").and_then(Value::as_str),
            ) else {
                continue;
            };
            if rtype == "OperationOutcome" {
                continue;
            }
            self.entities.push(format!("{rtype}/{id}"));
            if let Some(p) = patient_of(rtype, resource) {
                self = self.patient(p);
            }
        }
        self
    }
}

/// The patient a resource is about: its own id for a Patient, otherwise the first
/// `Patient/…` reference among the fields that put its type in the patient compartment.
pub fn patient_of(rtype: &str, body: &Value) -> Option<String> {
    if rtype == "Patient" {
        return body.get("id").and_then(Value::as_str).map(str::to_string);
    }
    let params = fhir::defs::Definitions::get()
        .patient_compartment
        .get(rtype)?;
    params.iter().find_map(|param| {
        let field = body.get(param.as_str())?;
        let refs: Vec<&Value> = match field {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        refs.into_iter().find_map(|r| {
            let reference = r.get("reference").and_then(Value::as_str)?;
            let id = reference.strip_prefix("Patient/")?;
            (!id.is_empty() && !id.contains('/')).then(|| id.to_string())
        })
    })
}

/// The audit log of a store. Owned by the store's `Repository`; cheap to share. Its
/// writer thread ends when the last clone is dropped.
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn Store>,
    writer: Arc<GroupCommit>,
}

impl AuditLog {
    /// Starts the audit log's writer for `store`.
    pub fn start(store: Arc<dyn Store>) -> AuditLog {
        AuditLog {
            writer: Arc::new(GroupCommit::start(store.clone())),
            store,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Records `records` for `ctx` and returns once they are durable. An error means the
    /// event could not be audited, and the caller must not go on as if it had been.
    ///
    /// The records are written by the group commit's own write transaction: never call
    /// this while holding a write transaction (on SQLite it would wait for itself).
    pub fn record(&self, ctx: &RequestContext, records: Vec<AuditRecord>) -> FhirResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        if let Some(held) = held_by(ctx) {
            // Written by `audited_together` before anything read here is handed back.
            held.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(records);
            return Ok(());
        }
        Ok(self.writer.submit(ctx, records)?)
    }

    /// Writes the entries held back for `ctx` (see `store::Repository::audited_together`)
    /// in one group commit, and returns once they are durable.
    pub fn write_held(&self, ctx: &RequestContext, held: &HeldAudit) -> FhirResult<()> {
        let records = std::mem::take(&mut *held.lock().unwrap_or_else(|e| e.into_inner()));
        if records.is_empty() {
            return Ok(());
        }
        Ok(self.writer.submit(ctx, records)?)
    }

    /// `AuditEvent?…`: the practice's entries as AuditEvent resources, newest first. The
    /// caller has checked that `ctx` may read AuditEvent; a patient context (the patient
    /// portal, `patient/AuditEvent.r`) sees only the entries about that patient.
    pub fn search_events(&self, ctx: &RequestContext, req: &EventSearch) -> FhirResult<Value> {
        events::search(self.store.as_ref(), ctx, req)
    }

    /// `AuditEvent/[id]`: one entry as an AuditEvent (NotFound outside the practice or
    /// the patient context).
    pub fn read_event(&self, ctx: &RequestContext, id: &str) -> FhirResult<ResourceVersion> {
        events::read(self.store.as_ref(), ctx, id)
    }

    /// Appends `records` to `ctx.practice`'s chain inside `tx`, the transaction of the
    /// change they describe. Call it last, just before commit: on PostgreSQL it locks the
    /// practice's chain head until the transaction ends.
    pub fn append_in(
        tx: &mut dyn Transaction,
        ctx: &RequestContext,
        records: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let origin = entry::Origin::of(ctx);
        let items: Vec<_> = records.iter().map(|r| (&origin, r)).collect();
        append::append_entries(tx, &ctx.practice, &items)
    }

    /// Each app's use of `practice`'s records (requests, resources returned, last use).
    pub fn client_usage(&self, practice: &str) -> Result<Vec<ClientUsage>, StoreError> {
        usage::client_usage(self.store.as_ref(), practice)
    }
}
