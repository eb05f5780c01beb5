//! Find-a-patient speed at practice scale: `cargo test -p clinical --release --test
//! patients_speed -- --ignored --nocapture` (OPENGP_SPEED_PATIENTS sets the number of
//! patients, 100,000 by default). Prints p50 and p95 per kind of query.

mod patients_support;

use clinical::patients::search::find;
use patients_support::*;
use serde_json::{Value, json};
use std::time::Instant;
use store::Role;

const FAMILIES: [&str; 20] = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson",
];
const GIVEN: [&str; 10] = [
    "Jane", "John", "Mary", "David", "Sarah", "James", "Emma", "Mohammed", "Olivia", "Jack",
];

/// A valid NHS number made from `n` (the check digit fixed up; 10 skipped).
fn nhs_number(n: u64) -> Option<String> {
    let base = format!("{:09}", 400_000_000 + n);
    let sum: u32 = base
        .bytes()
        .zip((2..=10).rev())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    match 11 - sum % 11 {
        10 => None,
        11 => Some(format!("{base}0")),
        c => Some(format!("{base}{c}")),
    }
}

fn patient(n: u64) -> Value {
    let family = format!(
        "{}{}",
        FAMILIES[(n % 20) as usize],
        if n.is_multiple_of(7) { "son" } else { "" }
    );
    let birth = format!("{}-{:02}-{:02}", 1920 + n % 100, 1 + n % 12, 1 + n % 28);
    let mut p = json!({
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": [GIVEN[(n / 20 % 10) as usize]]}],
        "gender": if n.is_multiple_of(2) { "female" } else { "male" },
        "birthDate": birth,
        "address": [{"use": "home", "line": [format!("{} High Street", n % 200)], "city": "Leeds",
            "postalCode": format!("LS{} {}{}{}", n % 30, n % 10, (b'A' + (n / 10 % 26) as u8) as char, (b'A' + (n / 260 % 26) as u8) as char)}]
    });
    if let Some(number) = nhs_number(n) {
        p["identifier"] = json!([{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": number}]);
    }
    p
}

#[test]
#[ignore = "a benchmark: run with --ignored"]
fn find_a_patient_at_practice_scale() {
    let total: u64 = std::env::var("OPENGP_SPEED_PATIENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let repo = repo(sqlite());
    let started = Instant::now();
    for chunk in (0..total).collect::<Vec<_>>().chunks(1000) {
        let entries: Vec<Value> = chunk
            .iter()
            .map(|&n| json!({"resource": patient(n), "request": {"method": "POST", "url": "Patient"}}))
            .collect();
        repo.bundle(
            &system(),
            json!({"resourceType": "Bundle", "type": "batch", "entry": entries}),
            "http://localhost/fhir",
        )
        .expect("loaded");
    }
    eprintln!("loaded {total} patients in {:.1?}", started.elapsed());
    let ctx = staff(Role::ClinicalPractitioner);
    let known = (total / 2..total)
        .find_map(nhs_number)
        .expect("an NHS number");
    let queries = [
        ("NHS number", fhir::nhs_number::format(&known)),
        ("surname prefix (2 letters)", "sm".to_string()),
        ("surname prefix", "smi".to_string()),
        ("surname", "smith".to_string()),
        ("surname + initial", "smith j".to_string()),
        ("surname + birth date", "smith 01/01/1940".to_string()),
        ("given + surname", "jane smith".to_string()),
        ("postcode", "LS5 5CA".to_string()),
        ("postcode district", "LS5".to_string()),
    ];
    for (what, text) in &queries {
        let mut times: Vec<f64> = (0..40)
            .map(|_| {
                let t = Instant::now();
                let hits = find(&repo, &ctx, text, 21, today()).expect("searched");
                assert!(!hits.is_empty() || what.starts_with("postcode"), "{what}");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        eprintln!(
            "{what:<28} p50 {:>6.1} ms   p95 {:>6.1} ms",
            times[times.len() / 2],
            times[times.len() * 95 / 100]
        );
    }
}
