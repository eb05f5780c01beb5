//! `GET /`: where a member of staff lands after signing in: today's appointments, the
//! tasks assigned to them and the patients they opened recently. Signed-out visitors
//! go to the sign-in page (the [`Staff`] extractor does that).

use super::layout::{Chrome, Section, render};
use super::run::{store_error_page, with_repo};
use super::staff::Staff;
use super::tasks::TaskRow;
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Local, NaiveDate};
use clinical::{fetch, recent, tasks};
use serde_json::Value;
use std::collections::HashMap;
use store::{FhirError, Repository, RequestContext};

/// How many recently viewed patients the home page lists.
const RECENT_LIMIT: usize = 10;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

/// One of today's appointments.
#[derive(Debug, Clone)]
pub struct AppointmentRow {
    pub time: String,
    pub patient_id: Option<String>,
    pub patient_name: String,
    pub description: String,
    pub status: String,
}

/// A recently viewed patient.
#[derive(Debug, Clone)]
pub struct RecentRow {
    pub id: String,
    pub name: String,
    pub born: String,
    pub nhs_number: String,
}

/// A section's content, or why it cannot be shown to this user.
#[derive(Debug)]
pub enum Part<T> {
    Shown(Vec<T>),
    Unavailable(&'static str),
}

#[derive(Template)]
#[template(path = "home/home.html")]
struct HomePage {
    chrome: Chrome,
    today: String,
    appointments: Part<AppointmentRow>,
    tasks: Part<TaskRow>,
    recent: Part<RecentRow>,
}

async fn home(State(state): State<AppState>, staff: Staff) -> Response {
    let today = Local::now().date_naive();
    let (ctx, user_id, practitioner) = (
        staff.ctx.clone(),
        staff.user.id.clone(),
        staff.practitioner.clone(),
    );
    let loaded = with_repo(&state, move |repo| {
        load(repo, &ctx, &user_id, practitioner.as_deref(), today)
    })
    .await;
    let (appointments, tasks, recent) = match loaded {
        Ok(Ok(parts)) => parts,
        Ok(Err(e)) => return store_error_page(&e),
        Err(response) => return response,
    };
    let page = HomePage {
        chrome: Chrome::new(&staff, "Home", Section::Home),
        today: today.format("%A %-d %B %Y").to_string(),
        appointments,
        tasks,
        recent,
    };
    render(StatusCode::OK, &page)
}

type Sections = (Part<AppointmentRow>, Part<TaskRow>, Part<RecentRow>);

fn load(
    repo: &Repository,
    ctx: &RequestContext,
    user_id: &str,
    practitioner: Option<&str>,
    today: NaiveDate,
) -> Result<Sections, FhirError> {
    const NOT_LINKED: &str = "Your account is not linked to a clinician record, so nothing can \
        be booked with or assigned to you. Ask your practice manager to link it.";
    let appointments = match practitioner {
        None => Part::Unavailable(NOT_LINKED),
        Some(p) => allowed(
            todays_appointments(repo, ctx, p, today),
            "Your role does not include the appointment book.",
        )?,
    };
    let tasks = match practitioner {
        None => Part::Unavailable(NOT_LINKED),
        Some(p) => allowed(
            tasks::inbox(repo, ctx, p, today).map(|t| t.iter().map(TaskRow::from).collect()),
            "Your role does not include clinical tasks.",
        )?,
    };
    let recent = Part::Shown(
        recent::recently_viewed(repo, ctx, user_id, RECENT_LIMIT)?
            .into_iter()
            .map(|p| RecentRow {
                born: p
                    .birth_date
                    .map(|d| d.format("%-d %b %Y").to_string())
                    .unwrap_or_default(),
                nhs_number: p
                    .nhs_number
                    .as_deref()
                    .map(spaced_nhs_number)
                    .unwrap_or_default(),
                id: p.id,
                name: p.name,
            })
            .collect(),
    );
    Ok((appointments, tasks, recent))
}

/// A section the user's role may not see is explained rather than an error.
fn allowed<T>(
    result: Result<Vec<T>, FhirError>,
    refused: &'static str,
) -> Result<Part<T>, FhirError> {
    match result {
        Ok(rows) => Ok(Part::Shown(rows)),
        Err(FhirError::Forbidden(_)) => Ok(Part::Unavailable(refused)),
        Err(e) => Err(e),
    }
}

/// Appointments today with `practitioner`, in time order, with the patients' names.
fn todays_appointments(
    repo: &Repository,
    ctx: &RequestContext,
    practitioner: &str,
    today: NaiveDate,
) -> Result<Vec<AppointmentRow>, FhirError> {
    let day = today.format("%Y-%m-%d").to_string();
    let bundle = fetch::search_bundle(
        repo,
        ctx,
        "Appointment",
        &[
            ("actor", practitioner),
            ("date", day.as_str()),
            ("_sort", "date"),
            ("_count", "100"),
            ("_include", "Appointment:actor"),
        ],
    )?;
    let (appointments, included) = fetch::split(bundle);
    let names: HashMap<String, String> = included
        .iter()
        .filter(|r| r["resourceType"] == "Patient")
        .filter_map(|r| Some((r["id"].as_str()?.to_string(), tasks::person_name(r)?)))
        .collect();
    Ok(appointments
        .iter()
        .map(|a| appointment_row(a, &names))
        .collect())
}

fn appointment_row(appointment: &Value, names: &HashMap<String, String>) -> AppointmentRow {
    let patient_id = appointment["participant"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["actor"]["reference"].as_str())
        .find_map(|r| r.strip_prefix("Patient/"))
        .map(str::to_string);
    let patient_name = patient_id
        .as_ref()
        .and_then(|id| names.get(id).cloned())
        .unwrap_or_else(|| "No patient".to_string());
    let time = appointment["start"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Local).format("%H:%M").to_string())
        .unwrap_or_default();
    AppointmentRow {
        time,
        patient_id,
        patient_name,
        description: appointment["description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        status: appointment["status"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// An NHS number as people read it: 3-3-4 digits.
pub fn spaced_nhs_number(number: &str) -> String {
    if number.len() == 10 && number.bytes().all(|b| b.is_ascii_digit()) {
        format!("{} {} {}", &number[..3], &number[3..6], &number[6..])
    } else {
        number.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nhs_numbers_read_in_three_groups() {
        assert_eq!(spaced_nhs_number("9434765919"), "943 476 5919");
        assert_eq!(spaced_nhs_number("12345"), "12345");
    }

    #[test]
    fn an_appointment_row_names_its_patient() {
        let names = HashMap::from([("p1".to_string(), "Ann Smith".to_string())]);
        let row = appointment_row(
            &json!({
                "status": "booked",
                "start": "2025-03-03T09:10:00Z",
                "participant": [
                    {"actor": {"reference": "Practitioner/gp"}},
                    {"actor": {"reference": "Patient/p1"}}
                ]
            }),
            &names,
        );
        assert_eq!(row.patient_id.as_deref(), Some("p1"));
        assert_eq!(row.patient_name, "Ann Smith");
        assert_eq!(row.status, "booked");
        assert_eq!(row.time.len(), 5);
    }
}
