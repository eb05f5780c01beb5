//! The coded-entry pickers' search endpoint, as a signed-in clinician and as a stranger.

mod common;

use auth::{NewUser, totp};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::Value;
use std::time::Duration;
use store::{RequestContext, Role};

const PASSWORD: &str = "a long test password";

fn request(method: Method, uri: &str, cookie: Option<&str>, body: Option<String>) -> Request<Body> {
    let mut builder = req(method, uri);
    if let Some(c) = cookie {
        builder = builder.header("cookie", format!("__Host-opengp_session={c}"));
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

fn session_cookie(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("a session cookie is set");
    let value = set.strip_prefix("__Host-opengp_session=").expect(set);
    value.split(';').next().unwrap().to_string()
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect(page) + 19;
    page[at..].split('"').next().unwrap().to_string()
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

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
    let anon = api.anonymous();
    let login = anon
        .send(request(Method::GET, "/login?next=%2F", None, None))
        .await;
    let body = encode(&[
        ("csrf", &csrf_of(&login.text())),
        ("username", "dr.picker"),
        ("password", PASSWORD),
        ("next", "/"),
    ]);
    let reply = anon
        .send(request(
            Method::POST,
            "/login",
            Some(&session_cookie(&login)),
            Some(body),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let cookie = session_cookie(&reply);
    let Some(t) = added.totp else {
        return cookie;
    };
    let secret = totp::base32_decode(&t.secret_base32).unwrap();
    let page = anon
        .send(request(Method::GET, "/login/totp", Some(&cookie), None))
        .await;
    api.clock.advance(Duration::from_secs(30));
    let body = encode(&[
        ("csrf", &csrf_of(&page.text())),
        ("code", &totp::code(&secret, api.clock.now_seconds())),
        ("next", "/"),
    ]);
    let reply = anon
        .send(request(
            Method::POST,
            "/login/totp",
            Some(&cookie),
            Some(body),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    session_cookie(&reply)
}

#[tokio::test]
async fn a_signed_in_clinician_finds_coded_terms_as_they_type() {
    let api = Api::new();
    let cookie = signed_in_gp(&api).await;
    let anon = api.anonymous();
    let get = |uri: &str| request(Method::GET, uri, Some(&cookie), None);

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
        .send(request(
            Method::GET,
            "/terminology/search?q=asthma",
            None,
            None,
        ))
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
