//! `GET /`: who is signed in, or a link to sign in.

use super::html::{escape, hidden, message_page, page};
use super::session;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let current = match session::current(&state, &headers).await {
        Ok(current) => current,
        Err(e) => {
            tracing::error!(error = %e, "reading a session failed");
            return message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sorry, there is a problem",
                "Try again later.",
            );
        }
    };
    let body = match current {
        Some((_, info)) if info.signed_in && info.user.is_some() => {
            let user = info.user.as_ref().expect("checked above");
            format!(
                "<p>You are signed in as <strong>{}</strong> ({}), role: {}.</p>\
                 <form method=\"post\" action=\"/logout\">{}\
                 <button type=\"submit\">Sign out</button></form>\
                 <p>The FHIR API is at <a href=\"/fhir/metadata\">/fhir</a>.</p>",
                escape(&user.display_name),
                escape(&user.username),
                escape(user.role.display()),
                hidden("csrf", &info.csrf),
            )
        }
        _ => "<p>You are not signed in.</p><p><a href=\"/login\">Sign in</a></p>\
              <p>The FHIR API is at <a href=\"/fhir/metadata\">/fhir</a>.</p>"
            .to_string(),
    };
    page(
        StatusCode::OK,
        &format!("OpenGP practice {}", state.practice),
        None,
        &body,
    )
}
