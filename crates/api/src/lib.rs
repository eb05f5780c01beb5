//! The FHIR R4 REST API under `/fhir`, and the OAuth 2.0 token and revocation endpoints
//! of the SMART authorization server under `/oauth`.
//!
//! Every FHIR request needs a bearer token (except the CapabilityStatement and the SMART
//! configuration); `web::request_context` turns it into the store's `RequestContext`, and
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
mod json_patch;
mod negotiate;
mod oauth;
mod operations;
mod prefer;
mod query;
mod respond;
mod routes;
mod smart;

// The shared parts, under the names the handlers have always used.
use web::{error, state};

pub use capability::capability_statement;
pub use smart::configuration as smart_configuration;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use routes::{instance, patch, system, type_level};
use web::{AppState, html, middleware};

/// The API's routes: the FHIR interactions, what a client reads before it has a token,
/// and the OAuth endpoints.
pub fn routes(state: AppState) -> Router<AppState> {
    fhir_routes(state)
        .merge(public_fhir_routes())
        .merge(oauth_routes())
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

/// The OAuth token and revocation endpoints (the authorization endpoint, a page staff
/// sign in on, is in the workspace). They carry the pages' security headers too.
fn oauth_routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/oauth/jwks", get(oauth::jwks))
        .layer(from_fn(html::security_headers))
}
