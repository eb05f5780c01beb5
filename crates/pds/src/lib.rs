//! The Personal Demographics Service (PDS), the national register of NHS numbers and
//! demographics, through its FHIR API:
//!
//! - [`Pds`]: what OpenGP asks of PDS (search/trace, retrieve, update);
//! - [`HttpPds`]: the adapter speaking the real PDS FHIR R4 API over HTTP;
//! - [`simulator`]: a local PDS serving realistic synthetic patients, as NHS England's
//!   sandbox does, for the demo and the tests.
//!
//! Sensitive (restricted) patients never have their address, telecom or GP passed on:
//! the adapter strips them itself, whatever PDS sent.

mod client;
pub mod sensitive;
pub mod simulator;
pub mod spine;

pub use client::{AccessToken, HttpPds};
use serde_json::Value;

/// A PDS search (a "trace"): the parameters of `GET /Patient`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub family: Option<String>,
    pub given: Option<String>,
    /// `male`, `female`, `other`, `unknown`.
    pub gender: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub postcode: Option<String>,
    /// `_fuzzy-match=true`.
    pub fuzzy: bool,
    /// `_exact-match=true`.
    pub exact: bool,
    /// `_max-results` (1 to 50).
    pub max_results: Option<u32>,
}

/// A patient from PDS: the PDS Patient resource as received (a sensitive patient's
/// address and telecom already removed), with its version for `If-Match`.
#[derive(Debug, Clone, PartialEq)]
pub struct PdsPatient {
    pub nhs_number: String,
    /// The search score (0 to 1) on search results; `None` on a retrieve.
    pub score: Option<f64>,
    /// The ETag, e.g. `W/"2"`.
    pub etag: Option<String>,
    pub resource: Value,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PdsError {
    /// No patient with that NHS number (`RESOURCE_NOT_FOUND`).
    #[error("no patient with that NHS number is on PDS")]
    NotFound,
    /// The request was refused as invalid (`INVALID_VALUE`, `INVALID_SEARCH_DATA`...).
    #[error("PDS refused the request: {0}")]
    Invalid(String),
    /// More matches than `_max-results` (`TOO_MANY_MATCHES`): refine the search.
    #[error("too many patients match; add more details")]
    TooManyMatches,
    /// `If-Match` did not match the current version (`PRECONDITION_FAILED`).
    #[error("the patient's PDS record has changed since it was read")]
    VersionConflict,
    /// PDS could not be reached or answered with a server error.
    #[error("PDS is unavailable: {0}")]
    Unavailable(String),
}

/// What OpenGP asks of PDS.
pub trait Pds: Send + Sync {
    /// Trace: the patients matching `query`, best first.
    fn search(&self, query: &SearchQuery) -> Result<Vec<PdsPatient>, PdsError>;
    /// The patient with this NHS number.
    fn retrieve(&self, nhs_number: &str) -> Result<PdsPatient, PdsError>;
    /// Applies a JSON Patch (RFC 6902) to the patient, if its version is still `etag`.
    fn update(&self, nhs_number: &str, etag: &str, patch: &Value) -> Result<PdsPatient, PdsError>;
}

/// A PDS Patient's NHS number: its identifier, or else its id (PDS's id is the number).
pub(crate) fn nhs_number_of(patient: &serde_json::Value) -> Option<String> {
    fhir::uk::NhsNumber::recorded(patient)
        .or_else(|| patient.get("id")?.as_str().map(str::to_string))
}
