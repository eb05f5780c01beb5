//! Interactions on one resource: `/fhir/{type}/{id}...`.

use super::{
    Target, blocking, check_resource_type, deleted_response, if_match, outcome_response,
    read_or_not_modified,
};
use crate::body::ResourceBody;
use crate::context::Fhir;
use crate::error::ApiError;
use crate::respond::json_response;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

/// `GET /fhir/{type}/{id}`
pub async fn read(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
) -> Result<Response, ApiError> {
    if t.rtype == "OperationDefinition"
        && let Some(op) = crate::operations::by_id(&t.id)
    {
        // The definitions of this server's own operations are part of the server.
        let definition = crate::operations::operation_definition(&fhir.base, op);
        return Ok(json_response(StatusCode::OK, fhir.output, &definition));
    }
    let ctx = fhir.ctx.clone();
    let version = blocking(&state, move |repo| repo.read(&ctx, &t.rtype, &t.id)).await?;
    Ok(read_or_not_modified(&fhir, &version))
}

/// `GET /fhir/{type}/{id}/_history/{vid}`
pub async fn vread(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
) -> Result<Response, ApiError> {
    let ctx = fhir.ctx.clone();
    let version = blocking(&state, move |repo| {
        repo.vread(&ctx, &t.rtype, &t.id, &t.vid)
    })
    .await?;
    Ok(read_or_not_modified(&fhir, &version))
}

/// `PUT /fhir/{type}/{id}`: a new version, or the first one (create-on-update).
pub async fn update(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
    body: ResourceBody,
) -> Result<Response, ApiError> {
    check_resource_type(&body.0, &t.rtype)?;
    match body.0.get("id") {
        Some(Value::String(id)) if *id == t.id => {}
        None => {
            return Err(ApiError::bad_request(
                "an update must carry the resource's id, the same as in the URL",
            ));
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "the id in the body differs from the id in the URL",
            ));
        }
    }
    let if_match = if_match(&fhir.headers)?;
    let ctx = fhir.ctx.clone();
    let outcome = blocking(&state, move |repo| {
        repo.update(&ctx, &t.rtype, &t.id, body.0, if_match)
    })
    .await?;
    Ok(outcome_response(&fhir, &outcome))
}

/// `DELETE /fhir/{type}/{id}`: 204 (also when it was already deleted or never existed).
pub async fn delete(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
) -> Result<Response, ApiError> {
    let ctx = fhir.ctx.clone();
    let reference = format!("{}/{}", t.rtype, t.id);
    let deleted = blocking(&state, move |repo| repo.delete(&ctx, &t.rtype, &t.id)).await?;
    let message = match &deleted {
        Some(_) => format!("Deleted {reference}"),
        None => format!("{reference} was already deleted or never existed"),
    };
    Ok(deleted_response(&fhir, message, deleted.as_ref()))
}

/// `GET /fhir/{type}/{id}/_history`
pub async fn history(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
) -> Result<Response, ApiError> {
    super::history_response(&state, &fhir, Some(t.rtype), Some(t.id)).await
}
