//! `PATCH /fhir/{type}/{id}` and `PATCH /fhir/{type}?criteria` with a JSON Patch: the
//! current version is read, patched, and stored as an update (validated, audited, a new
//! version), or nothing is written.

use super::{Target, blocking, if_match, outcome_response, require_criteria};
use crate::body::JsonPatchBody;
use crate::context::Fhir;
use crate::error::ApiError;
use crate::json_patch::{self, PatchError};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;
use store::{FhirError, FhirResult, Repository, RequestContext, SearchRequest, WriteOutcome};

/// `PATCH /fhir/{type}/{id}`
pub async fn patch(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
    body: JsonPatchBody,
) -> Result<Response, ApiError> {
    let expected = if_match(&fhir.headers)?;
    let ctx = fhir.ctx.clone();
    let outcome = blocking(&state, move |repo| {
        patch_resource(repo, &ctx, &t.rtype, &t.id, &body.0, expected)
    })
    .await?;
    Ok(outcome_response(&fhir, &outcome))
}

/// `PATCH /fhir/{type}?criteria`: the one resource matching; none is 404, several 412.
pub async fn conditional_patch(
    State(state): State<AppState>,
    t: Target,
    fhir: Fhir,
    body: JsonPatchBody,
) -> Result<Response, ApiError> {
    require_criteria(&fhir, "patch")?;
    let expected = if_match(&fhir.headers)?;
    let ctx = fhir.ctx.clone();
    let request = SearchRequest {
        rtype: Some(t.rtype.clone()),
        params: fhir.query.params.clone(),
        base_url: fhir.base.clone(),
        // A misspelt criterion must not widen the match.
        lenient: false,
    };
    let outcome = blocking(&state, move |repo| {
        let id = single_match(repo, &ctx, &request)?;
        patch_resource(repo, &ctx, &t.rtype, &id, &body.0, expected)
    })
    .await?;
    Ok(outcome_response(&fhir, &outcome))
}

fn single_match(
    repo: &Repository,
    ctx: &RequestContext,
    request: &SearchRequest,
) -> FhirResult<String> {
    let bundle = repo.search_first_page(ctx, request)?;
    let ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
        .collect();
    match ids.as_slice() {
        [id] => Ok(id.clone()),
        [] => Err(FhirError::NotFound(
            "no resource matches the criteria".into(),
        )),
        _ => Err(FhirError::PreconditionFailed(
            "more than one resource matches the criteria".into(),
        )),
    }
}

/// Reads the current version, applies the patch and stores the result as an update of
/// that very version: a concurrent change in between is a 412, never lost.
fn patch_resource(
    repo: &Repository,
    ctx: &RequestContext,
    rtype: &str,
    id: &str,
    patch: &Value,
    expected: Option<i64>,
) -> FhirResult<WriteOutcome> {
    let current = repo.read(ctx, rtype, id)?;
    if let Some(version) = expected
        && version != current.version
    {
        return Err(FhirError::PreconditionFailed(format!(
            "{rtype}/{id} is at version {}, not {version}",
            current.version
        )));
    }
    let mut resource: Value = current
        .body
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| FhirError::Gone(format!("{rtype}/{id} is deleted")))?;
    json_patch::apply(&mut resource, patch).map_err(|e| match e {
        PatchError::Malformed(m) => {
            FhirError::bad_request(format!("the JSON Patch is not valid: {m}"))
        }
        PatchError::NotApplicable(m) => FhirError::Unprocessable(vec![fhir::Issue::error(
            "processing",
            format!("the JSON Patch cannot be applied: {m}"),
        )]),
    })?;
    if resource.get("resourceType").and_then(Value::as_str) != Some(rtype)
        || resource.get("id").and_then(Value::as_str) != Some(id)
    {
        return Err(FhirError::Unprocessable(vec![fhir::Issue::error(
            "processing",
            "a patch may not change a resource's type or id",
        )]));
    }
    repo.update(ctx, rtype, id, resource, Some(current.version))
}
