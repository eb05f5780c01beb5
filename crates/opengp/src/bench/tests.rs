use super::*;
use latency::Operation;

/// The whole benchmark at a small size on a temporary SQLite file, so it cannot rot.
#[test]
fn small_benchmark_runs_end_to_end() {
    let args = BenchArgs {
        resources: 2_000,
        clients: 2,
        ops: 40,
        bundle_size: 250,
        quiet: true,
        ..BenchArgs::default()
    };
    let reports = run_all(&args).expect("the benchmark runs");
    assert_eq!(reports.len(), 1);
    let db = &reports[0];
    assert!(db.database.starts_with("SQLite"), "{}", db.database);
    assert!(db.ingest.resources >= 2_000, "{}", db.ingest.resources);
    assert!(db.ingest.bundles >= 8);
    assert!(db.ingest.fhir_rate() > 0.0 && db.ingest.raw_rate() > 0.0);
    assert!(!db.ingest.patients.is_empty());
    for op in Operation::ALL {
        let l = db
            .latencies
            .iter()
            .find(|l| l.operation == op)
            .expect("every operation is measured");
        assert_eq!(l.times.len(), 40);
        assert_eq!(l.failures, 0, "{}: {:?}", op.label(), l.first_failure);
    }
    assert_eq!(db.targets().len(), 3);

    // Both report formats.
    let settings = Settings {
        resources: 2_000,
        clients: 2,
        ops: 40,
        bundle_size: 250,
        seed: 1,
    };
    let dir = std::env::temp_dir();
    let (md_path, json_path) = (
        dir.join(format!("opengp-bench-{}.md", std::process::id())),
        dir.join(format!("opengp-bench-{}.json", std::process::id())),
    );
    write_report(&md_path, &settings, &reports).unwrap();
    write_report(&json_path, &settings, &reports).unwrap();
    let md = std::fs::read_to_string(&md_path).unwrap();
    assert!(
        md.contains("| read (random resource) | 40 |") && md.contains("Plain insert"),
        "{md}"
    );
    assert!(md.contains("| ingest ≥ 20,000 resources/s |"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(json["databases"][0]["operations"]["read"]["count"], 40);
    assert_eq!(json["databases"][0]["resources"], db.ingest.resources);
    assert!(json["databases"][0]["ratio"].as_f64().unwrap() > 0.0);
    let _ = std::fs::remove_file(md_path);
    let _ = std::fs::remove_file(json_path);
}

/// The same on PostgreSQL when OPENGP_TEST_POSTGRES names a database: a scratch schema,
/// dropped afterwards.
#[test]
#[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
fn small_benchmark_on_postgres() {
    let Some(url) = std::env::var("OPENGP_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: set OPENGP_TEST_POSTGRES=postgres://... to benchmark PostgreSQL too");
        return;
    };
    let args = BenchArgs {
        databases: vec![url],
        resources: 1_000,
        clients: 2,
        ops: 20,
        bundle_size: 250,
        quiet: true,
        ..BenchArgs::default()
    };
    let reports = run_all(&args).expect("the benchmark runs on PostgreSQL");
    let db = &reports[0];
    assert!(db.database.starts_with("PostgreSQL"), "{}", db.database);
    assert!(db.ingest.resources >= 1_000);
    assert!(
        db.latencies
            .iter()
            .all(|l| l.failures == 0 && l.times.len() == 20)
    );
    assert!(db.targets().is_empty(), "the targets are SQLite's");
}

#[test]
fn refuses_an_existing_sqlite_file() {
    let path = std::env::temp_dir().join(format!("opengp-bench-exists-{}.db", std::process::id()));
    std::fs::write(&path, b"").unwrap();
    let err = open_fresh(&format!("sqlite:{}", path.display()))
        .err()
        .expect("an existing file is refused");
    assert!(err.contains("exists"), "{err}");
    std::fs::remove_file(path).unwrap();
    assert!(open_fresh("mysql://x").is_err());
}
