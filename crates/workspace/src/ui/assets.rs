//! The workspace's stylesheet and scripts, compiled into the binary (no build step, no
//! CDN): one stylesheet made of each feature's part, and one small script per feature.
//! Served with a long cache lifetime would need versioned names; they are small, so
//! `no-cache` (revalidate) keeps them fresh after an upgrade.

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

/// The stylesheet: the base, then each feature's rules.
const CSS: &str = concat!(
    include_str!("../../static/css/base.css"),
    include_str!("../../static/css/patients.css"),
    include_str!("../../static/css/record.css"),
    include_str!("../../static/css/consultation.css"),
    include_str!("../../static/css/tasks.css"),
    include_str!("../../static/css/picker.css"),
);

/// Scripts by name (`/static/{name}`).
const SCRIPTS: [(&str, &str); 6] = [
    ("opengp.js", include_str!("../../static/js/opengp.js")),
    ("patients.js", include_str!("../../static/js/patients.js")),
    ("record.js", include_str!("../../static/js/record.js")),
    (
        "consultation.js",
        include_str!("../../static/js/consultation.js"),
    ),
    ("picker.js", include_str!("../../static/js/picker.js")),
    ("tasks.js", include_str!("../../static/js/tasks.js")),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/opengp.css", get(stylesheet))
        .route("/static/{name}", get(script))
}

async fn stylesheet() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

async fn script(Path(name): Path<String>) -> Response {
    match SCRIPTS.iter().find(|(n, _)| *n == name) {
        Some((_, body)) => asset(body, "text/javascript; charset=utf-8"),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
