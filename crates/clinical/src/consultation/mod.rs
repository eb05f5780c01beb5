//! Recording a consultation: what the clinician typed ([`ConsultationForm`]) is checked
//! ([`validate`]) against the terminology, the observation catalogue and the patient,
//! then saved as ONE transaction ([`save`]): all of it, or none of it. Drafts
//! ([`draft`]) keep a consultation being written in the store until it is saved.
//!
//! - [`form`]: the input model, as typed.
//! - [`validate`]: checks, errors tied to fields, warnings to confirm.
//! - [`observations`]: the measurement catalogue (codes, units, plausible ranges).
//! - [`attachments`]: PDF/PNG/JPEG uploads, checked by content.
//! - [`bundle`]: the transaction Bundle in the shape [`crate::conventions`] fixes.
//! - [`facts`]: what the form needs to know about the patient and the practice.

pub mod attachments;
pub mod bundle;
pub mod draft;
pub mod facts;
pub mod form;
pub mod observations;
pub mod validate;

pub use crate::colleagues::{Colleague, colleagues};
pub use draft::{Draft, discard_draft, load_draft, save_draft};
pub use facts::{PatientFacts, ProblemChoice, patient_facts};
pub use form::ConsultationForm;
pub use validate::{Checked, Checks, TopicProblem, ValidConsultation, validate};

use crate::conventions::ODS_ORGANIZATION_SYSTEM;
use crate::fetch;
use bundle::{Authorship, ExistingProblem};
use store::{FhirResult, Repository, RequestContext};

/// What a saved consultation is called in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedConsultation {
    pub encounter_id: String,
    /// The consultation List's id.
    pub consultation_list_id: String,
    /// Every resource the transaction created or updated, as `Type/id`.
    pub written: Vec<String>,
}

/// Saves `consultation` by `practitioner_ref` (`Practitioner/{id}`) at the practice
/// (`Organization/{id}`, if it has one), deleting the clinician's draft, in one
/// transaction. A problem changed by someone else since the form was checked fails the
/// whole save (412) and writes nothing.
pub fn save(
    repo: &Repository,
    ctx: &RequestContext,
    consultation: &ValidConsultation,
    practitioner_ref: &str,
    practice_org_ref: Option<&str>,
) -> FhirResult<SavedConsultation> {
    let mut problems = Vec::new();
    for topic in &consultation.topics {
        if let TopicProblem::Existing { id, version } = &topic.problem {
            let (body, _) = fetch::read(repo, ctx, "Condition", id)?;
            problems.push(ExistingProblem {
                id: id.clone(),
                body,
                version: *version,
            });
        }
    }
    let draft = draft::find(repo, ctx, &consultation.patient_id, practitioner_ref)?;
    let draft_id = draft.as_ref().and_then(|d| d["id"].as_str());
    let mut transaction = bundle::transaction(
        consultation,
        &problems,
        Authorship {
            practitioner: practitioner_ref,
            organization: practice_org_ref,
            draft: draft_id,
        },
    );
    let serde_json::Value::Array(entries) = transaction["entry"].take() else {
        unreachable!("bundle::transaction builds a Bundle with entries")
    };
    let written: Vec<String> = repo
        .transaction(ctx, entries)?
        .into_iter()
        .flatten()
        .map(|w| w.reference())
        .filter(|r| !r.starts_with("QuestionnaireResponse/"))
        .collect();
    let id_of = |rtype: &str, last: bool| {
        let mut found = written
            .iter()
            .filter_map(|r| r.strip_prefix(rtype).and_then(|id| id.strip_prefix('/')));
        let id = if last {
            found.next_back()
        } else {
            found.next()
        };
        id.unwrap_or_default().to_string()
    };
    Ok(SavedConsultation {
        encounter_id: id_of("Encounter", false),
        consultation_list_id: id_of("List", true),
        written,
    })
}

/// `Organization/{id}` of the practice the request acts for, if it has one on record.
pub fn practice_organization(
    repo: &Repository,
    ctx: &RequestContext,
) -> FhirResult<Option<String>> {
    let identifier = format!("{ODS_ORGANIZATION_SYSTEM}|{}", ctx.practice);
    let found = fetch::search(
        repo,
        ctx,
        "Organization",
        &[("identifier", &identifier), ("_count", "1")],
    )?;
    Ok(found
        .first()
        .and_then(|o| o["id"].as_str())
        .map(|id| format!("Organization/{id}")))
}
