//! The benchmark report: a Markdown table (printed, and written with `--out x.md`) or
//! JSON (`--out x.json`), with the targets marked met or missed.

use super::ingest::IngestResult;
use super::latency::{Latencies, Operation};
use serde_json::{Value, json};
use std::fmt::Write;
use std::time::Duration;
use store::Dialect;

pub struct Settings {
    pub resources: usize,
    pub clients: usize,
    pub ops: usize,
    pub bundle_size: usize,
    pub seed: u64,
}

pub struct DatabaseReport {
    pub database: String,
    pub dialect: Dialect,
    pub ingest: IngestResult,
    pub latencies: Vec<Latencies>,
}

impl DatabaseReport {
    fn latency(&self, op: Operation) -> Option<&Latencies> {
        self.latencies.iter().find(|l| l.operation == op)
    }

    /// The targets for this database (only SQLite has them), each with what was
    /// measured and whether it was met.
    pub fn targets(&self) -> Vec<TargetCheck> {
        if self.dialect != Dialect::Sqlite {
            return Vec::new();
        }
        let mut checks = vec![TargetCheck::at_least(
            "ingest",
            "resources/s",
            20_000.0,
            self.ingest.fhir_rate(),
        )];
        if let Some(l) = self.latency(Operation::Read) {
            checks.push(TargetCheck::at_most(
                "read p99",
                "ms",
                2.0,
                ms(l.percentile(0.99)),
            ));
        }
        if let Some(l) = self.latency(Operation::CompartmentSearch) {
            checks.push(TargetCheck::at_most(
                "patient-compartment search p99",
                "ms",
                20.0,
                ms(l.percentile(0.99)),
            ));
        }
        checks
    }
}

pub struct TargetCheck {
    pub name: &'static str,
    pub unit: &'static str,
    pub threshold: f64,
    pub measured: f64,
    /// True for "at least" targets (throughput), false for "at most" (latency).
    pub at_least: bool,
}

impl TargetCheck {
    fn at_least(name: &'static str, unit: &'static str, threshold: f64, measured: f64) -> Self {
        TargetCheck {
            name,
            unit,
            threshold,
            measured,
            at_least: true,
        }
    }
    fn at_most(name: &'static str, unit: &'static str, threshold: f64, measured: f64) -> Self {
        TargetCheck {
            name,
            unit,
            threshold,
            measured,
            at_least: false,
        }
    }
    pub fn met(&self) -> bool {
        if self.at_least {
            self.measured >= self.threshold
        } else {
            self.measured <= self.threshold
        }
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 1234567.8 as "1,234,568".
pub fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn markdown(settings: &Settings, databases: &[DatabaseReport]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Target size {} resources, transaction bundles of ~{} resources, {} concurrent clients, {} operations per measurement, seed {}.\n",
        thousands(settings.resources as f64),
        settings.bundle_size,
        settings.clients,
        thousands(settings.ops as f64),
        settings.seed
    );
    for db in databases {
        let i = &db.ingest;
        let _ = writeln!(s, "### {}\n", db.database);
        let _ = writeln!(
            s,
            "{} resources ({} patients) in {} bundles; ingest wall time {:.1} s.\n",
            thousands(i.resources as f64),
            thousands(i.patients.len() as f64),
            i.bundles,
            i.wall.as_secs_f64()
        );
        let _ = writeln!(s, "| Ingest | resources/s | time (s) |\n|---|---:|---:|");
        let _ = writeln!(
            s,
            "| OpenGP transaction bundles (validated, versioned, indexed) | {} | {:.1} |",
            thousands(i.fhir_rate()),
            i.fhir.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "| Plain insert of the same JSON into `bench_raw(id, body)` | {} | {:.1} |",
            thousands(i.raw_rate()),
            i.raw.as_secs_f64()
        );
        let ratio = i.fhir_rate() / i.raw_rate().max(1e-9);
        let _ = writeln!(
            s,
            "\nOpenGP ingests at {:.2}× the rate of a plain insert ({:.1}× slower).\n",
            ratio,
            1.0 / ratio.max(1e-9)
        );
        let _ = writeln!(
            s,
            "| Operation | ops | p50 (ms) | p99 (ms) | max (ms) | ops/s | failures |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        for l in &db.latencies {
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
                l.operation.label(),
                thousands(l.times.len() as f64),
                ms(l.percentile(0.5)),
                ms(l.percentile(0.99)),
                ms(l.max()),
                thousands(l.throughput()),
                l.failures
            );
        }
        for l in db.latencies.iter().filter(|l| l.failures > 0) {
            let _ = writeln!(
                s,
                "\nFirst failure of {}: {}",
                l.operation.label(),
                l.first_failure.as_deref().unwrap_or("?")
            );
        }
        let targets = db.targets();
        if !targets.is_empty() {
            let _ = writeln!(
                s,
                "\n| Target (SQLite, at 1,000,000 resources) | measured | |\n|---|---:|---|"
            );
            for t in &targets {
                let op = if t.at_least { "≥" } else { "≤" };
                let _ = writeln!(
                    s,
                    "| {} {op} {} {} | {} {} | {} |",
                    t.name,
                    thousands_or_decimal(t.threshold),
                    t.unit,
                    thousands_or_decimal(t.measured),
                    t.unit,
                    if t.met() { "met" } else { "**missed**" }
                );
            }
            if i.resources < 1_000_000 {
                let _ = writeln!(
                    s,
                    "\n(Measured at {} resources; the targets are set for 1,000,000.)",
                    thousands(i.resources as f64)
                );
            }
        }
        s.push('\n');
    }
    s
}

fn thousands_or_decimal(x: f64) -> String {
    if x >= 100.0 {
        thousands(x)
    } else {
        format!("{x:.2}")
    }
}

pub fn json_report(settings: &Settings, databases: &[DatabaseReport]) -> Value {
    json!({
        "settings": {
            "resources": settings.resources,
            "clients": settings.clients,
            "ops": settings.ops,
            "bundle_size": settings.bundle_size,
            "seed": settings.seed,
        },
        "databases": databases.iter().map(|db| json!({
            "database": db.database,
            "resources": db.ingest.resources,
            "patients": db.ingest.patients.len(),
            "bundles": db.ingest.bundles,
            "ingest": {
                "resources_per_second": db.ingest.fhir_rate(),
                "seconds": db.ingest.fhir.as_secs_f64(),
                "wall_seconds": db.ingest.wall.as_secs_f64(),
            },
            "plain_insert": {
                "resources_per_second": db.ingest.raw_rate(),
                "seconds": db.ingest.raw.as_secs_f64(),
            },
            "ratio": db.ingest.fhir_rate() / db.ingest.raw_rate().max(1e-9),
            "operations": db.latencies.iter().map(|l| (l.operation.key().to_string(), json!({
                "count": l.times.len(),
                "p50_ms": ms(l.percentile(0.5)),
                "p99_ms": ms(l.percentile(0.99)),
                "max_ms": ms(l.max()),
                "ops_per_second": l.throughput(),
                "failures": l.failures,
            }))).collect::<serde_json::Map<_, _>>(),
            "targets": db.targets().iter().map(|t| json!({
                "name": t.name,
                "threshold": t.threshold,
                "unit": t.unit,
                "measured": t.measured,
                "met": t.met(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1234567.8), "1,234,568");
    }

    #[test]
    fn targets_compare_the_right_way() {
        assert!(TargetCheck::at_least("x", "/s", 10.0, 11.0).met());
        assert!(!TargetCheck::at_least("x", "/s", 10.0, 9.0).met());
        assert!(TargetCheck::at_most("x", "ms", 2.0, 1.5).met());
        assert!(!TargetCheck::at_most("x", "ms", 2.0, 2.5).met());
    }
}
