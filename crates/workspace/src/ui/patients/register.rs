//! "Register a patient": the form, the PDS trace (`action=trace`) and the registration
//! itself (`action=register`): validation, then duplicates, then one transaction.

use super::contact::{self, spec};
use super::register_form::{RegistrationForm, merged};
use super::today;
use crate::pages::form::Fields;
use crate::pages::html::{csrf_refused, see_other};
use crate::state::AppState;
use crate::ui::fields::{Choice, FieldSpec, TextField, choices, text_fields};
use crate::ui::layout::{Chrome, Section, error_page, render};
use crate::ui::run::{store_error_page, with_repo};
use crate::ui::staff::Staff;
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use clinical::conventions::{NHS_NUMBER_VERIFICATION, RegistrationType};
use clinical::patients::dates;
use clinical::patients::duplicates::{PossibleDuplicate, duplicates};
use clinical::patients::form::{GENDERS, validate};
use clinical::patients::practice;
use clinical::patients::register::register;
use clinical::patients::trace::{Candidate, TraceOutcome, trace};
use clinical::{FieldError, FieldErrors};
use store::FhirError;
use store::access::Activity;

/// What the last PDS trace found, as shown.
#[derive(Debug, Clone, Default)]
pub struct TraceView {
    /// `notice--success`, `notice--warning` or empty.
    pub tone: &'static str,
    pub message: String,
    pub details: Vec<String>,
    pub candidates: Vec<CandidateRow>,
}

#[derive(Debug, Clone)]
pub struct CandidateRow {
    pub nhs_number: String,
    pub nhs_number_display: String,
    pub name: String,
    pub born: String,
    pub gender: String,
    pub postcode: String,
}

impl From<&Candidate> for CandidateRow {
    fn from(c: &Candidate) -> CandidateRow {
        CandidateRow {
            nhs_number: c.nhs_number.clone(),
            nhs_number_display: fhir::uk::NhsNumber::spaced(&c.nhs_number),
            name: c.name.clone(),
            born: c.birth_date.map(fhir::uk::date_text).unwrap_or_default(),
            gender: c.gender.clone(),
            postcode: if c.sensitive {
                "Not shown".into()
            } else {
                c.postcode.clone().unwrap_or_default()
            },
        }
    }
}

/// A possible duplicate, as shown.
#[derive(Debug, Clone)]
pub struct DuplicateRow {
    pub id: String,
    pub name: String,
    pub born: String,
    pub nhs_number: String,
    pub reason: String,
}

impl From<&PossibleDuplicate> for DuplicateRow {
    fn from(d: &PossibleDuplicate) -> DuplicateRow {
        DuplicateRow {
            id: d.patient.id.clone(),
            name: d.patient.name.clone(),
            born: d
                .patient
                .birth_date
                .map(fhir::uk::date_text)
                .unwrap_or_default(),
            nhs_number: d.patient.nhs_number.clone().unwrap_or_default(),
            reason: d.reason.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "patients/register.html")]
struct RegisterPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    personal: Vec<TextField>,
    contact: Vec<TextField>,
    genders: Vec<Choice>,
    contact_methods: Vec<Choice>,
    registration_types: Vec<Choice>,
    statuses: Vec<Choice>,
    usual_gps: Vec<Choice>,
    named_gps: Vec<Choice>,
    form: RegistrationForm,
    /// Registration date for the date input (`YYYY-MM-DD` when it reads as a date).
    registration_date: String,
    pds_configured: bool,
    trace: Option<TraceView>,
    /// A record with the same NHS number exists: registration cannot go ahead.
    blocking: Vec<DuplicateRow>,
    /// Records that may be the same person: tick to go ahead.
    similar: Vec<DuplicateRow>,
}

impl RegisterPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// Everything a re-rendered form needs besides the form itself.
#[derive(Default)]
struct Extras {
    errors: FieldErrors,
    trace: Option<TraceView>,
    duplicates: Vec<PossibleDuplicate>,
}

fn may_register(staff: &Staff) -> bool {
    staff.user.role.may(Activity::AmendDemographics)
}

fn refused() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "You cannot register patients",
        "Your role does not allow changes to patients' details. Ask a receptionist or your practice manager.",
    )
}

pub async fn form(State(state): State<AppState>, staff: Staff) -> Response {
    if !may_register(&staff) {
        return refused();
    }
    let form = RegistrationForm {
        registration_type: RegistrationType::Permanent.code().to_string(),
        registration_date: today().format("%Y-%m-%d").to_string(),
        nhs_verification: "03".to_string(),
        ..RegistrationForm::default()
    };
    show(&state, &staff, form, Extras::default(), StatusCode::OK).await
}

pub async fn submit(State(state): State<AppState>, staff: Staff, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    if !staff.csrf_ok(fields.get("csrf")) {
        return csrf_refused();
    }
    if !may_register(&staff) {
        return refused();
    }
    let mut form = read_form(&fields);
    // "Use this number" on a PDS result traces again with that number.
    if let Some(number) = fields.get("use_nhs_number") {
        form.nhs_number = fhir::uk::NhsNumber::spaced(number);
        return traced(&state, &staff, form).await;
    }
    if fields.get("action") == Some("trace") {
        return traced(&state, &staff, form).await;
    }
    registering(&state, &staff, form).await
}

fn read_form(fields: &Fields) -> RegistrationForm {
    RegistrationForm {
        title: fields.text("title"),
        given: fields.text("given"),
        family: fields.text("family"),
        previous_surname: fields.text("previous_surname"),
        gender: fields.text("gender"),
        birth_day: fields.text("birth_day"),
        birth_month: fields.text("birth_month"),
        birth_year: fields.text("birth_year"),
        nhs_number: fields.text("nhs_number"),
        nhs_verification: fields.text("nhs_verification"),
        address_line1: fields.text("address_line1"),
        address_line2: fields.text("address_line2"),
        town: fields.text("town"),
        postcode: fields.text("postcode"),
        mobile: fields.text("mobile"),
        home_phone: fields.text("home_phone"),
        email: fields.text("email"),
        preferred_contact: fields.text("preferred_contact"),
        registration_type: fields.text("registration_type"),
        registration_date: fields.text("registration_date"),
        usual_gp: fields.text("usual_gp"),
        named_gp: fields.text("named_gp"),
        confirm_not_duplicate: fields.get("confirm_not_duplicate") == Some("yes"),
        pds_traced: fields.get("pds_traced") == Some("yes"),
        sensitive: fields.get("sensitive") == Some("yes"),
    }
}

async fn traced(state: &AppState, staff: &Staff, form: RegistrationForm) -> Response {
    let Some(pds) = state.pds.clone() else {
        let view = TraceView {
            tone: "notice--warning",
            message: "PDS is not set up on this server, so the NHS number cannot be traced. \
                      Register with status 02 (number present but not traced) or 03 (trace required)."
                .into(),
            ..TraceView::default()
        };
        return show_traced(state, staff, form, view).await;
    };
    let outcome = match form.trace_query(today()) {
        Ok(query) => tokio::task::spawn_blocking(move || trace(pds.as_ref(), &query))
            .await
            .unwrap_or(TraceOutcome::Unavailable),
        Err(outcome) => outcome,
    };
    let next = form.after_trace(&outcome);
    show_traced(state, staff, next, trace_view(&outcome)).await
}

async fn show_traced(
    state: &AppState,
    staff: &Staff,
    form: RegistrationForm,
    view: TraceView,
) -> Response {
    let extras = Extras {
        trace: Some(view),
        ..Extras::default()
    };
    show(state, staff, form, extras, StatusCode::OK).await
}

fn trace_view(outcome: &TraceOutcome) -> TraceView {
    let view = |tone, message: &str| TraceView {
        tone,
        message: message.to_string(),
        ..TraceView::default()
    };
    match outcome {
        TraceOutcome::Verified(found) => TraceView {
            details: if found.sensitive {
                vec!["This is a sensitive record: PDS does not share the address or phone numbers, and the new record will be restricted.".into()]
            } else {
                vec![]
            },
            ..view(
                "notice--success",
                "PDS confirmed the NHS number and details (status 01). The form now shows what PDS holds: check it with the patient.",
            )
        },
        TraceOutcome::Mismatch { differences } => TraceView {
            details: differences.clone(),
            ..view(
                "notice--warning",
                "The NHS number is on PDS, but the details differ (status 05). Check them with the patient.",
            )
        },
        TraceOutcome::UnknownNumber => view(
            "notice--warning",
            "No patient on PDS has this NHS number (status 05). Check the number with the patient.",
        ),
        TraceOutcome::Found(one) => TraceView {
            candidates: vec![CandidateRow::from(one)],
            ..view(
                "",
                "PDS found one patient with these details. If it is them, use their NHS number.",
            )
        },
        TraceOutcome::Several(many) => TraceView {
            candidates: many.iter().map(CandidateRow::from).collect(),
            ..view(
                "",
                "PDS found several patients with these details. Choose the right one with the patient.",
            )
        },
        TraceOutcome::NoMatch { too_many: false } => view(
            "notice--warning",
            "PDS found nobody with these details (status 04). Check the spelling and date of birth, or register and trace later.",
        ),
        TraceOutcome::NoMatch { too_many: true } => view(
            "notice--warning",
            "Too many patients on PDS match (status 04): add the first name, gender and postcode, then trace again.",
        ),
        TraceOutcome::NeedsDetails(message) => view("notice--warning", message),
        TraceOutcome::Unavailable => view(
            "notice--warning",
            "PDS is not answering just now. You can register with status 02 (number present but not traced) or 03 (trace required) and trace later.",
        ),
    }
}

async fn registering(state: &AppState, staff: &Staff, form: RegistrationForm) -> Response {
    let today = today();
    let (new, unreadable) = form.new_patient(today);
    let checked = validate(&new, today);
    let mut errors = merged(
        unreadable,
        checked.as_ref().err().cloned().unwrap_or_default(),
    );
    let valid = checked.ok().filter(|_| errors.is_empty());
    let ctx = staff.ctx.clone();
    let posted = form.clone();
    let outcome = with_repo(state, move |repo| {
        let gps = practice::gps(repo, &ctx)?;
        for field in ["usual_gp", "named_gp"] {
            let chosen = if field == "usual_gp" { &posted.usual_gp } else { &posted.named_gp };
            if !chosen.is_empty() && !gps.iter().any(|g| &g.id == chosen) {
                errors.add(field, "Choose a GP of this practice from the list");
            }
        }
        let (Some(valid), true) = (valid, errors.is_empty()) else {
            return Ok(Step::Invalid(errors, vec![]));
        };
        let found = duplicates(repo, &ctx, &valid, today)?;
        if found.iter().any(PossibleDuplicate::blocks) {
            let mut errors = FieldErrors::new();
            errors.add("nhs_number", "A patient with this NHS number is already registered: open their record below");
            return Ok(Step::Invalid(errors, found));
        }
        if !found.is_empty() && !posted.confirm_not_duplicate {
            let mut errors = FieldErrors::new();
            errors.add(
                "confirm_not_duplicate",
                "This may be a patient who is already registered: check the records below, then tick 'This is not the same person' to register",
            );
            return Ok(Step::Invalid(errors, found));
        }
        let Some(organization) = practice::organization(repo, &ctx)? else {
            return Ok(Step::NoPractice);
        };
        let registered = register(repo, &ctx, &valid, &organization)?;
        if registered.already_existed {
            let mut errors = FieldErrors::new();
            errors.add("nhs_number", "A patient with this NHS number was registered a moment ago: open their record below");
            let found = duplicates(repo, &ctx, &valid, today)?;
            return Ok(Step::Invalid(errors, found));
        }
        Ok::<_, FhirError>(Step::Done(registered.patient_id))
    })
    .await;
    match outcome {
        Ok(Ok(Step::Done(id))) => see_other(&format!("/patients/{id}")),
        Ok(Ok(Step::Invalid(errors, duplicates))) => {
            let extras = Extras {
                errors,
                duplicates,
                ..Extras::default()
            };
            show(state, staff, form, extras, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Ok(Ok(Step::NoPractice)) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "This practice is not set up",
            "The practice's organisation record is missing, so patients cannot be registered yet. Ask your practice manager.",
        ),
        Ok(Err(e)) => store_error_page(&e),
        Err(response) => response,
    }
}

enum Step {
    Done(String),
    Invalid(FieldErrors, Vec<PossibleDuplicate>),
    NoPractice,
}

const PERSONAL: [FieldSpec; 4] = [
    spec(
        "title",
        "Title (optional)",
        "For example Mr, Mrs, Ms, Dr",
        "text",
        "honorific-prefix",
        "short",
    ),
    spec(
        "given",
        "First name",
        "Include any middle names",
        "text",
        "given-name",
        "",
    ),
    spec("family", "Last name", "", "text", "family-name", ""),
    spec(
        "previous_surname",
        "Previous last name (optional)",
        "For example a name before marriage",
        "text",
        "off",
        "",
    ),
];

async fn show(
    state: &AppState,
    staff: &Staff,
    form: RegistrationForm,
    extras: Extras,
    status: StatusCode,
) -> Response {
    let ctx = staff.ctx.clone();
    let gps = match with_repo(state, move |repo| practice::gps(repo, &ctx)).await {
        Ok(Ok(gps)) => gps,
        Ok(Err(e)) => return store_error_page(&e),
        Err(response) => return response,
    };
    let errors = extras.errors;
    let personal = text_fields(
        &PERSONAL,
        &[
            &form.title,
            &form.given,
            &form.family,
            &form.previous_surname,
        ],
        &errors,
    );
    let mut contact = contact::address_fields(
        [
            &form.address_line1,
            &form.address_line2,
            &form.town,
            &form.postcode,
        ],
        &errors,
    );
    contact.extend(contact::phone_fields(
        [&form.mobile, &form.home_phone, &form.email],
        &errors,
    ));
    let registration_date = dates::parse_typed(&form.registration_date, today())
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| form.registration_date.clone());
    let (blocking, similar): (Vec<_>, Vec<_>) = extras.duplicates.iter().partition(|d| d.blocks());
    let page = RegisterPage {
        chrome: Chrome::new(staff, "Register a patient", Section::Register),
        personal,
        contact,
        genders: choices(GENDERS.iter().copied(), &form.gender),
        contact_methods: contact::contact_method_choices(&form.preferred_contact),
        registration_types: choices(
            RegistrationType::ALL
                .iter()
                .map(|t| (t.code(), t.display())),
            &form.registration_type,
        ),
        statuses: choices(
            NHS_NUMBER_VERIFICATION
                .iter()
                .map(|(c, d)| (*c, format!("{c} {d}"))),
            &form.nhs_verification,
        ),
        usual_gps: contact::gp_choices(&gps, "Not chosen yet", &form.usual_gp),
        named_gps: contact::gp_choices(&gps, "Not chosen yet", &form.named_gp),
        registration_date,
        pds_configured: state.pds.is_some(),
        trace: extras.trace,
        blocking: blocking.into_iter().map(DuplicateRow::from).collect(),
        similar: similar.into_iter().map(DuplicateRow::from).collect(),
        errors: errors.0,
        form,
    };
    render(status, &page)
}
