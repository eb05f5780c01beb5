//! `opengp bench-workspace`: how fast the clinician's workspace answers, measured through
//! the real router (session cookie, access rules, audit, rendering) in-process, so the
//! figure is the server's own time without the network.
//!
//! - Patient search as you type (`GET /patients/search?q=`), at `--patients` registered
//!   patients, with a mix of the queries receptionists type: an NHS number with spaces,
//!   a surname and date of birth, a postcode, a surname prefix.
//! - The patient record page (`GET /patients/{id}`) of a patient with `--years` of dense
//!   history (over 2,000 entries).
//!
//! The baseline, in the same run, is one audited read of a Patient through the store:
//! the cheapest thing a page can do. Ratios say how many such reads a page costs.

use crate::bench::open_fresh;
use crate::demo;
use crate::demo::rng::Rng;
use auth::{Auth, AuthConfig, SignInStep};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{Repository, RepositoryConfig, RequestContext};
use tower::ServiceExt;

const PRACTICE: &str = "Y99998";
const BASE: &str = "http://localhost/fhir";

#[derive(clap::Args, Debug, Clone)]
pub struct WorkspaceBenchArgs {
    /// Database: `sqlite:PATH` (a new file) or `postgres://...` (a scratch schema).
    /// Repeat or separate with commas to compare. Default: a temporary SQLite file.
    #[arg(long = "database", value_delimiter = ',')]
    pub databases: Vec<String>,
    /// Registered patients for the search measurement.
    #[arg(long, default_value_t = 100_000)]
    pub patients: usize,
    /// Years of history of the record-page patient.
    #[arg(long, default_value_t = 20)]
    pub years: u32,
    /// Requests per measurement.
    #[arg(long, default_value_t = 400)]
    pub ops: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Latency percentiles of one measurement, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Latency {
    fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort();
        let at = |q: f64| {
            let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples[i].as_secs_f64() * 1000.0
        };
        Latency {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
        }
    }
}

/// What one database gave.
#[derive(Debug, Clone)]
pub struct WorkspaceReport {
    pub database: String,
    pub patients: usize,
    pub record_entries: usize,
    pub baseline_read: Latency,
    pub patient_search: Latency,
    pub record_page: Latency,
}

pub fn run(args: WorkspaceBenchArgs) -> Result<(), String> {
    let urls = if args.databases.is_empty() {
        vec![String::new()]
    } else {
        args.databases.clone()
    };
    let mut reports = Vec::new();
    for url in urls.iter().map(|u| u.trim()) {
        reports.push(run_database(url, &args)?);
    }
    println!("{}", markdown(&reports));
    Ok(())
}

pub fn run_database(url: &str, args: &WorkspaceBenchArgs) -> Result<WorkspaceReport, String> {
    let store = open_fresh(url)?;
    let database = store.describe();
    let repo = Arc::new(Repository::new(store, RepositoryConfig::default()));
    let system = RequestContext::system(PRACTICE);
    eprintln!(
        "bench-workspace: {database}: loading {} patients",
        args.patients
    );
    repo.bundle(&system, demo::practice_bundle(PRACTICE), BASE)
        .map_err(|e| format!("loading the practice: {e}"))?;
    let people = load_patients(&repo, &system, args.seed, args.patients)?;
    eprintln!("bench-workspace: loading a {}-year record", args.years);
    let long = demo::long_record(args.seed, PRACTICE, args.years);
    let record_entries = long["entry"].as_array().map_or(0, Vec::len);
    let response = repo
        .bundle(&system, long, BASE)
        .map_err(|e| format!("loading the long record: {e}"))?;
    let long_patient = created_patient(&response).ok_or("the long record has no Patient")?;
    crate::bench::analyze(&repo, &system)?;

    let auth =
        Arc::new(Auth::new(repo.clone(), AuthConfig::default()).map_err(|e| e.message.clone())?);
    let cookie = signed_in_cookie(&auth, "gp")?;
    let state = server::AppState::new(repo.clone(), auth.clone()).with_practice(PRACTICE);
    let app = server::router(state);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;

    let gp_ctx = auth
        .session_context(cookie.split_once('=').map_or("", |(_, t)| t), None)
        .map_err(|e| e.message.clone())?
        .ok_or("the GP's session is not signed in")?;
    let baseline_read = measure(args.ops, |i| {
        let id = &people[i % people.len()].id;
        let started = Instant::now();
        repo.read(&gp_ctx, "Patient", id)
            .map_err(|e| format!("baseline read: {e}"))?;
        Ok(started.elapsed())
    })?;

    let queries = search_queries(&people);
    let patient_search = measure(args.ops, |i| {
        let (query, expected) = &queries[i % queries.len()];
        let path = format!(
            "/patients/search?q={}",
            form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        );
        let (elapsed, body) = runtime.block_on(get(&app, &path, &cookie))?;
        if !body.contains(expected.as_str()) {
            return Err(format!(
                "search {i}: the expected patient was not in the results"
            ));
        }
        Ok(elapsed)
    })?;

    let record_path = format!("/patients/{long_patient}");
    let record_page = measure(args.ops, |_| {
        let (elapsed, body) = runtime.block_on(get(&app, &record_path, &cookie))?;
        if body.len() < 2_000 {
            return Err("the record page is unexpectedly short".into());
        }
        Ok(elapsed)
    })?;

    Ok(WorkspaceReport {
        database,
        patients: args.patients,
        record_entries,
        baseline_read,
        patient_search,
        record_page,
    })
}

/// Runs `op` `n` times after a warm-up of a tenth as many, and gives the percentiles.
fn measure(
    n: usize,
    mut op: impl FnMut(usize) -> Result<Duration, String>,
) -> Result<Latency, String> {
    for i in 0..(n / 10).max(1) {
        op(i)?;
    }
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        samples.push(op(i)?);
    }
    Ok(Latency::of(samples))
}

/// One GET through the router; the time includes reading the whole body.
async fn get(app: &axum::Router, path: &str, cookie: &str) -> Result<(Duration, String), String> {
    let request = Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let response = app
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let elapsed = started.elapsed();
    if status != StatusCode::OK {
        return Err(format!(
            "GET {} answered {status}",
            path.split('?').next().unwrap_or("")
        ));
    }
    Ok((elapsed, String::from_utf8_lossy(&bytes).into_owned()))
}

/// `__Host-opengp_session=<token>` of a signed-in demo account (`gp`, `receptionist`...).
fn signed_in_cookie(auth: &Auth, role: &str) -> Result<String, String> {
    let accounts = auth
        .ensure_demo_accounts(PRACTICE)
        .map_err(|e| e.message.clone())?;
    let account = accounts
        .iter()
        .find(|a| a.username == format!("demo.{role}"))
        .ok_or("no such demo account")?;
    let session = auth
        .start_session(PRACTICE, None)
        .map_err(|e| e.message.clone())?;
    let step = auth
        .sign_in_password(
            &session.token,
            &session.csrf,
            &account.username,
            &account.password,
            None,
        )
        .map_err(|e| e.message.clone())?;
    let session = match step {
        SignInStep::SignedIn(s) => s,
        SignInStep::NeedsSecondFactor(s) => {
            let secret = account
                .totp_secret
                .as_deref()
                .and_then(auth::totp::base32_decode)
                .ok_or("the demo account has no TOTP secret")?;
            let code = auth::totp::code(&secret, auth.config().clock.now_seconds());
            auth.sign_in_totp(&s.token, &s.csrf, &code, None)
                .map_err(|e| e.message.clone())?
        }
    };
    Ok(format!("__Host-opengp_session={}", session.token))
}

/// A registered patient the search should find.
struct Person {
    id: String,
    nhs_number: String,
    family: String,
    birth_date: String,
    postcode: String,
}

const FAMILIES: [&str; 40] = [
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes",
    "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin",
    "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison",
    "Morgan", "Allen",
];
const GIVENS: [&str; 24] = [
    "Oliver", "George", "Harry", "Jack", "Noah", "Leo", "Arthur", "Muhammad", "Oscar", "Charlie",
    "Olivia", "Amelia", "Isla", "Ava", "Ivy", "Freya", "Lily", "Florence", "Mia", "Willow",
    "Rosie", "Sophia", "Margaret", "Susan",
];
const OUTWARD: [&str; 12] = [
    "LS1", "LS6", "LS11", "BD7", "HX1", "WF1", "YO10", "HG2", "S10", "M14", "B15", "NE2",
];

/// Loads `n` Patients in transaction Bundles of 1,000, two loaders at once.
fn load_patients(
    repo: &Arc<Repository>,
    ctx: &RequestContext,
    seed: u64,
    n: usize,
) -> Result<Vec<Person>, String> {
    let chunks: Vec<(usize, usize)> = (0..n)
        .step_by(1000)
        .map(|start| (start, (start + 1000).min(n)))
        .collect();
    let halves = chunks.chunks(chunks.len().div_ceil(2).max(1));
    let results: Vec<Result<Vec<Person>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = halves
            .map(|part| {
                let repo = repo.clone();
                scope.spawn(move || {
                    let mut people = Vec::new();
                    for &(start, end) in part {
                        people.extend(load_chunk(&repo, ctx, seed, start, end)?);
                    }
                    Ok(people)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("loader"))
            .collect()
    });
    let mut people = Vec::new();
    for r in results {
        people.extend(r?);
    }
    Ok(people)
}

fn load_chunk(
    repo: &Repository,
    ctx: &RequestContext,
    seed: u64,
    start: usize,
    end: usize,
) -> Result<Vec<Person>, String> {
    let mut entries = Vec::new();
    let mut people = Vec::new();
    for i in start..end {
        let mut rng = Rng::for_item(seed, i as u64);
        let family = rng.pick(&FAMILIES).to_string();
        let given = rng.pick(&GIVENS).to_string();
        let birth_date = format!(
            "{}-{:02}-{:02}",
            1920 + rng.below(105),
            1 + rng.below(12),
            1 + rng.below(28)
        );
        let postcode = format!(
            "{} {}{}{}",
            rng.pick(&OUTWARD),
            rng.below(10),
            (b'A' + rng.below(26) as u8) as char,
            (b'A' + rng.below(26) as u8) as char
        );
        let nhs_number = demo::nhs::nhs_number(seed, i as u64);
        entries.push(json!({
            "fullUrl": format!("urn:uuid:{}", rng.uuid()),
            "resource": {
                "resourceType": "Patient",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number}],
                "name": [{"use": "official", "family": family, "given": [given]}],
                "gender": if rng.percent(50) { "female" } else { "male" },
                "birthDate": birth_date,
                "address": [{"use": "home", "line": [format!("{} High Street", 1 + rng.below(200))],
                             "city": "Leeds", "postalCode": postcode}],
            },
            "request": {"method": "POST", "url": "Patient"},
        }));
        people.push(Person {
            id: String::new(),
            nhs_number,
            family,
            birth_date,
            postcode,
        });
    }
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let response = repo
        .bundle(ctx, bundle, BASE)
        .map_err(|e| format!("loading patients: {e}"))?;
    for (person, entry) in people
        .iter_mut()
        .zip(response["entry"].as_array().into_iter().flatten())
    {
        let location = entry["response"]["location"].as_str().unwrap_or_default();
        person.id = demo::location_id(location).unwrap_or_default();
    }
    Ok(people)
}

/// The id of the Patient a transaction created.
fn created_patient(response: &Value) -> Option<String> {
    response["entry"].as_array()?.iter().find_map(|e| {
        let location = e["response"]["location"].as_str()?;
        location
            .starts_with("Patient/")
            .then(|| demo::location_id(location))
            .flatten()
    })
}

/// Queries of four kinds, each with the patient id its results must include.
fn search_queries(people: &[Person]) -> Vec<(String, String)> {
    let mut rng = Rng::new(99);
    (0..200)
        .map(|i| {
            let p = &people[rng.below(people.len() as u64) as usize];
            let query = match i % 4 {
                0 => format!(
                    "{} {} {}",
                    &p.nhs_number[..3],
                    &p.nhs_number[3..6],
                    &p.nhs_number[6..]
                ),
                1 => {
                    let (y, rest) = p.birth_date.split_at(4);
                    let (m, d) = (&rest[1..3], &rest[4..6]);
                    format!("{} {d}/{m}/{y}", p.family)
                }
                2 => p.postcode.clone(),
                _ => format!("{} {}", p.family.to_lowercase(), &p.birth_date),
            };
            (query, p.id.clone())
        })
        .collect()
}

pub fn markdown(reports: &[WorkspaceReport]) -> String {
    let mut out = String::from(
        "| database | patients | record entries | audited read p50 / p95 | patient search p50 / p95 / p99 | record page p50 / p95 / p99 | search ÷ read (p95) | record ÷ read (p95) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} / {:.2} ms | {:.2} / {:.2} / {:.2} ms | {:.2} / {:.2} / {:.2} ms | {:.1} | {:.1} |\n",
            r.database,
            r.patients,
            r.record_entries,
            r.baseline_read.p50,
            r.baseline_read.p95,
            r.patient_search.p50,
            r.patient_search.p95,
            r.patient_search.p99,
            r.record_page.p50,
            r.record_page.p95,
            r.record_page.p99,
            r.patient_search.p95 / r.baseline_read.p95,
            r.record_page.p95 / r.baseline_read.p95,
        ));
    }
    out
}
