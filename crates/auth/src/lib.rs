//! Staff sign-in and the SMART on FHIR v2 OAuth 2.0 authorization server, over the
//! record store's database (its own tables, created by [`Auth::new`]).
//!
//! # Staff sign-in (OpenGP's own UI, cookie sessions)
//! 1. [`Auth::start_session`] makes an anonymous session for the sign-in form: a
//!    session token (the cookie) and a CSRF token (a hidden form field).
//! 2. [`Auth::sign_in_password`] checks the password (argon2id). Failures are counted;
//!    [`AuthConfig::max_failures`] in a row lock the account for [`AuthConfig::lockout`].
//!    Success rotates the session token (the pre-sign-in token stops working) and
//!    returns [`SignInStep::NeedsSecondFactor`] for roles that need one, else
//!    [`SignInStep::SignedIn`].
//! 3. [`Auth::sign_in_totp`] checks the authenticator code (RFC 6238; a code is accepted
//!    once only) and rotates the token again.
//! 4. Each request: [`Auth::session`] (or [`Auth::session_context`] for the store's
//!    [`RequestContext`]) applies the idle and absolute timeouts and re-reads the role.
//! 5. [`Auth::sign_out`].
//!
//! Accounts: [`Auth::add_user`], [`Auth::set_role`], [`Auth::find_user`],
//! [`Auth::ensure_demo_accounts`].
//!
//! # OAuth 2.0 for apps (SMART App Launch v2, SMART Backend Services)
//! - Clients: [`Auth::register_client`], [`Auth::client`], [`Auth::list_clients`].
//! - Authorization endpoint: [`Auth::check_authorize`] (for the consent page), then
//!   [`Auth::authorize`], which returns the code. PKCE with S256 is required.
//! - Token endpoint: [`Auth::token`] (`authorization_code`, `client_credentials`,
//!   `refresh_token` with rotation and reuse detection).
//! - Revocation endpoint: [`Auth::revoke`] (RFC 7009).
//! - Every FHIR request: [`Auth::authenticate`] turns a bearer token into the
//!   [`RequestContext`] (and the client's rate limit).
//!
//! Errors are [`AuthError`]s: a message for the user, [`AuthError::oauth_code`] and
//! [`AuthError::status`] for the HTTP answer.
//!
//! Every secret handed out (session tokens, codes, access and refresh tokens, client
//! secrets) is 256 random bits stored only as its SHA-256. Sign-ins, sign-outs, token
//! issues, refusals, revocations and account and client changes go to the audit trail;
//! an event that cannot be audited fails. Expired rows are deleted as new ones are made.

mod authorize;
mod bearer;
mod clients;
mod config;
mod demo;
mod error;
mod id_token;
pub mod password;
mod rows;
mod schema;
mod secrets;
mod sessions;
mod tokens;
pub mod totp;
mod users;

pub use authorize::{AuthorizeRequest, Consent};
pub use bearer::Authenticated;
pub use clients::{Client, NewClient, RegisteredClient};
pub use config::{AuthConfig, Clock};
pub use demo::DemoAccount;
pub use error::{AuthError, ErrorKind};
pub use id_token::{ALGORITHM as ID_TOKEN_ALGORITHM, signing_key_ddl};
pub use sessions::{Session, SessionInfo, SignInStep};
pub use tokens::{TokenRequest, TokenResponse};
pub use users::{AddedUser, NewUser, TotpEnrolment, User};

use std::sync::{Arc, Mutex};
use store::audit::{Action, Outcome};
use store::{AuditRecord, Repository, RequestContext, Transaction, TxMode};

/// The sign-in service and authorization server of one OpenGP installation (all its
/// practices). Cheap to share behind an `Arc`.
pub struct Auth {
    repo: Arc<Repository>,
    config: AuthConfig,
    /// A hash to check unknown usernames' passwords against, so an unknown user takes
    /// as long to refuse as a wrong password.
    dummy_hash: String,
    /// The id_token signing key, loaded (or made) on first use.
    signing_key: Mutex<Option<Arc<id_token::SigningKey>>>,
}

impl Auth {
    /// Brings the tables up to date (creating them on a new database).
    pub fn new(repo: Arc<Repository>, config: AuthConfig) -> Result<Auth, AuthError> {
        store::migrate::migrate(repo.store().as_ref(), &schema::COMPONENT)
            .map_err(store::StoreError::from)?;
        let dummy_hash = password::hash(&secrets::new_token())?;
        Ok(Auth {
            repo,
            config,
            dummy_hash,
            signing_key: Mutex::new(None),
        })
    }

    /// The public keys id_tokens are signed with, as a JSON Web Key Set (the `jwks_uri`
    /// of the discovery documents).
    pub fn jwks(&self) -> Result<serde_json::Value, AuthError> {
        Ok(self.signing_key()?.jwks())
    }

    /// The signing key; made and stored the first time it is needed. Never call this
    /// inside a write transaction (making it writes in one of its own).
    fn signing_key(&self) -> Result<Arc<id_token::SigningKey>, AuthError> {
        let mut slot = self
            .signing_key
            .lock()
            .map_err(|_| AuthError::new(ErrorKind::Internal, "the signing key lock failed"))?;
        if let Some(key) = slot.as_ref() {
            return Ok(key.clone());
        }
        let key = Arc::new(id_token::SigningKey::load_or_create(
            || self.begin(TxMode::Write),
            self.now(),
        )?);
        *slot = Some(key.clone());
        Ok(key)
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub fn repository(&self) -> &Arc<Repository> {
        &self.repo
    }

    /// A transaction on the store. The backends do not look at the context; lookups by
    /// token hash do not know the practice before they read the row.
    fn begin(&self, mode: TxMode) -> Result<Box<dyn Transaction>, AuthError> {
        Ok(self
            .repo
            .store()
            .begin(&RequestContext::system("-"), mode)?)
    }

    fn now(&self) -> i64 {
        self.config.clock.now_micros()
    }

    /// Records an account or app change in the transaction that makes it, so the change
    /// never stands unaudited.
    fn audit_in(
        &self,
        tx: &mut dyn Transaction,
        ctx: &RequestContext,
        record: AuditRecord,
    ) -> Result<(), AuthError> {
        Ok(store::AuditLog::append_in(tx, ctx, &[record])?)
    }

    /// Records one event after its transaction has committed (SQLite has a single
    /// writer, and the audit log's group commit writes in a transaction of its own). For
    /// refusals and for sign-in steps and tokens, which are not handed out if this fails.
    fn audit(&self, ctx: &RequestContext, record: AuditRecord) -> Result<(), AuthError> {
        self.repo.audit().record(ctx, vec![record]).map_err(|e| {
            tracing::error!(event = "audit", error = %e, "an authentication event could not be audited");
            AuthError::new(
                ErrorKind::Internal,
                "the event could not be recorded in the audit trail",
            )
        })
    }
}

fn event(name: &str, outcome: Outcome, detail: impl Into<String>) -> AuditRecord {
    AuditRecord::new(name, Action::Execute, outcome).detail(detail)
}

/// The PKCE S256 challenge of a code verifier: what an app sends as `code_challenge`
/// (for apps, test clients and the server's own tests).
pub fn pkce_s256(verifier: &str) -> String {
    secrets::pkce_challenge(verifier)
}
