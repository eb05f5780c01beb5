//! The patient banner: who this is, at a glance, on every patient page.

use super::display::{concept_text, has_code, parse_date, uk_date};
use crate::conventions::{CONFIDENTIALITY_SYSTEM, FLAG_CATEGORY_SYSTEM, NHS_NUMBER_SYSTEM};
use crate::fetch;
use chrono::{Datelike, NaiveDate, Utc};
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
    /// `54 years`, `14 months`, `3 weeks`, `5 days` (at death for a deceased patient).
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
    let bundle = fetch::search_bundle(
        repo,
        ctx,
        "Patient",
        &[
            ("_id", patient_id),
            ("_revinclude", "Flag:patient"),
            ("_revinclude", "AllergyIntolerance:patient"),
        ],
    )?;
    let (mut all, included) = fetch::split(bundle);
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
        (Some(d), _) => Some(uk_date(Some(d))),
        (None, Some(true)) => Some(String::new()),
        _ => None,
    };
    let age_on = death_text.and_then(parse_date).unwrap_or(today);
    Banner {
        patient_id: patient["id"].as_str().unwrap_or_default().to_string(),
        name: display_name(patient),
        born: uk_date(patient["birthDate"].as_str()),
        age: birth.map(|b| age_text(b, age_on)).unwrap_or_default(),
        nhs_number: nhs_number(patient).map(|n| spaced_nhs_number(&n)),
        gender: gender_text(patient["gender"].as_str()),
        deceased,
        alerts,
        allergies,
        allergy_note,
        sensitive: is_sensitive(patient),
        break_glass: ctx.access.break_glass.is_some(),
    }
}

/// `SMITH, John Paul (Mr)`: the official (else first) name.
pub fn display_name(patient: &Value) -> String {
    let names = patient["name"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let Some(name) = names
        .iter()
        .find(|n| n["use"] == "official")
        .or_else(|| names.first())
    else {
        return "Name not recorded".to_string();
    };
    let words = |key: &str| -> Vec<String> {
        name[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let family = name["family"].as_str().unwrap_or("").to_uppercase();
    let given = words("given").join(" ");
    let prefix = words("prefix").join(" ");
    let mut out = match (family.is_empty(), given.is_empty()) {
        (false, false) => format!("{family}, {given}"),
        (false, true) => family,
        (true, _) => given,
    };
    if !prefix.is_empty() {
        out.push_str(&format!(" ({prefix})"));
    }
    out
}

/// Age as a clinician says it: years from 2, months under 2, weeks under 2 months
/// (roughly), days under a week.
pub fn age_text(birth: NaiveDate, on: NaiveDate) -> String {
    if on < birth {
        return String::new();
    }
    let days = (on - birth).num_days();
    let mut months = (on.year() - birth.year()) * 12 + on.month() as i32 - birth.month() as i32;
    if on.day() < birth.day() {
        months -= 1;
    }
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if months >= 24 {
        plural(i64::from(months / 12), "year")
    } else if months >= 2 {
        plural(i64::from(months), "month")
    } else if days >= 7 {
        plural(days / 7, "week")
    } else {
        plural(days, "day")
    }
}

fn nhs_number(patient: &Value) -> Option<String> {
    patient["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["system"] == NHS_NUMBER_SYSTEM)
        .and_then(|i| i["value"].as_str())
        .map(str::to_string)
}

/// `9434765919` as `943 476 5919` (anything else is shown as it is).
pub fn spaced_nhs_number(number: &str) -> String {
    let digits: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 10 && digits.chars().all(|c| c.is_ascii_digit()) {
        format!("{} {} {}", &digits[..3], &digits[3..6], &digits[6..])
    } else {
        number.to_string()
    }
}

fn gender_text(gender: Option<&str>) -> String {
    match gender {
        Some("male") => "Male",
        Some("female") => "Female",
        Some("other") => "Other",
        Some("unknown") => "Unknown",
        _ => "Not recorded",
    }
    .to_string()
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
        ends: uk_date(end),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ages_in_years_months_weeks_and_days() {
        assert_eq!(age_text(day("1970-03-12"), day("2024-03-11")), "53 years");
        assert_eq!(age_text(day("1970-03-12"), day("2024-03-12")), "54 years");
        assert_eq!(age_text(day("2023-01-20"), day("2024-03-12")), "13 months");
        assert_eq!(age_text(day("2024-02-01"), day("2024-03-12")), "5 weeks");
        assert_eq!(age_text(day("2024-03-10"), day("2024-03-12")), "2 days");
        assert_eq!(age_text(day("2024-03-11"), day("2024-03-12")), "1 day");
    }

    #[test]
    fn nhs_numbers_are_spaced_three_three_four() {
        assert_eq!(spaced_nhs_number("9434765919"), "943 476 5919");
        assert_eq!(spaced_nhs_number("943 476 5919"), "943 476 5919");
        assert_eq!(spaced_nhs_number("12345"), "12345");
    }
}
