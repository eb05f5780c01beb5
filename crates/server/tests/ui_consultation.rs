//! Recording a consultation through the workspace pages, as a signed-in GP would.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::{Value, json};
use store::Role;

const BOUNDARY: &str = "----opengp-test-boundary";

/// A multipart form body of text fields and (name, file name, bytes) files.
fn multipart_request(
    uri: &str,
    cookie: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Request<Body> {
    let mut body: Vec<u8> = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, bytes) in files {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    req(Method::POST, uri)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("cookie", format!("{SESSION_COOKIE}={cookie}"))
        .body(Body::from(body))
        .unwrap()
}

/// A demo account of `role` signed in through the pages: (session cookie, Practitioner id).
async fn sign_in(api: &Api, role: Role) -> (String, String) {
    let accounts = api.auth.ensure_demo_accounts(PRACTICE).unwrap();
    let account = accounts.into_iter().find(|a| a.role == role).unwrap();
    let cookie = sign_in_with(
        api,
        &account.username,
        &account.password,
        account.totp_secret.as_deref(),
    )
    .await;
    (cookie, account.practitioner)
}

struct Setup {
    api: Api,
    cookie: String,
    patient: String,
    form_url: String,
}

async fn gp_with_patient() -> Setup {
    let api = Api::new();
    let (cookie, _) = sign_in(&api, Role::ClinicalPractitioner).await;
    let patient = api.create(&patient("Consulted", "9434765919")).await;
    Setup {
        form_url: format!("/patients/{patient}/consultations/new"),
        api,
        cookie,
        patient,
    }
}

impl Setup {
    async fn page(&self) -> Reply {
        self.api
            .anonymous()
            .send(get_request(&self.form_url, Some(&self.cookie)))
            .await
    }

    async fn post(&self, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Reply {
        let csrf = csrf_of(&self.page().await.text());
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.api
            .anonymous()
            .send(multipart_request(&self.form_url, &self.cookie, &all, files))
            .await
    }

    async fn count(&self, rtype: &str) -> usize {
        self.api.versions_of(rtype).await
    }
}

fn now_field() -> String {
    (chrono::Local::now() - chrono::Duration::minutes(5))
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

#[tokio::test]
async fn a_gp_gets_the_form_and_a_receptionist_is_refused() {
    let s = gp_with_patient().await;
    let page = s.page().await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("enctype=\"multipart/form-data\""));
    assert!(
        html.contains("patient-banner"),
        "the patient banner is shown"
    );
    assert!(
        html.to_lowercase().contains("consulted"),
        "it names the patient"
    );
    assert!(html.contains("<label for=\"obs_bp_systolic\">"));

    let (receptionist, _) = sign_in(&s.api, Role::Receptionist).await;
    let refused = s
        .api
        .anonymous()
        .send(get_request(&s.form_url, Some(&receptionist)))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text().contains("You cannot record consultations"));
}

#[tokio::test]
async fn a_full_consultation_is_saved_and_the_record_page_follows() {
    let s = gp_with_patient().await;
    let date = now_field();
    let png: &[u8] = b"\x89PNG\r\n\x1a\n-image-";
    let reply = s
        .post(
            &[
                ("encounter_type", "11429006"),
                ("date", &date),
                ("t0_title", "Cough"),
                ("t0_e0_heading", "history"),
                ("t0_e0_text", "Dry cough for a week"),
                ("t0_e1_heading", "examination"),
                ("t0_e1_term", "Cough"),
                ("t0_e1_code", "49727002"),
                ("t1_new_term", "Hypertension"),
                ("t1_new_code", "38341003"),
                ("t1_significance", "major"),
                ("obs_bp_systolic", "150"),
                ("obs_bp_diastolic", "95"),
                ("obs_weight", "80"),
                ("obs_height", "180"),
                ("a0_term", "Penicillin allergy"),
                ("a0_code", "91936005"),
                ("a0_reaction", "Rash"),
                ("a0_severity", "mild"),
                ("a0_type", "allergy"),
            ],
            &[("attachments", "rash.png", png)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(
        reply.header("location"),
        Some(format!("/patients/{}", s.patient).as_str())
    );

    let search = |q: String| {
        let api = s.api.clone();
        async move { api.get(&q).await.json() }
    };
    let encounters = search(format!("/fhir/Encounter?patient={}", s.patient)).await;
    assert_eq!(encounters["total"], 1, "{encounters}");
    let observations = search(format!("/fhir/Observation?patient={}", s.patient)).await;
    // history text, examination term, BP, weight, height, BMI
    assert_eq!(observations["total"], 6, "{observations}");
    let problems = search(format!(
        "/fhir/Condition?patient={}&category=problem-list-item",
        s.patient
    ))
    .await;
    assert_eq!(problems["total"], 1);
    assert_eq!(
        search(format!("/fhir/DocumentReference?patient={}", s.patient)).await["entry"][0]["resource"]
            ["content"][0]["attachment"]["contentType"],
        "image/png"
    );
    let record = s
        .api
        .anonymous()
        .send(get_request(
            &format!("/patients/{}", s.patient),
            Some(&s.cookie),
        ))
        .await;
    assert_eq!(record.status, StatusCode::OK);
    assert!(
        record.text().contains("Dry cough for a week"),
        "the journal shows it"
    );
    let lists = search(format!("/fhir/List?patient={}", s.patient)).await;
    assert!(
        lists["total"].as_u64().unwrap() >= 4,
        "consultation, 2 topics, categories"
    );
}

#[tokio::test]
async fn an_impossible_blood_pressure_is_shown_next_to_the_field_and_nothing_is_saved() {
    let s = gp_with_patient().await;
    let before = (s.count("Encounter").await, s.count("Observation").await);
    let date = now_field();
    let reply = s
        .post(
            &[
                ("encounter_type", "11429006"),
                ("date", &date),
                ("t0_title", "Check-up"),
                ("obs_bp_systolic", "300"),
                ("obs_bp_diastolic", "20"),
                ("obs_pulse", "72"),
            ],
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = reply.text();
    assert!(html.contains("<span class=\"field-error\" id=\"obs_bp_systolic-error\">300 mmHg is not a plausible systolic blood pressure (50–280)</span>"), "{html}");
    assert!(html.contains("aria-describedby=\"obs_bp_systolic-error\""));
    assert!(html.contains("class=\"error-summary "));
    assert!(html.contains("href=\"#obs_bp_systolic\""));
    assert!(html.contains("value=\"72\""), "what was typed is kept");
    assert_eq!(
        (s.count("Encounter").await, s.count("Observation").await),
        before
    );
}

#[tokio::test]
async fn unusual_values_need_the_confirm_tick() {
    let s = gp_with_patient().await;
    let date = now_field();
    let fields = [
        ("encounter_type", "11429006"),
        ("date", date.as_str()),
        ("t0_title", "BP"),
        ("obs_bp_systolic", "195"),
        ("obs_bp_diastolic", "100"),
    ];
    let reply = s.post(&fields, &[]).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.text().contains("very high systolic blood pressure"));
    assert!(reply.text().contains("name=\"confirm_warnings\""));
    assert_eq!(s.count("Encounter").await, 0);
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm_warnings", "yes"));
    assert_eq!(s.post(&confirmed, &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(s.count("Encounter").await, 1);
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_refused() {
    let s = gp_with_patient().await;
    let date = now_field();
    let reply = s
        .api
        .anonymous()
        .send(multipart_request(
            &s.form_url,
            &s.cookie,
            &[
                ("csrf", "forged"),
                ("encounter_type", "11429006"),
                ("date", &date),
                ("t0_title", "X"),
            ],
            &[],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(s.count("Encounter").await, 0);
}

#[tokio::test]
async fn an_autosaved_draft_is_restored_and_can_be_discarded() {
    let s = gp_with_patient().await;
    let csrf = csrf_of(&s.page().await.text());
    let draft_url = format!("/patients/{}/consultations/draft", s.patient);
    let body = encode(&[
        ("csrf", &csrf),
        ("t0_title", "Knee pain"),
        ("obs_pulse", "88"),
    ]);
    let saved = s
        .api
        .anonymous()
        .send(form_request(&draft_url, &body, Some(&s.cookie)))
        .await;
    assert_eq!(saved.status, StatusCode::NO_CONTENT, "{}", saved.text());

    // The JSON form of the autosave replaces it.
    let json_body: Value = json!({"csrf": csrf, "t0_title": "Knee pain, left", "obs_pulse": "90"});
    let saved = s
        .api
        .anonymous()
        .send(
            req(Method::POST, &draft_url)
                .header("content-type", "application/json")
                .header("cookie", format!("{SESSION_COOKIE}={}", s.cookie))
                .body(Body::from(json_body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(saved.status, StatusCode::NO_CONTENT);

    let page = s.page().await.text();
    assert!(page.contains("Restored your unsaved draft from"), "{page}");
    assert!(page.contains("value=\"Knee pain, left\""));
    assert!(page.contains("value=\"90\""));

    let forged = encode(&[("csrf", "nope"), ("t0_title", "x")]);
    let refused = s
        .api
        .anonymous()
        .send(form_request(&draft_url, &forged, Some(&s.cookie)))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let discard = encode(&[("csrf", &csrf)]);
    let reply = s
        .api
        .anonymous()
        .send(form_request(
            &format!("{draft_url}/discard"),
            &discard,
            Some(&s.cookie),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        !s.page()
            .await
            .text()
            .contains("Restored your unsaved draft")
    );
    // Drafts went through the store (created, updated, deleted), not the browser. They
    // are sealed to the GP, so an app cannot count them: OpenGP itself does.
    let history = s
        .api
        .repo
        .history(
            &store::RequestContext::system(PRACTICE),
            &store::HistoryRequest {
                rtype: Some("QuestionnaireResponse".into()),
                id: None,
                params: vec![],
                base_url: BASE.into(),
            },
        )
        .unwrap();
    assert_eq!(history["entry"].as_array().map_or(0, Vec::len), 3);
}
