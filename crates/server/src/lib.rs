//! The OpenGP server: composes the apps (the FHIR API in `api`, the staff workspace in
//! `workspace`) behind the layers every request passes (`web::middleware`), and serves
//! them. Re-exports what the `opengp` command and the tests use.

pub use api::{capability_statement, smart_configuration};
pub use web::{
    ApiError, AppState, BREAK_GLASS, DEFAULT_BODY_LIMIT, DEFAULT_PRACTICE, RateLimiter,
    request_context,
};
pub use workspace::ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::middleware::{from_fn, from_fn_with_state};
use std::future::Future;
use std::net::SocketAddr;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use web::middleware;

/// Every app's routes and the shared layers, ready to serve.
pub fn router(state: AppState) -> Router {
    let body_limit = state.body_limit;
    api::routes(state.clone())
        .merge(workspace::routes())
        .fallback(middleware::unknown_url)
        // Listed innermost first: the last layer sees the request first.
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(
            state.clone(),
            web::drain::drain_unread_body,
        ))
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
