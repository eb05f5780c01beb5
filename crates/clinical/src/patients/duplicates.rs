//! Before a patient is created: is this person already registered? The same NHS number
//! is the same person (registration stops, with a link to the record); the same date of
//! birth with a similar name or the same first name and postcode may be (registration
//! needs "This is not the same person" ticked).

use super::form::ValidForm;
use super::search::{PatientHit, hit, home_postcode};
use crate::conventions::NHS_NUMBER_SYSTEM;
use crate::fetch;
use chrono::NaiveDate;
use fhir::uk::PersonName;
use serde_json::Value;
use store::{FhirResult, Repository, RequestContext};

/// Records with the same date of birth looked at (a day's births: a handful even in a
/// very large practice).
const SAME_BIRTH_DATE_LIMIT: &str = "100";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Likeness {
    /// The same NHS number: this is the same person.
    SameNhsNumber,
    /// Same date of birth and a similar name, or same first name and postcode.
    Similar,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PossibleDuplicate {
    pub patient: PatientHit,
    pub likeness: Likeness,
    /// Why it was matched, for the warning ("Same date of birth and surname").
    pub reason: String,
}

impl PossibleDuplicate {
    /// Whether this stops the registration outright.
    pub fn blocks(&self) -> bool {
        self.likeness == Likeness::SameNhsNumber
    }
}

/// Patients who may be the person `form` describes (two searches at most).
pub fn duplicates(
    repo: &Repository,
    ctx: &RequestContext,
    form: &ValidForm,
    today: NaiveDate,
) -> FhirResult<Vec<PossibleDuplicate>> {
    let mut found: Vec<PossibleDuplicate> = Vec::new();
    if let Some(number) = &form.nhs_number {
        let identifier = format!("{NHS_NUMBER_SYSTEM}|{number}");
        for patient in fetch::search(repo, ctx, "Patient", &[("identifier", identifier.as_str())])?
        {
            found.push(PossibleDuplicate {
                patient: hit(&patient, today),
                likeness: Likeness::SameNhsNumber,
                reason: "Same NHS number".to_string(),
            });
        }
    }
    let birth_date = form.birth_date.format("%Y-%m-%d").to_string();
    let same_birth_date = fetch::search(
        repo,
        ctx,
        "Patient",
        &[
            ("birthdate", birth_date.as_str()),
            ("_count", SAME_BIRTH_DATE_LIMIT),
        ],
    )?;
    for patient in same_birth_date {
        let id = patient["id"].as_str().unwrap_or_default();
        if found.iter().any(|d| d.patient.id == id) {
            continue;
        }
        if let Some(reason) = similarity(form, &patient) {
            found.push(PossibleDuplicate {
                patient: hit(&patient, today),
                likeness: Likeness::Similar,
                reason: reason.to_string(),
            });
        }
    }
    Ok(found)
}

/// Why a patient born on the same day may be the same person, if they may.
fn similarity(form: &ValidForm, patient: &Value) -> Option<&'static str> {
    let names: Vec<&Value> = patient["name"].as_array()?.iter().collect();
    let surnames: Vec<String> = names
        .iter()
        .filter_map(|n| n["family"].as_str())
        .map(squash)
        .collect();
    let mine: Vec<String> = std::iter::once(&form.family)
        .chain(form.previous_surname.as_ref())
        .map(|s| squash(s))
        .collect();
    if surnames.iter().any(|s| mine.contains(s)) {
        return Some("Same date of birth and surname");
    }
    let first_given = PersonName::of(patient).and_then(|n| n.first_given().map(squash));
    let same_first_name =
        first_given.is_some() && first_given == form.given.first().map(|g| squash(g));
    let same_postcode = match (&form.postcode, home_postcode(patient)) {
        (Some(a), Some(b)) => squash(a) == squash(&b),
        _ => false,
    };
    (same_first_name && same_postcode).then_some("Same date of birth, first name and postcode")
}

/// Lower case without spaces, hyphens or apostrophes: "O'Brien-Smith" = "obriensmith".
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}
