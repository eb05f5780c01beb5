//! The demo practice: synthetic but realistic GP records to try OpenGP with, and the
//! data the benchmarks load. Everything is generated deterministically from a seed, so
//! the same seed always gives the same practice, byte for byte.
//!
//! - [`practice_bundle`]: the practice (Organization with its ODS code) and clinicians.
//! - [`patient_record`]: one patient and their record since registration, as a
//!   transaction, structured as `clinical::conventions` describes.
//! - [`long_record`]: one patient with twenty years of dense history (benchmarks).
//! - [`pds_people`]: PDS's view of the demo population, and of people not registered.
//! - [`load_demo_practice`]: loads the practice and its patients into a store.

mod acute;
mod care;
mod codes;
mod entries;
pub mod inbox;
mod life;
mod names;
pub mod nhs;
mod patient;
mod people;
mod practice;
mod record;
pub mod rng;
mod values;

// The record-page benchmark and the PDS simulator's wiring use these.
#[allow(unused_imports)]
pub use patient::long_record;
pub use patient::patient_record;
#[allow(unused_imports)]
pub use people::pds_people_at;
pub use practice::practice_bundle;
pub use values::blood_pressure_observation;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use store::{FhirError, Repository, RequestContext, SearchRequest};

/// The seed of the demo practice.
pub const DEMO_SEED: u64 = 33;
/// How many patients `serve --demo` loads unless told otherwise: a believable list
/// (about 490,000 resources) that loads once, in about a minute and a half on two
/// cores with SQLite.
pub const DEMO_PATIENTS: usize = 2_000;
/// Patients written per transaction while loading: big enough to amortise a commit,
/// small enough to keep every worker busy.
const PATIENTS_PER_BUNDLE: usize = 8;
/// The base URL given to the store while loading (only used in its responses).
const LOAD_BASE: &str = "http://localhost/fhir";

/// PDS's view of the demo population of the default practice: each of its `patients`
/// demo patients, then 50 people not registered there. See [`pds_people_at`].
#[allow(dead_code)]
pub fn pds_people(seed: u64, patients: usize) -> Vec<Value> {
    pds_people_at(seed, patients, server::DEFAULT_PRACTICE)
}

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

/// Loads the demo practice (its Organization, clinicians and `patients` patients with
/// their records) for `ctx.practice`: several patients to a transaction, on several
/// threads. Patients already present (same NHS number) are skipped, so loading twice
/// does not duplicate records.
pub fn load_demo_practice(
    repo: &Repository,
    ctx: &RequestContext,
    patients: usize,
) -> Result<DemoSummary, FhirError> {
    let ods = ctx.practice.as_str();
    let mut summary = DemoSummary {
        practice: ods.to_string(),
        ..Default::default()
    };
    let response = repo.bundle(ctx, practice_bundle(ods), LOAD_BASE)?;
    count_written(&practice_bundle(ods), &response, &mut summary.counts);

    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let shared = Mutex::new((summary, None::<FhirError>));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let first = next.fetch_add(PATIENTS_PER_BUNDLE, Ordering::Relaxed);
                    if first >= patients {
                        break;
                    }
                    let last = (first + PATIENTS_PER_BUNDLE).min(patients);
                    let loaded = load_some(repo, ctx, first..last);
                    let mut guard = shared.lock().expect("no worker panicked");
                    match loaded {
                        Ok(part) => guard.0.absorb(part),
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            guard.1.get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    let (mut summary, error) = shared.into_inner().expect("no worker panicked");
    if let Some(e) = error {
        return Err(e);
    }
    summary
        .patients
        .sort_by(|a, b| a.nhs_number.cmp(&b.nhs_number));
    Ok(summary)
}

impl DemoSummary {
    fn absorb(&mut self, part: DemoSummary) {
        for (rtype, n) in part.counts {
            *self.counts.entry(rtype).or_default() += n;
        }
        self.patients.extend(part.patients);
        self.already_present += part.already_present;
    }
}

/// Loads patients `indices` in one transaction.
fn load_some(
    repo: &Repository,
    ctx: &RequestContext,
    indices: std::ops::Range<usize>,
) -> Result<DemoSummary, FhirError> {
    let mut part = DemoSummary::default();
    let mut entries = Vec::new();
    let mut examples = Vec::new();
    for index in indices {
        let bundle = patient_record(DEMO_SEED, index, &ctx.practice);
        let example = example_patient(&bundle);
        if patient_exists(repo, ctx, &example.nhs_number)? {
            part.already_present += 1;
            continue;
        }
        examples.push((entries.len(), example));
        if let Value::Object(mut map) = bundle
            && let Some(Value::Array(mut e)) = map.remove("entry")
        {
            entries.append(&mut e);
        }
    }
    if entries.is_empty() {
        return Ok(part);
    }
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let response = repo.bundle(ctx, bundle.clone(), LOAD_BASE)?;
    count_written(&bundle, &response, &mut part.counts);
    for (at, example) in examples {
        let id = response["entry"][at]["response"]["location"]
            .as_str()
            .and_then(location_id)
            .unwrap_or_default();
        part.patients.push(ExamplePatient { id, ..example });
    }
    Ok(part)
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
