//! "Contact details" of a registered patient: `GET /patients/{id}/details` shows the
//! form, `POST` saves it (`action=save`), queueing the PDS update in the outbox with
//! the save, or sends a PDS update that failed for good back to the queue
//! (`action=pds_retry`, with its `message` id). The page shows the latest PDS update's
//! state (queued, sent, failed with its reason); `GET /patients/{id}/details/pds` is
//! that part alone, which a small script fetches again while the update is queued.

use super::contact;
use super::register_form::merged;
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
use axum::response::{IntoResponse, Response};
use clinical::patients::contact as clinical_contact;
use clinical::patients::form::{Address, ContactMethod, PatientField, Telecom};
use clinical::patients::practice::{self, Gp};
use clinical::patients::update::pds_push;
use clinical::patients::update::{self, ContactChange, DetailsForm, SaveError, ToPds};
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
}

/// The latest PDS update of this patient, as the page shows it.
#[derive(Template)]
#[template(path = "patients/pds_status.html")]
struct PdsStatus {
    patient_id: String,
    csrf: String,
    /// `queued`, `sent` or `failed`.
    state: &'static str,
    message: String,
    /// A failed update's message id, for the "Try again" button.
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
    pds_status: Option<PdsStatus>,
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
        return retry(&state, &staff, &id, fields.text("message")).await;
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

/// The change the form asks for, and the problems of the values that could not be read.
fn contact_change(form: &DetailsForm) -> (ContactChange, FieldErrors<PatientField>) {
    let mut problems = FieldErrors::new();
    let mut read = |parsed: Result<Option<String>, &str>, field| {
        parsed.unwrap_or_else(|message| {
            problems.add(field, message);
            None
        })
    };
    let address = Address {
        lines: [&form.address_line1, &form.address_line2]
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .collect(),
        town: Some(form.town.trim().to_string()).filter(|t| !t.is_empty()),
        postcode: read(
            clinical_contact::uk_postcode(&form.postcode),
            PatientField::Postcode,
        ),
    };
    let telecom = Telecom {
        mobile: read(clinical_contact::phone(&form.mobile), PatientField::Mobile),
        home_phone: read(
            clinical_contact::phone(&form.home_phone),
            PatientField::HomePhone,
        ),
        email: read(clinical_contact::email(&form.email), PatientField::Email),
    };
    let preferred_contact = match form.preferred_contact.as_str() {
        "" => None,
        key => ContactMethod::from_key(key).or_else(|| {
            problems.add(
                PatientField::PreferredContact,
                clinical_contact::UNKNOWN_METHOD,
            );
            None
        }),
    };
    let change = ContactChange {
        address,
        telecom,
        preferred_contact,
        usual_gp: Some(form.usual_gp.trim().to_string()).filter(|g| !g.is_empty()),
        version: form.version.trim().parse().ok(),
    };
    (change, problems)
}

async fn save(state: &AppState, staff: &Staff, id: &str, form: DetailsForm) -> Response {
    let (change, unreadable) = contact_change(&form);
    if !unreadable.is_empty() {
        // Nothing is saved; what could be read is checked too, so every problem shows.
        let checked = update::validate(&change, false).err().unwrap_or_default();
        let extras = Extras {
            typed: Some(form),
            errors: merged(unreadable, checked),
            ..Extras::default()
        };
        return show(state, staff, id, extras, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let (ctx, patient, posted) = (staff.ctx.clone(), id.to_string(), change);
    let pds_today = state
        .pds
        .is_some()
        .then(|| today().format("%Y-%m-%d").to_string());
    let saved = with_repo(state, move |repo| {
        update::save(repo, &ctx, &patient, &posted, pds_today.as_deref())
    })
    .await;
    let saved = match saved {
        Ok(Ok(saved)) => saved,
        Ok(Err(SaveError::Invalid(errors))) => {
            let errors = contact::input_errors(errors);
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
    } else {
        match &saved.pds {
            ToPds::NothingToSend => success("Saved."),
            ToPds::Queued(_) => success("Saved. Queued for PDS."),
            ToPds::NotSent(reason) => Notice {
                message: format!("Saved in the practice record. PDS was not updated: {reason}"),
                ..success("")
            },
        }
    };
    let extras = Extras {
        notice: Some(notice),
        ..Extras::default()
    };
    show(state, staff, id, extras, StatusCode::OK).await
}

/// Sends this patient's failed PDS update back to the outbox queue.
async fn retry(state: &AppState, staff: &Staff, id: &str, message: String) -> Response {
    let (practice, patient) = (staff.ctx.practice.clone(), id.to_string());
    // Read the patient first: the retry is for someone allowed to see this record.
    let ctx = staff.ctx.clone();
    let requeued = with_repo(state, move |repo| -> store::FhirResult<bool> {
        update::current(repo, &ctx, &patient)?;
        let store = repo.store().as_ref();
        let ours = outbox::for_subject(store, &practice, &format!("Patient/{patient}"), 20)?
            .iter()
            .any(|m| m.id == message && m.state == outbox::MessageState::Dead);
        Ok(ours && outbox::retry(store, Some(&practice), &message)?)
    })
    .await;
    let notice = match requeued {
        Ok(Ok(true)) => success("The PDS update is queued again."),
        Ok(Ok(false)) => Notice {
            message: "That PDS update is no longer waiting to be tried again.".into(),
            ..Notice::default()
        },
        Ok(Err(e)) => return store_error_page(&e),
        Err(response) => return response,
    };
    let extras = Extras {
        notice: Some(notice),
        ..Extras::default()
    };
    show(state, staff, id, extras, StatusCode::OK).await
}

fn success(message: &str) -> Notice {
    Notice {
        tone: "notice--success",
        message: message.into(),
        ..Notice::default()
    }
}

/// `GET /patients/{id}/details/pds`: the PDS update part alone (for the script).
pub async fn pds_part(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    if !may_amend(&staff) {
        return refused();
    }
    let (ctx, patient) = (staff.ctx.clone(), id.clone());
    let loaded = with_repo(&state, move |repo| -> store::FhirResult<_> {
        update::current(repo, &ctx, &patient)?;
        latest_pds_update(repo, &ctx.practice, &patient)
    })
    .await;
    match loaded {
        Ok(Ok(Some(latest))) => {
            render(StatusCode::OK, &pds_status(&id, staff.csrf.clone(), latest))
        }
        Ok(Ok(None)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => store_error_page(&e),
        Err(response) => response,
    }
}

/// The patient's latest PDS update in the outbox, if there is one.
fn latest_pds_update(
    repo: &store::Repository,
    practice: &str,
    patient_id: &str,
) -> store::FhirResult<Option<outbox::Summary>> {
    let subject = format!("Patient/{patient_id}");
    let messages = outbox::for_subject(repo.store().as_ref(), practice, &subject, 10)?;
    Ok(messages.into_iter().find(|m| m.kind == pds_push::KIND))
}

fn pds_status(patient_id: &str, csrf: String, m: outbox::Summary) -> PdsStatus {
    use outbox::MessageState::*;
    let when = |micros: Option<i64>| {
        chrono::DateTime::from_timestamp_micros(micros.unwrap_or(m.created))
            .map(|t| fhir::uk::date_time_text(&t))
            .unwrap_or_default()
    };
    let (state, message, retry) = match m.state {
        Pending => {
            let message = match (&m.last_error, m.attempts) {
                (Some(why), n) if n > 0 => format!(
                    "Queued for PDS since {}: not sent yet ({n} tries; the last: {why}). OpenGP keeps trying.",
                    when(None)
                ),
                _ => format!(
                    "Queued for PDS since {}: it will be sent in a moment.",
                    when(None)
                ),
            };
            ("queued", message, None)
        }
        Sent => (
            "sent",
            format!(
                "Sent to PDS on {}: {}.",
                when(m.done_at),
                m.outcome.as_deref().unwrap_or("accepted")
            ),
            None,
        ),
        Dead => (
            "failed",
            format!(
                "The PDS update failed on {}: {}.",
                when(m.done_at),
                m.last_error.as_deref().unwrap_or("no reason was given")
            ),
            Some(m.id.clone()),
        ),
    };
    PdsStatus {
        patient_id: patient_id.to_string(),
        csrf,
        state,
        message,
        retry,
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
    type Loaded = (Banner, update::Details, Vec<Gp>, Option<outbox::Summary>);
    let loaded = with_repo(state, move |repo| -> store::FhirResult<Loaded> {
        let banner = record::banner(repo, &ctx, &patient)?;
        let details = update::current(repo, &ctx, &patient)?;
        let latest = latest_pds_update(repo, &ctx.practice, &patient)?;
        Ok((banner, details, practice::gps(repo, &ctx)?, latest))
    })
    .await;
    let (banner, details, gps, latest) = match loaded {
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
        pds_status: latest.map(|m| pds_status(id, staff.csrf.clone(), m)),
        errors: errors.0,
        form,
    };
    render(status, &page)
}
