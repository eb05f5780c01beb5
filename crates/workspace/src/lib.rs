//! The staff workspace: sign-in (password, then authenticator code), the consent page
//! of the OAuth authorization endpoint, and the clinician's pages (`ui`). Server-rendered
//! HTML (askama templates in `templates/`, styles and scripts in `static/`) over the same
//! store, access rules and audit trail as the FHIR API.

pub mod pages;
pub mod ui;

// The shared parts, under the names the pages have always used.
use web::{context, state};

use axum::Router;
use axum::middleware::from_fn;
use axum::routing::{get, post};
use pages::{consent, login};
use web::{AppState, html};

/// The workspace's routes, with the security headers every page carries.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show_login).post(login::submit_login))
        .route(
            "/login/totp",
            get(login::show_totp).post(login::submit_totp),
        )
        .route("/logout", post(login::logout))
        .route("/oauth/authorize", get(consent::show).post(consent::decide))
        .merge(ui::routes())
        .layer(from_fn(html::security_headers))
}
