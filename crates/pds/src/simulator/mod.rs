//! A local PDS: the PDS FHIR API's search, retrieve and update over HTTP, on synthetic
//! (or given) patients, behaving as the real API and its sandbox do.
//!
//! Nest [`router`] at the path of the real base (`/personal-demographics/FHIR/R4`) under
//! any prefix; it serves `GET /Patient`, `GET /Patient/{nhs}` and `PATCH /Patient/{nhs}`.

mod held;
mod patch;
mod people;
mod search;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

pub use people::synthetic_people;

use crate::sensitive;
use crate::spine::{self, SpineCode};

/// Where the real PDS lives; search results' `fullUrl`s point there, as the sandbox's do.
const DEFAULT_BASE_URL: &str = "https://api.service.nhs.uk/personal-demographics/FHIR/R4";

/// The simulator's patients, shared by every clone (and so by the router and a test).
#[derive(Clone)]
pub struct Simulator {
    patients: Arc<Mutex<held::Held>>,
    base_url: Arc<str>,
}

impl Simulator {
    /// A PDS holding `patients` (PDS Patient resources). Each is keyed by its NHS number
    /// (its `https://fhir.nhs.uk/Id/nhs-number` identifier, else its `id`); a resource
    /// with neither is ignored. Sensitive patients are held without their contact details.
    pub fn new(patients: Vec<Value>) -> Simulator {
        let mut held = held::Held::default();
        for mut patient in patients {
            let Some(nhs) = crate::nhs_number_of(&patient) else {
                continue;
            };
            sensitive::redact(&mut patient);
            patient["id"] = json!(nhs);
            if patient.pointer("/meta/versionId").is_none() {
                let meta = patient
                    .as_object_mut()
                    .and_then(|p| p.entry("meta").or_insert_with(|| json!({})).as_object_mut());
                meta.into_iter().for_each(|m| {
                    m.insert("versionId".into(), json!("1"));
                });
            }
            held.insert(nhs, patient);
        }
        Simulator {
            patients: Arc::new(Mutex::new(held)),
            base_url: Arc::from(DEFAULT_BASE_URL),
        }
    }

    /// Search results' `fullUrl`s start with `base_url` instead of the real PDS's.
    pub fn with_base_url(self, base_url: &str) -> Simulator {
        Simulator {
            base_url: Arc::from(base_url.trim_end_matches('/')),
            ..self
        }
    }

    /// The patient as currently held, if any.
    pub fn patient(&self, nhs_number: &str) -> Option<Value> {
        self.lock().get(nhs_number).cloned()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, held::Held> {
        // A panic mid-request cannot leave a half-applied patch: patches replace whole values.
        self.patients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The simulator's routes, relative to the FHIR base it is nested at.
pub fn router(sim: Simulator) -> Router {
    Router::new()
        .route("/Patient", get(search))
        .route("/Patient/{nhs_number}", get(retrieve).patch(update))
        .with_state(sim)
}

/// A request PDS refuses, answered with an OperationOutcome.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    code: SpineCode,
    diagnostics: Option<String>,
}

impl Refusal {
    fn new(status: StatusCode, code: SpineCode, diagnostics: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            diagnostics: Some(diagnostics.into()),
        }
    }
    pub(crate) fn bad_request(code: SpineCode, diagnostics: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, code, diagnostics)
    }
    fn bare(status: StatusCode, code: SpineCode) -> Refusal {
        Refusal {
            status,
            code,
            diagnostics: None,
        }
    }
}

/// A FHIR JSON response echoing the caller's request and correlation ids, as PDS does.
fn reply(request: &HeaderMap, status: StatusCode, body: &Value, etag: Option<String>) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    for echoed in ["x-request-id", "x-correlation-id"] {
        if let Some(v) = request.get(echoed) {
            headers.insert(echoed, v.clone());
        }
    }
    if let Some(v) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        headers.insert(header::ETAG, v);
    }
    response
}

fn refuse(request: &HeaderMap, refusal: Refusal) -> Response {
    let body = spine::outcome(refusal.code, refusal.diagnostics.as_deref());
    reply(request, refusal.status, &body, None)
}

fn etag_of(patient: &Value) -> Option<String> {
    let version = patient.pointer("/meta/versionId")?.as_str()?;
    Some(format!("W/\"{version}\""))
}

/// Checks what every PDS request needs: a bearer token and a UUID `X-Request-ID`.
fn check_headers(headers: &HeaderMap) -> Result<(), Refusal> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| !token.trim().is_empty());
    if !bearer {
        let denied = SpineCode {
            code: "ACCESS_DENIED",
            issue_type: "forbidden",
            display: "Access Denied - Unauthorised",
        };
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            denied,
            "Missing or invalid OAuth 2.0 bearer token in request",
        ));
    }
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
    match request_id {
        None => Err(Refusal::bad_request(
            spine::MISSING_VALUE,
            "Invalid request with error - X-Request-ID header must be supplied to access this resource",
        )),
        Some(id) if uuid::Uuid::parse_str(id).is_err() => Err(Refusal::bad_request(
            spine::INVALID_VALUE,
            format!("Invalid value - '{id}' in header 'X-Request-ID'"),
        )),
        Some(_) => Ok(()),
    }
}

/// The held patient with this NHS number, or the refusal PDS gives.
fn find(sim: &Simulator, nhs_number: &str) -> Result<Value, Refusal> {
    if !fhir::nhs_number::is_valid(nhs_number) {
        return Err(Refusal::bare(
            StatusCode::BAD_REQUEST,
            spine::INVALID_RESOURCE_ID,
        ));
    }
    sim.patient(nhs_number)
        .ok_or_else(|| Refusal::bare(StatusCode::NOT_FOUND, spine::RESOURCE_NOT_FOUND))
}

async fn search(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    match search_bundle(&sim, &headers, &params) {
        Ok(bundle) => reply(&headers, StatusCode::OK, &bundle, None),
        Err(refusal) => refuse(&headers, refusal),
    }
}

fn search_bundle(
    sim: &Simulator,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<Value, Refusal> {
    check_headers(headers)?;
    let criteria = search::Criteria::parse(params)?;
    let patients = sim.lock();
    let mut matches: Vec<(f64, &Value)> = patients
        .born_within(criteria.birth_date_range())
        .filter_map(|p| Some((criteria.score(p)?, p)))
        .collect();
    if matches.len() > criteria.max_results {
        return Err(Refusal::bare(
            StatusCode::BAD_REQUEST,
            spine::TOO_MANY_MATCHES,
        ));
    }
    // Best first; equal scores in NHS number order, so results are stable.
    matches.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1["id"].as_str().cmp(&b.1["id"].as_str()))
    });
    let timestamp = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": timestamp,
        "total": matches.len(),
    });
    if !matches.is_empty() {
        let entries: Vec<Value> = matches
            .into_iter()
            .map(|(score, patient)| {
                let mut resource = patient.clone();
                sensitive::redact(&mut resource);
                let id = resource["id"].as_str().unwrap_or_default().to_string();
                json!({
                    "fullUrl": format!("{}/Patient/{id}", sim.base_url),
                    "search": { "score": score },
                    "resource": resource,
                })
            })
            .collect();
        bundle["entry"] = json!(entries);
    }
    Ok(bundle)
}

async fn retrieve(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(nhs_number): Path<String>,
) -> Response {
    let found = check_headers(&headers).and_then(|()| find(&sim, &nhs_number));
    match found {
        Ok(mut patient) => {
            sensitive::redact(&mut patient);
            let etag = etag_of(&patient);
            reply(&headers, StatusCode::OK, &patient, etag)
        }
        Err(refusal) => refuse(&headers, refusal),
    }
}

async fn update(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(nhs_number): Path<String>,
    body: Bytes,
) -> Response {
    match apply_update(&sim, &headers, &nhs_number, &body) {
        Ok(patient) => {
            let etag = etag_of(&patient);
            reply(&headers, StatusCode::OK, &patient, etag)
        }
        Err(refusal) => refuse(&headers, refusal),
    }
}

fn precondition(diagnostics: &str) -> Refusal {
    Refusal::new(
        StatusCode::PRECONDITION_FAILED,
        spine::PRECONDITION_FAILED,
        diagnostics,
    )
}

fn invalid_update(diagnostics: impl Into<String>) -> Refusal {
    Refusal::bad_request(spine::INVALID_UPDATE, diagnostics)
}

fn apply_update(
    sim: &Simulator,
    headers: &HeaderMap,
    nhs_number: &str,
    body: &[u8],
) -> Result<Value, Refusal> {
    check_headers(headers)?;
    let current = find(sim, nhs_number)?;
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    let wanted_version = if_match
        .and_then(|v| v.strip_prefix("W/\""))
        .and_then(|v| v.strip_suffix('"'))
        .ok_or_else(|| {
            precondition("Invalid update with error - If-Match header must be supplied to update this resource")
        })?;
    let held_version = current
        .pointer("/meta/versionId")
        .and_then(Value::as_str)
        .unwrap_or("1");
    if wanted_version != held_version {
        return Err(precondition(
            "Invalid update with error - This resource has changed since you last read. Please re-read and try again with the new version number.",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media != "application/json-patch+json" && media != "application/json" {
        return Err(Refusal::bare(
            StatusCode::BAD_REQUEST,
            spine::UNSUPPORTED_SERVICE,
        ));
    }
    let request: Value = serde_json::from_slice(body)
        .map_err(|_| invalid_update("Invalid patch: the body is not JSON"))?;
    let ops = match &request {
        Value::Array(ops) => ops,
        other => other
            .get("patches")
            .and_then(Value::as_array)
            .unwrap_or(const { &Vec::new() }),
    };
    if ops.is_empty() {
        return Err(invalid_update(
            "Invalid update with error - No patches found",
        ));
    }
    let mut patched = patch::apply(&current, ops).map_err(invalid_update)?;
    check_patched(&patched)?;
    let next_version = held_version.parse::<u64>().unwrap_or(1) + 1;
    patched["meta"]["versionId"] = json!(next_version.to_string());

    // Another update may have landed since `current` was read: the version decides.
    let mut patients = sim.lock();
    let still_current = patients
        .get(nhs_number)
        .and_then(|p| p.pointer("/meta/versionId"))
        .and_then(Value::as_str);
    if still_current != Some(held_version) {
        return Err(precondition(
            "Invalid update with error - This resource has changed since you last read.",
        ));
    }
    patients.insert(nhs_number.to_string(), patched.clone());
    drop(patients);
    sensitive::redact(&mut patched);
    Ok(patched)
}

/// What PDS would reject in the patched record.
fn check_patched(patient: &Value) -> Result<(), Refusal> {
    if let Some(gender) = patient.get("gender")
        && !matches!(
            gender.as_str(),
            Some("male" | "female" | "other" | "unknown")
        )
    {
        return Err(Refusal::bad_request(
            spine::INVALID_VALUE,
            "Invalid value in field 'gender'",
        ));
    }
    if let Some(born) = patient.get("birthDate") {
        let date = born
            .as_str()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let today = chrono::Utc::now().date_naive();
        if date.is_none_or(|d| d > today) {
            return Err(Refusal::bad_request(
                spine::INVALID_VALUE,
                "Invalid value in field 'birthDate'",
            ));
        }
    }
    Ok(())
}
