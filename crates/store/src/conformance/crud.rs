//! Cases: read, vread, create, update, delete, conditional interactions, versioning,
//! concurrency, validation and tenancy.

use super::{Case, Harness};
use crate::case;
use crate::error::FhirError;
use crate::repository::HistoryRequest;
use crate::version::WriteKind;
use serde_json::{Value, json};
use std::sync::{Arc, Barrier};

pub fn cases() -> Vec<Case> {
    vec![
        case!(create_assigns_id_and_version_1),
        case!(read_returns_what_was_written),
        case!(read_unknown_is_not_found),
        case!(update_increments_version_and_keeps_history),
        case!(update_rejects_mismatched_type_and_id),
        case!(update_creates_when_absent),
        case!(delete_then_read_is_gone_and_history_is_kept),
        case!(delete_is_idempotent),
        case!(update_after_delete_continues_versions),
        case!(vread_unknown_or_malformed_version_is_not_found),
        case!(stale_if_match_is_precondition_failed),
        case!(concurrent_updates_with_same_if_match_one_wins),
        case!(concurrent_updates_without_if_match_all_succeed),
        case!(conditional_create),
        case!(conditional_update),
        case!(conditional_delete),
        case!(invalid_resource_writes_nothing),
        case!(tenancy_other_practice_sees_nothing),
        case!(tenancy_same_id_in_two_practices_are_separate),
        case!(validate_writes_nothing_and_names_dangling_references),
    ]
}

pub(crate) fn patient(family: &str) -> Value {
    json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Ann"]}], "gender": "female"})
}

/// A patient with an identifier, for conditional interactions.
pub(crate) fn identified_patient(value: &str) -> Value {
    json!({"resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": value}],
        "name": [{"family": "Smith"}]})
}

fn nhs_criteria(value: &str) -> String {
    format!("identifier=https://fhir.nhs.uk/Id/nhs-number|{value}")
}

fn type_history_count(h: &Harness, rtype: &str) -> usize {
    let req = HistoryRequest {
        rtype: Some(rtype.into()),
        id: None,
        params: vec![("_count".into(), "1000".into())],
        base_url: h.base_url().into(),
    };
    let bundle = h.repo.history(&h.ctx(), &req).expect("type history");
    bundle["entry"].as_array().map_or(0, Vec::len)
}

fn create_assigns_id_and_version_1(h: &Harness) {
    let out = h
        .repo
        .create(&h.ctx(), "Patient", patient("Jones"), None)
        .unwrap();
    assert_eq!(out.kind, WriteKind::Created);
    assert_eq!(out.resource.version, 1);
    assert!(fhir::validate::is_valid_id(&out.resource.id));
    let body = out.resource.json().unwrap();
    assert_eq!(body["id"], out.resource.id.as_str());
    assert_eq!(body["meta"]["versionId"], "1");
    assert_eq!(
        body["meta"]["lastUpdated"],
        out.resource.last_updated_instant().as_str()
    );
    let second = h
        .repo
        .create(&h.ctx(), "Patient", patient("Jones"), None)
        .unwrap();
    assert_ne!(
        second.resource.id, out.resource.id,
        "every create gets a new id"
    );
}

fn read_returns_what_was_written(h: &Harness) {
    let out = h
        .repo
        .create(&h.ctx(), "Patient", patient("Jones"), None)
        .unwrap();
    let read = h.repo.read(&h.ctx(), "Patient", &out.resource.id).unwrap();
    assert_eq!(read, out.resource);
    assert_eq!(read.json().unwrap()["name"][0]["family"], "Jones");
}

fn read_unknown_is_not_found(h: &Harness) {
    let err = h.repo.read(&h.ctx(), "Patient", "nope").unwrap_err();
    assert_eq!(err.status(), 404, "{err:?}");
}

fn update_increments_version_and_keeps_history(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("One"));
    let mut body = patient("Two");
    body["id"] = json!(id);
    let out = h
        .repo
        .update(&ctx, "Patient", &id, super::with_id(body, &id), None)
        .unwrap();
    assert_eq!((out.kind, out.resource.version), (WriteKind::Updated, 2));
    assert_eq!(
        h.repo.read(&ctx, "Patient", &id).unwrap().json().unwrap()["name"][0]["family"],
        "Two"
    );
    assert_eq!(
        h.repo
            .vread(&ctx, "Patient", &id, "1")
            .unwrap()
            .json()
            .unwrap()["name"][0]["family"],
        "One"
    );
    assert_eq!(
        h.repo
            .vread(&ctx, "Patient", &id, "2")
            .unwrap()
            .json()
            .unwrap()["meta"]["versionId"],
        "2"
    );
}

fn update_rejects_mismatched_type_and_id(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("One"));
    let mut wrong_id = patient("Two");
    wrong_id["id"] = json!("someone-else");
    assert_eq!(
        h.repo
            .update(&ctx, "Patient", &id, wrong_id, None)
            .unwrap_err()
            .status(),
        400
    );
    // FHIR: an update's body SHALL carry its id.
    let no_id = h
        .repo
        .update(&ctx, "Patient", &id, patient("Three"), None)
        .unwrap_err();
    assert_eq!(no_id.status(), 400);
    assert!(
        no_id.issues()[0].diagnostics.contains("has no id"),
        "{:?}",
        no_id.issues()
    );
    let practitioner = json!({"resourceType": "Practitioner", "id": id});
    assert_eq!(
        h.repo
            .update(&ctx, "Patient", &id, practitioner, None)
            .unwrap_err()
            .status(),
        400
    );
    assert_eq!(
        h.repo
            .update(
                &ctx,
                "Patient",
                "not valid!",
                super::with_id(patient("x"), "not valid!"),
                None
            )
            .unwrap_err()
            .status(),
        400
    );
    assert_eq!(
        h.repo.read(&ctx, "Patient", &id).unwrap().version,
        1,
        "nothing was written"
    );
}

fn update_creates_when_absent(h: &Harness) {
    let ctx = h.ctx();
    let mut body = patient("New");
    body["id"] = json!("chosen-id");
    let out = h
        .repo
        .update(
            &ctx,
            "Patient",
            "chosen-id",
            super::with_id(body, "chosen-id"),
            None,
        )
        .unwrap();
    assert_eq!((out.kind, out.resource.version), (WriteKind::Created, 1));
    assert_eq!(
        h.repo.read(&ctx, "Patient", "chosen-id").unwrap().id,
        "chosen-id"
    );
}

fn delete_then_read_is_gone_and_history_is_kept(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("One"));
    let deleted = h
        .repo
        .delete(&ctx, "Patient", &id)
        .unwrap()
        .expect("it existed");
    assert_eq!(deleted.version, 2);
    assert!(deleted.deleted);
    assert!(matches!(
        h.repo.read(&ctx, "Patient", &id),
        Err(FhirError::Gone(_))
    ));
    assert!(matches!(
        h.repo.vread(&ctx, "Patient", &id, "2"),
        Err(FhirError::Gone(_))
    ));
    assert_eq!(
        h.repo
            .vread(&ctx, "Patient", &id, "1")
            .unwrap()
            .json()
            .unwrap()["name"][0]["family"],
        "One"
    );
    let req = HistoryRequest {
        rtype: Some("Patient".into()),
        id: Some(id.clone()),
        params: vec![],
        base_url: h.base_url().into(),
    };
    let hist = h.repo.history(&ctx, &req).unwrap();
    assert_eq!(hist["total"], 2);
    assert_eq!(hist["entry"][0]["request"]["method"], "DELETE");
    assert!(hist["entry"][0].get("resource").is_none());
}

fn delete_is_idempotent(h: &Harness) {
    let ctx = h.ctx();
    assert!(
        h.repo
            .delete(&ctx, "Patient", "never-existed")
            .unwrap()
            .is_none()
    );
    let id = h.create_id(&ctx, "Patient", patient("One"));
    assert!(h.repo.delete(&ctx, "Patient", &id).unwrap().is_some());
    assert!(h.repo.delete(&ctx, "Patient", &id).unwrap().is_none());
    assert!(
        matches!(
            h.repo.vread(&ctx, "Patient", &id, "3"),
            Err(FhirError::NotFound(_))
        ),
        "no extra version"
    );
}

fn update_after_delete_continues_versions(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("One"));
    h.repo.delete(&ctx, "Patient", &id).unwrap();
    let out = h
        .repo
        .update(
            &ctx,
            "Patient",
            &id,
            super::with_id(patient("Back"), &id),
            None,
        )
        .unwrap();
    assert_eq!((out.kind, out.resource.version), (WriteKind::Created, 3));
    assert_eq!(
        h.repo.read(&ctx, "Patient", &id).unwrap().json().unwrap()["name"][0]["family"],
        "Back"
    );
}

fn vread_unknown_or_malformed_version_is_not_found(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("One"));
    for v in ["2", "0", "abc", "1.0", ""] {
        let err = h.repo.vread(&ctx, "Patient", &id, v).unwrap_err();
        assert_eq!(err.status(), 404, "version {v:?}: {err:?}");
    }
}

fn stale_if_match_is_precondition_failed(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("One"));
    h.repo
        .update(
            &ctx,
            "Patient",
            &id,
            super::with_id(patient("Two"), &id),
            Some(1),
        )
        .unwrap();
    let err = h
        .repo
        .update(
            &ctx,
            "Patient",
            &id,
            super::with_id(patient("Stale"), &id),
            Some(1),
        )
        .unwrap_err();
    assert_eq!(err.status(), 412);
    assert_eq!(
        h.repo.read(&ctx, "Patient", &id).unwrap().json().unwrap()["name"][0]["family"],
        "Two"
    );
    let err = h
        .repo
        .update(
            &ctx,
            "Patient",
            "absent",
            super::with_id(patient("X"), "absent"),
            Some(1),
        )
        .unwrap_err();
    assert_eq!(err.status(), 412, "If-Match on an absent resource");
}

fn concurrent_updates_with_same_if_match_one_wins(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("Start"));
    for round in 1..=3_i64 {
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let (repo, ctx, id, barrier) =
                    (h.repo.clone(), ctx.clone(), id.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    repo.update(
                        &ctx,
                        "Patient",
                        &id,
                        super::with_id(patient(&format!("T{t}")), &id),
                        Some(round),
                    )
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert_eq!(loser.status(), 412, "{loser:?}");
        assert_eq!(
            h.repo.read(&ctx, "Patient", &id).unwrap().version,
            round + 1
        );
    }
}

fn concurrent_updates_without_if_match_all_succeed(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("Start"));
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (repo, ctx, id, barrier) =
                (h.repo.clone(), ctx.clone(), id.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..5)
                    .map(|n| {
                        repo.update(
                            &ctx,
                            "Patient",
                            &id,
                            super::with_id(patient(&format!("T{t}-{n}")), &id),
                            None,
                        )
                        .map(|o| o.resource.version)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut versions: Vec<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .map(|r| r.expect("update without If-Match"))
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (2..=21).collect::<Vec<_>>(),
        "each update made exactly one new version"
    );
}

fn conditional_create(h: &Harness) {
    let ctx = h.ctx();
    let criteria = nhs_criteria("9000000009");
    let first = h
        .repo
        .create(
            &ctx,
            "Patient",
            identified_patient("9000000009"),
            Some(&criteria),
        )
        .unwrap();
    assert_eq!(first.kind, WriteKind::Created);
    let again = h
        .repo
        .create(
            &ctx,
            "Patient",
            identified_patient("9000000009"),
            Some(&criteria),
        )
        .unwrap();
    assert_eq!(again.kind, WriteKind::Unchanged);
    assert_eq!(again.resource.id, first.resource.id);
    assert_eq!(again.resource.version, 1, "nothing was written");
    h.repo
        .create(&ctx, "Patient", identified_patient("9000000009"), None)
        .unwrap();
    let err = h
        .repo
        .create(
            &ctx,
            "Patient",
            identified_patient("9000000009"),
            Some(&criteria),
        )
        .unwrap_err();
    assert_eq!(err.status(), 412);
    assert_eq!(type_history_count(h, "Patient"), 2);
}

fn conditional_update(h: &Harness) {
    let ctx = h.ctx();
    let criteria = nhs_criteria("9000000017");
    let created = h
        .repo
        .conditional_update(
            &ctx,
            "Patient",
            &criteria,
            identified_patient("9000000017"),
            None,
        )
        .unwrap();
    assert_eq!(created.kind, WriteKind::Created);
    let mut changed = identified_patient("9000000017");
    changed["name"][0]["family"] = json!("Changed");
    let updated = h
        .repo
        .conditional_update(&ctx, "Patient", &criteria, changed, None)
        .unwrap();
    assert_eq!(
        (updated.kind, updated.resource.version),
        (WriteKind::Updated, 2)
    );
    assert_eq!(updated.resource.id, created.resource.id);
    // A body id that is not the match's id is refused.
    let mut other_id = identified_patient("9000000017");
    other_id["id"] = json!("different");
    assert_eq!(
        h.repo
            .conditional_update(&ctx, "Patient", &criteria, other_id, None)
            .unwrap_err()
            .status(),
        400
    );
    // No match, with an id in the body: created at that id.
    let mut with_id = identified_patient("9000000025");
    with_id["id"] = json!("given-id");
    let at_id = h
        .repo
        .conditional_update(&ctx, "Patient", &nhs_criteria("9000000025"), with_id, None)
        .unwrap();
    assert_eq!(
        (at_id.kind, at_id.resource.id.as_str()),
        (WriteKind::Created, "given-id")
    );
    // Two matches.
    h.repo
        .create(&ctx, "Patient", identified_patient("9000000017"), None)
        .unwrap();
    let err = h
        .repo
        .conditional_update(
            &ctx,
            "Patient",
            &criteria,
            identified_patient("9000000017"),
            None,
        )
        .unwrap_err();
    assert_eq!(err.status(), 412);
}

fn conditional_delete(h: &Harness) {
    let ctx = h.ctx();
    assert_eq!(
        h.repo
            .conditional_delete(&ctx, "Patient", &nhs_criteria("9000000033"))
            .unwrap(),
        0
    );
    let id = h.create_id(&ctx, "Patient", identified_patient("9000000033"));
    assert_eq!(
        h.repo
            .conditional_delete(&ctx, "Patient", &nhs_criteria("9000000033"))
            .unwrap(),
        1
    );
    assert!(matches!(
        h.repo.read(&ctx, "Patient", &id),
        Err(FhirError::Gone(_))
    ));
    h.repo
        .create(&ctx, "Patient", identified_patient("9000000041"), None)
        .unwrap();
    h.repo
        .create(&ctx, "Patient", identified_patient("9000000041"), None)
        .unwrap();
    let err = h
        .repo
        .conditional_delete(&ctx, "Patient", &nhs_criteria("9000000041"))
        .unwrap_err();
    assert_eq!(err.status(), 412);
}

fn invalid_resource_writes_nothing(h: &Harness) {
    let ctx = h.ctx();
    let before = type_history_count(h, "Patient");
    // Not a FHIR Patient: an unknown element and a malformed date.
    let bad = json!({"resourceType": "Patient", "birthDate": "31/12/1970", "notAnElement": true});
    let err = h
        .repo
        .create(&ctx, "Patient", bad.clone(), None)
        .unwrap_err();
    assert!(matches!(err.status(), 400 | 422), "{err:?}");
    let err = h
        .repo
        .update(&ctx, "Patient", "bad", bad, None)
        .unwrap_err();
    assert!(matches!(err.status(), 400 | 422), "{err:?}");
    assert_eq!(
        h.repo.read(&ctx, "Patient", "bad").unwrap_err().status(),
        404
    );
    assert_eq!(type_history_count(h, "Patient"), before);
}

fn tenancy_other_practice_sees_nothing(h: &Harness) {
    let ctx = h.ctx();
    let other = h.other_practice_ctx();
    let id = h.create_id(&ctx, "Patient", identified_patient("9000000068"));
    assert_eq!(
        h.repo.read(&other, "Patient", &id).unwrap_err().status(),
        404
    );
    assert_eq!(
        h.repo
            .vread(&other, "Patient", &id, "1")
            .unwrap_err()
            .status(),
        404
    );
    assert!(h.repo.delete(&other, "Patient", &id).unwrap().is_none());
    assert_eq!(
        h.repo
            .conditional_delete(&other, "Patient", &nhs_criteria("9000000068"))
            .unwrap(),
        0
    );
    let err = h
        .repo
        .update(
            &other,
            "Patient",
            &id,
            super::with_id(patient("Hijack"), &id),
            Some(1),
        )
        .unwrap_err();
    assert_eq!(
        err.status(),
        412,
        "If-Match against another practice's resource"
    );
    let req = HistoryRequest {
        rtype: Some("Patient".into()),
        id: Some(id.clone()),
        params: vec![],
        base_url: h.base_url().into(),
    };
    assert_eq!(h.repo.history(&other, &req).unwrap_err().status(), 404);
    let system = HistoryRequest {
        base_url: h.base_url().into(),
        ..Default::default()
    };
    assert_eq!(
        h.repo.history(&other, &system).unwrap()["entry"]
            .as_array()
            .map_or(0, Vec::len),
        0
    );
    // The owner's resource is untouched.
    let mine = h.repo.read(&ctx, "Patient", &id).unwrap();
    assert_eq!((mine.version, mine.deleted), (1, false));
}

fn tenancy_same_id_in_two_practices_are_separate(h: &Harness) {
    let ctx = h.ctx();
    let other = h.other_practice_ctx();
    h.repo
        .update(
            &ctx,
            "Patient",
            "shared",
            super::with_id(patient("Mine"), "shared"),
            None,
        )
        .unwrap();
    let theirs = h
        .repo
        .update(
            &other,
            "Patient",
            "shared",
            super::with_id(patient("Theirs"), "shared"),
            None,
        )
        .unwrap();
    assert_eq!(
        (theirs.kind, theirs.resource.version),
        (WriteKind::Created, 1)
    );
    assert_eq!(
        h.repo
            .read(&ctx, "Patient", "shared")
            .unwrap()
            .json()
            .unwrap()["name"][0]["family"],
        "Mine"
    );
    assert_eq!(
        h.repo
            .read(&other, "Patient", "shared")
            .unwrap()
            .json()
            .unwrap()["name"][0]["family"],
        "Theirs"
    );
    h.repo.delete(&other, "Patient", "shared").unwrap();
    assert_eq!(h.repo.read(&ctx, "Patient", "shared").unwrap().version, 1);
}

/// `$validate`: the issues a write would meet, nothing written; a delete names the
/// references (in this practice only) it would leave dangling.
fn validate_writes_nothing_and_names_dangling_references(h: &Harness) {
    use crate::validate_op::{ValidateMode, ValidateRequest};
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("Referred"));
    let observation = json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "weight"}, "subject": {"reference": format!("Patient/{id}")}});
    let referrer = h.create_id(&ctx, "Observation", observation.clone());
    // The same reference in another practice is none of this practice's business.
    h.create_id(&h.other_practice_ctx(), "Observation", observation);
    let request = |mode, resource| ValidateRequest {
        rtype: "Patient",
        id: Some(&id),
        mode,
        resource,
        profile: None,
    };
    let issues = h
        .repo
        .validate(&ctx, &request(ValidateMode::Delete, None))
        .unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].severity, fhir::Severity::Warning);
    assert!(
        issues[0].diagnostics.starts_with("1 resource(s)"),
        "{issues:?}"
    );
    assert!(
        issues[0]
            .diagnostics
            .contains(&format!("Observation/{referrer}"))
    );

    let mut invalid = patient("Invalid");
    invalid["id"] = json!(id.clone());
    invalid["gender"] = json!("banana");
    let issues = h
        .repo
        .validate(&ctx, &request(ValidateMode::Update, Some(&invalid)))
        .unwrap();
    assert!(
        issues.iter().any(|i| i.severity == fhir::Severity::Error),
        "{issues:?}"
    );
    assert_eq!(type_history_count(h, "Patient"), 1, "$validate wrote");
    let read = h.repo.read(&ctx, "Patient", &id).unwrap();
    assert_eq!(read.version, 1);
}
