//! The practice manager's view of the outbox (`/admin/outbox`): per destination, the
//! messages waiting, the age of the oldest, those sent and those that failed for good
//! (with their reasons), and a "Try again" for each failed one. Counts and reasons
//! only: never a payload. Also `GET /metrics`, the same counts for every practice in
//! the Prometheus text format, for the operator's monitoring.

use super::layout::{Chrome, Section, error_page, render};
use super::run::with_repo;
use super::staff::Staff;
use crate::pages::form::Fields;
use crate::pages::html::{csrf_refused, see_other};
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use outbox::DestinationStatus;
use store::access::Activity;
use subtle::ConstantTimeEq;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/outbox", get(page))
        .route("/admin/outbox/retry", post(retry))
        .route("/metrics", get(metrics))
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    chrome: Chrome,
    rows: Vec<Row>,
    failed: Vec<Failed>,
    notice: Option<String>,
}

struct Row {
    destination: String,
    pending: i64,
    oldest: String,
    sent: i64,
    dead: i64,
}

struct Failed {
    id: String,
    destination: String,
    kind: String,
    at: String,
    attempts: i64,
    reason: String,
}

/// The practice manager runs the practice's systems; other roles have no use for it.
pub(super) fn may_manage(staff: &Staff) -> bool {
    staff.user.role.may(Activity::ManageUsers)
}

fn refused() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "You cannot see outgoing messages",
        "Only the practice manager can see and retry the messages OpenGP sends to other services.",
    )
}

/// `GET /admin/outbox`.
async fn page(State(state): State<AppState>, staff: Staff, RawQuery(query): RawQuery) -> Response {
    if !may_manage(&staff) {
        return refused();
    }
    let practice = staff.ctx.practice.clone();
    let status = with_repo(&state, move |repo| {
        outbox::status(repo.store().as_ref(), Some(&practice))
    })
    .await;
    let status = match status {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => return super::run::store_error_page(&e.into()),
        Err(response) => return response,
    };
    let notice = match query.as_deref() {
        Some("retried=1") => Some("The message is queued again.".to_string()),
        Some("retried=0") => {
            Some("That message is no longer waiting to be tried again.".to_string())
        }
        _ => None,
    };
    let failed = status
        .iter()
        .flat_map(|d| {
            d.latest_dead.iter().map(|m| Failed {
                id: m.id.clone(),
                destination: service_name(&d.destination),
                kind: m.kind.clone(),
                at: when(m.at),
                attempts: m.attempts,
                reason: m.reason.clone(),
            })
        })
        .collect();
    let page = OutboxPage {
        chrome: Chrome::new(&staff, "Outgoing messages", Section::Outbox),
        rows: status.iter().map(row).collect(),
        failed,
        notice,
    };
    render(StatusCode::OK, &page)
}

/// The service a destination code stands for, as a practice manager knows it.
fn service_name(destination: &str) -> String {
    match destination {
        "pds" => "PDS (Personal Demographics Service)".to_string(),
        other => other.to_string(),
    }
}

fn row(d: &DestinationStatus) -> Row {
    Row {
        destination: service_name(&d.destination),
        pending: d.pending,
        oldest: d.oldest_pending_secs.map(age).unwrap_or_default(),
        sent: d.sent,
        dead: d.dead,
    }
}

/// "45 seconds", "12 minutes", "3 hours", "2 days".
fn age(secs: i64) -> String {
    let (n, unit) = match secs {
        s if s < 120 => (s, "second"),
        s if s < 2 * 3600 => (s / 60, "minute"),
        s if s < 2 * 86400 => (s / 3600, "hour"),
        s => (s / 86400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn when(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| fhir::uk::date_time_text(&t))
        .unwrap_or_default()
}

/// `POST /admin/outbox/retry` (`message`): sends a failed message back to the queue.
async fn retry(State(state): State<AppState>, staff: Staff, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    if !staff.csrf_ok(fields.get("csrf")) {
        return csrf_refused();
    }
    if !may_manage(&staff) {
        return refused();
    }
    let (practice, id) = (staff.ctx.practice.clone(), fields.text("message"));
    let done = with_repo(&state, move |repo| {
        outbox::retry(repo.store().as_ref(), Some(&practice), &id)
    })
    .await;
    match done {
        Ok(Ok(true)) => see_other("/admin/outbox?retried=1"),
        Ok(Ok(false)) => see_other("/admin/outbox?retried=0"),
        Ok(Err(e)) => super::run::store_error_page(&e.into()),
        Err(response) => response,
    }
}

/// `GET /metrics`: the outbox backlog of every practice, counts only. Off (404) unless
/// the server has a metrics token; the scraper sends it as `Authorization: Bearer`.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.metrics_token.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let sent = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(sent.as_bytes().ct_eq(token.as_bytes())) {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            "WWW-Authenticate",
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return response;
    }
    let status = with_repo(&state, |repo| outbox::status(repo.store().as_ref(), None)).await;
    match status {
        Ok(Ok(status)) => {
            let mut response = prometheus_text(&status).into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        _ => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// A metric: name, type, help text, and its value for one destination.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&DestinationStatus) -> i64,
);

/// The Prometheus text exposition format, one series per destination.
pub fn prometheus_text(status: &[DestinationStatus]) -> String {
    let series: [Series; 4] = [
        (
            "opengp_outbox_pending",
            "gauge",
            "Messages waiting to be sent.",
            |d| d.pending,
        ),
        (
            "opengp_outbox_oldest_pending_seconds",
            "gauge",
            "Age of the oldest message waiting to be sent.",
            |d| d.oldest_pending_secs.unwrap_or(0),
        ),
        (
            "opengp_outbox_sent",
            "gauge",
            "Messages sent and acknowledged.",
            |d| d.sent,
        ),
        (
            "opengp_outbox_dead",
            "gauge",
            "Messages given up (dead letters).",
            |d| d.dead,
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, value) in series {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for d in status {
            // Destination names are OpenGP's own (`pds`, `eps`): nothing to escape.
            out.push_str(&format!(
                "{name}{{destination=\"{}\"}} {}\n",
                d.destination,
                value(d)
            ));
        }
    }
    out
}
