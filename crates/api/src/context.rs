//! The request's FHIR-level settings (query, `Prefer`, output format) beside who it acts
//! for; who it acts for is decided once, for every app, in `web::context`.

pub use web::context::{base_url, source_address};

use crate::error::ApiError;
use crate::negotiate::{OutputFormat, output_format};
use crate::prefer::Prefer;
use crate::query::QueryParams;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use store::RequestContext;

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
        // Put there by the authentication layer of the /fhir routes.
        let ctx = parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(ApiError::internal)?;
        Ok(Fhir {
            ctx,
            base: base_url(parts, state),
            prefer: Prefer::from_headers(&parts.headers),
            query,
            output,
            headers: parts.headers.clone(),
        })
    }
}
