//! Reading request bodies: bounded in size, checked for type, parsed without unbounded
//! recursion (serde_json stops at 128 levels of nesting), before anything is written.

use crate::error::ApiError;
use crate::negotiate::{require_form_body, require_json_body, require_json_patch_body};
use crate::query;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::Value;

/// The whole body, or 413 when it is over the configured limit.
pub async fn read_bytes(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large(state.body_limit)
        } else {
            ApiError::bad_request("the request body could not be read")
        }
    })
}

/// A JSON object with a `resourceType`.
pub fn parse_resource(bytes: &[u8]) -> Result<Value, ApiError> {
    let value = fhir::json::parse_strict(bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    match value.get("resourceType") {
        Some(Value::String(_)) => Ok(value),
        _ if !value.is_object() => Err(ApiError::bad_request(
            "the body must be a JSON object (a FHIR resource)",
        )),
        _ => Err(ApiError::bad_request("the resource has no resourceType")),
    }
}

/// A FHIR resource sent as the request body.
pub struct ResourceBody(pub Value);

impl ResourceBody {
    pub fn resource_type(&self) -> &str {
        self.0
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

impl FromRequest<AppState> for ResourceBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        require_json_body(req.headers())?;
        let bytes = read_bytes(req, state).await?;
        parse_resource(&bytes).map(ResourceBody)
    }
}

/// A JSON Patch document (RFC 6902): an array of operations, parsed as strictly as a
/// resource.
pub struct JsonPatchBody(pub Value);

impl FromRequest<AppState> for JsonPatchBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        require_json_patch_body(req.headers())?;
        let bytes = read_bytes(req, state).await?;
        let value = fhir::json::parse_strict(&bytes)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
        if !value.is_array() {
            return Err(ApiError::bad_request(
                "a JSON Patch is an array of operations",
            ));
        }
        Ok(JsonPatchBody(value))
    }
}

/// Search parameters sent as a URL-encoded form (`POST [type]/_search`); an empty body
/// needs no Content-Type.
pub struct FormParams(pub Vec<(String, String)>);

impl FromRequest<AppState> for FormParams {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = req.headers().clone();
        let bytes = read_bytes(req, state).await?;
        if bytes.is_empty() {
            return Ok(FormParams(Vec::new()));
        }
        require_form_body(&headers)?;
        query::parse(&bytes).map(FormParams)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_resource() {
        assert_eq!(
            parse_resource(b"{\"resourceType\":").unwrap_err().status,
            400
        );
        assert_eq!(parse_resource(b"[1]").unwrap_err().status, 400);
        assert_eq!(parse_resource(b"{\"id\":\"x\"}").unwrap_err().status, 400);
        assert_eq!(
            parse_resource(b"{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\"}]}")
                .unwrap_err()
                .status,
            400
        );
        let deep = "[".repeat(100_000);
        assert_eq!(parse_resource(deep.as_bytes()).unwrap_err().status, 400);
        assert!(parse_resource(b"{\"resourceType\":\"Patient\"}").is_ok());
    }
}
