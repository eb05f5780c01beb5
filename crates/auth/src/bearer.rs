//! Bearer tokens on FHIR requests: from the token to the request's context.

use crate::error::{AuthError, ErrorKind};
use crate::rows::{flag, int, opt_text, text};
use crate::users::load_by_id;
use crate::{Auth, secrets};
use store::{Access, Actor, Purpose, RequestContext, Scopes, TxMode};

/// A request authenticated by its bearer token.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The app acting, its granted scopes, and for a user's app the member of staff
    /// with their current role.
    pub ctx: RequestContext,
    pub client_id: String,
    /// The app's registered rate limit, for the server's per-client limiter.
    pub rate_limit_per_minute: u32,
}

impl Auth {
    /// The context of a request bearing `bearer`. Unknown, expired, revoked or forged
    /// tokens are [`ErrorKind::InvalidToken`] (answer 401). Apps a user authorised act
    /// for direct care; back-end systems (client credentials) act for sharing outside
    /// the practice, so a patient's dissent hides their record from them.
    pub fn authenticate(
        &self,
        bearer: &str,
        source: Option<&str>,
    ) -> Result<Authenticated, AuthError> {
        let mut tx = self.begin(TxMode::Read)?;
        let rows = tx.query(
            "SELECT t.practice, t.client_id, t.user_id, t.scopes, t.patient, t.expires, \
             t.revoked, c.rate_limit_per_minute FROM oauth_tokens t \
             JOIN oauth_clients c ON c.client_id = t.client_id \
             WHERE t.token_hash = ? AND t.kind = 'access'",
            &[secrets::token_hash(bearer).into()],
        )?;
        let row = rows.first().ok_or_else(AuthError::invalid_token)?;
        if flag(row, 6) || int(row, 5) <= self.now() {
            return Err(AuthError::invalid_token());
        }
        let (practice, client_id) = (text(row, 0), text(row, 1));
        let staff = match opt_text(row, 2) {
            Some(user_id) => Some(
                load_by_id(tx.as_mut(), &practice, &user_id)?
                    .ok_or_else(AuthError::invalid_token)?
                    .user
                    .staff_member(),
            ),
            None => None,
        };
        let scopes = Scopes::parse(&text(row, 3))
            .map_err(|e| AuthError::new(ErrorKind::Internal, e.to_string()))?;
        let purpose = if staff.is_some() {
            Purpose::DirectCare
        } else {
            Purpose::Sharing
        };
        let access = Access::app(client_id.clone(), scopes, staff, opt_text(row, 4));
        let mut ctx = RequestContext::new(practice, Actor::App(client_id.clone()), purpose)
            .with_access(access);
        ctx.source = source.map(str::to_string);
        Ok(Authenticated {
            ctx,
            client_id,
            rate_limit_per_minute: u32::try_from(int(row, 7)).unwrap_or(u32::MAX),
        })
    }
}
