//! The token endpoint (`authorization_code`, `client_credentials`, `refresh_token`)
//! and the revocation endpoint (RFC 7009).
//!
//! Tokens of one grant share a `family`: the authorization code's hash, or a random id
//! for client credentials. Presenting a used code or a rotated refresh token again means
//! it was stolen or replayed, so the whole family is revoked (OAuth 2.0 Security BCP
//! §4.14).

use crate::clients::Client;
use crate::config::duration_micros;
use crate::error::{AuthError, ErrorKind};
use crate::rows::{flag, int, opt_text, text};
use crate::users::load_by_id;
use crate::{Auth, event, secrets};
use serde_json::{Value, json};
use store::access::ScopeContext;
use store::audit::Outcome;
use store::{Actor, Purpose, RequestContext, Scopes, Transaction, TxMode};

/// The form of `POST /token`. The client's credentials come from HTTP Basic or the form.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: u64,
    pub scope: String,
    pub refresh_token: Option<String>,
    /// The patient in context (SMART launch context), for `patient/` scopes.
    pub patient: Option<String>,
    /// The OpenID Connect id_token, when `openid` was granted to a signed-in user.
    pub id_token: Option<String>,
    /// The account the tokens act for (practice, user id), for the id_token.
    pub(crate) user: Option<(String, String)>,
}

impl TokenResponse {
    /// The JSON body of the token endpoint's answer.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
        });
        if let Some(refresh) = &self.refresh_token {
            body["refresh_token"] = json!(refresh);
        }
        if let Some(patient) = &self.patient {
            body["patient"] = json!(patient);
        }
        if let Some(id_token) = &self.id_token {
            body["id_token"] = json!(id_token);
        }
        body
    }
}

/// What a set of tokens is issued for.
struct Grant {
    practice: String,
    client_id: String,
    user_id: Option<String>,
    scopes: Scopes,
    patient: Option<String>,
    family: String,
    grant_type: &'static str,
    with_refresh: bool,
}

const REFRESH: &str = "refresh";
const ACCESS: &str = "access";

fn app_context(practice: &str, client_id: &str, source: Option<&str>) -> RequestContext {
    let mut ctx = RequestContext::new(practice, Actor::App(client_id.into()), Purpose::Operations);
    ctx.source = source.map(str::to_string);
    ctx
}

fn wants_refresh(scopes: &Scopes) -> bool {
    scopes.has("offline_access") || scopes.has("online_access")
}

fn revoke_family(tx: &mut dyn Transaction, family: &str) -> Result<(), AuthError> {
    tx.execute(
        "UPDATE oauth_tokens SET revoked = ? WHERE family = ?",
        &[true.into(), family.into()],
    )?;
    Ok(())
}

fn parse_scopes(text: &str) -> Result<Scopes, AuthError> {
    Scopes::parse(text).map_err(|e| AuthError::invalid_scope(e.to_string()))
}

impl Auth {
    /// The token endpoint. Every answer, issue or refusal, is audited under the
    /// client's practice (a request naming no known client has no practice to audit
    /// under, and is only logged).
    pub fn token(
        &self,
        req: &TokenRequest,
        source: Option<&str>,
    ) -> Result<TokenResponse, AuthError> {
        self.token_for_issuer(req, source, self.config.fhir_base_url.as_deref())
    }

    /// [`Self::token`], with an id_token naming `issuer` (the FHIR base URL the app
    /// talks to, as published in the discovery documents) when `openid` is granted.
    pub fn token_for_issuer(
        &self,
        req: &TokenRequest,
        source: Option<&str>,
        issuer: Option<&str>,
    ) -> Result<TokenResponse, AuthError> {
        let client = match self
            .authenticate_client(req.client_id.as_deref(), req.client_secret.as_deref())
        {
            Ok(client) => client,
            Err(e) => {
                if let Some(known) = req
                    .client_id
                    .as_deref()
                    .map(|id| self.client(id))
                    .transpose()?
                    .flatten()
                {
                    let ctx = app_context(&known.practice, &known.client_id, source);
                    self.audit(
                        &ctx,
                        event("token", Outcome::Refused, "client authentication failed"),
                    )?;
                } else {
                    tracing::info!(
                        event = "token",
                        "token request from an unknown client refused"
                    );
                }
                return Err(e);
            }
        };
        let ctx = app_context(&client.practice, &client.client_id, source);
        let result = match req.grant_type.as_str() {
            "authorization_code" => self.exchange_code(&client, req),
            "client_credentials" => self.client_credentials(&client, req),
            "refresh_token" => self.refresh(&client, req),
            "" => Err(AuthError::invalid_request("grant_type is required")),
            _ => Err(AuthError::new(
                ErrorKind::UnsupportedGrantType,
                "grant_type must be authorization_code, client_credentials or refresh_token",
            )),
        };
        let result = match (result, issuer) {
            (Ok(issued), Some(issuer)) => self.with_id_token(issued, issuer, &client.client_id),
            (result, _) => result,
        };
        let grant_type = &req.grant_type;
        match &result {
            Ok(issued) => {
                let detail = format!("grant_type={grant_type} scope={}", issued.scope);
                self.audit(&ctx, event("token", Outcome::Success, detail))?;
            }
            Err(e) => {
                let detail = format!("grant_type={grant_type} refused: {}", e.message);
                self.audit(&ctx, event("token", Outcome::Refused, detail))?;
            }
        }
        result
    }

    /// Runs `work` in a write transaction and commits whatever it decided, refusal or
    /// not (a code marked used, a family revoked); only a store failure rolls back.
    fn in_grant_tx<T>(
        &self,
        work: impl FnOnce(&mut dyn Transaction) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        let mut tx = self.begin(TxMode::Write)?;
        let result = work(tx.as_mut());
        if !matches!(&result, Err(e) if e.kind == ErrorKind::Internal) {
            tx.commit()?;
        }
        result
    }

    fn exchange_code(
        &self,
        client: &Client,
        req: &TokenRequest,
    ) -> Result<TokenResponse, AuthError> {
        let code = req
            .code
            .as_deref()
            .ok_or_else(|| AuthError::invalid_request("code is required"))?;
        let hash = secrets::token_hash(code);
        self.in_grant_tx(|tx| {
            let rows = tx.query(
                "SELECT practice, client_id, user_id, redirect_uri, challenge, scopes, patient, \
                 expires, used FROM oauth_codes WHERE code_hash = ?",
                &[hash.clone().into()],
            )?;
            let row = rows
                .first()
                .ok_or_else(|| AuthError::invalid_grant("the authorization code is not known"))?;
            if flag(row, 8) {
                revoke_family(tx, &hash)?;
                return Err(AuthError::invalid_grant(
                    "the authorization code has been used already; the tokens issued for it are revoked",
                ));
            }
            // Single use, whatever happens next.
            let claimed = tx.execute(
                "UPDATE oauth_codes SET used = ? WHERE code_hash = ? AND used = ?",
                &[true.into(), hash.clone().into(), false.into()],
            )?;
            if claimed != 1 {
                return Err(AuthError::invalid_grant("the authorization code has been used already"));
            }
            if int(row, 7) < self.now() {
                return Err(AuthError::invalid_grant("the authorization code has expired"));
            }
            if text(row, 1) != client.client_id {
                return Err(AuthError::invalid_grant("the authorization code was issued to another app"));
            }
            if req.redirect_uri.as_deref() != Some(text(row, 3).as_str()) {
                return Err(AuthError::invalid_grant(
                    "redirect_uri must be the one the authorization request used",
                ));
            }
            check_verifier(req.code_verifier.as_deref(), &text(row, 4))?;
            let (practice, user_id) = (text(row, 0), text(row, 2));
            if load_by_id(tx, &practice, &user_id)?.is_none() {
                return Err(AuthError::invalid_grant("the account that authorised the app is gone"));
            }
            let scopes = Scopes::parse(&text(row, 5))
                .map_err(|e| AuthError::new(ErrorKind::Internal, e.to_string()))?;
            let grant = Grant {
                practice,
                client_id: client.client_id.clone(),
                user_id: Some(user_id),
                with_refresh: wants_refresh(&scopes),
                scopes,
                patient: opt_text(row, 6),
                family: hash.clone(),
                grant_type: "authorization_code",
            };
            self.issue(tx, &grant)
        })
    }

    fn client_credentials(
        &self,
        client: &Client,
        req: &TokenRequest,
    ) -> Result<TokenResponse, AuthError> {
        if !client.confidential {
            return Err(AuthError::new(
                ErrorKind::UnauthorizedClient,
                "only confidential apps (with a client secret) may use client_credentials",
            ));
        }
        let registered = Scopes::parse(&client.scopes)
            .map_err(|e| AuthError::new(ErrorKind::Internal, e.to_string()))?;
        let requested = match req.scope.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(scope) => parse_scopes(scope)?,
            None => Scopes {
                resources: registered.resources.clone(),
                other: Vec::new(),
            },
        };
        let mut wanted = requested.clone();
        wanted
            .resources
            .retain(|s| s.context == ScopeContext::System);
        if wanted.resources.len() != requested.resources.len() || !requested.other.is_empty() {
            return Err(AuthError::invalid_scope(
                "client_credentials grants system/ scopes only",
            ));
        }
        let mut granted = registered.grant(&wanted);
        granted.other.clear();
        if granted.resources.is_empty() {
            return Err(AuthError::invalid_scope(
                "none of the system/ scopes asked for are registered for the app",
            ));
        }
        let grant = Grant {
            practice: client.practice.clone(),
            client_id: client.client_id.clone(),
            user_id: None,
            scopes: granted,
            patient: None,
            family: secrets::new_token(),
            grant_type: "client_credentials",
            with_refresh: false,
        };
        self.in_grant_tx(|tx| self.issue(tx, &grant))
    }

    fn refresh(&self, client: &Client, req: &TokenRequest) -> Result<TokenResponse, AuthError> {
        let token = req
            .refresh_token
            .as_deref()
            .ok_or_else(|| AuthError::invalid_request("refresh_token is required"))?;
        let hash = secrets::token_hash(token);
        self.in_grant_tx(|tx| {
            let rows = tx.query(
                "SELECT practice, client_id, user_id, scopes, patient, family, expires, revoked, \
                 used FROM oauth_tokens WHERE token_hash = ? AND kind = ?",
                &[hash.clone().into(), REFRESH.into()],
            )?;
            let unknown = || AuthError::invalid_grant("the refresh token is not valid");
            let row = rows.first().ok_or_else(unknown)?;
            let family = text(row, 5);
            if text(row, 1) != client.client_id || flag(row, 7) || int(row, 6) < self.now() {
                return Err(unknown());
            }
            if flag(row, 8) {
                revoke_family(tx, &family)?;
                return Err(AuthError::invalid_grant(
                    "the refresh token has been used already; every token of this grant is revoked",
                ));
            }
            let held = Scopes::parse(&text(row, 3))
                .map_err(|e| AuthError::new(ErrorKind::Internal, e.to_string()))?;
            let scopes = match req.scope.as_deref().filter(|s| !s.trim().is_empty()) {
                Some(scope) => narrow(&held, parse_scopes(scope)?)?,
                None => held,
            };
            let claimed = tx.execute(
                "UPDATE oauth_tokens SET used = ? WHERE token_hash = ? AND used = ?",
                &[true.into(), hash.clone().into(), false.into()],
            )?;
            if claimed != 1 {
                return Err(unknown());
            }
            let (practice, user_id) = (text(row, 0), opt_text(row, 2));
            if let Some(id) = &user_id
                && load_by_id(tx, &practice, id)?.is_none()
            {
                return Err(AuthError::invalid_grant(
                    "the account that authorised the app is gone",
                ));
            }
            let grant = Grant {
                practice,
                client_id: client.client_id.clone(),
                user_id,
                with_refresh: wants_refresh(&scopes),
                scopes,
                patient: opt_text(row, 4),
                family,
                grant_type: "refresh_token",
            };
            self.issue(tx, &grant)
        })
    }

    /// Adds the id_token when the tokens were granted `openid` for a user: `sub` the
    /// account, `aud` the app, `fhirUser` the account's Practitioner (with `fhirUser`).
    fn with_id_token(
        &self,
        mut issued: TokenResponse,
        issuer: &str,
        client_id: &str,
    ) -> Result<TokenResponse, AuthError> {
        let granted = |s: &str| issued.scope.split_whitespace().any(|g| g == s);
        let Some((practice, user_id)) = issued.user.clone() else {
            return Ok(issued);
        };
        if !granted("openid") {
            return Ok(issued);
        }
        let user = load_by_id(self.begin(TxMode::Read)?.as_mut(), &practice, &user_id)?
            .ok_or_else(|| AuthError::invalid_grant("the account is gone"))?
            .user;
        let now = self.now() / 1_000_000;
        let issuer = issuer.trim_end_matches('/');
        let mut claims = json!({
            "iss": issuer,
            "sub": user.id,
            "aud": client_id,
            "iat": now,
            "exp": now + self.config.access_token_ttl.as_secs() as i64,
        });
        if granted("fhirUser")
            && let Some(practitioner) = &user.practitioner
        {
            claims["fhirUser"] = json!(format!("{issuer}/Practitioner/{practitioner}"));
        }
        issued.id_token = Some(self.signing_key()?.sign(&claims)?);
        Ok(issued)
    }

    fn issue(&self, tx: &mut dyn Transaction, grant: &Grant) -> Result<TokenResponse, AuthError> {
        let now = self.now();
        // Opportunistic clean-up. Used codes are kept a while past expiry, so a replay
        // soon after still revokes what the code gave.
        tx.execute("DELETE FROM oauth_tokens WHERE expires < ?", &[now.into()])?;
        tx.execute(
            "DELETE FROM oauth_codes WHERE expires < ?",
            &[(now - 600_000_000).into()],
        )?;
        let access = secrets::new_token();
        self.insert_token(
            tx,
            grant,
            &access,
            ACCESS,
            now + duration_micros(self.config.access_token_ttl),
        )?;
        let refresh = if grant.with_refresh {
            let refresh = secrets::new_token();
            self.insert_token(
                tx,
                grant,
                &refresh,
                REFRESH,
                now + duration_micros(self.config.refresh_token_ttl),
            )?;
            Some(refresh)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token: access,
            token_type: "Bearer",
            expires_in: self.config.access_token_ttl.as_secs(),
            scope: grant.scopes.to_string(),
            refresh_token: refresh,
            patient: grant.patient.clone(),
            id_token: None,
            user: grant
                .user_id
                .as_ref()
                .map(|u| (grant.practice.clone(), u.clone())),
        })
    }

    fn insert_token(
        &self,
        tx: &mut dyn Transaction,
        grant: &Grant,
        token: &str,
        kind: &str,
        expires: i64,
    ) -> Result<(), AuthError> {
        tx.execute(
            "INSERT INTO oauth_tokens (token_hash, practice, kind, client_id, user_id, scopes, \
             patient, family, grant_type, expires, revoked, used) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                secrets::token_hash(token).into(),
                grant.practice.clone().into(),
                kind.into(),
                grant.client_id.clone().into(),
                grant.user_id.clone().into(),
                grant.scopes.to_string().into(),
                grant.patient.clone().into(),
                grant.family.clone().into(),
                grant.grant_type.into(),
                expires.into(),
                false.into(),
                false.into(),
            ],
        )?;
        Ok(())
    }

    /// The revocation endpoint (RFC 7009). The client must authenticate; an unknown or
    /// someone else's token is answered as success, as the RFC asks. Revoking a refresh
    /// token revokes every token of its grant.
    pub fn revoke(
        &self,
        token: &str,
        client_id: Option<&str>,
        client_secret: Option<&str>,
        source: Option<&str>,
    ) -> Result<(), AuthError> {
        let client = self.authenticate_client(client_id, client_secret)?;
        let hash = secrets::token_hash(token);
        let mut tx = self.begin(TxMode::Write)?;
        let rows = tx.query(
            "SELECT kind, family FROM oauth_tokens WHERE token_hash = ? AND client_id = ?",
            &[hash.clone().into(), client.client_id.clone().into()],
        )?;
        let Some(row) = rows.first() else {
            return Ok(());
        };
        let detail = if text(row, 0) == REFRESH {
            revoke_family(tx.as_mut(), &text(row, 1))?;
            "refresh token revoked with every token of its grant"
        } else {
            tx.execute(
                "UPDATE oauth_tokens SET revoked = ? WHERE token_hash = ?",
                &[true.into(), hash.into()],
            )?;
            "access token revoked"
        };
        tx.commit()?;
        let ctx = app_context(&client.practice, &client.client_id, source);
        self.audit(&ctx, event("revoke", Outcome::Success, detail))
    }
}

/// PKCE (RFC 7636 §4.6): the verifier must hash to the challenge.
fn check_verifier(verifier: Option<&str>, challenge: &str) -> Result<(), AuthError> {
    let verifier = verifier.ok_or_else(|| AuthError::invalid_grant("code_verifier is required"))?;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed || !secrets::same(&secrets::pkce_challenge(verifier), challenge) {
        return Err(AuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    Ok(())
}

/// A refresh may ask for fewer scopes than the grant holds, never more.
fn narrow(held: &Scopes, requested: Scopes) -> Result<Scopes, AuthError> {
    let narrowed = held.grant(&requested);
    let widened =
        narrowed.resources != requested.resources || requested.other.iter().any(|o| !held.has(o));
    if widened {
        return Err(AuthError::invalid_scope(
            "a refresh may only narrow the scopes granted, not widen them",
        ));
    }
    Ok(Scopes {
        resources: narrowed.resources,
        other: requested.other,
    })
}
