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

// What a request did, and the entries a request context holds back, are defined with
// the request context (in `access`), below the backend interface this crate uses.
pub use access::audit_record::{Action, AuditRecord, HeldAudit, Outcome, patient_of};

use access::RequestContext;
use db::{Dialect, FhirResult, ResourceVersion, Store, StoreError, Transaction};
// The lower crates' modules, under the names this crate's modules have always used.
use access::context;
use db::{backend, error, time, version};
use group_commit::GroupCommit;
use serde_json::Value;
use std::sync::Arc;

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
        if let Some(held) = &ctx.held_audit {
            // Written by `audited_together` before anything read here is handed back.
            held.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(records);
            return Ok(());
        }
        Ok(self.writer.submit(ctx, records)?)
    }

    /// Writes the entries held back for `ctx` (see `Repository::audited_together`)
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

/// The audit tables, triggers and indexes (idempotent), appended to the schema.
pub fn ddl(dialect: Dialect) -> Vec<String> {
    schema::ddl(dialect)
}
