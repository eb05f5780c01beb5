//! The outbox as the practice manager and the operator see it: `/admin/outbox` (this
//! practice's counts and failed messages, with "Try again") and `GET /metrics` (every
//! practice's counts, behind a bearer token). Never a payload.

mod common;

use auth::DemoAccount;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use outbox::{Delivery, Destination, Message, NewMessage, Worker, WorkerConfig};
use std::sync::Arc;
use store::{RequestContext, Role, TxMode};

const SECRET_PAYLOAD: &str = r#"{"postcode":"LS6 2AA"}"#;

fn enqueue(api: &Api, practice: &str, kind: &str) {
    let store = api.repo.store();
    let mut tx = store
        .begin(&RequestContext::system(practice), TxMode::Write)
        .unwrap();
    let message = NewMessage {
        practice: practice.into(),
        destination: "pds".into(),
        kind: kind.into(),
        subject: Some("Patient/p1".into()),
        payload: SECRET_PAYLOAD.into(),
    };
    outbox::enqueue(tx.as_mut(), &message).unwrap();
    tx.commit().unwrap();
}

/// Refuses `refuse` messages for good and leaves the others waiting (retry later).
struct Refuses;
impl Destination for Refuses {
    fn deliver(&self, m: &Message) -> Delivery {
        if m.kind == "pds.refused" {
            Delivery::Permanent("PDS has no patient with this NHS number".into())
        } else {
            Delivery::Retry("PDS is unavailable: 503".into())
        }
    }
}

/// Two waiting and one failed for this practice; one failed for another practice.
fn backlog(api: &Api) {
    enqueue(api, PRACTICE, "pds.update-contact");
    enqueue(api, PRACTICE, "pds.update-contact");
    enqueue(api, PRACTICE, "pds.refused");
    enqueue(api, "Y99999", "pds.refused");
    let worker = Worker::new(api.repo.store().clone(), WorkerConfig::default())
        .route("pds", Arc::new(Refuses));
    worker.run_once().unwrap();
}

fn demo(api: &Api, role: Role) -> DemoAccount {
    api.auth
        .ensure_demo_accounts(PRACTICE)
        .unwrap()
        .into_iter()
        .find(|a| a.role == role)
        .unwrap()
}

async fn signed_in(api: &Api, role: Role) -> String {
    let a = demo(api, role);
    sign_in_with(api, &a.username, &a.password, a.totp_secret.as_deref()).await
}

#[tokio::test]
async fn the_practice_manager_sees_the_backlog_and_tries_a_failed_message_again() {
    let api = Api::new();
    backlog(&api);
    let cookie = signed_in(&api, Role::PracticeManager).await;
    let page = api
        .anonymous()
        .send(get_request("/admin/outbox", Some(&cookie)))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    let row = html
        .split("<th scope=\"row\">PDS (Personal Demographics Service)</th>")
        .nth(1)
        .expect(&html);
    let cells: Vec<&str> = row
        .split("<td>")
        .skip(1)
        .take(4)
        .map(|c| c.split("</td>").next().unwrap())
        .collect();
    assert_eq!(cells[0], "2", "two waiting");
    assert!(
        cells[1].ends_with(" second") || cells[1].ends_with(" seconds"),
        "the oldest's age: {}",
        cells[1]
    );
    assert_eq!((cells[2], cells[3]), ("0", "1"), "none sent, one failed");
    assert!(html.contains("<td>PDS has no patient with this NHS number</td>"));
    assert_eq!(
        html.matches(">Try again</button>").count(),
        1,
        "only this practice's failed message"
    );
    assert!(!html.contains("LS6 2AA"), "no payload on the page");

    let body = encode(&[
        ("csrf", &csrf_of(&html)),
        ("message", &input_value(&html, "message")),
    ]);
    let retried = api
        .anonymous()
        .send(form_request("/admin/outbox/retry", &body, Some(&cookie)))
        .await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    let after = api
        .anonymous()
        .send(get_request("/admin/outbox?retried=1", Some(&cookie)))
        .await
        .text();
    assert!(after.contains("The message is queued again."));
    assert!(after.contains("No message has failed."));
    let status = outbox::status(api.repo.store().as_ref(), Some(PRACTICE)).unwrap();
    assert_eq!((status[0].pending, status[0].dead), (3, 0));
}

#[tokio::test]
async fn other_roles_cannot_see_or_retry_outgoing_messages() {
    let api = Api::new();
    backlog(&api);
    for role in [Role::Receptionist, Role::ClinicalPractitioner] {
        let cookie = signed_in(&api, role).await;
        let page = api
            .anonymous()
            .send(get_request("/admin/outbox", Some(&cookie)))
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{role:?}");
        let home = api
            .anonymous()
            .send(get_request("/", Some(&cookie)))
            .await
            .text();
        let body = encode(&[("csrf", &csrf_of(&home)), ("message", "anything")]);
        let retried = api
            .anonymous()
            .send(form_request("/admin/outbox/retry", &body, Some(&cookie)))
            .await;
        assert_eq!(retried.status, StatusCode::FORBIDDEN, "{role:?}");
    }
}

#[tokio::test]
async fn metrics_are_counts_for_a_scraper_with_the_token() {
    let off = Api::new();
    assert_eq!(
        off.anonymous().get("/metrics").await.status,
        StatusCode::NOT_FOUND
    );

    let api = Api::configured(|s| s.with_metrics_token("scrape-me"));
    backlog(&api);
    let scrape = |token: Option<&'static str>| {
        let api = api.anonymous();
        async move {
            let mut request = req(Method::GET, "/metrics");
            if let Some(t) = token {
                request = request.header("authorization", format!("Bearer {t}"));
            }
            api.send(request.body(Body::empty()).unwrap()).await
        }
    };
    assert_eq!(scrape(None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(Some("guess")).await.status, StatusCode::UNAUTHORIZED);
    let reply = scrape(Some("scrape-me")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = reply.text();
    assert!(
        text.contains("\nopengp_outbox_pending{destination=\"pds\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("\nopengp_outbox_dead{destination=\"pds\"} 2\n"),
        "every practice: {text}"
    );
    assert!(text.contains("# TYPE opengp_outbox_oldest_pending_seconds gauge"));
    assert!(
        !text.contains("LS6") && !text.contains("NHS number"),
        "counts only"
    );
}

fn input_value(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).expect(html) + name.len() + 15;
    html[at..].split('"').next().unwrap().to_string()
}
