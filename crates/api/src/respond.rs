//! Building FHIR responses: bodies in the negotiated format, and the version headers
//! (ETag, Last-Modified, Location) of a resource.

use crate::context::Fhir;
use crate::negotiate::OutputFormat;
use crate::prefer::Return;
use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use fhir::{Issue, operation_outcome};
use serde_json::Value;
use store::ResourceVersion;

fn with_body(status: StatusCode, output: OutputFormat, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(output.media));
    response
}

fn to_text(value: &Value, output: OutputFormat) -> String {
    let text = if output.pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    text.unwrap_or_default()
}

/// A JSON body (a Bundle, an OperationOutcome, the CapabilityStatement).
pub fn json_response(status: StatusCode, output: OutputFormat, body: &Value) -> Response {
    with_body(status, output, to_text(body, output))
}

/// A body-less response.
pub fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

fn set_header(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// The stored resource as the body, with its version headers. The stored text is sent as
/// it is (element order and decimal digits as the client wrote them).
pub fn read_response(fhir: &Fhir, version: &ResourceVersion) -> Response {
    let text = version.body.clone().unwrap_or_default();
    let text = if fhir.output.pretty {
        serde_json::from_str::<Value>(&text)
            .map(|v| to_text(&v, fhir.output))
            .unwrap_or(text)
    } else {
        text
    };
    let mut response = with_body(StatusCode::OK, fhir.output, text);
    version_headers(response.headers_mut(), version, None);
    response
}

/// ETag and Last-Modified, and Location when `base` is given.
pub fn version_headers(headers: &mut HeaderMap, version: &ResourceVersion, base: Option<&str>) {
    set_header(headers, ETAG, &version.etag());
    set_header(headers, LAST_MODIFIED, &version.last_modified_http());
    if let Some(base) = base {
        let location = format!(
            "{base}/{}/{}/_history/{}",
            version.rtype, version.id, version.version
        );
        set_header(headers, LOCATION, &location);
    }
}

/// The response to a create or update: version headers and Location, and the body the
/// client's `Prefer: return=` asked for.
pub fn write_response(
    fhir: &Fhir,
    status: StatusCode,
    version: &ResourceVersion,
    what: &str,
) -> Response {
    let mut response = match fhir.prefer.return_ {
        Return::Representation => {
            let mut r = read_response(fhir, version);
            *r.status_mut() = status;
            r
        }
        Return::Minimal => empty(status),
        Return::OperationOutcome => {
            let message = format!(
                "{what} {}/{} (version {})",
                version.rtype, version.id, version.version
            );
            let outcome = operation_outcome(&[Issue::information("informational", message)]);
            json_response(status, fhir.output, &outcome)
        }
    };
    version_headers(response.headers_mut(), version, Some(&fhir.base));
    response
}
