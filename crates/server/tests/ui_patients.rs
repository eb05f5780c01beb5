//! The patients pages through HTTP, signed in as the demo GP: find a patient (the page
//! and the as-you-type results), and register one.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use store::RequestContext;

/// Signs in as the demo account of `role` (`gp`, `privacy-officer`...), with its
/// authenticator code; returns the session cookie.
async fn sign_in(api: &Api, short: &str) -> String {
    let accounts = api.auth.ensure_demo_accounts(PRACTICE).unwrap();
    let account = accounts
        .iter()
        .find(|a| a.username == format!("demo.{short}"))
        .unwrap();
    sign_in_with(
        api,
        &account.username,
        &account.password,
        account.totp_secret.as_deref(),
    )
    .await
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
        .send(get_request(
            "/patients/search?q=943%20476%205919",
            Some(&cookie),
        ))
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
        .send(get_request(
            "/patients?q=smith+22%2F10%2F1970",
            Some(&cookie),
        ))
        .await;
    let html = page.text();
    assert!(html.contains("data-main-search") && html.contains("SMITH, Jane (Mrs)"));
    assert!(html.contains("22-Oct-1970"));

    let bad = api
        .send(get_request("/patients/search?q=9434765918", Some(&cookie)))
        .await;
    assert!(bad.text().contains("not a valid NHS number"));
    let short = api
        .send(get_request("/patients/search?q=s", Some(&cookie)))
        .await;
    assert!(short.text().contains("Type at least 2 characters"));
    let none = api
        .send(get_request("/patients/search?q=nobody", Some(&cookie)))
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
    let form = api.send(get_request("/patients/new", Some(&cookie))).await;
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
    let csrf = csrf_of(
        &api.send(get_request("/patients/new", Some(&cookie)))
            .await
            .text(),
    );
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
    let page = api.send(get_request("/patients/new", Some(&officer))).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text().contains("You cannot register patients"));
}
