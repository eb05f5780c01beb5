//! The OAuth 2.0 authorization server: client credentials, authorization code with
//! PKCE, refresh rotation, revocation, bearer authentication. Each test runs on SQLite
//! and on PostgreSQL.

mod common;

use auth::{
    AuthConfig, AuthorizeRequest, ErrorKind, NewClient, RegisteredClient, TokenRequest,
    TokenResponse, pkce_s256,
};
use common::{Fixture, PRACTICE, admin, fixture, fixture_with};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use store::access::Interaction;
use store::{Actor, Purpose, RequestContext, Role, Store};

backends!(
    a_backend_service_gets_a_system_token,
    client_credentials_are_refused_to_public_clients,
    client_credentials_grant_system_scopes_only,
    a_wrong_client_secret_is_refused,
    an_app_gets_tokens_for_the_signed_in_clinician,
    the_code_verifier_must_match_the_challenge,
    pkce_is_required_and_only_s256,
    a_reused_code_is_refused_and_revokes_its_tokens,
    the_redirect_uri_must_match_exactly,
    an_expired_access_token_is_refused,
    forged_tokens_are_refused,
    refresh_tokens_rotate_and_reuse_revokes_the_grant,
    a_refresh_may_narrow_the_scopes_but_not_widen_them,
    revoked_tokens_stop_working,
    scopes_are_narrowed_to_the_registration,
    a_role_change_applies_to_the_apps_token,
    patient_scopes_need_a_patient_the_user_can_see,
    a_confidential_app_must_authenticate_to_exchange_its_code,
    the_id_token_key_is_made_once_and_shared,
);

const REDIRECT: &str = "https://app.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-long-enough";

fn register(f: &Fixture, scopes: &str, confidential: bool) -> RegisteredClient {
    f.auth
        .register_client(
            &admin(),
            NewClient {
                name: "Test app".into(),
                scopes: scopes.into(),
                redirect_uris: vec![REDIRECT.into()],
                confidential,
                rate_limit_per_minute: 120,
            },
        )
        .expect("register client")
}

fn authorize_request(client: &RegisteredClient, scope: &str) -> AuthorizeRequest {
    AuthorizeRequest {
        response_type: "code".into(),
        client_id: client.client_id.clone(),
        redirect_uri: REDIRECT.into(),
        scope: scope.into(),
        state: Some("xyz".into()),
        code_challenge: Some(pkce_s256(VERIFIER)),
        code_challenge_method: Some("S256".into()),
        aud: None,
        patient: None,
    }
}

fn code_request(client: &RegisteredClient, code: &str) -> TokenRequest {
    TokenRequest {
        grant_type: "authorization_code".into(),
        code: Some(code.into()),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: Some(VERIFIER.into()),
        client_id: Some(client.client_id.clone()),
        client_secret: client.client_secret.clone(),
        ..TokenRequest::default()
    }
}

fn refresh_request(client: &RegisteredClient, refresh: &str) -> TokenRequest {
    TokenRequest {
        grant_type: "refresh_token".into(),
        refresh_token: Some(refresh.into()),
        client_id: Some(client.client_id.clone()),
        client_secret: client.client_secret.clone(),
        ..TokenRequest::default()
    }
}

fn client_credentials(client: &RegisteredClient, scope: Option<&str>) -> TokenRequest {
    TokenRequest {
        grant_type: "client_credentials".into(),
        scope: scope.map(str::to_string),
        client_id: Some(client.client_id.clone()),
        client_secret: client.client_secret.clone(),
        ..TokenRequest::default()
    }
}

/// A GP signs in and authorises a public app for `scope`; the app exchanges the code.
fn gp_app_tokens(f: &Fixture, scope: &str) -> (RegisteredClient, RequestContext, TokenResponse) {
    let gp = f.add_user("gp.one", Role::ClinicalPractitioner);
    let ctx = f.staff_context(&gp);
    let client = register(f, "user/*.cruds patient/*.rs offline_access", false);
    let code = f
        .auth
        .authorize(&authorize_request(&client, scope), &ctx)
        .unwrap();
    let tokens = f.auth.token(&code_request(&client, &code), None).unwrap();
    (client, ctx, tokens)
}

fn a_backend_service_gets_a_system_token(store: Arc<dyn Store>) {
    let f = fixture(store);
    let client = register(&f, "system/Patient.rs system/Observation.r", true);
    let secret = client
        .client_secret
        .clone()
        .expect("confidential clients get a secret");
    assert_eq!(secret.len(), 43);

    let tokens = f
        .auth
        .token(&client_credentials(&client, Some("system/Patient.r")), None)
        .unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 600);
    assert_eq!(tokens.scope, "system/Patient.r");
    assert!(
        tokens.refresh_token.is_none(),
        "no refresh token for client credentials"
    );

    let authed = f
        .auth
        .authenticate(&tokens.access_token, Some("198.51.100.7"))
        .unwrap();
    assert_eq!(authed.rate_limit_per_minute, 120);
    let ctx = authed.ctx;
    assert_eq!(ctx.practice, PRACTICE);
    assert_eq!(ctx.actor, Actor::App(client.client_id.clone()));
    assert_eq!(ctx.purpose, Purpose::Sharing);
    assert_eq!(ctx.source.as_deref(), Some("198.51.100.7"));
    assert!(ctx.access.staff.is_none());
    assert!(ctx.access.permits("Patient", Interaction::Read));
    assert!(!ctx.access.permits("Patient", Interaction::Search));

    // No scope asked for: everything registered.
    let all = f
        .auth
        .token(&client_credentials(&client, None), None)
        .unwrap();
    assert_eq!(all.scope, "system/Patient.rs system/Observation.r");
}

fn client_credentials_are_refused_to_public_clients(store: Arc<dyn Store>) {
    let f = fixture(store);
    let client = register(&f, "system/Patient.r", false);
    let e = f
        .auth
        .token(&client_credentials(&client, None), None)
        .unwrap_err();
    assert_eq!(e.oauth_code(), "unauthorized_client");
}

fn client_credentials_grant_system_scopes_only(store: Arc<dyn Store>) {
    let f = fixture(store);
    let client = register(&f, "system/Patient.r user/Patient.r", true);
    let e = f
        .auth
        .token(&client_credentials(&client, Some("user/Patient.r")), None)
        .unwrap_err();
    assert_eq!(e.oauth_code(), "invalid_scope");
    let e = f
        .auth
        .token(
            &client_credentials(&client, Some("system/Observation.r")),
            None,
        )
        .unwrap_err();
    assert_eq!(e.oauth_code(), "invalid_scope", "not registered");
}

fn a_wrong_client_secret_is_refused(store: Arc<dyn Store>) {
    let f = fixture(store);
    let mut client = register(&f, "system/Patient.r", true);
    client.client_secret = Some("guessed-secret".into());
    let e = f
        .auth
        .token(&client_credentials(&client, None), None)
        .unwrap_err();
    assert_eq!((e.oauth_code(), e.status()), ("invalid_client", 401));
    client.client_secret = None;
    let e = f
        .auth
        .token(&client_credentials(&client, None), None)
        .unwrap_err();
    assert_eq!(e.oauth_code(), "invalid_client");
}

fn an_app_gets_tokens_for_the_signed_in_clinician(store: Arc<dyn Store>) {
    let f = fixture(store);
    let (client, gp_ctx, tokens) = gp_app_tokens(&f, "user/Observation.rs offline_access");
    assert_eq!(tokens.scope, "user/Observation.rs offline_access");
    assert!(
        tokens.refresh_token.is_some(),
        "offline_access gives a refresh token"
    );
    assert!(tokens.patient.is_none());

    let ctx = f.auth.authenticate(&tokens.access_token, None).unwrap().ctx;
    assert_eq!(ctx.actor, Actor::App(client.client_id.clone()));
    assert_eq!(ctx.purpose, Purpose::DirectCare);
    assert_eq!(ctx.access.staff, gp_ctx.access.staff);
    assert!(ctx.access.permits("Observation", Interaction::Search));
    assert!(!ctx.access.permits("Observation", Interaction::Create));
}

fn the_code_verifier_must_match_the_challenge(store: Arc<dyn Store>) {
    let f = fixture(store);
    let gp = f.add_user("gp.one", Role::ClinicalPractitioner);
    let ctx = f.staff_context(&gp);
    let client = register(&f, "user/*.rs", false);

    let code = f
        .auth
        .authorize(&authorize_request(&client, "user/*.rs"), &ctx)
        .unwrap();
    let missing = TokenRequest {
        code_verifier: None,
        ..code_request(&client, &code)
    };
    assert_eq!(
        f.auth.token(&missing, None).unwrap_err().oauth_code(),
        "invalid_grant"
    );

    let code = f
        .auth
        .authorize(&authorize_request(&client, "user/*.rs"), &ctx)
        .unwrap();
    let wrong = TokenRequest {
        code_verifier: Some("x".repeat(43)),
        ..code_request(&client, &code)
    };
    assert_eq!(
        f.auth.token(&wrong, None).unwrap_err().oauth_code(),
        "invalid_grant"
    );
    // A failed attempt used the code up.
    let right = code_request(&client, &code);
    assert_eq!(
        f.auth.token(&right, None).unwrap_err().oauth_code(),
        "invalid_grant"
    );
}

fn pkce_is_required_and_only_s256(store: Arc<dyn Store>) {
    let f = fixture(store);
    let gp = f.add_user("gp.one", Role::ClinicalPractitioner);
    let ctx = f.staff_context(&gp);
    let client = register(&f, "user/*.rs", false);

    let plain = AuthorizeRequest {
        code_challenge: Some(VERIFIER.into()),
        code_challenge_method: Some("plain".into()),
        ..authorize_request(&client, "user/*.rs")
    };
    let e = f.auth.authorize(&plain, &ctx).unwrap_err();
    assert_eq!(e.oauth_code(), "invalid_request");
    assert!(
        e.redirectable,
        "sent back to the app, whose redirect URI is known good"
    );

    let none = AuthorizeRequest {
        code_challenge: None,
        code_challenge_method: None,
        ..authorize_request(&client, "user/*.rs")
    };
    assert_eq!(
        f.auth
            .check_authorize(&none, &ctx)
            .unwrap_err()
            .oauth_code(),
        "invalid_request"
    );
}

fn a_reused_code_is_refused_and_revokes_its_tokens(store: Arc<dyn Store>) {
    let f = fixture(store);
    let gp = f.add_user("gp.one", Role::ClinicalPractitioner);
    let ctx = f.staff_context(&gp);
    let client = register(&f, "user/*.rs offline_access", false);
    let code = f
        .auth
        .authorize(
            &authorize_request(&client, "user/*.rs offline_access"),
            &ctx,
        )
        .unwrap();
    let tokens = f.auth.token(&code_request(&client, &code), None).unwrap();
    assert!(f.auth.authenticate(&tokens.access_token, None).is_ok());

    let again = f
        .auth
        .token(&code_request(&client, &code), None)
        .unwrap_err();
    assert_eq!(again.oauth_code(), "invalid_grant");
    let revoked = f.auth.authenticate(&tokens.access_token, None).unwrap_err();
    assert_eq!(
        (revoked.oauth_code(), revoked.status()),
        ("invalid_token", 401)
    );
    let refresh = refresh_request(&client, tokens.refresh_token.as_deref().unwrap());
    assert_eq!(
        f.auth.token(&refresh, None).unwrap_err().oauth_code(),
        "invalid_grant"
    );
}

fn the_redirect_uri_must_match_exactly(store: Arc<dyn Store>) {
    let f = fixture(store);
    let gp = f.add_user("gp.one", Role::ClinicalPractitioner);
    let ctx = f.staff_context(&gp);
    let client = register(&f, "user/*.rs", false);

    let elsewhere = AuthorizeRequest {
        redirect_uri: format!("{REDIRECT}/../evil"),
        ..authorize_request(&client, "user/*.rs")
    };
    let e = f.auth.authorize(&elsewhere, &ctx).unwrap_err();
    assert_eq!(e.oauth_code(), "invalid_request");
    assert!(!e.redirectable, "never redirect to an unregistered URI");

    let code = f
        .auth
        .authorize(&authorize_request(&client, "user/*.rs"), &ctx)
        .unwrap();
    let other = TokenRequest {
        redirect_uri: Some("https://app.example/other".into()),
        ..code_request(&client, &code)
    };
    assert_eq!(
        f.auth.token(&other, None).unwrap_err().oauth_code(),
        "invalid_grant"
    );
}

fn an_expired_access_token_is_refused(store: Arc<dyn Store>) {
    let config = AuthConfig {
        access_token_ttl: Duration::from_secs(60),
        ..AuthConfig::default()
    };
    let f = fixture_with(store, config);
    let client = register(&f, "system/Patient.r", true);
    let tokens = f
        .auth
        .token(&client_credentials(&client, None), None)
        .unwrap();
    assert_eq!(tokens.expires_in, 60);
    f.advance(59);
    assert!(f.auth.authenticate(&tokens.access_token, None).is_ok());
    f.advance(2);
    let e = f.auth.authenticate(&tokens.access_token, None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidToken);
}

fn forged_tokens_are_refused(store: Arc<dyn Store>) {
    let f = fixture(store);
    let client = register(&f, "system/Patient.r", true);
    let real = f
        .auth
        .token(&client_credentials(&client, None), None)
        .unwrap()
        .access_token;
    let mut forged = real.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for bearer in [
        forged.as_str(),
        "",
        "not-a-token",
        client.client_secret.as_deref().unwrap(),
    ] {
        let e = f.auth.authenticate(bearer, None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidToken, "{bearer:?}");
    }
}

fn refresh_tokens_rotate_and_reuse_revokes_the_grant(store: Arc<dyn Store>) {
    let f = fixture(store);
    let (client, _, first) = gp_app_tokens(&f, "user/*.rs offline_access");
    let r1 = first.refresh_token.clone().unwrap();

    let second = f.auth.token(&refresh_request(&client, &r1), None).unwrap();
    let r2 = second
        .refresh_token
        .clone()
        .expect("a new refresh token each time");
    assert_ne!(r2, r1);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.scope, first.scope);
    assert!(f.auth.authenticate(&second.access_token, None).is_ok());

    // The old refresh token presented again: stolen. The whole grant is revoked.
    let reuse = f
        .auth
        .token(&refresh_request(&client, &r1), None)
        .unwrap_err();
    assert_eq!(reuse.oauth_code(), "invalid_grant");
    assert_eq!(
        f.auth
            .token(&refresh_request(&client, &r2), None)
            .unwrap_err()
            .oauth_code(),
        "invalid_grant"
    );
    assert!(f.auth.authenticate(&second.access_token, None).is_err());
    assert!(f.auth.authenticate(&first.access_token, None).is_err());
}

fn a_refresh_may_narrow_the_scopes_but_not_widen_them(store: Arc<dyn Store>) {
    let f = fixture(store);
    let (client, _, tokens) = gp_app_tokens(&f, "user/Observation.rs offline_access");
    let wider = TokenRequest {
        scope: Some("user/Observation.rsc offline_access".into()),
        ..refresh_request(&client, tokens.refresh_token.as_deref().unwrap())
    };
    assert_eq!(
        f.auth.token(&wider, None).unwrap_err().oauth_code(),
        "invalid_scope"
    );

    let narrower = TokenRequest {
        scope: Some("user/Observation.r offline_access".into()),
        ..refresh_request(&client, tokens.refresh_token.as_deref().unwrap())
    };
    let narrowed = f.auth.token(&narrower, None).unwrap();
    assert_eq!(narrowed.scope, "user/Observation.r offline_access");
    let ctx = f
        .auth
        .authenticate(&narrowed.access_token, None)
        .unwrap()
        .ctx;
    assert!(!ctx.access.permits("Observation", Interaction::Search));
}

fn revoked_tokens_stop_working(store: Arc<dyn Store>) {
    let f = fixture(store);
    let (client, _, tokens) = gp_app_tokens(&f, "user/*.rs offline_access");
    let id = Some(client.client_id.as_str());

    f.auth.revoke(&tokens.access_token, id, None, None).unwrap();
    assert!(f.auth.authenticate(&tokens.access_token, None).is_err());
    let refresh = tokens.refresh_token.clone().unwrap();
    let renewed = f
        .auth
        .token(&refresh_request(&client, &refresh), None)
        .unwrap();

    f.auth
        .revoke(renewed.refresh_token.as_deref().unwrap(), id, None, None)
        .unwrap();
    assert!(
        f.auth.authenticate(&renewed.access_token, None).is_err(),
        "the grant went"
    );
    let again = refresh_request(&client, renewed.refresh_token.as_deref().unwrap());
    assert_eq!(
        f.auth.token(&again, None).unwrap_err().oauth_code(),
        "invalid_grant"
    );

    // Unknown tokens: success, as RFC 7009 asks. Unknown clients: refused.
    f.auth.revoke("never-issued", id, None, None).unwrap();
    let e = f
        .auth
        .revoke("never-issued", Some("no-such-app"), None, None)
        .unwrap_err();
    assert_eq!(e.oauth_code(), "invalid_client");
}

fn scopes_are_narrowed_to_the_registration(store: Arc<dyn Store>) {
    let f = fixture(store);
    let gp = f.add_user("gp.one", Role::ClinicalPractitioner);
    let ctx = f.staff_context(&gp);
    let client = register(&f, "user/Observation.rs user/Patient.r", false);

    let asked = "user/Observation.cruds user/Patient.rs user/Encounter.r";
    let consent = f
        .auth
        .check_authorize(&authorize_request(&client, asked), &ctx)
        .unwrap();
    assert_eq!(consent.scope, "user/Observation.rs user/Patient.r");
    assert_eq!(consent.client_name, "Test app");

    let code = f
        .auth
        .authorize(&authorize_request(&client, asked), &ctx)
        .unwrap();
    let tokens = f.auth.token(&code_request(&client, &code), None).unwrap();
    assert_eq!(tokens.scope, "user/Observation.rs user/Patient.r");
    assert!(
        tokens.refresh_token.is_none(),
        "offline_access was not registered"
    );

    let none_left = authorize_request(&client, "user/Encounter.r");
    let e = f.auth.authorize(&none_left, &ctx).unwrap_err();
    assert_eq!(e.oauth_code(), "invalid_scope");
}

fn a_role_change_applies_to_the_apps_token(store: Arc<dyn Store>) {
    let f = fixture(store);
    let (_, gp_ctx, tokens) = gp_app_tokens(&f, "user/*.rs");
    let user_id = gp_ctx.access.staff.unwrap().user_id;
    f.auth
        .set_role(&admin(), &user_id, Role::Receptionist)
        .unwrap();
    let ctx = f.auth.authenticate(&tokens.access_token, None).unwrap().ctx;
    assert_eq!(ctx.access.staff.unwrap().role, Role::Receptionist);
}

fn patient_scopes_need_a_patient_the_user_can_see(store: Arc<dyn Store>) {
    let f = fixture(store);
    let gp = f.add_user("gp.one", Role::ClinicalPractitioner);
    let ctx = f.staff_context(&gp);
    let client = register(&f, "patient/*.rs", false);
    let patient = f
        .repo
        .create(
            &RequestContext::system(PRACTICE),
            "Patient",
            json!({"resourceType": "Patient", "gender": "unknown"}),
            None,
        )
        .unwrap()
        .resource
        .id;

    let no_patient = authorize_request(&client, "patient/Observation.rs");
    assert_eq!(
        f.auth
            .authorize(&no_patient, &ctx)
            .unwrap_err()
            .oauth_code(),
        "invalid_request"
    );
    let unknown = AuthorizeRequest {
        patient: Some("no-such-patient".into()),
        ..authorize_request(&client, "patient/Observation.rs")
    };
    assert_eq!(
        f.auth.authorize(&unknown, &ctx).unwrap_err().oauth_code(),
        "invalid_request"
    );

    let chosen = AuthorizeRequest {
        patient: Some(patient.clone()),
        ..authorize_request(&client, "patient/Observation.rs")
    };
    let code = f.auth.authorize(&chosen, &ctx).unwrap();
    let tokens = f.auth.token(&code_request(&client, &code), None).unwrap();
    assert_eq!(tokens.patient.as_deref(), Some(patient.as_str()));
    assert_eq!(tokens.to_json()["patient"], json!(patient));
    let app = f.auth.authenticate(&tokens.access_token, None).unwrap().ctx;
    assert_eq!(app.access.patient, Some(patient));
}

fn a_confidential_app_must_authenticate_to_exchange_its_code(store: Arc<dyn Store>) {
    let f = fixture(store);
    let gp = f.add_user("gp.one", Role::ClinicalPractitioner);
    let ctx = f.staff_context(&gp);
    let client = register(&f, "user/*.rs", true);
    let code = f
        .auth
        .authorize(&authorize_request(&client, "user/*.rs"), &ctx)
        .unwrap();
    let without_secret = TokenRequest {
        client_secret: None,
        ..code_request(&client, &code)
    };
    assert_eq!(
        f.auth
            .token(&without_secret, None)
            .unwrap_err()
            .oauth_code(),
        "invalid_client"
    );
    assert!(f.auth.token(&code_request(&client, &code), None).is_ok());
}

/// The id_token signing key is made once, stored, and found by every later Auth on the
/// same database (another server process, or after a restart).
fn the_id_token_key_is_made_once_and_shared(store: Arc<dyn Store>) {
    let f = fixture(store);
    let (client, ctx, tokens) = gp_app_tokens(&f, "openid user/Patient.rs");
    assert!(
        tokens.id_token.is_none(),
        "no issuer configured: no id_token to name one"
    );
    let first = f.auth.jwks().unwrap();
    assert_eq!(first["keys"][0]["kty"], "RSA");
    assert_eq!(first["keys"][0]["alg"], "RS256");
    let other = auth::Auth::new(f.repo.clone(), AuthConfig::default()).unwrap();
    assert_eq!(other.jwks().unwrap(), first);
    let code = f
        .auth
        .authorize(&authorize_request(&client, "openid user/Patient.rs"), &ctx)
        .unwrap();
    let issued = f
        .auth
        .token_for_issuer(
            &code_request(&client, &code),
            None,
            Some("https://gp.example/fhir"),
        )
        .unwrap();
    let token = issued.id_token.expect("an id_token");
    assert_eq!(token.split('.').count(), 3);
}
