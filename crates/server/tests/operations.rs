//! FHIR operations over HTTP: the registry's routing and CapabilityStatement entries,
//! `$validate`, and unknown operations.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};

fn issues(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let outcome = reply.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    outcome["issue"].as_array().unwrap().clone()
}

fn severities(issues: &[Value]) -> Vec<&str> {
    issues
        .iter()
        .map(|i| i["severity"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn validate_reports_without_writing() {
    let api = Api::new();
    let good = api
        .post("/fhir/Patient/$validate", &patient("Valid", "9434765919"))
        .await;
    let found = issues(&good);
    assert_eq!(severities(&found), ["information"], "{found:?}");
    assert_eq!(found[0]["diagnostics"], "All OK");

    let mut bad = patient("Invalid", "9434765919");
    bad["birthDate"] = json!("1970-13-45");
    bad["colour"] = json!("blue");
    let parameters = json!({
        "resourceType": "Parameters",
        "parameter": [
            { "name": "resource", "resource": bad },
            { "name": "mode", "valueCode": "create" }
        ]
    });
    let found = issues(&api.post("/fhir/Patient/$validate", &parameters).await);
    let where_: Vec<&str> = found
        .iter()
        .filter(|i| i["severity"] == "error")
        .filter_map(|i| i["expression"][0].as_str())
        .collect();
    assert!(
        where_.iter().any(|e| e.contains("birthDate"))
            && where_.iter().any(|e| e.contains("colour")),
        "{found:?}"
    );
    assert_eq!(
        api.versions_of("Patient").await,
        0,
        "$validate wrote something"
    );
}

#[tokio::test]
async fn validate_update_checks_the_id_and_delete_warns_of_dangling_references() {
    let api = Api::new();
    let patient_id = api.create(&patient("Referred", "9434765919")).await;
    let observation = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": { "text": "weight" },
        "subject": { "reference": format!("Patient/{patient_id}") }
    });
    let observation_id = api.create(&observation).await;

    let mut other = patient("Other", "9434765919");
    other["id"] = json!("someone-else");
    let parameters = json!({
        "resourceType": "Parameters",
        "parameter": [
            { "name": "resource", "resource": other },
            { "name": "mode", "valueCode": "update" }
        ]
    });
    let found = issues(
        &api.post(
            &format!("/fhir/Patient/{patient_id}/$validate"),
            &parameters,
        )
        .await,
    );
    assert_eq!(severities(&found), ["error"], "{found:?}");

    let found = issues(
        &api.get(&format!("/fhir/Patient/{patient_id}/$validate?mode=delete"))
            .await,
    );
    assert_eq!(severities(&found), ["warning"], "{found:?}");
    let text = found[0]["diagnostics"].as_str().unwrap();
    assert!(
        text.contains(&format!("Observation/{observation_id}")),
        "{text}"
    );

    let found = issues(
        &api.get("/fhir/Patient/no-such-patient/$validate?mode=delete")
            .await,
    );
    assert_eq!(found[0]["code"], "not-found", "{found:?}");

    // Update and delete are about an instance.
    api.get("/fhir/Patient/$validate?mode=delete")
        .await
        .assert_outcome(400);
    api.get(&format!(
        "/fhir/Patient/{patient_id}/$validate?mode=destroy"
    ))
    .await
    .assert_outcome(400);
    assert_eq!(api.versions_of("Patient").await, 1);
    assert_eq!(api.versions_of("Observation").await, 1);
}

#[tokio::test]
async fn validate_says_which_profiles_it_does_not_know() {
    let api = Api::new();
    let uk_core = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient";
    let parameters = json!({
        "resourceType": "Parameters",
        "parameter": [
            { "name": "resource", "resource": patient("Profiled", "9434765919") },
            { "name": "profile", "valueUri": uk_core }
        ]
    });
    let found = issues(&api.post("/fhir/Patient/$validate", &parameters).await);
    assert_eq!(found[0]["code"], "not-supported", "{found:?}");
    assert!(found[0]["diagnostics"].as_str().unwrap().contains(uk_core));

    let base = json!({
        "resourceType": "Parameters",
        "parameter": [
            { "name": "resource", "resource": patient("Profiled", "9434765919") },
            { "name": "profile", "valueUri": "http://hl7.org/fhir/StructureDefinition/Patient" }
        ]
    });
    let found = issues(&api.post("/fhir/Patient/$validate", &base).await);
    assert_eq!(severities(&found), ["information"], "{found:?}");

    let unknown_param = json!({
        "resourceType": "Parameters",
        "parameter": [{ "name": "strictness", "valueCode": "high" }]
    });
    let reply = api.post("/fhir/Patient/$validate", &unknown_param).await;
    reply.assert_outcome(400);
    assert!(reply.text().contains("strictness"));
}

#[tokio::test]
async fn validate_is_audited_as_an_operation() {
    let api = Api::new();
    api.post("/fhir/Patient/$validate", &patient("Audited", "9434765919"))
        .await;
    let auditor = api.register_client("Auditor", "system/AuditEvent.rs", 0, true);
    let auditor = api.with_token(&api.client_credentials(&auditor, "system/AuditEvent.rs"));
    let events = auditor.get("/fhir/AuditEvent?subtype=validate").await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text());
    assert_eq!(
        entry_ids(&events.json(), "AuditEvent").len(),
        1,
        "{}",
        events.text()
    );
}

#[tokio::test]
async fn unknown_operations_are_named_in_a_404() {
    let api = Api::new();
    let id = api.create(&patient("Known", "9434765919")).await;
    for url in [
        "/fhir/$frobnicate".to_string(),
        "/fhir/Patient/$frobnicate".to_string(),
        format!("/fhir/Patient/{id}/$frobnicate"),
    ] {
        let reply = api.get(&url).await;
        reply.assert_outcome(404);
        assert!(
            reply.text().contains("$frobnicate"),
            "{url}: {}",
            reply.text()
        );
    }
    // $everything is declared on Patient only.
    let reply = api.get("/fhir/Observation/x/$everything").await;
    reply.assert_outcome(404);
}

#[tokio::test]
async fn every_operation_in_the_capability_statement_has_its_definition() {
    let api = Api::new();
    let statement = api.get("/fhir/metadata").await.json();
    let patient_entry = statement["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Patient")
        .unwrap()
        .clone();
    let names: Vec<&str> = patient_entry["operation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["everything", "validate"]);
    for operation in patient_entry["operation"].as_array().unwrap() {
        let url = operation["definition"].as_str().unwrap();
        let path = url.strip_prefix("http://localhost").unwrap();
        let definition = api.get(path).await;
        assert_eq!(definition.status, StatusCode::OK, "{}", definition.text());
        let definition = definition.json();
        assert_eq!(definition["resourceType"], "OperationDefinition");
        assert_eq!(definition["url"], url);
        assert_eq!(definition["code"], operation["name"]);
        let problems: Vec<_> = fhir::validate_resource(&definition)
            .into_iter()
            .filter(|i| i.severity == fhir::Severity::Error)
            .collect();
        assert!(problems.is_empty(), "{problems:?}");
    }
    // An operation that changes nothing may be invoked by GET and POST; POST of an
    // empty body takes its parameters from the URL.
    let id = api.create(&patient("Everything", "9434765919")).await;
    let post = req(
        Method::POST,
        &format!("/fhir/Patient/{id}/$everything?_count=5"),
    )
    .body(Body::empty())
    .unwrap();
    let reply = api.send(post).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(entry_ids(&reply.json(), "Patient"), vec![id]);
}
