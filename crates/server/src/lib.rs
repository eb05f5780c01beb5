//! The HTTP server: the FHIR R4 REST API under `/fhir`, the OAuth 2.0 endpoints of the
//! SMART authorization server under `/oauth`, and the staff sign-in pages.
//!
//! Every FHIR request needs a bearer token (except the CapabilityStatement and the SMART
//! configuration); [`request_context`] turns it into the store's `RequestContext`, and
//! the store enforces what that context may see and do, and audits it.
//!
//! Handlers check the request (path, media types, body size and shape) and hand it to the
//! [`store::Repository`], which does the FHIR work; nothing is written unless the request
//! is well-formed. Every failure is answered with an OperationOutcome.
//!
//! Choices where FHIR allows several: a create answers 201, a conditional create that
//! found its match 200 with the existing resource; an update 200, or 201 when it created
//! the resource; a delete 204 with no body (200 with an OperationOutcome under
//! `Prefer: return=OperationOutcome`); an unknown resource type in the URL 404.

mod body;
mod capability;
mod context;
mod drain;
mod error;
mod json_patch;
mod middleware;
mod negotiate;
mod oauth;
mod operations;
mod pages;
mod prefer;
mod query;
mod rate_limit;
mod respond;
mod routes;
mod smart;
mod state;
pub mod ui;

pub use capability::capability_statement;
pub use context::{BREAK_GLASS, request_context};
pub use error::ApiError;
pub use rate_limit::RateLimiter;
pub use smart::configuration as smart_configuration;
pub use state::{AppState, DEFAULT_BODY_LIMIT, DEFAULT_PRACTICE};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use pages::{consent, html, login};
use routes::{instance, patch, system, type_level};
use std::future::Future;
use std::net::SocketAddr;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;

/// The API's routes and layers, ready to serve.
pub fn router(state: AppState) -> Router {
    let body_limit = state.body_limit;
    fhir_routes(state.clone())
        .merge(public_fhir_routes())
        .merge(page_routes())
        .fallback(middleware::unknown_url)
        // Listed innermost first: the last layer sees the request first.
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(state.clone(), drain::drain_unread_body))
        .layer(from_fn(middleware::method_not_allowed_outcome))
        .layer(from_fn(middleware::catch_panic))
        .layer(middleware::trace_layer())
        .layer(from_fn(middleware::request_id))
        .layer(SetSensitiveHeadersLayer::new([
            AUTHORIZATION,
            COOKIE,
            SET_COOKIE,
        ]))
        .with_state(state)
}

/// The FHIR interactions: each needs a bearer token.
fn fhir_routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/fhir", get(system::search).post(system::bundle))
        .route("/fhir/_history", get(system::history))
        .route(
            "/fhir/{type}",
            get(type_level::search)
                .post(type_level::create)
                .put(type_level::conditional_update)
                .patch(patch::conditional_patch)
                .delete(type_level::conditional_delete),
        )
        .route(
            "/fhir/{type}/_search",
            get(type_level::search).post(type_level::search_post),
        )
        .route("/fhir/{type}/_history", get(type_level::history))
        .route(
            "/fhir/{type}/{id}",
            get(instance::read)
                .put(instance::update)
                .patch(patch::patch)
                .delete(instance::delete),
        )
        .route("/fhir/{type}/{id}/_history", get(instance::history))
        .route("/fhir/{type}/{id}/_history/{vid}", get(instance::vread))
        .merge(operations::routes())
        .route_layer(from_fn_with_state(state, middleware::authenticate))
}

/// What a client reads before it has a token.
fn public_fhir_routes() -> Router<AppState> {
    Router::new()
        .route("/fhir/metadata", get(system::metadata))
        .route(
            "/fhir/.well-known/smart-configuration",
            get(smart::smart_configuration),
        )
        .route(
            "/fhir/.well-known/openid-configuration",
            get(smart::openid_configuration_document),
        )
}

/// Sign-in pages and the OAuth endpoints.
fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show_login).post(login::submit_login))
        .route(
            "/login/totp",
            get(login::show_totp).post(login::submit_totp),
        )
        .route("/logout", post(login::logout))
        .route("/oauth/authorize", get(consent::show).post(consent::decide))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/oauth/jwks", get(oauth::jwks))
        .merge(ui::routes())
        .layer(from_fn(html::security_headers))
}

/// Serves the API on `listener` until Ctrl-C, then finishes the requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    serve_until(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // With the peer's address, for the audit trail.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
