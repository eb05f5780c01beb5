//! PATCH with a JSON Patch over HTTP: a new version like an update, or nothing written.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};

fn json_patch(uri: &str, patch: &Value, if_match: Option<&str>) -> axum::http::Request<Body> {
    let mut builder = req(Method::PATCH, uri).header("content-type", "application/json-patch+json");
    if let Some(etag) = if_match {
        builder = builder.header("if-match", etag);
    }
    builder
        .body(Body::from(serde_json::to_vec(patch).unwrap()))
        .unwrap()
}

#[tokio::test]
async fn a_patch_makes_a_new_version() {
    let api = Api::new();
    let id = api.create(&patient("Patched", "9434765919")).await;
    let uri = format!("/fhir/Patient/{id}");
    let patch = json!([
        { "op": "test", "path": "/gender", "value": "female" },
        { "op": "replace", "path": "/gender", "value": "other" },
        { "op": "add", "path": "/name/0/given/-", "value": "Jo" }
    ]);
    let reply = api.send(json_patch(&uri, &patch, Some("W/\"1\""))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
    assert!(
        reply
            .header("location")
            .unwrap()
            .ends_with(&format!("/Patient/{id}/_history/2"))
    );
    let stored = api.get(&uri).await.json();
    assert_eq!(stored["gender"], "other");
    assert_eq!(stored["name"][0]["given"], json!(["Alex", "Jo"]));
    assert_eq!(stored["meta"]["versionId"], "2");
    // The element order the client wrote is kept.
    let keys: Vec<&str> = stored
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| ["identifier", "name", "gender", "birthDate"].contains(k))
        .collect();
    assert_eq!(keys, ["identifier", "name", "gender", "birthDate"]);
}

#[tokio::test]
async fn a_refused_patch_writes_nothing() {
    let api = Api::new();
    let id = api.create(&patient("Unpatched", "9434765919")).await;
    let uri = format!("/fhir/Patient/{id}");
    let replace = json!([{ "op": "replace", "path": "/gender", "value": "male" }]);
    let cases = [
        // Someone else changed it since (version 1 is current: 2 is stale only after a
        // change, so a wrong version stands in).
        (json_patch(&uri, &replace, Some("W/\"7\"")), 412),
        // A failed test.
        (
            json_patch(
                &uri,
                &json!([{ "op": "test", "path": "/gender", "value": "male" }, replace[0]]),
                None,
            ),
            422,
        ),
        // A result that is not valid FHIR.
        (
            json_patch(
                &uri,
                &json!([{ "op": "replace", "path": "/gender", "value": "banana" }]),
                None,
            ),
            422,
        ),
        // A path that is not there.
        (
            json_patch(
                &uri,
                &json!([{ "op": "remove", "path": "/deceasedBoolean" }]),
                None,
            ),
            422,
        ),
        // Changing the id.
        (
            json_patch(
                &uri,
                &json!([{ "op": "replace", "path": "/id", "value": "x" }]),
                None,
            ),
            422,
        ),
        // Not a patch.
        (json_patch(&uri, &json!({ "op": "add" }), None), 400),
        (
            json_patch(&uri, &json!([{ "op": "mend", "path": "/gender" }]), None),
            400,
        ),
        (
            req(Method::PATCH, &uri)
                .header("content-type", "application/json-patch+json")
                .body(Body::from(
                    r#"[{"op":"replace","path":"/gender","value":"male","value":"female"}]"#,
                ))
                .unwrap(),
            400,
        ),
        (fhir_json(Method::PATCH, &uri, &replace), 415),
        (json_patch("/fhir/Patient/nobody", &replace, None), 404),
    ];
    for (request, status) in cases {
        let reply = api.send(request).await;
        reply.assert_outcome(status);
    }
    assert_eq!(api.versions_of("Patient").await, 1, "a refused patch wrote");
    assert_eq!(api.get(&uri).await.json()["gender"], "female");
}

#[tokio::test]
async fn a_conditional_patch_finds_its_one_resource() {
    let api = Api::new();
    let id = api.create(&patient("Conditional", "9434765919")).await;
    api.create(&patient("Twin", "9434765870")).await;
    api.create(&patient("Twin", "9434765870")).await;
    let replace = json!([{ "op": "replace", "path": "/gender", "value": "male" }]);
    let one = "/fhir/Patient?identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C9434765919";
    let reply = api.send(json_patch(one, &replace, None)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        api.get(&format!("/fhir/Patient/{id}")).await.json()["gender"],
        "male"
    );
    let two = "/fhir/Patient?family=Twin";
    api.send(json_patch(two, &replace, None))
        .await
        .assert_outcome(412);
    let none = "/fhir/Patient?family=Nobody";
    api.send(json_patch(none, &replace, None))
        .await
        .assert_outcome(404);
    api.send(json_patch("/fhir/Patient", &replace, None))
        .await
        .assert_outcome(400);
}
