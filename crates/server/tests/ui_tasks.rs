//! Who may act on a task, through the task pages as signed-in demo staff: the page
//! offers only the moves the user may make, and a move posted anyway is refused with
//! the reason, changing nothing.

mod common;

use auth::DemoAccount;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::Utc;
use clinical::tasks::{self, NewTask};
use common::*;
use serde_json::json;
use store::{RequestContext, Role};

struct Browser {
    api: Api,
    cookie: String,
}

impl Browser {
    async fn get(&self, uri: &str) -> Reply {
        let request = req(Method::GET, uri)
            .header("cookie", format!("{SESSION_COOKIE}={}", self.cookie))
            .body(Body::empty())
            .unwrap();
        self.api.send(request).await
    }

    async fn post(&self, uri: &str, pairs: &[(&str, &str)]) -> Reply {
        let request = form_request(uri, &encode(pairs), Some(&self.cookie));
        self.api.send(request).await
    }
}

fn demo(api: &Api, role: Role) -> DemoAccount {
    api.auth
        .ensure_demo_accounts(PRACTICE)
        .unwrap()
        .into_iter()
        .find(|a| a.role == role)
        .unwrap()
}

async fn sign_in(api: &Api, account: &DemoAccount) -> Browser {
    let cookie = sign_in_with(
        api,
        &account.username,
        &account.password,
        account.totp_secret.as_deref(),
    )
    .await;
    Browser {
        api: api.anonymous(),
        cookie,
    }
}

/// A task for `owner` from `requester` (Practitioner ids), as the task form writes it.
fn set_task(api: &Api, requester: &str, owner: &str, description: &str) -> String {
    let input = NewTask {
        owner: Some(owner),
        description,
        ..NewTask::default()
    };
    let system = RequestContext::system(PRACTICE);
    tasks::create(
        &api.repo,
        &system,
        requester,
        &input,
        Utc::now().date_naive(),
    )
    .unwrap()
}

fn version_of(page: &str) -> String {
    let at = page.find("name=\"version\" value=\"").expect(page) + 22;
    page[at..].split('"').next().unwrap().to_string()
}

fn colleague(api: &Api) -> String {
    let body = json!({"resourceType": "Practitioner", "active": true,
        "name": [{"use": "official", "family": "Lindqvist", "given": ["Sarah"], "prefix": ["Dr"]}]});
    api.repo
        .create(
            &RequestContext::system(PRACTICE),
            "Practitioner",
            body,
            None,
        )
        .unwrap()
        .resource
        .id
}

#[tokio::test]
async fn a_colleagues_task_offers_no_changes_and_a_crafted_complete_is_refused() {
    let api = Api::new();
    let gp = demo(&api, Role::ClinicalPractitioner);
    let nurse = demo(&api, Role::Nurse);
    let dr_lindqvist = colleague(&api);
    let id = set_task(
        &api,
        &dr_lindqvist,
        &nurse.practitioner,
        "Take bloods for Mr Okafor",
    );

    // The nurse (the owner) sees every move.
    let as_nurse = sign_in(&api, &nurse).await;
    let page = as_nurse.get(&format!("/tasks/{id}")).await.text();
    for button in [
        "Mark as in progress",
        "Complete task",
        "Reassign task",
        "Cancel task",
    ] {
        assert!(page.contains(button), "{button}: {page}");
    }

    // The GP neither owns nor sent it: no buttons, and a line saying whose it is.
    let as_gp = sign_in(&api, &gp).await;
    let page = as_gp.get(&format!("/tasks/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = page.text();
    assert!(page.contains("Take bloods for Mr Okafor"), "{page}");
    for button in [
        "Mark as in progress",
        "Complete task",
        "Reassign task",
        "Cancel task",
    ] {
        assert!(!page.contains(button), "{button}: {page}");
    }
    assert!(
        page.contains("This task is for Nurse Demo: only they, the sender"),
        "{page}"
    );

    // A crafted post is refused on the task page, with who may.
    let csrf = csrf_of(&page);
    let version = version_of(&as_nurse.get(&format!("/tasks/{id}")).await.text());
    let refused = as_gp
        .post(
            &format!("/tasks/{id}/complete"),
            &[("csrf", &csrf), ("version", &version), ("note", "Done")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let text = refused.text();
    // (The apostrophe in "task's" is escaped in the page.)
    assert!(text.contains("Only Nurse Demo (the task"), "{text}");
    assert!(text.contains("s owner) can complete this task"), "{text}");
    assert!(text.contains("Nothing was changed."), "{text}");

    for action in ["cancel", "start"] {
        let refused = as_gp
            .post(
                &format!("/tasks/{id}/{action}"),
                &[("csrf", &csrf), ("version", &version)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{action}");
    }

    // Still the nurse's, still to do, with no note.
    let page = as_nurse.get(&format!("/tasks/{id}")).await.text();
    assert!(page.contains("To do") && !page.contains("Done"), "{page}");
    assert!(
        as_nurse
            .get("/tasks")
            .await
            .text()
            .contains("Take bloods for Mr Okafor")
    );
}

#[tokio::test]
async fn the_sender_may_cancel_or_reassign_but_not_complete() {
    let api = Api::new();
    let gp = demo(&api, Role::ClinicalPractitioner);
    let nurse = demo(&api, Role::Nurse);
    let id = set_task(
        &api,
        &gp.practitioner,
        &nurse.practitioner,
        "Dressing change",
    );

    let as_gp = sign_in(&api, &gp).await;
    let page = as_gp.get(&format!("/tasks/{id}")).await.text();
    assert!(
        page.contains("Reassign task") && page.contains("Cancel task"),
        "{page}"
    );
    assert!(!page.contains("Complete task") && !page.contains("Mark as in progress"));

    let (csrf, version) = (csrf_of(&page), version_of(&page));
    let refused = as_gp
        .post(
            &format!("/tasks/{id}/complete"),
            &[("csrf", &csrf), ("version", &version)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let cancelled = as_gp
        .post(
            &format!("/tasks/{id}/cancel"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("note", "Seen in clinic"),
            ],
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    let page = as_gp.get(&format!("/tasks/{id}")).await.text();
    assert!(
        page.contains("Cancelled") && page.contains("Seen in clinic"),
        "{page}"
    );
}
