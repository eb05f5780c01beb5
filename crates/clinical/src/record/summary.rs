//! The summary: problems, current medication, allergies, latest observations with their
//! trends, immunisations and upcoming appointments. Each section is one search, run
//! side by side (every search waits for the audit trail's group commit, so running
//! them together lets them share it).
//!
//! A section the user's role may not read is `None` (the store refused the search), so
//! a receptionist's page simply has no clinical sections.

use super::banner::{allergy_is_active, is_no_known_allergy};
use super::display::{concept_text, has_code};
use super::trend::{Trend, trend_of};
use crate::conventions::SNOMED;
use crate::fetch;
use crate::problems::{self, Problem};
use fhir::uk::fhir_date_text;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::mpsc::Receiver;
use store::{FhirResult, Repository, RequestContext};

/// The observables the summary shows trends for: label and the codes (SNOMED CT, and a
/// LOINC code where the demo data writes only that) that mean it. Two groups, read by
/// two searches side by side, so frequent vital signs cannot crowd out the yearly
/// blood tests from a search's window.
pub const VITAL_SIGNS: [(&str, &[&str]); 8] = [
    ("Blood pressure", &["75367002"]),
    ("Pulse", &["364075005", "78564009"]),
    ("Weight", &["27113001"]),
    ("BMI", &["60621009"]),
    ("Peak flow", &["18491006"]),
    ("Temperature", &["386725007"]),
    ("Oxygen saturation", &["431314004", "59408-5"]),
    ("Smoking", &["72166-2"]),
];
pub const TESTS: [(&str, &[&str]); 5] = [
    ("HbA1c", &["999791000000106"]),
    ("eGFR", &["1011481000000105", "80274001"]),
    ("Serum creatinine", &["1000731000000107"]),
    ("Cholesterol", &["1005671000000105"]),
    ("Height", &["50373000"]),
];

/// How many recent readings of each group one page reads: the latest few of each
/// observable, without reading the whole record (each resource read costs time).
const VITAL_SIGNS_WINDOW: &str = "50";
const TESTS_WINDOW: &str = "30";

#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub active_problems: Option<Vec<Problem>>,
    /// Significant past problems: major, inactive or resolved.
    pub past_problems: Option<Vec<Problem>>,
    pub medication: Option<Vec<MedicationLine>>,
    pub allergies: Option<Vec<AllergyLine>>,
    pub observations: Option<Vec<Trend>>,
    pub immunisations: Option<Vec<ImmunisationLine>>,
    pub appointments: Option<Vec<AppointmentLine>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicationLine {
    pub drug: String,
    pub dosage: String,
    /// When last issued (authored), `12-Mar-2024`.
    pub last_issued: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllergyLine {
    pub substance: String,
    pub reaction: String,
    pub severity: String,
    pub recorded: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImmunisationLine {
    pub vaccine: String,
    pub date: String,
    pub dose: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentLine {
    pub when: String,
    pub description: String,
    pub status: String,
}

/// The summary of `patient_id`'s record: seven searches, run together.
pub fn summary(repo: &Repository, ctx: &RequestContext, patient_id: &str) -> FhirResult<Summary> {
    summary_with(repo, ctx, patient_id, Prefetched::default())
}

/// Sections another part of the page reads anyway (the banner's search brings the
/// allergies; the record page reads the problems once for the summary and the
/// journal), each handed over when ready. `None` here: the summary searches itself.
/// What is handed over is `None` when the role may not read it.
#[derive(Default)]
pub struct Prefetched {
    pub allergies: Option<Receiver<Option<Vec<Value>>>>,
    pub problems: Option<Receiver<Option<Vec<Problem>>>>,
}

/// The summary, taking what `prefetched` hands over instead of searching for it.
pub fn summary_with(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    prefetched: Prefetched,
) -> FhirResult<Summary> {
    let Prefetched {
        allergies,
        problems,
    } = prefetched;
    std::thread::scope(|s| {
        let problems = s.spawn(move || match problems {
            // A closed channel: the reader failed, and the page reports its error.
            Some(handed) => Ok(handed.recv().ok().flatten()),
            None => section(problems::search_problems(repo, ctx, patient_id)),
        });
        let meds = s.spawn(|| section(medication(repo, ctx, patient_id)));
        let allergies = s.spawn(move || match allergies {
            Some(from_banner) => Ok(from_banner
                .recv()
                .ok()
                .flatten()
                .map(|records| allergy_lines(&records))),
            None => section(search_allergies(repo, ctx, patient_id)),
        });
        let vitals = s.spawn(|| {
            section(observations(
                repo,
                ctx,
                patient_id,
                &VITAL_SIGNS,
                VITAL_SIGNS_WINDOW,
            ))
        });
        let tests = s.spawn(|| section(observations(repo, ctx, patient_id, &TESTS, TESTS_WINDOW)));
        let immunisations = s.spawn(|| section(immunisations(repo, ctx, patient_id)));
        let appointments = s.spawn(|| section(appointments(repo, ctx, patient_id)));
        let problems = joined(problems)?;
        let (active_problems, past_problems) = match problems {
            Some(list) => {
                let (active, past) = problems::split_active_and_significant_past(list);
                (Some(active), Some(past))
            }
            None => (None, None),
        };
        Ok(Summary {
            active_problems,
            past_problems,
            medication: joined(meds)?,
            allergies: joined(allergies)?,
            observations: match (joined(vitals)?, joined(tests)?) {
                (Some(mut vitals), Some(tests)) => {
                    vitals.extend(tests);
                    Some(vitals)
                }
                _ => None,
            },
            immunisations: joined(immunisations)?,
            appointments: joined(appointments)?,
        })
    })
}

type Section<T> = FhirResult<Option<T>>;

/// A refused search (the role may not read that type) is a section not shown.
fn section<T>(result: FhirResult<T>) -> Section<T> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status() == 403 => Ok(None),
        Err(e) => Err(e),
    }
}

fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, Section<T>>) -> Section<T> {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn medication(
    repo: &Repository,
    ctx: &RequestContext,
    patient: &str,
) -> FhirResult<Vec<MedicationLine>> {
    let found = fetch::search(
        repo,
        ctx,
        "MedicationRequest",
        &[
            ("patient", patient),
            ("status", "active"),
            ("_sort", "-authoredon"),
            ("_count", "100"),
        ],
    )?;
    Ok(found
        .iter()
        .map(|m| MedicationLine {
            drug: concept_text(&m["medicationCodeableConcept"]),
            dosage: m["dosageInstruction"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            last_issued: fhir_date_text(m["authoredOn"].as_str()),
        })
        .collect())
}

fn search_allergies(
    repo: &Repository,
    ctx: &RequestContext,
    patient: &str,
) -> FhirResult<Vec<AllergyLine>> {
    let found = fetch::search(
        repo,
        ctx,
        "AllergyIntolerance",
        &[("patient", patient), ("_count", "100")],
    )?;
    Ok(allergy_lines(&found))
}

/// The active allergies and adverse reactions (not the "no known allergy" records).
fn allergy_lines(found: &[Value]) -> Vec<AllergyLine> {
    found
        .iter()
        .filter(|a| allergy_is_active(a) && !is_no_known_allergy(a))
        .map(|a| {
            let reaction = &a["reaction"][0];
            let manifestations: Vec<String> = reaction["manifestation"]
                .as_array()
                .into_iter()
                .flatten()
                .map(concept_text)
                .collect();
            AllergyLine {
                substance: concept_text(&a["code"]),
                reaction: manifestations.join(", "),
                severity: reaction["severity"]
                    .as_str()
                    .or_else(|| a["criticality"].as_str().map(|_| ""))
                    .unwrap_or("")
                    .to_string(),
                recorded: fhir_date_text(a["recordedDate"].as_str()),
            }
        })
        .collect()
}

fn observations(
    repo: &Repository,
    ctx: &RequestContext,
    patient: &str,
    observables: &[(&str, &[&str])],
    window: &str,
) -> FhirResult<Vec<Trend>> {
    let codes: Vec<String> = observables
        .iter()
        .flat_map(|(_, codes)| codes.iter())
        .map(|c| {
            if c.contains('-') {
                format!("http://loinc.org|{c}")
            } else {
                format!("{SNOMED}|{c}")
            }
        })
        .collect();
    let codes = codes.join(",");
    let found = fetch::search(
        repo,
        ctx,
        "Observation",
        &[
            ("patient", patient),
            ("code", &codes),
            ("_sort", "-date"),
            ("_count", window),
        ],
    )?;
    Ok(observables
        .iter()
        .filter_map(|(label, codes)| {
            let readings: Vec<&Value> = found
                .iter()
                .filter(|o| o["status"] != "entered-in-error")
                .filter(|o| codes.iter().any(|c| has_code(&o["code"], c)))
                .collect();
            trend_of(label, &readings)
        })
        .collect())
}

fn immunisations(
    repo: &Repository,
    ctx: &RequestContext,
    patient: &str,
) -> FhirResult<Vec<ImmunisationLine>> {
    let found = fetch::search(
        repo,
        ctx,
        "Immunization",
        &[("patient", patient), ("_sort", "-date"), ("_count", "200")],
    )?;
    let mut seen = HashSet::new();
    Ok(found
        .iter()
        .filter(|i| i["status"] == "completed")
        .filter(|i| seen.insert(concept_text(&i["vaccineCode"])))
        .map(|i| ImmunisationLine {
            vaccine: concept_text(&i["vaccineCode"]),
            date: fhir_date_text(i["occurrenceDateTime"].as_str()),
            dose: i["protocolApplied"][0]["doseNumberPositiveInt"]
                .as_number()
                .map(|n| format!("dose {n}"))
                .unwrap_or_default(),
        })
        .collect())
}

fn appointments(
    repo: &Repository,
    ctx: &RequestContext,
    patient: &str,
) -> FhirResult<Vec<AppointmentLine>> {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let from = format!("ge{now}");
    let found = fetch::search(
        repo,
        ctx,
        "Appointment",
        &[
            ("patient", patient),
            ("date", &from),
            ("_sort", "date"),
            ("_count", "50"),
        ],
    )?;
    Ok(found
        .iter()
        .filter(|a| a["status"] != "cancelled")
        .map(|a| AppointmentLine {
            when: appointment_time(a["start"].as_str()),
            description: a["description"]
                .as_str()
                .map(str::to_string)
                .or_else(|| a["serviceType"].get(0).map(concept_text))
                .unwrap_or_else(|| "Appointment".to_string()),
            status: a["status"].as_str().unwrap_or("").to_string(),
        })
        .collect())
}

/// `12-Mar-2026 09:30` (as written: the store keeps the time the booking gave).
fn appointment_time(start: Option<&str>) -> String {
    let date = fhir_date_text(start);
    match start.and_then(|s| s.get(11..16)) {
        Some(time) => format!("{date} {time}"),
        None => date,
    }
}
