//! The FHIR interactions over a [`Store`]: what the HTTP server, the CLI, the demo loader
//! and the benchmarks call. Every method takes the [`RequestContext`], and every SQL
//! statement it runs is limited to `ctx.practice`.
//!
//! Every interaction first checks that `ctx.access` allows it on the type (a refusal is
//! audited and answered 403); what it then reads or changes is limited to what the
//! requester may see (see `search::visibility`), and what it did is audited.

use crate::access::Interaction;
use crate::audit::{Action, AuditLog, AuditRecord, Outcome};
use crate::backend::{Store, TxMode};
use crate::context::RequestContext;
use crate::error::{FhirError, FhirResult};
use crate::search::visibility::{access_columns, opened_by_break_glass, resource_access};
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
    /// When each practice's expired search snapshots were last removed (microseconds).
    pub(crate) snapshots_cleaned: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl Repository {
    pub fn new(store: Arc<dyn Store>, config: RepositoryConfig) -> Self {
        let audit = AuditLog::start(store.clone());
        Repository {
            store,
            config,
            audit,
            snapshots_cleaned: Default::default(),
        }
    }

    /// Whether a new snapshot of `practice` should also remove the expired ones: at most
    /// once a tenth of their lifetime. An expired snapshot can no longer be paged
    /// through, so leaving it a little longer only holds its rows a little longer; doing
    /// the two DELETEs on every search that pages cost about 0.5 ms each on PostgreSQL.
    pub(crate) fn snapshot_cleanup_due(&self, practice: &str, now: i64) -> bool {
        let interval = self.config.snapshot_ttl_secs.max(0) * 100_000;
        let mut cleaned = self
            .snapshots_cleaned
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match cleaned.get(practice) {
            Some(&last) if now - last < interval => false,
            _ => {
                cleaned.insert(practice.to_string(), now);
                true
            }
        }
    }

    /// Runs `reads` (any number of reads and searches, on any threads) with their audit
    /// entries held back and written together when it ends, in one commit: a page built
    /// from many searches waits for the audit trail once, not once per search. Each read
    /// still gets its own entry. What `reads` returns is handed back only once every
    /// entry is durable; if they cannot be written, the caller gets the error instead.
    /// Writes inside `reads` audit in their own transactions, as always.
    pub fn audited_together<T>(
        &self,
        ctx: &RequestContext,
        reads: impl FnOnce(&RequestContext) -> FhirResult<T>,
    ) -> FhirResult<T> {
        if ctx.held_audit.is_some() {
            // The outer call writes them.
            return reads(ctx);
        }
        let held = crate::audit::HeldAudit::default();
        let scoped = RequestContext {
            held_audit: Some(held.clone()),
            ..ctx.clone()
        };
        let result = reads(&scoped);
        // Refusals and failed reads are audited too, so this runs whatever `reads` gave.
        self.audit.write_held(ctx, &held)?;
        result
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

    /// The current version. NotFound if it never existed (or `ctx` may not see it),
    /// Gone if deleted, Forbidden if it is restricted and needs break-glass.
    pub fn read(&self, ctx: &RequestContext, rtype: &str, id: &str) -> FhirResult<ResourceVersion> {
        self.permit(ctx, rtype, Interaction::Read, "read")?;
        if rtype == AUDIT_EVENT {
            let event = self.audit.read_event(ctx, id)?;
            self.audit_read(ctx, read_record("read", &event, None))?;
            return Ok(event);
        }
        let mut tx = self.store.begin(ctx, TxMode::Read)?;
        let result = write::read_checked(tx.as_mut(), ctx, rtype, id);
        drop(tx);
        let (found, access) = self.audit_restricted(ctx, "read", rtype, id, result)?;
        self.audit_read(
            ctx,
            read_record("read", &found, access.patient_id.as_deref()),
        )?;
        Ok(found)
    }

    /// A given version (deleted versions are Gone).
    pub fn vread(
        &self,
        ctx: &RequestContext,
        rtype: &str,
        id: &str,
        version: &str,
    ) -> FhirResult<ResourceVersion> {
        self.permit(ctx, rtype, Interaction::Read, "vread")?;
        if rtype == AUDIT_EVENT {
            // Audit entries never change: their only version is 1.
            let event = self.audit.read_event(ctx, id)?;
            if version != "1" {
                return Err(FhirError::NotFound(format!(
                    "{rtype}/{id} has no version '{version}'"
                )));
            }
            self.audit_read(ctx, read_record("vread", &event, None))?;
            return Ok(event);
        }
        let mut tx = self.store.begin(ctx, TxMode::Read)?;
        let result = write::vread_checked(tx.as_mut(), ctx, rtype, id, version);
        drop(tx);
        let (found, access) = self.audit_restricted(ctx, "vread", rtype, id, result)?;
        self.audit_read(
            ctx,
            read_record("vread", &found, access.patient_id.as_deref()),
        )?;
        Ok(found)
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
        self.permit_write(ctx, rtype, Interaction::Create, "create")?;
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
        self.permit_write(ctx, rtype, Interaction::Update, "update")?;
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
        self.permit_write(ctx, rtype, Interaction::Update, "update")?;
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
        self.permit_write(ctx, rtype, Interaction::Delete, "delete")?;
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
        self.permit_write(ctx, rtype, Interaction::Delete, "delete")?;
        self.write_tx(ctx, false, |w| w.conditional_delete(rtype, criteria))
    }

    /// A history Bundle.
    pub fn history(&self, ctx: &RequestContext, req: &HistoryRequest) -> FhirResult<Value> {
        history::history(self, ctx, req)
    }

    /// Processes a `batch` or `transaction` Bundle and returns the response Bundle.
    pub fn bundle(&self, ctx: &RequestContext, bundle: Value, base_url: &str) -> FhirResult<Value> {
        bundle::process(self, ctx, bundle, base_url, None)
    }

    /// Processes a `transaction` Bundle and runs `also` in the same database
    /// transaction, after its entries are written (given their response entries, in
    /// entry order): both commit or neither does. This is how a clinical change and the
    /// outbox message it causes are written together. `also` may run more than once if
    /// the write loses a race and is retried.
    pub fn transaction_with(
        &self,
        ctx: &RequestContext,
        bundle: Value,
        base_url: &str,
        mut also: impl FnMut(&mut dyn crate::backend::Transaction, &[Value]) -> FhirResult<()>,
    ) -> FhirResult<Value> {
        bundle::process(self, ctx, bundle, base_url, Some(&mut also))
    }
}

/// Entries of the audit trail, readable (by those allowed) but written only by OpenGP.
const AUDIT_EVENT: &str = "AuditEvent";

/// The audit record of a read of one version.
fn read_record(event: &str, v: &ResourceVersion, patient: Option<&str>) -> AuditRecord {
    let record = AuditRecord::new(event, Action::Read, Outcome::Success).entity(format!(
        "{}/_history/{}",
        v.reference(),
        v.version
    ));
    match patient {
        Some(p) => record.patient(p),
        None => record,
    }
}

fn action_of(interaction: Interaction) -> Action {
    match interaction {
        Interaction::Create => Action::Create,
        Interaction::Read => Action::Read,
        Interaction::Update => Action::Update,
        Interaction::Delete => Action::Delete,
        Interaction::Search => Action::Execute,
    }
}

impl Repository {
    /// Refuses, with 403 and an audit entry, an interaction `ctx`'s role or scopes do not
    /// allow on `rtype`. Unknown types are left to the interaction (400 or 404).
    pub(crate) fn permit(
        &self,
        ctx: &RequestContext,
        rtype: &str,
        interaction: Interaction,
        event: &str,
    ) -> FhirResult<()> {
        if !fhir::Definitions::get().is_resource_type(rtype) {
            return Ok(());
        }
        match ctx.access.refusal(rtype, interaction) {
            None => Ok(()),
            Some(reason) => self.refuse(ctx, event, action_of(interaction), Some(rtype), reason),
        }
    }

    /// [`Self::permit`] for a write; AuditEvent is never written through the API (405).
    pub(crate) fn permit_write(
        &self,
        ctx: &RequestContext,
        rtype: &str,
        interaction: Interaction,
        event: &str,
    ) -> FhirResult<()> {
        if rtype == AUDIT_EVENT {
            return Err(FhirError::NotAllowed(
                "the audit trail is written only by OpenGP itself".into(),
            ));
        }
        self.permit(ctx, rtype, interaction, event)
    }

    /// For interactions across types (system search and history, `$everything`): they
    /// are limited to the readable types, and refused only if there are none.
    pub(crate) fn permit_some_reading(&self, ctx: &RequestContext, event: &str) -> FhirResult<()> {
        if !ctx.access.readable_types().is_some_and(|t| t.is_empty()) {
            return Ok(());
        }
        let reason = ctx
            .access
            .refusal("Patient", Interaction::Read)
            .unwrap_or_else(|| "no resource type may be read".into());
        self.refuse(ctx, event, Action::Execute, None, reason)
    }

    fn refuse(
        &self,
        ctx: &RequestContext,
        event: &str,
        action: Action,
        rtype: Option<&str>,
        reason: String,
    ) -> FhirResult<()> {
        let mut record = AuditRecord::new(event, action, Outcome::Refused).detail(reason.clone());
        if let Some(t) = rtype {
            record = record.entity(t);
        }
        self.audit.record(ctx, vec![record])?;
        Err(FhirError::Forbidden(reason))
    }

    /// Audits a read refused because the record is restricted (403) before passing the
    /// refusal on; hidden records are answered as unknown and need no entry of their own.
    fn audit_restricted<T>(
        &self,
        ctx: &RequestContext,
        event: &str,
        rtype: &str,
        id: &str,
        result: FhirResult<T>,
    ) -> FhirResult<T> {
        if let Err(FhirError::Forbidden(reason)) = &result {
            let record = AuditRecord::new(event, Action::Read, Outcome::Refused)
                .entity(format!("{rtype}/{id}"))
                .detail(reason.clone());
            self.audit.record(ctx, vec![record])?;
        }
        result
    }

    /// Records a read (of one resource, a search, history, `$everything`) once its result
    /// is known, with a `break-glass` entry for the records only break-glass opened. The
    /// caller returns nothing if this fails.
    pub(crate) fn audit_read(&self, ctx: &RequestContext, record: AuditRecord) -> FhirResult<()> {
        let mut records = Vec::with_capacity(2);
        if let Some(reason) = &ctx.access.break_glass {
            let opened = self.opened_by_break_glass(ctx, &record.entities)?;
            if !opened.is_empty() {
                let mut glass = AuditRecord::new("break-glass", Action::Read, Outcome::Success)
                    .detail(reason.clone());
                glass.entities = opened;
                glass.patients = record.patients.clone();
                records.push(glass);
            }
        }
        records.insert(0, record);
        self.audit.record(ctx, records)
    }

    /// Which of `entities` (`Type/id[/_history/n]`) `ctx` sees only by breaking the glass.
    fn opened_by_break_glass(
        &self,
        ctx: &RequestContext,
        entities: &[String],
    ) -> FhirResult<Vec<String>> {
        let mut tx = self.store.begin(ctx, TxMode::Read)?;
        let sql = format!(
            "SELECT {} FROM resources r WHERE r.practice = ? AND r.rtype = ? AND r.id = ?",
            access_columns("r")
        );
        let mut opened = Vec::new();
        for entity in entities {
            let mut parts = entity.split('/');
            let (Some(rtype), Some(id)) = (parts.next(), parts.next()) else {
                continue;
            };
            let rows = tx.query(
                &sql,
                &[ctx.practice.as_str().into(), rtype.into(), id.into()],
            )?;
            if let Some(row) = rows.first()
                && opened_by_break_glass(ctx, &resource_access(rtype, row))
            {
                opened.push(entity.clone());
            }
        }
        Ok(opened)
    }
}
