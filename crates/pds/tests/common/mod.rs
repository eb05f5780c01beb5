//! Shared by the PDS tests: serving a router on 127.0.0.1 in the background, the copied
//! real PDS examples, and a few hand-made patients.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use pds::HttpPds;
use pds::simulator::{self, Simulator};
use serde_json::{Value, json};

/// Where the server nests the simulator; the tests use the same.
pub const PREFIX: &str = "/simulators/pds/personal-demographics/FHIR/R4";

/// Serves `app` on a free loopback port in a background runtime; returns its address.
pub fn serve(app: axum::Router) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// The simulator serving `sim`, and its FHIR base URL.
pub fn serve_simulator(sim: Simulator) -> String {
    let addr = serve(axum::Router::new().nest(PREFIX, simulator::router(sim)));
    format!("http://{addr}{PREFIX}")
}

pub fn adapter(base: &str) -> HttpPds {
    HttpPds::new(base, || Ok("any-token".to_string()))
}

pub fn fixture(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A plain unrestricted PDS patient.
pub fn person(
    nhs: &str,
    given: &str,
    family: &str,
    gender: &str,
    born: &str,
    postcode: &str,
) -> Value {
    json!({
        "resourceType": "Patient",
        "id": nhs,
        "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs }],
        "meta": { "versionId": "1", "security": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
            "code": "U", "display": "unrestricted" }] },
        "name": [{ "use": "usual", "given": [given], "family": family }],
        "gender": gender,
        "birthDate": born,
        "address": [{ "use": "home", "line": ["1 High Street", "Leeds"], "postalCode": postcode }],
    })
}

/// The real examples (Jane Smith 9000000009, the sensitive Janet Smythe 9000000025)
/// and a John Smith born the same day as both.
pub fn example_patients() -> Vec<Value> {
    vec![
        fixture("Patient.json"),
        fixture("Sensitive_Patient.json"),
        person(
            "9000000017",
            "John",
            "Smith",
            "male",
            "2010-10-22",
            "LS2 7EE",
        ),
        person(
            "9000000033",
            "Mary",
            "Jones",
            "female",
            "1950-03-01",
            "M1 1AA",
        ),
    ]
}

/// Top-level keys of a JSON object, in order.
pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}
