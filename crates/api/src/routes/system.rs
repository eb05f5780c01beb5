//! Interactions on the whole system: `/fhir`, `/fhir/metadata`, `/fhir/_history`.

use super::blocking;
use super::type_level::run_search;
use crate::body::ResourceBody;
use crate::capability::capability_statement;
use crate::context::{Fhir, base_url};
use crate::error::ApiError;
use crate::negotiate::output_format;
use crate::query::QueryParams;
use crate::respond::json_response;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

/// `GET /fhir/metadata` (public: clients read it before they have a token).
pub async fn metadata(State(state): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    let query = QueryParams::from_query(parts.uri.query())?;
    let output = output_format(&parts.headers, query.format.as_deref(), query.pretty)?;
    let base = base_url(&parts, &state);
    Ok(json_response(
        StatusCode::OK,
        output,
        &capability_statement(&base),
    ))
}

/// `GET /fhir?params`: a search across all types, and the `_getpages` links of paged
/// results.
pub async fn search(State(state): State<AppState>, fhir: Fhir) -> Result<Response, ApiError> {
    run_search(state, None, fhir, Vec::new()).await
}

/// `GET /fhir/_history`
pub async fn history(State(state): State<AppState>, fhir: Fhir) -> Result<Response, ApiError> {
    super::history_response(&state, &fhir, None, None).await
}

/// `POST /fhir`: a batch or transaction Bundle.
pub async fn bundle(
    State(state): State<AppState>,
    fhir: Fhir,
    body: ResourceBody,
) -> Result<Response, ApiError> {
    if body.resource_type() != "Bundle" {
        return Err(ApiError::bad_request(
            "POST to the base URL takes a batch or transaction Bundle",
        ));
    }
    let (ctx, base) = (fhir.ctx.clone(), fhir.base.clone());
    let response = blocking(&state, move |repo| repo.bundle(&ctx, body.0, &base)).await?;
    Ok(json_response(StatusCode::OK, fhir.output, &response))
}
