//! An in-process API over a fresh SQLite store, and helpers to call it.
#![allow(dead_code)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use store::{Repository, RepositoryConfig};
use tower::ServiceExt;

pub const BASE: &str = "http://localhost/fhir";

pub struct Api {
    router: Router,
}

impl Api {
    pub fn new() -> Api {
        let store = store_sqlite::SqliteStore::open_temp().expect("temporary store");
        let repo = Arc::new(Repository::new(
            Arc::new(store),
            RepositoryConfig::default(),
        ));
        Api {
            router: server::router(server::AppState::new(repo)),
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router never fails");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("readable body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(req(Method::GET, uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn delete(&self, uri: &str) -> Reply {
        self.send(req(Method::DELETE, uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post(&self, uri: &str, resource: &Value) -> Reply {
        self.send(fhir_json(Method::POST, uri, resource)).await
    }

    pub async fn put(&self, uri: &str, resource: &Value) -> Reply {
        self.send(fhir_json(Method::PUT, uri, resource)).await
    }

    /// How many versions of `rtype` the store holds: to show a bad request wrote nothing.
    pub async fn versions_of(&self, rtype: &str) -> usize {
        let reply = self
            .get(&format!("/fhir/{rtype}/_history?_count=1000"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let bundle = reply.json();
        match bundle["total"].as_u64() {
            Some(total) => total as usize,
            None => bundle["entry"].as_array().map_or(0, Vec::len),
        }
    }

    /// Creates `resource` and returns its id.
    pub async fn create(&self, resource: &Value) -> String {
        let rtype = resource["resourceType"].as_str().unwrap();
        let reply = self.post(&format!("/fhir/{rtype}"), resource).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        reply.json()["id"]
            .as_str()
            .expect("created resource has an id")
            .to_string()
    }
}

pub fn req(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

pub fn fhir_json(method: Method, uri: &str, resource: &Value) -> Request<Body> {
    req(method, uri)
        .header("content-type", "application/fhir+json")
        .body(Body::from(serde_json::to_vec(resource).unwrap()))
        .unwrap()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts the reply is an OperationOutcome error with `status`.
    pub fn assert_outcome(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert!(
            self.header("content-type")
                .unwrap_or("")
                .starts_with("application/fhir+json")
        );
        let outcome = self.json();
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
        assert!(outcome["issue"][0]["severity"].is_string());
    }
}

/// A valid Patient with an NHS number.
pub fn patient(family: &str, nhs_number: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number }],
        "name": [{ "family": family, "given": ["Alex"] }],
        "gender": "female",
        "birthDate": "1970-03-14"
    })
}

/// Ids of a Bundle's entries whose resource is of `rtype`.
pub fn entry_ids(bundle: &Value, rtype: &str) -> Vec<String> {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["resource"]["resourceType"] == rtype)
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}
