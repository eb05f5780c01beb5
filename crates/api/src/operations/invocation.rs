//! One call of an operation: where it was invoked and its input parameters, from the
//! query (GET) or from a `Parameters` resource or the resource itself (POST).

use super::{Level, Operation, Use};
use crate::body::{parse_resource, read_bytes};
use crate::context::Fhir;
use crate::error::ApiError;
use crate::negotiate::require_json_body;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path, Request};
use axum::http::Method;
use fhir::Definitions;
use fhir::validate::is_valid_id;
use serde_json::Value;
use std::collections::HashMap;

pub struct Invocation {
    pub level: Level,
    /// The type in the URL (type and instance level).
    pub rtype: Option<String>,
    /// The id in the URL (instance level).
    pub id: Option<String>,
    /// Simple (primitive) input parameters in order, as name/value text.
    pub params: Vec<(String, String)>,
    /// Resource input parameters.
    pub resources: Vec<(String, Value)>,
    pub fhir: Fhir,
}

impl Invocation {
    pub async fn from_request(
        state: &AppState,
        op: &Operation,
        level: Level,
        req: Request,
    ) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        let Path(mut segments) =
            Path::<HashMap<String, String>>::from_request_parts(&mut parts, state)
                .await
                .map_err(|_| ApiError::bad_request("the URL path is not valid"))?;
        let rtype = segments.remove("type");
        if let Some(t) = &rtype {
            if !Definitions::get().is_resource_type(t) {
                return Err(ApiError::not_found(format!(
                    "'{t}' is not a FHIR R4 resource type"
                )));
            }
            if !op.types.includes(t) {
                return Err(ApiError::not_found(format!(
                    "the operation ${} is not defined on {t}",
                    op.code
                )));
            }
        }
        let id = segments.remove("id");
        if id.as_deref().is_some_and(|id| !is_valid_id(id)) {
            return Err(ApiError::bad_request(
                "the id in the URL is not a valid FHIR id",
            ));
        }
        let fhir = Fhir::from_request_parts(&mut parts, state).await?;
        let mut invocation = Invocation {
            level,
            rtype,
            id,
            params: fhir.query.params.clone(),
            resources: Vec::new(),
            fhir,
        };
        if parts.method == Method::POST {
            let headers = parts.headers.clone();
            let bytes = read_bytes(Request::from_parts(parts, body), state).await?;
            if !bytes.is_empty() {
                require_json_body(&headers)?;
                invocation.take_body(op, parse_resource(&bytes)?)?;
            }
        }
        Ok(invocation)
    }

    fn take_body(&mut self, op: &Operation, body: Value) -> Result<(), ApiError> {
        if body["resourceType"] != "Parameters" {
            let Some(name) = op.resource_body else {
                return Err(ApiError::bad_request(format!(
                    "${} takes a Parameters resource as its body",
                    op.code
                )));
            };
            self.resources.push((name.to_string(), body));
            return Ok(());
        }
        for p in body["parameter"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or("").to_string();
            if let Some(resource) = p.get("resource") {
                self.resources.push((name, resource.clone()));
                continue;
            }
            let value = p
                .as_object()
                .into_iter()
                .flatten()
                .find(|(k, _)| k.starts_with("value"))
                .map(|(_, v)| v);
            let text = match value {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "operation parameter '{name}' must have a simple value or a resource"
                    )));
                }
            };
            self.params.push((name, text));
        }
        Ok(())
    }

    /// The first value of a simple parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first resource given for a resource parameter.
    pub fn resource(&self, name: &str) -> Option<&Value> {
        self.resources
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Refuses (400, naming it) an input parameter the operation does not declare, or a
    /// second value of one that takes one.
    pub fn check_declared(&self, op: &Operation) -> Result<(), ApiError> {
        let names = self
            .params
            .iter()
            .map(|(k, _)| k)
            .chain(self.resources.iter().map(|(k, _)| k));
        let mut seen = Vec::new();
        for name in names {
            let declared = op
                .parameters
                .iter()
                .find(|p| p.use_ == Use::In && p.name == name.as_str())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("${} has no input parameter '{name}'", op.code))
                })?;
            if declared.max == "1" && seen.contains(&name) {
                return Err(ApiError::bad_request(format!(
                    "${} takes one '{name}'",
                    op.code
                )));
            }
            seen.push(name);
        }
        Ok(())
    }
}
