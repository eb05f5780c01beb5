//! Security through HTTP: bearer tokens, the OAuth endpoints, staff sign-in pages,
//! scopes and roles against interactions, break-glass, rate limits and the audit trail.

mod common;

use auth::{NewUser, RegisteredClient, totp};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;
use store::{RequestContext, Role, TxMode};

const PASSWORD: &str = "a long test password";
const VERIFIER: &str = "test-verifier-test-verifier-test-verifier-0123";
static CHALLENGE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| auth::pkce_s256(VERIFIER));

// ---- helpers: a browser with a cookie jar of one cookie, and the OAuth steps ----

/// The session token a reply sets, checking the cookie's attributes.
fn session_cookie(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("a session cookie is set");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    let value = set.strip_prefix("__Host-opengp_session=").expect(set);
    value.split(';').next().unwrap().to_string()
}

struct Staff {
    username: String,
    totp_secret: Option<Vec<u8>>,
}

fn add_staff(api: &Api, username: &str, role: Role) -> Staff {
    let added = api
        .auth
        .add_user(
            &RequestContext::system(PRACTICE),
            NewUser {
                username: username.into(),
                display_name: format!("Test {username}"),
                role,
                password: PASSWORD.into(),
                practitioner: None,
            },
        )
        .unwrap();
    Staff {
        username: username.into(),
        totp_secret: added
            .totp
            .map(|t| totp::base32_decode(&t.secret_base32).unwrap()),
    }
}

/// Signs in through /login (and /login/totp), returning the signed-in session token.
async fn sign_in(api: &Api, staff: &Staff, next: &str) -> String {
    let anon = api.anonymous();
    let login = anon
        .send(get_request(
            &format!("/login?{}", encode(&[("next", next)])),
            None,
        ))
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    let first = session_cookie(&login);
    let body = encode(&[
        ("csrf", &csrf_of(&login.text())),
        ("username", &staff.username),
        ("password", PASSWORD),
        ("next", next),
    ]);
    let after_password = anon.send(form_request("/login", &body, Some(&first))).await;
    assert_eq!(
        after_password.status,
        StatusCode::SEE_OTHER,
        "{}",
        after_password.text()
    );
    let second = session_cookie(&after_password);
    let Some(secret) = &staff.totp_secret else {
        assert_eq!(after_password.header("location"), Some(next));
        return second;
    };
    assert!(
        after_password
            .header("location")
            .unwrap()
            .starts_with("/login/totp")
    );
    let totp_page = anon.send(get_request("/login/totp", Some(&second))).await;
    assert_eq!(totp_page.status, StatusCode::OK, "{}", totp_page.text());
    // A fresh time step, so the code has not been used by an earlier sign-in.
    api.clock.advance(Duration::from_secs(30));
    let code = totp::code(secret, api.clock.now_seconds());
    let body = encode(&[
        ("csrf", &csrf_of(&totp_page.text())),
        ("code", &code),
        ("next", next),
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
    assert_eq!(signed_in.header("location"), Some(next));
    session_cookie(&signed_in)
}

fn authorize_params<'a>(
    client_id: &'a str,
    scope: &'a str,
    patient: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", scope),
        ("state", "st-123"),
        ("code_challenge", CHALLENGE.as_str()),
        ("code_challenge_method", "S256"),
        ("aud", BASE),
    ];
    if let Some(p) = patient {
        params.push(("patient", p));
    }
    params
}

/// The code from the app's redirect, after signing in and approving on the consent page.
async fn authorization_code(
    api: &Api,
    staff: &Staff,
    client_id: &str,
    scope: &str,
    patient: Option<&str>,
) -> String {
    let params = authorize_params(client_id, scope, patient);
    let url = format!("/oauth/authorize?{}", encode(&params));
    let anon = api.anonymous();
    let unsigned = anon.send(get_request(&url, None)).await;
    assert_eq!(unsigned.status, StatusCode::SEE_OTHER);
    assert!(
        unsigned
            .header("location")
            .unwrap()
            .starts_with("/login?next=")
    );
    let session = sign_in(api, staff, &url).await;
    let consent = anon.send(get_request(&url, Some(&session))).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.text());
    let page = consent.text();
    assert!(
        page.contains("Allow this app?") && page.contains("value=\"approve\""),
        "{page}"
    );
    let mut fields = params.clone();
    let csrf = csrf_of(&page);
    fields.push(("csrf", &csrf));
    fields.push(("decision", "approve"));
    let approved = anon
        .send(form_request(
            "/oauth/authorize",
            &encode(&fields),
            Some(&session),
        ))
        .await;
    assert_eq!(
        approved.status,
        StatusCode::SEE_OTHER,
        "{}",
        approved.text()
    );
    let location = approved.header("location").unwrap().to_string();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let query = location.split_once('?').unwrap().1;
    let returned: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert!(
        returned.contains(&("state".into(), "st-123".into())),
        "{location}"
    );
    returned
        .into_iter()
        .find(|(k, _)| k == "code")
        .expect("a code")
        .1
}

async fn exchange(api: &Api, client_id: &str, code: &str, verifier: &str) -> Reply {
    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier),
        ("client_id", client_id),
    ]);
    api.send_without_token(form_request("/oauth/token", &body, None))
        .await
}

/// A user's access token through the real endpoints (a public app).
async fn user_token(
    api: &Api,
    staff: &Staff,
    app: &RegisteredClient,
    scope: &str,
    patient: Option<&str>,
) -> String {
    let code = authorization_code(api, staff, &app.client_id, scope, patient).await;
    let reply = exchange(api, &app.client_id, &code, VERIFIER).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["access_token"].as_str().unwrap().to_string()
}

fn basic(app: &RegisteredClient) -> String {
    let pair = format!(
        "{}:{}",
        app.client_id,
        app.client_secret.as_deref().unwrap()
    );
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn observation(patient: &str, restricted: bool) -> Value {
    let mut obs = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "blood pressure"},
        "subject": {"reference": format!("Patient/{patient}")},
    });
    if restricted {
        obs["meta"] = json!({"security": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
            "code": "R",
        }]});
    }
    obs
}

fn with_header(mut request: Request<Body>, name: &'static str, value: &str) -> Request<Body> {
    request.headers_mut().insert(name, value.parse().unwrap());
    request
}

// ---- bearer authentication ----

#[tokio::test]
async fn fhir_needs_a_valid_token_but_metadata_and_smart_configuration_are_public() {
    let api = Api::new();
    let anon = api.anonymous();
    let missing = anon.get("/fhir/Patient").await;
    missing.assert_outcome(401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"OpenGP\"")
    );
    assert_eq!(missing.json()["issue"][0]["code"], "login");

    let forged = api.with_token("forged-token").get("/fhir/Patient").await;
    forged.assert_outcome(401);
    assert!(
        forged
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );

    let metadata = anon.get("/fhir/metadata").await;
    assert_eq!(metadata.status, StatusCode::OK);
    assert_eq!(
        metadata.json()["rest"][0]["security"]["service"][0]["coding"][0]["code"],
        "SMART-on-FHIR"
    );
    let smart = anon.get("/fhir/.well-known/smart-configuration").await;
    assert_eq!(smart.status, StatusCode::OK);
    let config = smart.json();
    assert_eq!(config["token_endpoint"], "http://localhost/oauth/token");
    assert_eq!(config["code_challenge_methods_supported"], json!(["S256"]));

    // Revoked: the app revokes its own token at the revocation endpoint.
    let app = api.register_client("revoker", "system/*.rs", 0, true);
    let token = api.client_credentials(&app, "system/*.rs");
    let mine = api.with_token(&token);
    assert_eq!(mine.get("/fhir/Patient").await.status, StatusCode::OK);
    let revoke = with_header(
        form_request("/oauth/revoke", &encode(&[("token", &token)]), None),
        "authorization",
        &basic(&app),
    );
    assert_eq!(anon.send(revoke).await.status, StatusCode::OK);
    let revoked = mine.get("/fhir/Patient").await;
    revoked.assert_outcome(401);
    assert!(
        revoked
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );

    // Expired: access tokens live ten minutes.
    api.clock.advance(Duration::from_secs(11 * 60));
    let expired = api.get("/fhir/Patient").await;
    expired.assert_outcome(401);
    assert!(
        expired
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn client_credentials_with_http_basic_at_the_advertised_token_endpoint() {
    let api = Api::new();
    let anon = api.anonymous();
    let config = anon
        .get("/fhir/.well-known/smart-configuration")
        .await
        .json();
    let endpoint = config["token_endpoint"].as_str().unwrap();
    let path = endpoint.strip_prefix("http://localhost").unwrap();
    let app = api.register_client("back-end", "system/Patient.rs", 0, true);
    let body = encode(&[
        ("grant_type", "client_credentials"),
        ("scope", "system/Patient.rs"),
    ]);
    let reply = anon
        .send(with_header(
            form_request(path, &body, None),
            "authorization",
            &basic(&app),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let issued = reply.json();
    assert_eq!(issued["token_type"], "Bearer");
    let token = issued["access_token"].as_str().unwrap();
    assert_eq!(
        api.with_token(token).get("/fhir/Patient").await.status,
        StatusCode::OK
    );

    let wrong = RegisteredClient {
        client_secret: Some("not-the-secret".into()),
        ..app.clone()
    };
    let refused = anon
        .send(with_header(
            form_request(path, &body, None),
            "authorization",
            &basic(&wrong),
        ))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["error"], "invalid_client");
    let unsupported = anon
        .send(with_header(
            form_request(path, "grant_type=password", None),
            "authorization",
            &basic(&app),
        ))
        .await;
    assert_eq!(unsupported.status, StatusCode::BAD_REQUEST);
    assert_eq!(unsupported.json()["error"], "unsupported_grant_type");
}

// ---- sign-in and the authorization code flow ----

#[tokio::test]
async fn authorization_code_with_pkce_through_sign_in_and_consent() {
    let api = Api::new();
    let gp = add_staff(&api, "dr.test", Role::ClinicalPractitioner);
    let app = api.register_client("Test app", "user/*.cruds", 0, false);
    let code = authorization_code(&api, &gp, &app.client_id, "user/*.rs", None).await;

    let wrong = exchange(&api, &app.client_id, &code, &"x".repeat(43)).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json()["error"], "invalid_grant");
    // A refused verifier uses the code up as well; a new code is needed.
    let code = authorization_code(&api, &gp, &app.client_id, "user/*.rs", None).await;
    let good = exchange(&api, &app.client_id, &code, VERIFIER).await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.text());
    let token = good.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        api.with_token(&token).get("/fhir/Observation").await.status,
        StatusCode::OK
    );

    let reused = exchange(&api, &app.client_id, &code, VERIFIER).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert_eq!(reused.json()["error"], "invalid_grant");
    // Reuse means theft: the tokens of that code are revoked.
    api.with_token(&token)
        .get("/fhir/Observation")
        .await
        .assert_outcome(401);
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let api = Api::new();
    let anon = api.anonymous();
    let gp = add_staff(&api, "dr.csrf", Role::ClinicalPractitioner);
    let login = anon.send(get_request("/login", None)).await;
    for header in [
        "content-security-policy",
        "x-frame-options",
        "referrer-policy",
        "cache-control",
    ] {
        assert!(login.header(header).is_some(), "{header} missing");
    }
    let page = login.text();
    assert!(
        page.contains("autocomplete=\"current-password\"")
            && page.contains("<label for=\"username\"")
    );
    let cookie = session_cookie(&login);
    let body = encode(&[
        ("csrf", "forged"),
        ("username", "dr.csrf"),
        ("password", PASSWORD),
    ]);
    let refused = anon
        .send(form_request("/login", &body, Some(&cookie)))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let app = api.register_client("Test app", "user/*.rs", 0, false);
    let params = authorize_params(&app.client_id, "user/*.rs", None);
    let session = sign_in(&api, &gp, "/").await;
    let mut fields = params.clone();
    fields.push(("csrf", "forged"));
    fields.push(("decision", "approve"));
    let refused = anon
        .send(form_request(
            "/oauth/authorize",
            &encode(&fields),
            Some(&session),
        ))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.header("location").is_none(),
        "no code was sent to the app"
    );
}

#[tokio::test]
async fn signing_in_replaces_the_cookie_so_a_planted_one_stays_anonymous() {
    let api = Api::new();
    let anon = api.anonymous();
    let nurse = add_staff(&api, "nurse.test", Role::Nurse);
    let login = anon.send(get_request("/login", None)).await;
    let planted = session_cookie(&login);
    let body = encode(&[
        ("csrf", &csrf_of(&login.text())),
        ("username", "nurse.test"),
        ("password", "wrong password here"),
    ]);
    let failed = anon
        .send(form_request("/login", &body, Some(&planted)))
        .await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    assert!(failed.text().contains("There is a problem"));
    let signed_in = sign_in(&api, &nurse, "/").await;
    assert_ne!(signed_in, planted);
    let home = anon.send(get_request("/", Some(&signed_in))).await.text();
    assert!(
        home.contains("Test nurse.test") && home.contains("Nurse"),
        "{home}"
    );
    let old = anon.send(get_request("/", Some(&planted))).await;
    assert_eq!(
        old.status,
        StatusCode::SEE_OTHER,
        "the planted cookie is not signed in"
    );
    assert!(old.header("location").unwrap().starts_with("/login"));

    let csrf = csrf_of(&home);
    let out = anon
        .send(form_request(
            "/logout",
            &encode(&[("csrf", &csrf)]),
            Some(&signed_in),
        ))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = anon.send(get_request("/", Some(&signed_in))).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "signed out");
    assert!(after.header("location").unwrap().starts_with("/login"));
}

// ---- what tokens may do ----

#[tokio::test]
async fn scopes_limit_interactions() {
    let api = Api::new();
    let patient_id = api.create(&patient("Scope", "9434765919")).await;
    api.create(&observation(&patient_id, false)).await;

    let gp = add_staff(&api, "dr.scope", Role::ClinicalPractitioner);
    let app = api.register_client("Obs viewer", "patient/Observation.rs", 0, false);
    let token = user_token(&api, &gp, &app, "patient/Observation.rs", Some(&patient_id)).await;
    let viewer = api.with_token(&token);
    let found = viewer.get("/fhir/Observation").await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(entry_ids(&found.json(), "Observation").len(), 1);
    viewer
        .post("/fhir/Observation", &observation(&patient_id, false))
        .await
        .assert_outcome(403);

    let back_end = api.register_client("Patients only", "system/Patient.rs", 0, true);
    let patients_only = api.with_token(&api.client_credentials(&back_end, "system/Patient.rs"));
    let reply = patients_only
        .get(&format!(
            "/fhir/Patient?_id={patient_id}&_revinclude=Observation:subject"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let bundle = reply.json();
    assert_eq!(entry_ids(&bundle, "Patient"), vec![patient_id.clone()]);
    assert!(entry_ids(&bundle, "Observation").is_empty(), "{bundle}");
}

#[tokio::test]
async fn a_receptionist_books_appointments_but_cannot_read_encounters() {
    let api = Api::new();
    let patient_id = api.create(&patient("Booking", "9434765919")).await;
    let encounter_id = api
        .create(&json!({
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": format!("Patient/{patient_id}")},
        }))
        .await;
    let receptionist = add_staff(&api, "reception.test", Role::Receptionist);
    let app = api.register_client("Front desk", "user/*.cruds", 0, false);
    let desk = api.with_token(&user_token(&api, &receptionist, &app, "user/*.cruds", None).await);
    desk.get(&format!("/fhir/Encounter/{encounter_id}"))
        .await
        .assert_outcome(403);
    let booked = desk
        .post(
            "/fhir/Appointment",
            &json!({
                "resourceType": "Appointment",
                "status": "booked",
                "participant": [{"actor": {"reference": format!("Patient/{patient_id}")}, "status": "accepted"}],
            }),
        )
        .await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.text());
    // Breaking the glass is for clinicians only.
    let glass = with_header(
        get_request(&format!("/fhir/Patient/{patient_id}"), None),
        "x-opengp-break-glass",
        "patient collapsed at the desk",
    );
    let refused = desk.send(glass).await;
    refused.assert_outcome(403);
    assert!(
        refused.text().contains("only clinicians"),
        "{}",
        refused.text()
    );
}

#[tokio::test]
async fn break_glass_opens_a_restricted_record_and_the_privacy_officer_sees_it() {
    let api = Api::new();
    let patient_id = api.create(&patient("Glass", "9434765919")).await;
    let restricted = api.create(&observation(&patient_id, true)).await;
    let gp = add_staff(&api, "dr.glass", Role::ClinicalPractitioner);
    let app = api.register_client("Clinical app", "user/*.cruds", 0, false);
    let clinician = api.with_token(&user_token(&api, &gp, &app, "user/*.rs", None).await);
    let url = format!("/fhir/Observation/{restricted}");
    clinician.get(&url).await.assert_outcome(404);
    let opened = clinician
        .send(with_header(
            get_request(&url, None),
            "x-opengp-break-glass",
            "unconscious in A&E",
        ))
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text());

    let officer = add_staff(&api, "privacy.test", Role::PrivacyOfficer);
    let audit_app = api.register_client("Audit viewer", "user/AuditEvent.rs", 0, false);
    let auditor =
        api.with_token(&user_token(&api, &officer, &audit_app, "user/AuditEvent.rs", None).await);
    let events = auditor.get("/fhir/AuditEvent?subtype=break-glass").await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text());
    let bundle = events.json();
    let text = bundle.to_string();
    assert_eq!(bundle["total"], 1, "{bundle}");
    assert!(
        text.contains(&format!("Observation/{restricted}")) && text.contains("unconscious in A&E"),
        "{text}"
    );
    // The clinician's own app may not read the audit trail.
    clinician.get("/fhir/AuditEvent").await.assert_outcome(403);
}

#[tokio::test]
async fn an_app_over_its_rate_limit_gets_429() {
    let api = Api::new();
    let app = api.register_client("Busy app", "system/*.rs", 2, true);
    let busy = api.with_token(&api.client_credentials(&app, "system/*.rs"));
    assert_eq!(busy.get("/fhir/Patient").await.status, StatusCode::OK);
    assert_eq!(busy.get("/fhir/Patient").await.status, StatusCode::OK);
    let limited = busy.get("/fhir/Patient").await;
    limited.assert_outcome(429);
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    // Other apps are not held back.
    assert_eq!(api.get("/fhir/Patient").await.status, StatusCode::OK);
}

// ---- the audit trail ----

/// Each audit entry's seq (its AuditEvent id) with the request id it records.
fn request_ids(api: &Api) -> Vec<(i64, String)> {
    let store = api.repo.store();
    let mut tx = store
        .begin(&RequestContext::system(PRACTICE), TxMode::Read)
        .unwrap();
    let rows = tx
        .query("SELECT seq, entry FROM audit_log ORDER BY seq", &[])
        .unwrap();
    rows.into_iter()
        .map(|row| {
            let seq = row[0].as_i64().unwrap();
            let entry: Value = serde_json::from_str(row[1].as_str().unwrap()).unwrap();
            (seq, entry["request_id"].as_str().unwrap().to_string())
        })
        .collect()
}

#[tokio::test]
async fn every_request_is_in_the_audit_trail_with_its_event_and_outcome() {
    let api = Api::new();
    let labelled = |request: Request<Body>, id: &str| with_header(request, "x-request-id", id);
    let create = fhir_json(
        Method::POST,
        "/fhir/Patient",
        &patient("Audit", "9434765919"),
    );
    let created = api.send(labelled(create, "req-create")).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.json()["id"].as_str().unwrap().to_string();
    api.send(labelled(
        get_request(&format!("/fhir/Patient/{id}"), None),
        "req-read",
    ))
    .await;
    api.send(labelled(
        get_request("/fhir/Patient?family=Audit", None),
        "req-search",
    ))
    .await;
    let reader = api.register_client("Reader", "system/Patient.rs", 0, true);
    let reader = api.with_token(&api.client_credentials(&reader, "system/Patient.rs"));
    let refused = reader
        .send(labelled(
            fhir_json(Method::POST, "/fhir/Patient", &patient("X", "9434765005")),
            "req-refused",
        ))
        .await;
    refused.assert_outcome(403);
    api.send_without_token(labelled(
        get_request("/fhir/Patient", None),
        "req-anonymous",
    ))
    .await;

    let auditor = api.register_client("Auditor", "system/AuditEvent.rs", 0, true);
    let auditor = api.with_token(&api.client_credentials(&auditor, "system/AuditEvent.rs"));
    let recorded = request_ids(&api);
    for (request_id, event, outcome) in [
        ("req-create", "create", "0"),
        ("req-read", "read", "0"),
        ("req-search", "search-type", "0"),
        ("req-refused", "create", "4"),
        ("req-anonymous", "authenticate", "4"),
    ] {
        let seqs: Vec<i64> = recorded
            .iter()
            .filter(|(_, r)| r == request_id)
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(
            seqs.len(),
            1,
            "{request_id} has {} audit entries",
            seqs.len()
        );
        let reply = auditor.get(&format!("/fhir/AuditEvent/{}", seqs[0])).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let audit_event = reply.json();
        let text = audit_event.to_string();
        assert!(
            text.contains(&format!("\"code\":\"{event}\"")),
            "{request_id}: {text}"
        );
        assert_eq!(audit_event["outcome"], outcome, "{request_id}: {text}");
    }
}

// ---- OpenID Connect ----

/// `openid fhirUser` gets an id_token (SMART App Launch v2): an RS256 JWT naming the
/// server, the user, the app and their Practitioner, whose signature checks out against
/// the key the discovery documents publish.
#[tokio::test]
async fn openid_fhir_user_gets_an_id_token_signed_with_the_published_key() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let api = Api::new();
    let practitioner = api
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "Oidc"}]}))
        .await;
    let added = api
        .auth
        .add_user(
            &RequestContext::system(PRACTICE),
            NewUser {
                username: "dr.oidc".into(),
                display_name: "Dr Oidc".into(),
                role: Role::ClinicalPractitioner,
                password: PASSWORD.into(),
                practitioner: Some(practitioner.clone()),
            },
        )
        .unwrap();
    let gp = Staff {
        username: "dr.oidc".into(),
        totp_secret: added
            .totp
            .map(|t| totp::base32_decode(&t.secret_base32).unwrap()),
    };
    let app = api.register_client("OIDC app", "user/*.rs openid fhirUser", 0, false);
    let scope = "openid fhirUser user/Patient.rs";
    let code = authorization_code(&api, &gp, &app.client_id, scope, None).await;
    let reply = exchange(&api, &app.client_id, &code, VERIFIER).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let id_token = reply.json()["id_token"]
        .as_str()
        .expect("an id_token")
        .to_string();

    // The discovery documents name the key set; it is public.
    let anon = api.anonymous();
    let smart = anon
        .get("/fhir/.well-known/smart-configuration")
        .await
        .json();
    let openid = anon
        .get("/fhir/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(smart["jwks_uri"], openid["jwks_uri"]);
    assert_eq!(
        openid["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let jwks_path = openid["jwks_uri"]
        .as_str()
        .unwrap()
        .strip_prefix("http://localhost")
        .unwrap()
        .to_string();
    let jwks = anon.get(&jwks_path).await;
    assert_eq!(jwks.status, StatusCode::OK, "{}", jwks.text());
    let key = jwks.json()["keys"][0].clone();

    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], key["kid"]);
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let public = rsa::PublicKey::new(
        rsa::BoxedUint::from_be_slice_vartime(&n),
        rsa::BoxedUint::from_be_slice_vartime(&e),
    )
    .unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    public
        .pkcs1v15_verify::<sha2::Sha256>(signed.as_bytes(), &signature)
        .expect("the id_token's signature verifies with the published key");
    let mut forged = signed.clone().into_bytes();
    forged[signed.len() - 1] ^= 1;
    assert!(
        public
            .pkcs1v15_verify::<sha2::Sha256>(&forged, &signature)
            .is_err()
    );

    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], openid["issuer"]);
    assert_eq!(claims["aud"], app.client_id);
    assert!(claims["sub"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        claims["fhirUser"],
        format!("{BASE}/Practitioner/{practitioner}")
    );
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && iat > 0, "{claims}");

    // The key is kept: a second token is signed by the same one.
    let code = authorization_code(&api, &gp, &app.client_id, "openid user/Patient.rs", None).await;
    let again = exchange(&api, &app.client_id, &code, VERIFIER).await.json();
    let header2 = again["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(header2, parts[0]);
    // Without openid there is none.
    let code = authorization_code(&api, &gp, &app.client_id, "user/Patient.rs", None).await;
    let plain = exchange(&api, &app.client_id, &code, VERIFIER).await.json();
    assert!(plain.get("id_token").is_none(), "{plain}");
}
