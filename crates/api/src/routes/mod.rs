//! The FHIR REST interactions, by level: the whole system, a resource type, one resource.

pub mod instance;
pub mod patch;
pub mod system;
pub mod type_level;

use crate::context::Fhir;
use crate::error::ApiError;
use crate::respond::{empty, json_response, read_response, write_response};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::header::{IF_MATCH, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use fhir::Definitions;
use fhir::Issue;
use fhir::validate::is_valid_id;
use serde_json::Value;
use std::collections::HashMap;
use store::{FhirResult, Repository, ResourceVersion, WriteKind, WriteOutcome};

/// Runs a store call on the blocking pool (the store API is synchronous). A panic in the
/// store becomes a 500 without details.
pub async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&Repository) -> FhirResult<T> + Send + 'static,
    T: Send + 'static,
{
    let repo = state.repo.clone();
    match tokio::task::spawn_blocking(move || f(&repo)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => {
            if e.is_panic() {
                tracing::error!("the store panicked while handling a request");
            }
            Err(ApiError::internal())
        }
    }
}

/// The resource type, id and version named in the URL path, checked.
pub struct Target {
    pub rtype: String,
    pub id: String,
    pub vid: String,
}

impl FromRequestParts<AppState> for Target {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(mut segments) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("the URL path is not valid"))?;
        let rtype = segments.remove("type").unwrap_or_default();
        if let Some(name) = rtype.strip_prefix('$') {
            return Err(crate::operations::unknown_operation(name));
        }
        if !Definitions::get().is_resource_type(&rtype) {
            return Err(ApiError::not_found(format!(
                "'{rtype}' is not a FHIR R4 resource type"
            )));
        }
        let id = segments.remove("id").unwrap_or_default();
        if let Some(name) = id.strip_prefix('$') {
            return Err(crate::operations::unknown_operation(name));
        }
        let vid = segments.remove("vid").unwrap_or_default();
        for (what, value) in [("id", &id), ("version id", &vid)] {
            if !value.is_empty() && !is_valid_id(value) {
                return Err(ApiError::bad_request(format!(
                    "the {what} in the URL is not a valid FHIR id"
                )));
            }
        }
        Ok(Target { rtype, id, vid })
    }
}

/// A body's resourceType must be the type in the URL.
pub fn check_resource_type(body: &Value, rtype: &str) -> Result<(), ApiError> {
    let given = body
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    if given == rtype {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "the body is a {given} but the URL is for {rtype}"
        )))
    }
}

/// `If-Match: W/"3"` (quotes and `W/` optional) -> 3.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request("If-Match must be a version ETag such as W/\"3\"");
    let text = value.to_str().map_err(|_| bad())?.trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse::<i64>().map(Some).map_err(|_| bad())
}

/// Does the client already hold this version (`If-None-Match`)?
fn client_has(headers: &HeaderMap, version: &ResourceVersion) -> bool {
    let Some(value) = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let etag = version.etag();
    let strong = format!("\"{}\"", version.version);
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == etag || tag == strong)
}

/// A read or vread: 304 when the client's copy is current.
pub fn read_or_not_modified(fhir: &Fhir, version: &ResourceVersion) -> Response {
    if client_has(&fhir.headers, version) {
        let mut response = empty(StatusCode::NOT_MODIFIED);
        crate::respond::version_headers(response.headers_mut(), version, None);
        return response;
    }
    read_response(fhir, version)
}

/// 201 for a new resource, 200 for an update or a conditional create that found one.
pub fn outcome_response(fhir: &Fhir, outcome: &WriteOutcome) -> Response {
    let (status, what) = match outcome.kind {
        WriteKind::Created => (StatusCode::CREATED, "Created"),
        WriteKind::Updated => (StatusCode::OK, "Updated"),
        WriteKind::Unchanged => (StatusCode::OK, "Found existing"),
    };
    write_response(fhir, status, &outcome.resource, what)
}

/// A deletion: 204 with no body, or 200 with an OperationOutcome if the client asked
/// for one (`Prefer: return=OperationOutcome`).
pub fn deleted_response(
    fhir: &Fhir,
    message: String,
    version: Option<&ResourceVersion>,
) -> Response {
    let mut response = if fhir.prefer.return_ == crate::prefer::Return::OperationOutcome {
        let outcome = fhir::operation_outcome(&[Issue::information("informational", message)]);
        json_response(StatusCode::OK, fhir.output, &outcome)
    } else {
        empty(StatusCode::NO_CONTENT)
    };
    if let Some(etag) = version.and_then(|v| v.etag().parse().ok()) {
        response
            .headers_mut()
            .insert(axum::http::header::ETAG, etag);
    }
    response
}

/// Conditional interactions need criteria: without them they would match everything.
/// A history Bundle of one resource, a type, or the system (`rtype`/`id` None).
pub async fn history_response(
    state: &AppState,
    fhir: &Fhir,
    rtype: Option<String>,
    id: Option<String>,
) -> Result<Response, ApiError> {
    let request = store::HistoryRequest {
        rtype,
        id,
        params: fhir.query.params.clone(),
        base_url: fhir.base.clone(),
    };
    let ctx = fhir.ctx.clone();
    let bundle = blocking(state, move |repo| repo.history(&ctx, &request)).await?;
    Ok(crate::respond::json_response(
        axum::http::StatusCode::OK,
        fhir.output,
        &bundle,
    ))
}

pub fn require_criteria(fhir: &Fhir, interaction: &str) -> Result<String, ApiError> {
    if fhir.query.criteria.is_empty() {
        Err(ApiError::bad_request(format!(
            "a conditional {interaction} needs search criteria in the URL"
        )))
    } else {
        Ok(fhir.query.criteria.clone())
    }
}
