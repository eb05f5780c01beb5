//! Finding and registering patients (issue 4, journeys 2 and 3):
//!
//! - [`find`]: `GET /patients` (the search page; `?q=` renders results without
//!   scripts) and `GET /patients/search?q=` (just the results, for find-as-you-type).
//! - [`register`]: `GET /patients/new` and `POST /patients/new` (`action=trace` asks
//!   PDS, `action=register` checks for duplicates and registers), then 303 to
//!   `/patients/{id}`; [`register_form`] reads the form into the service's types.

mod contact;
pub mod details;
pub mod find;
pub mod register;
pub mod register_form;

use crate::state::AppState;
use axum::Router;
use axum::routing::get;
use chrono::{Local, NaiveDate};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/patients", get(find::page))
        .route("/patients/search", get(find::fragment))
        .route("/patients/new", get(register::form).post(register::submit))
        .route(
            "/patients/{id}/details",
            get(details::form).post(details::submit),
        )
        .route("/patients/{id}/details/pds", get(details::pds_part))
}

/// The practice's date (the server's local date).
fn today() -> NaiveDate {
    Local::now().date_naive()
}
