//! What the HTTP apps share: the FHIR API (`api`), the staff workspace (`workspace`)
//! and, later, the patient portal each build their routes on these.
//!
//! - [`state`]: [`AppState`], what every handler is given (repository, sign-in, limits).
//! - [`context`]: the one place a request's `RequestContext` is made from a bearer token.
//! - [`middleware`]: request ids, logging without patient data, panics turned into 500s,
//!   bearer-token authentication with the per-app rate limit, unknown URLs.
//! - [`drain`]: a refused request's unread body is read before the answer goes out.
//! - [`error`]: every failure answered with an OperationOutcome.
//! - [`html`], [`form`]: the security headers and small helpers of server-rendered pages.

pub mod context;
pub mod drain;
pub mod error;
pub mod form;
pub mod html;
pub mod middleware;
pub mod rate_limit;
pub mod state;

pub use context::{BREAK_GLASS, request_context};
pub use error::ApiError;
pub use rate_limit::RateLimiter;
pub use state::{AppState, DEFAULT_BODY_LIMIT, DEFAULT_PRACTICE};

use auth::{AuthError, ErrorKind};

/// Runs an `Auth` call on the blocking pool (it reads and writes the database).
pub async fn auth_blocking<T, F>(state: &AppState, f: F) -> Result<T, AuthError>
where
    F: FnOnce(&auth::Auth) -> Result<T, AuthError> + Send + 'static,
    T: Send + 'static,
{
    let auth = state.auth.clone();
    tokio::task::spawn_blocking(move || f(&auth))
        .await
        .unwrap_or_else(|_| {
            Err(AuthError::new(
                ErrorKind::Internal,
                "the sign-in service failed",
            ))
        })
}
