//! The FHIR REST interactions over HTTP: statuses, version headers and Prefer.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

#[tokio::test]
async fn create_returns_201_with_version_headers_and_location() {
    let api = Api::new();
    let reply = api
        .post("/fhir/Patient", &patient("Smith", "9434765919"))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let body = reply.json();
    let id = body["id"].as_str().unwrap();
    assert_eq!(body["meta"]["versionId"], "1");
    assert_eq!(body["name"][0]["family"], "Smith");
    assert_eq!(reply.header("etag"), Some("W/\"1\""));
    assert_eq!(
        reply.header("location"),
        Some(format!("{BASE}/Patient/{id}/_history/1").as_str())
    );
    let last_modified = reply.header("last-modified").unwrap();
    assert!(last_modified.ends_with(" GMT"), "{last_modified}");
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/fhir+json")
    );
}

#[tokio::test]
async fn read_returns_the_resource_with_etag_and_last_modified() {
    let api = Api::new();
    let id = api.create(&patient("Jones", "9434765919")).await;
    let reply = api.get(&format!("/fhir/Patient/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["name"][0]["family"], "Jones");
    assert_eq!(reply.header("etag"), Some("W/\"1\""));
    assert!(reply.header("last-modified").is_some());

    // A client holding the current version is told so without the body.
    let cached = api
        .send(
            req(Method::GET, &format!("/fhir/Patient/{id}"))
                .header("if-none-match", "W/\"1\"")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.body.is_empty());
}

#[tokio::test]
async fn base_url_follows_the_host_header() {
    let api = Api::new();
    let request = req(Method::POST, "/fhir/Patient")
        .header("host", "gp.example:8443")
        .header("content-type", "application/fhir+json")
        .body(Body::from(patient("Host", "9434765919").to_string()))
        .unwrap();
    let reply = api.send(request).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(
        reply
            .header("location")
            .unwrap()
            .starts_with("http://gp.example:8443/fhir/Patient/")
    );
}

#[tokio::test]
async fn read_of_unknown_id_is_404() {
    let api = Api::new();
    api.get("/fhir/Patient/does-not-exist")
        .await
        .assert_outcome(404);
}

#[tokio::test]
async fn update_makes_version_2_and_vread_keeps_version_1() {
    let api = Api::new();
    let id = api.create(&patient("Brown", "9434765919")).await;
    let mut changed = patient("Browne", "9434765919");
    changed["id"] = json!(id);
    let reply = api.put(&format!("/fhir/Patient/{id}"), &changed).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
    assert_eq!(
        reply.header("location"),
        Some(format!("{BASE}/Patient/{id}/_history/2").as_str())
    );
    assert_eq!(reply.json()["name"][0]["family"], "Browne");

    let v1 = api.get(&format!("/fhir/Patient/{id}/_history/1")).await;
    assert_eq!(v1.status, StatusCode::OK);
    assert_eq!(v1.json()["name"][0]["family"], "Brown");
    assert_eq!(v1.header("etag"), Some("W/\"1\""));

    let history = api.get(&format!("/fhir/Patient/{id}/_history")).await;
    assert_eq!(history.status, StatusCode::OK);
    let history = history.json();
    assert_eq!(history["type"], "history");
    assert_eq!(history["entry"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn update_of_a_new_id_creates_it_with_201() {
    let api = Api::new();
    let mut p = patient("New", "9434765919");
    p["id"] = json!("chosen-id-1");
    let reply = api.put("/fhir/Patient/chosen-id-1", &p).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(
        reply.header("location"),
        Some(format!("{BASE}/Patient/chosen-id-1/_history/1").as_str())
    );
    assert_eq!(
        api.get("/fhir/Patient/chosen-id-1").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn if_match_with_a_stale_version_is_412_and_writes_nothing() {
    let api = Api::new();
    let id = api.create(&patient("Green", "9434765919")).await;
    let mut changed = patient("Greene", "9434765919");
    changed["id"] = json!(id);
    let uri = format!("/fhir/Patient/{id}");
    let with_if_match = |etag: &str| {
        req(Method::PUT, &uri)
            .header("content-type", "application/fhir+json")
            .header("if-match", etag)
            .body(Body::from(changed.to_string()))
            .unwrap()
    };
    api.send(with_if_match("W/\"7\"")).await.assert_outcome(412);
    assert_eq!(api.get(&uri).await.json()["name"][0]["family"], "Green");

    let reply = api.send(with_if_match("W/\"1\"")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
}

#[tokio::test]
async fn if_none_exist_returns_the_existing_resource_with_200() {
    let api = Api::new();
    let id = api.create(&patient("White", "9434765919")).await;
    let request = req(Method::POST, "/fhir/Patient")
        .header("content-type", "application/fhir+json")
        .header(
            "if-none-exist",
            "identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919",
        )
        .body(Body::from(patient("White", "9434765919").to_string()))
        .unwrap();
    let reply = api.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["id"], id.as_str());
    assert_eq!(api.versions_of("Patient").await, 1);

    // No match: created.
    let request = req(Method::POST, "/fhir/Patient")
        .header("content-type", "application/fhir+json")
        .header(
            "if-none-exist",
            "identifier=https://fhir.nhs.uk/Id/nhs-number|9434765005",
        )
        .body(Body::from(patient("Black", "9434765005").to_string()))
        .unwrap();
    assert_eq!(api.send(request).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn prefer_return_minimal_and_operation_outcome() {
    let api = Api::new();
    let send = |prefer: &'static str| {
        req(Method::POST, "/fhir/Patient")
            .header("content-type", "application/fhir+json")
            .header("prefer", prefer)
            .body(Body::from(patient("Pref", "9434765919").to_string()))
            .unwrap()
    };
    let minimal = api.send(send("return=minimal")).await;
    assert_eq!(minimal.status, StatusCode::CREATED);
    assert!(minimal.body.is_empty());
    assert!(minimal.header("location").is_some() && minimal.header("etag").is_some());

    let outcome = api.send(send("return=OperationOutcome")).await;
    assert_eq!(outcome.status, StatusCode::CREATED);
    assert_eq!(outcome.json()["resourceType"], "OperationOutcome");
    assert!(outcome.header("location").is_some());

    let representation = api.send(send("return=representation")).await;
    assert_eq!(representation.json()["resourceType"], "Patient");
}

#[tokio::test]
async fn delete_is_204_then_read_is_410_and_history_remains() {
    let api = Api::new();
    let id = api.create(&patient("Gone", "9434765919")).await;
    let reply = api.delete(&format!("/fhir/Patient/{id}")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_empty());
    api.get(&format!("/fhir/Patient/{id}"))
        .await
        .assert_outcome(410);
    assert_eq!(
        api.get(&format!("/fhir/Patient/{id}/_history/1"))
            .await
            .status,
        StatusCode::OK
    );
    // Deleting again still succeeds.
    assert_eq!(
        api.delete(&format!("/fhir/Patient/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn conditional_update_and_delete_by_identifier() {
    let api = Api::new();
    let criteria = "identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C9434765919";
    // No match: created.
    let created = api
        .put(
            &format!("/fhir/Patient?{criteria}"),
            &patient("Cond", "9434765919"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_string();
    // One match: updated.
    let updated = api
        .put(
            &format!("/fhir/Patient?{criteria}"),
            &patient("Conde", "9434765919"),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    assert_eq!(updated.json()["id"], id.as_str());
    assert_eq!(updated.header("etag"), Some("W/\"2\""));

    let deleted = api.delete(&format!("/fhir/Patient?{criteria}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());
    api.get(&format!("/fhir/Patient/{id}"))
        .await
        .assert_outcome(410);

    // Without criteria a conditional delete would match everything: refused.
    api.delete("/fhir/Patient").await.assert_outcome(400);
}

#[tokio::test]
async fn request_id_is_echoed_or_assigned() {
    let api = Api::new();
    let given = api
        .send(
            req(Method::GET, "/fhir/metadata")
                .header("x-request-id", "abc-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(given.header("x-request-id"), Some("abc-123"));
    let unsafe_id = api
        .send(
            req(Method::GET, "/fhir/metadata")
                .header("x-request-id", "9434765919 Smith <script>")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let assigned = unsafe_id.header("x-request-id").unwrap();
    assert!(!assigned.contains("Smith") && !assigned.is_empty());
}

#[tokio::test]
async fn plain_json_is_served_to_clients_asking_for_it() {
    let api = Api::new();
    let id = api.create(&patient("Plain", "9434765919")).await;
    let request = req(Method::GET, &format!("/fhir/Patient/{id}?_pretty=true"))
        .header("accept", "application/json")
        .body(Body::empty())
        .unwrap();
    let reply = api.send(request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        reply.text().contains("\n  \"resourceType\": \"Patient\""),
        "{}",
        reply.text()
    );
    // `_format` is the server's, not a search parameter.
    let search = api.get("/fhir/Patient?family=plain&_format=json").await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.text());
    assert_eq!(entry_ids(&search.json(), "Patient"), vec![id]);
}

#[tokio::test]
async fn update_with_return_minimal_has_headers_only() {
    let api = Api::new();
    let id = api.create(&patient("Min", "9434765919")).await;
    let mut changed = patient("Minimal", "9434765919");
    changed["id"] = json!(id);
    let request = req(Method::PUT, &format!("/fhir/Patient/{id}"))
        .header("content-type", "application/fhir+json")
        .header("prefer", "return=minimal")
        .body(Body::from(changed.to_string()))
        .unwrap();
    let reply = api.send(request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.is_empty());
    assert_eq!(reply.header("etag"), Some("W/\"2\""));
    assert_eq!(
        reply.header("location"),
        Some(format!("{BASE}/Patient/{id}/_history/2").as_str())
    );
}

#[tokio::test]
async fn if_none_exist_matching_several_is_412_and_writes_nothing() {
    let api = Api::new();
    api.create(&patient("Twin", "9434765919")).await;
    api.create(&patient("Twin", "9434765005")).await;
    let request = req(Method::POST, "/fhir/Patient")
        .header("content-type", "application/fhir+json")
        .header("if-none-exist", "family=Twin")
        .body(Body::from(patient("Twin", "9434765013").to_string()))
        .unwrap();
    api.send(request).await.assert_outcome(412);
    assert_eq!(api.versions_of("Patient").await, 2);
}
