//! Drafts: a consultation being written survives a closed tab or a crashed browser.
//!
//! A draft is a `QuestionnaireResponse` in the store (see [`crate::conventions`]), one
//! per clinician and patient, never the browser's localStorage: GP surgeries share
//! clinical PCs between staff, and anything left in a browser is readable by the next
//! person to use it. In the store a draft is access-controlled and audited like the rest
//! of the record, and it is deleted in the same transaction that saves the consultation.

use crate::conventions::{CONSULTATION_DRAFT_QUESTIONNAIRE, DRAFT_ITEM};
use crate::fetch;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde_json::{Value, json};
use store::{FhirResult, Repository, RequestContext};

/// A restored draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The QuestionnaireResponse id.
    pub id: String,
    /// The form's fields, as the page sent them.
    pub form: Value,
    /// When it was last saved.
    pub saved_at: Option<DateTime<FixedOffset>>,
}

/// Creates or replaces the clinician's draft for this patient; returns its id.
pub fn save_draft(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    practitioner_ref: &str,
    form_json: &Value,
) -> FhirResult<String> {
    let body = json!({
        "resourceType": "QuestionnaireResponse",
        "questionnaire": CONSULTATION_DRAFT_QUESTIONNAIRE,
        "status": "in-progress",
        "subject": {"reference": format!("Patient/{patient_id}")},
        "author": {"reference": practitioner_ref},
        "authored": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        "item": [{"linkId": DRAFT_ITEM, "answer": [{"valueString": form_json.to_string()}]}]
    });
    match find(repo, ctx, patient_id, practitioner_ref)? {
        Some(existing) => {
            let id = existing["id"].as_str().unwrap_or_default().to_string();
            let mut body = body;
            body["id"] = json!(id);
            repo.update(ctx, "QuestionnaireResponse", &id, body, None)?;
            Ok(id)
        }
        None => {
            let outcome = repo.create(ctx, "QuestionnaireResponse", body, None)?;
            Ok(outcome.resource.id.clone())
        }
    }
}

/// The clinician's draft for this patient, if there is one.
pub fn load_draft(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    practitioner_ref: &str,
) -> FhirResult<Option<Draft>> {
    let Some(found) = find(repo, ctx, patient_id, practitioner_ref)? else {
        return Ok(None);
    };
    let text = found["item"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["linkId"] == DRAFT_ITEM)
        .and_then(|i| i["answer"][0]["valueString"].as_str())
        .unwrap_or("{}");
    Ok(Some(Draft {
        id: found["id"].as_str().unwrap_or_default().to_string(),
        form: serde_json::from_str(text).unwrap_or(json!({})),
        saved_at: found["authored"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
    }))
}

/// Throws the clinician's draft for this patient away (nothing to do if there is none).
pub fn discard_draft(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    practitioner_ref: &str,
) -> FhirResult<()> {
    if let Some(found) = find(repo, ctx, patient_id, practitioner_ref)?
        && let Some(id) = found["id"].as_str()
    {
        repo.delete(ctx, "QuestionnaireResponse", id)?;
    }
    Ok(())
}

/// The in-progress consultation draft by this author about this patient.
pub(crate) fn find(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    practitioner_ref: &str,
) -> FhirResult<Option<Value>> {
    let subject = format!("Patient/{patient_id}");
    let found = fetch::search(
        repo,
        ctx,
        "QuestionnaireResponse",
        &[
            ("subject", &subject),
            ("author", practitioner_ref),
            ("status", "in-progress"),
            ("_sort", "-_lastUpdated"),
            ("_count", "10"),
        ],
    )?;
    Ok(found
        .into_iter()
        .find(|qr| qr["questionnaire"] == CONSULTATION_DRAFT_QUESTIONNAIRE))
}
