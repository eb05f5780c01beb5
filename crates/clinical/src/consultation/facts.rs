//! What the consultation form needs to know about the patient and the practice: to offer
//! choices (the patient's problems, colleagues for a task) and to check what was typed
//! (not before birth, the latest height for a BMI).

use super::observations::HEIGHT;
use crate::conventions::{PROBLEM_LIST_ITEM, SNOMED};
use crate::fetch;
use chrono::NaiveDate;
use fhir::uk::{NhsNumber, PersonName, parse_date};
use serde_json::Value;
use store::{FhirResult, Repository, RequestContext};

/// A problem the consultation can be about.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemChoice {
    pub id: String,
    pub display: String,
    /// The version seen now: saving the consultation updates the problem only if it is
    /// still this one.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colleague {
    /// Practitioner id.
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatientFacts {
    pub id: String,
    pub name: String,
    pub nhs_number: Option<String>,
    pub birth_date: Option<NaiveDate>,
    /// Active problems, most recently recorded first.
    pub problems: Vec<ProblemChoice>,
    /// The latest height on record, in cm.
    pub latest_height_cm: Option<f64>,
}

/// Reads what the form needs about one patient (each read audited as the user's).
pub fn patient_facts(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
) -> FhirResult<PatientFacts> {
    let (patient, _) = fetch::read(repo, ctx, "Patient", patient_id)?;
    let subject = format!("Patient/{patient_id}");
    let problems = fetch::search(
        repo,
        ctx,
        "Condition",
        &[
            ("patient", &subject),
            ("category", PROBLEM_LIST_ITEM),
            ("clinical-status", "active"),
            ("_sort", "-recorded-date"),
            ("_count", "100"),
        ],
    )?;
    let height_code = format!("{SNOMED}|{}", HEIGHT.snomed.0);
    let heights = fetch::search(
        repo,
        ctx,
        "Observation",
        &[
            ("patient", &subject),
            ("code", &height_code),
            ("_sort", "-date"),
            ("_count", "1"),
        ],
    )?;
    Ok(PatientFacts {
        id: patient_id.to_string(),
        name: PersonName::banner_of(&patient),
        nhs_number: NhsNumber::recorded(&patient),
        birth_date: patient["birthDate"].as_str().and_then(parse_date),
        problems: problems.iter().filter_map(problem_choice).collect(),
        latest_height_cm: heights.first().and_then(height_cm),
    })
}

fn problem_choice(condition: &Value) -> Option<ProblemChoice> {
    let code = &condition["code"];
    let display = code["text"]
        .as_str()
        .or(code["coding"][0]["display"].as_str())
        .unwrap_or("Unnamed problem");
    Some(ProblemChoice {
        id: condition["id"].as_str()?.to_string(),
        display: display.to_string(),
        version: condition["meta"]["versionId"].as_str()?.parse().ok()?,
    })
}

fn height_cm(observation: &Value) -> Option<f64> {
    let quantity = &observation["valueQuantity"];
    let value = quantity["value"].as_f64()?;
    match quantity["code"].as_str().or(quantity["unit"].as_str()) {
        Some("m") => Some(value * 100.0),
        Some("cm") | None => Some(value),
        Some(_) => None,
    }
}
