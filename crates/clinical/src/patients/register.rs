//! Registering a patient: the UK Core Patient and its registration EpisodeOfCare,
//! written in one transaction so there is never a patient without a registration or a
//! registration without its patient.

use super::contact;
use super::form::ValidForm;
use crate::conventions::{
    CONFIDENTIALITY_SYSTEM, NHS_NUMBER_SYSTEM, NHS_NUMBER_VERIFICATION,
    NHS_NUMBER_VERIFICATION_EXT, NHS_NUMBER_VERIFICATION_SYSTEM, REGISTRATION_TYPE_SYSTEM,
};
use serde_json::{Map, Value, json};
use store::{FhirError, FhirResult, Repository, RequestContext};

/// What a registration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub patient_id: String,
    /// `true` when a patient with the same NHS number was created by someone else
    /// between the duplicate check and this write: nothing new was written.
    pub already_existed: bool,
}

/// Writes the Patient and its EpisodeOfCare for `practice` (`Organization/{id}`).
/// With an NHS number, both writes are conditional on it, so two people registering
/// the same patient at once make one record.
pub fn register(
    repo: &Repository,
    ctx: &RequestContext,
    form: &ValidForm,
    practice: &str,
) -> FhirResult<Registered> {
    let keys = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()].map(|k| k.to_string());
    let Value::Array(entries) = transaction(form, practice, &keys)["entry"].take() else {
        unreachable!("transaction() builds a Bundle with entries")
    };
    let written = repo.transaction(ctx, entries)?;
    // The Patient is the first entry: created, or found by its NHS number.
    let patient = written.into_iter().next().flatten().ok_or_else(|| {
        FhirError::Store(store::StoreError::Backend(
            "the registration transaction named no patient".into(),
        ))
    })?;
    Ok(Registered {
        patient_id: patient.id,
        already_existed: !patient.created,
    })
}

/// The transaction Bundle of a registration; `keys` are the `urn:uuid:`s of the Patient
/// and the EpisodeOfCare.
pub fn transaction(form: &ValidForm, practice: &str, keys: &[String; 2]) -> Value {
    let patient_url = format!("urn:uuid:{}", keys[0]);
    let mut patient_request = json!({"method": "POST", "url": "Patient"});
    let mut episode_request = json!({"method": "POST", "url": "EpisodeOfCare"});
    if let Some(number) = &form.nhs_number {
        patient_request["ifNoneExist"] = json!(format!("identifier={NHS_NUMBER_SYSTEM}|{number}"));
        episode_request["ifNoneExist"] = json!(format!(
            "patient.identifier={NHS_NUMBER_SYSTEM}|{number}&status=active"
        ));
    }
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": patient(form, practice),
                "request": patient_request,
            },
            {
                "fullUrl": format!("urn:uuid:{}", keys[1]),
                "resource": episode(form, practice, &patient_url),
                "request": episode_request,
            },
        ]
    })
}

/// The UK Core Patient (see `conventions`).
pub fn patient(form: &ValidForm, practice: &str) -> Value {
    let mut p = Map::new();
    p.insert("resourceType".into(), json!("Patient"));
    if form.sensitive {
        p.insert(
            "meta".into(),
            json!({"security": [{"system": CONFIDENTIALITY_SYSTEM, "code": "R", "display": "restricted"}]}),
        );
    }
    if let Some(method) = form.preferred_contact {
        p.insert(
            "extension".into(),
            json!([contact::preference_extension(method)]),
        );
    }
    p.insert("identifier".into(), json!([nhs_identifier(form)]));
    p.insert("active".into(), json!(true));
    p.insert("name".into(), names(form));
    let telecom = contact::telecom(
        form.mobile.as_deref(),
        form.home_phone.as_deref(),
        form.email.as_deref(),
        form.preferred_contact,
    );
    if !telecom.is_empty() {
        p.insert("telecom".into(), json!(telecom));
    }
    p.insert("gender".into(), json!(form.gender));
    p.insert(
        "birthDate".into(),
        json!(form.birth_date.format("%Y-%m-%d").to_string()),
    );
    let address = contact::home_address(
        &form.address_lines,
        form.town.as_deref(),
        form.postcode.as_deref(),
    );
    if let Some(address) = address {
        p.insert("address".into(), json!([address]));
    }
    let mut gps = Vec::new();
    if let Some(gp) = &form.usual_gp {
        gps.push(json!({"reference": format!("Practitioner/{gp}")}));
    }
    gps.push(json!({"reference": practice}));
    p.insert("generalPractitioner".into(), json!(gps));
    p.insert(
        "managingOrganization".into(),
        json!({"reference": practice}),
    );
    Value::Object(p)
}

fn nhs_identifier(form: &ValidForm) -> Value {
    let display = NHS_NUMBER_VERIFICATION
        .iter()
        .find(|(code, _)| *code == form.nhs_verification)
        .map(|(_, display)| *display)
        .unwrap_or_default();
    let mut identifier = json!({
        "extension": [{
            "url": NHS_NUMBER_VERIFICATION_EXT,
            "valueCodeableConcept": {"coding": [{
                "system": NHS_NUMBER_VERIFICATION_SYSTEM,
                "code": form.nhs_verification,
                "display": display
            }]}
        }],
        "system": NHS_NUMBER_SYSTEM,
    });
    if let Some(number) = &form.nhs_number {
        identifier["value"] = json!(number);
    }
    identifier
}

fn names(form: &ValidForm) -> Value {
    let mut official = json!({"use": "official", "family": form.family, "given": form.given});
    if let Some(title) = &form.title {
        official["prefix"] = json!([title]);
    }
    let mut names = vec![official];
    if let Some(previous) = &form.previous_surname {
        names.push(json!({"use": "old", "family": previous, "given": form.given}));
    }
    json!(names)
}

/// The registration: its type, date, named accountable GP and practice.
pub fn episode(form: &ValidForm, practice: &str, patient: &str) -> Value {
    let kind = form.registration_type;
    let mut e = json!({
        "resourceType": "EpisodeOfCare",
        "status": "active",
        "type": [{"coding": [{
            "system": REGISTRATION_TYPE_SYSTEM, "code": kind.code(), "display": kind.display()
        }]}],
        "patient": {"reference": patient},
        "managingOrganization": {"reference": practice},
        "period": {"start": form.registration_date.format("%Y-%m-%d").to_string()},
    });
    if let Some(gp) = &form.named_gp {
        e["careManager"] = json!({"reference": format!("Practitioner/{gp}")});
    }
    e
}
