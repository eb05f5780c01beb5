//! Cases: batch and transaction Bundles.

use super::crud::{identified_patient, patient};
use super::{Case, Harness};
use crate::case;
use crate::repository::HistoryRequest;
use serde_json::{Value, json};

pub fn cases() -> Vec<Case> {
    vec![
        case!(transaction_creates_and_resolves_urn_references),
        case!(transaction_is_all_or_nothing),
        case!(transaction_processes_deletes_first_and_reads_last),
        case!(transaction_conditional_entries),
        case!(transaction_if_match),
        case!(transaction_touching_one_resource_twice_is_refused),
        case!(batch_entries_succeed_or_fail_alone),
        case!(only_batch_and_transaction_bundles_are_processed),
        case!(large_transaction_is_indexed_and_readable),
        case!(typed_transaction_and_find_name_what_was_written),
    ]
}

fn entry(method: &str, url: &str, full_url: Option<&str>, resource: Option<Value>) -> Value {
    let mut e = json!({"request": {"method": method, "url": url}});
    if let Some(f) = full_url {
        e["fullUrl"] = json!(f);
    }
    if let Some(mut r) = resource {
        // An update by id carries that id in its body, as FHIR requires.
        if let ("PUT", Some((_, id))) = (method, url.split_once('/'))
            && !url.contains('?')
        {
            r["id"] = json!(id);
        }
        e["resource"] = r;
    }
    e
}

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

/// `Patient/abc` from a response entry's `Patient/abc/_history/1`.
fn located(response_entry: &Value) -> String {
    let location = response_entry["response"]["location"]
        .as_str()
        .expect("a location");
    location.split("/_history/").next().unwrap().to_string()
}

fn status(response_entry: &Value) -> String {
    response_entry["response"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn system_history_len(h: &Harness) -> usize {
    let req = HistoryRequest {
        params: vec![("_count".into(), "1000".into())],
        base_url: h.base_url().into(),
        ..Default::default()
    };
    h.repo.history(&h.ctx(), &req).unwrap()["entry"]
        .as_array()
        .map_or(0, Vec::len)
}

fn observation_for(subject: &str) -> Value {
    let mut obs: Value = serde_json::from_str(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "Weight"},
            "valueQuantity": {"value": 72.50, "unit": "kg"}}"#,
    )
    .unwrap();
    obs["subject"] = json!({"reference": subject});
    obs
}

/// The `n`th valid NHS number of the 9000000000 test range (its check digit computed).
fn nhs_number(n: u32) -> String {
    (0..)
        .map(|k| format!("9{:08}", n * 2 + k))
        .find_map(|stem| {
            let sum: u32 = stem
                .bytes()
                .zip((2..=10).rev())
                .map(|(d, w)| (d - b'0') as u32 * w)
                .sum();
            match 11 - sum % 11 {
                11 => Some(format!("{stem}0")),
                10 => None,
                check => Some(format!("{stem}{check}")),
            }
        })
        .unwrap()
}

fn transaction_creates_and_resolves_urn_references(h: &Harness) {
    let ctx = h.ctx();
    let pat = "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0";
    let mut enc = json!({"resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": pat}});
    enc["participant"] = json!([{"individual": {"reference": "urn:oid:1.2.3"}}]);
    let b = bundle(
        "transaction",
        vec![
            // The observation comes first and points at a patient created later in the Bundle.
            entry(
                "POST",
                "Observation",
                Some("urn:uuid:5e9ad1a7-8a5c-4bd1-8a5f-0f7b7dfc1b11"),
                Some(observation_for(pat)),
            ),
            entry("POST", "Patient", Some(pat), Some(patient("Urn"))),
            entry("POST", "Encounter", None, Some(enc)),
            entry(
                "POST",
                "Practitioner",
                Some("urn:oid:1.2.3"),
                Some(json!({"resourceType": "Practitioner"})),
            ),
        ],
    );
    let resp = h.repo.bundle(&ctx, b, h.base_url()).unwrap();
    assert_eq!(resp["type"], "transaction-response");
    let e = resp["entry"].as_array().unwrap();
    assert_eq!(e.len(), 4, "one response per entry, in request order");
    assert!(e.iter().all(|e| status(e).starts_with("201")), "{resp}");
    assert!(located(&e[0]).starts_with("Observation/"));
    let patient_ref = located(&e[1]);
    assert!(patient_ref.starts_with("Patient/"));
    assert!(
        e[1]["response"]["location"]
            .as_str()
            .unwrap()
            .ends_with("/_history/1")
    );
    assert_eq!(e[1]["response"]["etag"], "W/\"1\"");
    assert!(e[1]["response"]["lastModified"].is_string());
    let obs_id = located(&e[0])
        .trim_start_matches("Observation/")
        .to_string();
    let obs = h.repo.read(&ctx, "Observation", &obs_id).unwrap();
    assert_eq!(
        obs.json().unwrap()["subject"]["reference"],
        patient_ref.as_str()
    );
    assert!(
        obs.body.as_deref().unwrap().contains("72.50"),
        "decimal digits kept"
    );
    let enc_id = located(&e[2]).trim_start_matches("Encounter/").to_string();
    let enc = h
        .repo
        .read(&ctx, "Encounter", &enc_id)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(enc["subject"]["reference"], patient_ref.as_str());
    assert_eq!(
        enc["participant"][0]["individual"]["reference"],
        located(&e[3]).as_str()
    );
}

fn transaction_is_all_or_nothing(h: &Harness) {
    let ctx = h.ctx();
    let before = system_history_len(h);
    let existing = h.create_id(&ctx, "Patient", patient("Keep"));
    // Invalid resource in the middle: refused before anything is written.
    let bad = bundle(
        "transaction",
        vec![
            entry("POST", "Patient", None, Some(patient("A"))),
            entry(
                "PUT",
                &format!("Patient/{existing}"),
                None,
                Some(patient("Changed")),
            ),
            entry(
                "POST",
                "Patient",
                None,
                Some(json!({"resourceType": "Patient", "birthDate": "not a date", "bogus": 1})),
            ),
            entry("DELETE", "Patient/whatever", None, None),
        ],
    );
    let err = h.repo.bundle(&ctx, bad, h.base_url()).unwrap_err();
    assert!(matches!(err.status(), 400 | 422), "{err:?}");
    assert!(
        format!("{:?}", err.issues()).contains("Bundle.entry[2]"),
        "{:?}",
        err.issues()
    );
    // A failure found while writing (stale version): everything before it is undone.
    let stale = bundle(
        "transaction",
        vec![
            entry("DELETE", &format!("Patient/{existing}"), None, None),
            entry("POST", "Patient", None, Some(patient("B"))),
            json!({"request": {"method": "PUT", "url": "Patient/other", "ifMatch": "W/\"7\""},
                   "resource": {"resourceType": "Patient", "id": "other"}}),
        ],
    );
    let err = h.repo.bundle(&ctx, stale, h.base_url()).unwrap_err();
    assert_eq!(err.status(), 412, "{err:?}");
    assert!(format!("{:?}", err.issues()).contains("Bundle.entry[2]"));
    // A read of something absent fails the transaction too.
    let missing = bundle(
        "transaction",
        vec![
            entry("POST", "Patient", None, Some(patient("C"))),
            entry("GET", "Patient/absent", None, None),
        ],
    );
    assert_eq!(
        h.repo
            .bundle(&ctx, missing, h.base_url())
            .unwrap_err()
            .status(),
        404
    );
    let read = h.repo.read(&ctx, "Patient", &existing).unwrap();
    assert_eq!(
        (
            read.version,
            read.json().unwrap()["name"][0]["family"].as_str()
        ),
        (1, Some("Keep"))
    );
    assert_eq!(system_history_len(h), before + 1, "only the setup create");
}

fn transaction_processes_deletes_first_and_reads_last(h: &Harness) {
    let ctx = h.ctx();
    let old = h.create_id(&ctx, "Patient", patient("Old"));
    let target = h.create_id(&ctx, "Patient", patient("Before"));
    let b = bundle(
        "transaction",
        vec![
            entry("GET", &format!("Patient/{target}"), None, None),
            entry(
                "PUT",
                &format!("Patient/{target}"),
                None,
                Some(patient("After")),
            ),
            entry("DELETE", &format!("Patient/{old}"), None, None),
        ],
    );
    let resp = h.repo.bundle(&ctx, b, h.base_url()).unwrap();
    let e = resp["entry"].as_array().unwrap();
    assert_eq!(status(&e[0]), "200 OK");
    assert_eq!(
        e[0]["resource"]["name"][0]["family"], "After",
        "the read sees the update"
    );
    assert_eq!(status(&e[1]), "200 OK");
    assert_eq!(e[1]["response"]["etag"], "W/\"2\"");
    assert!(status(&e[2]).starts_with("204") || status(&e[2]).starts_with("200"));
    assert_eq!(
        h.repo.read(&ctx, "Patient", &old).unwrap_err().status(),
        410
    );
}

fn transaction_conditional_entries(h: &Harness) {
    let ctx = h.ctx();
    let existing = h.create_id(&ctx, "Patient", identified_patient("9000000076"));
    h.repo
        .create(&ctx, "Patient", identified_patient("9000000084"), None)
        .unwrap();
    let nhs = |v: &str| format!("identifier=https://fhir.nhs.uk/Id/nhs-number|{v}");
    let urn_existing = "urn:uuid:9a4c0a2c-1111-4b4b-9c9c-000000000001";
    let urn_new = "urn:uuid:9a4c0a2c-1111-4b4b-9c9c-000000000002";
    let urn_put = "urn:uuid:9a4c0a2c-1111-4b4b-9c9c-000000000003";
    let b = bundle(
        "transaction",
        vec![
            json!({"fullUrl": urn_existing, "resource": identified_patient("9000000076"),
                   "request": {"method": "POST", "url": "Patient", "ifNoneExist": nhs("9000000076")}}),
            json!({"fullUrl": urn_new, "resource": identified_patient("9000000092"),
                   "request": {"method": "POST", "url": "Patient", "ifNoneExist": nhs("9000000092")}}),
            entry(
                "PUT",
                &format!("Patient?{}", nhs("9000000106")),
                Some(urn_put),
                Some(identified_patient("9000000106")),
            ),
            entry(
                "DELETE",
                &format!("Patient?{}", nhs("9000000084")),
                None,
                None,
            ),
            entry(
                "POST",
                "Observation",
                None,
                Some(observation_for(urn_existing)),
            ),
            entry("POST", "Observation", None, Some(observation_for(urn_new))),
            entry("POST", "Observation", None, Some(observation_for(urn_put))),
        ],
    );
    let resp = h.repo.bundle(&ctx, b, h.base_url()).unwrap();
    let e = resp["entry"].as_array().unwrap();
    assert_eq!(
        status(&e[0]),
        "200 OK",
        "ifNoneExist matched the existing patient"
    );
    assert_eq!(located(&e[0]), format!("Patient/{existing}"));
    assert_eq!(status(&e[1]), "201 Created");
    assert_eq!(
        status(&e[2]),
        "201 Created",
        "conditional PUT with no match creates"
    );
    let subjects: Vec<String> = e[4..]
        .iter()
        .map(|o| {
            let id = located(o).trim_start_matches("Observation/").to_string();
            h.repo
                .read(&ctx, "Observation", &id)
                .unwrap()
                .json()
                .unwrap()["subject"]["reference"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        subjects,
        [
            format!("Patient/{existing}"),
            located(&e[1]),
            located(&e[2])
        ]
    );
    assert_eq!(
        h.repo
            .conditional_delete(&ctx, "Patient", &nhs("9000000084"))
            .unwrap(),
        0,
        "deleted by the Bundle"
    );
    // Several matches for a conditional entry fail the whole transaction.
    h.repo
        .create(&ctx, "Patient", identified_patient("9000000076"), None)
        .unwrap();
    let ambiguous = bundle(
        "transaction",
        vec![
            entry("POST", "Patient", None, Some(patient("Never"))),
            json!({"resource": identified_patient("9000000076"),
                   "request": {"method": "POST", "url": "Patient", "ifNoneExist": nhs("9000000076")}}),
        ],
    );
    let before = system_history_len(h);
    assert_eq!(
        h.repo
            .bundle(&ctx, ambiguous, h.base_url())
            .unwrap_err()
            .status(),
        412
    );
    assert_eq!(system_history_len(h), before);
}

fn transaction_if_match(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("One"));
    let b = bundle(
        "transaction",
        vec![
            json!({"resource": super::with_id(patient("Two"), &id), "request": {"method": "PUT", "url": format!("Patient/{id}"), "ifMatch": "W/\"1\""}}),
        ],
    );
    let resp = h.repo.bundle(&ctx, b.clone(), h.base_url()).unwrap();
    assert_eq!(resp["entry"][0]["response"]["etag"], "W/\"2\"");
    assert_eq!(
        h.repo.bundle(&ctx, b, h.base_url()).unwrap_err().status(),
        412,
        "version 1 is stale now"
    );
}

fn transaction_touching_one_resource_twice_is_refused(h: &Harness) {
    let ctx = h.ctx();
    let b = bundle(
        "transaction",
        vec![
            entry("PUT", "Patient/twice", None, Some(patient("A"))),
            entry("PUT", "Patient/twice", None, Some(patient("B"))),
        ],
    );
    assert_eq!(
        h.repo.bundle(&ctx, b, h.base_url()).unwrap_err().status(),
        400
    );
    assert_eq!(
        h.repo.read(&ctx, "Patient", "twice").unwrap_err().status(),
        404
    );
}

fn batch_entries_succeed_or_fail_alone(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("One"));
    let b = bundle(
        "batch",
        vec![
            entry("POST", "Patient", None, Some(patient("New"))),
            entry(
                "POST",
                "Patient",
                None,
                Some(json!({"resourceType": "Observation"})),
            ),
            entry("GET", &format!("Patient/{id}"), None, None),
            entry("GET", "Patient/absent", None, None),
            json!({"resource": super::with_id(patient("Stale"), &id), "request": {"method": "PUT", "url": format!("Patient/{id}"), "ifMatch": "W/\"9\""}}),
            entry("DELETE", &format!("Patient/{id}"), None, None),
            entry("PATCH", &format!("Patient/{id}"), None, None),
        ],
    );
    let resp = h.repo.bundle(&ctx, b, h.base_url()).unwrap();
    assert_eq!(resp["type"], "batch-response");
    let e = resp["entry"].as_array().unwrap();
    let statuses: Vec<String> = e.iter().map(|e| status(e)[..3].to_string()).collect();
    assert_eq!(statuses, ["201", "400", "200", "404", "412", "204", "400"]);
    assert_eq!(
        e[1]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(e[2]["resource"]["name"][0]["family"], "One");
    let new_id = located(&e[0]).trim_start_matches("Patient/").to_string();
    assert!(
        h.repo.read(&ctx, "Patient", &new_id).is_ok(),
        "the good entry was kept"
    );
    assert_eq!(h.repo.read(&ctx, "Patient", &id).unwrap_err().status(), 410);
}

fn only_batch_and_transaction_bundles_are_processed(h: &Harness) {
    let ctx = h.ctx();
    for body in [
        json!({"resourceType": "Bundle", "type": "collection", "entry": []}),
        json!({"resourceType": "Bundle", "entry": []}),
        json!({"resourceType": "Patient", "type": "transaction"}),
        json!([]),
        json!({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": patient("x")}]}),
    ] {
        let err = h.repo.bundle(&ctx, body.clone(), h.base_url()).unwrap_err();
        assert_eq!(err.status(), 400, "{body}");
    }
    let empty = h
        .repo
        .bundle(&ctx, bundle("transaction", vec![]), h.base_url())
        .unwrap();
    assert_eq!(empty["entry"], json!([]));
}

fn large_transaction_is_indexed_and_readable(h: &Harness) {
    let ctx = h.ctx();
    let mut entries = Vec::new();
    for n in 0..300 {
        let urn = format!("urn:uuid:00000000-0000-4000-8000-{n:012}");
        entries.push(entry(
            "POST",
            "Patient",
            Some(&urn),
            Some(identified_patient(&nhs_number(n))),
        ));
        entries.push(entry(
            "POST",
            "Observation",
            None,
            Some(observation_for(&urn)),
        ));
    }
    let resp = h
        .repo
        .bundle(&ctx, bundle("transaction", entries), h.base_url())
        .unwrap();
    let e = resp["entry"].as_array().unwrap();
    assert_eq!(e.len(), 600);
    for pair in e.chunks(2).step_by(37) {
        let obs_id = located(&pair[1])
            .trim_start_matches("Observation/")
            .to_string();
        let obs = h
            .repo
            .read(&ctx, "Observation", &obs_id)
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(obs["subject"]["reference"], located(&pair[0]).as_str());
    }
    // Index rows were written: the patients are found by identifier.
    let criteria = format!(
        "identifier=https://fhir.nhs.uk/Id/nhs-number|{}",
        nhs_number(123)
    );
    assert_eq!(
        h.repo
            .conditional_delete(&ctx, "Patient", &criteria)
            .unwrap(),
        1
    );
}

/// Services inside OpenGP get ids and resources, not Location headers and Bundles.
fn typed_transaction_and_find_name_what_was_written(h: &Harness) {
    let ctx = h.ctx();
    let existing = h.create_id(&ctx, "Patient", identified_patient("9000000114"));
    let nhs = "identifier=https://fhir.nhs.uk/Id/nhs-number|9000000114";
    let urn = "urn:uuid:9a4c0a2c-2222-4b4b-9c9c-000000000001";
    let written = h
        .repo
        .transaction(
            &ctx,
            vec![
                json!({"fullUrl": urn, "resource": identified_patient("9000000114"),
                       "request": {"method": "POST", "url": "Patient", "ifNoneExist": nhs}}),
                entry("POST", "Observation", None, Some(observation_for(urn))),
            ],
        )
        .unwrap();
    let patient = written[0].clone().expect("the patient entry");
    assert_eq!(
        (patient.reference(), patient.created),
        (format!("Patient/{existing}"), false)
    );
    let obs = written[1].clone().expect("the observation entry");
    assert!(obs.created && obs.version == 1 && obs.rtype == "Observation");

    let found = h
        .repo
        .find(
            &ctx,
            "Observation",
            &[
                ("subject", &format!("Patient/{existing}")),
                ("_include", "Observation:subject"),
            ],
        )
        .unwrap();
    assert_eq!(found.matches.len(), 1);
    assert_eq!(found.matches[0]["id"], obs.id.as_str());
    assert_eq!(found.included.len(), 1);
    assert_eq!(found.included[0]["id"], existing.as_str());
    // Strict: a misspelled parameter is refused rather than ignored.
    assert!(
        h.repo
            .find(&ctx, "Observation", &[("subjekt", "x")])
            .is_err()
    );

    let created = h
        .repo
        .create_resource(&ctx, observation_for(&format!("Patient/{existing}")))
        .unwrap();
    assert!(created.created);
    assert_eq!(
        h.repo
            .read(&ctx, "Observation", &created.id)
            .unwrap()
            .version,
        1
    );
}
