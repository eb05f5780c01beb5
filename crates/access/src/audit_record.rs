//! What one request did, to be written to the audit trail (the trail itself, its chain
//! and its AuditEvent view, is the `audit` crate). Defined here, beside the request
//! context, because a context can hold a request's entries back
//! ([`RequestContext::held_audit`](crate::RequestContext)) to write them together.

use serde_json::Value;
use std::sync::{Arc, Mutex};

/// Entries recorded under one `Repository::audited_together`, not yet written.
pub type HeldAudit = Arc<Mutex<Vec<AuditRecord>>>;

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
/// from the [`RequestContext`](crate::RequestContext) it is recorded with.
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

