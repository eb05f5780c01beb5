//! Find a patient as you type: one FHIR search per keystroke, through the store's
//! access rules and audit trail, surnames in alphabetical order (so an exact surname
//! comes before longer ones it starts).

use super::postcode;
use super::query::{PatientQuery, QueryProblem};
use crate::conventions::CONFIDENTIALITY_SYSTEM;
use crate::fetch;
use chrono::NaiveDate;
use fhir::uk::{Age, Gender, NhsNumber, PersonName};
use serde_json::Value;
use store::{FhirError, Repository, RequestContext};

/// One patient in the results list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientHit {
    pub id: String,
    /// "SMITH, John (Mr)".
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    /// "47 years", "8 months" ([`Age`]); empty without a birth date.
    pub age: String,
    /// "Female", "Male", "Other", "Unknown".
    pub gender: String,
    /// "943 476 5919".
    pub nhs_number: Option<String>,
    /// `None` for a sensitive patient (their address is never shown).
    pub postcode: Option<String>,
    pub deceased: bool,
    /// A sensitive (PDS restricted) record.
    pub sensitive: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// The query cannot be searched; say why to the person typing.
    #[error("{}", .0.message())]
    Query(QueryProblem),
    #[error(transparent)]
    Store(#[from] FhirError),
}

/// Up to `limit` patients matching what was typed, as of `today`.
pub fn find(
    repo: &Repository,
    ctx: &RequestContext,
    text: &str,
    limit: usize,
    today: NaiveDate,
) -> Result<Vec<PatientHit>, FindError> {
    let query = PatientQuery::parse(text, today).map_err(FindError::Query)?;
    Ok(find_query(repo, ctx, &query, limit, today)?)
}

/// Up to `limit` patients matching `query`.
pub fn find_query(
    repo: &Repository,
    ctx: &RequestContext,
    query: &PatientQuery,
    limit: usize,
    today: NaiveDate,
) -> Result<Vec<PatientHit>, FhirError> {
    let count = limit.max(1).to_string();
    let mut params = query.params();
    params.push(("_sort", "family,given,birthdate".to_string()));
    params.push(("_count", count));
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let patients = fetch::search(repo, ctx, "Patient", &params)?;
    let hits = patients.iter().map(|p| hit(p, today));
    Ok(match query {
        // The search matches by prefix: `LS6` must not bring in `LS60`.
        PatientQuery::PostcodeDistrict(district) => hits
            .filter(|h| {
                h.postcode
                    .as_deref()
                    .is_some_and(|p| postcode::outward(p).eq_ignore_ascii_case(district))
            })
            .collect(),
        _ => hits.collect(),
    })
}

/// The results row for a Patient resource.
pub fn hit(patient: &Value, today: NaiveDate) -> PatientHit {
    let sensitive = is_sensitive(patient);
    let birth_date = patient["birthDate"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    PatientHit {
        id: patient["id"].as_str().unwrap_or_default().to_string(),
        name: PersonName::banner_of(patient),
        birth_date,
        age: Age::text(birth_date, today),
        gender: Gender::text(patient["gender"].as_str().and_then(Gender::from_code)).to_string(),
        nhs_number: NhsNumber::recorded(patient).map(|n| NhsNumber::spaced(&n)),
        postcode: if sensitive {
            None
        } else {
            home_postcode(patient)
        },
        deceased: patient["deceasedBoolean"] == true || patient["deceasedDateTime"].is_string(),
        sensitive,
    }
}

/// Whether the record is marked restricted (a PDS sensitive patient).
pub fn is_sensitive(patient: &Value) -> bool {
    patient["meta"]["security"].as_array().is_some_and(|codes| {
        codes
            .iter()
            .any(|c| c["system"] == CONFIDENTIALITY_SYSTEM && c["code"] == "R")
    })
}

/// The postcode of the current home address (else of the first address).
pub fn home_postcode(patient: &Value) -> Option<String> {
    fhir::uk::PatientView::of(patient).postcode
}
