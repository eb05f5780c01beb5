//! Running store calls from page handlers: the store is synchronous (SQLite and
//! PostgreSQL clients that block), so calls go to the blocking pool.

use crate::state::AppState;
use crate::ui::layout::error_page;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;
use store::{FhirError, Repository};

/// Runs `f` with the repository on the blocking pool.
pub async fn with_repo<T, F>(state: &AppState, f: F) -> Result<T, Response>
where
    F: FnOnce(&Arc<Repository>) -> T + Send + 'static,
    T: Send + 'static,
{
    let repo = state.repo.clone();
    tokio::task::spawn_blocking(move || f(&repo))
        .await
        .map_err(|_| {
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sorry, there is a problem",
                "OpenGP could not finish that. Try again in a moment.",
            )
        })
}

/// The page for a store error: not found (or not visible), refused, or a failure.
/// Messages never include record content.
pub fn store_error_page(e: &FhirError) -> Response {
    let status = e.status();
    match status {
        404 | 410 => error_page(
            StatusCode::NOT_FOUND,
            "Record not found",
            "There is no record with that id that you can see.",
        ),
        403 => error_page(StatusCode::FORBIDDEN, "You cannot do this", &e.to_string()),
        409 | 412 => error_page(
            StatusCode::CONFLICT,
            "Someone else changed this record",
            "The record changed while you were working on it. Go back, reload and try again.",
        ),
        400 | 422 => error_page(
            StatusCode::BAD_REQUEST,
            "That could not be saved",
            &e.to_string(),
        ),
        _ => {
            tracing::error!(status, "a store call failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sorry, there is a problem",
                "OpenGP could not finish that. Try again in a moment.",
            )
        }
    }
}
