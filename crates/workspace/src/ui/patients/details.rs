//! "Contact details" of a registered patient: `GET /patients/{id}/details` shows the
//! form, `POST` saves it (`action=save`) and then tells PDS, or repeats only the PDS
//! step after PDS failed (`action=pds_retry`, with the changed details in `pds_fields`).

use super::contact;
use super::today;
use crate::pages::form::Fields;
use crate::pages::html::csrf_refused;
use crate::state::AppState;
use crate::ui::fields::{Choice, TextField};
use crate::ui::layout::{Chrome, Section, error_page, render};
use crate::ui::run::{store_error_page, with_repo};
use crate::ui::staff::Staff;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use clinical::patients::practice::{self, Gp};
use clinical::patients::update::pds_push::{self, PdsOutcome};
use clinical::patients::update::{self, Details, DetailsForm, Field, SaveError};
use clinical::record::{self, Banner};
use clinical::{FieldError, FieldErrors};
use store::access::Activity;

/// The outcome of a save or of the PDS step, shown above the form.
#[derive(Debug, Clone, Default)]
struct Notice {
    /// `notice--success`, `notice--warning` or empty.
    tone: &'static str,
    message: String,
    /// An `alert` (something went wrong) rather than a `status`.
    urgent: bool,
    /// After PDS failed: the details to send again (`pds_fields`), for the retry button.
    retry: Option<String>,
}

#[derive(Template)]
#[template(path = "patients/details.html")]
struct DetailsPage {
    chrome: Chrome,
    banner: Banner,
    errors: Vec<FieldError>,
    address: Vec<TextField>,
    phones: Vec<TextField>,
    contact_methods: Vec<Choice>,
    usual_gps: Vec<Choice>,
    form: DetailsForm,
    sensitive: bool,
    /// Why changes are not sent to PDS for this patient, if they are not.
    pds_note: Option<String>,
    notice: Option<Notice>,
}

impl DetailsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// What a re-rendered page shows besides the stored details.
#[derive(Default)]
struct Extras {
    /// What was typed, shown again (with `errors`) instead of the stored details.
    typed: Option<DetailsForm>,
    errors: FieldErrors,
    notice: Option<Notice>,
}

fn may_amend(staff: &Staff) -> bool {
    staff.user.role.may(Activity::AmendDemographics)
}

fn refused() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "You cannot change patients' details",
        "Your role does not allow changes to patients' details. Ask a receptionist or your practice manager.",
    )
}

/// `GET /patients/{id}/details`.
pub async fn form(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    if !may_amend(&staff) {
        return refused();
    }
    show(&state, &staff, &id, Extras::default(), StatusCode::OK).await
}

/// `POST /patients/{id}/details`.
pub async fn submit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !staff.csrf_ok(fields.get("csrf")) {
        return csrf_refused();
    }
    if !may_amend(&staff) {
        return refused();
    }
    if fields.get("action") == Some("pds_retry") {
        let wanted: Vec<Field> = fields
            .text("pds_fields")
            .split(',')
            .filter_map(Field::from_key)
            .collect();
        return retry(&state, &staff, &id, wanted).await;
    }
    save(&state, &staff, &id, read_form(&fields)).await
}

fn read_form(fields: &Fields) -> DetailsForm {
    DetailsForm {
        address_line1: fields.text("address_line1"),
        address_line2: fields.text("address_line2"),
        town: fields.text("town"),
        postcode: fields.text("postcode"),
        mobile: fields.text("mobile"),
        home_phone: fields.text("home_phone"),
        email: fields.text("email"),
        preferred_contact: fields.text("preferred_contact"),
        usual_gp: fields.text("usual_gp"),
        version: fields.text("version"),
    }
}

async fn save(state: &AppState, staff: &Staff, id: &str, form: DetailsForm) -> Response {
    let (ctx, patient, posted) = (staff.ctx.clone(), id.to_string(), form.clone());
    let saved = with_repo(state, move |repo| {
        update::save(repo, &ctx, &patient, &posted)
    })
    .await;
    let saved = match saved {
        Ok(Ok(saved)) => saved,
        Ok(Err(SaveError::Invalid(errors))) => {
            let extras = Extras {
                typed: Some(form),
                errors,
                ..Extras::default()
            };
            return show(state, staff, id, extras, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Ok(Err(SaveError::Conflict(_))) => {
            let notice = Notice {
                tone: "notice--warning",
                message: "Someone else changed this record while you were editing it, so nothing was saved. The form now shows the current version: check it and make your change again.".into(),
                urgent: true,
                retry: None,
            };
            let extras = Extras {
                notice: Some(notice),
                ..Extras::default()
            };
            return show(state, staff, id, extras, StatusCode::CONFLICT).await;
        }
        Ok(Err(SaveError::Store(e))) => return store_error_page(&e),
        Err(response) => return response,
    };
    let notice = if !saved.changed {
        Notice {
            message: "Nothing had changed, so nothing was saved.".into(),
            ..Notice::default()
        }
    } else if saved.for_pds.is_empty() {
        success("Saved.")
    } else {
        let outcome = tell_pds(state, &saved.details, saved.for_pds.clone()).await;
        pds_notice("Saved", &outcome, &saved.for_pds)
    };
    let extras = Extras {
        notice: Some(notice),
        ..Extras::default()
    };
    show(state, staff, id, extras, StatusCode::OK).await
}

/// Repeats only the PDS step, with the details as stored now.
async fn retry(state: &AppState, staff: &Staff, id: &str, wanted: Vec<Field>) -> Response {
    let (ctx, patient) = (staff.ctx.clone(), id.to_string());
    let details = match with_repo(state, move |repo| update::current(repo, &ctx, &patient)).await {
        Ok(Ok(details)) => details,
        Ok(Err(e)) => return store_error_page(&e),
        Err(response) => return response,
    };
    let outcome = tell_pds(state, &details, wanted.clone()).await;
    let extras = Extras {
        notice: Some(pds_notice(
            "The practice record is saved",
            &outcome,
            &wanted,
        )),
        ..Extras::default()
    };
    show(state, staff, id, extras, StatusCode::OK).await
}

/// The PDS step: on the blocking pool, as the adapter blocks on HTTP.
async fn tell_pds(state: &AppState, details: &Details, fields: Vec<Field>) -> PdsOutcome {
    if let Some(reason) = pds_push::why_not(details, state.pds.is_some()) {
        return PdsOutcome::NotSent(reason);
    }
    let Some(pds) = state.pds.clone() else {
        return PdsOutcome::NotSent("PDS is not set up on this server.".into());
    };
    let details = details.clone();
    let today = today().format("%Y-%m-%d").to_string();
    tokio::task::spawn_blocking(move || pds_push::push(pds.as_ref(), &details, &fields, &today))
        .await
        .unwrap_or_else(|_| PdsOutcome::Failed("OpenGP could not finish asking PDS".into()))
}

fn success(message: &str) -> Notice {
    Notice {
        tone: "notice--success",
        message: message.into(),
        ..Notice::default()
    }
}

fn pds_notice(saved: &str, outcome: &PdsOutcome, fields: &[Field]) -> Notice {
    match outcome {
        PdsOutcome::Updated => success(&format!("{saved}. PDS updated.")),
        PdsOutcome::AlreadyCurrent => success(&format!("{saved}. PDS already has these details.")),
        PdsOutcome::NotSent(reason) => Notice {
            message: format!("{saved} in the practice record. PDS was not updated: {reason}"),
            ..success("")
        },
        PdsOutcome::Failed(reason) => Notice {
            tone: "notice--warning",
            message: format!("{saved} in the practice record; PDS was not updated: {reason}."),
            urgent: true,
            retry: Some(fields.iter().map(|f| f.key()).collect::<Vec<_>>().join(",")),
        },
    }
}

async fn show(
    state: &AppState,
    staff: &Staff,
    id: &str,
    extras: Extras,
    status: StatusCode,
) -> Response {
    let (ctx, patient) = (staff.ctx.clone(), id.to_string());
    let loaded = with_repo(
        state,
        move |repo| -> store::FhirResult<(Banner, Details, Vec<Gp>)> {
            let banner = record::banner(repo, &ctx, &patient)?;
            let details = update::current(repo, &ctx, &patient)?;
            Ok((banner, details, practice::gps(repo, &ctx)?))
        },
    )
    .await;
    let (banner, details, gps) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(e)) => return store_error_page(&e),
        Err(response) => return response,
    };
    let pds_note = pds_push::why_not(&details, state.pds.is_some());
    let form = extras.typed.unwrap_or_else(|| details.form.clone());
    let errors = extras.errors;
    let address = contact::address_fields(
        [
            &form.address_line1,
            &form.address_line2,
            &form.town,
            &form.postcode,
        ],
        &errors,
    );
    let phones = contact::phone_fields([&form.mobile, &form.home_phone, &form.email], &errors);
    let page = DetailsPage {
        chrome: Chrome::new(
            staff,
            format!("{} - contact details", banner.name),
            Section::None,
        ),
        banner,
        address,
        phones,
        contact_methods: contact::contact_method_choices(&form.preferred_contact),
        usual_gps: contact::gp_choices(&gps, "Not chosen", &form.usual_gp),
        sensitive: details.sensitive,
        pds_note,
        notice: extras.notice,
        errors: errors.0,
        form,
    };
    render(status, &page)
}
