//! The workspace's page frame: every page template extends `templates/base.html` and
//! has a `chrome: Chrome` field (title, the signed-in user, the navigation, the CSRF
//! token of the sign-out form).

use super::staff::Staff;
use crate::pages::html::message_page;
use askama::Template;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

/// The main navigation's sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    FindPatient,
    Register,
    Tasks,
    /// The practice manager's outgoing messages (`/admin/outbox`).
    Outbox,
    /// A page not in the navigation (a patient's record, say).
    None,
}

const NAV: [(Section, &str, &str); 5] = [
    (Section::Home, "/", "Home"),
    (Section::FindPatient, "/patients", "Find a patient"),
    (Section::Register, "/patients/new", "Register a patient"),
    (Section::Tasks, "/tasks", "Tasks"),
    (Section::Outbox, "/admin/outbox", "Outgoing messages"),
];

/// Whether this user's navigation offers the section: the outgoing messages are the
/// practice manager's (the page refuses everyone else), the rest are everyone's.
fn offered(staff: &Staff, section: Section) -> bool {
    section != Section::Outbox || super::admin::may_manage(staff)
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What the frame around every page shows.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub practice: String,
    pub user_name: String,
    pub role: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
}

impl Chrome {
    pub fn new(staff: &Staff, title: impl Into<String>, section: Section) -> Chrome {
        Chrome {
            title: title.into(),
            practice: staff.ctx.practice.clone(),
            user_name: staff.user.display_name.clone(),
            role: staff.user.role.display().to_string(),
            csrf: staff.csrf.clone(),
            nav: NAV
                .iter()
                .filter(|&&(s, _, _)| offered(staff, s))
                .map(|&(s, href, label)| NavItem {
                    href,
                    label,
                    current: s == section,
                })
                .collect(),
        }
    }
}

/// Renders a page template as a response with this status.
pub fn render<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, html).into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sorry, there is a problem",
                "The page could not be shown. Try again in a moment.",
            )
        }
    }
}

/// A page that only says what went wrong (no patient data in it).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    message_page(status, title, message)
}
