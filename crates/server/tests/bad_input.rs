//! Bad requests are refused with an OperationOutcome, never panic or 500, and write
//! nothing.

mod common;

use axum::body::Body;
use axum::http::Method;
use common::*;
use serde_json::json;

/// Sends `request` to an API holding one Patient; asserts the status and that no Patient
/// version was added.
async fn refused_and_nothing_written(request: axum::http::Request<Body>, status: u16) -> Reply {
    let api = Api::new();
    api.create(&patient("Existing", "9434765919")).await;
    let reply = api.send(request).await;
    reply.assert_outcome(status);
    assert_eq!(
        api.versions_of("Patient").await,
        1,
        "a refused request wrote something"
    );
    reply
}

fn post_patient_bytes(body: impl Into<Body>, content_type: &str) -> axum::http::Request<Body> {
    req(Method::POST, "/fhir/Patient")
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_400() {
    let request = post_patient_bytes("{\"resourceType\":\"Patient\",", "application/fhir+json");
    refused_and_nothing_written(request, 400).await;
}

#[tokio::test]
async fn deeply_nested_json_is_400() {
    let body = format!(
        "{{\"resourceType\":\"Patient\",\"extension\":{}",
        "[".repeat(100_000)
    );
    refused_and_nothing_written(post_patient_bytes(body, "application/fhir+json"), 400).await;
}

#[tokio::test]
async fn invalid_utf8_is_400() {
    let mut body = b"{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    body.extend_from_slice(b"\"}]}");
    refused_and_nothing_written(post_patient_bytes(body, "application/fhir+json"), 400).await;
}

#[tokio::test]
async fn body_over_16_mib_is_413() {
    let padding = "a".repeat(17 * 1024 * 1024);
    let body = format!("{{\"resourceType\":\"Patient\",\"name\":[{{\"family\":\"{padding}\"}}]}}");
    refused_and_nothing_written(post_patient_bytes(body, "application/fhir+json"), 413).await;
}

#[tokio::test]
async fn xml_body_is_415() {
    let body = "<Patient xmlns=\"http://hl7.org/fhir\"/>";
    refused_and_nothing_written(post_patient_bytes(body, "application/fhir+xml"), 415).await;
}

#[tokio::test]
async fn missing_content_type_is_415() {
    let request = req(Method::POST, "/fhir/Patient")
        .body(Body::from(patient("X", "9434765005").to_string()))
        .unwrap();
    refused_and_nothing_written(request, 415).await;
}

#[tokio::test]
async fn asking_for_xml_is_406() {
    let request = req(Method::POST, "/fhir/Patient")
        .header("content-type", "application/fhir+json")
        .header("accept", "application/fhir+xml")
        .body(Body::from(patient("X", "9434765005").to_string()))
        .unwrap();
    refused_and_nothing_written(request, 406).await;
    let api = Api::new();
    api.get("/fhir/metadata?_format=xml")
        .await
        .assert_outcome(406);
    let json = api.get("/fhir/metadata?_format=json").await;
    assert_eq!(json.status, 200);
}

#[tokio::test]
async fn resource_type_not_matching_the_url_is_400() {
    let observation =
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "BP"}});
    refused_and_nothing_written(fhir_json(Method::POST, "/fhir/Patient", &observation), 400).await;
}

#[tokio::test]
async fn invalid_id_in_the_url_is_400() {
    let mut p = patient("X", "9434765005");
    p["id"] = json!("bad_id!");
    refused_and_nothing_written(fhir_json(Method::PUT, "/fhir/Patient/bad_id!", &p), 400).await;
    let api = Api::new();
    api.get(&format!("/fhir/Patient/{}", "a".repeat(65)))
        .await
        .assert_outcome(400);
}

#[tokio::test]
async fn update_with_a_different_id_in_the_body_is_400() {
    let mut p = patient("X", "9434765005");
    p["id"] = json!("other");
    refused_and_nothing_written(fhir_json(Method::PUT, "/fhir/Patient/this-one", &p), 400).await;
}

#[tokio::test]
async fn unknown_resource_type_is_404() {
    let api = Api::new();
    api.get("/fhir/Unicorn/1").await.assert_outcome(404);
    api.get("/fhir/Unicorn?name=x").await.assert_outcome(404);
    let body = json!({"resourceType": "Unicorn"});
    refused_and_nothing_written(fhir_json(Method::POST, "/fhir/Unicorn", &body), 404).await;
}

#[tokio::test]
async fn unsupported_method_is_405_with_allow() {
    let request = req(Method::OPTIONS, "/fhir/Patient/1")
        .body(Body::empty())
        .unwrap();
    let reply = refused_and_nothing_written(request, 405).await;
    let allow = reply.header("allow").unwrap();
    assert!(
        allow.contains("GET") && allow.contains("PUT") && allow.contains("PATCH"),
        "{allow}"
    );
}

#[tokio::test]
async fn invalid_resource_is_422() {
    let mut p = patient("X", "9434765005");
    p["birthDate"] = json!("1970-13-45");
    refused_and_nothing_written(fhir_json(Method::POST, "/fhir/Patient", &p), 422).await;
}

#[tokio::test]
async fn nhs_number_with_a_bad_check_digit_is_422_naming_it() {
    // 9434765919 is valid; changing its check digit must be refused.
    let p = patient("X", "9434765918");
    let reply =
        refused_and_nothing_written(fhir_json(Method::POST, "/fhir/Patient", &p), 422).await;
    let issue = &reply.json()["issue"][0];
    assert_eq!(issue["expression"][0], "Patient.identifier[0].value");
    let text = issue["diagnostics"].as_str().unwrap();
    assert!(
        text.contains("not a valid NHS number") && text.contains("check digit"),
        "{text}"
    );
}

#[tokio::test]
async fn json_that_is_not_a_resource_is_400() {
    refused_and_nothing_written(post_patient_bytes("[1,2,3]", "application/json"), 400).await;
    refused_and_nothing_written(post_patient_bytes("{\"name\":[]}", "application/json"), 400).await;
}

#[tokio::test]
async fn transaction_that_is_not_a_bundle_is_400() {
    refused_and_nothing_written(
        fhir_json(Method::POST, "/fhir", &patient("X", "9434765005")),
        400,
    )
    .await;
}

#[tokio::test]
async fn stale_if_match_is_412_and_bad_if_match_is_400() {
    let api = Api::new();
    let id = api.create(&patient("X", "9434765919")).await;
    let mut p = patient("Y", "9434765919");
    p["id"] = json!(id);
    for (etag, status) in [("W/\"5\"", 412), ("banana", 400)] {
        let request = req(Method::PUT, &format!("/fhir/Patient/{id}"))
            .header("content-type", "application/fhir+json")
            .header("if-match", etag)
            .body(Body::from(p.to_string()))
            .unwrap();
        api.send(request).await.assert_outcome(status);
    }
    assert_eq!(api.versions_of("Patient").await, 1);
}

#[tokio::test]
async fn unknown_url_is_404() {
    let api = Api::new();
    api.get("/nothing-here").await.assert_outcome(404);
    api.get("/fhir/Patient/1/$unknown-op")
        .await
        .assert_outcome(404);
}

#[tokio::test]
async fn invalid_utf8_in_the_query_is_400() {
    Api::new()
        .get("/fhir/Patient?name=%FF%FE")
        .await
        .assert_outcome(400);
}

/// Two readers could disagree about which of two values counts, so a body naming a key
/// twice is refused whole, wherever the key is.
#[tokio::test]
async fn a_duplicate_key_is_400_and_stores_nothing() {
    let top = r#"{"resourceType":"Patient","gender":"male","gender":"female"}"#;
    let reply =
        refused_and_nothing_written(post_patient_bytes(top, "application/fhir+json"), 400).await;
    assert!(reply.text().contains("gender"), "{}", reply.text());

    let nested = r#"{"resourceType":"Patient","name":[{"family":"Smith","family":"Jones"}]}"#;
    refused_and_nothing_written(post_patient_bytes(nested, "application/fhir+json"), 400).await;

    let bundle = r#"{"resourceType":"Bundle","type":"transaction","entry":[{
        "resource":{"resourceType":"Patient","gender":"male","gender":"female"},
        "request":{"method":"POST","url":"Patient"}}]}"#;
    let request = req(Method::POST, "/fhir")
        .header("content-type", "application/fhir+json")
        .body(Body::from(bundle))
        .unwrap();
    refused_and_nothing_written(request, 400).await;
}
