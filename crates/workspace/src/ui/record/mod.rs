//! The patient record pages: the record (banner, summary, journal), alerts, the
//! problem list, and break-glass for a record that needs a reason to open.
//!
//! A record opened by breaking the glass carries the reason on every link and form of
//! that record (`break_glass`), so each request states it again and is audited as such.

mod alerts;
mod glass;
mod page;
mod problems;

pub use page::{RecordForms, render_record_page};

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/patients/{id}", get(page::show))
        .route("/patients/{id}/alerts", post(alerts::add))
        .route("/patients/{id}/alerts/{flag_id}/end", post(alerts::end))
        .route(
            "/patients/{id}/problems",
            get(problems::show).post(problems::add),
        )
        .route(
            "/patients/{id}/problems/{problem_id}/status",
            post(problems::status),
        )
        .route(
            "/patients/{id}/problems/{problem_id}/significance",
            post(problems::significance),
        )
        .route(
            "/patients/{id}/problems/{problem_id}/episodes",
            post(problems::episode),
        )
        .route(
            "/patients/{id}/problems/{problem_id}/links",
            post(problems::link),
        )
}
