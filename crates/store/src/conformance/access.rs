//! Conformance cases: who may see and do what (issue 3). Roles and scopes refuse
//! interactions with 403; confidentiality, patient context and dissent hide records
//! from every route (read, search, includes, `$everything`, history, paging).

use super::{Case, Harness, with_id};
use crate::access::{Access, CONFIDENTIALITY_SYSTEM, Role, Scopes, StaffMember};
use crate::case;
use crate::context::{Actor, Purpose, RequestContext};
use crate::error::FhirResult;
use crate::repository::{HistoryRequest, SearchRequest};
use serde_json::{Value, json};

pub fn cases() -> Vec<Case> {
    vec![
        case!(roles_allow_their_activities_and_refuse_the_rest),
        case!(a_receptionist_never_sees_clinical_records_by_any_route),
        case!(the_audit_trail_is_read_only),
        case!(scopes_narrow_interactions_and_types),
        case!(a_patient_context_sees_only_its_compartment),
        case!(sensitive_entries_are_for_clinicians_only),
        case!(sealed_entries_need_their_author_or_break_glass),
        case!(a_sensitive_patients_whole_record_is_restricted),
        case!(a_chain_cannot_find_a_hidden_record_by_its_content),
        case!(dissent_hides_the_record_from_sharing_only),
        case!(hidden_records_are_never_overwritten),
        case!(other_practices_records_are_unknown),
        case!(search_pages_belong_to_their_requester),
        case!(a_database_from_before_the_access_tags_is_upgraded),
    ]
}

const SNOMED: &str = "http://snomed.info/sct";

fn staff(h: &Harness, role: Role, user: &str) -> RequestContext {
    let member = StaffMember {
        user_id: user.into(),
        role,
        practitioner: None,
    };
    RequestContext::new(
        h.practice.clone(),
        Actor::User(user.into()),
        Purpose::DirectCare,
    )
    .with_access(Access::staff(member))
}

fn app(
    h: &Harness,
    scopes: &str,
    user: Option<(Role, &str)>,
    patient: Option<&str>,
) -> RequestContext {
    let member = user.map(|(role, id)| StaffMember {
        user_id: id.into(),
        role,
        practitioner: None,
    });
    let access = Access::app(
        "test-app",
        Scopes::parse(scopes).unwrap(),
        member,
        patient.map(str::to_string),
    );
    RequestContext::new(
        h.practice.clone(),
        Actor::App("test-app".into()),
        Purpose::DirectCare,
    )
    .with_access(access)
}

fn gp(h: &Harness, user: &str) -> RequestContext {
    staff(h, Role::ClinicalPractitioner, user)
}

/// Stores `body` at `rtype/id` as `ctx`.
fn put_as(h: &Harness, ctx: &RequestContext, rtype: &str, id: &str, body: Value) {
    h.repo
        .update(ctx, rtype, id, with_id(body, id), None)
        .unwrap_or_else(|e| panic!("storing {rtype}/{id}: {:?}", e.outcome()));
}

fn put(h: &Harness, rtype: &str, id: &str, body: Value) {
    put_as(h, &h.ctx(), rtype, id, body);
}

fn status<T>(r: FhirResult<T>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.status(),
    }
}

fn labelled(mut body: Value, code: &str) -> Value {
    body["meta"] = json!({"security": [{"system": CONFIDENTIALITY_SYSTEM, "code": code}]});
    body
}

fn observation(patient: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": {"text": "blood pressure"},
        "subject": {"reference": format!("Patient/{patient}")}})
}

fn encounter(patient: &str) -> Value {
    json!({"resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": format!("Patient/{patient}")}})
}

fn composition(patient: &str) -> Value {
    json!({"resourceType": "Composition", "status": "final", "type": {"text": "letter"},
        "date": "2024-01-01", "title": "Referral", "author": [{"reference": "Practitioner/pr1"}],
        "subject": {"reference": format!("Patient/{patient}")}})
}

fn appointment(patient: &str) -> Value {
    json!({"resourceType": "Appointment", "status": "booked",
        "participant": [{"actor": {"reference": format!("Patient/{patient}")}, "status": "accepted"}]})
}

fn termination(patient: &str) -> Value {
    json!({"resourceType": "Procedure", "status": "completed",
        "code": {"coding": [{"system": SNOMED, "code": "386639001"}]},
        "subject": {"reference": format!("Patient/{patient}")}})
}

fn medication_request(patient: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "medicationCodeableConcept": {"text": "amoxicillin"},
        "subject": {"reference": format!("Patient/{patient}")}})
}

fn dissent(patient: &str, status: &str) -> Value {
    json!({"resourceType": "Consent", "status": status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"text": "sharing"}], "patient": {"reference": format!("Patient/{patient}")},
        "provision": {"type": "deny"}})
}

/// Two patients with a little of everything, stored by the system.
fn seed(h: &Harness) {
    put(h, "Patient", "p1", json!({"resourceType": "Patient"}));
    put(h, "Patient", "p2", json!({"resourceType": "Patient"}));
    put(
        h,
        "Practitioner",
        "pr1",
        json!({"resourceType": "Practitioner"}),
    );
    put(h, "Observation", "o1", observation("p1"));
    put(h, "Observation", "o2", observation("p2"));
    put(h, "Encounter", "e1", encounter("p1"));
    put(h, "Composition", "c1", composition("p1"));
    put(h, "Appointment", "a1", appointment("p1"));
}

fn search(
    h: &Harness,
    ctx: &RequestContext,
    rtype: Option<&str>,
    params: &[(&str, &str)],
) -> FhirResult<Value> {
    h.repo.search(
        ctx,
        &SearchRequest {
            rtype: rtype.map(str::to_string),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            base_url: h.base_url().into(),
            lenient: false,
        },
    )
}

/// `Type/id` of every resource in a Bundle (OperationOutcomes left out).
fn refs(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let r = &e["resource"];
            let t = r["resourceType"].as_str()?;
            (t != "OperationOutcome").then(|| format!("{t}/{}", r["id"].as_str().unwrap_or("")))
        })
        .collect()
}

fn found(
    h: &Harness,
    ctx: &RequestContext,
    rtype: Option<&str>,
    params: &[(&str, &str)],
) -> Vec<String> {
    refs(&search(h, ctx, rtype, params).unwrap_or_else(|e| panic!("search: {:?}", e.outcome())))
}

fn everything(h: &Harness, ctx: &RequestContext, patient: &str) -> FhirResult<Vec<String>> {
    h.repo
        .everything(ctx, patient, &[], h.base_url())
        .map(|b| refs(&b))
}

fn history(
    h: &Harness,
    ctx: &RequestContext,
    rtype: Option<&str>,
    id: Option<&str>,
) -> FhirResult<Vec<String>> {
    h.repo
        .history(
            ctx,
            &HistoryRequest {
                rtype: rtype.map(str::to_string),
                id: id.map(str::to_string),
                params: vec![],
                base_url: h.base_url().into(),
            },
        )
        .map(|b| refs(&b))
}

fn roles_allow_their_activities_and_refuse_the_rest(h: &Harness) {
    seed(h);
    // (what, may GP, nurse, admin & clinical support, receptionist, practice manager,
    // privacy officer)
    type Try = fn(&Harness, &RequestContext) -> u16;
    let tries: [(&str, Try, [bool; 6]); 7] = [
        (
            "read Patient",
            |h, c| status(h.repo.read(c, "Patient", "p1")),
            [true, true, true, true, true, true],
        ),
        (
            "update Patient",
            |h, c| {
                let body = json!({"resourceType": "Patient", "address": [{"city": "Leeds"}]});
                status(h.repo.update(c, "Patient", "p2", with_id(body, "p2"), None))
            },
            [true, true, true, true, true, false],
        ),
        (
            "read Encounter",
            |h, c| status(h.repo.read(c, "Encounter", "e1")),
            [true, true, true, false, false, false],
        ),
        (
            "create Encounter",
            |h, c| status(h.repo.create(c, "Encounter", encounter("p1"), None)),
            [true, true, false, false, false, false],
        ),
        (
            "create MedicationRequest",
            |h, c| {
                status(
                    h.repo
                        .create(c, "MedicationRequest", medication_request("p1"), None),
                )
            },
            [true, false, false, false, false, false],
        ),
        (
            "create Appointment",
            |h, c| status(h.repo.create(c, "Appointment", appointment("p1"), None)),
            [true, true, true, true, true, false],
        ),
        (
            "create Practitioner",
            |h, c| {
                status(h.repo.create(
                    c,
                    "Practitioner",
                    json!({"resourceType": "Practitioner"}),
                    None,
                ))
            },
            [false, false, false, false, true, false],
        ),
    ];
    for (what, attempt, allowed) in tries {
        for (role, may) in Role::ALL.into_iter().zip(allowed) {
            let got = attempt(h, &staff(h, role, "u1"));
            let want = if may { 200 } else { 403 };
            assert_eq!(got, want, "{role} trying to {what}");
        }
    }
}

fn a_receptionist_never_sees_clinical_records_by_any_route(h: &Harness) {
    seed(h);
    let desk = staff(h, Role::Receptionist, "desk");
    assert_eq!(status(h.repo.read(&desk, "Composition", "c1")), 403);
    assert_eq!(status(search(h, &desk, Some("Encounter"), &[])), 403);
    let with_includes = found(
        h,
        &desk,
        Some("Patient"),
        &[
            ("_id", "p1"),
            ("_revinclude", "Encounter:subject"),
            ("_revinclude", "Appointment:actor"),
        ],
    );
    assert_eq!(with_includes, ["Patient/p1", "Appointment/a1"]);
    let mut all = everything(h, &desk, "p1").unwrap();
    all.sort();
    assert_eq!(all, ["Appointment/a1", "Patient/p1"]);
    let system = found(h, &desk, None, &[]);
    assert!(
        system
            .iter()
            .all(|r| !r.starts_with("Encounter") && !r.starts_with("Observation")),
        "{system:?}"
    );
    assert!(system.contains(&"Patient/p1".to_string()));
    assert_eq!(status(history(h, &desk, Some("Encounter"), None)), 403);
    assert_eq!(
        status(history(h, &desk, Some("Encounter"), Some("e1"))),
        403
    );
    let versions = history(h, &desk, None, None).unwrap();
    assert!(
        versions
            .iter()
            .all(|r| !r.starts_with("Encounter") && !r.starts_with("Composition")),
        "{versions:?}"
    );
    assert!(!versions.is_empty());
}

fn the_audit_trail_is_read_only(h: &Harness) {
    let event = json!({"resourceType": "AuditEvent", "type": {"code": "rest"}, "recorded": "2024-01-01T00:00:00Z",
        "agent": [{"requestor": true}], "source": {"observer": {"display": "x"}}});
    let officer = staff(h, Role::PrivacyOfficer, "po");
    assert_eq!(
        status(
            h.repo
                .create(&gp(h, "g1"), "AuditEvent", event.clone(), None)
        ),
        405
    );
    assert_eq!(
        status(h.repo.create(&h.ctx(), "AuditEvent", event.clone(), None)),
        405
    );
    assert_eq!(
        status(h.repo.update(
            &officer,
            "AuditEvent",
            "a",
            with_id(event.clone(), "a"),
            None
        )),
        405
    );
    assert_eq!(status(h.repo.delete(&officer, "AuditEvent", "a")), 405);
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": event, "request": {"method": "POST", "url": "AuditEvent"}}]});
    assert_eq!(status(h.repo.bundle(&h.ctx(), bundle, h.base_url())), 405);
    let trail = search(h, &officer, Some("AuditEvent"), &[]).unwrap();
    assert_eq!(trail["type"], "searchset");
    assert_eq!(
        status(search(h, &gp(h, "g1"), Some("AuditEvent"), &[])),
        403
    );
    assert_eq!(status(h.repo.read(&gp(h, "g1"), "AuditEvent", "a")), 403);
}

fn scopes_narrow_interactions_and_types(h: &Harness) {
    seed(h);
    let gp_user = Some((Role::ClinicalPractitioner, "g1"));
    let read_only = app(h, "patient/Observation.rs", None, Some("p1"));
    assert_eq!(
        status(
            h.repo
                .create(&read_only, "Observation", observation("p1"), None)
        ),
        403
    );
    assert_eq!(
        found(h, &read_only, Some("Observation"), &[]),
        ["Observation/o1"]
    );
    let no_search = app(h, "user/Patient.r", gp_user, None);
    assert_eq!(status(search(h, &no_search, Some("Patient"), &[])), 403);
    assert_eq!(status(h.repo.read(&no_search, "Patient", "p1")), 200);
    assert_eq!(status(h.repo.read(&no_search, "Observation", "o1")), 403);
    // Only Patient is in scope: nothing else comes back by any route.
    let patients = app(h, "user/Patient.rs", gp_user, None);
    let includes = found(
        h,
        &patients,
        Some("Patient"),
        &[
            ("_id", "p1"),
            ("_revinclude", "Observation:subject"),
            ("_revinclude", "Encounter:subject"),
        ],
    );
    assert_eq!(includes, ["Patient/p1"]);
    let observations = app(h, "user/Observation.rs", gp_user, None);
    let forward = found(
        h,
        &observations,
        Some("Observation"),
        &[("_id", "o1"), ("_include", "Observation:subject")],
    );
    assert_eq!(forward, ["Observation/o1"], "Patient is out of scope");
    assert_eq!(everything(h, &patients, "p1").unwrap(), ["Patient/p1"]);
    let mut system = found(h, &patients, None, &[]);
    system.sort();
    assert_eq!(system, ["Patient/p1", "Patient/p2"]);
    let versions = history(h, &patients, None, None).unwrap();
    assert!(
        versions.iter().all(|r| r.starts_with("Patient/")),
        "{versions:?}"
    );
    assert_eq!(versions.len(), 2);
}

fn a_patient_context_sees_only_its_compartment(h: &Harness) {
    seed(h);
    let portal = app(h, "patient/*.rs", None, Some("p1"));
    assert_eq!(
        found(h, &portal, Some("Observation"), &[]),
        ["Observation/o1"]
    );
    assert_eq!(status(h.repo.read(&portal, "Observation", "o2")), 404);
    assert_eq!(status(h.repo.read(&portal, "Patient", "p2")), 404);
    assert_eq!(
        status(h.repo.read(&portal, "Practitioner", "pr1")),
        200,
        "no one's compartment"
    );
    assert_eq!(status(everything(h, &portal, "p2")), 404);
    let mine = everything(h, &portal, "p1").unwrap();
    assert!(
        mine.contains(&"Observation/o1".to_string())
            && !mine.contains(&"Observation/o2".to_string())
    );
    assert_eq!(
        found(h, &portal, None, &[("_type", "Patient")]),
        ["Patient/p1"]
    );
    assert_eq!(
        status(history(h, &portal, Some("Observation"), Some("o2"))),
        404
    );
}

fn sensitive_entries_are_for_clinicians_only(h: &Harness) {
    seed(h);
    put(h, "Procedure", "top", termination("p1"));
    put(h, "Observation", "ro", labelled(observation("p1"), "R"));
    let admin = staff(h, Role::AdminClinicalSupport, "ad");
    let nurse = staff(h, Role::Nurse, "n1");
    let gp_app = app(
        h,
        "user/*.rs",
        Some((Role::ClinicalPractitioner, "g1")),
        None,
    );
    for (rtype, id) in [("Procedure", "top"), ("Observation", "ro")] {
        assert_eq!(
            status(h.repo.read(&admin, rtype, id)),
            404,
            "{rtype}/{id} for admin"
        );
        assert_eq!(
            status(h.repo.read(&gp_app, rtype, id)),
            404,
            "{rtype}/{id} for an app"
        );
        assert_eq!(
            status(h.repo.read(&nurse, rtype, id)),
            200,
            "{rtype}/{id} for a nurse"
        );
    }
    assert!(found(h, &admin, Some("Procedure"), &[]).is_empty());
    assert_eq!(
        found(h, &admin, Some("Observation"), &[("subject", "Patient/p1")]),
        ["Observation/o1"]
    );
    assert_eq!(found(h, &nurse, Some("Procedure"), &[]), ["Procedure/top"]);
    let everything_for_admin = everything(h, &admin, "p1").unwrap();
    assert!(!everything_for_admin.contains(&"Procedure/top".to_string()));
    let revinclude = found(
        h,
        &gp_app,
        Some("Patient"),
        &[("_id", "p1"), ("_revinclude", "Procedure:subject")],
    );
    assert_eq!(revinclude, ["Patient/p1"]);
    let versions = history(h, &admin, Some("Procedure"), None).unwrap();
    assert!(versions.is_empty(), "{versions:?}");
}

fn sealed_entries_need_their_author_or_break_glass(h: &Harness) {
    seed(h);
    let author = gp(h, "g1");
    put_as(
        h,
        &author,
        "Observation",
        "sealed",
        labelled(observation("p1"), "V"),
    );
    assert_eq!(status(h.repo.read(&author, "Observation", "sealed")), 200);
    assert!(
        found(h, &author, Some("Observation"), &[]).contains(&"Observation/sealed".to_string())
    );
    let colleague = gp(h, "g2");
    let refused = h
        .repo
        .read(&colleague, "Observation", "sealed")
        .unwrap_err();
    assert_eq!(refused.status(), 403);
    assert!(
        format!("{:?}", refused.issues()).contains("restricted"),
        "{refused:?}"
    );
    assert_eq!(
        status(h.repo.vread(&colleague, "Observation", "sealed", "1")),
        403
    );
    assert!(
        !found(h, &colleague, Some("Observation"), &[]).contains(&"Observation/sealed".to_string())
    );
    let glass = RequestContext {
        access: colleague
            .access
            .clone()
            .with_break_glass("patient collapsed in clinic")
            .unwrap(),
        ..colleague.clone()
    };
    assert_eq!(status(h.repo.read(&glass, "Observation", "sealed")), 200);
    // An update through break-glass keeps the author's seal.
    let mut amended = labelled(observation("p1"), "V");
    amended["status"] = json!("amended");
    put_as(h, &glass, "Observation", "sealed", amended);
    assert_eq!(status(h.repo.read(&author, "Observation", "sealed")), 200);
    assert_eq!(
        status(h.repo.read(&colleague, "Observation", "sealed")),
        403
    );
    let admin = staff(h, Role::AdminClinicalSupport, "ad");
    assert_eq!(status(h.repo.read(&admin, "Observation", "sealed")), 404);
}

fn a_sensitive_patients_whole_record_is_restricted(h: &Harness) {
    seed(h);
    put(
        h,
        "Patient",
        "ps",
        labelled(json!({"resourceType": "Patient"}), "R"),
    );
    put(h, "Observation", "ops", observation("ps"));
    put(h, "Appointment", "aps", appointment("ps"));
    let admin = staff(h, Role::AdminClinicalSupport, "ad");
    let desk = staff(h, Role::Receptionist, "desk");
    assert_eq!(status(h.repo.read(&admin, "Observation", "ops")), 404);
    assert_eq!(status(h.repo.read(&desk, "Patient", "ps")), 404);
    assert_eq!(status(h.repo.read(&desk, "Appointment", "aps")), 404);
    assert!(!found(h, &desk, Some("Patient"), &[]).contains(&"Patient/ps".to_string()));
    assert_eq!(status(everything(h, &desk, "ps")), 404);
    let nurse = staff(h, Role::Nurse, "n1");
    assert_eq!(status(h.repo.read(&nurse, "Observation", "ops")), 200);
    assert_eq!(status(h.repo.read(&nurse, "Patient", "ps")), 200);
    // No longer restricted at PDS: the flag goes with the label.
    put(h, "Patient", "ps", json!({"resourceType": "Patient"}));
    assert_eq!(status(h.repo.read(&admin, "Observation", "ops")), 200);
}

/// `Appointment?patient.name=…` must not tell a receptionist that a sensitive patient
/// with that name has an appointment they can see.
fn a_chain_cannot_find_a_hidden_record_by_its_content(h: &Harness) {
    seed(h);
    put(
        h,
        "Patient",
        "pn",
        json!({"resourceType": "Patient", "name": [{"family": "Quillfeather"}]}),
    );
    put(h, "Appointment", "apn", appointment("pn"));
    let desk = staff(h, Role::Receptionist, "desk");
    let by_name = [("patient.name", "Quillfeather")];
    assert_eq!(
        found(h, &desk, Some("Appointment"), &by_name),
        vec!["Appointment/apn"]
    );
    // The patient becomes sensitive at PDS and this appointment is moved to a patient
    // the receptionist may see: the chain must not find it through the hidden patient.
    put(
        h,
        "Patient",
        "pn",
        labelled(
            json!({"resourceType": "Patient", "name": [{"family": "Quillfeather"}]}),
            "R",
        ),
    );
    put(h, "Appointment", "apn", appointment("p1"));
    put(
        h,
        "Appointment",
        "apx",
        json!({"resourceType": "Appointment", "status": "booked",
            "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"},
                            {"actor": {"reference": "Patient/pn"}, "status": "accepted"}]}),
    );
    assert!(found(h, &desk, Some("Appointment"), &by_name).is_empty());
    let gp = gp(h, "g1");
    assert!(found(h, &gp, Some("Appointment"), &by_name).contains(&"Appointment/apx".to_string()));
}

fn dissent_hides_the_record_from_sharing_only(h: &Harness) {
    seed(h);
    put(h, "Consent", "k1", dissent("p1", "active"));
    let care = gp(h, "g1");
    let sharing = RequestContext {
        purpose: Purpose::Sharing,
        ..care.clone()
    };
    assert_eq!(status(h.repo.read(&care, "Observation", "o1")), 200);
    assert_eq!(status(h.repo.read(&sharing, "Observation", "o1")), 404);
    assert_eq!(status(h.repo.read(&sharing, "Observation", "o2")), 200);
    assert_eq!(
        found(h, &sharing, Some("Observation"), &[]),
        ["Observation/o2"]
    );
    assert_eq!(status(everything(h, &sharing, "p1")), 404);
    // Withdrawn dissent no longer hides anything.
    put(h, "Consent", "k1", dissent("p1", "inactive"));
    assert_eq!(status(h.repo.read(&sharing, "Observation", "o1")), 200);
    put(h, "Consent", "k1", dissent("p1", "active"));
    assert_eq!(status(h.repo.read(&sharing, "Observation", "o1")), 404);
    h.repo.delete(&h.ctx(), "Consent", "k1").unwrap();
    assert_eq!(status(h.repo.read(&sharing, "Observation", "o1")), 200);
}

fn hidden_records_are_never_overwritten(h: &Harness) {
    seed(h);
    put(h, "Procedure", "top", termination("p1"));
    // An app may write clinical records but never sees sensitive ones.
    let writer_app = app(
        h,
        "user/*.cruds",
        Some((Role::ClinicalPractitioner, "g1")),
        None,
    );
    let mut replacement = termination("p1");
    replacement["status"] = json!("entered-in-error");
    let put_over = h.repo.update(
        &writer_app,
        "Procedure",
        "top",
        with_id(replacement, "top"),
        None,
    );
    assert_eq!(status(put_over), 404);
    let conditional = h.repo.conditional_update(
        &writer_app,
        "Procedure",
        "_id=top",
        with_id(termination("p1"), "top"),
        None,
    );
    assert_eq!(status(conditional), 404, "no match, and the id is taken");
    assert_eq!(
        h.repo.delete(&writer_app, "Procedure", "top").unwrap(),
        None,
        "as if absent"
    );
    let stored = h.repo.read(&h.ctx(), "Procedure", "top").unwrap();
    assert_eq!(
        (stored.version, stored.json().unwrap()["status"].clone()),
        (1, json!("completed"))
    );
    let author = gp(h, "g1");
    put_as(
        h,
        &author,
        "Observation",
        "sealed",
        labelled(observation("p1"), "V"),
    );
    let colleague = gp(h, "g2");
    assert_eq!(
        status(h.repo.update(
            &colleague,
            "Observation",
            "sealed",
            with_id(observation("p1"), "sealed"),
            None
        )),
        403
    );
    assert_eq!(
        status(h.repo.delete(&colleague, "Observation", "sealed")),
        403
    );
    assert_eq!(
        h.repo
            .read(&author, "Observation", "sealed")
            .unwrap()
            .version,
        1
    );
}

fn other_practices_records_are_unknown(h: &Harness) {
    seed(h);
    let other = RequestContext {
        practice: "B82002".into(),
        ..gp(h, "g9")
    };
    assert_eq!(status(h.repo.read(&other, "Observation", "o1")), 404);
    assert_eq!(status(h.repo.vread(&other, "Observation", "o1", "1")), 404);
    assert_eq!(
        status(history(h, &other, Some("Observation"), Some("o1"))),
        404
    );
    assert_eq!(status(everything(h, &other, "p1")), 404);
    assert!(found(h, &other, Some("Observation"), &[]).is_empty());
    assert!(found(h, &other, None, &[("_id", "o1")]).is_empty());
    assert!(history(h, &other, None, None).unwrap().is_empty());
    assert_eq!(h.repo.delete(&other, "Observation", "o1").unwrap(), None);
    assert_eq!(
        h.repo
            .conditional_delete(&other, "Observation", "_id=o1")
            .unwrap(),
        0
    );
    // An update at another practice's id stores a resource of its own practice.
    let mut theirs = observation("p1");
    theirs["status"] = json!("cancelled");
    h.repo
        .update(&other, "Observation", "o1", with_id(theirs, "o1"), None)
        .unwrap();
    let ours = h.repo.read(&h.ctx(), "Observation", "o1").unwrap();
    assert_eq!(
        (ours.version, ours.json().unwrap()["status"].clone()),
        (1, json!("final"))
    );
}

fn search_pages_belong_to_their_requester(h: &Harness) {
    for id in ["s1", "s2", "s3"] {
        put(h, "Patient", id, json!({"resourceType": "Patient"}));
    }
    let first = search(h, &gp(h, "g1"), Some("Patient"), &[("_count", "1")]).unwrap();
    let next = first["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
        .expect("a next page")
        .to_string();
    let params: Vec<(String, String)> =
        form_urlencoded::parse(next.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let page = |ctx: &RequestContext| {
        h.repo.search(
            ctx,
            &SearchRequest {
                rtype: None,
                params: params.clone(),
                base_url: h.base_url().into(),
                lenient: false,
            },
        )
    };
    assert_eq!(refs(&page(&gp(h, "g1")).unwrap()).len(), 1);
    assert_eq!(status(page(&gp(h, "g2"))), 404);
    assert_eq!(
        status(page(&staff(h, Role::Receptionist, "g1"))),
        404,
        "same user, other access"
    );
}

/// A database made before `resources` had its access tags: the upgrade adds them and
/// works out each resource's patient, so patient contexts see their records again.
fn a_database_from_before_the_access_tags_is_upgraded(h: &Harness) {
    seed(h);
    put(h, "Procedure", "top", termination("p1"));
    put(
        h,
        "Patient",
        "ps",
        labelled(json!({"resourceType": "Patient"}), "R"),
    );
    put(h, "Consent", "no", dissent("p2", "active"));
    let store = h.repo.store();
    let mut tx = store.begin(&h.ctx(), crate::TxMode::Write).unwrap();
    tx.execute("DROP INDEX resources_by_patient", &[]).unwrap();
    for column in ["conf", "patient_id", "sealed_by"] {
        tx.execute(&format!("ALTER TABLE resources DROP COLUMN {column}"), &[])
            .unwrap();
    }
    // As if never migrated: the baseline adopts it, as it adopts a database from before
    // versioned migrations.
    tx.execute(
        "DELETE FROM schema_migrations WHERE component = 'store' AND version = 1",
        &[],
    )
    .unwrap();
    tx.commit().unwrap();
    crate::schema::migrate_store(store.as_ref()).unwrap();
    crate::schema::migrate_store(store.as_ref()).expect("migrating again changes nothing");
    // Sensitive records stored before the upgrade are still protected after it.
    let admin = staff(h, Role::AdminClinicalSupport, "ad");
    assert_eq!(status(h.repo.read(&admin, "Procedure", "top")), 404);
    assert_eq!(status(h.repo.read(&admin, "Patient", "ps")), 404);
    assert_eq!(status(h.repo.read(&gp(h, "g1"), "Procedure", "top")), 200);
    let mut sharing = app(h, "system/Observation.rs", None, None);
    sharing.purpose = Purpose::Sharing;
    assert!(found(h, &sharing, Some("Observation"), &[]).contains(&"Observation/o1".to_string()));
    assert!(!found(h, &sharing, Some("Observation"), &[]).contains(&"Observation/o2".to_string()));
    let portal = app(h, "patient/*.rs", None, Some("p1"));
    let mut mine = found(h, &portal, None, &[]);
    mine.sort();
    assert_eq!(
        mine,
        [
            "Appointment/a1",
            "Composition/c1",
            "Encounter/e1",
            "Observation/o1",
            "Patient/p1",
            "Practitioner/pr1"
        ]
    );
}
