//! The clinician's workspace: server-rendered pages over the same store, access rules
//! and audit trail as the FHIR API. Each feature is a module with its own routes,
//! templates (`templates/<feature>/`), styles (`static/css/<feature>.css`) and script
//! (`static/js/<feature>.js`).
//!
//! - [`staff`]: the signed-in user behind every page (the only source of a page's
//!   `RequestContext`).
//! - [`layout`]: the page frame (header, navigation, sign-out) and rendering.
//! - [`home`]: the home page (today's appointments, my tasks, recently viewed).
//! - [`patients`]: find a patient as you type; register a patient (PDS trace, duplicates).
//! - [`record`]: the patient record (banner, summary, journal), alerts, problems.
//! - [`consultation`]: recording a consultation (coded entries, observations, drafts).
//! - [`tasks`]: the task inbox.
//! - [`terminology`]: SNOMED CT search for the coded-entry pickers.
//! - [`admin`]: the practice manager's outgoing messages (the outbox) and `/metrics`.

pub mod admin;
pub mod assets;
pub mod consultation;
pub mod fields;
pub mod home;
pub mod layout;
pub mod patients;
pub mod record;
pub mod run;
pub mod staff;
pub mod tasks;
pub mod terminology;

use crate::state::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(assets::routes())
        .merge(home::routes())
        .merge(patients::routes())
        .merge(record::routes())
        .merge(consultation::routes())
        .merge(tasks::routes())
        .merge(terminology::routes())
        .merge(admin::routes())
}
