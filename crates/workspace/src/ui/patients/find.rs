//! The "Find a patient" page and its results fragment: the same template part renders
//! both, so the page works without scripts and `patients.js` only swaps the results in.

use super::today;
use crate::pages::form::Fields;
use crate::state::AppState;
use crate::ui::layout::{Chrome, Section, render};
use crate::ui::run::{store_error_page, with_repo};
use crate::ui::staff::Staff;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use clinical::patients::dates;
use clinical::patients::search::{FindError, PatientHit, find};

/// The most results listed: beyond that the search needs narrowing.
const LIMIT: usize = 20;

/// A results row as shown.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub born: String,
    pub age: String,
    pub gender: String,
    pub nhs_number: String,
    pub postcode: String,
    pub deceased: bool,
    pub sensitive: bool,
}

impl From<&PatientHit> for Row {
    fn from(h: &PatientHit) -> Row {
        Row {
            id: h.id.clone(),
            name: h.name.clone(),
            born: h.birth_date.map(dates::long).unwrap_or_default(),
            age: h.age.clone(),
            gender: h.gender.clone(),
            nhs_number: h.nhs_number.clone().unwrap_or_default(),
            postcode: h.postcode.clone().unwrap_or_default(),
            deceased: h.deceased,
            sensitive: h.sensitive,
        }
    }
}

/// What the results part shows.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub query: String,
    /// Why the query was not searched.
    pub problem: Option<String>,
    pub searched: bool,
    pub rows: Vec<Row>,
    /// More matched than are listed.
    pub more: bool,
    /// "3 patients found", for the page and for screen readers.
    pub count_text: String,
}

#[derive(Template)]
#[template(path = "patients/find.html")]
struct FindPage {
    chrome: Chrome,
    results: Results,
}

#[derive(Template)]
#[template(path = "patients/results.html")]
struct ResultsFragment {
    results: Results,
}

pub async fn page(State(state): State<AppState>, staff: Staff, RawQuery(q): RawQuery) -> Response {
    let query = Fields::from_query(q.as_deref()).text("q");
    let results = match search(&state, &staff, query).await {
        Ok(results) => results,
        Err(response) => return response,
    };
    let page = FindPage {
        chrome: Chrome::new(&staff, "Find a patient", Section::FindPatient),
        results,
    };
    render(StatusCode::OK, &page)
}

pub async fn fragment(
    State(state): State<AppState>,
    staff: Staff,
    RawQuery(q): RawQuery,
) -> Response {
    let query = Fields::from_query(q.as_deref()).text("q");
    match search(&state, &staff, query).await {
        Ok(results) => render(StatusCode::OK, &ResultsFragment { results }),
        Err(response) => response,
    }
}

/// Runs the search (nothing is searched for an empty query: the page starts empty).
async fn search(state: &AppState, staff: &Staff, query: String) -> Result<Results, Response> {
    if query.trim().is_empty() {
        return Ok(Results::default());
    }
    let ctx = staff.ctx.clone();
    let text = query.clone();
    let found = with_repo(state, move |repo| {
        find(repo, &ctx, &text, LIMIT + 1, today())
    })
    .await?;
    let mut results = Results {
        query,
        ..Results::default()
    };
    match found {
        Ok(hits) => {
            results.searched = true;
            results.more = hits.len() > LIMIT;
            results.rows = hits.iter().take(LIMIT).map(Row::from).collect();
            results.count_text = match (results.rows.len(), results.more) {
                (0, _) => "No patients found".to_string(),
                (1, _) => "1 patient found".to_string(),
                (n, false) => format!("{n} patients found"),
                (n, true) => {
                    format!("More than {n} patients found: add a date of birth or more of the name")
                }
            };
        }
        Err(FindError::Query(problem)) => {
            results.count_text = problem.message();
            results.problem = Some(problem.message());
        }
        Err(FindError::Store(e)) => return Err(store_error_page(&e)),
    }
    Ok(results)
}
