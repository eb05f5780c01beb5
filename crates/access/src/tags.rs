//! The access tags of a resource, worked out when it is written: how confidential it is,
//! whose compartment it is in and who sealed it; and the patient flags that Patient and
//! Consent resources set (a sensitive patient, a patient's dissent from sharing).
//!
//! The store keeps them in columns of `resources` and in `patient_flags`, so the access
//! rules can be applied in SQL instead of by reading every body.

use super::{CONFIDENTIALITY_SYSTEM, Confidentiality};
use fhir::{IndexEntry, IndexValue};
use serde_json::Value;

pub const SNOMED_SYSTEM: &str = "http://snomed.info/sct";

/// SNOMED CT concepts that make an entry restricted (`R`) wherever they are coded
/// (its `code` or `category`): records that patients and the law expect to be seen only
/// by the clinicians caring for them.
pub const SENSITIVE_CONCEPTS: &[(&str, &str)] = &[
    // Abortion Act 1967 records.
    ("386639001", "termination of pregnancy"),
    // Sexual health: NHS (Venereal Diseases) Regulations confidentiality.
    ("86406008", "HIV infection"),
    ("8098009", "sexually transmitted infection"),
    // Gender Recognition Act 2004, s.22: protected information.
    ("93461009", "gender dysphoria"),
];

/// The patient is sensitive (PDS restricted): their whole record counts as `R`.
pub const FLAG_SENSITIVE: &str = "sensitive";
/// The patient has dissented from sharing their record outside the practice.
pub const FLAG_DISSENT: &str = "dissent";

const CONSENT_SCOPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/consentscope";

/// What the store records about a resource for the access rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags {
    pub conf: Confidentiality,
    /// The patient whose compartment it is in (its own id for a Patient).
    pub patient_id: Option<String>,
    /// The staff member who sealed it (only for a `V` resource).
    pub sealed_by: Option<String>,
}

/// The tags of `rtype/id` as stored (`body` stamped, `entries` its index entries),
/// written by `writer` (a staff user id). A resource already sealed keeps its sealer
/// (`earlier_sealer`) when someone else updates it.
pub fn tags(
    rtype: &str,
    id: &str,
    body: &Value,
    entries: &[IndexEntry],
    writer: Option<&str>,
    earlier_sealer: Option<&str>,
) -> Tags {
    let conf = confidentiality(body, entries);
    let sealed_by = (conf == Confidentiality::VeryRestricted)
        .then(|| earlier_sealer.or(writer).map(str::to_string))
        .flatten();
    let references = entries.iter().filter_map(|e| match &e.value {
        IndexValue::Reference {
            target_type,
            target_id,
            ..
        } => Some((
            e.param.as_str(),
            target_type.as_deref(),
            target_id.as_deref(),
        )),
        _ => None,
    });
    Tags {
        conf,
        patient_id: compartment_patient(rtype, id, references),
        sealed_by,
    }
}

/// The highest of the `meta.security` confidentiality codes, raised to `R` by a sensitive
/// SNOMED CT code or category.
pub fn confidentiality(body: &Value, entries: &[IndexEntry]) -> Confidentiality {
    let labelled = security_level(body);
    let sensitive_code = entries.iter().any(|e| {
        matches!(e.param.as_str(), "code" | "category")
            && matches!(&e.value, IndexValue::Token { system: Some(s), code: Some(c), .. }
                if s == SNOMED_SYSTEM && SENSITIVE_CONCEPTS.iter().any(|(k, _)| k == c))
    });
    if sensitive_code {
        labelled.max(Confidentiality::Restricted)
    } else {
        labelled
    }
}

/// The level named by `meta.security` (Normal when it names none).
fn security_level(body: &Value) -> Confidentiality {
    let labels = body
        .pointer("/meta/security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    labels
        .filter(|c| c.get("system").and_then(Value::as_str) == Some(CONFIDENTIALITY_SYSTEM))
        .map(|c| match c.get("code").and_then(Value::as_str) {
            Some("R") => Confidentiality::Restricted,
            Some("V") => Confidentiality::VeryRestricted,
            _ => Confidentiality::Normal,
        })
        .max()
        .unwrap_or(Confidentiality::Normal)
}

/// Whether resources of `rtype` can belong to a patient's compartment.
pub fn is_compartment_type(rtype: &str) -> bool {
    rtype == "Patient"
        || fhir::Definitions::get()
            .patient_compartment
            .get(rtype)
            .is_some_and(|params| !params.is_empty())
}

/// Every type of the patient compartment, sorted.
pub fn compartment_types() -> Vec<&'static str> {
    let mut types: Vec<&'static str> = fhir::Definitions::get()
        .patient_compartment
        .iter()
        .filter(|(t, params)| !params.is_empty() || t.as_str() == "Patient")
        .map(|(t, _)| t.as_str())
        .collect();
    types.sort_unstable();
    types
}

/// The patient of `rtype/id`: its own id for a Patient; otherwise the first `Patient`
/// target of the parameters that put its type in the compartment, in the compartment
/// definition's order (`references` are `(param, target type, target id)`).
pub fn compartment_patient<'a>(
    rtype: &str,
    id: &str,
    references: impl Iterator<Item = (&'a str, Option<&'a str>, Option<&'a str>)>,
) -> Option<String> {
    if rtype == "Patient" {
        return Some(id.to_string());
    }
    let params = fhir::Definitions::get().patient_compartment.get(rtype)?;
    let patients: Vec<(&str, &str)> = references
        .filter_map(
            |(param, target_type, target_id)| match (target_type, target_id) {
                (Some("Patient"), Some(t)) if !t.is_empty() => Some((param, t)),
                _ => None,
            },
        )
        .collect();
    params.iter().find_map(|p| {
        patients
            .iter()
            .find(|(param, _)| param == p)
            .map(|(_, t)| t.to_string())
    })
}

/// A row of `patient_flags`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub patient_id: String,
    pub flag: &'static str,
}

/// The source a Patient's or Consent's flags are recorded under (`Type/id`); None for
/// types that set no flags.
pub fn flag_source(rtype: &str, id: &str) -> Option<String> {
    matches!(rtype, "Patient" | "Consent").then(|| format!("{rtype}/{id}"))
}

/// The flags a Patient or Consent sets while it is current (`patient_id` from its tags).
pub fn flags(rtype: &str, body: &Value, patient_id: Option<&str>) -> Vec<Flag> {
    let Some(patient_id) = patient_id else {
        return vec![];
    };
    let flag = match rtype {
        "Patient" if security_level(body) >= Confidentiality::Restricted => FLAG_SENSITIVE,
        "Consent" if is_privacy_dissent(body) => FLAG_DISSENT,
        _ => return vec![],
    };
    vec![Flag {
        patient_id: patient_id.to_string(),
        flag,
    }]
}

/// An active Consent denying the sharing of the patient's record (privacy scope).
fn is_privacy_dissent(consent: &Value) -> bool {
    let text = |pointer: &str| consent.pointer(pointer).and_then(Value::as_str);
    let privacy_scope = consent
        .pointer("/scope/coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| {
            c.get("system").and_then(Value::as_str) == Some(CONSENT_SCOPE_SYSTEM)
                && c.get("code").and_then(Value::as_str) == Some("patient-privacy")
        });
    text("/status") == Some("active") && text("/provision/type") == Some("deny") && privacy_scope
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tags_of(rtype: &str, body: Value, writer: Option<&str>, earlier: Option<&str>) -> Tags {
        let entries = fhir::index::extract(rtype, &body);
        tags(rtype, "r1", &body, &entries, writer, earlier)
    }

    fn labelled(code: &str) -> Value {
        json!({"resourceType": "Observation", "status": "final",
            "meta": {"security": [{"system": CONFIDENTIALITY_SYSTEM, "code": code}]},
            "code": {"text": "note"}, "subject": {"reference": "Patient/p1"}})
    }

    #[test]
    fn security_labels_set_the_level_and_v_records_its_sealer() {
        let r = tags_of("Observation", labelled("R"), Some("u1"), None);
        assert_eq!(r.conf, Confidentiality::Restricted);
        assert_eq!(r.sealed_by, None, "only V entries are sealed");
        let v = tags_of("Observation", labelled("V"), Some("u1"), None);
        assert_eq!(v.conf, Confidentiality::VeryRestricted);
        assert_eq!(v.sealed_by.as_deref(), Some("u1"));
        let n = tags_of("Observation", labelled("N"), Some("u1"), None);
        assert_eq!(n.conf, Confidentiality::Normal);
    }

    #[test]
    fn a_later_editor_does_not_take_over_the_seal() {
        let v = tags_of("Observation", labelled("V"), Some("u2"), Some("u1"));
        assert_eq!(v.sealed_by.as_deref(), Some("u1"));
    }

    #[test]
    fn sensitive_snomed_codes_restrict_the_entry() {
        let top = json!({"resourceType": "Procedure", "status": "completed",
            "code": {"coding": [{"system": SNOMED_SYSTEM, "code": "386639001"}]},
            "subject": {"reference": "Patient/p1"}});
        assert_eq!(
            tags_of("Procedure", top, None, None).conf,
            Confidentiality::Restricted
        );
        let hiv = json!({"resourceType": "Condition",
            "category": [{"coding": [{"system": SNOMED_SYSTEM, "code": "86406008"}]}],
            "subject": {"reference": "Patient/p1"}});
        assert_eq!(
            tags_of("Condition", hiv, None, None).conf,
            Confidentiality::Restricted
        );
        // The same code in another system means something else.
        let other = json!({"resourceType": "Procedure", "status": "completed",
            "code": {"coding": [{"system": "http://example.org", "code": "386639001"}]},
            "subject": {"reference": "Patient/p1"}});
        assert_eq!(
            tags_of("Procedure", other, None, None).conf,
            Confidentiality::Normal
        );
    }

    #[test]
    fn the_compartment_patient_follows_the_definition_order() {
        let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "performer": [{"reference": "Patient/p2"}], "subject": {"reference": "Patient/p1"}});
        assert_eq!(
            tags_of("Observation", obs, None, None)
                .patient_id
                .as_deref(),
            Some("p1"),
            "subject comes before performer"
        );
        let group = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "subject": {"reference": "Group/g1"}});
        assert_eq!(tags_of("Observation", group, None, None).patient_id, None);
        let patient = json!({"resourceType": "Patient"});
        assert_eq!(
            tags_of("Patient", patient, None, None)
                .patient_id
                .as_deref(),
            Some("r1")
        );
        let practitioner = json!({"resourceType": "Practitioner"});
        assert_eq!(
            tags_of("Practitioner", practitioner, None, None).patient_id,
            None
        );
        assert!(is_compartment_type("Observation") && is_compartment_type("Patient"));
        assert!(!is_compartment_type("Practitioner"));
        assert!(compartment_types().contains(&"Encounter"));
    }

    #[test]
    fn restricted_patients_are_flagged_sensitive() {
        let p = json!({"resourceType": "Patient",
            "meta": {"security": [{"system": CONFIDENTIALITY_SYSTEM, "code": "R"}]}});
        assert_eq!(
            flags("Patient", &p, Some("p1")),
            vec![Flag {
                patient_id: "p1".into(),
                flag: FLAG_SENSITIVE
            }]
        );
        assert!(flags("Patient", &json!({"resourceType": "Patient"}), Some("p1")).is_empty());
        assert_eq!(flag_source("Patient", "p1").as_deref(), Some("Patient/p1"));
        assert_eq!(flag_source("Observation", "o1"), None);
    }

    #[test]
    fn only_an_active_privacy_deny_is_dissent() {
        let consent = |status: &str, kind: &str| {
            json!({"resourceType": "Consent", "status": status,
                "scope": {"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": "patient-privacy"}]},
                "provision": {"type": kind}, "patient": {"reference": "Patient/p1"}})
        };
        let dissent = flags("Consent", &consent("active", "deny"), Some("p1"));
        assert_eq!(dissent[0].flag, FLAG_DISSENT);
        assert!(flags("Consent", &consent("inactive", "deny"), Some("p1")).is_empty());
        assert!(flags("Consent", &consent("active", "permit"), Some("p1")).is_empty());
        assert!(flags("Consent", &consent("active", "deny"), None).is_empty());
    }
}
