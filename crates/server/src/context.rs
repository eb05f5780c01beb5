//! Who a request acts for, and the request's FHIR-level settings, extracted once per
//! request before any handler runs.

use crate::error::ApiError;
use crate::negotiate::{OutputFormat, output_format};
use crate::prefer::Prefer;
use crate::query::QueryParams;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::HOST;
use axum::http::request::Parts;
use store::{Actor, Purpose, RequestContext};

pub const REQUEST_ID: &str = "x-request-id";

/// The one place a request's [`RequestContext`] is made: the practice, who is acting and
/// why. Sign-in (issue 3) will choose the practice and actor here, per request.
pub fn request_context(parts: &Parts, state: &AppState) -> RequestContext {
    let mut ctx = RequestContext::new(
        state.practice.clone(),
        Actor::System("anonymous-api".into()),
        Purpose::DirectCare,
    );
    if let Some(id) = parts.headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        ctx.request_id = id.to_string();
    }
    ctx
}

/// The FHIR base URL for links in this response.
pub fn base_url(parts: &Parts, state: &AppState) -> String {
    if let Some(base) = &state.base_url {
        return base.clone();
    }
    let host = parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .filter(|h| is_plausible_host(h))
        .unwrap_or("localhost");
    format!("http://{host}/fhir")
}

/// A host name or address with an optional port: nothing that could change the meaning of
/// a URL built from it.
fn is_plausible_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

/// Everything a FHIR handler needs from the request line and headers.
pub struct Fhir {
    pub ctx: RequestContext,
    pub base: String,
    pub query: QueryParams,
    pub prefer: Prefer,
    pub output: OutputFormat,
    pub headers: HeaderMap,
}

impl FromRequestParts<AppState> for Fhir {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let query = QueryParams::from_query(parts.uri.query())?;
        let output = output_format(&parts.headers, query.format.as_deref(), query.pretty)?;
        Ok(Fhir {
            ctx: request_context(parts, state),
            base: base_url(parts, state),
            prefer: Prefer::from_headers(&parts.headers),
            query,
            output,
            headers: parts.headers.clone(),
        })
    }
}
