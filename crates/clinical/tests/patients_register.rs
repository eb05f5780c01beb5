//! Registering a patient: validation, duplicates, the transaction, and the PDS trace.

mod patients_support;

use chrono::NaiveDate;
use clinical::conventions::RegistrationType;
use clinical::patients::contact;
use clinical::patients::duplicates::{Likeness, duplicates};
use clinical::patients::form::{
    Address, ContactMethod, NewPatient, PatientField, Telecom, validate,
};
use clinical::patients::practice;
use clinical::patients::register::{register, transaction};
use clinical::patients::trace::{TraceOutcome, TraceQuery, trace};
use fhir::uk::{Gender, NhsNumber, Verification};
use patients_support::*;
use pds::{Pds, PdsError, PdsPatient, SearchQuery};
use serde_json::{Value, json};
use std::sync::Mutex;
use store::Role;

/// What a receptionist would enter for a new permanent patient.
fn good_form() -> NewPatient {
    NewPatient {
        title: Some("Ms".into()),
        given: vec!["Ada".into()],
        family: Some("Lovelace".into()),
        gender: Some(Gender::Female),
        birth_date: Some(date(1985, 12, 10)),
        nhs_number: Some(NhsNumber::parse("943 476 5919").unwrap()),
        nhs_verification: Verification::from_code("02"),
        address: Address {
            lines: vec!["12 Otley Road".into()],
            town: Some("Leeds".into()),
            postcode: Some("LS6 2AA".into()),
        },
        telecom: Telecom {
            mobile: Some("07700900123".into()),
            home_phone: None,
            email: Some("ada@example.com".into()),
        },
        preferred_contact: Some(ContactMethod::Sms),
        registration_type: Some(RegistrationType::Permanent),
        registration_date: Some(date(2026, 5, 1)),
        usual_gp: Some(GP_ID.into()),
        named_gp: Some(GP_ID.into()),
        ..NewPatient::default()
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn error_of(form: &NewPatient, field: PatientField) -> String {
    let errors = validate(form, today()).expect_err("the form is refused");
    errors
        .get(&field)
        .unwrap_or_else(|| panic!("no error on {field}: {errors}"))
        .to_string()
}

#[test]
fn bad_fields_get_messages_saying_what_to_fix() {
    let mut form = good_form();
    form.birth_date = None;
    assert_eq!(
        error_of(&form, PatientField::BirthDate),
        "Enter the date of birth"
    );
    form.birth_date = Some(date(2027, 1, 31));
    assert_eq!(
        error_of(&form, PatientField::BirthDate),
        "Date of birth must be today or in the past"
    );
    form.birth_date = Some(date(1850, 1, 31));
    assert_eq!(
        error_of(&form, PatientField::BirthDate),
        "Date of birth must be within the last 130 years"
    );

    let mut form = good_form();
    form.address.postcode = None;
    form.preferred_contact = Some(ContactMethod::Letter);
    assert!(
        error_of(&form, PatientField::PreferredContact).starts_with("Add the address and postcode")
    );

    let mut form = good_form();
    form.given = vec![" ".into()];
    form.gender = None;
    form.registration_type = None;
    let errors = validate(&form, today()).unwrap_err();
    assert_eq!(
        errors.get(&PatientField::Given),
        Some("Enter the patient's first name")
    );
    assert_eq!(
        errors.get(&PatientField::Gender),
        Some("Select the patient's gender")
    );
    assert!(errors.get(&PatientField::RegistrationType).is_some());

    let mut form = good_form();
    form.registration_date = Some(date(2026, 5, 3));
    assert_eq!(
        error_of(&form, PatientField::RegistrationDate),
        "Registration date cannot be more than 1 day in the future"
    );
    form.registration_date = Some(date(1980, 1, 1));
    assert_eq!(
        error_of(&form, PatientField::RegistrationDate),
        "Registration date must be on or after the date of birth"
    );
}

#[test]
fn verification_status_must_fit_the_trace() {
    let mut form = good_form();
    form.nhs_verification = Verification::from_code("01");
    assert!(error_of(&form, PatientField::NhsVerification).contains("needs a PDS trace"));
    form.pds_traced = true;
    assert!(validate(&form, today()).is_ok());

    // A temporary resident needs no number; a permanent one needs one or a trace.
    let mut form = good_form();
    form.nhs_number = None;
    form.nhs_verification = Verification::from_code("07");
    form.registration_type = Some(RegistrationType::Temporary);
    assert!(validate(&form, today()).is_ok());
    form.registration_type = Some(RegistrationType::Permanent);
    assert!(error_of(&form, PatientField::NhsVerification).contains("choose 03 Trace required"));
    form.nhs_verification = Verification::from_code("02");
    assert!(error_of(&form, PatientField::NhsVerification).contains("needs an NHS number"));
    form.nhs_verification = None;
    assert_eq!(
        error_of(&form, PatientField::NhsVerification),
        "Select the NHS number status"
    );
}

#[test]
fn registration_writes_patient_and_episode_together() {
    let repo = repo(sqlite());
    practice(&repo);
    let ctx = staff(Role::ClinicalPractitioner);
    let valid = validate(&good_form(), today()).unwrap();
    let org = practice::organization(&repo, &ctx)
        .unwrap()
        .expect("the practice");
    assert_eq!(
        practice::gps(&repo, &ctx).unwrap().len(),
        1,
        "the nurse is not a GP"
    );

    let registered = register(&repo, &ctx, &valid, &org).unwrap();
    assert!(!registered.already_existed);
    let (patient, _) =
        clinical::fetch::read(&repo, &ctx, "Patient", &registered.patient_id).unwrap();
    assert_eq!(patient["name"][0]["family"], "Lovelace");
    assert_eq!(patient["identifier"][0]["value"], "9434765919");
    assert_eq!(
        patient["identifier"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"],
        "02"
    );
    assert_eq!(patient["address"][0]["postalCode"], "LS6 2AA");
    assert_eq!(
        patient["generalPractitioner"],
        json!([{"reference": format!("Practitioner/{GP_ID}")}, {"reference": org}])
    );
    let ranked: Vec<&Value> = patient["telecom"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["rank"] == 1)
        .collect();
    assert_eq!(ranked.len(), 1);
    assert_eq!(ranked[0]["system"], "sms");
    // The details page reads the preference back as registration wrote it.
    assert_eq!(contact::preference_of(&patient), Some(ContactMethod::Sms));

    let episodes = clinical::fetch::search(
        &repo,
        &ctx,
        "EpisodeOfCare",
        &[("patient", &format!("Patient/{}", registered.patient_id))],
    )
    .unwrap();
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0]["type"][0]["coding"][0]["code"], "R");
    assert_eq!(episodes[0]["period"]["start"], "2026-05-01");
    assert_eq!(
        episodes[0]["careManager"]["reference"],
        format!("Practitioner/{GP_ID}")
    );

    // The same NHS number again (two clerks at once): still one patient, one episode.
    let again = register(&repo, &ctx, &valid, &org).unwrap();
    assert!(again.already_existed);
    assert_eq!(again.patient_id, registered.patient_id);
    assert_eq!(count(&repo, "Patient"), 1);
    assert_eq!(count(&repo, "EpisodeOfCare"), 1);
}

#[test]
fn a_refused_registration_writes_nothing() {
    let repo = repo(sqlite());
    practice(&repo);
    let org = format!("Organization/{PRACTICE}");
    let valid = validate(&good_form(), today()).unwrap();
    // The practice's privacy officer may not change patients' details.
    let refused = register(&repo, &staff(Role::PrivacyOfficer), &valid, &org);
    assert_eq!(refused.unwrap_err().status(), 403);
    // A registration whose episode the store refuses takes its patient down with it.
    let keys = ["a".repeat(8), "b".repeat(8)].map(|k| format!("{k}-aaaa-4aaa-8aaa-aaaaaaaaaaaa"));
    let mut broken = transaction(&valid, &org, &keys);
    broken["entry"][1]["resource"]["status"] = json!("not-a-status");
    let ctx = staff(Role::ClinicalPractitioner);
    assert!(repo.bundle(&ctx, broken, "http://localhost/fhir").is_err());
    assert_eq!(count(&repo, "Patient"), 0);
    assert_eq!(count(&repo, "EpisodeOfCare"), 0);
}

#[test]
fn duplicates_are_found_before_creating() {
    let repo = repo(sqlite());
    let ctx = staff(Role::ClinicalPractitioner);
    let same_number = patient(
        &repo,
        "Byron",
        "Ada",
        "1985-12-10",
        Some("9434765919"),
        None,
    );
    let similar = patient(&repo, "Love-lace", "Augusta", "1985-12-10", None, None);
    let same_first_and_postcode =
        patient(&repo, "King", "Ada", "1985-12-10", None, Some("LS6 2AA"));
    patient(
        &repo,
        "Lovelace",
        "Ada",
        "1990-01-01",
        None,
        Some("LS6 2AA"),
    );

    let valid = validate(&good_form(), today()).unwrap();
    let found = duplicates(&repo, &ctx, &valid, today()).unwrap();
    let of = |id: &str| {
        found
            .iter()
            .find(|d| d.patient.id == id)
            .map(|d| d.likeness)
    };
    assert_eq!(of(&same_number), Some(Likeness::SameNhsNumber));
    assert!(
        found
            .iter()
            .find(|d| d.patient.id == same_number)
            .unwrap()
            .blocks()
    );
    assert_eq!(of(&similar), Some(Likeness::Similar));
    assert_eq!(of(&same_first_and_postcode), Some(Likeness::Similar));
    assert_eq!(
        found.len(),
        3,
        "a different birth date is a different person"
    );

    let mut other = good_form();
    other.nhs_number = None;
    other.nhs_verification = Verification::from_code("03");
    other.family = Some("Babbage".into());
    other.address.postcode = Some("LS1 1AA".into());
    let valid = validate(&other, today()).unwrap();
    assert!(duplicates(&repo, &ctx, &valid, today()).unwrap().is_empty());
}

// --- PDS trace, against a test double ---

struct FakePds {
    patients: Vec<PdsPatient>,
    down: bool,
    searches: Mutex<Vec<SearchQuery>>,
}

impl FakePds {
    fn with(patients: Vec<Value>) -> FakePds {
        FakePds {
            patients: patients
                .into_iter()
                .map(|p| PdsPatient {
                    nhs_number: p["id"].as_str().unwrap().to_string(),
                    score: Some(1.0),
                    etag: Some("W/\"1\"".into()),
                    resource: p,
                })
                .collect(),
            down: false,
            searches: Mutex::new(vec![]),
        }
    }
}

impl Pds for FakePds {
    fn search(&self, query: &SearchQuery) -> Result<Vec<PdsPatient>, PdsError> {
        if self.down {
            return Err(PdsError::Unavailable("connection refused".into()));
        }
        self.searches.lock().unwrap().push(query.clone());
        Ok(self
            .patients
            .iter()
            .filter(|p| {
                let family = p.resource["name"][0]["family"].as_str().unwrap_or("");
                let matches_family = if query.fuzzy {
                    family
                        .to_lowercase()
                        .starts_with(&query.family.clone().unwrap_or_default().to_lowercase()[..3])
                } else {
                    Some(family.to_lowercase()) == query.family.as_ref().map(|f| f.to_lowercase())
                };
                matches_family && query.birth_date.as_deref() == p.resource["birthDate"].as_str()
            })
            .cloned()
            .collect())
    }

    fn retrieve(&self, nhs_number: &str) -> Result<PdsPatient, PdsError> {
        if self.down {
            return Err(PdsError::Unavailable("connection refused".into()));
        }
        self.patients
            .iter()
            .find(|p| p.nhs_number == nhs_number)
            .cloned()
            .ok_or(PdsError::NotFound)
    }

    fn update(&self, _: &str, _: &str, _: &Value) -> Result<PdsPatient, PdsError> {
        Err(PdsError::Invalid("not used".into()))
    }
}

fn pds_patient(nhs: &str, family: &str, given: &str, birth: &str, sensitive: bool) -> Value {
    let mut p = json!({
        "resourceType": "Patient",
        "id": nhs,
        "name": [{"use": "usual", "family": family, "given": [given], "prefix": ["Mrs"]}],
        "gender": "female",
        "birthDate": birth,
    });
    if sensitive {
        p["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]});
    } else {
        p["address"] = json!([{"use": "home", "line": ["1 Trevelyan Square", "Boar Lane"], "city": "Leeds", "postalCode": "LS1 6AE"}]);
        p["telecom"] = json!([{"system": "phone", "value": "01632960587", "use": "home"}]);
    }
    p
}

fn blank_contact(mut form: NewPatient) -> NewPatient {
    form.address = Address::default();
    form.telecom = Telecom::default();
    form.preferred_contact = None;
    form
}

/// Who the registration form would trace.
fn query(form: &NewPatient) -> TraceQuery {
    TraceQuery {
        nhs_number: form.nhs_number.clone(),
        family: form.family.clone(),
        given: form.given.clone(),
        birth_date: form.birth_date,
        gender: form.gender,
        postcode: form.address.postcode.clone(),
    }
}

#[test]
fn a_confirmed_number_is_verified_with_what_pds_holds() {
    let pds = FakePds::with(vec![pds_patient(
        "9434765919",
        "Lovelace",
        "Ada",
        "1985-12-10",
        false,
    )]);
    let form = blank_contact(good_form());
    let outcome = trace(&pds, &query(&form));
    let TraceOutcome::Verified(found) = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(outcome.verification_status(), Some("01"));
    assert!(!found.sensitive);
    assert_eq!(found.nhs_number.digits(), "9434765919");
    assert_eq!(found.title.as_deref(), Some("Mrs"));
    let address = found.address.as_ref().expect("the home address");
    assert_eq!(address.postcode.as_deref(), Some("LS1 6AE"));
    assert_eq!(address.lines, ["1 Trevelyan Square", "Boar Lane"]);
    assert_eq!(found.telecom.home_phone.as_deref(), Some("01632960587"));
    let traced = NewPatient {
        nhs_verification: Verification::from_code("01"),
        pds_traced: true,
        ..form.clone()
    };
    assert!(
        validate(&traced, today()).is_ok(),
        "a traced patient can be registered"
    );

    // Different details on PDS: status 05, and what differs.
    let mut wrong = form.clone();
    wrong.birth_date = Some(date(1986, 12, 10));
    let outcome = trace(&pds, &query(&wrong));
    let TraceOutcome::Mismatch { differences } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(differences, &["Date of birth on PDS is 10-Dec-1985"]);
    assert_eq!(outcome.verification_status(), Some("05"));
}

#[test]
fn a_sensitive_patient_keeps_their_address_off_the_record() {
    let pds = FakePds::with(vec![pds_patient(
        "9434765919",
        "Lovelace",
        "Ada",
        "1985-12-10",
        true,
    )]);
    let form = blank_contact(good_form());
    let TraceOutcome::Verified(found) = trace(&pds, &query(&form)) else {
        panic!("verified")
    };
    assert!(found.sensitive);
    assert!(found.address.is_none() && found.telecom == Telecom::default());

    let repo = repo(sqlite());
    practice(&repo);
    let ctx = staff(Role::ClinicalPractitioner);
    let traced = NewPatient {
        nhs_verification: Verification::from_code("01"),
        pds_traced: true,
        sensitive: true,
        ..form
    };
    let valid = validate(&traced, today()).unwrap();
    let registered = register(&repo, &ctx, &valid, &format!("Organization/{PRACTICE}")).unwrap();
    let (patient, _) =
        clinical::fetch::read(&repo, &ctx, "Patient", &registered.patient_id).unwrap();
    assert_eq!(patient["meta"]["security"][0]["code"], "R");
    assert!(patient.get("address").is_none());
}

#[test]
fn without_a_number_pds_is_searched() {
    let pds = FakePds::with(vec![
        pds_patient("9434765919", "Lovelace", "Ada", "1985-12-10", false),
        pds_patient("9449305552", "Lovelace", "Anne", "1985-12-10", true),
        pds_patient("9449310157", "Byron", "Ada", "1985-12-10", false),
    ]);
    let mut form = blank_contact(good_form());
    form.nhs_number = None;
    let TraceOutcome::Several(found) = trace(&pds, &query(&form)) else {
        panic!("two Lovelaces")
    };
    assert_eq!(found.len(), 2);
    let sensitive = found.iter().find(|c| c.nhs_number == "9449305552").unwrap();
    assert_eq!(sensitive.postcode, None);

    form.family = Some("Byron".into());
    let TraceOutcome::Found(one) = trace(&pds, &query(&form)) else {
        panic!("one Byron")
    };
    assert_eq!(one.nhs_number, "9449310157");

    // Nobody by the exact name: a fuzzy search is tried before giving up with 04.
    form.family = Some("Babbage".into());
    let outcome = trace(&pds, &query(&form));
    assert!(pds.searches.lock().unwrap().last().unwrap().fuzzy);
    assert_eq!(outcome.verification_status(), Some("04"));

    form.birth_date = None;
    assert!(matches!(
        trace(&pds, &query(&form)),
        TraceOutcome::NeedsDetails(_)
    ));
}

#[test]
fn pds_down_lets_registration_go_ahead_untraced() {
    let mut pds = FakePds::with(vec![]);
    pds.down = true;
    let form = good_form();
    let outcome = trace(&pds, &query(&form));
    assert_eq!(outcome, TraceOutcome::Unavailable);
    assert_eq!(outcome.verification_status(), None);
    assert!(validate(&form, today()).is_ok());
}
