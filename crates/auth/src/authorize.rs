//! The authorization endpoint (authorization code flow with PKCE): validate the app's
//! request, show the consent page, issue a single-use code.

use crate::clients::Client;
use crate::config::duration_micros;
use crate::error::{AuthError, ErrorKind};
use crate::{Auth, event, secrets};
use store::access::ScopeContext;
use store::audit::Outcome;
use store::{Actor, RequestContext, Scopes, StaffMember, TxMode};

/// The query of `GET /authorize`.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub response_type: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// The FHIR base URL the app means to use (SMART requires it).
    pub aud: Option<String>,
    /// The patient chosen for `patient/` scopes (until EHR launch contexts exist, the
    /// consent page asks for it).
    pub patient: Option<String>,
}

/// What the consent page shows: which app asks for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub client_id: String,
    pub client_name: String,
    /// The scopes that would be granted: those asked for, narrowed to the registration.
    pub scope: String,
    pub patient: Option<String>,
}

struct Validated {
    client: Client,
    staff: StaffMember,
    granted: Scopes,
    patient: Option<String>,
    challenge: String,
}

impl Auth {
    /// Validates an authorization request without issuing anything (for the consent
    /// page). `user` is the signed-in member of staff's context
    /// ([`Auth::session_context`]).
    pub fn check_authorize(
        &self,
        req: &AuthorizeRequest,
        user: &RequestContext,
    ) -> Result<Consent, AuthError> {
        let v = self.validate(req, user)?;
        Ok(Consent {
            client_id: v.client.client_id,
            client_name: v.client.name,
            scope: v.granted.to_string(),
            patient: v.patient,
        })
    }

    /// Issues an authorization code once the user has consented. The code is valid for
    /// [`crate::AuthConfig::code_ttl`], once, for this client, redirect URI, PKCE
    /// challenge and user.
    pub fn authorize(
        &self,
        req: &AuthorizeRequest,
        user: &RequestContext,
    ) -> Result<String, AuthError> {
        let v = self.validate(req, user)?;
        let code = secrets::new_token();
        let expires = self.now() + duration_micros(self.config.code_ttl);
        let mut tx = self.begin(TxMode::Write)?;
        tx.execute(
            "INSERT INTO oauth_codes (code_hash, practice, client_id, user_id, redirect_uri, \
             challenge, scopes, patient, expires, used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                secrets::token_hash(&code).into(),
                user.practice.clone().into(),
                v.client.client_id.clone().into(),
                v.staff.user_id.clone().into(),
                req.redirect_uri.clone().into(),
                v.challenge.into(),
                v.granted.to_string().into(),
                v.patient.clone().into(),
                expires.into(),
                false.into(),
            ],
        )?;
        tx.commit()?;
        let detail = format!(
            "authorization code issued to app {} for scopes {}",
            v.client.client_id, v.granted
        );
        let mut record = event("token", Outcome::Success, detail);
        if let Some(patient) = &v.patient {
            record = record.patient(patient.clone());
        }
        self.audit(user, record)?;
        Ok(code)
    }

    fn validate(
        &self,
        req: &AuthorizeRequest,
        user: &RequestContext,
    ) -> Result<Validated, AuthError> {
        let staff = match (&user.actor, &user.access.staff) {
            (Actor::User(_), Some(staff)) => staff.clone(),
            _ => {
                return Err(AuthError::new(
                    ErrorKind::AccessDenied,
                    "sign in before authorising an app",
                ));
            }
        };
        // Until the client and redirect URI are known good, errors are shown to the user,
        // never sent to the redirect URI (RFC 6749 §4.1.2.1).
        let client = self
            .client(&req.client_id)?
            .filter(|c| c.practice == user.practice)
            .ok_or_else(|| {
                AuthError::invalid_client("the app is not registered with this practice")
            })?;
        if !client.redirect_uris.contains(&req.redirect_uri) {
            return Err(AuthError::invalid_request(
                "the redirect URI is not one registered for the app",
            ));
        }
        self.validate_redirectable(req, user, client, staff)
            .map_err(AuthError::redirectable)
    }

    fn validate_redirectable(
        &self,
        req: &AuthorizeRequest,
        user: &RequestContext,
        client: Client,
        staff: StaffMember,
    ) -> Result<Validated, AuthError> {
        if req.response_type != "code" {
            return Err(AuthError::new(
                ErrorKind::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
        let challenge = check_pkce(req)?;
        if let Some(base) = &self.config.fhir_base_url {
            let aud = req.aud.as_deref().unwrap_or_default();
            if aud.trim_end_matches('/') != base.trim_end_matches('/') {
                return Err(AuthError::invalid_request(format!(
                    "aud must be this server's FHIR base URL, {base}"
                )));
            }
        }
        let granted = grant_user_scopes(&client, &req.scope)?;
        let patient = if granted.has_context(ScopeContext::Patient) {
            let id = req
                .patient
                .as_deref()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    AuthError::invalid_request("patient/ scopes need a patient chosen")
                })?;
            self.repo
                .read(user, "Patient", id)
                .map_err(|_| AuthError::invalid_request("the patient chosen is not known"))?;
            Some(id.to_string())
        } else {
            None
        };
        Ok(Validated {
            client,
            staff,
            granted,
            patient,
            challenge,
        })
    }
}

/// PKCE is required, with S256 only: `plain` would send the verifier in the clear.
fn check_pkce(req: &AuthorizeRequest) -> Result<String, AuthError> {
    match req.code_challenge_method.as_deref() {
        Some("S256") => {}
        Some(_) => {
            return Err(AuthError::invalid_request(
                "only the S256 code_challenge_method is supported",
            ));
        }
        None => {
            return Err(AuthError::invalid_request(
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            ));
        }
    }
    let challenge = req.code_challenge.as_deref().unwrap_or_default();
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(AuthError::invalid_request(
            "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
        ));
    }
    Ok(challenge.to_string())
}

/// The scopes asked for, narrowed to the app's registration; `system/` scopes never go
/// to a user's app. Nothing left is an error.
fn grant_user_scopes(client: &Client, requested: &str) -> Result<Scopes, AuthError> {
    let requested =
        Scopes::parse(requested).map_err(|e| AuthError::invalid_scope(e.to_string()))?;
    let registered = Scopes::parse(&client.scopes)
        .map_err(|e| AuthError::new(ErrorKind::Internal, e.to_string()))?;
    let mut granted = registered.grant(&requested);
    granted
        .resources
        .retain(|s| s.context != ScopeContext::System);
    if granted.resources.is_empty() {
        return Err(AuthError::invalid_scope(
            "none of the resource scopes asked for are registered for the app",
        ));
    }
    Ok(granted)
}
