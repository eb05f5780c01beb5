//! Interactions on a resource type: `/fhir/{type}...`.

use super::{
    Target, blocking, check_resource_type, deleted_response, if_match, outcome_response,
    require_criteria,
};
use crate::body::{FormParams, ResourceBody};
use crate::context::Fhir;
use crate::error::ApiError;
use crate::respond::json_response;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use store::SearchRequest;

/// `POST /fhir/{type}`, conditional with `If-None-Exist`.
pub async fn create(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
    body: ResourceBody,
) -> Result<Response, ApiError> {
    check_resource_type(&body.0, &t.rtype)?;
    let if_none_exist = if_none_exist(&fhir.headers)?;
    let ctx = fhir.ctx.clone();
    let outcome = blocking(&state, move |repo| {
        repo.create(&ctx, &t.rtype, body.0, if_none_exist.as_deref())
    })
    .await?;
    Ok(outcome_response(&fhir, &outcome))
}

/// `If-None-Exist: identifier=sys|val` (a leading `Type?` or full URL is allowed).
fn if_none_exist(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("if-none-exist") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request("If-None-Exist must be URL-encoded ASCII"))?
        .trim();
    let query = text.split_once('?').map_or(text, |(_, q)| q);
    Ok((!query.is_empty()).then(|| query.to_string()))
}

/// `PUT /fhir/{type}?criteria`
pub async fn conditional_update(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
    body: ResourceBody,
) -> Result<Response, ApiError> {
    check_resource_type(&body.0, &t.rtype)?;
    let criteria = require_criteria(&fhir, "update")?;
    let if_match = if_match(&fhir.headers)?;
    let ctx = fhir.ctx.clone();
    let outcome = blocking(&state, move |repo| {
        repo.conditional_update(&ctx, &t.rtype, &criteria, body.0, if_match)
    })
    .await?;
    Ok(outcome_response(&fhir, &outcome))
}

/// `DELETE /fhir/{type}?criteria`: 204 whether one or no resource matched.
pub async fn conditional_delete(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
) -> Result<Response, ApiError> {
    let criteria = require_criteria(&fhir, "delete")?;
    let ctx = fhir.ctx.clone();
    let rtype = t.rtype.clone();
    let count = blocking(&state, move |repo| {
        repo.conditional_delete(&ctx, &t.rtype, &criteria)
    })
    .await?;
    Ok(deleted_response(
        &fhir,
        format!("Deleted {count} {rtype} matching the criteria"),
        None,
    ))
}

/// `GET /fhir/{type}?params` (and `GET /fhir/{type}/_search`).
pub async fn search(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
) -> Result<Response, ApiError> {
    run_search(state, Some(t.rtype), fhir, Vec::new()).await
}

/// `POST /fhir/{type}/_search`: parameters from the URL and the form body together.
pub async fn search_post(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
    form: FormParams,
) -> Result<Response, ApiError> {
    run_search(state, Some(t.rtype), fhir, form.0).await
}

pub async fn run_search(
    state: AppState,
    rtype: Option<String>,
    fhir: Fhir,
    extra: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let mut params = fhir.query.params.clone();
    params.extend(extra);
    let request = SearchRequest {
        rtype,
        params,
        base_url: fhir.base.clone(),
        lenient: fhir.prefer.lenient,
    };
    let ctx = fhir.ctx.clone();
    let bundle = blocking(&state, move |repo| repo.search(&ctx, &request)).await?;
    Ok(json_response(StatusCode::OK, fhir.output, &bundle))
}

/// `GET /fhir/{type}/_history`
pub async fn history(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
) -> Result<Response, ApiError> {
    super::history_response(&state, &fhir, Some(t.rtype), None).await
}
