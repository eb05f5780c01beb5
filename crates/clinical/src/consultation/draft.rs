//! Drafts: a consultation being written survives a closed tab or a crashed browser.
//!
//! A draft is a `QuestionnaireResponse` in the store (see [`crate::conventions`]), one
//! per clinician and patient, never the browser's localStorage: GP surgeries share
//! clinical PCs between staff, and anything left in a browser is readable by the next
//! person to use it. In the store a draft is access-controlled and audited like the rest
//! of the record, and it is deleted in the same transaction that saves the consultation.
//!
//! A draft is private to its author: it is labelled `V` (very restricted), which the
//! store seals to the user who writes it, so no colleague meets half-written notes as if
//! they were the record, through the workspace or the FHIR API (read, search, history,
//! `$everything`); only break-glass, audited, opens it. A draft written before drafts
//! were sealed is sealed when its author next loads or saves it.

use crate::conventions::{CONFIDENTIALITY_SYSTEM, CONSULTATION_DRAFT_QUESTIONNAIRE, DRAFT_ITEM};
use crate::fetch;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde_json::{Value, json};
use store::{FhirError, FhirResult, Repository, RequestContext};

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

/// Creates or replaces the clinician's draft for this patient; returns its id. Only the
/// clinician themselves may: a draft is sealed to whoever writes it.
pub fn save_draft(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    practitioner_ref: &str,
    form_json: &Value,
) -> FhirResult<String> {
    if !is_author(ctx, practitioner_ref) {
        return Err(FhirError::Forbidden(
            "a consultation draft can only be saved by the clinician writing it".into(),
        ));
    }
    let body = sealed(json!({
        "resourceType": "QuestionnaireResponse",
        "questionnaire": CONSULTATION_DRAFT_QUESTIONNAIRE,
        "status": "in-progress",
        "subject": {"reference": format!("Patient/{patient_id}")},
        "author": {"reference": practitioner_ref},
        "authored": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        "item": [{"linkId": DRAFT_ITEM, "answer": [{"valueString": form_json.to_string()}]}]
    }));
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

/// The clinician's draft for this patient, if there is one (never a colleague's).
pub fn load_draft(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    practitioner_ref: &str,
) -> FhirResult<Option<Draft>> {
    let Some(found) = find(repo, ctx, patient_id, practitioner_ref)? else {
        return Ok(None);
    };
    if !is_sealed(&found) {
        seal_earlier_draft(repo, ctx, &found)?;
    }
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

/// The in-progress consultation draft by this author about this patient; None when the
/// request is not the author's own (a colleague never gets it, sealed or not).
pub(crate) fn find(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    practitioner_ref: &str,
) -> FhirResult<Option<Value>> {
    if !is_author(ctx, practitioner_ref) {
        return Ok(None);
    }
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

/// Whether the request is made by the member of staff linked to `practitioner_ref`.
fn is_author(ctx: &RequestContext, practitioner_ref: &str) -> bool {
    ctx.access
        .staff
        .as_ref()
        .and_then(|s| s.practitioner.as_deref())
        .is_some_and(|id| practitioner_ref.strip_prefix("Practitioner/") == Some(id))
}

/// `draft` labelled very restricted, so the store seals it to its writer.
fn sealed(mut draft: Value) -> Value {
    draft["meta"] = json!({"security": [
        {"system": CONFIDENTIALITY_SYSTEM, "code": "V", "display": "very restricted"}
    ]});
    draft
}

fn is_sealed(draft: &Value) -> bool {
    draft["meta"]["security"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|l| l["system"] == CONFIDENTIALITY_SYSTEM && l["code"] == "V")
}

/// Seals a draft saved before drafts were sealed, unchanged otherwise. Only if it is
/// still the version just read: a newer one came from `save_draft` and is sealed.
fn seal_earlier_draft(repo: &Repository, ctx: &RequestContext, found: &Value) -> FhirResult<()> {
    let (Some(id), Some(version)) = (
        found["id"].as_str(),
        found["meta"]["versionId"]
            .as_str()
            .and_then(|v| v.parse::<i64>().ok()),
    ) else {
        return Ok(());
    };
    let mut body = found.clone();
    if let Some(fields) = body.as_object_mut() {
        fields.remove("meta");
    }
    match repo.update(
        ctx,
        "QuestionnaireResponse",
        id,
        sealed(body),
        Some(version),
    ) {
        Err(FhirError::PreconditionFailed(_)) => Ok(()),
        other => other.map(|_| ()),
    }
}
