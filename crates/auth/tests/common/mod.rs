//! The test fixture: an `Auth` over a fresh store with a manual clock, and helpers for
//! the steps users and apps take. Every test is written once over `Arc<dyn Store>` and
//! run on SQLite and on PostgreSQL (`backends!`).
#![allow(dead_code)]

use auth::{AddedUser, Auth, AuthConfig, Clock, NewUser, Session, SignInStep, totp};
use std::sync::Arc;
use std::time::Duration;
use store::{Repository, RepositoryConfig, RequestContext, Role, Store};

pub const PRACTICE: &str = "A81001";
pub const PASSWORD: &str = "correct horse battery";

pub struct Fixture {
    pub auth: Auth,
    pub clock: Clock,
    pub repo: Arc<Repository>,
}

pub fn sqlite() -> Arc<dyn Store> {
    Arc::new(store_sqlite::SqliteStore::open_temp().expect("temporary SQLite store"))
}

pub fn postgres() -> Arc<dyn Store> {
    let url = std::env::var("OPENGP_TEST_POSTGRES").expect("OPENGP_TEST_POSTGRES");
    Arc::new(store_postgres::ScratchStore::create(&url).expect("scratch PostgreSQL schema"))
}

/// Generates each listed test twice: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::common::sqlite()); } )*
        }
        mod postgres {
            $(
                #[test]
                #[cfg_attr(not(test_postgres), ignore = "needs OPENGP_TEST_POSTGRES")]
                fn $name() { super::$name(super::common::postgres()); }
            )*
        }
    };
}

pub fn fixture(store: Arc<dyn Store>) -> Fixture {
    fixture_with(store, AuthConfig::default())
}

/// A fixture with `config`, its clock replaced by a manual one.
pub fn fixture_with(store: Arc<dyn Store>, config: AuthConfig) -> Fixture {
    let clock = Clock::manual(1_800_000_000);
    let repo = Arc::new(Repository::new(store, RepositoryConfig::default()));
    let auth = Auth::new(
        repo.clone(),
        AuthConfig {
            clock: clock.clone(),
            ..config
        },
    )
    .expect("auth tables");
    Fixture { auth, clock, repo }
}

pub fn admin() -> RequestContext {
    RequestContext::system(PRACTICE)
}

impl Fixture {
    pub fn add_user(&self, username: &str, role: Role) -> AddedUser {
        self.auth
            .add_user(
                &admin(),
                NewUser {
                    username: username.into(),
                    display_name: format!("Test {username}"),
                    role,
                    password: PASSWORD.into(),
                    practitioner: None,
                },
            )
            .expect("add user")
    }

    pub fn sign_in_form(&self) -> Session {
        self.auth
            .start_session(PRACTICE, Some("192.0.2.1"))
            .expect("session")
    }

    pub fn password_step(
        &self,
        username: &str,
        password: &str,
    ) -> Result<SignInStep, auth::AuthError> {
        let form = self.sign_in_form();
        self.auth
            .sign_in_password(&form.token, &form.csrf, username, password, None)
    }

    /// The code an authenticator app shows now.
    pub fn code_now(&self, added: &AddedUser) -> String {
        let secret = totp::base32_decode(&added.totp.as_ref().expect("enrolled").secret_base32)
            .expect("base32");
        totp::code(&secret, self.clock.now_seconds())
    }

    /// Signs in fully (password, then the authenticator code if the role needs one);
    /// returns the session token. The clock moves on one TOTP step first, so signing
    /// in twice never replays a code.
    pub fn sign_in(&self, added: &AddedUser) -> String {
        self.advance(totp::STEP_SECONDS);
        match self
            .password_step(&added.user.username, PASSWORD)
            .expect("password")
        {
            SignInStep::SignedIn(s) => s.token,
            SignInStep::NeedsSecondFactor(s) => {
                self.auth
                    .sign_in_totp(&s.token, &s.csrf, &self.code_now(added), None)
                    .expect("authenticator code")
                    .token
            }
        }
    }

    pub fn staff_context(&self, added: &AddedUser) -> RequestContext {
        let token = self.sign_in(added);
        self.auth
            .session_context(&token, None)
            .expect("store")
            .expect("signed in")
    }

    pub fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }
}
