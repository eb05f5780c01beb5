//! Tasks between colleagues: the inbox (`GET /tasks`, assigned to me or sent by me),
//! setting a task (`GET/POST /tasks/new`, optionally `?patient=<id>`), one task
//! (`GET /tasks/{id}`) and what can be done to it (`POST /tasks/{id}/start`,
//! `/complete`, `/reassign`, `/cancel`). Each change posts the version the user saw, so
//! a task someone else changed meanwhile is shown again rather than overwritten. A task
//! page offers only the moves this user may make ([`tasks::allowed_actions`]); a move
//! posted anyway is refused (403) on the task page with the reason, changing nothing.

use super::layout::{Chrome, Section, render};
use super::run::{store_error_page, with_repo};
use super::staff::Staff;
use crate::pages::form::Fields;
use crate::pages::html::{csrf_refused, see_other};
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{Local, NaiveDate};
use clinical::tasks::{self, Action, Priority, TaskError, TaskInput, TaskStatus, TaskSummary};
use clinical::{FieldError, FieldErrors};
use store::FhirError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list))
        .route("/tasks/new", get(new_form).post(create))
        .route("/tasks/{id}", get(show))
        .route("/tasks/{id}/{action}", post(act))
}

/// A task as a list or page shows it (names resolved, dates formatted).
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: String,
    pub version: i64,
    pub description: String,
    /// The first line, shortened, for lists.
    pub short_description: String,
    pub due: String,
    pub overdue: bool,
    pub urgent: bool,
    pub open: bool,
    pub in_progress: bool,
    pub status: &'static str,
    pub patient_id: Option<String>,
    pub patient_name: String,
    pub owner_id: String,
    pub owner_name: String,
    pub requester_name: String,
    pub set_on: String,
    pub notes: Vec<String>,
}

const UNKNOWN_PERSON: &str = "someone you cannot see";

impl From<&TaskSummary> for TaskRow {
    fn from(t: &TaskSummary) -> TaskRow {
        let name = |p: &Option<tasks::Party>| {
            p.as_ref()
                .and_then(|p| p.name.clone())
                .unwrap_or_else(|| UNKNOWN_PERSON.to_string())
        };
        let first_line = t.description.lines().next().unwrap_or_default();
        let short_description = if first_line.chars().count() > 120 {
            format!("{}…", first_line.chars().take(119).collect::<String>())
        } else {
            first_line.to_string()
        };
        TaskRow {
            id: t.id.clone(),
            version: t.version,
            description: t.description.clone(),
            short_description,
            due: t.due.map(long_date).unwrap_or_default(),
            overdue: t.overdue,
            urgent: t.priority == Priority::Urgent,
            open: t.status.is_open(),
            in_progress: t.status == TaskStatus::InProgress,
            status: t.status.display(),
            patient_id: t.patient.as_ref().map(|p| p.id.clone()),
            patient_name: t
                .patient
                .as_ref()
                .and_then(|p| p.name.clone())
                .unwrap_or_else(|| "patient record not available".to_string()),
            owner_id: t.owner.as_ref().map(|p| p.id.clone()).unwrap_or_default(),
            owner_name: name(&t.owner),
            requester_name: name(&t.requester),
            set_on: t
                .authored_on
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map(long_date)
                .unwrap_or_default(),
            notes: t.notes.clone(),
        }
    }
}

fn long_date(date: NaiveDate) -> String {
    date.format("%-d %b %Y").to_string()
}

fn today() -> NaiveDate {
    Local::now().date_naive()
}

/// A colleague in the owner list.
#[derive(Debug, Clone)]
pub struct Colleague {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

fn colleague_options(people: Vec<(String, String)>, selected: &str) -> Vec<Colleague> {
    people
        .into_iter()
        .map(|(id, name)| Colleague {
            selected: id == selected,
            id,
            name,
        })
        .collect()
}

/// Why a page cannot be used: the account has no clinician record to act as.
fn not_linked() -> Response {
    super::layout::error_page(
        StatusCode::FORBIDDEN,
        "You cannot use tasks",
        "Your account is not linked to a clinician record. Ask your practice manager to link it.",
    )
}

// --- the inbox ---

#[derive(Template)]
#[template(path = "tasks/list.html")]
struct ListPage {
    chrome: Chrome,
    sent_view: bool,
    rows: Vec<TaskRow>,
    notice: Option<&'static str>,
}

async fn list(State(state): State<AppState>, staff: Staff, RawQuery(query): RawQuery) -> Response {
    let Some(me) = staff.practitioner.clone() else {
        return not_linked();
    };
    let query = Fields::from_query(query.as_deref());
    let sent_view = query.get("view") == Some("sent");
    let notice = match query.get("done") {
        Some("created") => Some("Task sent."),
        Some("completed") => Some("Task completed."),
        Some("cancelled") => Some("Task cancelled."),
        Some("reassigned") => Some("Task reassigned."),
        _ => None,
    };
    let ctx = staff.ctx.clone();
    let found = with_repo(&state, move |repo| {
        if sent_view {
            tasks::sent_by(repo, &ctx, &me, today())
        } else {
            tasks::inbox(repo, &ctx, &me, today())
        }
    })
    .await;
    let rows = match found {
        Ok(Ok(found)) => found.iter().map(TaskRow::from).collect(),
        Ok(Err(e)) => return store_error_page(&e),
        Err(response) => return response,
    };
    let title = if sent_view {
        "Tasks sent by me"
    } else {
        "Tasks assigned to me"
    };
    let page = ListPage {
        chrome: Chrome::new(&staff, title, Section::Tasks),
        sent_view,
        rows,
        notice,
    };
    render(StatusCode::OK, &page)
}

// --- a new task ---

#[derive(Template)]
#[template(path = "tasks/new.html")]
struct NewPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    colleagues: Vec<Colleague>,
    patient_id: String,
    patient_name: String,
    description: String,
    due: String,
    urgent: bool,
    min_due: String,
}

impl NewPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// The form's values, as typed.
#[derive(Default)]
struct Typed {
    patient: String,
    owner: String,
    description: String,
    due: String,
    urgent: bool,
}

async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    RawQuery(query): RawQuery,
) -> Response {
    let query = Fields::from_query(query.as_deref());
    let typed = Typed {
        patient: query.text("patient"),
        ..Typed::default()
    };
    new_page(&state, &staff, typed, FieldErrors::new(), StatusCode::OK).await
}

async fn new_page(
    state: &AppState,
    staff: &Staff,
    typed: Typed,
    errors: FieldErrors,
    status: StatusCode,
) -> Response {
    if staff.practitioner.is_none() {
        return not_linked();
    }
    let ctx = staff.ctx.clone();
    let patient = typed.patient.clone();
    let loaded = with_repo(state, move |repo| {
        let people = tasks::colleagues(repo, &ctx)?;
        let patient_name = match patient.as_str() {
            "" => None,
            id => match clinical::fetch::read(repo, &ctx, "Patient", id) {
                Ok((p, _)) => tasks::person_name(&p),
                Err(FhirError::NotFound(_) | FhirError::Gone(_)) => None,
                Err(e) => return Err(e),
            },
        };
        Ok::<_, FhirError>((people, patient_name))
    })
    .await;
    let (people, patient_name) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(e)) => return store_error_page(&e),
        Err(response) => return response,
    };
    let mut errors = errors;
    if !typed.patient.is_empty() && patient_name.is_none() && errors.get("patient").is_none() {
        errors.add("patient", "That patient record was not found");
    }
    let page = NewPage {
        chrome: Chrome::new(staff, "New task", Section::Tasks),
        errors: errors.0,
        colleagues: colleague_options(people, &typed.owner),
        patient_id: if patient_name.is_some() {
            typed.patient
        } else {
            String::new()
        },
        patient_name: patient_name.unwrap_or_default(),
        description: typed.description,
        due: typed.due,
        urgent: typed.urgent,
        min_due: today().format("%Y-%m-%d").to_string(),
    };
    render(status, &page)
}

async fn create(State(state): State<AppState>, staff: Staff, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    if !staff.csrf_ok(fields.get("csrf")) {
        return csrf_refused();
    }
    let Some(me) = staff.practitioner.clone() else {
        return not_linked();
    };
    let typed = Typed {
        patient: fields.text("patient"),
        owner: fields.text("owner"),
        description: fields.text("description"),
        due: fields.text("due"),
        urgent: fields.get("priority") == Some("urgent"),
    };
    let ctx = staff.ctx.clone();
    let posted = fields.clone();
    let created = with_repo(&state, move |repo| {
        let input = TaskInput {
            patient: posted.get("patient"),
            owner: posted.get("owner"),
            description: posted.get("description"),
            due: posted.get("due"),
            priority: posted.get("priority"),
        };
        tasks::create(repo, &ctx, &me, &input, today())
    })
    .await;
    match created {
        Ok(Ok(_)) => see_other("/tasks?view=sent&done=created"),
        Ok(Err(TaskError::Invalid(errors))) => {
            new_page(
                &state,
                &staff,
                typed,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Ok(Err(TaskError::Store(e))) => store_error_page(&e),
        Ok(Err(TaskError::Closed | TaskError::NotAllowed(_))) => see_other("/tasks"),
        Err(response) => response,
    }
}

// --- one task ---

#[derive(Template)]
#[template(path = "tasks/show.html")]
struct ShowPage {
    chrome: Chrome,
    task: TaskRow,
    errors: Vec<FieldError>,
    notice: Option<String>,
    colleagues: Vec<Colleague>,
    /// The moves this user may make (the page offers only these).
    can_start: bool,
    can_complete: bool,
    can_reassign: bool,
    can_cancel: bool,
    /// The note as typed, kept when the page comes back with an error.
    note: String,
}

impl ShowPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

async fn show(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    show_page(
        &state,
        &staff,
        &id,
        FieldErrors::new(),
        None,
        String::new(),
        StatusCode::OK,
    )
    .await
}

async fn show_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    errors: FieldErrors,
    notice: Option<String>,
    note: String,
    status: StatusCode,
) -> Response {
    let ctx = staff.ctx.clone();
    let task_id = id.to_string();
    let loaded = with_repo(state, move |repo| {
        let task = tasks::get(repo, &ctx, &task_id, today())?;
        let people = tasks::colleagues(repo, &ctx)?;
        Ok::<_, FhirError>((task, people))
    })
    .await;
    let (task, people) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(e)) => return store_error_page(&e),
        Err(response) => return response,
    };
    let allowed = tasks::allowed_actions(&staff.ctx, &task);
    let task = TaskRow::from(&task);
    // The reassign list leaves out the current owner.
    let people = people
        .into_iter()
        .filter(|(id, _)| *id != task.owner_id)
        .collect();
    let page = ShowPage {
        chrome: Chrome::new(staff, "Task", Section::Tasks),
        task,
        errors: errors.0,
        notice,
        colleagues: colleague_options(people, ""),
        note,
        can_start: allowed.contains(&Action::Start),
        can_complete: allowed.contains(&Action::Complete),
        can_reassign: allowed.contains(&Action::Reassign),
        can_cancel: allowed.contains(&Action::Cancel),
    };
    render(status, &page)
}

async fn act(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !staff.csrf_ok(fields.get("csrf")) {
        return csrf_refused();
    }
    if !matches!(
        action.as_str(),
        "start" | "complete" | "reassign" | "cancel"
    ) {
        return super::layout::error_page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is no such action on a task.",
        );
    }
    let Some(version) = fields.get("version").and_then(|v| v.parse::<i64>().ok()) else {
        return super::layout::error_page(
            StatusCode::BAD_REQUEST,
            "That could not be saved",
            "The form was incomplete. Go back, reload the task and try again.",
        );
    };
    let note = fields.text("note");
    let (ctx, me, task_id, posted, what) = (
        staff.ctx.clone(),
        staff.practitioner.clone(),
        id.clone(),
        fields.clone(),
        action.clone(),
    );
    let done = with_repo(&state, move |repo| {
        let (me, note) = (me.as_deref(), posted.get("note"));
        match what.as_str() {
            "start" => tasks::start(repo, &ctx, &task_id, version),
            "complete" => tasks::complete(repo, &ctx, &task_id, version, me, note),
            "cancel" => tasks::cancel(repo, &ctx, &task_id, version, me, note),
            _ => tasks::reassign(repo, &ctx, &task_id, version, posted.get("owner"), me, note),
        }
    })
    .await;
    match done {
        Ok(Ok(())) => match action.as_str() {
            "start" => see_other(&format!("/tasks/{id}")),
            "complete" => see_other("/tasks?done=completed"),
            "cancel" => see_other("/tasks?done=cancelled"),
            _ => see_other("/tasks?done=reassigned"),
        },
        Ok(Err(TaskError::Invalid(errors))) => {
            show_page(
                &state,
                &staff,
                &id,
                errors,
                None,
                note,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Ok(Err(TaskError::NotAllowed(message))) => {
            let notice = Some(format!("{message} Nothing was changed."));
            show_page(
                &state,
                &staff,
                &id,
                FieldErrors::new(),
                notice,
                note,
                StatusCode::FORBIDDEN,
            )
            .await
        }
        Ok(Err(TaskError::Closed)) => {
            let notice = Some("This task is closed already: nothing was changed.".to_string());
            show_page(
                &state,
                &staff,
                &id,
                FieldErrors::new(),
                notice,
                note,
                StatusCode::CONFLICT,
            )
            .await
        }
        Ok(Err(TaskError::Store(FhirError::PreconditionFailed(_)))) => {
            let notice = Some(
                "Someone else changed this task while you were looking at it: nothing was \
                 changed. Here it is as it is now."
                    .to_string(),
            );
            show_page(
                &state,
                &staff,
                &id,
                FieldErrors::new(),
                notice,
                note,
                StatusCode::CONFLICT,
            )
            .await
        }
        Ok(Err(TaskError::Store(e))) => store_error_page(&e),
        Err(response) => response,
    }
}
