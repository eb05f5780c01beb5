//! The signed-in member of staff behind a workspace page. Every `/` page handler takes a
//! [`Staff`]: it is the only way a page gets a [`RequestContext`], so every read and
//! write a page makes goes through the store's access rules and audit trail as that user.

use crate::context::{REQUEST_ID, source_address};
use crate::pages::html::see_other;
use crate::pages::session;
use crate::state::AppState;
use auth::User;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use store::RequestContext;
use subtle::ConstantTimeEq;

/// A fully signed-in member of staff.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Direct care, as this user with their current role.
    pub ctx: RequestContext,
    pub user: User,
    /// This session's CSRF token: every form posts it back as `csrf`.
    pub csrf: String,
    /// `Practitioner/{id}` of the user, if their account is linked to one.
    pub practitioner: Option<String>,
}

impl Staff {
    /// Whether the posted CSRF token is this session's.
    pub fn csrf_ok(&self, posted: Option<&str>) -> bool {
        posted.is_some_and(|p| bool::from(p.as_bytes().ct_eq(self.csrf.as_bytes())))
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>();
            see_other(&format!("/login?next={next}"))
        };
        let current = session::current(state, &parts.headers).await.map_err(|e| {
            tracing::error!(error = %e, "reading a session failed");
            crate::ui::layout::error_page(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Sorry, there is a problem",
                "OpenGP could not check your sign-in. Try again in a moment.",
            )
        })?;
        let Some((_, info)) = current else {
            return Err(to_login());
        };
        let source = source_address(parts);
        let (Some(mut ctx), Some(user)) = (info.request_context(source.as_deref()), info.user)
        else {
            return Err(to_login());
        };
        if let Some(id) = parts.headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
            ctx.request_id = id.to_string();
        }
        let practitioner = user
            .practitioner
            .as_ref()
            .map(|id| format!("Practitioner/{id}"));
        Ok(Staff {
            ctx,
            user,
            csrf: info.csrf,
            practitioner,
        })
    }
}
