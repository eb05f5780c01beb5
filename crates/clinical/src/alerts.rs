//! Patient alerts: a `Flag` per alert (category from [`FLAG_CATEGORY_SYSTEM`], the
//! alert's words as `code.text`, `period`, `author`), shown in the banner while active.

use crate::conventions::FLAG_CATEGORY_SYSTEM;
use crate::fetch;
use crate::form::FieldErrors;
use crate::problems::{ChangeError, ChangeField};
use chrono::{NaiveDate, Utc};
use serde_json::json;
use store::{Repository, RequestContext};

/// The categories a user may choose: code and display (HL7 flag-category).
pub const CATEGORIES: [(&str, &str); 6] = [
    ("clinical", "Clinical"),
    ("safety", "Safety"),
    ("behavioral", "Behavioral"),
    ("admin", "Administrative"),
    ("contact", "Subject contact"),
    ("advance-directive", "Advance directive"),
];

/// Longest alert text: the banner is not the place for a letter.
pub const MAX_TEXT: usize = 200;

/// An alert as entered on the record page.
#[derive(Debug, Clone, Default)]
pub struct NewAlert {
    pub category: String,
    pub text: String,
    /// Optional end date.
    pub ends: Option<NaiveDate>,
}

/// Checks an alert: known category, some words (not too many), an end date (if any)
/// from today on.
pub fn check(
    alert: &NewAlert,
) -> Result<(&'static str, &'static str, Option<NaiveDate>), FieldErrors<ChangeField>> {
    let mut errors = FieldErrors::new();
    let category = CATEGORIES.iter().find(|(c, _)| *c == alert.category.trim());
    if category.is_none() {
        errors.add(
            ChangeField::AlertCategory,
            "Choose what kind of alert this is",
        );
    }
    let text = alert.text.trim();
    if text.is_empty() {
        errors.add(ChangeField::AlertText, "Enter the alert");
    } else if text.chars().count() > MAX_TEXT {
        errors.add(
            ChangeField::AlertText,
            format!("The alert must be {MAX_TEXT} characters or fewer"),
        );
    }
    let ends = alert.ends;
    if ends.is_some_and(|d| d < Utc::now().date_naive()) {
        errors.add(ChangeField::AlertEnds, "The end date cannot be in the past");
    }
    match (errors.is_empty(), category) {
        (true, Some((code, display))) => Ok((code, display, ends)),
        _ => Err(errors),
    }
}

/// Adds an alert to the patient's record; returns the Flag's id.
pub fn add_alert(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    alert: &NewAlert,
    author: Option<&str>,
) -> Result<String, ChangeError> {
    let (code, display, ends) = check(alert)?;
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let mut flag = json!({
        "resourceType": "Flag",
        "status": "active",
        "category": [{"coding": [{"system": FLAG_CATEGORY_SYSTEM, "code": code, "display": display}]}],
        "code": {"text": alert.text.trim()},
        "subject": {"reference": format!("Patient/{patient_id}")},
        "period": {"start": today}
    });
    if let Some(end) = ends {
        flag["period"]["end"] = json!(end.format("%Y-%m-%d").to_string());
    }
    if let Some(author) = author {
        flag["author"] = json!({"reference": author});
    }
    Ok(repo.create(ctx, "Flag", flag, None)?.resource.id)
}

/// Ends an alert (status inactive, `period.end` today or the date given), with
/// `If-Match` on the version the user saw.
pub fn end_alert(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    flag_id: &str,
    version: i64,
) -> Result<(), ChangeError> {
    let (mut flag, _) = fetch::read(repo, ctx, "Flag", flag_id)?;
    if flag["subject"]["reference"] != format!("Patient/{patient_id}").as_str() {
        return Err(ChangeError::Store(store::FhirError::NotFound(format!(
            "Flag/{flag_id}"
        ))));
    }
    let today = Utc::now().format("%Y-%m-%d").to_string();
    flag["status"] = json!("inactive");
    if !flag["period"].is_object() {
        flag["period"] = json!({});
    }
    flag["period"]["end"] = json!(today);
    crate::problems::strip_version(&mut flag);
    repo.update(ctx, "Flag", flag_id, flag, Some(version))?;
    Ok(())
}
