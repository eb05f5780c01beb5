//! The adapter against the simulator, over HTTP: search, retrieve and update.

mod common;

use common::{adapter, example_patients, fixture, serve_simulator};
use pds::simulator::Simulator;
use pds::{Pds, PdsError, SearchQuery};
use serde_json::json;

fn setup() -> (Simulator, pds::HttpPds) {
    let sim = Simulator::new(example_patients());
    let base = serve_simulator(sim.clone());
    (sim, adapter(&base))
}

fn query(family: &str, birth_date: &str) -> SearchQuery {
    SearchQuery {
        family: Some(family.into()),
        birth_date: Some(birth_date.into()),
        ..Default::default()
    }
}

fn numbers(found: &[pds::PdsPatient]) -> Vec<&str> {
    found.iter().map(|p| p.nhs_number.as_str()).collect()
}

#[test]
fn exact_search_finds_the_one_patient_with_full_score() {
    let (_, pds) = setup();
    let q = SearchQuery {
        given: Some("Jane".into()),
        gender: Some("female".into()),
        exact: true,
        ..query("Smith", "2010-10-22")
    };
    let found = pds.search(&q).unwrap();
    assert_eq!(numbers(&found), ["9000000009"]);
    assert_eq!(found[0].score, Some(1.0));
    assert_eq!(found[0].etag.as_deref(), Some("W/\"2\""));
    assert_eq!(found[0].resource["name"][0]["family"], "Smith");
}

#[test]
fn exact_search_is_exact_about_spelling() {
    let (_, pds) = setup();
    let q = SearchQuery {
        exact: true,
        gender: Some("female".into()),
        ..query("smith", "2010-10-22")
    };
    assert_eq!(pds.search(&q).unwrap(), vec![]);
}

#[test]
fn default_search_ignores_case_and_postcode_spacing() {
    let (_, pds) = setup();
    let q = SearchQuery {
        postcode: Some("ls16ae".into()),
        ..query("SMITH", "2010-10-22")
    };
    assert_eq!(numbers(&pds.search(&q).unwrap()), ["9000000009"]);
}

#[test]
fn more_matches_than_max_results_is_too_many() {
    let (_, pds) = setup();
    // Jane and John Smith share a birthday; the default maximum is one.
    assert_eq!(
        pds.search(&query("Smith", "2010-10-22")),
        Err(PdsError::TooManyMatches)
    );
    let both = pds
        .search(&SearchQuery {
            max_results: Some(2),
            ..query("Smith", "2010-10-22")
        })
        .unwrap();
    assert_eq!(numbers(&both), ["9000000009", "9000000017"]);
    let female = pds.search(&SearchQuery {
        gender: Some("female".into()),
        ..query("Smith", "2010-10-22")
    });
    assert_eq!(numbers(&female.unwrap()), ["9000000009"]);
}

#[test]
fn wildcards_and_date_ranges_widen_a_search() {
    let (_, pds) = setup();
    let q = SearchQuery {
        max_results: Some(10),
        ..query("Sm*", "ge2010-01-01")
    };
    assert_eq!(
        numbers(&pds.search(&q).unwrap()),
        ["9000000009", "9000000017", "9000000025"]
    );
    let before = SearchQuery {
        max_results: Some(10),
        ..query("Sm*", "le2009-12-31")
    };
    assert_eq!(pds.search(&before).unwrap(), vec![]);
}

#[test]
fn fuzzy_search_tolerates_spelling_and_ranks_best_first() {
    let (_, pds) = setup();
    let q = SearchQuery {
        given: Some("Jane".into()),
        gender: Some("female".into()),
        fuzzy: true,
        max_results: Some(5),
        ..query("Smyth", "2010-10-22")
    };
    let found = pds.search(&q).unwrap();
    // Smith sounds like Smyth; Janet Smythe starts like Jane Smyth.
    assert_eq!(numbers(&found), ["9000000009", "9000000025"]);
    let scores: Vec<f64> = found.iter().map(|p| p.score.unwrap()).collect();
    assert!(scores[0] < 1.0 && scores[1] < scores[0], "{scores:?}");
}

#[test]
fn fuzzy_search_may_leave_out_the_family_name() {
    let (_, pds) = setup();
    let q = SearchQuery {
        given: Some("Mary".into()),
        gender: Some("female".into()),
        birth_date: Some("1950-03-01".into()),
        fuzzy: true,
        ..Default::default()
    };
    assert_eq!(numbers(&pds.search(&q).unwrap()), ["9000000033"]);
}

#[test]
fn no_match_is_an_empty_result() {
    let (_, pds) = setup();
    assert_eq!(pds.search(&query("Nobody", "1999-01-01")).unwrap(), vec![]);
}

#[test]
fn searches_pds_refuses_say_why() {
    let (_, pds) = setup();
    let refused = |q: SearchQuery| match pds.search(&q) {
        Err(PdsError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    };
    let family_only = SearchQuery {
        family: Some("Smith".into()),
        ..Default::default()
    };
    assert!(refused(family_only).contains("Not enough search parameters"));
    assert!(refused(query("Smith", "2010-13-45")).contains("'birthdate'"));
    assert!(
        refused(SearchQuery {
            max_results: Some(51),
            ..query("Smith", "2010-10-22")
        })
        .contains("'_max-results'")
    );
    let both = SearchQuery {
        fuzzy: true,
        exact: true,
        ..query("Smith", "2010-10-22")
    };
    assert!(refused(both).contains("cannot be used together"));
    assert!(refused(SearchQuery::default()).contains("Not enough search parameters"));
}

#[test]
fn retrieve_returns_the_patient_with_its_etag() {
    let (_, pds) = setup();
    let jane = pds.retrieve("900 000 0009").unwrap();
    assert_eq!(jane.nhs_number, "9000000009");
    assert_eq!(jane.etag.as_deref(), Some("W/\"2\""));
    assert_eq!(jane.score, None);
    assert_eq!(jane.resource, fixture("Patient.json"));
}

#[test]
fn retrieve_errors() {
    let (_, pds) = setup();
    assert_eq!(pds.retrieve("9000000041"), Err(PdsError::NotFound));
    // A bad check digit is PDS's to refuse; something that is not ten digits is ours.
    assert_eq!(
        pds.retrieve("9000000001"),
        Err(PdsError::Invalid("Resource Id is invalid".into()))
    );
    assert!(
        matches!(pds.retrieve("123/../x"), Err(PdsError::Invalid(m)) if m.contains("ten digits"))
    );
}

#[test]
fn update_applies_the_patch_and_bumps_the_version() {
    let (sim, pds) = setup();
    let updated = pds
        .update("9000000009", "W/\"2\"", &fixture("update-gender.json"))
        .unwrap();
    assert_eq!(updated.resource["gender"], "male");
    assert_eq!(updated.etag.as_deref(), Some("W/\"3\""));
    assert_eq!(sim.patient("9000000009").unwrap()["meta"]["versionId"], "3");
    assert_eq!(
        pds.retrieve("9000000009").unwrap().etag.as_deref(),
        Some("W/\"3\"")
    );

    // The real example: test the name's id, then remove that name.
    let renamed = pds
        .update("9000000009", "W/\"3\"", &fixture("delete-name.json"))
        .unwrap();
    assert!(
        renamed
            .resource
            .get("name")
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(renamed.etag.as_deref(), Some("W/\"4\""));
}

#[test]
fn update_with_a_stale_etag_is_a_version_conflict() {
    let (sim, pds) = setup();
    let ops = json!([{"op": "replace", "path": "/gender", "value": "male"}]);
    pds.update("9000000009", "W/\"2\"", &ops).unwrap();
    let again = json!([{"op": "replace", "path": "/gender", "value": "other"}]);
    assert_eq!(
        pds.update("9000000009", "W/\"2\"", &again),
        Err(PdsError::VersionConflict)
    );
    assert_eq!(sim.patient("9000000009").unwrap()["gender"], "male");
}

#[test]
fn a_failing_test_operation_changes_nothing() {
    let (sim, pds) = setup();
    let ops = json!({"patches": [
        {"op": "replace", "path": "/gender", "value": "male"},
        {"op": "test", "path": "/name/0/id", "value": "not-this-one"},
    ]});
    let err = pds.update("9000000009", "W/\"2\"", &ops).unwrap_err();
    assert!(
        matches!(&err, PdsError::Invalid(m) if m.contains("test operation failed")),
        "{err:?}"
    );
    let held = sim.patient("9000000009").unwrap();
    assert_eq!(
        (held["gender"].as_str(), held["meta"]["versionId"].as_str()),
        (Some("female"), Some("2"))
    );
}

#[test]
fn identity_and_impossible_values_cannot_be_patched() {
    let (_, pds) = setup();
    let refused = |ops: serde_json::Value| match pds.update("9000000009", "W/\"2\"", &ops) {
        Err(PdsError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    };
    let identity = json!([{"op": "replace", "path": "/identifier/0/value", "value": "9000000017"}]);
    assert!(refused(identity).contains("'/identifier' cannot be updated"));
    assert!(
        refused(json!([{"op": "remove", "path": "/meta"}])).contains("'/meta' cannot be updated")
    );
    assert!(
        refused(json!([{"op": "replace", "path": "/gender", "value": "x"}])).contains("'gender'")
    );
    assert!(
        refused(json!([{"op": "replace", "path": "/birthDate", "value": "2999-01-01"}]))
            .contains("'birthDate'")
    );
    assert!(refused(json!([])).contains("No patches found"));
    assert_eq!(
        pds.update("9000000041", "W/\"1\"", &json!([])),
        Err(PdsError::NotFound)
    );
}
