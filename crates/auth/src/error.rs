//! What went wrong, in words for the user, with the OAuth error code (RFC 6749 §5.2,
//! RFC 6750 §3.1) and the HTTP status the server should answer with.

use std::fmt;

/// The kind of failure. OAuth kinds map to their RFC error codes; the others belong to
/// staff sign-in and administration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    /// A bearer token that is unknown, expired, revoked or forged (RFC 6750).
    InvalidToken,
    /// Wrong username, password or second factor (deliberately not saying which).
    SignInFailed,
    /// Too many failed sign-ins: the account is locked for a while.
    AccountLocked,
    /// The sign-in session is unknown or has expired, or is not at the step asked for.
    SessionExpired,
    /// The form's CSRF token does not belong to the session.
    CsrfMismatch,
    /// Input that breaks a rule (password policy, username format, duplicate).
    Invalid,
    NotFound,
    /// The database failed or the event could not be audited.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub kind: ErrorKind,
    /// For the user (or the app's developer); never holds a password, token or patient
    /// data.
    pub message: String,
    /// Whether an authorization-endpoint error may be sent back to the app's redirect
    /// URI (true once the client and its redirect URI have been validated; RFC 6749
    /// §4.1.2.1 forbids redirecting before that).
    pub redirectable: bool,
}

impl AuthError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> AuthError {
        AuthError {
            kind,
            message: message.into(),
            redirectable: false,
        }
    }

    pub(crate) fn redirectable(mut self) -> AuthError {
        self.redirectable = true;
        self
    }

    /// The OAuth `error` code, for the token, authorization and revocation endpoints
    /// and the `WWW-Authenticate` header.
    pub fn oauth_code(&self) -> &'static str {
        match self.kind {
            ErrorKind::InvalidRequest | ErrorKind::Invalid | ErrorKind::CsrfMismatch => {
                "invalid_request"
            }
            ErrorKind::InvalidClient => "invalid_client",
            ErrorKind::InvalidGrant => "invalid_grant",
            ErrorKind::UnauthorizedClient => "unauthorized_client",
            ErrorKind::UnsupportedGrantType => "unsupported_grant_type",
            ErrorKind::UnsupportedResponseType => "unsupported_response_type",
            ErrorKind::InvalidScope => "invalid_scope",
            ErrorKind::AccessDenied
            | ErrorKind::SignInFailed
            | ErrorKind::AccountLocked
            | ErrorKind::SessionExpired
            | ErrorKind::NotFound => "access_denied",
            ErrorKind::InvalidToken => "invalid_token",
            ErrorKind::Internal => "server_error",
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self.kind {
            ErrorKind::InvalidClient | ErrorKind::InvalidToken | ErrorKind::SessionExpired => 401,
            ErrorKind::SignInFailed | ErrorKind::AccountLocked => 401,
            ErrorKind::AccessDenied | ErrorKind::CsrfMismatch => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Internal => 500,
            ErrorKind::InvalidRequest
            | ErrorKind::InvalidGrant
            | ErrorKind::UnauthorizedClient
            | ErrorKind::UnsupportedGrantType
            | ErrorKind::UnsupportedResponseType
            | ErrorKind::InvalidScope
            | ErrorKind::Invalid => 400,
        }
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> AuthError {
        AuthError::new(ErrorKind::InvalidRequest, message)
    }
    pub(crate) fn invalid_client(message: impl Into<String>) -> AuthError {
        AuthError::new(ErrorKind::InvalidClient, message)
    }
    pub(crate) fn invalid_grant(message: impl Into<String>) -> AuthError {
        AuthError::new(ErrorKind::InvalidGrant, message)
    }
    pub(crate) fn invalid_scope(message: impl Into<String>) -> AuthError {
        AuthError::new(ErrorKind::InvalidScope, message)
    }
    pub(crate) fn invalid_token() -> AuthError {
        AuthError::new(
            ErrorKind::InvalidToken,
            "the access token is not valid (unknown, expired or revoked)",
        )
    }
    pub(crate) fn session_expired() -> AuthError {
        AuthError::new(
            ErrorKind::SessionExpired,
            "your sign-in session has expired: please start again",
        )
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.oauth_code(), self.message)
    }
}

impl std::error::Error for AuthError {}

impl From<store::StoreError> for AuthError {
    fn from(e: store::StoreError) -> AuthError {
        // Store errors name SQL and constraints, never the values bound to them.
        AuthError::new(
            ErrorKind::Internal,
            format!("the account store failed: {e}"),
        )
    }
}
