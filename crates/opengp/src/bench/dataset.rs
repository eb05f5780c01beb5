//! The benchmark's data: demo patient records, merged several to a transaction Bundle
//! of about the asked size. A patient is never split across bundles, so every
//! `urn:uuid:` reference still resolves inside its bundle.

use crate::demo;
use serde_json::{Value, json};
use store::{Row, SqlValue};

/// One transaction Bundle to ingest, and the same resources as plain rows for the
/// baseline (`id` from the entry's uuid, `body` the resource's JSON).
pub struct Batch {
    pub bundle: Value,
    pub raw_rows: Vec<Row>,
    pub resources: usize,
    /// (family name, birth date) of each patient, in entry order.
    pub patients: Vec<(String, String)>,
}

/// Generates batches until `target` resources have been produced.
pub struct Dataset {
    seed: u64,
    practice: String,
    next_patient: usize,
    produced: usize,
    target: usize,
    bundle_size: usize,
}

impl Dataset {
    pub fn new(seed: u64, practice: &str, target: usize, bundle_size: usize) -> Self {
        Dataset {
            seed,
            practice: practice.to_string(),
            next_patient: 0,
            produced: 0,
            target,
            bundle_size: bundle_size.max(1),
        }
    }
}

impl Iterator for Dataset {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.produced >= self.target {
            return None;
        }
        let mut entries: Vec<Value> = Vec::new();
        let mut patients = Vec::new();
        loop {
            let record = demo::patient_record(self.seed, self.next_patient, &self.practice);
            let mut record_entries = match record {
                Value::Object(mut map) => match map.remove("entry") {
                    Some(Value::Array(e)) => e,
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            // Keep this patient for the next bundle if it would overflow this one.
            if !entries.is_empty() && entries.len() + record_entries.len() > self.bundle_size {
                break;
            }
            self.next_patient += 1;
            let patient = &record_entries[0]["resource"];
            patients.push((
                patient["name"][0]["family"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                patient["birthDate"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ));
            self.produced += record_entries.len();
            entries.append(&mut record_entries);
            if self.produced >= self.target || entries.len() >= self.bundle_size {
                break;
            }
        }
        let raw_rows = entries
            .iter()
            .map(|e| {
                let id = e["fullUrl"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches("urn:uuid:")
                    .to_string();
                let body = serde_json::to_string(&e["resource"]).expect("JSON serializes");
                vec![SqlValue::Text(id), SqlValue::Text(body)]
            })
            .collect();
        let resources = entries.len();
        Some(Batch {
            bundle: json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}),
            raw_rows,
            resources,
            patients,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn batches_hold_whole_patients_near_the_asked_size() {
        let batches: Vec<Batch> = Dataset::new(9, "A81001", 3_000, 200).collect();
        let total: usize = batches.iter().map(|b| b.resources).sum();
        // It stops at the first whole patient past the target (a long record can hold
        // well over a thousand resources).
        assert!((3_000..3_000 + 2_500).contains(&total), "{total}");
        for b in &batches {
            let entries = b.bundle["entry"].as_array().unwrap();
            assert_eq!(entries.len(), b.resources);
            assert_eq!(b.raw_rows.len(), b.resources);
            // Each patient's urn is defined in the same bundle as every reference to it.
            let urls: HashSet<&str> = entries
                .iter()
                .map(|e| e["fullUrl"].as_str().unwrap())
                .collect();
            for e in entries {
                let r = &e["resource"];
                if let Some(s) = r.get("subject").or_else(|| r.get("patient")) {
                    assert!(urls.contains(s["reference"].as_str().unwrap()));
                }
            }
            let patients = entries
                .iter()
                .filter(|e| e["resource"]["resourceType"] == "Patient")
                .count();
            assert_eq!(patients, b.patients.len());
        }
        // Most bundles are close to the asked size; only a single large patient may exceed it.
        assert!(
            batches
                .iter()
                .filter(|b| b.resources > 200)
                .all(|b| b.patients.len() == 1)
        );
    }
}
