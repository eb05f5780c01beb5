//! SNOMED CT search for the coded-entry pickers (`static/js/picker.js`):
//! `GET /terminology/search?q=t2+diab&category=disorder,finding&limit=10` returns
//! `[{"code","term","preferred","category"}]`, best first. Signed-in staff only.

use crate::state::AppState;
use crate::ui::staff::Staff;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use terminology::Category;

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 50;
/// Longer queries are cut: nobody types a 200-character term into a picker.
const MAX_QUERY_CHARS: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new().route("/terminology/search", get(search))
}

/// What the picker asked for.
#[derive(Debug, PartialEq)]
struct SearchRequest {
    query: String,
    categories: Vec<Category>,
    limit: usize,
}

async fn search(_staff: Staff, State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let request = match parse(raw.as_deref().unwrap_or("")) {
        Ok(request) => request,
        Err(message) => return json_reply(StatusCode::BAD_REQUEST, json!({ "error": message })),
    };
    if request.query.trim().is_empty() {
        return json_reply(StatusCode::OK, json!([]));
    }
    let terminology = state.terminology.clone();
    // Search is CPU work of up to a few milliseconds on a full release: off the runtime.
    let found = tokio::task::spawn_blocking(move || {
        terminology.search(&request.query, &request.categories, request.limit)
    })
    .await;
    let Ok(found) = found else {
        return json_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "Search failed. Try again in a moment." }),
        );
    };
    let results: Vec<Value> = found
        .into_iter()
        .map(|m| {
            json!({
                "code": m.id,
                "term": m.term,
                "preferred": m.preferred,
                "category": m.category.name(),
            })
        })
        .collect();
    json_reply(StatusCode::OK, Value::Array(results))
}

fn parse(raw: &str) -> Result<SearchRequest, String> {
    let mut request = SearchRequest {
        query: String::new(),
        categories: Vec::new(),
        limit: DEFAULT_LIMIT,
    };
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        match &*name {
            "q" => request.query = value.chars().take(MAX_QUERY_CHARS).collect(),
            "category" => {
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let category = Category::from_name(part).ok_or_else(|| {
                        let known: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
                        format!(
                            "Unknown category \"{part}\": use one or more of {}",
                            known.join(", ")
                        )
                    })?;
                    if !request.categories.contains(&category) {
                        request.categories.push(category);
                    }
                }
            }
            "limit" => {
                request.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| format!("limit must be a whole number from 1 to {MAX_LIMIT}"))?;
            }
            _ => {}
        }
    }
    Ok(request)
}

fn json_reply(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    // Results depend only on the terminology, never on a patient; still, keep them
    // out of shared caches.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_query_categories_and_limit() {
        let request = parse("q=t2+diab&category=disorder,finding&limit=5").unwrap();
        assert_eq!(
            request,
            SearchRequest {
                query: "t2 diab".into(),
                categories: vec![Category::Disorder, Category::Finding],
                limit: 5,
            }
        );
        assert_eq!(parse("").unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn refuses_unknown_categories_and_bad_limits_by_name() {
        let err = parse("q=a&category=disorder,illness").unwrap_err();
        assert!(err.contains("\"illness\""), "{err}");
        assert!(parse("q=a&limit=0").unwrap_err().contains("limit"));
        assert!(parse("q=a&limit=lots").unwrap_err().contains("limit"));
    }
}
