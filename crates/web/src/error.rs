//! Every failure of a request becomes an HTTP status with an OperationOutcome body.

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fhir::{Issue, operation_outcome};
use store::{FhirError, StoreError};

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// An OperationOutcome of `issues` as FHIR JSON: the answer to a failed request on any
/// URL (the apps' shared layers answer this way too, before any app has negotiated).
pub fn outcome_response(status: StatusCode, issues: &[Issue]) -> Response {
    let text = serde_json::to_string(&operation_outcome(issues)).unwrap_or_default();
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

/// A failed request: its status and the issues reported to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub issues: Vec<Issue>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, diagnostics: impl Into<String>) -> Self {
        ApiError {
            status,
            issues: vec![Issue::error(code, diagnostics)],
        }
    }
    pub fn bad_request(diagnostics: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", diagnostics)
    }
    pub fn not_found(diagnostics: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", diagnostics)
    }
    pub fn unsupported_media_type(diagnostics: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            diagnostics,
        )
    }
    pub fn not_acceptable(diagnostics: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, "not-supported", diagnostics)
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-costly",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }
    /// Details of internal failures stay in the server log: they can quote data.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            "internal server error",
        )
    }
}

impl From<FhirError> for ApiError {
    fn from(e: FhirError) -> Self {
        if let FhirError::Store(StoreError::Backend(msg)) = &e {
            tracing::error!(error = %msg, "storage error");
        }
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError {
            status,
            issues: e.issues(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = outcome_response(self.status, &self.issues);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // The database was busy: worth retrying shortly.
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_their_details_out_of_the_response() {
        let busy =
            ApiError::from(FhirError::Store(StoreError::Busy("locked".into()))).into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()["retry-after"], "1");
        let backend = ApiError::from(FhirError::Store(StoreError::Backend(
            "row for 9434765919".into(),
        )));
        assert_eq!(backend.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!format!("{:?}", backend.issues).contains("9434765919"));
    }
}
