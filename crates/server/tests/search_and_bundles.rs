//! The CapabilityStatement, search by GET and POST, batch/transaction Bundles and
//! `$everything`.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn metadata_lists_patient_with_its_search_params() {
    let api = Api::new();
    let reply = api.get("/fhir/metadata").await;
    assert_eq!(reply.status, StatusCode::OK);
    let cs = reply.json();
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["implementation"]["url"], BASE);
    let rest = &cs["rest"][0];
    assert_eq!(rest["mode"], "server");
    let system: Vec<&str> = rest["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        system,
        ["transaction", "batch", "search-system", "history-system"]
    );
    let patient = rest["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Patient")
        .unwrap();
    let interactions: Vec<&str> = patient["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    for code in [
        "read",
        "vread",
        "update",
        "delete",
        "history-instance",
        "history-type",
        "create",
        "search-type",
    ] {
        assert!(interactions.contains(&code), "{code}");
    }
    assert_eq!(patient["versioning"], "versioned-update");
    assert_eq!(patient["conditionalDelete"], "single");
    let birthdate = patient["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "birthdate")
        .unwrap();
    assert_eq!(birthdate["type"], "date");
    assert_eq!(
        birthdate["definition"],
        "http://hl7.org/fhir/SearchParameter/individual-birthdate"
    );
    assert_eq!(patient["operation"][0]["name"], "everything");
}

/// Creates Smith, Smithson and Jones; returns the ids of the Smiths, then of all three.
async fn three_patients(api: &Api) -> (Vec<String>, Vec<String>) {
    let mut smiths = vec![
        api.create(&patient("Smith", "9434765919")).await,
        api.create(&patient("Smithson", "9434765005")).await,
    ];
    smiths.sort();
    let mut all = smiths.clone();
    all.push(api.create(&patient("Jones", "9434765013")).await);
    all.sort();
    (smiths, all)
}

#[tokio::test]
async fn search_by_get_and_by_post_find_the_same_patients() {
    let api = Api::new();
    let (smiths, _) = three_patients(&api).await;
    let by_get = api.get("/fhir/Patient?family=smith&gender=female").await;
    assert_eq!(by_get.status, StatusCode::OK, "{}", by_get.text());
    let by_get = by_get.json();
    assert_eq!(by_get["type"], "searchset");
    assert_eq!(entry_ids(&by_get, "Patient"), smiths);

    // Parameters in the URL and the form body are combined.
    let request = req(Method::POST, "/fhir/Patient/_search?gender=female")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("family=smith"))
        .unwrap();
    let by_post = api.send(request).await;
    assert_eq!(by_post.status, StatusCode::OK, "{}", by_post.text());
    assert_eq!(entry_ids(&by_post.json(), "Patient"), smiths);
}

#[tokio::test]
async fn search_by_post_needs_a_form_body() {
    let api = Api::new();
    let request = req(Method::POST, "/fhir/Patient/_search")
        .header("content-type", "application/fhir+json")
        .body(Body::from("{\"family\":\"smith\"}"))
        .unwrap();
    api.send(request).await.assert_outcome(415);
}

/// fhirpy's `.count()` sends `_totalMethod=count`: by default an unknown parameter is
/// ignored, said so in the Bundle and left out of its self link; `handling=strict`
/// refuses it.
#[tokio::test]
async fn unknown_search_parameter_is_ignored_and_reported_unless_strict() {
    let api = Api::new();
    three_patients(&api).await;
    let reply = api
        .get("/fhir/Patient?_summary=count&_totalMethod=count")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let bundle = reply.json();
    assert_eq!(bundle["total"], 3);
    let outcome = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .expect("an outcome entry");
    let issue = &outcome["resource"]["issue"][0];
    assert_eq!(issue["severity"], "warning");
    assert!(
        issue["diagnostics"]
            .as_str()
            .unwrap()
            .contains("_totalMethod")
    );
    let self_link = bundle["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "self")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(self_link.contains("_summary=count"), "{self_link}");
    assert!(!self_link.contains("_totalMethod"), "{self_link}");

    let lenient = req(Method::GET, "/fhir/Patient?favourite-colour=blue")
        .header("prefer", "handling=lenient")
        .body(Body::empty())
        .unwrap();
    let reply = api.send(lenient).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(entry_ids(&reply.json(), "Patient").len(), 3);

    let strict = req(Method::GET, "/fhir/Patient?favourite-colour=blue")
        .header("prefer", "handling=strict")
        .body(Body::empty())
        .unwrap();
    let reply = api.send(strict).await;
    reply.assert_outcome(400);
    assert!(
        reply.text().contains("favourite-colour"),
        "{}",
        reply.text()
    );
}

#[tokio::test]
async fn system_search_and_history() {
    let api = Api::new();
    let (_, ids) = three_patients(&api).await;
    let by_id = api.get(&format!("/fhir?_id={}", ids[0])).await;
    assert_eq!(by_id.status, StatusCode::OK, "{}", by_id.text());
    assert_eq!(entry_ids(&by_id.json(), "Patient"), vec![ids[0].clone()]);
    let history = api.get("/fhir/_history").await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text());
    assert_eq!(history.json()["type"], "history");
}

#[tokio::test]
async fn paging_links_lead_to_the_next_page() {
    let api = Api::new();
    let (_, all) = three_patients(&api).await;
    let first = api.get("/fhir/Patient?gender=female&_count=2").await.json();
    let next = first["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .expect("a next link")["url"]
        .as_str()
        .unwrap()
        .to_string();
    let path = next
        .strip_prefix("http://localhost")
        .expect("links use the base URL");
    let second = api.get(path).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    let mut seen = entry_ids(&first, "Patient");
    seen.extend(entry_ids(&second.json(), "Patient"));
    seen.sort();
    assert_eq!(seen, all);
}

fn transaction() -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b9b1c8e-7c4b-4a52-9c5e-000000000001",
                "resource": patient("Bundled", "9434765919"),
                "request": { "method": "POST", "url": "Patient" }
            },
            {
                "fullUrl": "urn:uuid:0b9b1c8e-7c4b-4a52-9c5e-000000000002",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "27113001", "display": "Body weight" }] },
                    "subject": { "reference": "urn:uuid:0b9b1c8e-7c4b-4a52-9c5e-000000000001" },
                    "valueQuantity": { "value": 72.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg" }
                },
                "request": { "method": "POST", "url": "Observation" }
            }
        ]
    })
}

#[tokio::test]
async fn transaction_bundle_via_post_to_the_base() {
    let api = Api::new();
    let reply = api.post("/fhir", &transaction()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let response = reply.json();
    assert_eq!(response["type"], "transaction-response");
    let locations: Vec<&str> = response["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["location"].as_str().unwrap())
        .collect();
    assert!(
        locations[0].starts_with("Patient/")
            || locations[0].starts_with(&format!("{BASE}/Patient/")),
        "{locations:?}"
    );
    let patient_id = locations[0]
        .split("Patient/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();

    // The Observation's subject now points at the created Patient, and $everything finds both.
    let everything = api
        .get(&format!("/fhir/Patient/{patient_id}/$everything"))
        .await;
    assert_eq!(everything.status, StatusCode::OK, "{}", everything.text());
    let everything = everything.json();
    assert_eq!(
        entry_ids(&everything, "Patient"),
        vec![patient_id.to_string()]
    );
    assert_eq!(entry_ids(&everything, "Observation").len(), 1);

    let by_post = req(
        Method::POST,
        &format!("/fhir/Patient/{patient_id}/$everything"),
    )
    .body(Body::empty())
    .unwrap();
    let by_post = api.send(by_post).await;
    assert_eq!(by_post.status, StatusCode::OK, "{}", by_post.text());
    assert_eq!(entry_ids(&by_post.json(), "Observation").len(), 1);
}

#[tokio::test]
async fn everything_is_only_for_patients() {
    let api = Api::new();
    api.get("/fhir/Observation/1/$everything")
        .await
        .assert_outcome(404);
}

#[tokio::test]
async fn a_failing_transaction_writes_nothing() {
    let api = Api::new();
    let mut bundle = transaction();
    bundle["entry"][1]["resource"]["status"] = json!("not-a-status");
    let reply = api.post("/fhir", &bundle).await;
    assert!(
        reply.status.is_client_error(),
        "{} {}",
        reply.status,
        reply.text()
    );
    assert_eq!(reply.json()["resourceType"], "OperationOutcome");
    assert_eq!(api.versions_of("Patient").await, 0);
}
