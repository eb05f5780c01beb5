//! The demo practice: synthetic but realistic GP records to try OpenGP with, and the
//! data the benchmarks load. Everything is generated deterministically from a seed, so
//! the same seed always gives the same practice, byte for byte.
//!
//! - [`practice_bundle`]: the practice (Organization with its ODS code) and clinicians.
//! - [`patient_record`]: one patient and a few years of their record, as a transaction.
//! - [`load_demo_practice`]: loads both into a store.

mod codes;
mod names;
pub mod nhs;
mod patient;
mod practice;
mod record;
pub mod rng;
mod values;

pub use patient::patient_record;
pub use practice::practice_bundle;
pub use values::blood_pressure_observation;

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use store::{FhirError, Repository, RequestContext, SearchRequest};

/// The seed of the demo practice: chosen (see the `find_demo_seed` test) so its patients
/// include a young child, someone over eighty, hypertension, diabetes, asthma, COPD, a
/// penicillin allergy and flu vaccines.
pub const DEMO_SEED: u64 = 33;
/// How many patients the demo practice has.
pub const DEMO_PATIENTS: usize = 12;
/// The base URL given to the store while loading (only used in its responses).
const LOAD_BASE: &str = "http://localhost/fhir";

/// A loaded patient, to try in the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExamplePatient {
    pub id: String,
    pub name: String,
    pub nhs_number: String,
    pub birth_date: String,
    /// Resources in their record, the patient included.
    pub resources: usize,
}

/// What `load_demo_practice` did.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub practice: String,
    /// Resources written, by type.
    pub counts: BTreeMap<String, usize>,
    pub patients: Vec<ExamplePatient>,
    /// Patients not loaded because a patient with their NHS number was already there.
    pub already_present: usize,
}

impl DemoSummary {
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Demo practice {} ({}):",
            self.practice,
            practice::PRACTICE_NAME
        )?;
        writeln!(f, "  {} resources written", self.total())?;
        for (rtype, n) in &self.counts {
            writeln!(f, "    {rtype:<20} {n:>6}")?;
        }
        if self.already_present > 0 {
            writeln!(
                f,
                "  {} patients were already loaded and were left as they were",
                self.already_present
            )?;
        }
        // Counts only: names, NHS numbers and birth dates stay out of stdout and logs.
        writeln!(f, "  {} patients loaded", self.patients.len())?;
        Ok(())
    }
}

/// Loads the demo practice (its Organization, clinicians and [`DEMO_PATIENTS`] patients
/// with their records) for `ctx.practice`, one transaction per patient. Patients already
/// present (same NHS number) are skipped, so loading twice does not duplicate records.
pub fn load_demo_practice(
    repo: &Repository,
    ctx: &RequestContext,
) -> Result<DemoSummary, FhirError> {
    let ods = ctx.practice.as_str();
    let mut summary = DemoSummary {
        practice: ods.to_string(),
        ..Default::default()
    };
    let response = repo.bundle(ctx, practice_bundle(ods), LOAD_BASE)?;
    count_written(&practice_bundle(ods), &response, &mut summary.counts);

    for index in 0..DEMO_PATIENTS {
        let bundle = patient_record(DEMO_SEED, index, ods);
        let example = example_patient(&bundle);
        if patient_exists(repo, ctx, &example.nhs_number)? {
            summary.already_present += 1;
            continue;
        }
        let response = repo.bundle(ctx, bundle.clone(), LOAD_BASE)?;
        count_written(&bundle, &response, &mut summary.counts);
        let id = response["entry"][0]["response"]["location"]
            .as_str()
            .and_then(location_id)
            .unwrap_or_default();
        summary.patients.push(ExamplePatient { id, ..example });
    }
    Ok(summary)
}

fn patient_exists(
    repo: &Repository,
    ctx: &RequestContext,
    nhs_number: &str,
) -> Result<bool, FhirError> {
    let req = SearchRequest {
        rtype: Some("Patient".into()),
        params: vec![
            (
                "identifier".into(),
                format!("{}|{nhs_number}", codes::NHS_NUMBER),
            ),
            ("_summary".into(), "count".into()),
        ],
        base_url: LOAD_BASE.into(),
        lenient: false,
    };
    let found = repo.search(ctx, &req)?;
    Ok(found["total"].as_u64().unwrap_or(0) > 0
        || found["entry"].as_array().is_some_and(|e| !e.is_empty()))
}

/// Name, NHS number and birth date of the Patient in a generated record (its first
/// entry), and the record's size.
pub fn example_patient(bundle: &Value) -> ExamplePatient {
    let patient = &bundle["entry"][0]["resource"];
    let name = &patient["name"][0];
    let given: Vec<&str> = name["given"]
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    ExamplePatient {
        id: String::new(),
        name: format!(
            "{} {}",
            given.join(" "),
            name["family"].as_str().unwrap_or_default()
        ),
        nhs_number: patient["identifier"][0]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        birth_date: patient["birthDate"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        resources: bundle["entry"].as_array().map_or(0, Vec::len),
    }
}

/// The id in a response location such as `Patient/123/_history/1` (relative or absolute).
pub fn location_id(location: &str) -> Option<String> {
    location_parts(location).map(|(_, id)| id.to_string())
}

/// The type and id in a response location such as `Patient/123/_history/1`.
pub fn location_parts(location: &str) -> Option<(&str, &str)> {
    let path = location.split("/_history").next()?;
    let mut parts = path.rsplit('/');
    let id = parts.next()?;
    let rtype = parts.next()?;
    (!id.is_empty() && !rtype.is_empty()).then_some((rtype, id))
}

/// Counts the entries of `sent` by resource type, for each response entry that wrote
/// something (status 200 or 201).
fn count_written(sent: &Value, response: &Value, counts: &mut BTreeMap<String, usize>) {
    let sent = sent["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let answered = response["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (entry, answer) in sent.iter().zip(answered) {
        let status = answer["response"]["status"].as_str().unwrap_or_default();
        if status.starts_with("200") || status.starts_with("201") {
            let rtype = entry["resource"]["resourceType"].as_str().unwrap_or("?");
            *counts.entry(rtype.to_string()).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests;
