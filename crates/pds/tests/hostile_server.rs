//! The adapter against servers that are not the simulator: one that leaks a sensitive
//! patient's address, one that fails in every way, one that is slow, one that is gone.
//! Also what the adapter sends on the wire.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use common::{adapter, fixture, serve};
use pds::{HttpPds, Pds, PdsError, SearchQuery};
use serde_json::{Value, json};

/// The sensitive example patient, with everything PDS must never send added back.
fn leaky_sensitive_patient() -> Value {
    let mut p = fixture("Sensitive_Patient.json");
    p["address"] = json!([{"use": "home", "line": ["1 Secret Lane"], "postalCode": "LS1 6AE"}]);
    p["telecom"] = json!([{"system": "phone", "value": "01632960587"}]);
    p["generalPractitioner"] = json!([{"identifier": {"value": "Y12345"}}]);
    p
}

fn fhir(status: StatusCode, body: Value) -> axum::response::Response {
    (
        status,
        [
            ("content-type", "application/fhir+json"),
            ("etag", "W/\"2\""),
        ],
        body.to_string(),
    )
        .into_response()
}

fn leaky_server() -> String {
    let app = Router::new()
        .route(
            "/Patient/{id}",
            get(|| async { fhir(StatusCode::OK, leaky_sensitive_patient()) })
                .patch(|| async { fhir(StatusCode::OK, leaky_sensitive_patient()) }),
        )
        .route(
            "/Patient",
            get(|| async {
                let bundle = json!({"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [
                    {"fullUrl": "x", "search": {"score": 1}, "resource": leaky_sensitive_patient()}]});
                fhir(StatusCode::OK, bundle)
            }),
        );
    format!("http://{}", serve(app))
}

fn assert_no_contact_details(patient: &Value) {
    for hidden in ["address", "telecom", "generalPractitioner"] {
        assert!(patient.get(hidden).is_none(), "{hidden} was passed on");
    }
    assert!(!patient.to_string().contains("Secret Lane"));
    assert_eq!(
        patient["name"][0]["family"], "Smythe",
        "the rest of the record is kept"
    );
}

#[test]
fn a_sensitive_patient_never_yields_contact_details_even_if_sent() {
    let pds = adapter(&leaky_server());
    assert_no_contact_details(&pds.retrieve("9000000025").unwrap().resource);
    let q = SearchQuery {
        family: Some("Smythe".into()),
        birth_date: Some("2010-10-22".into()),
        ..Default::default()
    };
    let found = pds.search(&q).unwrap();
    assert_eq!(found.len(), 1);
    assert_no_contact_details(&found[0].resource);
    let updated = pds.update("9000000025", "W/\"2\"", &json!([])).unwrap();
    assert_no_contact_details(&updated.resource);
}

fn outcome(code: &str) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "value",
        "details": {"coding": [{"system": "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode",
            "version": "1", "code": code, "display": "Shown to the user"}]}}]})
}

/// Each NHS number gets a different failure.
async fn failing(Path(id): Path<String>) -> axum::response::Response {
    match id.as_str() {
        "9000000009" => fhir(
            StatusCode::INTERNAL_SERVER_ERROR,
            outcome("FAILURE_TO_PROCESS_MESSAGE"),
        ),
        "9000000017" => fhir(StatusCode::NOT_FOUND, outcome("INVALIDATED_RESOURCE")),
        "9000000025" => fhir(StatusCode::CONFLICT, outcome("RESOURCE_VERSION_MISMATCH")),
        "9000000033" => fhir(StatusCode::BAD_REQUEST, outcome("INVALID_VALUE")),
        "9000000041" => (StatusCode::OK, "<html>maintenance</html>").into_response(),
        "9000000068" => fhir(StatusCode::OK, json!({"resourceType": "OperationOutcome"})),
        _ => (StatusCode::BAD_GATEWAY, "").into_response(),
    }
}

#[test]
fn errors_map_to_what_the_user_can_do_about_them() {
    let app = Router::new().route("/Patient/{id}", get(failing));
    let pds = adapter(&format!("http://{}", serve(app)));
    assert!(matches!(
        pds.retrieve("9000000009"),
        Err(PdsError::Unavailable(_))
    ));
    assert_eq!(pds.retrieve("9000000017"), Err(PdsError::NotFound));
    assert_eq!(pds.retrieve("9000000025"), Err(PdsError::VersionConflict));
    assert_eq!(
        pds.retrieve("9000000033"),
        Err(PdsError::Invalid("Shown to the user".into()))
    );
    assert!(matches!(
        pds.retrieve("9000000041"),
        Err(PdsError::Unavailable(_))
    ));
    assert!(matches!(
        pds.retrieve("9000000068"),
        Err(PdsError::Unavailable(_))
    ));
    assert!(matches!(
        pds.retrieve("9991234500"),
        Err(PdsError::Unavailable(_))
    ));
}

#[test]
fn a_slow_pds_times_out() {
    let app = Router::new().route(
        "/Patient/{id}",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            fhir(StatusCode::OK, fixture("Patient.json"))
        }),
    );
    let base = format!("http://{}", serve(app));
    let pds = HttpPds::with_timeouts(
        base,
        || Ok("t".to_string()),
        Duration::from_millis(200),
        Duration::from_millis(300),
    );
    let started = Instant::now();
    assert!(
        matches!(pds.retrieve("9000000009"), Err(PdsError::Unavailable(m)) if m.contains("in time"))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn an_unreachable_pds_is_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let pds = adapter(&format!("http://{closed}"));
    assert!(matches!(
        pds.retrieve("9000000009"),
        Err(PdsError::Unavailable(_))
    ));
}

#[test]
fn a_failing_token_provider_stops_the_request() {
    let pds = HttpPds::new("http://127.0.0.1:9", || {
        Err(PdsError::Unavailable("no token".into()))
    });
    assert_eq!(
        pds.retrieve("9000000009"),
        Err(PdsError::Unavailable("no token".into()))
    );
}

type Seen = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

fn recording_server() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = |seen: Seen| {
        move |uri: Uri, headers: HeaderMap, body: Bytes| async move {
            seen.lock().unwrap().push((uri.to_string(), headers, body));
            if uri.path() == "/Patient" {
                fhir(
                    StatusCode::OK,
                    json!({"resourceType": "Bundle", "type": "searchset", "total": 0}),
                )
            } else {
                fhir(StatusCode::OK, fixture("Patient.json"))
            }
        }
    };
    let app = Router::new()
        .route("/Patient", get(record(seen.clone())))
        .route(
            "/Patient/{id}",
            get(record(seen.clone())).patch(record(seen.clone())),
        );
    (format!("http://{}", serve(app)), seen)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[test]
fn requests_carry_the_headers_pds_requires() {
    let (base, seen) = recording_server();
    let pds = adapter(&base).with_correlation_id("consultation-42");
    let q = SearchQuery {
        family: Some("O'Brien".into()),
        birth_date: Some("2010-10-22".into()),
        fuzzy: true,
        max_results: Some(5),
        ..Default::default()
    };
    pds.search(&q).unwrap();
    pds.retrieve("9000000009").unwrap();
    pds.update(
        "9000000009",
        "2",
        &json!([{"op": "replace", "path": "/gender", "value": "male"}]),
    )
    .unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    let (search_uri, _, _) = &seen[0];
    for part in [
        "family=O%27Brien",
        "birthdate=eq2010-10-22",
        "_fuzzy-match=true",
        "_max-results=5",
    ] {
        assert!(search_uri.contains(part), "{search_uri} lacks {part}");
    }
    let mut request_ids = Vec::new();
    for (_, headers, _) in seen.iter() {
        let id = header(headers, "x-request-id");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "X-Request-ID {id:?}");
        request_ids.push(id.to_string());
        assert_eq!(header(headers, "x-correlation-id"), "consultation-42");
        assert_eq!(header(headers, "authorization"), "Bearer any-token");
        assert_eq!(header(headers, "accept"), "application/fhir+json");
    }
    request_ids.dedup();
    assert_eq!(request_ids.len(), 3, "a fresh X-Request-ID per request");
    let (_, patch_headers, patch_body) = &seen[2];
    assert_eq!(
        header(patch_headers, "content-type"),
        "application/json-patch+json"
    );
    assert_eq!(header(patch_headers, "if-match"), "W/\"2\"");
    let body: Value = serde_json::from_slice(patch_body).unwrap();
    assert_eq!(
        body,
        json!({"patches": [{"op": "replace", "path": "/gender", "value": "male"}]})
    );
}
