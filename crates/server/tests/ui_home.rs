//! The home page and the task pages, through HTTP as a signed-in demo GP and nurse.

mod common;

use auth::DemoAccount;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::json;
use store::{RequestContext, Role};

/// A browser's one cookie: the session token.
struct Browser {
    api: Api,
    cookie: String,
}

impl Browser {
    async fn get(&self, uri: &str) -> Reply {
        let request = req(Method::GET, uri)
            .header("cookie", format!("__Host-opengp_session={}", self.cookie))
            .body(Body::empty())
            .unwrap();
        self.api.send(request).await
    }

    async fn post(&self, uri: &str, pairs: &[(&str, &str)]) -> Reply {
        self.api.send(form(uri, pairs, Some(&self.cookie))).await
    }
}

fn form(uri: &str, pairs: &[(&str, &str)], cookie: Option<&str>) -> Request<Body> {
    form_request(uri, &encode(pairs), cookie)
}

fn demo(api: &Api, role: Role) -> DemoAccount {
    api.auth
        .ensure_demo_accounts(PRACTICE)
        .unwrap()
        .into_iter()
        .find(|a| a.role == role)
        .unwrap()
}

/// Signs in through /login and /login/totp.
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

async fn add_patient(api: &Api, family: &str, given: &str) -> String {
    let ctx = RequestContext::system(PRACTICE);
    let body = json!({"resourceType": "Patient", "birthDate": "1980-05-06",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
        "name": [{"use": "official", "family": family, "given": [given]}]});
    api.repo
        .create(&ctx, "Patient", body, None)
        .unwrap()
        .resource
        .id
}

/// The text between `start` and the next `</section>`.
fn section<'a>(page: &'a str, heading: &str) -> &'a str {
    let at = page
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading} in {page}"));
    let rest = &page[at..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let api = Api::new();
    for path in ["/", "/tasks", "/tasks/new"] {
        let reply = api.anonymous().get(path).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            reply
                .header("location")
                .unwrap()
                .starts_with("/login?next=")
        );
    }
}

#[tokio::test]
async fn home_shows_the_three_sections_for_a_new_gp() {
    let api = Api::new();
    let gp = sign_in(&api, &demo(&api, Role::ClinicalPractitioner)).await;
    let home = gp.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    let page = home.text();
    assert!(page.contains("<title>Home - OpenGP</title>"), "{page}");
    assert!(section(&page, "Today's appointments").contains("No appointments today"));
    assert!(section(&page, "Tasks assigned to me").contains("You have no open tasks"));
    assert!(
        section(&page, "Recently viewed patients")
            .contains("You have not opened any patient records recently")
    );
}

#[tokio::test]
async fn home_lists_my_tasks_and_the_patients_i_opened() {
    let api = Api::new();
    let gp_account = demo(&api, Role::ClinicalPractitioner);
    let nurse_account = demo(&api, Role::Nurse);
    let patient = add_patient(&api, "Smith", "Ann").await;
    let gp = sign_in(&api, &gp_account).await;

    // The GP opens the record (through the API as themselves, which is audited the same
    // way the record page is) and sets the nurse a task about the patient.
    let user = api
        .auth
        .find_user(PRACTICE, &gp_account.username)
        .unwrap()
        .unwrap();
    let gp_ctx = RequestContext::new(
        PRACTICE,
        store::Actor::User(user.id.clone()),
        store::Purpose::DirectCare,
    )
    .with_access(store::Access::staff(user.staff_member()));
    api.repo.read(&gp_ctx, "Patient", &patient).unwrap();

    let new = gp.get(&format!("/tasks/new?patient={patient}")).await;
    assert_eq!(new.status, StatusCode::OK);
    let page = new.text();
    assert!(
        page.contains("SMITH, Ann") && page.contains("Nurse Demo"),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let sent = gp
        .post(
            "/tasks/new",
            &[
                ("csrf", &csrf),
                ("patient", &patient),
                ("owner", &nurse_account.practitioner),
                ("description", "Please book a blood pressure check"),
                ("priority", "urgent"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());

    let home = gp.get("/").await.text();
    let recent = section(&home, "Recently viewed patients");
    assert!(
        recent.contains(&format!("href=\"/patients/{patient}\">SMITH, Ann</a>")),
        "{recent}"
    );
    assert!(recent.contains("943 476 5919"), "{recent}");
    assert!(section(&home, "Tasks assigned to me").contains("You have no open tasks"));

    let nurse = sign_in(&api, &nurse_account).await;
    let home = nurse.get("/").await.text();
    let tasks = section(&home, "Tasks assigned to me");
    assert!(
        tasks.contains("Please book a blood pressure check"),
        "{tasks}"
    );
    assert!(
        tasks.contains("Urgent") && tasks.contains("SMITH, Ann"),
        "{tasks}"
    );
    assert!(tasks.contains("From Clinical Practitioner Demo"), "{tasks}");
}

#[tokio::test]
async fn a_task_is_sent_completed_and_leaves_the_inbox() {
    let api = Api::new();
    let gp_account = demo(&api, Role::ClinicalPractitioner);
    let nurse_account = demo(&api, Role::Nurse);
    let gp = sign_in(&api, &gp_account).await;
    let csrf = csrf_of(&gp.get("/tasks/new").await.text());
    gp.post(
        "/tasks/new",
        &[
            ("csrf", &csrf),
            ("owner", &nurse_account.practitioner),
            ("description", "Call Mrs Smith about her results"),
        ],
    )
    .await;
    let sent = gp.get("/tasks?view=sent").await.text();
    assert!(sent.contains("Call Mrs Smith about her results") && sent.contains("Nurse Demo"));

    let nurse = sign_in(&api, &nurse_account).await;
    let inbox = nurse.get("/tasks").await.text();
    let link = "<td><a href=\"/tasks/";
    let at = inbox.find(link).expect(&inbox) + link.len();
    let id = inbox[at..].split('"').next().unwrap().to_string();
    let task = nurse.get(&format!("/tasks/{id}")).await.text();
    assert!(task.contains("Complete task"), "{task}");
    let version = {
        let at = task.find("name=\"version\" value=\"").unwrap() + 22;
        task[at..].split('"').next().unwrap().to_string()
    };
    let csrf = csrf_of(&task);
    let done = nurse
        .post(
            &format!("/tasks/{id}/complete"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("note", "Spoke to her"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let inbox = nurse.get("/tasks?done=completed").await.text();
    assert!(inbox.contains("Task completed.") && inbox.contains("You have no open tasks"));

    // The same form posted again (a stale page) changes nothing and says why.
    let again = nurse
        .post(
            &format!("/tasks/{id}/cancel"),
            &[("csrf", &csrf), ("version", &version)],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.text().contains("nothing was changed"));
    let task = nurse.get(&format!("/tasks/{id}")).await.text();
    assert!(
        task.contains("Completed") && task.contains("Spoke to her"),
        "{task}"
    );
}

#[tokio::test]
async fn bad_task_input_is_shown_next_to_each_field_and_saves_nothing() {
    let api = Api::new();
    let gp = sign_in(&api, &demo(&api, Role::ClinicalPractitioner)).await;
    let csrf = csrf_of(&gp.get("/tasks/new").await.text());
    let reply = gp
        .post(
            "/tasks/new",
            &[
                ("csrf", &csrf),
                ("owner", ""),
                ("description", ""),
                ("due", "2001-01-01"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = reply.text();
    assert!(page.contains("class=\"error-summary\""));
    for (field, message) in [
        ("owner", "Choose who the task is for"),
        ("description", "Enter what needs doing"),
        ("due", "The due date must be today or in the future"),
    ] {
        assert!(
            page.contains(&format!("<a href=\"#{field}\">{message}</a>")),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "<span class=\"field-error\" id=\"{field}-error\">{message}"
            )),
            "{field}"
        );
    }
    assert!(
        page.contains("value=\"2001-01-01\""),
        "what was typed is kept"
    );
    let sent = gp.get("/tasks?view=sent").await.text();
    assert!(sent.contains("You have not sent any tasks"));
}

#[tokio::test]
async fn task_forms_without_the_csrf_token_are_refused() {
    let api = Api::new();
    let gp_account = demo(&api, Role::ClinicalPractitioner);
    let gp = sign_in(&api, &gp_account).await;
    let reply = gp
        .post(
            "/tasks/new",
            &[
                ("csrf", "forged"),
                ("owner", &gp_account.practitioner),
                ("description", "Forged"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let sent = gp.get("/tasks?view=sent").await.text();
    assert!(sent.contains("You have not sent any tasks"));
}

#[tokio::test]
async fn a_receptionist_home_explains_that_tasks_are_not_for_their_role() {
    let api = Api::new();
    let account = demo(&api, Role::Receptionist);
    // Receptionists sign in with a password only.
    let anon = api.anonymous();
    let login = anon.get("/login").await;
    let first = session_cookie(&login);
    let csrf = csrf_of(&login.text());
    let step = anon
        .send(form(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", &account.username),
                ("password", &account.password),
            ],
            Some(&first),
        ))
        .await;
    let browser = Browser {
        api: anon,
        cookie: session_cookie(&step),
    };
    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    let page = home.text();
    assert!(
        section(&page, "Tasks assigned to me")
            .contains("Your role does not include clinical tasks"),
        "{page}"
    );
    assert!(section(&page, "Today's appointments").contains("No appointments today"));
}
