//! Demo inboxes: a handful of open tasks for `demo.gp` and `demo.nurse`, set by the demo
//! practice's clinicians, so the home page and the task list show a working day from
//! the first sign-in. Tasks are FHIR `Task` as `clinical::tasks` writes them, plus a
//! fixed identifier: each is a conditional create on it, so starting `serve --demo`
//! again never adds them twice. Dates count from the day they are first written.

use super::practice::practitioner_id;
use auth::DemoAccount;
use chrono::{Duration, Local, NaiveDate};
use serde_json::{Value, json};
use store::{FhirError, Repository, RequestContext, Role};

/// The identifier system of the demo tasks (`{username}-{n}`).
const DEMO_TASK_SYSTEM: &str = "https://opengp.org.uk/Id/demo-task";

struct DemoTask {
    /// Distinguishes the task within the inbox (identifier `{username}-{key}`).
    key: &'static str,
    /// The demo clinician who set it (a key of `practice::CLINICIANS`).
    from: &'static str,
    /// Which of the chosen demo patients it is about, if any.
    patient: Option<usize>,
    description: &'static str,
    urgent: bool,
    /// Days from today it is due (negative: overdue already); `None`: no date.
    due_in: Option<i64>,
    /// Days ago it was set.
    set_ago: i64,
}

const GP_TASKS: &[DemoTask] = &[
    DemoTask {
        key: "1",
        from: "nurse1",
        patient: Some(0),
        description: "Review abnormal HbA1c result: 64 mmol/mol, up from 52 in the spring. \
                      She asks whether her metformin dose should change.",
        urgent: false,
        due_in: Some(3),
        set_ago: 1,
    },
    DemoTask {
        key: "2",
        from: "hca1",
        patient: Some(1),
        description: "Call back about medication review: would like to discuss stopping \
                      amlodipine because of ankle swelling. Best on the mobile after 2pm.",
        urgent: false,
        due_in: Some(0),
        set_ago: 0,
    },
    DemoTask {
        key: "3",
        from: "gp2",
        patient: Some(2),
        description: "Discharge letter from cardiology: please action the recommendation to \
                      start atorvastatin 80 mg, with lipids and liver function in 3 months.",
        urgent: false,
        due_in: Some(-2),
        set_ago: 6,
    },
    DemoTask {
        key: "4",
        from: "nurse1",
        patient: Some(3),
        description: "INR 5.8 at this morning's anticoagulation clinic, no bleeding. Please \
                      advise on the warfarin dose before the end of surgery.",
        urgent: true,
        due_in: Some(0),
        set_ago: 0,
    },
    DemoTask {
        key: "5",
        from: "gp1",
        patient: None,
        description: "Please read and sign off the updated repeat prescribing protocol before \
                      the next practice meeting.",
        urgent: false,
        due_in: None,
        set_ago: 2,
    },
];

const NURSE_TASKS: &[DemoTask] = &[
    DemoTask {
        key: "1",
        from: "gp1",
        patient: Some(4),
        description: "Recheck blood pressure in 2 weeks after starting ramipril, with U&E \
                      bloods at the same visit.",
        urgent: false,
        due_in: Some(12),
        set_ago: 2,
    },
    DemoTask {
        key: "2",
        from: "gp2",
        patient: Some(5),
        description: "Dressing change for the left leg ulcer: the district nurses cannot \
                      visit this week.",
        urgent: true,
        due_in: Some(1),
        set_ago: 0,
    },
    DemoTask {
        key: "3",
        from: "gp1",
        patient: Some(6),
        description: "Chase the cervical screening result: sample taken six weeks ago and \
                      no result back yet.",
        urgent: false,
        due_in: Some(-1),
        set_ago: 8,
    },
];

/// Gives demo.gp and demo.nurse their open tasks, unless they have them already.
pub fn seed_demo_inboxes(
    repo: &Repository,
    practice: &str,
    accounts: &[DemoAccount],
) -> Result<(), FhirError> {
    let ctx = RequestContext::system(practice);
    let patients = demo_patients(repo, &ctx)?;
    let today = Local::now().date_naive();
    for account in accounts {
        let tasks = match account.role {
            Role::ClinicalPractitioner => GP_TASKS,
            Role::Nurse => NURSE_TASKS,
            _ => continue,
        };
        for task in tasks {
            let requester = practitioner_id(practice, task.from);
            // Without the demo practice's clinicians (a store loaded some other way)
            // there is nobody to send it.
            match repo.read(&ctx, "Practitioner", &requester) {
                Ok(_) => {}
                Err(FhirError::NotFound(_) | FhirError::Gone(_)) => continue,
                Err(e) => return Err(e),
            }
            let identifier = format!("{}-{}", account.username, task.key);
            let patient = task
                .patient
                .and_then(|n| patients.get(n))
                .map(String::as_str);
            let body = task_body(
                task,
                &identifier,
                &requester,
                &account.practitioner,
                patient,
                today,
            );
            let criteria = format!("identifier={DEMO_TASK_SYSTEM}|{identifier}");
            repo.create(&ctx, "Task", body, Some(&criteria))?;
        }
    }
    Ok(())
}

/// Living demo patients to write about, in a fixed order (by name).
fn demo_patients(repo: &Repository, ctx: &RequestContext) -> Result<Vec<String>, FhirError> {
    let found = clinical::fetch::search(
        repo,
        ctx,
        "Patient",
        &[("_sort", "family,given,birthdate"), ("_count", "40")],
    )?;
    Ok(found
        .iter()
        .filter(|p| p["active"] != false && p.get("deceasedDateTime").is_none())
        .filter(|p| p["deceasedBoolean"] != true)
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect())
}

/// The Task as `clinical::tasks::create` writes it, with its identifier and dates.
fn task_body(
    task: &DemoTask,
    identifier: &str,
    requester: &str,
    owner: &str,
    patient: Option<&str>,
    today: NaiveDate,
) -> Value {
    let set_on = today - Duration::days(task.set_ago);
    let mut body = json!({
        "resourceType": "Task",
        "identifier": [{"system": DEMO_TASK_SYSTEM, "value": identifier}],
        "status": "requested",
        "intent": "order",
        "priority": if task.urgent { "urgent" } else { "routine" },
        "description": task.description,
        "authoredOn": format!("{}T09:00:00Z", set_on.format("%Y-%m-%d")),
        "requester": {"reference": format!("Practitioner/{requester}")},
        "owner": {"reference": format!("Practitioner/{owner}")},
    });
    if let Some(patient) = patient {
        body["for"] = json!({"reference": format!("Patient/{patient}")});
    }
    if let Some(days) = task.due_in {
        let due = today + Duration::days(days);
        body["restriction"] = json!({"period": {"end": due.format("%Y-%m-%d").to_string()}});
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth::{Auth, AuthConfig};
    use clinical::tasks;
    use std::sync::Arc;
    use store::{Access, Actor, Purpose, RepositoryConfig, StaffMember};

    const PRACTICE: &str = "A81001";

    fn as_user(account: &DemoAccount) -> RequestContext {
        RequestContext::new(
            PRACTICE,
            Actor::User(account.username.clone()),
            Purpose::DirectCare,
        )
        .with_access(Access::staff(StaffMember {
            user_id: account.username.clone(),
            role: account.role,
            practitioner: Some(account.practitioner.clone()),
        }))
    }

    #[test]
    fn demo_gp_and_nurse_start_with_open_tasks_seeded_once() {
        let store = store_sqlite::SqliteStore::open_temp().unwrap();
        let repo = Arc::new(Repository::new(
            Arc::new(store),
            RepositoryConfig::default(),
        ));
        super::super::load_demo_practice(&repo, &RequestContext::system(PRACTICE), 10).unwrap();
        let auth = Auth::new(repo.clone(), AuthConfig::default()).unwrap();
        let accounts = auth.ensure_demo_accounts(PRACTICE).unwrap();
        let account = |role| accounts.iter().find(|a| a.role == role).unwrap();
        let (gp, nurse) = (account(Role::ClinicalPractitioner), account(Role::Nurse));
        let today = Local::now().date_naive();

        seed_demo_inboxes(&repo, PRACTICE, &accounts).unwrap();
        let inbox = tasks::inbox(
            &repo,
            &as_user(gp),
            &format!("Practitioner/{}", gp.practitioner),
            today,
        )
        .unwrap();
        assert_eq!(inbox.len(), GP_TASKS.len());
        // Overdue first, then the urgent one; each from a named colleague, most about a
        // patient whose record the GP can open.
        assert!(inbox[0].overdue, "{inbox:?}");
        assert!(inbox[0].description.starts_with("Discharge letter"));
        assert_eq!(inbox[1].priority, tasks::Priority::Urgent);
        assert!(
            inbox
                .iter()
                .all(|t| t.requester.as_ref().unwrap().name.is_some())
        );
        assert_eq!(
            inbox
                .iter()
                .filter(|t| t.patient.as_ref().is_some_and(|p| p.name.is_some()))
                .count(),
            4
        );
        assert!(
            inbox
                .iter()
                .any(|t| t.description.starts_with("Review abnormal HbA1c"))
        );
        let nurse_inbox = |repo: &Repository| {
            tasks::inbox(
                repo,
                &as_user(nurse),
                &format!("Practitioner/{}", nurse.practitioner),
                today,
            )
            .unwrap()
        };
        assert_eq!(nurse_inbox(&repo).len(), NURSE_TASKS.len());

        // A second start adds nothing.
        let again = auth.ensure_demo_accounts(PRACTICE).unwrap();
        seed_demo_inboxes(&repo, PRACTICE, &again).unwrap();
        let after = tasks::inbox(
            &repo,
            &as_user(gp),
            &format!("Practitioner/{}", gp.practitioner),
            today,
        )
        .unwrap();
        assert_eq!(after, inbox);
        assert_eq!(nurse_inbox(&repo).len(), NURSE_TASKS.len());
        // The other demo accounts get none.
        let admin = account(Role::AdminClinicalSupport);
        let system = RequestContext::system(PRACTICE);
        let theirs = tasks::inbox(&repo, &system, &admin.practitioner, today).unwrap();
        assert!(theirs.is_empty());
    }
}
