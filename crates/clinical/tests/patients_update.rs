//! Changing a patient's contact details and usual GP (SQLite and PostgreSQL), and
//! telling PDS (against a test double that records what it was sent).

mod patients_support;

use clinical::patients::PatientField;
use clinical::patients::contact;
use clinical::patients::form::{Address, ContactMethod, Telecom};
use clinical::patients::update::pds_push::{PdsDestination, PdsOutcome, push};
use clinical::patients::update::{
    self, ContactChange, Details, DetailsForm, Field, SaveError, ToPds,
};
use patients_support::*;
use pds::{Pds, PdsError, PdsPatient, SearchQuery};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use store::{Repository, Role, Store};

/// Each listed test on SQLite (`sqlite::name`) and PostgreSQL (`postgres::name`).
macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::sqlite()); } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                match super::postgres() {
                    Some(store) => super::$name(store),
                    None => eprintln!("skipped: OPENGP_TEST_POSTGRES is not set"),
                }
            } )*
        }
    };
}

backends!(
    a_receptionist_changes_the_address_and_phones_and_the_rest_is_kept,
    bad_input_gets_a_message_on_its_field_and_nothing_is_saved,
    a_concurrent_change_is_reported_and_not_overwritten,
    a_sensitive_patients_address_and_phones_are_never_shown_or_written,
    roles_that_may_not_amend_demographics_cannot_save,
    the_queued_pds_message_reaches_pds_through_the_outbox_worker,
    without_pds_set_up_nothing_is_queued,
);

/// PDS is set up; a change starts on PDS on this date.
const PDS_TODAY: Option<&str> = Some("2026-05-01");

/// The outbox messages about patient `id`.
fn messages(repo: &Repository, id: &str) -> Vec<outbox::Summary> {
    outbox::for_subject(
        repo.store().as_ref(),
        PRACTICE,
        &format!("Patient/{id}"),
        10,
    )
    .unwrap()
}

const NHS: &str = "9434765919";

/// A registered patient as registration and the demo write them: verified NHS number,
/// home address, a ranked mobile with a telephone preference, usual GP and practice;
/// plus an old address and a work number the form does not show.
fn registered(repo: &Repository, sensitive: bool) -> String {
    let mut p = json!({
        "resourceType": "Patient",
        "extension": [{"url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-ContactPreference",
            "extension": [{"url": "PreferredContactMethod", "valueCodeableConcept": {"coding": [{
                "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-PreferredContactMethod",
                "code": "3", "display": "Telephone"}]}}]}],
        "identifier": [{
            "extension": [{"url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
                "valueCodeableConcept": {"coding": [{
                    "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
                    "code": "01", "display": "Number present and verified"}]}}],
            "system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS}],
        "name": [{"use": "official", "family": "Smith", "given": ["Jane"]}],
        "telecom": [
            {"system": "phone", "value": "07700900111", "use": "mobile", "rank": 1},
            {"system": "phone", "value": "01134960999", "use": "work"}
        ],
        "gender": "female",
        "birthDate": "1970-10-22",
        "address": [
            {"use": "old", "line": ["9 Former Street"], "city": "York", "postalCode": "YO1 7HH"},
            {"use": "home", "line": ["1 High Street", "Headingley", "West Park"], "city": "Leeds", "postalCode": "LS6 1AB", "country": "GB"}
        ],
        "generalPractitioner": [
            {"reference": format!("Practitioner/{GP_ID}")},
            {"reference": format!("Organization/{PRACTICE}")}
        ],
    });
    if sensitive {
        p["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]});
    }
    create(repo, p)
}

fn set_up(store: Arc<dyn Store>, sensitive: bool) -> (Repository, String) {
    let repo = repo(store);
    practice(&repo);
    let id = registered(&repo, sensitive);
    (repo, id)
}

/// The change a details form asks for, read as the web layer reads it (every value in
/// these tests can be read).
fn change(form: &DetailsForm) -> ContactChange {
    let read = |parsed: Result<Option<String>, &str>| parsed.expect("a readable value");
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    ContactChange {
        address: Address {
            lines: [&form.address_line1, &form.address_line2]
                .into_iter()
                .filter_map(|l| text(l))
                .collect(),
            town: text(&form.town),
            postcode: read(contact::uk_postcode(&form.postcode)),
        },
        telecom: Telecom {
            mobile: read(contact::phone(&form.mobile)),
            home_phone: read(contact::phone(&form.home_phone)),
            email: read(contact::email(&form.email)),
        },
        preferred_contact: ContactMethod::from_key(&form.preferred_contact),
        usual_gp: text(&form.usual_gp),
        version: form.version.parse().ok(),
    }
}

fn stored(repo: &Repository, id: &str) -> (Value, i64) {
    clinical::fetch::read(repo, &system(), "Patient", id).unwrap()
}

fn a_receptionist_changes_the_address_and_phones_and_the_rest_is_kept(store: Arc<dyn Store>) {
    let (repo, id) = set_up(store, false);
    let ctx = staff(Role::Receptionist);
    let now = update::current(&repo, &ctx, &id).unwrap();
    assert_eq!(
        now.form,
        DetailsForm {
            address_line1: "1 High Street".into(),
            address_line2: "Headingley, West Park".into(),
            town: "Leeds".into(),
            postcode: "LS6 1AB".into(),
            mobile: "07700900111".into(),
            preferred_contact: "telephone".into(),
            usual_gp: GP_ID.into(),
            version: "1".into(),
            ..DetailsForm::default()
        },
        "the form shows the current home address, not the old one"
    );
    assert_eq!(now.verification.as_deref(), Some("01"));
    // Saving what is shown writes nothing (the three address lines are kept as they are).
    let unchanged = update::save(&repo, &ctx, &id, &change(&now.form), PDS_TODAY).unwrap();
    assert!(!unchanged.changed && unchanged.for_pds.is_empty());
    assert_eq!(stored(&repo, &id).1, 1);
    assert!(messages(&repo, &id).is_empty(), "nothing for PDS");

    let mut form = now.form.clone();
    form.address_line1 = "7 Otley Road".into();
    form.address_line2 = String::new();
    form.postcode = "ls6 2aa".into();
    form.mobile = "+44 7700 900123".into();
    form.email = "jane@example.com".into();
    form.preferred_contact = "sms".into();
    let saved = update::save(&repo, &ctx, &id, &change(&form), PDS_TODAY).unwrap();
    assert!(saved.changed);
    assert_eq!(
        saved.for_pds,
        vec![Field::Address, Field::Mobile, Field::Email]
    );
    assert_eq!(saved.details.form.postcode, "LS6 2AA");
    assert_eq!(saved.details.form.mobile, "07700900123");
    assert_eq!(saved.details.form.preferred_contact, "sms");
    let queued = messages(&repo, &id);
    assert_eq!(queued.len(), 1, "one PDS message, committed with the save");
    assert_eq!(saved.pds, ToPds::Queued(queued[0].id.clone()));
    assert_eq!(queued[0].kind, "pds.update-contact");
    assert_eq!(queued[0].state, outbox::MessageState::Pending);

    let (patient, version) = stored(&repo, &id);
    assert_eq!(version, 2);
    assert_eq!(
        patient["address"],
        json!([
            {"use": "old", "line": ["9 Former Street"], "city": "York", "postalCode": "YO1 7HH"},
            {"use": "home", "line": ["7 Otley Road"], "city": "Leeds", "postalCode": "LS6 2AA", "country": "GB"}
        ])
    );
    let telecom = patient["telecom"].as_array().unwrap();
    assert!(
        telecom.contains(
            &json!({"system": "sms", "value": "07700900123", "use": "mobile", "rank": 1})
        )
    );
    assert!(
        telecom.contains(&json!({"system": "email", "value": "jane@example.com", "use": "home"}))
    );
    assert!(
        telecom.contains(&json!({"system": "phone", "value": "01134960999", "use": "work"})),
        "the work number is kept"
    );
    assert!(
        !telecom.iter().any(|t| t["value"] == "07700900111"),
        "the old mobile is gone"
    );
    assert_eq!(
        patient["name"][0]["family"], "Smith",
        "identity is untouched"
    );
    assert_eq!(patient["birthDate"], "1970-10-22");
    assert_eq!(patient["identifier"][0]["value"], NHS);

    // Saving again unchanged writes nothing.
    let again = update::save(&repo, &ctx, &id, &change(&saved.details.form), PDS_TODAY).unwrap();
    assert!(!again.changed);
    assert_eq!(stored(&repo, &id).1, 2);
}

fn bad_input_gets_a_message_on_its_field_and_nothing_is_saved(store: Arc<dyn Store>) {
    let (repo, id) = set_up(store, false);
    let ctx = staff(Role::Receptionist);
    let mut form = update::current(&repo, &ctx, &id).unwrap().form;
    form.usual_gp = "nurse-1".into();
    let mut bad = change(&form);
    // An address without its postcode (one that could not be read is left out).
    bad.address.postcode = None;
    let Err(SaveError::Invalid(errors)) = update::save(&repo, &ctx, &id, &bad, PDS_TODAY) else {
        panic!("the form is refused");
    };
    assert_eq!(
        errors.get(&PatientField::Postcode),
        Some("Enter the postcode, like LS6 1AB")
    );
    assert_eq!(
        errors.get(&PatientField::UsualGp),
        Some("Choose a GP of this practice from the list")
    );

    let mut form = update::current(&repo, &ctx, &id).unwrap().form;
    form.address_line1 = String::new();
    form.address_line2 = String::new();
    form.town = String::new();
    form.postcode = String::new();
    form.preferred_contact = "letter".into();
    let Err(SaveError::Invalid(errors)) = update::save(&repo, &ctx, &id, &change(&form), PDS_TODAY)
    else {
        panic!("a letter needs an address");
    };
    assert_eq!(
        errors.get(&PatientField::PreferredContact),
        Some("Add the address and postcode, or choose another way to contact the patient")
    );
    let (patient, version) = stored(&repo, &id);
    assert_eq!(version, 1, "nothing was written");
    assert_eq!(patient["address"][1]["postalCode"], "LS6 1AB");
}

fn a_concurrent_change_is_reported_and_not_overwritten(store: Arc<dyn Store>) {
    let (repo, id) = set_up(store, false);
    let ctx = staff(Role::Receptionist);
    let mine = update::current(&repo, &ctx, &id).unwrap().form;
    let mut theirs = mine.clone();
    theirs.mobile = "07700900222".into();
    update::save(&repo, &ctx, &id, &change(&theirs), PDS_TODAY).unwrap();

    let mut form = mine;
    form.postcode = "LS6 2AA".into();
    let Err(SaveError::Conflict(now)) = update::save(&repo, &ctx, &id, &change(&form), PDS_TODAY)
    else {
        panic!("a stale form is refused");
    };
    assert_eq!(now.version, 2);
    assert_eq!(
        now.form.mobile, "07700900222",
        "the current version is offered"
    );
    assert_eq!(now.form.postcode, "LS6 1AB");
    let (patient, version) = stored(&repo, &id);
    assert_eq!(version, 2);
    assert_eq!(
        patient["address"][1]["postalCode"], "LS6 1AB",
        "nothing overwritten"
    );
    assert_eq!(
        messages(&repo, &id).len(),
        1,
        "only the first save's message"
    );
}

fn a_sensitive_patients_address_and_phones_are_never_shown_or_written(store: Arc<dyn Store>) {
    let (repo, id) = set_up(store, true);
    let ctx = staff(Role::ClinicalPractitioner);
    let now = update::current(&repo, &ctx, &id).unwrap();
    assert!(now.sensitive);
    assert_eq!(
        now.form,
        DetailsForm {
            usual_gp: GP_ID.into(),
            version: "1".into(),
            ..DetailsForm::default()
        },
        "no address, phone, email or preference is shown"
    );
    let before = stored(&repo, &id).0;
    let form = DetailsForm {
        address_line1: "7 Otley Road".into(),
        postcode: "LS6 2AA".into(),
        mobile: "07700900123".into(),
        usual_gp: String::new(),
        version: "1".into(),
        ..DetailsForm::default()
    };
    let saved = update::save(&repo, &ctx, &id, &change(&form), PDS_TODAY).unwrap();
    assert!(saved.for_pds.is_empty(), "nothing for PDS");
    assert!(messages(&repo, &id).is_empty());
    let (patient, _) = stored(&repo, &id);
    assert_eq!(
        patient["address"], before["address"],
        "the posted address is ignored"
    );
    assert_eq!(patient["telecom"], before["telecom"]);
    assert_eq!(
        patient["generalPractitioner"],
        json!([{"reference": format!("Organization/{PRACTICE}")}]),
        "the usual GP was removed"
    );
    // A receptionist does not see the record at all.
    let hidden = update::current(&repo, &staff(Role::Receptionist), &id).unwrap_err();
    assert_eq!(hidden.status(), 404);
}

fn roles_that_may_not_amend_demographics_cannot_save(store: Arc<dyn Store>) {
    let (repo, id) = set_up(store, false);
    let ctx = staff(Role::PrivacyOfficer);
    let mut form = update::current(&repo, &ctx, &id).unwrap().form;
    form.postcode = "LS6 2AA".into();
    match update::save(&repo, &ctx, &id, &change(&form), PDS_TODAY) {
        Err(SaveError::Store(e)) => assert_eq!(e.status(), 403),
        other => panic!("the save was not refused: {other:?}"),
    }
    assert_eq!(stored(&repo, &id).1, 1);
    assert!(messages(&repo, &id).is_empty());
}

fn the_queued_pds_message_reaches_pds_through_the_outbox_worker(store: Arc<dyn Store>) {
    let (repo, id) = set_up(store, false);
    let ctx = staff(Role::Receptionist);
    let mut form = update::current(&repo, &ctx, &id).unwrap().form;
    form.address_line1 = "7 Otley Road".into();
    form.address_line2 = String::new();
    form.postcode = "LS6 2AA".into();
    update::save(&repo, &ctx, &id, &change(&form), PDS_TODAY).unwrap();
    let pds = Arc::new(FakePds::holding(on_pds()));
    *pds.refuse.lock().unwrap() = Some(PdsError::VersionConflict);
    let worker = outbox::Worker::new(repo.store().clone(), outbox::WorkerConfig::default())
        .route("pds", Arc::new(PdsDestination::new(pds.clone())));
    assert_eq!(worker.run_once().unwrap(), 1);
    let patches = pds.patches();
    assert_eq!(
        patches.len(),
        1,
        "sent once, after fetching the changed record again"
    );
    assert_eq!(
        patches[0].1[1]["value"],
        json!({"id": "456", "use": "home", "period": {"start": "2026-05-01"},
            "line": ["7 Otley Road", "Leeds"], "postalCode": "LS6 2AA"})
    );
    let sent = &messages(&repo, &id)[0];
    assert_eq!(sent.state, outbox::MessageState::Sent);
    assert_eq!(sent.outcome.as_deref(), Some("PDS updated"));
}

fn without_pds_set_up_nothing_is_queued(store: Arc<dyn Store>) {
    let (repo, id) = set_up(store, false);
    let ctx = staff(Role::Receptionist);
    let mut form = update::current(&repo, &ctx, &id).unwrap().form;
    form.postcode = "LS6 2AA".into();
    let saved = update::save(&repo, &ctx, &id, &change(&form), None).unwrap();
    assert!(saved.changed);
    assert_eq!(
        saved.pds,
        ToPds::NotSent("PDS is not set up on this server.".into())
    );
    assert!(messages(&repo, &id).is_empty());
}

// --- telling PDS, against a test double ---

/// A PDS holding one patient, recording each patch it is sent.
struct FakePds {
    patient: Value,
    /// The error the next update gets.
    refuse: Mutex<Option<PdsError>>,
    patches: Mutex<Vec<(String, Value)>>,
}

impl FakePds {
    fn holding(patient: Value) -> FakePds {
        FakePds {
            patient,
            refuse: Mutex::new(None),
            patches: Mutex::new(Vec::new()),
        }
    }

    fn patches(&self) -> Vec<(String, Value)> {
        self.patches.lock().unwrap().clone()
    }
}

impl Pds for FakePds {
    fn search(&self, _: &SearchQuery) -> Result<Vec<PdsPatient>, PdsError> {
        Ok(Vec::new())
    }

    fn retrieve(&self, nhs_number: &str) -> Result<PdsPatient, PdsError> {
        Ok(PdsPatient {
            nhs_number: nhs_number.to_string(),
            score: None,
            etag: Some("W/\"4\"".into()),
            resource: self.patient.clone(),
        })
    }

    fn update(&self, _: &str, etag: &str, patch: &Value) -> Result<PdsPatient, PdsError> {
        if let Some(e) = self.refuse.lock().unwrap().take() {
            return Err(e);
        }
        self.patches
            .lock()
            .unwrap()
            .push((etag.to_string(), patch.clone()));
        self.retrieve(NHS)
    }
}

fn on_pds() -> Value {
    json!({"resourceType": "Patient", "id": NHS,
        "meta": {"versionId": "4", "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "U"}]},
        "address": [{"id": "456", "use": "home", "period": {"start": "2001-01-01"},
            "line": ["1 High Street", "Headingley", "Leeds"], "postalCode": "LS6 1AB"}],
        "telecom": [{"id": "789", "system": "phone", "value": "07700900111", "use": "mobile"}]})
}

fn details(verification: &str, sensitive: bool) -> Details {
    Details {
        patient_id: "p1".into(),
        version: 2,
        sensitive,
        nhs_number: Some(NHS.into()),
        verification: Some(verification.into()),
        form: DetailsForm {
            address_line1: "7 Otley Road".into(),
            town: "Leeds".into(),
            postcode: "LS6 2AA".into(),
            mobile: "07700900111".into(),
            email: "jane@example.com".into(),
            ..DetailsForm::default()
        },
    }
}

#[test]
fn pds_is_sent_only_the_changed_details_with_the_version_it_gave() {
    let pds = FakePds::holding(on_pds());
    let fields = [Field::Address, Field::Mobile, Field::Email];
    let outcome = push(&pds, &details("01", false), &fields, "2026-05-01");
    assert_eq!(outcome, PdsOutcome::Updated);
    let patches = pds.patches();
    assert_eq!(patches.len(), 1);
    let (etag, patch) = &patches[0];
    assert_eq!(etag, "W/\"4\"");
    assert_eq!(
        patch,
        &json!([
            {"op": "test", "path": "/address/0/id", "value": "456"},
            {"op": "replace", "path": "/address/0", "value": {"id": "456", "use": "home",
                "period": {"start": "2026-05-01"}, "line": ["7 Otley Road", "Leeds"], "postalCode": "LS6 2AA"}},
            {"op": "add", "path": "/telecom/-", "value": {"system": "email", "value": "jane@example.com",
                "use": "home", "period": {"start": "2026-05-01"}}}
        ]),
        "the mobile PDS already has is not sent"
    );

    // Only the details the save changed are sent.
    let pds = FakePds::holding(on_pds());
    assert_eq!(
        push(
            &pds,
            &details("01", false),
            &[Field::HomePhone],
            "2026-05-01"
        ),
        PdsOutcome::AlreadyCurrent
    );
    assert!(pds.patches().is_empty());
}

#[test]
fn pds_is_never_told_about_unverified_or_sensitive_patients() {
    let pds = FakePds::holding(on_pds());
    for (status, sensitive) in [("02", false), ("03", false), ("01", true)] {
        let outcome = push(&pds, &details(status, sensitive), &Field::ALL, "2026-05-01");
        assert!(
            matches!(outcome, PdsOutcome::NotSent(_)),
            "{status} {sensitive}: {outcome:?}"
        );
    }
    let mut restricted_on_pds = on_pds();
    restricted_on_pds["meta"]["security"][0]["code"] = json!("R");
    let pds_restricted = FakePds::holding(restricted_on_pds);
    let outcome = push(
        &pds_restricted,
        &details("01", false),
        &Field::ALL,
        "2026-05-01",
    );
    assert!(
        matches!(outcome, PdsOutcome::NotSent(ref r) if r.contains("sensitive")),
        "{outcome:?}"
    );
    assert!(pds.patches().is_empty() && pds_restricted.patches().is_empty());
}

#[test]
fn a_pds_refusal_is_explained_in_its_own_words() {
    let pds = FakePds::holding(on_pds());
    *pds.refuse.lock().unwrap() = Some(PdsError::Invalid(
        "Invalid update with error - address postalCode is not valid".into(),
    ));
    let outcome = push(&pds, &details("01", false), &[Field::Address], "2026-05-01");
    assert_eq!(
        outcome,
        PdsOutcome::Failed(
            "PDS refused the change: Invalid update with error - address postalCode is not valid"
                .into()
        )
    );
    *pds.refuse.lock().unwrap() = Some(PdsError::Unavailable("503".into()));
    let outcome = push(&pds, &details("01", false), &[Field::Address], "2026-05-01");
    assert_eq!(
        outcome,
        PdsOutcome::Retry("PDS is unavailable: 503".into()),
        "tried again later"
    );
    // 412: PDS's record changed after it was read; it is fetched again and patched.
    *pds.refuse.lock().unwrap() = Some(PdsError::VersionConflict);
    let outcome = push(&pds, &details("01", false), &[Field::Address], "2026-05-01");
    assert_eq!(outcome, PdsOutcome::Updated);
    assert_eq!(pds.patches().len(), 1);
}
