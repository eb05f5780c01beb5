//! `opengp bench`: how fast the record store is, on data shaped like a GP practice's.
//!
//! For each database: generate demo patient records up to the target size and ingest
//! them as transaction Bundles (timed), with a plain insert of the same JSON as the
//! baseline; then, at full size, the latency of create, read and two searches under
//! concurrent clients. Each run uses a fresh database, so runs are repeatable: a new
//! temporary SQLite file by default, a new SQLite file named by `sqlite:PATH`, or a
//! scratch schema for `postgres://...` (dropped at the end).

mod dataset;
mod ingest;
mod latency;
mod report;
mod sample;
#[cfg(test)]
mod tests;

use crate::demo;
use ingest::{IngestPlan, IngestResult};
use latency::{Operation, Workload};
use report::{DatabaseReport, Settings};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use store::{Repository, RepositoryConfig, RequestContext, Store};

/// The practice (tenant) the benchmark writes as.
const BENCH_PRACTICE: &str = "Y99999";

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Database to benchmark: `sqlite:PATH` (a file that must not exist yet) or
    /// `postgres://USER@HOST/DB` (tables go in a scratch schema, dropped afterwards).
    /// Repeat, or separate with commas, to compare. Default: a temporary SQLite file.
    #[arg(long = "database", value_delimiter = ',')]
    pub databases: Vec<String>,
    /// Size of the data set, in resources.
    #[arg(long, default_value_t = 1_000_000)]
    pub resources: usize,
    /// Concurrent clients for the latency measurements.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Operations per latency measurement (shared among the clients).
    #[arg(long, default_value_t = 2_000)]
    pub ops: usize,
    /// Resources per transaction Bundle (whole patients, so approximately).
    #[arg(long = "bundle-size", default_value_t = 500)]
    pub bundle_size: usize,
    /// Also write the report to this file: JSON if it ends in .json, else Markdown.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print no progress while ingesting.
    #[arg(long)]
    pub quiet: bool,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            databases: Vec::new(),
            resources: 1_000_000,
            clients: 4,
            ops: 2_000,
            bundle_size: 500,
            out: None,
            seed: 1,
            quiet: false,
        }
    }
}

pub fn run(args: BenchArgs) -> Result<(), String> {
    let settings = Settings {
        resources: args.resources,
        clients: args.clients,
        ops: args.ops,
        bundle_size: args.bundle_size,
        seed: args.seed,
    };
    let reports = run_all(&args)?;
    let text = report::markdown(&settings, &reports);
    println!("{text}");
    if let Some(path) = &args.out {
        write_report(path, &settings, &reports)?;
    }
    Ok(())
}

/// Writes the report to `path`: JSON if it ends in `.json`, else Markdown.
fn write_report(
    path: &std::path::Path,
    settings: &Settings,
    reports: &[DatabaseReport],
) -> Result<(), String> {
    let contents = if path.extension().is_some_and(|e| e == "json") {
        serde_json::to_string_pretty(&report::json_report(settings, reports))
            .expect("JSON serializes")
    } else {
        format!(
            "## OpenGP benchmark\n\n{}",
            report::markdown(settings, reports)
        )
    };
    std::fs::write(path, contents).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Runs the benchmark on every database asked for.
fn run_all(args: &BenchArgs) -> Result<Vec<DatabaseReport>, String> {
    let urls = if args.databases.is_empty() {
        vec![String::new()]
    } else {
        args.databases.clone()
    };
    let mut reports = Vec::new();
    for url in urls.iter().map(|u| u.trim()) {
        let store = open_fresh(url)?;
        reports.push(run_database(store, args)?);
    }
    Ok(reports)
}

/// Refreshes the query planner's statistics (`ANALYZE` on both backends).
pub(crate) fn analyze(repo: &Repository, ctx: &RequestContext) -> Result<(), String> {
    let mut tx = repo
        .store()
        .begin(ctx, store::TxMode::Write)
        .map_err(|e| format!("analysing the database: {e}"))?;
    tx.execute("ANALYZE", &[])
        .map_err(|e| format!("analysing the database: {e}"))?;
    tx.commit()
        .map_err(|e| format!("analysing the database: {e}"))
}

/// A fresh, empty store for `url` ("" for a temporary SQLite file).
pub(crate) fn open_fresh(url: &str) -> Result<Arc<dyn Store>, String> {
    if url.is_empty() {
        let store = store_sqlite::SqliteStore::open_temp()
            .map_err(|e| format!("creating a temporary SQLite database: {e}"))?;
        return Ok(Arc::new(store));
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if std::path::Path::new(path).exists() {
            return Err(format!(
                "{path} exists: the benchmark needs a new database file (or leave out --database for a temporary one)"
            ));
        }
        return crate::database::open(url);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = store_postgres::ScratchStore::create(url)
            .map_err(|e| format!("connecting to PostgreSQL: {e}"))?;
        return Ok(Arc::new(store));
    }
    Err("a benchmark database must be sqlite:PATH or postgres://USER@HOST/DATABASE".into())
}

fn run_database(store: Arc<dyn Store>, args: &BenchArgs) -> Result<DatabaseReport, String> {
    let database = store.describe();
    let dialect = store.dialect();
    let repo = Arc::new(Repository::new(store, RepositoryConfig::default()));
    let ctx = RequestContext::system(BENCH_PRACTICE);
    log(args, &format!("benchmarking {database}"));

    repo.bundle(
        &ctx,
        demo::practice_bundle(BENCH_PRACTICE),
        "http://localhost/fhir",
    )
    .map_err(|e| format!("loading the practice: {e}: {}", e.outcome()))?;
    ingest::create_raw_table(&repo, &ctx)?;

    let progress_every = (args.resources / 20).max(1);
    let next_report = std::cell::Cell::new(progress_every);
    let started = Instant::now();
    let progress = |target: usize, r: &IngestResult| {
        if r.resources >= next_report.get() {
            next_report.set(r.resources + progress_every);
            log(
                args,
                &format!(
                    "  ingested {:>10} / {} resources: {} resources/s (plain insert {} /s), {:.0} s",
                    report::thousands(r.resources as f64),
                    report::thousands(target as f64),
                    report::thousands(r.fhir_rate()),
                    report::thousands(r.raw_rate()),
                    started.elapsed().as_secs_f64()
                ),
            );
        }
    };
    let plan = IngestPlan {
        seed: args.seed,
        resources: args.resources,
        bundle_size: args.bundle_size,
        sample_size: 200_000,
        progress: &progress,
    };
    let ingested = ingest::ingest(&repo, &ctx, &plan);
    // The baseline table goes whatever happened.
    let dropped = ingest::drop_raw_table(&repo, &ctx);
    let ingested = ingested?;
    dropped?;
    if ingested.patients.is_empty() {
        return Err("no patients were ingested".into());
    }
    // Fresh planner statistics, as after any bulk load: without them PostgreSQL plans
    // the searches for an empty table until autovacuum catches up.
    analyze(&repo, &ctx)?;

    let workload = Workload {
        repo: repo.clone(),
        ctx,
        patients: Arc::new(ingested.patients.clone()),
        sample: Arc::new(ingested.sample.clone()),
        clients: args.clients,
        ops: args.ops,
        seed: args.seed,
    };
    let mut latencies = Vec::new();
    for op in Operation::ALL {
        log(
            args,
            &format!(
                "  measuring {} ({} operations, {} clients)",
                op.label(),
                args.ops,
                args.clients
            ),
        );
        latencies.push(latency::measure(&workload, op));
    }
    Ok(DatabaseReport {
        database,
        dialect,
        ingest: ingested,
        latencies,
    })
}

fn log(args: &BenchArgs, line: &str) {
    if !args.quiet {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}
