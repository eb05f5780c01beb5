//! Tasks between colleagues (and who may act on one) and the recently viewed
//! patients, acting as signed-in staff through the store's access rules, on SQLite and
//! PostgreSQL.

use chrono::{Duration, NaiveDate, Utc};
use clinical::recent::recently_viewed;
use clinical::tasks::{
    self, Action, NewTask, Priority, TaskError, TaskField, TaskStatus, TaskSummary,
};
use serde_json::json;
use std::sync::Arc;
use store::{Access, Actor, FhirError, Purpose, Repository, RepositoryConfig, RequestContext};
use store::{Role, StaffMember};

const PRACTICE: &str = "A81001";

fn sqlite() -> Repository {
    let store = store_sqlite::SqliteStore::open_temp().expect("a temporary database");
    Repository::new(Arc::new(store), RepositoryConfig::default())
}

/// A scratch PostgreSQL schema, or `None` (the test skips) without OPENGP_TEST_POSTGRES.
fn postgres() -> Option<Repository> {
    let Ok(url) = std::env::var("OPENGP_TEST_POSTGRES") else {
        eprintln!("skipped: OPENGP_TEST_POSTGRES is not set");
        return None;
    };
    let store = store_postgres::ScratchStore::create(&url).expect("scratch PostgreSQL schema");
    Some(Repository::new(
        Arc::new(store),
        RepositoryConfig::default(),
    ))
}

/// Each listed test on SQLite (`sqlite::name`) and PostgreSQL (`postgres::name`).
macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::sqlite()); } )*
        }
        mod postgres {
            $( #[test] fn $name() { if let Some(repo) = super::postgres() { super::$name(repo); } } )*
        }
    };
}

backends!(
    a_task_reaches_its_owners_inbox_and_the_senders_sent_list,
    the_inbox_puts_overdue_then_urgent_work_first_and_leaves_out_closed_tasks,
    bad_input_names_each_field_and_saves_nothing,
    a_task_moves_through_start_reassign_and_complete_with_notes,
    a_change_from_a_stale_page_is_refused_and_changes_nothing,
    roles_without_clinical_access_cannot_see_tasks,
    colleagues_are_listed_by_name,
    the_owner_completes_and_a_colleague_is_refused_with_the_task_unchanged,
    the_sender_cancels_or_reassigns_but_cannot_complete,
    after_a_reassignment_the_old_owner_can_no_longer_act,
    a_practice_manager_may_reassign_or_cancel_any_task_but_not_complete_it,
    a_task_for_the_practice_can_be_picked_up_by_any_clinician,
    a_refused_reassignment_is_refused_before_the_form_is_checked,
    recent_patients_are_distinct_newest_first_and_only_the_users_own,
    a_patient_the_user_can_no_longer_see_drops_out_of_recent,
    searching_does_not_count_as_viewing,
);

struct Practice {
    repo: Repository,
    /// Practitioner ids.
    gp: String,
    nurse: String,
    /// A third clinician, neither owner nor sender of the tasks below.
    colleague: String,
    patient: String,
}

fn practice(repo: Repository) -> Practice {
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
    let colleague = repo
        .create(&system, "Practitioner", person("Evans", "Cara"), None)
        .unwrap()
        .resource
        .id;
    let patient = add_patient(&repo, "Smith", "Ann", None);
    Practice {
        repo,
        gp,
        nurse,
        colleague,
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
    let input = NewTask {
        patient: Some(&p.patient),
        owner: Some(owner),
        description,
        due: due.map(date),
        priority: Priority::from_code(priority).expect("a priority"),
    };
    tasks::create(&p.repo, ctx, &p.gp, &input, today()).expect("the task is created")
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

fn field_errors(result: Result<String, TaskError>) -> Vec<(TaskField, String)> {
    match result {
        Err(TaskError::Invalid(problems)) => problems
            .0
            .into_iter()
            .map(|p| (p.field, p.message))
            .collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

fn a_task_reaches_its_owners_inbox_and_the_senders_sent_list(repo: Repository) {
    let p = practice(repo);
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
        Some("SMITH, Ann")
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

fn the_inbox_puts_overdue_then_urgent_work_first_and_leaves_out_closed_tasks(repo: Repository) {
    let p = practice(repo);
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
        &NewTask {
            owner: Some(&p.nurse),
            description: "Overdue",
            due: Some(date(&day(-1))),
            ..NewTask::default()
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

fn bad_input_names_each_field_and_saves_nothing(repo: Repository) {
    let p = practice(repo);
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let yesterday = day(-1);
    let errors = field_errors(tasks::create(
        &p.repo,
        &gp,
        &p.gp,
        &NewTask {
            owner: None,
            description: "   ",
            due: Some(date(&yesterday)),
            ..NewTask::default()
        },
        today(),
    ));
    let fields: Vec<TaskField> = errors.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        fields,
        [TaskField::Owner, TaskField::Description, TaskField::Due]
    );
    assert!(
        errors[2].1.contains("today or in the future"),
        "{}",
        errors[2].1
    );

    let errors = field_errors(tasks::create(
        &p.repo,
        &gp,
        &p.gp,
        &NewTask {
            owner: Some("no-such-practitioner"),
            description: "Call back",
            patient: Some("no-such-patient"),
            ..NewTask::default()
        },
        today(),
    ));
    let fields: Vec<TaskField> = errors.iter().map(|(f, _)| *f).collect();
    assert_eq!(fields, [TaskField::Owner, TaskField::Patient]);

    assert!(
        tasks::sent_by(&p.repo, &gp, &p.gp, today())
            .unwrap()
            .is_empty()
    );
}

fn a_task_moves_through_start_reassign_and_complete_with_notes(repo: Repository) {
    let p = practice(repo);
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
        Err(TaskError::Invalid(e)) => assert!(e.get(TaskField::Owner).is_some()),
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

fn a_change_from_a_stale_page_is_refused_and_changes_nothing(repo: Repository) {
    let p = practice(repo);
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

fn roles_without_clinical_access_cannot_see_tasks(repo: Repository) {
    let p = practice(repo);
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    new_task(&p, &gp, &p.nurse, "Clinical matter", None, "routine");
    let receptionist = staff("u-rec", Role::Receptionist, &p.nurse);
    let refused = tasks::inbox(&p.repo, &receptionist, &p.nurse, today());
    assert!(
        matches!(refused, Err(FhirError::Forbidden(_))),
        "{refused:?}"
    );
}

fn colleagues_are_listed_by_name(repo: Repository) {
    let p = practice(repo);
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let names: Vec<String> = clinical::colleagues::colleagues(&p.repo, &gp)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["Asha Jones", "Ben Patel", "Cara Evans"]);
}

// --- who may act on a task ---

fn refusal(result: Result<(), TaskError>) -> String {
    match result {
        Err(TaskError::NotAllowed(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn current(p: &Practice, id: &str) -> TaskSummary {
    let system = RequestContext::system(PRACTICE);
    tasks::get(&p.repo, &system, id, today()).unwrap()
}

fn the_owner_completes_and_a_colleague_is_refused_with_the_task_unchanged(repo: Repository) {
    let p = practice(repo);
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let nurse = staff("u-nurse", Role::Nurse, &p.nurse);
    let other = staff("u-other", Role::ClinicalPractitioner, &p.colleague);
    let id = new_task(&p, &gp, &p.nurse, "Take bloods", None, "routine");
    let before = current(&p, &id);

    let message = refusal(tasks::complete(
        &p.repo,
        &other,
        &id,
        before.version,
        Some(&p.colleague),
        Some("Done"),
    ));
    assert_eq!(
        message,
        "Only Ben Patel (the task's owner) can complete this task. If it is not theirs to \
         do, they or the sender can reassign it."
    );
    refusal(tasks::start(&p.repo, &other, &id, before.version));
    let message = refusal(tasks::cancel(
        &p.repo,
        &other,
        &id,
        before.version,
        None,
        None,
    ));
    assert_eq!(
        message,
        "Only Ben Patel (the task's owner), Asha Jones (who sent it) or a practice manager \
         can cancel this task."
    );
    refusal(tasks::reassign(
        &p.repo,
        &other,
        &id,
        before.version,
        Some(&p.colleague),
        None,
        None,
    ));
    assert_eq!(current(&p, &id), before, "nothing was written");
    let task = tasks::get(&p.repo, &other, &id, today()).unwrap();
    assert!(tasks::allowed_actions(&other, &task).is_empty());

    // The owner may do everything.
    assert_eq!(tasks::allowed_actions(&nurse, &task), Action::ALL);
    tasks::complete(
        &p.repo,
        &nurse,
        &id,
        before.version,
        Some(&p.nurse),
        Some("Bloods taken"),
    )
    .unwrap();
    let after = current(&p, &id);
    assert_eq!(after.status, TaskStatus::Completed);
    assert_eq!(after.notes, ["Bloods taken"]);
    assert!(tasks::allowed_actions(&nurse, &after).is_empty());
}

fn the_sender_cancels_or_reassigns_but_cannot_complete(repo: Repository) {
    let p = practice(repo);
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let id = new_task(&p, &gp, &p.nurse, "Phone about results", None, "urgent");
    let task = current(&p, &id);
    assert_eq!(
        tasks::allowed_actions(&gp, &task),
        [Action::Cancel, Action::Reassign]
    );

    refusal(tasks::start(&p.repo, &gp, &id, task.version));
    refusal(tasks::complete(&p.repo, &gp, &id, task.version, None, None));
    assert_eq!(current(&p, &id).status, TaskStatus::Requested);

    tasks::cancel(
        &p.repo,
        &gp,
        &id,
        task.version,
        Some(&p.gp),
        Some("Patient phoned in"),
    )
    .unwrap();
    let task = current(&p, &id);
    assert_eq!(task.status, TaskStatus::Cancelled);
    assert_eq!(task.notes, ["Patient phoned in"]);
}

fn after_a_reassignment_the_old_owner_can_no_longer_act(repo: Repository) {
    let p = practice(repo);
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let nurse = staff("u-nurse", Role::Nurse, &p.nurse);
    let other = staff("u-other", Role::ClinicalPractitioner, &p.colleague);
    let id = new_task(&p, &gp, &p.nurse, "Review wound", None, "routine");

    // The sender gives it to someone else.
    let v = current(&p, &id).version;
    tasks::reassign(&p.repo, &gp, &id, v, Some(&p.colleague), Some(&p.gp), None).unwrap();
    let task = current(&p, &id);
    assert_eq!(task.owner.as_ref().unwrap().id, p.colleague);

    let message = refusal(tasks::complete(
        &p.repo,
        &nurse,
        &id,
        task.version,
        None,
        None,
    ));
    assert!(
        message.starts_with("Only Cara Evans (the task's owner)"),
        "{message}"
    );
    refusal(tasks::cancel(
        &p.repo,
        &nurse,
        &id,
        task.version,
        None,
        None,
    ));
    assert_eq!(current(&p, &id), task);

    tasks::complete(&p.repo, &other, &id, task.version, None, None).unwrap();
    assert_eq!(current(&p, &id).status, TaskStatus::Completed);
}

fn a_practice_manager_may_reassign_or_cancel_any_task_but_not_complete_it(repo: Repository) {
    let p = practice(repo);
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let id = new_task(&p, &gp, &p.nurse, "Book a review", None, "routine");
    let task = current(&p, &id);
    // The manager's own Practitioner is neither the owner nor the sender.
    let manager = staff("u-pm", Role::PracticeManager, &p.colleague);
    assert_eq!(tasks::permission(&manager, &task, Action::Reassign), Ok(()));
    assert_eq!(tasks::permission(&manager, &task, Action::Cancel), Ok(()));
    let refused = tasks::permission(&manager, &task, Action::Complete).unwrap_err();
    assert!(
        refused.starts_with("Only Ben Patel (the task's owner)"),
        "{refused}"
    );
    assert!(tasks::permission(&manager, &task, Action::Start).is_err());
    // A clinician in the same position may do none of it.
    let other = staff("u-other", Role::ClinicalPractitioner, &p.colleague);
    assert!(tasks::allowed_actions(&other, &task).is_empty());

    // Through the store, end to end: the nurse is away, so her task goes to the GP.
    tasks::reassign(
        &p.repo,
        &manager,
        &id,
        task.version,
        Some(&p.gp),
        Some(&p.colleague),
        Some("Nurse on leave"),
    )
    .unwrap();
    let moved = current(&p, &id);
    assert_eq!(
        moved.owner.as_ref().map(|o| o.id.as_str()),
        Some(p.gp.as_str())
    );
    let message = refusal(tasks::complete(
        &p.repo,
        &manager,
        &id,
        moved.version,
        None,
        Some("done"),
    ));
    assert!(message.contains("the task's owner"), "{message}");
    tasks::cancel(
        &p.repo,
        &manager,
        &id,
        moved.version,
        Some(&p.colleague),
        Some("Duplicate"),
    )
    .unwrap();
    assert_eq!(current(&p, &id).status, TaskStatus::Cancelled);
}

fn a_task_for_the_practice_can_be_picked_up_by_any_clinician(repo: Repository) {
    let p = practice(repo);
    let system = RequestContext::system(PRACTICE);
    let org = p
        .repo
        .create(
            &system,
            "Organization",
            json!({"resourceType": "Organization", "name": "Headingley Lane Surgery"}),
            None,
        )
        .unwrap()
        .resource
        .id;
    let id = p
        .repo
        .create(
            &system,
            "Task",
            json!({"resourceType": "Task", "status": "requested", "intent": "order",
                "priority": "routine", "description": "Whoever is free: call the pharmacy",
                "requester": {"reference": format!("Practitioner/{}", p.gp)},
                "owner": {"reference": format!("Organization/{org}")}}),
            None,
        )
        .unwrap()
        .resource
        .id;
    let nurse = staff("u-nurse", Role::Nurse, &p.nurse);
    let other = staff("u-other", Role::ClinicalPractitioner, &p.colleague);
    let task = current(&p, &id);
    assert_eq!(
        tasks::allowed_actions(&nurse, &task),
        [Action::Start, Action::Complete, Action::Reassign]
    );
    // Only the sender (or a practice manager) may call it off.
    let message = refusal(tasks::cancel(
        &p.repo,
        &other,
        &id,
        task.version,
        None,
        None,
    ));
    assert_eq!(
        message,
        "Only Asha Jones (who sent it) or a practice manager can cancel this task."
    );
    tasks::start(&p.repo, &nurse, &id, task.version).unwrap();
    assert_eq!(current(&p, &id).status, TaskStatus::InProgress);
}

fn a_refused_reassignment_is_refused_before_the_form_is_checked(repo: Repository) {
    let p = practice(repo);
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    let other = staff("u-other", Role::ClinicalPractitioner, &p.colleague);
    let id = new_task(&p, &gp, &p.nurse, "Check the letter", None, "routine");
    let v = current(&p, &id).version;
    // No new owner chosen: still a refusal, not a form error.
    let message = refusal(tasks::reassign(&p.repo, &other, &id, v, None, None, None));
    assert!(message.contains("can reassign this task"), "{message}");
}

// --- recently viewed patients ---

fn open_record(p: &Practice, ctx: &RequestContext, patient: &str) {
    p.repo
        .read(ctx, "Patient", patient)
        .expect("the record opens");
}

fn recent_patients_are_distinct_newest_first_and_only_the_users_own(repo: Repository) {
    let p = practice(repo);
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
    assert_eq!(names, ["BROWN, Carl", "CLARK, Dee", "SMITH, Ann"]);
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

fn a_patient_the_user_can_no_longer_see_drops_out_of_recent(repo: Repository) {
    let p = practice(repo);
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

fn searching_does_not_count_as_viewing(repo: Repository) {
    let p = practice(repo);
    let gp = staff("u-gp", Role::ClinicalPractitioner, &p.gp);
    clinical::fetch::search(&p.repo, &gp, "Patient", &[("family", "Smith")]).unwrap();
    assert!(
        recently_viewed(&p.repo, &gp, "u-gp", 10)
            .unwrap()
            .is_empty()
    );
}
