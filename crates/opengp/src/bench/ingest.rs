//! Ingest: the generated records posted as transaction Bundles (validated, versioned and
//! indexed), and, interleaved batch by batch in the same database, the baseline: the
//! same JSON bytes inserted as plain rows into a scratch table in transactions of the
//! same size. Both are timed around the database work only; generating the data runs
//! on its own thread.

use super::dataset::{Batch, Dataset};
use super::sample::Reservoir;
use crate::demo;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};
use store::{Repository, RequestContext, TxMode};

pub const RAW_TABLE: &str = "bench_raw";

/// A patient written during ingest, for the searches.
#[derive(Debug, Clone)]
pub struct PatientKey {
    pub id: String,
    pub family: String,
    pub birth_date: String,
}

#[derive(Debug, Default)]
pub struct IngestResult {
    pub resources: usize,
    pub bundles: usize,
    /// Time inside `Repository::bundle`.
    pub fhir: Duration,
    /// Time inside the plain inserts (begin, insert_many, commit).
    pub raw: Duration,
    pub wall: Duration,
    pub patients: Vec<PatientKey>,
    /// A uniform sample of `(type, id)` of everything written, for reads.
    pub sample: Vec<(String, String)>,
}

impl IngestResult {
    pub fn fhir_rate(&self) -> f64 {
        rate(self.resources, self.fhir)
    }
    pub fn raw_rate(&self) -> f64 {
        rate(self.resources, self.raw)
    }
}

pub fn rate(count: usize, time: Duration) -> f64 {
    count as f64 / time.as_secs_f64().max(1e-9)
}

pub struct IngestPlan<'a> {
    pub seed: u64,
    pub resources: usize,
    pub bundle_size: usize,
    pub sample_size: usize,
    pub progress: &'a dyn Fn(usize, &IngestResult),
}

/// (Re)creates the empty baseline table.
pub fn create_raw_table(repo: &Repository, ctx: &RequestContext) -> Result<(), String> {
    let mut tx = repo
        .store()
        .begin(ctx, TxMode::Write)
        .map_err(|e| e.to_string())?;
    tx.execute(&format!("DROP TABLE IF EXISTS {RAW_TABLE}"), &[])
        .map_err(|e| e.to_string())?;
    tx.execute(
        &format!("CREATE TABLE {RAW_TABLE} (id TEXT PRIMARY KEY, body TEXT NOT NULL)"),
        &[],
    )
    .map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())
}

pub fn drop_raw_table(repo: &Repository, ctx: &RequestContext) -> Result<(), String> {
    let mut tx = repo
        .store()
        .begin(ctx, TxMode::Write)
        .map_err(|e| e.to_string())?;
    tx.execute(&format!("DROP TABLE IF EXISTS {RAW_TABLE}"), &[])
        .map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())
}

pub fn ingest(
    repo: &Repository,
    ctx: &RequestContext,
    plan: &IngestPlan,
) -> Result<IngestResult, String> {
    let mut result = IngestResult::default();
    let mut reservoir = Reservoir::new(plan.sample_size, plan.seed);
    let started = Instant::now();
    let (sender, receiver) = sync_channel::<Batch>(4);
    let dataset = Dataset::new(plan.seed, &ctx.practice, plan.resources, plan.bundle_size);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for batch in dataset {
                if sender.send(batch).is_err() {
                    break; // ingest stopped on an error
                }
            }
        });
        for batch in receiver {
            ingest_batch(repo, ctx, batch, &mut result, &mut reservoir)?;
            (plan.progress)(plan.resources, &result);
        }
        Ok::<(), String>(())
    })?;
    result.wall = started.elapsed();
    result.sample = reservoir.into_items();
    Ok(result)
}

fn ingest_batch(
    repo: &Repository,
    ctx: &RequestContext,
    batch: Batch,
    result: &mut IngestResult,
    sample: &mut Reservoir<(String, String)>,
) -> Result<(), String> {
    let t = Instant::now();
    let response = repo
        .bundle(ctx, batch.bundle, "http://localhost/fhir")
        .map_err(|e| format!("the store refused a bundle ({}): {}", e, e.outcome()))?;
    result.fhir += t.elapsed();

    let t = Instant::now();
    let mut tx = repo
        .store()
        .begin(ctx, TxMode::Write)
        .map_err(|e| e.to_string())?;
    tx.insert_many(RAW_TABLE, &["id", "body"], &batch.raw_rows)
        .map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    result.raw += t.elapsed();

    let entries = response["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if entries.len() != batch.resources {
        return Err(format!(
            "a bundle of {} entries was answered with {}",
            batch.resources,
            entries.len()
        ));
    }
    let mut patients = batch.patients.into_iter();
    for entry in entries {
        let location = entry["response"]["location"].as_str().unwrap_or_default();
        let Some((rtype, id)) = demo::location_parts(location) else {
            return Err(format!(
                "a bundle response entry has no usable location: {location:?}"
            ));
        };
        if rtype == "Patient" {
            let (family, birth_date) = patients.next().unwrap_or_default();
            result.patients.push(PatientKey {
                id: id.to_string(),
                family,
                birth_date,
            });
        }
        sample.offer((rtype.to_string(), id.to_string()));
    }
    result.resources += batch.resources;
    result.bundles += 1;
    Ok(())
}
