//! Latency at full size: each operation run by C concurrent clients (threads sharing one
//! Repository), each doing its share of a fixed number of operations, timed one by one.

use super::ingest::PatientKey;
use crate::demo::{self, rng::Rng};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{FhirError, Repository, RequestContext, SearchRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A new Observation (a blood pressure) for a random patient.
    Create,
    /// A random existing resource, by id.
    Read,
    /// `Observation?subject=Patient/{id}`: the patient-compartment search.
    CompartmentSearch,
    /// `Patient?family=...&birthdate=...`.
    PatientSearch,
}

impl Operation {
    pub const ALL: [Operation; 4] = [
        Operation::Read,
        Operation::CompartmentSearch,
        Operation::PatientSearch,
        Operation::Create,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Operation::Create => "create Observation",
            Operation::Read => "read (random resource)",
            Operation::CompartmentSearch => "search Observation?subject=Patient/{id}",
            Operation::PatientSearch => "search Patient?family=&birthdate=",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::CompartmentSearch => "compartment_search",
            Operation::PatientSearch => "patient_search",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Latencies {
    pub operation: Operation,
    /// Every operation's time, sorted.
    pub times: Vec<Duration>,
    pub wall: Duration,
    /// Operations that failed or returned a wrong answer (e.g. a search that did not
    /// find the patient it was built from), with the first message.
    pub failures: usize,
    pub first_failure: Option<String>,
}

impl Latencies {
    /// The nearest-rank percentile `q` (0 < q <= 1).
    pub fn percentile(&self, q: f64) -> Duration {
        if self.times.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.times.len() as f64).ceil() as usize).clamp(1, self.times.len());
        self.times[rank - 1]
    }
    pub fn max(&self) -> Duration {
        self.times.last().copied().unwrap_or_default()
    }
    pub fn throughput(&self) -> f64 {
        self.times.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

pub struct Workload {
    pub repo: Arc<Repository>,
    pub ctx: RequestContext,
    pub patients: Arc<Vec<PatientKey>>,
    pub sample: Arc<Vec<(String, String)>>,
    pub clients: usize,
    pub ops: usize,
    pub seed: u64,
}

struct ClientRun {
    times: Vec<Duration>,
    failures: usize,
    first_failure: Option<String>,
    started: Instant,
    finished: Instant,
}

/// Operations each client runs, unrecorded, before its measured ones.
const WARM_UP: usize = 5;

pub fn measure(w: &Workload, op: Operation) -> Latencies {
    let clients = w.clients.max(1);
    let per_client: Vec<ClientRun> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                // Spread the operations evenly: the first `ops % clients` do one more.
                let count = w.ops / clients + usize::from(client < w.ops % clients);
                let mut rng = Rng::for_item(w.seed ^ op as u64, client as u64);
                scope.spawn(move || {
                    // Unrecorded warm-up: opens the client's connection and fills caches,
                    // which a long-running server has done long before.
                    for _ in 0..WARM_UP.min(count) {
                        let _ = run_one(w, op, &mut rng);
                    }
                    let mut times = Vec::with_capacity(count);
                    let (mut failures, mut first) = (0, None);
                    let started = Instant::now();
                    for _ in 0..count {
                        let t = Instant::now();
                        let outcome = run_one(w, op, &mut rng);
                        times.push(t.elapsed());
                        if let Err(e) = outcome {
                            failures += 1;
                            first.get_or_insert(e);
                        }
                    }
                    ClientRun {
                        times,
                        failures,
                        first_failure: first,
                        started,
                        finished: Instant::now(),
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a benchmark client panicked"))
            .collect()
    });
    // From the first client's first measured operation to the last one's end.
    let wall = match (
        per_client.iter().map(|c| c.started).min(),
        per_client.iter().map(|c| c.finished).max(),
    ) {
        (Some(start), Some(end)) => end - start,
        _ => Duration::ZERO,
    };
    let mut times = Vec::with_capacity(w.ops);
    let (mut failures, mut first_failure) = (0, None);
    for c in per_client {
        times.extend(c.times);
        failures += c.failures;
        if first_failure.is_none() {
            first_failure = c.first_failure;
        }
    }
    times.sort();
    Latencies {
        operation: op,
        times,
        wall,
        failures,
        first_failure,
    }
}

fn describe(e: FhirError) -> String {
    format!("{e}: {}", e.outcome())
}

fn run_one(w: &Workload, op: Operation, rng: &mut Rng) -> Result<(), String> {
    let patient = rng.pick(&w.patients);
    match op {
        Operation::Create => {
            let when = format!(
                "2026-11-{:02}T{:02}:{:02}:00Z",
                rng.range(1, 20),
                rng.range(8, 17),
                rng.range(0, 59)
            );
            let body = demo::blood_pressure_observation(
                &format!("Patient/{}", patient.id),
                &when,
                rng.range(110, 160),
                rng.range(65, 95),
            );
            w.repo
                .create(&w.ctx, "Observation", body, None)
                .map_err(describe)?;
            Ok(())
        }
        Operation::Read => {
            let (rtype, id) = rng.pick(&w.sample);
            let found = w.repo.read(&w.ctx, rtype, id).map_err(describe)?;
            if found.body.is_none() {
                return Err(format!("{rtype}/{id} read without a body"));
            }
            Ok(())
        }
        Operation::CompartmentSearch => {
            let params = vec![("subject".to_string(), format!("Patient/{}", patient.id))];
            search(w, "Observation", params).map(|_| ())
        }
        Operation::PatientSearch => {
            let params = vec![
                ("family".to_string(), patient.family.clone()),
                ("birthdate".to_string(), patient.birth_date.clone()),
            ];
            let found = search(w, "Patient", params)?;
            let ids: Vec<&str> = found["entry"]
                .as_array()
                .map(|e| {
                    e.iter()
                        .filter_map(|e| e["resource"]["id"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            // The page may not hold every match, but a family and birth date are rare.
            if !ids.contains(&patient.id.as_str()) && ids.len() < w.repo.config().default_count {
                return Err(format!(
                    "Patient?family={}&birthdate={} did not find Patient/{}",
                    patient.family, patient.birth_date, patient.id
                ));
            }
            Ok(())
        }
    }
}

fn search(w: &Workload, rtype: &str, params: Vec<(String, String)>) -> Result<Value, String> {
    let req = SearchRequest {
        rtype: Some(rtype.into()),
        params,
        base_url: "http://localhost/fhir".into(),
        lenient: false,
    };
    w.repo.search(&w.ctx, &req).map_err(describe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let l = Latencies {
            operation: Operation::Read,
            times: (1..=100).map(Duration::from_millis).collect(),
            wall: Duration::from_secs(1),
            failures: 0,
            first_failure: None,
        };
        assert_eq!(l.percentile(0.5), Duration::from_millis(50));
        assert_eq!(l.percentile(0.99), Duration::from_millis(99));
        assert_eq!(l.max(), Duration::from_millis(100));
        assert_eq!(l.throughput(), 100.0);
    }
}
