//! The problem list page: active and past problems with their episodes and linked
//! entries; add a problem, change its status or significance, record a new episode,
//! link an entry. Changes carry the version the user saw (`If-Match`).

use super::alerts::{change_error_page, date_input, input_errors, input_name};
use super::glass::Glass;
use crate::pages::form::Fields;
use crate::pages::html::{csrf_refused, see_other};
use crate::state::AppState;
use crate::ui::layout::{Chrome, Section, render};
use crate::ui::run::{store_error_page, with_repo};
use crate::ui::staff::Staff;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use clinical::FieldErrors;
use clinical::problems::{self, ChangeError, ChangeField, NewProblem, ProblemGroup, ProblemList};
use clinical::record::{self, Banner};
use store::RequestContext;

/// What the user entered, shown again with its errors.
#[derive(Debug, Clone, Default)]
struct ProblemForms {
    term: String,
    code: String,
    onset: String,
    major: bool,
    /// Values of a per-problem form (`ended-{id}`, `onset-{id}`), as entered.
    values: Vec<(String, String)>,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "record/problems.html")]
struct ProblemsPage {
    chrome: Chrome,
    banner: Banner,
    list: ProblemList,
    glass_query: String,
    glass_only_query: String,
    glass: String,
    /// An entry (`Type/id`) the user is choosing a problem for, from the journal.
    link: Option<String>,
    forms: ProblemForms,
}

impl ProblemsPage {
    fn error(&self, field: &str) -> &str {
        self.forms.errors.get(field).unwrap_or("")
    }

    fn has_errors_for(&self, problem_id: &str) -> bool {
        let suffix = format!("-{problem_id}");
        self.forms
            .errors
            .0
            .iter()
            .any(|e| e.field.ends_with(&suffix))
    }

    fn sections(&self) -> [(&'static str, &'static str, &Vec<ProblemGroup>); 2] {
        [
            ("active", "Active problems", &self.list.active),
            ("past", "Past problems", &self.list.past),
        ]
    }

    fn all_groups(&self) -> impl Iterator<Item = &ProblemGroup> {
        self.list.active.iter().chain(self.list.past.iter())
    }

    fn value(&self, field: &str) -> &str {
        self.forms
            .values
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// `GET /patients/{id}/problems`.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::from_query(query.as_deref());
    let glass = Glass::from_fields(&fields);
    let staff = match glass.apply(staff, &id) {
        Ok(s) => s,
        Err(page) => return *page,
    };
    let link = fields.get("link").map(str::to_string);
    page(
        &state,
        staff,
        &id,
        glass,
        link,
        ProblemForms::default(),
        StatusCode::OK,
    )
    .await
}

async fn page(
    state: &AppState,
    staff: Staff,
    id: &str,
    glass: Glass,
    link: Option<String>,
    forms: ProblemForms,
    status: StatusCode,
) -> Response {
    let (ctx, patient) = (staff.ctx.clone(), id.to_string());
    let result = with_repo(
        state,
        move |repo| -> store::FhirResult<(Banner, ProblemList)> {
            let banner = record::banner(repo, &ctx, &patient)?;
            Ok((banner, problems::problem_list(repo, &ctx, &patient)?))
        },
    )
    .await;
    let (banner, list) = match result {
        Ok(Ok(found)) => found,
        Ok(Err(e)) if e.status() == 403 && glass.reason.is_none() => {
            return super::glass::page(&staff, id, None, "");
        }
        Ok(Err(e)) => return store_error_page(&e),
        Err(response) => return response,
    };
    let view = ProblemsPage {
        chrome: Chrome::new(&staff, format!("{} - problems", banner.name), Section::None),
        banner,
        list,
        glass_query: glass.query(),
        glass_only_query: glass.only_query(),
        glass: glass.value(),
        link,
        forms,
    };
    render(status, &view)
}

/// A posted change: CSRF checked, break-glass applied.
async fn posted(staff: Staff, id: &str, body: &Bytes) -> Result<(Staff, Fields, Glass), Response> {
    let fields = Fields::parse(body);
    if !staff.csrf_ok(fields.get("csrf")) {
        return Err(csrf_refused());
    }
    let glass = Glass::from_fields(&fields);
    let staff = glass.apply(staff, id).map_err(|page| *page)?;
    Ok((staff, fields, glass))
}

fn problems_href(id: &str, glass: &Glass) -> String {
    format!("/patients/{id}/problems{}", glass.only_query())
}

/// `POST /patients/{id}/problems`: add a problem.
pub async fn add(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (staff, fields, glass) = match posted(staff, &id, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let code = fields.text("code");
    // Without the picker's script the code is empty; an unknown code has no term.
    let term = state
        .terminology
        .concept(code.trim())
        .map(|c| c.preferred.clone())
        .unwrap_or_default();
    let onset_text = fields.text("onset");
    let onset = date_input(
        &onset_text,
        ChangeField::Onset,
        "The onset date must be a real date, like 2024-03-12",
    );
    let new = NewProblem {
        code: code.clone(),
        term,
        onset: onset.clone().unwrap_or_default(),
        major: fields.get("significance") == Some("major"),
    };
    let (ctx, author, patient, n) = (
        staff.ctx.clone(),
        staff.practitioner.clone(),
        id.clone(),
        new.clone(),
    );
    let result = match onset {
        // Nothing is written; the rest is checked too, so every problem shows.
        Err(mut unreadable) => {
            let mut all = problems::check_problem(&new);
            all.0.retain(|e| e.field != ChangeField::Onset);
            unreadable.0.splice(0..0, all.0);
            Ok(Err(ChangeError::Invalid(unreadable)))
        }
        Ok(_) => {
            with_repo(&state, move |repo| {
                problems::add_problem(repo, &ctx, &patient, &n, author.as_deref())
            })
            .await
        }
    };
    match result {
        Ok(Ok(_)) => see_other(&problems_href(&id, &glass)),
        Ok(Err(ChangeError::Invalid(errors))) => {
            let forms = ProblemForms {
                term: fields.text("problem"),
                code,
                onset: onset_text,
                major: new.major,
                values: vec![],
                errors: input_errors(errors),
            };
            page(
                &state,
                staff,
                &id,
                glass,
                None,
                forms,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Ok(Err(e)) => change_error_page(e),
        Err(r) => r,
    }
}

/// Runs a change to one problem and answers: back to the list, the list again with
/// the form's errors (fields renamed `{field}-{problem_id}`), or an error page.
async fn change<F>(
    state: AppState,
    staff: Staff,
    id: String,
    problem_id: String,
    fields: Fields,
    glass: Glass,
    f: F,
) -> Response
where
    F: FnOnce(&store::Repository, &RequestContext, &str, i64) -> Result<(), ChangeError>
        + Send
        + 'static,
{
    let version: i64 = fields
        .get("version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (ctx, pid) = (staff.ctx.clone(), problem_id.clone());
    let result = with_repo(&state, move |repo| f(repo, &ctx, &pid, version)).await;
    match result {
        Ok(Ok(())) => see_other(&problems_href(&id, &glass)),
        Ok(Err(ChangeError::Invalid(errors))) => {
            let mut renamed = FieldErrors::new();
            for e in errors.0 {
                renamed.add(format!("{}-{problem_id}", input_name(e.field)), e.message);
            }
            let values = fields
                .pairs()
                .iter()
                .map(|(k, v)| (format!("{k}-{problem_id}"), v.clone()))
                .collect();
            let forms = ProblemForms {
                values,
                errors: renamed,
                ..ProblemForms::default()
            };
            page(
                &state,
                staff,
                &id,
                glass,
                None,
                forms,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Ok(Err(e)) => change_error_page(e),
        Err(r) => r,
    }
}

/// `POST …/problems/{problem_id}/status`: `status` active or past, `ended` for past.
pub async fn status(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, problem_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (staff, fields, glass) = match posted(staff, &id, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let active = fields.get("status") == Some("active");
    let ended = date_input(
        &fields.text("ended"),
        ChangeField::Ended,
        "The end date must be a real date, like 2024-03-12",
    );
    change(
        state,
        staff,
        id,
        problem_id,
        fields,
        glass,
        move |repo, ctx, pid, version| {
            // A problem made active again has no end date: one sent along is ignored.
            let ended = if active { None } else { ended? };
            problems::set_status(repo, ctx, pid, version, active, ended)
        },
    )
    .await
}

/// `POST …/problems/{problem_id}/significance`: `significance` major or minor.
pub async fn significance(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, problem_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (staff, fields, glass) = match posted(staff, &id, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let major = fields.get("significance") == Some("major");
    change(
        state,
        staff,
        id,
        problem_id,
        fields,
        glass,
        move |repo, ctx, pid, version| problems::set_significance(repo, ctx, pid, version, major),
    )
    .await
}

/// `POST …/problems/{problem_id}/episodes`: a new episode from `onset`.
pub async fn episode(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, problem_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (staff, fields, glass) = match posted(staff, &id, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let onset = date_input(
        &fields.text("onset"),
        ChangeField::Onset,
        "The date this episode started must be a real date, like 2024-03-12",
    );
    let author = staff.practitioner.clone();
    change(
        state,
        staff,
        id,
        problem_id,
        fields,
        glass,
        move |repo, ctx, pid, _| {
            problems::new_episode(repo, ctx, pid, onset?, author.as_deref()).map(|_| ())
        },
    )
    .await
}

/// `POST …/problems/{problem_id}/links`: link the entry `entry` (`Type/id`).
pub async fn link(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, problem_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (staff, fields, glass) = match posted(staff, &id, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let entry = fields.text("entry");
    change(
        state,
        staff,
        id,
        problem_id,
        fields,
        glass,
        move |repo, ctx, pid, version| problems::link_entry(repo, ctx, pid, version, &entry),
    )
    .await
}
