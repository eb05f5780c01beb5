//! The coded-entry pickers' search endpoint, as a signed-in clinician and as a stranger.

mod common;

use auth::NewUser;
use axum::http::StatusCode;
use common::*;
use serde_json::Value;
use store::{RequestContext, Role};

const PASSWORD: &str = "a long test password";

/// A GP signed in through /login and /login/totp; returns the session cookie.
async fn signed_in_gp(api: &Api) -> String {
    let added = api
        .auth
        .add_user(
            &RequestContext::system(PRACTICE),
            NewUser {
                username: "dr.picker".into(),
                display_name: "Dr Picker".into(),
                role: Role::ClinicalPractitioner,
                password: PASSWORD.into(),
                practitioner: None,
            },
        )
        .unwrap();
    let secret = added.totp.map(|t| t.secret_base32);
    sign_in_with(api, "dr.picker", PASSWORD, secret.as_deref()).await
}

#[tokio::test]
async fn a_signed_in_clinician_finds_coded_terms_as_they_type() {
    let api = Api::new();
    let cookie = signed_in_gp(&api).await;
    let anon = api.anonymous();
    let get = |uri: &str| get_request(uri, Some(&cookie));

    let reply = anon.send(get("/terminology/search?q=t2+diab")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let first = &reply.json()[0];
    assert_eq!(first["code"], "44054006");
    assert_eq!(first["category"], "disorder");
    assert!(
        first["term"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("diabetes")
    );

    let reply = anon
        .send(get(
            "/terminology/search?q=high%20blood&category=disorder,finding&limit=3",
        ))
        .await;
    let results = reply.json();
    let results = results.as_array().unwrap();
    assert!(results.len() <= 3);
    let hypertension = results
        .iter()
        .find(|r| r["code"] == "38341003")
        .expect("hypertension offered");
    assert_eq!(hypertension["term"], "High blood pressure");
    assert_eq!(
        hypertension["preferred"],
        "Hypertensive disorder, systemic arterial"
    );

    let reply = anon
        .send(get("/terminology/search?q=pen&category=substance"))
        .await;
    let results = reply.json();
    assert!(
        results
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["category"] == "substance"),
        "{results}"
    );

    let empty = anon.send(get("/terminology/search?q=")).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json(), Value::Array(Vec::new()));

    let bad = anon
        .send(get("/terminology/search?q=asthma&category=illness"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["error"].as_str().unwrap().contains("illness"));
}

#[tokio::test]
async fn strangers_are_sent_to_sign_in_and_get_no_terms() {
    let api = Api::new();
    let reply = api
        .anonymous()
        .send(get_request("/terminology/search?q=asthma", None))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        reply
            .header("location")
            .unwrap()
            .starts_with("/login?next=")
    );
    assert!(!reply.text().contains("195967001"));
}
