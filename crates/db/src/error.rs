//! Errors of FHIR interactions, each with its HTTP status and OperationOutcome.

use crate::backend::StoreError;
use fhir::{Issue, operation_outcome};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// The request could not be understood: malformed JSON, an unknown search parameter,
    /// a malformed search value, a resource type that does not exist... (400)
    #[error("bad request")]
    BadRequest(Vec<Issue>),
    /// The resource is well-formed JSON but is not valid FHIR, or breaks a business rule
    /// such as the NHS number check digit. (422)
    #[error("unprocessable resource")]
    Unprocessable(Vec<Issue>),
    /// (404)
    #[error("not found: {0}")]
    NotFound(String),
    /// The resource was deleted. (410)
    #[error("gone: {0}")]
    Gone(String),
    /// (409)
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stale `If-Match` version, or a conditional interaction that matched more than
    /// one resource. (412)
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The requester may not do this: their role or the app's scopes do not allow it, or
    /// the record is restricted and needs break-glass. (403)
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The interaction is never allowed on this resource type (AuditEvent is written only
    /// by OpenGP itself). (405)
    #[error("not allowed: {0}")]
    NotAllowed(String),
    /// The search would cost too much (for example more results than a snapshot holds).
    #[error("too costly: {0}")]
    TooCostly(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FhirError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        FhirError::BadRequest(vec![Issue::error("invalid", msg)])
    }

    pub fn status(&self) -> u16 {
        match self {
            FhirError::BadRequest(_) => 400,
            FhirError::Unprocessable(_) => 422,
            FhirError::NotFound(_) => 404,
            FhirError::Gone(_) => 410,
            FhirError::Conflict(_) => 409,
            FhirError::PreconditionFailed(_) => 412,
            FhirError::TooCostly(_) => 403,
            FhirError::Forbidden(_) => 403,
            FhirError::NotAllowed(_) => 405,
            FhirError::Store(StoreError::Conflict(_)) => 409,
            FhirError::Store(StoreError::Busy(_)) => 503,
            FhirError::Store(StoreError::Backend(_)) => 500,
        }
    }

    pub fn issues(&self) -> Vec<Issue> {
        match self {
            FhirError::BadRequest(i) | FhirError::Unprocessable(i) => i.clone(),
            FhirError::NotFound(m) => vec![Issue::error("not-found", m.clone())],
            FhirError::Gone(m) => vec![Issue::error("deleted", m.clone())],
            FhirError::Conflict(m) | FhirError::PreconditionFailed(m) => {
                vec![Issue::error("conflict", m.clone())]
            }
            FhirError::TooCostly(m) => vec![Issue::error("too-costly", m.clone())],
            FhirError::Forbidden(m) => vec![Issue::error("forbidden", m.clone())],
            FhirError::NotAllowed(m) => vec![Issue::error("not-supported", m.clone())],
            FhirError::Store(StoreError::Conflict(_)) => {
                vec![Issue::error(
                    "conflict",
                    "another request changed this resource at the same time; try again",
                )]
            }
            FhirError::Store(StoreError::Busy(_)) => {
                vec![Issue::error("transient", "the database is busy; try again")]
            }
            // Database messages stay in the server log: they can quote data.
            FhirError::Store(StoreError::Backend(_)) => {
                vec![Issue::error("exception", "internal storage error")]
            }
        }
    }

    pub fn outcome(&self) -> Value {
        operation_outcome(&self.issues())
    }
}

pub type FhirResult<T> = Result<T, FhirError>;
