//! An entry as a FHIR R4 AuditEvent, in the shape of the IHE Basic Audit Log Patterns
//! (BALP): what happened (`type`, `subtype`, `action`), when (`recorded`), how it ended
//! (`outcome`), why (`purposeOfEvent`), who and through which app (`agent`), where
//! (`source`, `agent.network`) and on what (`entity`).

use super::entry::{Entry, StaffEntry};
use base64::Engine;
use serde_json::{Value, json};

const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const RESTFUL: &str = "http://hl7.org/fhir/restful-interaction";
const OPENGP_EVENT: &str = "https://opengp.org.uk/CodeSystem/audit-event";
const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
/// IHE BALP's entity types (the request id).
const BALP_ENTITY_TYPE: &str = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const RESOURCE_TYPES: &str = "http://hl7.org/fhir/resource-types";
const SECURITY_ROLE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/extra-security-role-type";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
pub const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const USER_SYSTEM: &str = "https://opengp.org.uk/Id/user";
const CLIENT_SYSTEM: &str = "https://opengp.org.uk/Id/oauth-client";
const SYSTEM_SYSTEM: &str = "https://opengp.org.uk/Id/system";

/// The FHIR restful interactions, recorded under their own code.
const RESTFUL_INTERACTIONS: &[&str] = &[
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history",
    "history-instance",
    "history-type",
    "history-system",
    "create",
    "search",
    "search-type",
    "search-system",
    "capabilities",
    "transaction",
    "batch",
    "operation",
];

fn coding(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut c = json!({ "system": system, "code": code });
    if let Some(d) = display {
        c["display"] = json!(d);
    }
    c
}

/// `entry` as an AuditEvent with id `seq`. `patient_view` is the patient of a patient
/// context: the event is shown to that patient, so nothing about other patients (their
/// ids, the query, the detail of an event that also concerned others) and no network
/// addresses of staff are included.
pub fn audit_event(entry: &Entry, patient_view: Option<&str>) -> Value {
    // Everything recorded may be shown when the entry concerns only this patient.
    let private_to_viewer = match patient_view {
        None => true,
        Some(p) => entry.patients.iter().all(|q| q == p),
    };
    let recorded = crate::time::format_instant(entry.recorded);
    let (event_type, subtypes) = event_codes(&entry.event);
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": entry.seq.to_string(),
        "meta": { "versionId": "1", "lastUpdated": recorded },
        "type": event_type,
    });
    if !subtypes.is_empty() {
        event["subtype"] = Value::Array(subtypes);
    }
    event["action"] = json!(entry.action);
    event["recorded"] = json!(recorded);
    let (outcome, words) = match entry.outcome.as_str() {
        "success" => ("0", "success"),
        "refused" => ("4", "refused"),
        _ => ("8", "failed"),
    };
    event["outcome"] = json!(outcome);
    event["outcomeDesc"] = match (&entry.detail, private_to_viewer) {
        (Some(detail), true) => json!(detail),
        _ => json!(words),
    };
    let mut purposes = vec![json!({ "coding": [coding(ACT_REASON, &entry.purpose, None)] })];
    if entry.break_glass.is_some() {
        purposes.push(json!({ "coding": [coding(ACT_REASON, "BTG", Some("break the glass"))] }));
    }
    event["purposeOfEvent"] = Value::Array(purposes);
    event["agent"] = Value::Array(agents(entry, patient_view.is_none()));
    event["source"] = json!({
        "site": entry.practice,
        "observer": {
            "type": "Organization",
            "identifier": { "system": ODS_SYSTEM, "value": entry.practice },
        },
        "type": [coding(SOURCE_TYPE, "4", Some("Application Server"))],
    });
    let entities = entities(entry, patient_view, private_to_viewer);
    if !entities.is_empty() {
        event["entity"] = Value::Array(entities);
    }
    event
}

/// BALP's `type` and `subtype` for an event name.
fn event_codes(event: &str) -> (Value, Vec<Value>) {
    let rest = || coding(EVENT_TYPE, "rest", Some("RESTful Operation"));
    let ours = || coding(OPENGP_EVENT, event, None);
    let authentication = || coding(DICOM, "110114", Some("User Authentication"));
    match event {
        e if RESTFUL_INTERACTIONS.contains(&e) => (rest(), vec![coding(RESTFUL, e, None)]),
        "everything" | "export" => (rest(), vec![coding(RESTFUL, "operation", None), ours()]),
        "login" => (
            authentication(),
            vec![coding(DICOM, "110122", Some("Login"))],
        ),
        "logout" => (
            authentication(),
            vec![coding(DICOM, "110123", Some("Logout"))],
        ),
        "token" | "revoke" => (authentication(), vec![ours()]),
        "break-glass" => (
            coding(DICOM, "110113", Some("Security Alert")),
            vec![ours()],
        ),
        "user-admin" | "client-admin" => (
            coding(DICOM, "110137", Some("User Security Attributes Changed")),
            vec![ours()],
        ),
        _ => (ours(), Vec::new()),
    }
}

/// The person (or OpenGP itself) who acted, and the app they acted through. The
/// requestor is the person when there is one, else the app. `network.address` is only
/// given to staff readers.
fn agents(entry: &Entry, show_network: bool) -> Vec<Value> {
    let mut agents = Vec::new();
    let human = match (&entry.staff, entry.actor.kind.as_str()) {
        (Some(staff), _) => Some(staff_agent(staff)),
        (None, "user") => Some(json!({
            "type": { "coding": [coding(SECURITY_ROLE_TYPE, "humanuser", Some("human user"))] },
            "who": { "identifier": { "system": USER_SYSTEM, "value": entry.actor.id } },
        })),
        _ => None,
    };
    let client = entry
        .client_id
        .as_deref()
        .or((entry.actor.kind == "app").then_some(entry.actor.id.as_str()));
    if let Some(mut agent) = human {
        agent["requestor"] = json!(true);
        agents.push(agent);
    }
    if let Some(client) = client {
        agents.push(json!({
            "type": { "coding": [coding(DICOM, "110150", Some("Application"))] },
            "who": { "identifier": { "system": CLIENT_SYSTEM, "value": client } },
            "requestor": agents.is_empty(),
        }));
    }
    if agents.is_empty() {
        agents.push(json!({
            "type": { "coding": [coding(DICOM, "110150", Some("Application"))] },
            "who": {
                "identifier": { "system": SYSTEM_SYSTEM, "value": entry.actor.id },
                "display": "OpenGP",
            },
            "requestor": true,
        }));
    }
    if let (Some(address), true) = (&entry.source, show_network) {
        let kind = if address.parse::<std::net::IpAddr>().is_ok() {
            "2"
        } else {
            "1"
        };
        agents[0]["network"] = json!({ "address": address, "type": kind });
    }
    agents
}

fn staff_agent(staff: &StaffEntry) -> Value {
    let mut who = json!({
        "identifier": { "system": USER_SYSTEM, "value": staff.user_id },
        "display": staff.role_display,
    });
    if let Some(practitioner) = &staff.practitioner {
        who["reference"] = json!(format!("Practitioner/{practitioner}"));
    }
    json!({
        "type": { "coding": [coding(SECURITY_ROLE_TYPE, "humanuser", Some("human user"))] },
        "role": [{ "coding": [coding(&staff.role_system, &staff.role_code, Some(&staff.role_display))] }],
        "who": who,
    })
}

/// One entity per resource concerned (the patients with role 1 Patient), the query of a
/// search, and the break-glass reason on the patient's entity.
fn entities(entry: &Entry, patient_view: Option<&str>, private_to_viewer: bool) -> Vec<Value> {
    let mut entities: Vec<Value> = Vec::new();
    let shown_patients: Vec<&String> = entry
        .patients
        .iter()
        .filter(|p| patient_view.is_none_or(|v| v == p.as_str()))
        .collect();
    if private_to_viewer {
        entities.extend(
            entry
                .entities
                .iter()
                .map(|e| resource_entity(e, &entry.patients)),
        );
    }
    for patient in &shown_patients {
        let reference = format!("Patient/{patient}");
        let listed = private_to_viewer && entry.entities.contains(&reference);
        if !listed {
            entities.push(resource_entity(&reference, &entry.patients));
        }
    }
    if let (Some(query), true) = (&entry.query, private_to_viewer) {
        entities.push(json!({
            "type": coding(ENTITY_TYPE, "2", Some("System Object")),
            "role": coding(OBJECT_ROLE, "24", Some("Query")),
            "query": base64::engine::general_purpose::STANDARD.encode(query),
        }));
    }
    if private_to_viewer && !entry.request_id.is_empty() {
        // BALP: the request id (X-Request-Id) ties the event to the server's logs.
        entities.push(json!({
            "what": { "identifier": { "value": entry.request_id } },
            "type": coding(BALP_ENTITY_TYPE, "XrequestId", Some("X-Request-Id")),
        }));
    }
    if let (Some(reason), true) = (&entry.break_glass, private_to_viewer) {
        let detail = json!([{ "type": "break-glass-reason", "valueString": reason }]);
        let patient_entity = entities.iter_mut().find(|e| e["role"]["code"] == "1");
        match patient_entity {
            Some(e) => e["detail"] = detail,
            None => entities.push(json!({
                "type": coding(ENTITY_TYPE, "2", Some("System Object")),
                "detail": detail,
            })),
        }
    }
    entities
}

/// `Type/id` or `Type/id/_history/N` as an entity: its type, and role 1 Patient for a
/// patient of the event, else 4 Domain Resource.
fn resource_entity(reference: &str, patients: &[String]) -> Value {
    let mut parts = reference.split('/');
    let rtype = parts.next().unwrap_or_default();
    let id = parts.next().unwrap_or_default();
    let role = if rtype == "Patient" && patients.iter().any(|p| p == id) {
        coding(OBJECT_ROLE, "1", Some("Patient"))
    } else {
        coding(OBJECT_ROLE, "4", Some("Domain Resource"))
    };
    json!({
        "what": { "reference": reference },
        "type": coding(RESOURCE_TYPES, rtype, None),
        "role": role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{ActorEntry, Origin};
    use crate::{Action, AuditRecord, Outcome};

    fn entry(record: AuditRecord) -> Entry {
        let origin = Origin {
            practice: "A81001".into(),
            request_id: "req-1".into(),
            actor: ActorEntry {
                kind: "user".into(),
                id: "u-1".into(),
            },
            staff: Some(StaffEntry {
                user_id: "u-1".into(),
                role_system: "https://fhir.nhs.uk/Id/sds-role-code".into(),
                role_code: "R8000".into(),
                role_display: "Clinical Practitioner".into(),
                practitioner: Some("prac-1".into()),
            }),
            client_id: Some("app-1".into()),
            purpose: "TREAT".into(),
            source: Some("192.0.2.7".into()),
            break_glass: Some("patient unconscious in surgery".into()),
            recorded: 1_700_000_000_000_000,
        };
        Entry::new(3, &origin, &record)
    }

    fn errors(resource: &Value) -> Vec<fhir::Issue> {
        fhir::validate_resource(resource)
            .into_iter()
            .filter(|i| i.severity == fhir::Severity::Error)
            .collect()
    }

    #[test]
    fn every_event_kind_renders_as_a_valid_audit_event() {
        for (event, action) in [
            ("read", Action::Read),
            ("search-type", Action::Execute),
            ("everything", Action::Execute),
            ("login", Action::Execute),
            ("logout", Action::Execute),
            ("token", Action::Execute),
            ("break-glass", Action::Execute),
            ("user-admin", Action::Update),
            ("something-new", Action::Execute),
        ] {
            for outcome in [Outcome::Success, Outcome::Refused, Outcome::Failed] {
                let record = AuditRecord::new(event, action, outcome)
                    .entity("Observation/o1/_history/2")
                    .patient("p1")
                    .query("code=1234")
                    .detail("why");
                let rendered = audit_event(&entry(record), None);
                assert_eq!(errors(&rendered), vec![], "{event}: {rendered:#}");
                let request_ids: Vec<&Value> = rendered["entity"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["type"]["code"] == "XrequestId")
                    .map(|e| &e["what"]["identifier"]["value"])
                    .collect();
                assert_eq!(request_ids, vec!["req-1"], "{rendered:#}");
            }
        }
    }

    #[test]
    fn the_validator_would_notice_a_malformed_event() {
        let record = AuditRecord::new("read", Action::Read, Outcome::Success);
        let mut rendered = audit_event(&entry(record), None);
        rendered["outcome"] = json!("5");
        rendered["agent"][0]
            .as_object_mut()
            .unwrap()
            .remove("requestor");
        assert_eq!(errors(&rendered).len(), 2, "{rendered:#}");
    }

    #[test]
    fn a_patient_sees_who_looked_but_not_at_whom_else() {
        let record = AuditRecord::new("search-type", Action::Execute, Outcome::Success)
            .entity("Patient/p1")
            .entity("Patient/p2")
            .patient("p1")
            .patient("p2")
            .query("name=smith");
        let rendered = audit_event(&entry(record), Some("p1"));
        let text = rendered.to_string();
        assert!(!text.contains("p2"), "{text}");
        assert!(!text.contains("192.0.2.7"), "{text}");
        assert!(!text.contains("query"), "{text}");
        assert_eq!(
            rendered["agent"][0]["who"]["reference"],
            "Practitioner/prac-1"
        );
        assert_eq!(
            rendered["agent"][0]["role"][0]["coding"][0]["code"],
            "R8000"
        );
        assert_eq!(rendered["entity"][0]["what"]["reference"], "Patient/p1");
        assert_eq!(errors(&rendered), vec![]);
    }
}
