//! Break-glass: a record the user may only open with a reason. The store answers 403;
//! the page explains why and asks for the reason, then the record opens with it.

use crate::pages::form::Fields;
use crate::ui::layout::{Chrome, Section, render};
use crate::ui::staff::Staff;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

/// The break-glass reason a request carries (query or form field `break_glass`).
#[derive(Debug, Clone, Default)]
pub struct Glass {
    pub reason: Option<String>,
}

impl Glass {
    pub fn from_fields(fields: &Fields) -> Glass {
        Glass {
            reason: fields.get("break_glass").map(str::to_string),
        }
    }

    /// The staff member acting with the reason applied, or the page asking again when
    /// the reason is refused (too short, or the role may not break the glass).
    pub fn apply(&self, mut staff: Staff, patient_id: &str) -> Result<Staff, Box<Response>> {
        let Some(reason) = &self.reason else {
            return Ok(staff);
        };
        match staff.ctx.access.clone().with_break_glass(reason) {
            Ok(access) => {
                staff.ctx.access = access;
                Ok(staff)
            }
            Err(refused) => Err(Box::new(page(
                &staff,
                patient_id,
                Some(format!("Cannot open the record: {refused}")),
                reason,
            ))),
        }
    }

    /// `&break_glass=…` for links of this record (empty without a reason).
    pub fn query(&self) -> String {
        match &self.reason {
            Some(r) => format!(
                "&break_glass={}",
                form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
            ),
            None => String::new(),
        }
    }

    /// `?break_glass=…` for links with no other query (empty without a reason).
    pub fn only_query(&self) -> String {
        self.query().replacen('&', "?", 1)
    }

    pub fn value(&self) -> String {
        self.reason.clone().unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "record/break_glass.html")]
struct BreakGlassPage {
    chrome: Chrome,
    patient_id: String,
    error: Option<String>,
    reason: String,
    may_break_glass: bool,
}

/// The page for a restricted record: why it is closed, and the reason form.
pub fn page(staff: &Staff, patient_id: &str, error: Option<String>, reason: &str) -> Response {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::FORBIDDEN
    };
    render(
        status,
        &BreakGlassPage {
            chrome: Chrome::new(staff, "Restricted record", Section::None),
            patient_id: patient_id.to_string(),
            error,
            reason: reason.to_string(),
            may_break_glass: staff.ctx.access.may_break_glass(),
        },
    )
}
