//! The session cookie: `__Host-` (this host only, path `/`, Secure), HttpOnly (out of
//! reach of scripts), SameSite=Strict (not sent on requests from other sites).

use super::blocking;
use super::form::cookie;
use crate::state::AppState;
use auth::{AuthError, SessionInfo};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

pub const COOKIE_NAME: &str = "__Host-opengp_session";

/// Sets the cookie to `token` (a new token at every sign-in step).
pub fn set(response: &mut Response, token: &str) {
    let value = format!("{COOKIE_NAME}={token}; Path=/; Secure; HttpOnly; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// Removes the cookie from the browser.
pub fn clear(response: &mut Response) {
    let value = format!("{COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// The session token the browser sent.
pub fn token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE_NAME).map(str::to_string)
}

/// The live session behind the request's cookie, with its token.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, SessionInfo)>, AuthError> {
    let Some(token) = token(headers) else {
        return Ok(None);
    };
    let lookup = token.clone();
    let info = blocking(state, move |auth| auth.session(&lookup)).await?;
    Ok(info.map(|info| (token, info)))
}
