//! Staff sign-in: passwords, lockout, second factor, sessions. Each test runs on SQLite
//! and on PostgreSQL.

mod common;

use auth::{AuthConfig, ErrorKind, NewUser, SignInStep, totp};
use common::{PASSWORD, PRACTICE, admin, fixture, fixture_with};
use std::sync::Arc;
use std::time::Duration;
use store::{Access, Actor, Purpose, RequestContext, Role, StaffMember, Store};

backends!(
    a_receptionist_signs_in_with_a_password_and_not_with_a_wrong_one,
    an_unknown_user_is_answered_like_a_wrong_password,
    five_failures_lock_the_account_even_against_the_right_password,
    clinical_roles_are_not_signed_in_without_the_authenticator_code,
    a_used_authenticator_code_is_refused,
    a_form_from_another_session_is_refused,
    the_session_token_changes_at_each_sign_in_step,
    an_idle_session_ends_and_so_does_a_long_one,
    a_role_change_applies_on_the_next_request,
    signing_out_ends_the_session,
    demo_accounts_are_created_once_and_can_sign_in,
    accounts_need_a_long_password_and_a_practice_manager,
    account_and_app_changes_and_sign_ins_are_in_the_audit_trail,
);

fn a_receptionist_signs_in_with_a_password_and_not_with_a_wrong_one(store: Arc<dyn Store>) {
    let f = fixture(store);
    let added = f.add_user("rec.one", Role::Receptionist);
    assert!(added.totp.is_none(), "receptionists have no second factor");

    let wrong = f.password_step("rec.one", "not the password").unwrap_err();
    assert_eq!(wrong.kind, ErrorKind::SignInFailed);
    assert_eq!(wrong.status(), 401);

    let SignInStep::SignedIn(session) = f.password_step("REC.ONE", PASSWORD).unwrap() else {
        panic!("a receptionist is signed in by the password alone");
    };
    let ctx = f
        .auth
        .session_context(&session.token, Some("192.0.2.9"))
        .unwrap()
        .unwrap();
    assert_eq!(ctx.practice, PRACTICE);
    assert_eq!(ctx.actor, Actor::User(added.user.id.clone()));
    assert_eq!(ctx.purpose, Purpose::DirectCare);
    assert_eq!(ctx.source.as_deref(), Some("192.0.2.9"));
    assert_eq!(ctx.access.staff.unwrap().role, Role::Receptionist);
}

fn an_unknown_user_is_answered_like_a_wrong_password(store: Arc<dyn Store>) {
    let f = fixture(store);
    f.add_user("rec.one", Role::Receptionist);
    let unknown = f.password_step("nobody.here", PASSWORD).unwrap_err();
    let wrong = f.password_step("rec.one", "wrong password!").unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::SignInFailed);
    assert_eq!(unknown, wrong, "same kind, same words, same status");
}

fn five_failures_lock_the_account_even_against_the_right_password(store: Arc<dyn Store>) {
    let f = fixture(store);
    f.add_user("rec.one", Role::Receptionist);
    for _ in 0..5 {
        let e = f.password_step("rec.one", "guess guess guess").unwrap_err();
        assert_eq!(e.kind, ErrorKind::SignInFailed);
    }
    let locked = f.password_step("rec.one", PASSWORD).unwrap_err();
    assert_eq!(locked.kind, ErrorKind::AccountLocked);
    assert!(locked.message.contains("15 minute"), "{}", locked.message);

    f.advance(14 * 60);
    assert_eq!(
        f.password_step("rec.one", PASSWORD).unwrap_err().kind,
        ErrorKind::AccountLocked
    );
    f.advance(61);
    assert!(matches!(
        f.password_step("rec.one", PASSWORD).unwrap(),
        SignInStep::SignedIn(_)
    ));
}

fn clinical_roles_are_not_signed_in_without_the_authenticator_code(store: Arc<dyn Store>) {
    let f = fixture(store);
    let gp = f.add_user("gp.one", Role::ClinicalPractitioner);
    let enrolment = gp.totp.clone().expect("GPs enrol an authenticator");
    assert!(
        enrolment
            .uri
            .starts_with("otpauth://totp/OpenGP:gp.one?secret=")
    );
    assert!(enrolment.uri.contains("&issuer=OpenGP"));

    let SignInStep::NeedsSecondFactor(half) = f.password_step("gp.one", PASSWORD).unwrap() else {
        panic!("a GP needs a second factor");
    };
    assert!(f.auth.session_context(&half.token, None).unwrap().is_none());
    let info = f.auth.session(&half.token).unwrap().unwrap();
    assert!(info.needs_second_factor && !info.signed_in);

    let right_code = f.code_now(&gp);
    let wrong_code = format!(
        "{:06}",
        (right_code.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    let wrong = f
        .auth
        .sign_in_totp(&half.token, &half.csrf, &wrong_code, None);
    assert_eq!(wrong.unwrap_err().kind, ErrorKind::SignInFailed);
    assert!(f.auth.session_context(&half.token, None).unwrap().is_none());
    let session = f
        .auth
        .sign_in_totp(&half.token, &half.csrf, &right_code, None)
        .unwrap();
    let ctx = f
        .auth
        .session_context(&session.token, None)
        .unwrap()
        .unwrap();
    assert_eq!(ctx.access.staff.unwrap().role, Role::ClinicalPractitioner);
}

fn a_used_authenticator_code_is_refused(store: Arc<dyn Store>) {
    let f = fixture(store);
    let nurse = f.add_user("nurse.one", Role::Nurse);
    let code = f.code_now(&nurse);
    let first = f.password_step("nurse.one", PASSWORD).unwrap();
    let first = first.session();
    f.auth
        .sign_in_totp(&first.token, &first.csrf, &code, None)
        .unwrap();

    // Someone who saw the code over the nurse's shoulder, within the same 30 seconds.
    let second = f.password_step("nurse.one", PASSWORD).unwrap();
    let second = second.session();
    let replay = f
        .auth
        .sign_in_totp(&second.token, &second.csrf, &code, None);
    assert_eq!(replay.unwrap_err().kind, ErrorKind::SignInFailed);

    f.advance(totp::STEP_SECONDS);
    let next = f.code_now(&nurse);
    assert!(
        f.auth
            .sign_in_totp(&second.token, &second.csrf, &next, None)
            .is_ok()
    );
}

fn a_form_from_another_session_is_refused(store: Arc<dyn Store>) {
    let f = fixture(store);
    f.add_user("rec.one", Role::Receptionist);
    let victim = f.sign_in_form();
    let attacker = f.sign_in_form();
    let e = f
        .auth
        .sign_in_password(&victim.token, &attacker.csrf, "rec.one", PASSWORD, None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::CsrfMismatch);
    assert_eq!(e.status(), 403);
    assert!(!f.auth.session(&victim.token).unwrap().unwrap().signed_in);
}

fn the_session_token_changes_at_each_sign_in_step(store: Arc<dyn Store>) {
    let f = fixture(store);
    let gp = f.add_user("gp.one", Role::ClinicalPractitioner);
    let planted = f.sign_in_form();
    let step = f
        .auth
        .sign_in_password(&planted.token, &planted.csrf, "gp.one", PASSWORD, None)
        .unwrap();
    let half = step.session().clone();
    assert_ne!(half.token, planted.token);
    assert_ne!(half.csrf, planted.csrf);
    assert!(f.auth.session(&planted.token).unwrap().is_none());
    let reuse = f
        .auth
        .sign_in_password(&planted.token, &planted.csrf, "gp.one", PASSWORD, None);
    assert_eq!(reuse.unwrap_err().kind, ErrorKind::SessionExpired);

    let full = f
        .auth
        .sign_in_totp(&half.token, &half.csrf, &f.code_now(&gp), None)
        .unwrap();
    assert_ne!(full.token, half.token);
    assert!(f.auth.session(&half.token).unwrap().is_none());
    assert!(f.auth.session(&full.token).unwrap().unwrap().signed_in);
}

fn an_idle_session_ends_and_so_does_a_long_one(store: Arc<dyn Store>) {
    let config = AuthConfig {
        session_idle: Duration::from_secs(60),
        session_max: Duration::from_secs(150),
        ..AuthConfig::default()
    };
    let f = fixture_with(store, config);
    let rec = f.add_user("rec.one", Role::Receptionist);

    let idle = f.sign_in(&rec);
    f.advance(59);
    assert!(
        f.auth.session(&idle).unwrap().is_some(),
        "used within the idle time"
    );
    f.advance(61);
    assert!(
        f.auth.session(&idle).unwrap().is_none(),
        "idle for over a minute"
    );
    assert!(f.auth.session_context(&idle, None).unwrap().is_none());

    let busy = f.sign_in(&rec);
    for _ in 0..3 {
        f.advance(50);
        assert!(f.auth.session(&busy).unwrap().is_some());
    }
    f.advance(50);
    assert!(
        f.auth.session(&busy).unwrap().is_none(),
        "past the absolute maximum"
    );
}

fn a_role_change_applies_on_the_next_request(store: Arc<dyn Store>) {
    let f = fixture(store);
    let rec = f.add_user("rec.one", Role::Receptionist);
    let token = f.sign_in(&rec);
    let enrolment = f
        .auth
        .set_role(&admin(), &rec.user.id, Role::Nurse)
        .unwrap();
    assert!(
        enrolment.is_some(),
        "a nurse needs an authenticator, enrolled now"
    );
    let info = f.auth.session(&token).unwrap().unwrap();
    assert_eq!(info.role(), Some(Role::Nurse));
    let ctx = f.auth.session_context(&token, None).unwrap().unwrap();
    assert_eq!(ctx.access.staff.unwrap().role, Role::Nurse);
}

fn signing_out_ends_the_session(store: Arc<dyn Store>) {
    let f = fixture(store);
    let rec = f.add_user("rec.one", Role::Receptionist);
    let token = f.sign_in(&rec);
    f.auth.sign_out(&token, None).unwrap();
    assert!(f.auth.session(&token).unwrap().is_none());
    // Signing out twice is harmless.
    f.auth.sign_out(&token, None).unwrap();
}

fn demo_accounts_are_created_once_and_can_sign_in(store: Arc<dyn Store>) {
    let f = fixture(store);
    let first = f.auth.ensure_demo_accounts(PRACTICE).unwrap();
    let again = f.auth.ensure_demo_accounts(PRACTICE).unwrap();
    assert_eq!(first, again, "same accounts, same Practitioners");
    assert_eq!(first.len(), Role::ALL.len());

    let system = RequestContext::system(PRACTICE);
    for account in &first {
        let practitioner = f
            .repo
            .read(&system, "Practitioner", &account.practitioner)
            .unwrap();
        assert_eq!(practitioner.version, 1, "not rewritten by the second run");
        let user = f
            .auth
            .find_user(PRACTICE, &account.username)
            .unwrap()
            .unwrap();
        assert_eq!(user.role, account.role);
        assert_eq!(
            user.practitioner.as_deref(),
            Some(account.practitioner.as_str())
        );
    }

    let gp = first
        .iter()
        .find(|a| a.role == Role::ClinicalPractitioner)
        .unwrap();
    let form = f.sign_in_form();
    let step = f
        .auth
        .sign_in_password(&form.token, &form.csrf, &gp.username, &gp.password, None)
        .unwrap();
    let SignInStep::NeedsSecondFactor(half) = step else {
        panic!("the demo GP needs a second factor too");
    };
    let secret = totp::base32_decode(gp.totp_secret.as_deref().unwrap()).unwrap();
    let code = totp::code(&secret, f.clock.now_seconds());
    assert!(
        f.auth
            .sign_in_totp(&half.token, &half.csrf, &code, None)
            .is_ok()
    );
}

fn accounts_need_a_long_password_and_a_practice_manager(store: Arc<dyn Store>) {
    let f = fixture(store);
    let new = |password: &str| NewUser {
        username: "new.user".into(),
        display_name: "New User".into(),
        role: Role::Receptionist,
        password: password.into(),
        practitioner: None,
    };
    let short = f.auth.add_user(&admin(), new("eleven char")).unwrap_err();
    assert_eq!(short.kind, ErrorKind::Invalid);
    assert!(short.message.contains("12 characters"));

    let receptionist = RequestContext::new(PRACTICE, Actor::User("u1".into()), Purpose::Operations)
        .with_access(Access::staff(StaffMember {
            user_id: "u1".into(),
            role: Role::Receptionist,
            practitioner: None,
        }));
    let refused = f.auth.add_user(&receptionist, new(PASSWORD)).unwrap_err();
    assert_eq!(refused.kind, ErrorKind::AccessDenied);

    f.auth.add_user(&admin(), new(PASSWORD)).unwrap();
    let taken = f.auth.add_user(&admin(), new(PASSWORD)).unwrap_err();
    assert!(taken.message.contains("taken"));
}

/// Events of the practice's audit trail, oldest first, as (event, outcome, detail).
fn audit_events(f: &common::Fixture) -> Vec<(String, String, String)> {
    let ctx = admin();
    let mut tx = f.repo.store().begin(&ctx, store::TxMode::Read).unwrap();
    tx.query(
        "SELECT entry FROM audit_log WHERE practice = ? ORDER BY seq",
        &[PRACTICE.into()],
    )
    .unwrap()
    .into_iter()
    .map(|row| {
        let entry: serde_json::Value = serde_json::from_str(row[0].as_str().unwrap()).unwrap();
        let text = |k: &str| entry[k].as_str().unwrap_or_default().to_string();
        (text("event"), text("outcome"), text("detail"))
    })
    .collect()
}

fn account_and_app_changes_and_sign_ins_are_in_the_audit_trail(store: Arc<dyn Store>) {
    let f = fixture(store);
    let added = f.add_user("rec.one", Role::Receptionist);
    f.auth
        .set_role(&admin(), &added.user.id, Role::PracticeManager)
        .unwrap();
    f.auth
        .register_client(
            &admin(),
            auth::NewClient {
                name: "Audited app".into(),
                scopes: "system/Patient.rs".into(),
                redirect_uris: vec![],
                confidential: true,
                rate_limit_per_minute: 60,
            },
        )
        .unwrap();
    f.password_step("rec.one", "not the password").unwrap_err();
    let events = audit_events(&f);
    let has = |event: &str, outcome: &str, words: &str| {
        events
            .iter()
            .any(|(e, o, d)| e == event && o == outcome && d.contains(words))
    };
    assert!(
        has("user-admin", "success", "created with role R8009"),
        "{events:?}"
    );
    assert!(has("user-admin", "success", "role changed"), "{events:?}");
    assert!(
        has("client-admin", "success", "system/Patient.rs"),
        "{events:?}"
    );
    assert!(has("login", "refused", "wrong password"), "{events:?}");
    let verified = store::audit::verify(f.repo.store().as_ref()).unwrap();
    assert_eq!(verified.broken, None);
}
