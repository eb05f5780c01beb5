//! Who is asking, and proving it.
//!
//! - Staff accounts ([`NewUser`]): argon2id password hashes, a TOTP second factor
//!   (mandatory for clinical roles), lockout after repeated failures.
//! - Sign-in sessions for OpenGP's own UI: opaque random tokens (only their SHA-256 is
//!   stored), a new token at each sign-in step (no session fixation), a CSRF token per
//!   session, an idle timeout.
//! - The SMART on FHIR v2 OAuth 2.0 authorization server: authorization code with PKCE
//!   (S256 only), client credentials, refresh tokens, revocation.
//! - [`Auth::authenticate`]: a bearer token to the [`RequestContext`] of the request,
//!   with the user's role as it is now (a role change takes effect on the next request).
//!
//! Everything here is stored through the same [`store::Store`] as the record, in tables
//! of its own, and every sign-in, failure and token issue goes to the audit trail.

use std::sync::Arc;
use store::access::{Role, Scopes};
use store::{Repository, RequestContext};

/// Timings and limits.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Lifetime of an access token (short: a stolen one is soon useless).
    pub access_token_secs: i64,
    /// Lifetime of a refresh token.
    pub refresh_token_secs: i64,
    /// Lifetime of an authorization code.
    pub code_secs: i64,
    /// A session unused for this long is signed out.
    pub session_idle_secs: i64,
    /// A session ends this long after sign-in, however busy.
    pub session_max_secs: i64,
    /// Failed sign-ins in a row before the account is locked...
    pub max_failed_sign_ins: u32,
    /// ...for this long.
    pub lockout_secs: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_token_secs: 600,
            refresh_token_secs: 8 * 3600,
            code_secs: 60,
            session_idle_secs: 15 * 60,
            session_max_secs: 12 * 3600,
            max_failed_sign_ins: 5,
            lockout_secs: 15 * 60,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong username, password or code: deliberately not saying which.
    #[error("the username, password or code is not right")]
    InvalidCredentials,
    /// Too many failed sign-ins; try again after the lockout.
    #[error("this account is locked after repeated failed sign-ins; try again in {minutes} minutes or ask the practice manager")]
    Locked { minutes: i64 },
    /// The session is unknown, expired or idle too long, or at the wrong step.
    #[error("your session has ended; please sign in again")]
    SessionEnded,
    /// A bearer token that is unknown, expired, revoked or malformed.
    #[error("the access token is not valid: {0}")]
    InvalidToken(String),
    /// A request that breaks a rule (duplicate username, weak password...).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] store::FhirError),
}

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub practice: String,
    pub username: String,
    pub password: String,
    pub role: Role,
    pub display_name: String,
    /// The Practitioner resource id this account is linked to.
    pub practitioner: Option<String>,
    /// Whether to enrol a TOTP second factor (always done for roles that require one).
    pub totp: bool,
}

/// What `add_user` gives back.
#[derive(Debug, Clone)]
pub struct CreatedUser {
    pub user_id: String,
    /// The TOTP secret (base32) to enter in an authenticator app, if enrolled.
    pub totp_secret: Option<String>,
    /// The same as an `otpauth://` URI (for a QR code).
    pub totp_uri: Option<String>,
}

/// A staff account as stored (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user_id: String,
    pub practice: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub practitioner: Option<String>,
    pub has_totp: bool,
    pub disabled: bool,
}

/// Where a session is in sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Not signed in (holds the CSRF token of the sign-in form).
    Anonymous,
    /// Password accepted; waiting for the TOTP code.
    SecondFactor,
    SignedIn,
}

/// A session as looked up by its token.
#[derive(Debug, Clone)]
pub struct Session {
    pub stage: SessionStage,
    pub practice: String,
    /// The user, once the password has been accepted.
    pub user: Option<User>,
    /// The CSRF token every form of this session must carry.
    pub csrf: String,
    /// Microseconds since the epoch.
    pub created: i64,
    pub last_seen: i64,
}

/// A new session's token (for the cookie) and its CSRF token (for forms).
#[derive(Debug, Clone)]
pub struct SessionToken {
    pub token: String,
    pub csrf: String,
}

/// The result of a correct password.
#[derive(Debug, Clone)]
pub enum SignInStep {
    /// A TOTP code is needed next; the session has a new token.
    SecondFactor(SessionToken),
    /// Signed in; the session has a new token.
    SignedIn(SessionToken),
}

/// An OAuth client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub practice: String,
    pub name: String,
    /// The most this client may ever be granted.
    pub scopes: Scopes,
    /// Allowed redirect URIs (authorization code flow); empty for back-end clients.
    pub redirect_uris: Vec<String>,
    /// Confidential clients get a secret; public clients (browser, mobile) rely on PKCE.
    pub confidential: bool,
    /// Requests per minute before 429.
    pub rate_limit_per_minute: u32,
}

#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Option<String>,
}

/// A registered OAuth client (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub practice: String,
    pub name: String,
    pub scopes: Scopes,
    pub redirect_uris: Vec<String>,
    pub confidential: bool,
    pub rate_limit_per_minute: u32,
}

/// How a client authenticated at the token or revocation endpoint.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// HTTP Basic or `client_id` + `client_secret` in the form.
    Secret { client_id: String, secret: String },
    /// A public client: only its `client_id`.
    Public { client_id: String },
    None,
}

/// The authorization endpoint's parameters.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub response_type: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// `aud`: must be this server's FHIR base URL.
    pub aud: Option<String>,
    /// The patient chosen for `launch/patient` (by the signed-in user).
    pub patient: Option<String>,
}

/// The token endpoint's form.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

/// The token endpoint's answer (RFC 6749 §5.1, SMART's `patient`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
}

/// An OAuth error (RFC 6749 §5.2): `invalid_request`, `invalid_client`,
/// `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`,
/// `invalid_scope`, `access_denied`, `unsupported_response_type`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
    /// 400, or 401 for `invalid_client`.
    pub status: u16,
}

/// A code issued at the authorization endpoint, and where to send the browser.
#[derive(Debug, Clone)]
pub struct AuthorizeGrant {
    pub code: String,
    /// `redirect_uri?code=...&state=...`
    pub redirect_to: String,
}

/// A bearer token's request context, and the client's rate limit.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub ctx: RequestContext,
    pub client_id: String,
    pub rate_limit_per_minute: u32,
}

/// A demo account, as `serve --demo` prints it.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub totp_secret: Option<String>,
}

/// The sign-in service and OAuth server.
pub struct Auth {
    repo: Arc<Repository>,
    config: AuthConfig,
}

impl Auth {
    /// Over the record's store; creates its tables if missing.
    pub fn new(repo: Arc<Repository>, config: AuthConfig) -> Result<Auth, AuthError> {
        let _ = (&repo, &config);
        todo!("auth: new")
    }

    pub fn repo(&self) -> &Arc<Repository> {
        &self.repo
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    // ---- staff accounts ----

    /// Creates a staff account (audited as `user-add` with `ctx`). Passwords must be at
    /// least 12 characters.
    pub fn add_user(&self, ctx: &RequestContext, new: NewUser) -> Result<CreatedUser, AuthError> {
        let _ = (ctx, new);
        todo!("auth: add_user")
    }

    /// Changes a user's role; effective on their next request (audited `role-change`).
    pub fn set_role(&self, ctx: &RequestContext, username: &str, role: Role) -> Result<(), AuthError> {
        let _ = (ctx, username, role);
        todo!("auth: set_role")
    }

    pub fn find_user(&self, practice: &str, username: &str) -> Result<Option<User>, AuthError> {
        let _ = (practice, username);
        todo!("auth: find_user")
    }

    /// One account per role for the demo practice, with fixed, printed credentials
    /// (created once; later calls return the same list).
    pub fn ensure_demo_accounts(&self, practice: &str) -> Result<Vec<DemoAccount>, AuthError> {
        let _ = practice;
        todo!("auth: ensure_demo_accounts")
    }

    // ---- sign-in sessions ----

    /// A new anonymous session (for the sign-in form's CSRF token).
    pub fn start_session(&self, practice: &str) -> Result<SessionToken, AuthError> {
        let _ = practice;
        todo!("auth: start_session")
    }

    /// The session for a cookie's token, if it is live (touching its idle timer).
    pub fn session(&self, token: &str) -> Result<Option<Session>, AuthError> {
        let _ = token;
        todo!("auth: session")
    }

    /// Checks the password for the anonymous session `token`. Success replaces the
    /// session with a new one (new token). Failures count towards lockout; all are
    /// audited (`login-failed`, with the reason, never the password).
    pub fn sign_in_password(
        &self,
        token: &str,
        username: &str,
        password: &str,
        source: Option<&str>,
    ) -> Result<SignInStep, AuthError> {
        let _ = (token, username, password, source);
        todo!("auth: sign_in_password")
    }

    /// Checks the TOTP code for a session at the second-factor step; success replaces it
    /// with a signed-in session (new token).
    pub fn sign_in_totp(
        &self,
        token: &str,
        code: &str,
        source: Option<&str>,
    ) -> Result<SessionToken, AuthError> {
        let _ = (token, code, source);
        todo!("auth: sign_in_totp")
    }

    pub fn sign_out(&self, token: &str) -> Result<(), AuthError> {
        let _ = token;
        todo!("auth: sign_out")
    }

    /// The request context of a signed-in session: the user's role as stored now.
    pub fn session_context(&self, session: &Session, source: Option<&str>) -> Result<RequestContext, AuthError> {
        let _ = (session, source);
        todo!("auth: session_context")
    }

    // ---- OAuth ----

    /// Registers a client (audited `client-add`); the secret is shown once.
    pub fn register_client(&self, ctx: &RequestContext, new: NewClient) -> Result<ClientCredentials, AuthError> {
        let _ = (ctx, new);
        todo!("auth: register_client")
    }

    pub fn client(&self, client_id: &str) -> Result<Option<Client>, AuthError> {
        let _ = client_id;
        todo!("auth: client")
    }

    /// Checks an authorization request before the consent page is shown: the client,
    /// its redirect URI, response type, scopes and PKCE (S256 only).
    pub fn check_authorize(&self, req: &AuthorizeRequest) -> Result<Client, OAuthError> {
        let _ = req;
        todo!("auth: check_authorize")
    }

    /// The signed-in user approved: issues a single-use code bound to the client,
    /// redirect URI, PKCE challenge, user, scopes and patient.
    pub fn authorize(&self, session: &Session, req: &AuthorizeRequest) -> Result<AuthorizeGrant, OAuthError> {
        let _ = (session, req);
        todo!("auth: authorize")
    }

    /// The token endpoint: `authorization_code` (with `code_verifier`),
    /// `client_credentials` (confidential clients, `system/` scopes) and
    /// `refresh_token`. A reused code is refused and revokes what it issued.
    pub fn token(&self, req: &TokenRequest, client: &ClientAuth, source: Option<&str>) -> Result<TokenResponse, OAuthError> {
        let _ = (req, client, source);
        todo!("auth: token")
    }

    /// RFC 7009 revocation of an access or refresh token of this client.
    pub fn revoke(&self, token: &str, client: &ClientAuth) -> Result<(), OAuthError> {
        let _ = (token, client);
        todo!("auth: revoke")
    }

    /// The request context for a bearer token; the user's role is read now.
    pub fn authenticate(&self, bearer: &str, source: Option<&str>) -> Result<Authenticated, AuthError> {
        let _ = (bearer, source);
        todo!("auth: authenticate")
    }
}

/// TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps).
pub mod totp {
    /// The code for `secret` (base32) at `unix_secs`; None if the secret is not base32.
    pub fn code(secret: &str, unix_secs: i64) -> Option<String> {
        let _ = (secret, unix_secs);
        todo!("auth: totp::code")
    }
}
