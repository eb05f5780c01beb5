//! Find a patient: what a clinician types, and what they see.

mod patients_support;

use clinical::patients::query::QueryProblem;
use clinical::patients::search::{FindError, PatientHit, find};
use patients_support::*;
use std::sync::Arc;
use store::{Repository, Role, Store};

/// Three patients: two Smiths (one a Smithson) and a Jones, plus a sensitive patient.
fn practice_with_patients(store: Arc<dyn Store>) -> Repository {
    let repo = repo(store);
    patient(
        &repo,
        "Smith",
        "Jane",
        "1970-10-22",
        Some("9434765919"),
        Some("LS6 1AB"),
    );
    patient(
        &repo,
        "Smithson",
        "John",
        "1970-10-22",
        Some("9449305552"),
        Some("LS16 5DF"),
    );
    patient(
        &repo,
        "Smith",
        "Albert",
        "1955-01-02",
        None,
        Some("LS6 2XY"),
    );
    patient(
        &repo,
        "Jones",
        "Mary",
        "1980-03-04",
        Some("9449310157"),
        Some("BD1 1AA"),
    );
    create(
        &repo,
        serde_json::json!({
            "resourceType": "Patient",
            "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]},
            "name": [{"use": "official", "family": "Smythe", "given": ["Janet"]}],
            "gender": "female",
            "birthDate": "2010-10-22",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000025"}],
            "address": [{"use": "home", "postalCode": "LS6 3QQ"}]
        }),
    );
    repo
}

fn names(hits: &[PatientHit]) -> Vec<&str> {
    hits.iter().map(|h| h.name.as_str()).collect()
}

fn gp_finds(repo: &Repository, text: &str) -> Vec<PatientHit> {
    find(repo, &staff(Role::ClinicalPractitioner), text, 20, today()).expect("searched")
}

fn by_nhs_number_with_or_without_spaces(store: Arc<dyn Store>) {
    let repo = practice_with_patients(store);
    for typed in ["9434765919", "943 476 5919", "943-476-5919"] {
        let hits = gp_finds(&repo, typed);
        assert_eq!(names(&hits), ["SMITH, Jane"], "{typed}");
        assert_eq!(hits[0].nhs_number.as_deref(), Some("943 476 5919"));
        assert_eq!(hits[0].postcode.as_deref(), Some("LS6 1AB"));
        assert_eq!(hits[0].age, "55 years");
    }
    let wrong = find(
        &repo,
        &staff(Role::ClinicalPractitioner),
        "943 476 5918",
        20,
        today(),
    );
    assert!(matches!(
        wrong,
        Err(FindError::Query(QueryProblem::InvalidNhsNumber))
    ));
}

fn by_name_and_birth_date(store: Arc<dyn Store>) {
    let repo = practice_with_patients(store);
    for typed in [
        "smith 22/10/1970",
        "Smith 22-10-1970",
        "smith 22/10/70",
        "1970-10-22 smi",
    ] {
        // Smith and Smithson share the date: an exact surname comes first.
        assert_eq!(
            names(&gp_finds(&repo, typed)),
            ["SMITH, Jane", "SMITHSON, John"],
            "{typed}"
        );
    }
    assert_eq!(
        names(&gp_finds(&repo, "smith j")),
        ["SMITH, Jane", "SMITHSON, John"]
    );
    assert_eq!(names(&gp_finds(&repo, "smith a")), ["SMITH, Albert"]);
    assert_eq!(names(&gp_finds(&repo, "jane smith")), ["SMITH, Jane"]);
    assert_eq!(
        names(&gp_finds(&repo, "smith")),
        ["SMITH, Albert", "SMITH, Jane", "SMITHSON, John"]
    );
    let impossible = find(
        &repo,
        &staff(Role::ClinicalPractitioner),
        "smith 31/02/1970",
        20,
        today(),
    );
    assert!(
        matches!(&impossible, Err(FindError::Query(p)) if p.message() == "31/02/1970 is not a real date")
    );
    let short = find(&repo, &staff(Role::ClinicalPractitioner), "s", 20, today());
    assert!(matches!(&short, Err(e) if e.to_string() == "Type at least 2 characters"));
}

fn by_postcode(store: Arc<dyn Store>) {
    let repo = practice_with_patients(store);
    assert_eq!(names(&gp_finds(&repo, "ls6 1ab")), ["SMITH, Jane"]);
    assert_eq!(names(&gp_finds(&repo, "LS61AB")), ["SMITH, Jane"]);
    // The district: LS6 but not LS16; the sensitive patient in LS6 is found by a GP,
    // but the postcode is theirs to keep, so neither it nor the address is shown.
    let district = gp_finds(&repo, "LS6");
    assert_eq!(names(&district), ["SMITH, Albert", "SMITH, Jane"]);
}

fn sensitive_patients_never_show_an_address(store: Arc<dyn Store>) {
    let repo = practice_with_patients(store);
    let hits = gp_finds(&repo, "smythe");
    assert_eq!(names(&hits), ["SMYTHE, Janet"]);
    assert!(hits[0].sensitive);
    assert_eq!(hits[0].postcode, None);
    // A receptionist is not entitled to a sensitive record at all.
    let reception = find(&repo, &staff(Role::Receptionist), "smythe", 20, today()).unwrap();
    assert!(reception.is_empty());
    // Searches are limited to what fits: never more than asked for.
    assert_eq!(
        find(
            &repo,
            &staff(Role::ClinicalPractitioner),
            "smith",
            2,
            today()
        )
        .unwrap()
        .len(),
        2
    );
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::sqlite()); } )*
        }
        mod postgres {
            // Runs when OPENGP_TEST_POSTGRES names a database (scripts/test.sh sets it).
            $( #[test] fn $name() { if let Some(store) = super::postgres() { super::$name(store); } } )*
        }
    };
}

on_both_backends!(
    by_nhs_number_with_or_without_spaces,
    by_name_and_birth_date,
    by_postcode,
    sensitive_patients_never_show_an_address,
);
