//! The record page: banner, summary and journal, with the alert form.

use super::glass::{self, Glass};
use crate::pages::form::Fields;
use crate::state::AppState;
use crate::ui::fields::{Choice, choices};
use crate::ui::layout::{Chrome, Section, render};
use crate::ui::run::{store_error_page, with_repo};
use crate::ui::staff::Staff;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use clinical::FieldErrors;
use clinical::conventions::ENCOUNTER_TYPES;
use clinical::record::{self, Banner, Journal, JournalQuery, Summary};

/// What the user entered in the record page's forms (shown again with its errors).
#[derive(Debug, Clone, Default)]
pub struct RecordForms {
    pub alert_category: String,
    pub alert_text: String,
    pub alert_ends: String,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "record/page.html")]
struct RecordPageView {
    chrome: Chrome,
    banner: Banner,
    summary: Summary,
    journal: Option<Journal>,
    /// `&break_glass=…` for links, `""` normally.
    glass_query: String,
    /// `?break_glass=…` for links with no other query, `""` normally.
    glass_only_query: String,
    glass: String,
    type_choices: Vec<Choice>,
    /// The journal's problem filter, in two groups.
    active_problem_choices: Vec<Choice>,
    past_problem_choices: Vec<Choice>,
    filtered: bool,
    older_href: Option<String>,
    category_choices: Vec<Choice>,
    forms: RecordForms,
    /// Whether the user may change the contact details (receptionists and clinicians).
    may_amend: bool,
}

impl RecordPageView {
    fn error(&self, field: &str) -> &str {
        self.forms.errors.get(field).unwrap_or("")
    }
}

/// The journal filters a query string asks for.
pub fn journal_query(fields: &Fields) -> JournalQuery {
    JournalQuery {
        type_code: fields.get("type").map(str::to_string),
        problem: fields.get("problem").map(str::to_string),
        before: fields.get("before").map(str::to_string),
    }
}

/// `GET /patients/{id}`.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::from_query(query.as_deref());
    let mut glass = Glass::from_fields(&fields);
    // The reason form sent empty: say what is missing, not just show the form again.
    if glass.reason.is_none() && fields.pairs().iter().any(|(n, _)| n == "break_glass") {
        glass.reason = Some(String::new());
    }
    let staff = match glass.apply(staff, &id) {
        Ok(s) => s,
        Err(page) => return *page,
    };
    render_record_page(&state, staff, &id, journal_query(&fields)).await
}

/// The record page of `patient_id` as `staff` sees it (with their break-glass reason,
/// if their context carries one). The page the benchmark measures.
pub async fn render_record_page(
    state: &AppState,
    staff: Staff,
    patient_id: &str,
    query: JournalQuery,
) -> Response {
    render_with_forms(
        state,
        staff,
        patient_id,
        query,
        RecordForms::default(),
        StatusCode::OK,
    )
    .await
}

/// The record page, with what the user entered in its forms.
pub async fn render_with_forms(
    state: &AppState,
    staff: Staff,
    patient_id: &str,
    query: JournalQuery,
    forms: RecordForms,
    status: StatusCode,
) -> Response {
    let ctx = staff.ctx.clone();
    let id = patient_id.to_string();
    let q = query.clone();
    let result = with_repo(state, move |repo| record::record_page(repo, &ctx, &id, &q)).await;
    let page = match result {
        Ok(Ok(page)) => page,
        Ok(Err(e)) if e.status() == 403 && staff.ctx.access.break_glass.is_none() => {
            return glass::page(&staff, patient_id, None, "");
        }
        Ok(Err(e)) => return store_error_page(&e),
        Err(response) => return response,
    };
    let glass = Glass {
        reason: staff.ctx.access.break_glass.clone(),
    };
    // The journal offers every problem a consultation topic is about, active first.
    let (active_problems, past_problems): (Vec<_>, Vec<_>) = page
        .journal
        .iter()
        .flat_map(|j| &j.problems)
        .partition(|p| p.active);
    let labelled = |problems: Vec<&clinical::record::journal::FilterProblem>| {
        problems
            .into_iter()
            .map(|p| (p.id.clone(), p.term.clone()))
            .collect::<Vec<_>>()
    };
    // No option has an empty value, so "" selects none.
    let problem = query.problem.as_deref().unwrap_or("");
    let older_href = page
        .journal
        .as_ref()
        .and_then(|j| j.older.as_ref())
        .map(|before| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            s.append_pair("before", before);
            if let Some(t) = &query.type_code {
                s.append_pair("type", t);
            }
            if let Some(p) = &query.problem {
                s.append_pair("problem", p);
            }
            format!(
                "/patients/{patient_id}?{}{}#journal",
                s.finish(),
                glass.query()
            )
        });
    let title = format!("{} - record", page.banner.name);
    let view = RecordPageView {
        chrome: Chrome::new(&staff, title, Section::None),
        type_choices: choices(ENCOUNTER_TYPES, query.type_code.as_deref().unwrap_or("")),
        active_problem_choices: choices(labelled(active_problems), problem),
        past_problem_choices: choices(labelled(past_problems), problem),
        category_choices: choices(clinical::alerts::CATEGORIES, &forms.alert_category),
        filtered: query.type_code.is_some() || query.problem.is_some() || query.before.is_some(),
        banner: page.banner,
        summary: page.summary,
        journal: page.journal,
        glass_query: glass.query(),
        glass_only_query: glass.only_query(),
        glass: glass.value(),
        older_href,
        forms,
        may_amend: staff
            .user
            .role
            .may(store::access::Activity::AmendDemographics),
    };
    render(status, &view)
}
