//! Content negotiation: OpenGP speaks FHIR JSON only. Bodies in any other format are
//! refused with 415, requests for any other response format with 406.

use crate::error::ApiError;
use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_TYPE};

pub use web::error::FHIR_JSON;
pub const PLAIN_JSON: &str = "application/json; charset=utf-8";

/// How the response body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputFormat {
    /// The Content-Type of the response: FHIR JSON unless the client asked for plain JSON.
    pub media: &'static str,
    /// `_pretty=true`.
    pub pretty: bool,
}

impl Default for OutputFormat {
    fn default() -> Self {
        OutputFormat {
            media: FHIR_JSON,
            pretty: false,
        }
    }
}

/// The response format from `_format` (which wins) or the Accept header.
pub fn output_format(
    headers: &HeaderMap,
    format_param: Option<&str>,
    pretty: bool,
) -> Result<OutputFormat, ApiError> {
    let media = match format_param {
        // An unencoded `+` in the query arrives as a space: `application/fhir json`.
        Some(f) => match f.trim().to_ascii_lowercase().replace(' ', "+").as_str() {
            "json" | "application/fhir+json" | "application/json+fhir" => FHIR_JSON,
            "application/json" => PLAIN_JSON,
            _ => {
                return Err(ApiError::not_acceptable(
                    "this server returns FHIR JSON only (_format=json)",
                ));
            }
        },
        None => from_accept(headers)?,
    };
    Ok(OutputFormat { media, pretty })
}

fn from_accept(headers: &HeaderMap) -> Result<&'static str, ApiError> {
    let mut ranges = Vec::new();
    for value in headers.get_all(ACCEPT) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::bad_request("the Accept header is not ASCII"))?;
        ranges.extend(value.split(',').filter_map(accepted_range));
    }
    if ranges.is_empty() && headers.get(ACCEPT).is_none() {
        return Ok(FHIR_JSON);
    }
    let has = |m: &str| ranges.iter().any(|r| r == m);
    if has("application/fhir+json") || has("application/json+fhir") {
        Ok(FHIR_JSON)
    } else if has("application/json") {
        Ok(PLAIN_JSON)
    } else if has("*/*") || has("application/*") {
        Ok(FHIR_JSON)
    } else {
        Err(ApiError::not_acceptable(
            "this server returns FHIR JSON only (Accept: application/fhir+json)",
        ))
    }
}

/// The media range of one Accept item, unless its quality is zero (explicitly refused).
fn accepted_range(item: &str) -> Option<String> {
    let mut parts = item.split(';');
    let range = parts.next()?.trim().to_ascii_lowercase();
    let refused = parts.any(|p| {
        let p = p.trim().to_ascii_lowercase();
        p.strip_prefix("q=")
            .and_then(|q| q.trim().parse::<f32>().ok())
            .is_some_and(|q| q <= 0.0)
    });
    (!range.is_empty() && !refused).then_some(range)
}

/// The media type of the request body (lower case, without parameters), checking that
/// any charset is UTF-8.
fn body_media_type(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unsupported_media_type("the Content-Type header is not ASCII"))?;
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    for p in parts {
        let p = p.trim().to_ascii_lowercase();
        if let Some(cs) = p.strip_prefix("charset=")
            && cs.trim_matches('"') != "utf-8"
        {
            return Err(ApiError::unsupported_media_type(
                "request bodies must be UTF-8",
            ));
        }
    }
    Ok(Some(media))
}

/// A FHIR resource body must be FHIR JSON (plain JSON is accepted too).
pub fn require_json_body(headers: &HeaderMap) -> Result<(), ApiError> {
    match body_media_type(headers)?.as_deref() {
        Some("application/fhir+json" | "application/json" | "application/json+fhir") => Ok(()),
        _ => Err(ApiError::unsupported_media_type(
            "this server accepts FHIR JSON only (Content-Type: application/fhir+json)",
        )),
    }
}

/// A PATCH body must be a JSON Patch (FHIRPath Patch is not supported).
pub fn require_json_patch_body(headers: &HeaderMap) -> Result<(), ApiError> {
    match body_media_type(headers)?.as_deref() {
        Some("application/json-patch+json") => Ok(()),
        _ => Err(ApiError::unsupported_media_type(
            "PATCH takes a JSON Patch (Content-Type: application/json-patch+json)",
        )),
    }
}

/// A `_search` body must be a URL-encoded form.
pub fn require_form_body(headers: &HeaderMap) -> Result<(), ApiError> {
    match body_media_type(headers)?.as_deref() {
        Some("application/x-www-form-urlencoded") => Ok(()),
        _ => Err(ApiError::unsupported_media_type(
            "search parameters in a body must be sent as application/x-www-form-urlencoded",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(
            output_format(&HeaderMap::new(), None, false).unwrap().media,
            FHIR_JSON
        );
        let browser = headers(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8");
        assert_eq!(
            output_format(&browser, None, false).unwrap().media,
            FHIR_JSON
        );
        let plain = headers(ACCEPT, "application/json");
        assert_eq!(
            output_format(&plain, None, false).unwrap().media,
            PLAIN_JSON
        );
        let xml = headers(ACCEPT, "application/fhir+xml");
        assert_eq!(output_format(&xml, None, false).unwrap_err().status, 406);
        let refused = headers(ACCEPT, "application/fhir+json;q=0, application/xml");
        assert_eq!(
            output_format(&refused, None, false).unwrap_err().status,
            406
        );
        // _format wins over Accept.
        assert_eq!(
            output_format(&xml, Some("json"), false).unwrap().media,
            FHIR_JSON
        );
        assert_eq!(
            output_format(&xml, Some("application/fhir json"), false)
                .unwrap()
                .media,
            FHIR_JSON
        );
        assert_eq!(
            output_format(&HeaderMap::new(), Some("xml"), false)
                .unwrap_err()
                .status,
            406
        );
    }

    #[test]
    fn body_types() {
        assert!(
            require_json_body(&headers(
                CONTENT_TYPE,
                "application/fhir+json; charset=UTF-8"
            ))
            .is_ok()
        );
        assert!(require_json_body(&headers(CONTENT_TYPE, "application/json")).is_ok());
        assert_eq!(
            require_json_body(&headers(CONTENT_TYPE, "application/fhir+xml"))
                .unwrap_err()
                .status,
            415
        );
        assert_eq!(
            require_json_body(&headers(CONTENT_TYPE, "application/json; charset=latin1"))
                .unwrap_err()
                .status,
            415
        );
        assert_eq!(
            require_json_body(&HeaderMap::new()).unwrap_err().status,
            415
        );
        assert!(
            require_form_body(&headers(CONTENT_TYPE, "application/x-www-form-urlencoded")).is_ok()
        );
    }
}
