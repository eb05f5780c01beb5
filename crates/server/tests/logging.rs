//! The request log names the route, method, status and request id, and never the query
//! string or body, which can hold NHS numbers and names.

mod common;

use axum::body::Body;
use axum::http::Method;
use common::*;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn log_has_the_route_but_no_patient_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let api = Api::new();
    let request = req(
        Method::GET,
        "/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919&family=Zebedee",
    )
    .header("x-request-id", "log-test-1")
    .header("authorization", "Bearer secret-token")
    .body(Body::empty())
    .unwrap();
    api.send(request).await;
    api.post("/fhir/Patient", &patient("Quixote", "9434765005"))
        .await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("route=\"/fhir/{type}\""), "{log}");
    assert!(
        log.contains("method=GET") && log.contains("method=POST"),
        "{log}"
    );
    assert!(log.contains("log-test-1"), "{log}");
    assert!(log.contains("status=") && log.contains("latency="), "{log}");
    for secret in [
        "9434765919",
        "Zebedee",
        "9434765005",
        "Quixote",
        "secret-token",
        "identifier=",
    ] {
        assert!(!log.contains(secret), "the log contains {secret}: {log}");
    }
}
