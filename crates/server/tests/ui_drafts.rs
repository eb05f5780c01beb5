//! A consultation draft is private to its author: what one clinician's page autosaves,
//! a colleague cannot find through the FHIR API.

mod common;

use auth::{AuthorizeRequest, NewUser, TokenRequest};
use axum::http::StatusCode;
use common::*;
use serde_json::Value;
use store::{Access, Actor, Purpose, RequestContext, Role};

const VERIFIER: &str = "drafts-test-verifier-drafts-test-verifier-0123";

/// An access token of a clinical app (`user/*.rs`) acting for `username`, issued by the
/// authorization server as after sign-in and consent (the HTTP steps of that flow are
/// tested in security.rs).
fn user_token(api: &Api, username: &str) -> String {
    let app = api.register_client(&format!("App of {username}"), "user/*.rs", 0, false);
    let user = api.auth.find_user(PRACTICE, username).unwrap().unwrap();
    let signed_in =
        RequestContext::new(PRACTICE, Actor::User(user.id.clone()), Purpose::DirectCare)
            .with_access(Access::staff(user.staff_member()));
    let code = api
        .auth
        .authorize(
            &AuthorizeRequest {
                response_type: "code".into(),
                client_id: app.client_id.clone(),
                redirect_uri: REDIRECT_URI.into(),
                scope: "user/*.rs".into(),
                code_challenge: Some(auth::pkce_s256(VERIFIER)),
                code_challenge_method: Some("S256".into()),
                aud: Some(BASE.into()),
                ..AuthorizeRequest::default()
            },
            &signed_in,
        )
        .unwrap();
    api.auth
        .token(
            &TokenRequest {
                grant_type: "authorization_code".into(),
                code: Some(code),
                redirect_uri: Some(REDIRECT_URI.into()),
                code_verifier: Some(VERIFIER.into()),
                client_id: Some(app.client_id.clone()),
                ..TokenRequest::default()
            },
            None,
        )
        .unwrap()
        .access_token
}

/// The ids of the QuestionnaireResponses in a Bundle.
fn drafts_in(bundle: &Value) -> Vec<String> {
    entry_ids(bundle, "QuestionnaireResponse")
}

#[tokio::test]
async fn a_colleague_cannot_find_an_autosaved_draft_through_the_fhir_api() {
    let api = Api::new();
    let patient = api.create(&patient("Drafted", "9434765919")).await;

    // Clinician A, the demo GP, types a consultation; the page autosaves it.
    let accounts = api.auth.ensure_demo_accounts(PRACTICE).unwrap();
    let a = accounts
        .into_iter()
        .find(|a| a.role == Role::ClinicalPractitioner)
        .unwrap();
    let cookie = sign_in_with(&api, &a.username, &a.password, a.totp_secret.as_deref()).await;
    let form = api
        .anonymous()
        .send(get_request(
            &format!("/patients/{patient}/consultations/new"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text());
    let body = encode(&[
        ("csrf", &csrf_of(&form.text())),
        ("t0_title", "Breast lump"),
        ("t0_e0_text", "?refer 2WW, not yet discussed with patient"),
    ]);
    let saved = api
        .anonymous()
        .send(form_request(
            &format!("/patients/{patient}/consultations/draft"),
            &body,
            Some(&cookie),
        ))
        .await;
    assert_eq!(saved.status, StatusCode::NO_CONTENT, "{}", saved.text());

    // Clinician B, another GP of the practice, through a clinical app.
    api.auth
        .add_user(
            &RequestContext::system(PRACTICE),
            NewUser {
                username: "dr.colleague".into(),
                display_name: "Dr Colleague".into(),
                role: Role::ClinicalPractitioner,
                password: "a long test password".into(),
                practitioner: None,
            },
        )
        .unwrap();
    let b = api.with_token(&user_token(&api, "dr.colleague"));
    let a_api = api.with_token(&user_token(&api, &a.username));

    let search = format!("/fhir/QuestionnaireResponse?subject=Patient/{patient}");
    let found_by_a = a_api.get(&search).await;
    assert_eq!(found_by_a.status, StatusCode::OK, "{}", found_by_a.text());
    let ids = drafts_in(&found_by_a.json());
    assert_eq!(ids.len(), 1, "the author finds their own draft");
    assert!(found_by_a.text().contains("2WW"));
    let draft = &ids[0];

    let found_by_b = b.get(&search).await;
    assert_eq!(found_by_b.status, StatusCode::OK, "{}", found_by_b.text());
    assert!(
        drafts_in(&found_by_b.json()).is_empty(),
        "{}",
        found_by_b.text()
    );
    assert!(!found_by_b.text().contains("2WW"));

    b.get(&format!("/fhir/QuestionnaireResponse/{draft}"))
        .await
        .assert_outcome(404);
    let history = b.get("/fhir/QuestionnaireResponse/_history").await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text());
    assert!(!history.text().contains(draft.as_str()));
    let everything = b.get(&format!("/fhir/Patient/{patient}/$everything")).await;
    assert_eq!(everything.status, StatusCode::OK, "{}", everything.text());
    assert!(drafts_in(&everything.json()).is_empty());
    assert!(
        !drafts_in(
            &a_api
                .get(&format!("/fhir/Patient/{patient}/$everything"))
                .await
                .json()
        )
        .is_empty(),
        "the author's $everything has it"
    );
}
