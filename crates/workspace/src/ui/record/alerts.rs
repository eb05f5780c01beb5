//! Adding and ending a patient's alerts from the record page.

use super::glass::Glass;
use super::page::{RecordForms, render_with_forms};
use crate::pages::form::Fields;
use crate::pages::html::{csrf_refused, see_other};
use crate::state::AppState;
use crate::ui::run::{store_error_page, with_repo};
use crate::ui::staff::Staff;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use clinical::FieldErrors;
use clinical::alerts::{self, NewAlert};
use clinical::problems::{ChangeError, ChangeField};
use clinical::record::JournalQuery;

/// Where to go back to after a change: the record, with its break-glass reason.
pub fn record_href(patient_id: &str, glass: &Glass) -> String {
    format!("/patients/{patient_id}{}", glass.only_query())
}

/// `POST /patients/{id}/alerts`.
pub async fn add(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !staff.csrf_ok(fields.get("csrf")) {
        return csrf_refused();
    }
    let glass = Glass::from_fields(&fields);
    let staff = match glass.apply(staff, &id) {
        Ok(s) => s,
        Err(page) => return *page,
    };
    let ends_text = fields.text("ends");
    let ends = date_input(
        &ends_text,
        ChangeField::AlertEnds,
        "The end date must be a real date, like 2026-03-12",
    );
    let alert = NewAlert {
        category: fields.text("category"),
        text: fields.text("text"),
        ends: ends.clone().unwrap_or_default(),
    };
    let (ctx, author, patient, a) = (
        staff.ctx.clone(),
        staff.practitioner.clone(),
        id.clone(),
        alert.clone(),
    );
    let result = match ends {
        // Nothing is written; the rest is checked too, so every problem shows.
        Err(unreadable) => {
            let mut all = alerts::check(&alert).err().unwrap_or_default();
            all.extend(unreadable);
            Ok(Err(ChangeError::Invalid(all)))
        }
        Ok(_) => {
            with_repo(&state, move |repo| {
                alerts::add_alert(repo, &ctx, &patient, &a, author.as_deref())
            })
            .await
        }
    };
    match result {
        Ok(Ok(_)) => see_other(&record_href(&id, &glass)),
        Ok(Err(ChangeError::Invalid(errors))) => {
            let forms = RecordForms {
                alert_category: alert.category,
                alert_text: alert.text,
                alert_ends: ends_text,
                errors: input_errors(errors),
            };
            render_with_forms(
                &state,
                staff,
                &id,
                JournalQuery::default(),
                forms,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Ok(Err(e)) => change_error_page(e),
        Err(response) => response,
    }
}

/// `POST /patients/{id}/alerts/{flag_id}/end`.
pub async fn end(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, flag_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !staff.csrf_ok(fields.get("csrf")) {
        return csrf_refused();
    }
    let glass = Glass::from_fields(&fields);
    let staff = match glass.apply(staff, &id) {
        Ok(s) => s,
        Err(page) => return *page,
    };
    let version: i64 = fields
        .get("version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (ctx, patient) = (staff.ctx.clone(), id.clone());
    let result = with_repo(&state, move |repo| {
        alerts::end_alert(repo, &ctx, &patient, &flag_id, version)
    })
    .await;
    match result {
        Ok(Ok(())) => see_other(&record_href(&id, &glass)),
        Ok(Err(e)) => change_error_page(e),
        Err(response) => response,
    }
}

/// The page for a change that was not made for a reason other than the form's fields.
pub fn change_error_page(e: ChangeError) -> Response {
    match e {
        ChangeError::Store(e) => store_error_page(&e),
        ChangeError::Conflict => store_error_page(&store::FhirError::PreconditionFailed(
            "changed by someone else".into(),
        )),
        ChangeError::Invalid(errors) => crate::ui::layout::error_page(
            StatusCode::BAD_REQUEST,
            "That could not be saved",
            &input_errors(errors).to_string(),
        ),
    }
}

/// A date input's value (`YYYY-MM-DD`, as date pickers send it), `None` when empty;
/// when it is not a date, `unreadable` at `field`.
pub fn date_input(
    text: &str,
    field: ChangeField,
    unreadable: &str,
) -> Result<Option<NaiveDate>, FieldErrors<ChangeField>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            let mut errors = FieldErrors::new();
            errors.add(field, unreadable);
            errors
        })
}

/// The input a problem or alert form has for each part of the change.
pub fn input_name(field: ChangeField) -> &'static str {
    match field {
        ChangeField::Code => "code",
        ChangeField::Onset => "onset",
        ChangeField::Ended => "ended",
        ChangeField::Entry => "entry",
        ChangeField::AlertCategory => "category",
        ChangeField::AlertText => "text",
        ChangeField::AlertEnds => "ends",
    }
}

/// The service's problems keyed by this page's input names.
pub fn input_errors(errors: FieldErrors<ChangeField>) -> FieldErrors {
    errors.map_fields(|f| input_name(f).to_string())
}
