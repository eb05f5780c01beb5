//! Tasks between colleagues and the recently viewed patients, on SQLite, acting as
//! signed-in staff through the store's access rules.

use chrono::{Duration, NaiveDate, Utc};
use clinical::recent::recently_viewed;
use clinical::tasks::{self, TaskError, TaskInput, TaskStatus};
use serde_json::json;
use std::sync::Arc;
use store::{Access, Actor, FhirError, Purpose, Repository, RepositoryConfig, RequestContext};
use store::{Role, StaffMember};
use store_sqlite::SqliteStore;

const PRACTICE: &str = "A81001";

struct Practice {
    repo: Repository,
    /// Practitioner ids.
    gp: String,
    nurse: String,
    patient: String,
}

fn practice() -> Practice {
    let store = SqliteStore::open_temp().expect("a temporary database");
    let repo = Repository::new(Arc::new(store), RepositoryConfig::default());
    let system = RequestContext::system(PRACTICE);
    let person = |family: &str, given: &str| {
        json!({"resourceType": "Practitioner", "active": true,
               "name": [{"use": "official", "family": family, "given": [given]}]})
    };
    let gp = repo
        .create(&system, "Practitioner", person("Jones", "Asha"), None)
        .unwrap()
        .resource
        .id;
    let nurse = repo
        .create(&system, "Practitioner", person("Patel", "Ben"), None)
        .unwrap()
        .resource
        .id;
    let patient = add_patient(&repo, "Smith", "Ann", None);
    Practice {
        repo,
        gp,
        nurse,
        patient,
    }
}

fn add_patient(repo: &Repository, family: &str, given: &str, security: Option<&str>) -> String {
    let mut body = json!({"resourceType": "Patient", "birthDate": "1970-01-02",
        "name": [{"use": "official", "family": family, "given": [given]}]});
    if let Some(code) = security {
        body["meta"] = json!({"security": [{"system":
            "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": code}]});
    }
    let system = RequestContext::system(PRACTICE);
    repo.create(&system, "Patient", body, None)
        .unwrap()
        .resource
        .id
}

fn staff(user: &str, role: Role, practitioner: &str) -> RequestContext {
    RequestContext::new(PRACTICE, Actor::User(user.into()), Purpose::DirectCare).with_access(
        Access::staff(StaffMember {
            user_id: user.into(),
            role,
            practitioner: Some(practitioner.into()),
        }),
    )
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn day(offset: i64) -> String {
    (today() + Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

fn new_task(
    p: &Practice,
    ctx: &RequestContext,
    owner: &str,
    description: &str,
    due: Option<&str>,
    priority: &str,
) -> String {
    let input = TaskInput {
        patient: Some(&p.patient),
        owner: Some(owner),
        description: Some(description),
        due,
        priority: Some(priority),
    };
    tasks::create(&p.repo, ctx, &p.gp, &input, today()).expect("the task is created")
}

fn field_errors(result: Result<String, TaskError>) -> Vec<(String, String)> {
    match result {
        Err(TaskError::Invalid(errors)) => {
            errors.0.into_iter().map(|e| (e.field, e.message)).collect()
        }
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[test]
fn a_task_reaches_its_owners_inbox_and_the_senders_sent_list() {
    let p = practice();
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let nurse = staff("u-nurse", Role::Nurse, &p.nurse);
    let id = new_task(
        &p,
        &gp,
        &p.nurse,
        "Recheck blood pressure in 2 weeks",
        None,
        "routine",
    );

    let inbox = tasks::inbox(&p.repo, &nurse, &p.nurse, today()).unwrap();
    assert_eq!(inbox.len(), 1);
    let task = &inbox[0];
    assert_eq!(task.id, id);
    assert_eq!(task.description, "Recheck blood pressure in 2 weeks");
    assert_eq!(task.status, TaskStatus::Requested);
    assert_eq!(
        task.patient.as_ref().unwrap().name.as_deref(),
        Some("Ann Smith")
    );
    assert_eq!(
        task.requester.as_ref().unwrap().name.as_deref(),
        Some("Asha Jones")
    );
    assert_eq!(
        task.owner.as_ref().unwrap().name.as_deref(),
        Some("Ben Patel")
    );

    assert!(
        tasks::inbox(&p.repo, &gp, &p.gp, today())
            .unwrap()
            .is_empty()
    );
    let sent = tasks::sent_by(&p.repo, &gp, &p.gp, today()).unwrap();
    assert_eq!(
        sent.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [id.as_str()]
    );

    // It is a Task as conventions.rs describes.
    let (stored, _) = clinical::fetch::read(&p.repo, &gp, "Task", &id).unwrap();
    assert_eq!(stored["intent"], "order");
    assert_eq!(stored["for"]["reference"], format!("Patient/{}", p.patient));
    assert_eq!(
        stored["owner"]["reference"],
        format!("Practitioner/{}", p.nurse)
    );
    assert_eq!(
        stored["requester"]["reference"],
        format!("Practitioner/{}", p.gp)
    );
}

#[test]
fn the_inbox_puts_overdue_then_urgent_work_first_and_leaves_out_closed_tasks() {
    let p = practice();
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let nurse = staff("u-nurse", Role::Nurse, &p.nurse);
    let later = new_task(
        &p,
        &gp,
        &p.nurse,
        "Routine, next week",
        Some(&day(7)),
        "routine",
    );
    let urgent = new_task(
        &p,
        &gp,
        &p.nurse,
        "Urgent, next week",
        Some(&day(7)),
        "urgent",
    );
    let soon = new_task(
        &p,
        &gp,
        &p.nurse,
        "Routine, tomorrow",
        Some(&day(1)),
        "routine",
    );
    let undated = new_task(&p, &gp, &p.nurse, "Routine, no date", None, "routine");
    let done = new_task(&p, &gp, &p.nurse, "Done already", None, "urgent");
    // An overdue task: due dates in the past are refused in the form, so this one was
    // set yesterday with a date that has now passed.
    let overdue = tasks::create(
        &p.repo,
        &gp,
        &p.gp,
        &TaskInput {
            owner: Some(&p.nurse),
            description: Some("Overdue"),
            due: Some(&day(-1)),
            ..TaskInput::default()
        },
        today() - Duration::days(2),
    )
    .unwrap();
    let version = tasks::get(&p.repo, &nurse, &done, today()).unwrap().version;
    tasks::complete(&p.repo, &nurse, &done, version, Some(&p.nurse), None).unwrap();

    let inbox = tasks::inbox(&p.repo, &nurse, &p.nurse, today()).unwrap();
    let order: Vec<&str> = inbox.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        order,
        [&overdue, &urgent, &soon, &later, &undated].map(String::as_str)
    );
    assert!(inbox[0].overdue && !inbox[1].overdue);
    assert!(inbox.iter().all(|t| t.status.is_open()));
}

#[test]
fn bad_input_names_each_field_and_saves_nothing() {
    let p = practice();
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let yesterday = day(-1);
    let errors = field_errors(tasks::create(
        &p.repo,
        &gp,
        &p.gp,
        &TaskInput {
            owner: None,
            description: Some("   "),
            due: Some(&yesterday),
            priority: Some("whenever"),
            patient: None,
        },
        today(),
    ));
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["owner", "description", "due", "priority"]);
    assert!(
        errors[2].1.contains("today or in the future"),
        "{}",
        errors[2].1
    );

    let errors = field_errors(tasks::create(
        &p.repo,
        &gp,
        &p.gp,
        &TaskInput {
            owner: Some("no-such-practitioner"),
            description: Some("Call back"),
            due: Some("2025-02-30"),
            patient: Some("no-such-patient"),
            priority: None,
        },
        today(),
    ));
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["owner", "due", "patient"]);

    assert!(
        tasks::sent_by(&p.repo, &gp, &p.gp, today())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_task_moves_through_start_reassign_and_complete_with_notes() {
    let p = practice();
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let nurse = staff("u-nurse", Role::Nurse, &p.nurse);
    let id = new_task(&p, &gp, &p.nurse, "Dressing change", None, "routine");

    let v = tasks::get(&p.repo, &nurse, &id, today()).unwrap().version;
    tasks::start(&p.repo, &nurse, &id, v).unwrap();
    let task = tasks::get(&p.repo, &nurse, &id, today()).unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);

    // Reassigning to the owner they already have is a field error.
    match tasks::reassign(
        &p.repo,
        &nurse,
        &id,
        task.version,
        Some(&p.nurse),
        None,
        None,
    ) {
        Err(TaskError::Invalid(e)) => assert!(e.get("owner").is_some()),
        other => panic!("expected an owner error, got {other:?}"),
    }
    tasks::reassign(
        &p.repo,
        &nurse,
        &id,
        task.version,
        Some(&p.gp),
        Some(&p.nurse),
        Some("Needs a doctor"),
    )
    .unwrap();
    assert!(
        tasks::inbox(&p.repo, &nurse, &p.nurse, today())
            .unwrap()
            .is_empty()
    );
    let mine = tasks::inbox(&p.repo, &gp, &p.gp, today()).unwrap();
    assert_eq!(mine[0].status, TaskStatus::Requested);
    assert_eq!(mine[0].notes, ["Needs a doctor"]);

    tasks::complete(
        &p.repo,
        &gp,
        &id,
        mine[0].version,
        Some(&p.gp),
        Some("Done"),
    )
    .unwrap();
    let task = tasks::get(&p.repo, &gp, &id, today()).unwrap();
    assert_eq!(task.status, TaskStatus::Completed);
    assert_eq!(task.notes, ["Needs a doctor", "Done"]);
    assert!(
        tasks::inbox(&p.repo, &gp, &p.gp, today())
            .unwrap()
            .is_empty()
    );

    // A closed task cannot be cancelled or completed again.
    assert!(matches!(
        tasks::cancel(&p.repo, &gp, &id, task.version, None, None),
        Err(TaskError::Closed)
    ));
}

#[test]
fn a_change_from_a_stale_page_is_refused_and_changes_nothing() {
    let p = practice();
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let nurse = staff("u-nurse", Role::Nurse, &p.nurse);
    let id = new_task(&p, &gp, &p.nurse, "Phone the patient", None, "routine");
    let seen = tasks::get(&p.repo, &nurse, &id, today()).unwrap().version;
    tasks::start(&p.repo, &nurse, &id, seen).unwrap();

    // Someone acting on the version they saw before the change.
    let stale = tasks::cancel(&p.repo, &gp, &id, seen, None, Some("Not needed"));
    assert!(
        matches!(
            stale,
            Err(TaskError::Store(FhirError::PreconditionFailed(_)))
        ),
        "{stale:?}"
    );
    let task = tasks::get(&p.repo, &gp, &id, today()).unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);
    assert!(task.notes.is_empty());
}

#[test]
fn roles_without_clinical_access_cannot_see_tasks() {
    let p = practice();
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    new_task(&p, &gp, &p.nurse, "Clinical matter", None, "routine");
    let receptionist = staff("u-rec", Role::Receptionist, &p.nurse);
    let refused = tasks::inbox(&p.repo, &receptionist, &p.nurse, today());
    assert!(
        matches!(refused, Err(FhirError::Forbidden(_))),
        "{refused:?}"
    );
}

#[test]
fn colleagues_are_listed_by_name() {
    let p = practice();
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let names: Vec<String> = tasks::colleagues(&p.repo, &gp)
        .unwrap()
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(names, ["Asha Jones", "Ben Patel"]);
}

// --- recently viewed patients ---

fn open_record(p: &Practice, ctx: &RequestContext, patient: &str) {
    p.repo
        .read(ctx, "Patient", patient)
        .expect("the record opens");
}

#[test]
fn recent_patients_are_distinct_newest_first_and_only_the_users_own() {
    let p = practice();
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let nurse = staff("u-nurse", Role::Nurse, &p.nurse);
    let brown = add_patient(&p.repo, "Brown", "Carl", None);
    let clark = add_patient(&p.repo, "Clark", "Dee", None);
    let evans = add_patient(&p.repo, "Evans", "Fay", None);

    for patient in [&p.patient, &brown, &clark, &brown] {
        open_record(&p, &gp, patient);
    }
    open_record(&p, &nurse, &evans);

    let recent = recently_viewed(&p.repo, &gp, "u-gp", 10).unwrap();
    let names: Vec<&str> = recent.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Carl Brown", "Dee Clark", "Ann Smith"]);
    assert_eq!(recent[0].birth_date, NaiveDate::from_ymd_opt(1970, 1, 2));

    let two = recently_viewed(&p.repo, &gp, "u-gp", 2).unwrap();
    assert_eq!(two.len(), 2);
    let nurse_recent = recently_viewed(&p.repo, &nurse, "u-nurse", 10).unwrap();
    assert_eq!(
        nurse_recent
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        [evans.as_str()]
    );
}

#[test]
fn a_patient_the_user_can_no_longer_see_drops_out_of_recent() {
    let p = practice();
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let brown = add_patient(&p.repo, "Brown", "Carl", None);
    open_record(&p, &gp, &p.patient);
    open_record(&p, &gp, &brown);

    // The record is sealed afterwards (very restricted): it needs break-glass now.
    let system = RequestContext::system(PRACTICE);
    let (mut body, version) = clinical::fetch::read(&p.repo, &system, "Patient", &brown).unwrap();
    body["meta"] = json!({"security": [{"system":
        "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "V"}]});
    p.repo
        .update(&system, "Patient", &brown, body, Some(version))
        .unwrap();

    let recent = recently_viewed(&p.repo, &gp, "u-gp", 10).unwrap();
    let ids: Vec<&str> = recent.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [p.patient.as_str()]);
}

#[test]
fn searching_does_not_count_as_viewing() {
    let p = practice();
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    clinical::fetch::search(&p.repo, &gp, "Patient", &[("family", "Smith")]).unwrap();
    assert!(
        recently_viewed(&p.repo, &gp, "u-gp", 10)
            .unwrap()
            .is_empty()
    );
}
