//! Who a request acts for, extracted once per request before any handler runs.

use crate::error::{ApiError, outcome_response};
use crate::state::AppState;
use auth::{Authenticated, ErrorKind};
use axum::extract::ConnectInfo;
use axum::http::header::{AUTHORIZATION, HOST, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fhir::Issue;
use std::net::SocketAddr;
use store::audit::{Action, Outcome};
use store::{Actor, AuditRecord, Purpose, RequestContext};

pub const REQUEST_ID: &str = "x-request-id";
/// A clinician's reason for overriding a sensitivity restriction on this request.
pub const BREAK_GLASS: &str = "x-opengp-break-glass";

/// The one place a request's [`RequestContext`] is made: from the bearer token (the app,
/// its scopes, the member of staff it acts for and the practice), the client's address,
/// the request id and a break-glass reason. A refusal is the finished response (401
/// with a `WWW-Authenticate` challenge, or 403), and refused authentications are audited.
pub async fn request_context(parts: &Parts, state: &AppState) -> Result<Authenticated, Response> {
    let source = source_address(parts);
    let request_id = request_id(parts);
    let Some(token) = bearer_token(&parts.headers) else {
        let refusal = refuse(state, &source, &request_id, "no bearer token").await;
        return Err(refusal.unwrap_or_else(|| unauthorized(None)));
    };
    let auth = state.auth.clone();
    let (token, given_source) = (token.to_string(), source.clone());
    let result =
        tokio::task::spawn_blocking(move || auth.authenticate(&token, given_source.as_deref()))
            .await
            .map_err(|_| ApiError::internal().into_response())?;
    let mut authenticated = match result {
        Ok(a) => a,
        Err(e) if e.kind == ErrorKind::InvalidToken => {
            let refusal = refuse(state, &source, &request_id, "invalid bearer token").await;
            return Err(refusal.unwrap_or_else(|| unauthorized(Some(&e.message))));
        }
        Err(e) => {
            tracing::error!(error = %e, "authenticating a bearer token failed");
            return Err(ApiError::internal().into_response());
        }
    };
    let ctx = &mut authenticated.ctx;
    ctx.request_id = request_id;
    if let Some(reason) = parts.headers.get(BREAK_GLASS) {
        let reason = String::from_utf8_lossy(reason.as_bytes()).into_owned();
        match ctx.access.clone().with_break_glass(&reason) {
            Ok(access) => ctx.access = access,
            Err(refused) => {
                let record = AuditRecord::new("break-glass", Action::Execute, Outcome::Refused)
                    .detail(refused.0.clone());
                audit(state, ctx.clone(), record).await?;
                return Err(
                    ApiError::new(StatusCode::FORBIDDEN, "forbidden", refused.0).into_response()
                );
            }
        }
    }
    Ok(authenticated)
}

/// The peer's IP address (absent when the server runs without connection info, as in
/// tests that call the router directly).
pub fn source_address(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

fn request_id(parts: &Parts) -> String {
    parts
        .headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string)
}

/// `Authorization: Bearer <token>` (the scheme is case-insensitive).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Records a refused authentication: who is unknown, so only the address and request id.
/// `Some` is the 500 to answer with if the refusal could not be audited.
async fn refuse(
    state: &AppState,
    source: &Option<String>,
    request_id: &str,
    why: &str,
) -> Option<Response> {
    let mut ctx = RequestContext::new(
        state.practice.clone(),
        Actor::User("unknown".into()),
        Purpose::Operations,
    );
    ctx.source = source.clone();
    ctx.request_id = request_id.to_string();
    let record = AuditRecord::new("authenticate", Action::Execute, Outcome::Refused).detail(why);
    audit(state, ctx, record).await.err()
}

async fn audit(state: &AppState, ctx: RequestContext, record: AuditRecord) -> Result<(), Response> {
    let repo = state.repo.clone();
    let recorded =
        tokio::task::spawn_blocking(move || repo.audit().record(&ctx, vec![record])).await;
    match recorded {
        Ok(Ok(())) => Ok(()),
        _ => {
            tracing::error!("a refusal could not be recorded in the audit trail");
            Err(ApiError::internal().into_response())
        }
    }
}

/// 401 with the RFC 6750 challenge: without `error` when no token was sent, with
/// `error="invalid_token"` when the token was not good.
fn unauthorized(invalid: Option<&str>) -> Response {
    let (diagnostics, challenge) = match invalid {
        None => (
            "sign in: send an OAuth 2.0 access token as Authorization: Bearer <token>",
            r#"Bearer realm="OpenGP""#.to_string(),
        ),
        Some(message) => (
            message,
            format!(
                r#"Bearer realm="OpenGP", error="invalid_token", error_description="{}""#,
                message.replace(['"', '\\'], "'")
            ),
        ),
    };
    let mut response = outcome_response(
        StatusCode::UNAUTHORIZED,
        &[Issue::error("login", diagnostics)],
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
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
