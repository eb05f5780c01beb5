//! The patients pages through HTTP, signed in as the demo GP: find a patient (the page
//! and the as-you-type results), and register one.

mod common;

use auth::totp;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::json;
use std::time::Duration;
use store::RequestContext;

const COOKIE: &str = "__Host-opengp_session";

fn get_request(uri: &str, cookie: &str) -> Request<Body> {
    req(Method::GET, uri)
        .header("cookie", format!("{COOKIE}={cookie}"))
        .body(Body::empty())
        .unwrap()
}

fn form_request(uri: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder =
        req(Method::POST, uri).header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        builder = builder.header("cookie", format!("{COOKIE}={c}"));
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn session_cookie(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("a session cookie is set");
    let value = set.strip_prefix(&format!("{COOKIE}=")).expect(set);
    value.split(';').next().unwrap().to_string()
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect(page) + 19;
    page[at..].split('"').next().unwrap().to_string()
}

/// Signs in as the demo account of `role` (`gp`, `privacy-officer`...), with its
/// authenticator code; returns the session cookie.
async fn sign_in(api: &Api, short: &str) -> String {
    let accounts = api.auth.ensure_demo_accounts(PRACTICE).unwrap();
    let account = accounts
        .iter()
        .find(|a| a.username == format!("demo.{short}"))
        .unwrap();
    let anon = api.anonymous();
    let login = anon
        .send(
            req(Method::GET, "/login?next=%2F")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let first = session_cookie(&login);
    let body = encode(&[
        ("csrf", &csrf_of(&login.text())),
        ("username", &account.username),
        ("password", &account.password),
        ("next", "/"),
    ]);
    let after_password = anon.send(form_request("/login", &body, Some(&first))).await;
    assert_eq!(
        after_password.status,
        StatusCode::SEE_OTHER,
        "{}",
        after_password.text()
    );
    let second = session_cookie(&after_password);
    let Some(secret) = &account.totp_secret else {
        return second;
    };
    let totp_page = anon.send(get_request("/login/totp", &second)).await;
    api.clock.advance(Duration::from_secs(30));
    let code = totp::code(
        &totp::base32_decode(secret).unwrap(),
        api.clock.now_seconds(),
    );
    let body = encode(&[
        ("csrf", &csrf_of(&totp_page.text())),
        ("code", &code),
        ("next", "/"),
    ]);
    let signed_in = anon
        .send(form_request("/login/totp", &body, Some(&second)))
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text()
    );
    session_cookie(&signed_in)
}

/// The practice's Organization (registrations point at it) and one patient.
fn practice_and_a_patient(api: &Api) -> String {
    let system = RequestContext::system(PRACTICE);
    api.repo
        .create(
            &system,
            "Organization",
            json!({"resourceType": "Organization",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": PRACTICE}],
                "name": "Headingley Lane Surgery"}),
            None,
        )
        .unwrap();
    api.repo
        .create(
            &system,
            "Patient",
            json!({"resourceType": "Patient",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
                "name": [{"use": "official", "family": "Smith", "given": ["Jane"], "prefix": ["Mrs"]}],
                "gender": "female", "birthDate": "1970-10-22",
                "address": [{"use": "home", "postalCode": "LS6 1AB"}]}),
            None,
        )
        .unwrap()
        .resource
        .id
}

async fn patients(api: &Api) -> usize {
    api.versions_of("Patient").await
}

#[tokio::test]
async fn finding_a_patient_as_you_type_and_without_scripts() {
    let api = Api::new();
    let id = practice_and_a_patient(&api);
    let cookie = sign_in(&api, "gp").await;

    let fragment = api
        .send(get_request("/patients/search?q=943%20476%205919", &cookie))
        .await;
    assert_eq!(fragment.status, StatusCode::OK);
    let html = fragment.text();
    assert!(html.contains(&format!("href=\"/patients/{id}\"")), "{html}");
    assert!(html.contains("SMITH, Jane (Mrs)") && html.contains("1 patient found"));
    assert!(html.contains("943 476 5919") && html.contains("LS6 1AB"));
    assert!(
        !html.contains("<html"),
        "only the results, for the script to swap in"
    );

    let page = api
        .send(get_request("/patients?q=smith+22%2F10%2F1970", &cookie))
        .await;
    let html = page.text();
    assert!(html.contains("data-main-search") && html.contains("SMITH, Jane (Mrs)"));
    assert!(html.contains("22-Oct-1970"));

    let bad = api
        .send(get_request("/patients/search?q=9434765918", &cookie))
        .await;
    assert!(bad.text().contains("not a valid NHS number"));
    let short = api.send(get_request("/patients/search?q=s", &cookie)).await;
    assert!(short.text().contains("Type at least 2 characters"));
    let none = api
        .send(get_request("/patients/search?q=nobody", &cookie))
        .await;
    assert!(none.text().contains("No patients found"));
}

fn registration(csrf: &str) -> Vec<(&'static str, String)> {
    [
        ("csrf", csrf),
        ("action", "register"),
        ("title", "Ms"),
        ("given", "Ada"),
        ("family", "Lovelace"),
        ("gender", "female"),
        ("birth_day", "10"),
        ("birth_month", "12"),
        ("birth_year", "1985"),
        ("nhs_number", ""),
        ("nhs_verification", "03"),
        ("address_line1", "12 Otley Road"),
        ("town", "Leeds"),
        ("postcode", "LS6 2AA"),
        ("preferred_contact", "letter"),
        ("registration_type", "R"),
        ("registration_date", "2020-01-01"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

fn body_of(fields: &[(&'static str, String)]) -> String {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    encode(&pairs)
}

#[tokio::test]
async fn registering_a_patient_lands_on_their_record() {
    let api = Api::new();
    practice_and_a_patient(&api);
    let cookie = sign_in(&api, "gp").await;
    let form = api.send(get_request("/patients/new", &cookie)).await;
    assert_eq!(form.status, StatusCode::OK);
    let html = form.text();
    assert!(html.contains("PDS is not set up on this server"));
    assert!(html.contains("inputmode=\"numeric\""));
    let csrf = csrf_of(&html);

    let before = patients(&api).await;
    let reply = api
        .send(form_request(
            "/patients/new",
            &body_of(&registration(&csrf)),
            Some(&cookie),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let location = reply.header("location").unwrap().to_string();
    let id = location.strip_prefix("/patients/").expect(&location);
    let (patient, _) =
        clinical::fetch::read(&api.repo, &RequestContext::system(PRACTICE), "Patient", id).unwrap();
    assert_eq!(patient["name"][0]["family"], "Lovelace");
    assert_eq!(patients(&api).await, before + 1);
}

#[tokio::test]
async fn a_bad_field_is_explained_next_to_it_and_nothing_is_saved() {
    let api = Api::new();
    practice_and_a_patient(&api);
    let cookie = sign_in(&api, "gp").await;
    let csrf = csrf_of(&api.send(get_request("/patients/new", &cookie)).await.text());
    let before = patients(&api).await;

    let mut fields = registration(&csrf);
    for (k, v) in fields.iter_mut() {
        match *k {
            "birth_day" => *v = "31".into(),
            "birth_month" => *v = "2".into(),
            "birth_year" => *v = "2020".into(),
            "nhs_number" => *v = "943 476 5918".into(),
            _ => {}
        }
    }
    let reply = api
        .send(form_request(
            "/patients/new",
            &body_of(&fields),
            Some(&cookie),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = reply.text();
    assert!(html.contains("<span class=\"field-error\" id=\"birth_date-error\">31/02/2020 is not a real date</span>"), "{html}");
    assert!(html.contains("id=\"nhs_number-error\">This is not a valid NHS number"));
    assert!(html.contains("<a href=\"#birth_date\">31/02/2020 is not a real date</a>"));
    assert!(
        html.contains("value=\"Lovelace\""),
        "what was typed is kept"
    );
    assert_eq!(patients(&api).await, before);

    // The same person again is a possible duplicate: it needs ticking to go ahead.
    let first = api
        .send(form_request(
            "/patients/new",
            &body_of(&registration(&csrf)),
            Some(&cookie),
        ))
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let again = api
        .send(form_request(
            "/patients/new",
            &body_of(&registration(&csrf)),
            Some(&cookie),
        ))
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().contains("This is not the same person"));
    assert_eq!(patients(&api).await, before + 1);
    let mut confirmed = registration(&csrf);
    confirmed.push(("confirm_not_duplicate", "yes".into()));
    let second = api
        .send(form_request(
            "/patients/new",
            &body_of(&confirmed),
            Some(&cookie),
        ))
        .await;
    assert_eq!(second.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn forms_from_elsewhere_and_roles_without_the_right_are_refused() {
    let api = Api::new();
    practice_and_a_patient(&api);
    let cookie = sign_in(&api, "gp").await;
    let before = patients(&api).await;
    let forged = api
        .send(form_request(
            "/patients/new",
            &body_of(&registration("not-the-session-token")),
            Some(&cookie),
        ))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(patients(&api).await, before);

    let officer = sign_in(&api, "privacy-officer").await;
    let page = api.send(get_request("/patients/new", &officer)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text().contains("You cannot register patients"));
}
