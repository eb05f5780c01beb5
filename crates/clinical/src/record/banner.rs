//! The patient banner: who this is, at a glance, on every patient page.

use super::display::{concept_text, has_code};
use crate::conventions::{CONFIDENTIALITY_SYSTEM, FLAG_CATEGORY_SYSTEM};
use chrono::{NaiveDate, Utc};
use fhir::uk::{Age, Gender, NhsNumber, PersonName, fhir_date_text, parse_date};
use serde_json::Value;
use store::{FhirError, FhirResult, Repository, RequestContext};

/// SNOMED CT codes that record "no known allergies" (as opposed to none recorded).
pub const NO_KNOWN_ALLERGY_CODES: [&str; 3] = [
    "716186003", // No known allergy
    "409137002", // No known drug allergy
    "428607008", // No known environmental allergy
];

/// What the banner shows. Every field is ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub patient_id: String,
    /// `SMITH, John (Mr)`.
    pub name: String,
    /// `12-Mar-1970`, or `""` if not recorded.
    pub born: String,
    /// `54 years`, `14 months`, `5 weeks`, `12 days` ([`Age`]; at death for a deceased
    /// patient).
    pub age: String,
    /// `943 476 5919`, or `None` if the patient has no NHS number.
    pub nhs_number: Option<String>,
    pub gender: String,
    /// The date of death (`""` when only known to be deceased), `None` if alive.
    pub deceased: Option<String>,
    /// Active alerts (Flag status active).
    pub alerts: Vec<BannerAlert>,
    /// Active allergies and adverse reactions, by substance or term.
    pub allergies: Vec<String>,
    /// Shown when `allergies` is empty: "No known allergies" only if recorded as such.
    pub allergy_note: String,
    /// The record is marked sensitive (`meta.security` R or V).
    pub sensitive: bool,
    /// This request opened the record by breaking the glass (and so is audited as such).
    pub break_glass: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BannerAlert {
    pub id: String,
    /// The version read, for `If-Match` when it is ended.
    pub version: i64,
    /// e.g. "Safety", "Clinical".
    pub category: String,
    pub text: String,
    /// The date it ends on, if set (`12-Mar-2026`).
    pub ends: String,
}

/// The banner for `patient_id`, from one search (the patient with its alerts and
/// allergies). A patient the user may not see is NotFound; one that needs break-glass
/// is Forbidden, as the store answers a read.
pub fn banner(repo: &Repository, ctx: &RequestContext, patient_id: &str) -> FhirResult<Banner> {
    banner_with_allergies(repo, ctx, patient_id).map(|(banner, _)| banner)
}

/// The banner, and the patient's AllergyIntolerance resources the same search found
/// (`None` when the user's role may not read them), for the summary to reuse.
pub fn banner_with_allergies(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
) -> FhirResult<(Banner, Option<Vec<Value>>)> {
    let searched = repo.find(
        ctx,
        "Patient",
        &[
            ("_id", patient_id),
            ("_revinclude", "Flag:patient"),
            ("_revinclude", "AllergyIntolerance:patient"),
        ],
    )?;
    let store::Found {
        matches: mut all,
        included,
    } = searched;
    all.extend(included);
    let Some(patient) = all.iter().find(|r| r["resourceType"] == "Patient") else {
        // Absent from the search: the read tells hidden (404) from restricted (403).
        repo.read(ctx, "Patient", patient_id)?;
        return Err(FhirError::NotFound(format!("Patient/{patient_id}")));
    };
    let today = Utc::now().date_naive();
    let of_type = |t: &'static str| all.iter().filter(move |r| r["resourceType"] == t);
    let alerts = of_type("Flag")
        .filter_map(|f| active_alert(f, today))
        .collect();
    let may_read_allergies = ctx
        .access
        .permits("AllergyIntolerance", store::access::Interaction::Search);
    let (allergies, allergy_note) = if may_read_allergies {
        allergies_at_a_glance(of_type("AllergyIntolerance"))
    } else {
        (Vec::new(), "Not shown to your role".to_string())
    };
    let banner = banner_of(patient, today, alerts, allergies, allergy_note, ctx);
    let records = may_read_allergies.then(|| of_type("AllergyIntolerance").cloned().collect());
    Ok((banner, records))
}

fn banner_of(
    patient: &Value,
    today: NaiveDate,
    alerts: Vec<BannerAlert>,
    allergies: Vec<String>,
    allergy_note: String,
    ctx: &RequestContext,
) -> Banner {
    let birth = patient["birthDate"].as_str().and_then(parse_date);
    let death_text = patient["deceasedDateTime"].as_str();
    let deceased = match (death_text, patient["deceasedBoolean"].as_bool()) {
        (Some(d), _) => Some(fhir_date_text(Some(d))),
        (None, Some(true)) => Some(String::new()),
        _ => None,
    };
    let age_on = death_text.and_then(parse_date).unwrap_or(today);
    Banner {
        patient_id: patient["id"].as_str().unwrap_or_default().to_string(),
        name: PersonName::banner_of(patient),
        born: fhir_date_text(patient["birthDate"].as_str()),
        age: Age::text(birth, age_on),
        nhs_number: NhsNumber::recorded(patient).map(|n| NhsNumber::spaced(&n)),
        gender: Gender::text(patient["gender"].as_str().and_then(Gender::from_code)).to_string(),
        deceased,
        alerts,
        allergies,
        allergy_note,
        sensitive: is_sensitive(patient),
        break_glass: ctx.access.break_glass.is_some(),
    }
}

fn is_sensitive(patient: &Value) -> bool {
    patient["meta"]["security"]
        .as_array()
        .is_some_and(|labels| {
            labels.iter().any(|l| {
                l["system"] == CONFIDENTIALITY_SYSTEM && (l["code"] == "R" || l["code"] == "V")
            })
        })
}

/// The alert if it is active today (status active, and not past its end date).
fn active_alert(flag: &Value, today: NaiveDate) -> Option<BannerAlert> {
    if flag["status"] != "active" {
        return None;
    }
    let end = flag["period"]["end"].as_str();
    if end.and_then(parse_date).is_some_and(|e| e < today) {
        return None;
    }
    Some(BannerAlert {
        id: flag["id"].as_str().unwrap_or_default().to_string(),
        version: flag["meta"]["versionId"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        category: flag_category(flag),
        text: concept_text(&flag["code"]),
        ends: fhir_date_text(end),
    })
}

/// The display of a Flag's category (first coding of [`FLAG_CATEGORY_SYSTEM`]).
pub fn flag_category(flag: &Value) -> String {
    flag["category"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["coding"].as_array())
        .flatten()
        .find(|c| c["system"] == FLAG_CATEGORY_SYSTEM)
        .and_then(|c| c["display"].as_str().or_else(|| c["code"].as_str()))
        .unwrap_or("Alert")
        .to_string()
}

/// Whether an AllergyIntolerance is current (no clinicalStatus counts as active).
pub fn allergy_is_active(a: &Value) -> bool {
    let status = &a["clinicalStatus"];
    status.is_null() || has_code(status, "active")
}

/// Whether an AllergyIntolerance records that there are no known allergies.
pub fn is_no_known_allergy(a: &Value) -> bool {
    NO_KNOWN_ALLERGY_CODES
        .iter()
        .any(|c| has_code(&a["code"], c))
}

fn allergies_at_a_glance<'a>(records: impl Iterator<Item = &'a Value>) -> (Vec<String>, String) {
    let mut allergies = Vec::new();
    let mut none_known = false;
    for a in records.filter(|a| allergy_is_active(a)) {
        if is_no_known_allergy(a) {
            none_known = true;
        } else {
            allergies.push(concept_text(&a["code"]));
        }
    }
    let note = if none_known {
        "No known allergies"
    } else {
        "Allergies not recorded"
    };
    (allergies, note.to_string())
}
