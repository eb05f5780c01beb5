//! Recording a consultation (issue 4, journey 5).
//!
//! - `GET /patients/{id}/consultations/new`: the form, with the clinician's draft for
//!   this patient restored if there is one.
//! - `POST /patients/{id}/consultations/new` (multipart, for attachments): checked, then
//!   saved as one transaction; errors and warnings are shown next to their fields.
//! - `POST /patients/{id}/consultations/draft`: the page's autosave (form or JSON body),
//!   204.
//! - `POST /patients/{id}/consultations/draft/discard`: throws the draft away.

mod upload;
mod view;

use super::layout::{Chrome, Section, error_page, render};
use super::run::{store_error_page, with_repo};
use super::staff::Staff;
use crate::pages::form::Fields;
use crate::pages::html::{csrf_refused, see_other};
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Local;
use clinical::FieldErrors;
use clinical::consultation::{self, Checks, ConsultationForm, Draft};
use store::access::Activity;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/patients/{id}/consultations/new",
            get(new_form).post(submit),
        )
        .route("/patients/{id}/consultations/draft", post(autosave))
        .route("/patients/{id}/consultations/draft/discard", post(discard))
}

/// Why a member of staff may not record consultations.
struct NotAClinician(&'static str);

impl NotAClinician {
    fn page(&self) -> Response {
        error_page(
            StatusCode::FORBIDDEN,
            "You cannot record consultations",
            self.0,
        )
    }
}

/// The clinician's `Practitioner/{id}`, if they may record consultations.
fn clinician(staff: &Staff) -> Result<String, NotAClinician> {
    if !staff.user.role.may(Activity::RecordConsultation) {
        return Err(NotAClinician(
            "Your role does not include recording consultations.",
        ));
    }
    staff.practitioner.clone().ok_or(NotAClinician(
        "Your account is not linked to a clinician record. Ask your practice manager to link it.",
    ))
}

/// A new form: today's face-to-face consultation, now.
fn blank_form() -> ConsultationForm {
    ConsultationForm {
        encounter_type: "11429006".into(),
        date: Local::now().format("%Y-%m-%dT%H:%M").to_string(),
        ..Default::default()
    }
}

fn restored_notice(draft: &Draft) -> String {
    let Some(saved) = draft.saved_at.map(|t| t.with_timezone(&Local)) else {
        return "Restored your unsaved draft".into();
    };
    if saved.date_naive() == Local::now().date_naive() {
        format!("Restored your unsaved draft from {}", saved.format("%H:%M"))
    } else {
        format!(
            "Restored your unsaved draft from {}",
            saved.format("%-d %B %Y at %H:%M")
        )
    }
}

async fn new_form(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let practitioner = match clinician(&staff) {
        Ok(p) => p,
        Err(refused) => return refused.page(),
    };
    let ctx = staff.ctx.clone();
    let loaded = with_repo(&state, move |repo| {
        let banner = clinical::record::banner(repo, &ctx, &id)?;
        let facts = consultation::patient_facts(repo, &ctx, &id)?;
        let colleagues = consultation::colleagues(repo, &ctx)?;
        let draft = consultation::load_draft(repo, &ctx, &id, &practitioner)?;
        Ok::<_, store::FhirError>((banner, facts, colleagues, draft))
    })
    .await;
    let (banner, facts, colleagues, draft) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(e)) => return store_error_page(&e),
        Err(failed) => return failed,
    };
    let (form, restored) = match &draft {
        Some(d) => (
            serde_json::from_value(d.form.clone()).unwrap_or_else(|_| blank_form()),
            Some(restored_notice(d)),
        ),
        None => (blank_form(), None),
    };
    let page = view::page(view::PageInput {
        chrome: Chrome::new(&staff, "New consultation", Section::None),
        banner,
        facts: &facts,
        colleagues: &colleagues,
        form: &form,
        errors: &FieldErrors::new(),
        warnings: &FieldErrors::new(),
        restored,
        max_date: Local::now().format("%Y-%m-%dT%H:%M").to_string(),
    });
    render(StatusCode::OK, &page)
}

/// What a save attempt came to.
enum Outcome {
    Saved,
    Rejected {
        errors: FieldErrors,
        warnings: FieldErrors,
    },
}

async fn submit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let practitioner = match clinician(&staff) {
        Ok(p) => p,
        Err(refused) => return refused.page(),
    };
    let upload = match upload::read(multipart).await {
        Ok(upload) => upload,
        Err(unreadable) => return unreadable,
    };
    if !staff.csrf_ok(upload.csrf.as_deref()) {
        return csrf_refused();
    }
    let form = upload.form;
    let ctx = staff.ctx.clone();
    let terminology = state.terminology.clone();
    let patient = id.clone();
    let checked_form = form.clone();
    let result = with_repo(&state, move |repo| {
        let facts = consultation::patient_facts(repo, &ctx, &patient)?;
        let colleagues = consultation::colleagues(repo, &ctx)?;
        let checks = Checks {
            terminology: &terminology,
            patient: &facts,
            colleagues: &colleagues,
            now: Local::now(),
        };
        let outcome = match consultation::validate(&checked_form, &checks) {
            Err(errors) => Outcome::Rejected {
                errors,
                warnings: FieldErrors::new(),
            },
            Ok(checked) if !checked.confirmed(&checked_form) => Outcome::Rejected {
                errors: FieldErrors::new(),
                warnings: checked.warnings,
            },
            Ok(checked) => {
                let organization = consultation::practice_organization(repo, &ctx)?;
                consultation::save(
                    repo,
                    &ctx,
                    &checked.consultation,
                    &practitioner,
                    organization.as_deref(),
                )?;
                Outcome::Saved
            }
        };
        // The banner only when the form is shown again.
        let banner = match outcome {
            Outcome::Saved => None,
            Outcome::Rejected { .. } => Some(clinical::record::banner(repo, &ctx, &patient)?),
        };
        Ok::<_, store::FhirError>((outcome, banner, facts, colleagues))
    })
    .await;
    let (outcome, banner, facts, colleagues) = match result {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return store_error_page(&e),
        Err(failed) => return failed,
    };
    match outcome {
        Outcome::Saved => {
            tracing::info!("consultation saved");
            see_other(&format!("/patients/{id}"))
        }
        Outcome::Rejected { errors, warnings } => {
            let Some(banner) = banner else {
                return see_other(&format!("/patients/{id}"));
            };
            let title = if errors.is_empty() {
                "Check the values"
            } else {
                "Error: New consultation"
            };
            let page = view::page(view::PageInput {
                chrome: Chrome::new(&staff, title, Section::None),
                banner,
                facts: &facts,
                colleagues: &colleagues,
                form: &form,
                errors: &errors,
                warnings: &warnings,
                restored: None,
                max_date: Local::now().format("%Y-%m-%dT%H:%M").to_string(),
            });
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// The page's autosave: a form body (`fetch`/`sendBeacon` of the form's fields) or a
/// JSON object of field names to values. The CSRF token comes in the body as `csrf`.
async fn autosave(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let practitioner = match clinician(&staff) {
        Ok(p) => p,
        Err(refused) => return refused.page(),
    };
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let pairs: Vec<(String, String)> = if is_json {
        match fhir::json::parse_strict(&body) {
            Ok(serde_json::Value::Object(map)) => map
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                .collect(),
            _ => {
                return (StatusCode::BAD_REQUEST, "The draft was not a JSON object")
                    .into_response();
            }
        }
    } else {
        Fields::parse(&body).pairs().to_vec()
    };
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if !staff.csrf_ok(csrf) {
        return csrf_refused();
    }
    let form = ConsultationForm::from_pairs(
        pairs
            .iter()
            .filter(|(k, _)| k != "csrf")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let form_json = match serde_json::to_value(&form) {
        Ok(json) => json,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let ctx = staff.ctx.clone();
    let saved = with_repo(&state, move |repo| {
        consultation::save_draft(repo, &ctx, &id, &practitioner, &form_json)
    })
    .await;
    match saved {
        Ok(Ok(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => store_error_page(&e),
        Err(failed) => failed,
    }
}

async fn discard(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let practitioner = match clinician(&staff) {
        Ok(p) => p,
        Err(refused) => return refused.page(),
    };
    let fields = Fields::parse(&body);
    if !staff.csrf_ok(fields.get("csrf")) {
        return csrf_refused();
    }
    let ctx = staff.ctx.clone();
    let patient = id.clone();
    let done = with_repo(&state, move |repo| {
        consultation::discard_draft(repo, &ctx, &patient, &practitioner)
    })
    .await;
    match done {
        Ok(Ok(())) => see_other(&format!("/patients/{id}/consultations/new")),
        Ok(Err(e)) => store_error_page(&e),
        Err(failed) => failed,
    }
}
