//! OAuth client registration (done by a practice manager) and client authentication
//! at the token and revocation endpoints.

use crate::error::{AuthError, ErrorKind};
use crate::rows::{flag, int, opt_text, text};
use crate::users::require_admin;
use crate::{Auth, event, secrets};
use store::audit::Outcome;
use store::{RequestContext, Scopes, TxMode};

/// An app to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    /// The most the app may ever be granted, as SMART scopes
    /// (`user/*.rs patient/Observation.rs offline_access`, or `system/Patient.r`).
    pub scopes: String,
    /// Exact redirect URIs (authorization code flow); none for back-end services.
    pub redirect_uris: Vec<String>,
    /// Confidential clients (a server that keeps a secret) authenticate with a client
    /// secret; public clients (browser and mobile apps) cannot keep one and rely on PKCE.
    pub confidential: bool,
    /// Requests per minute the server allows the app's tokens.
    pub rate_limit_per_minute: u32,
}

/// The registration's result. The secret is shown once: only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredClient {
    pub client_id: String,
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub practice: String,
    pub name: String,
    pub scopes: String,
    pub redirect_uris: Vec<String>,
    pub confidential: bool,
    pub rate_limit_per_minute: u32,
}

pub(crate) struct ClientRecord {
    pub client: Client,
    secret_hash: Option<String>,
}

const CLIENT_COLUMNS: &str = "client_id, practice, name, scopes, redirect_uris, confidential, \
     rate_limit_per_minute, secret_hash";

fn record_from(row: &store::Row) -> ClientRecord {
    ClientRecord {
        client: Client {
            client_id: text(row, 0),
            practice: text(row, 1),
            name: text(row, 2),
            scopes: text(row, 3),
            redirect_uris: text(row, 4).lines().map(str::to_string).collect(),
            confidential: flag(row, 5),
            rate_limit_per_minute: u32::try_from(int(row, 6)).unwrap_or(u32::MAX),
        },
        secret_hash: opt_text(row, 7),
    }
}

/// Redirect URIs must be absolute, without a fragment (RFC 6749 §3.1.2), and either
/// HTTPS, loopback HTTP (native apps, RFC 8252 §7.3) or a private-use scheme in
/// reverse-domain form (RFC 8252 §7.1).
fn check_redirect_uri(uri: &str) -> Result<(), AuthError> {
    let invalid = |why: &str| {
        AuthError::new(
            ErrorKind::Invalid,
            format!("redirect URI '{uri}' is not allowed: {why}"),
        )
    };
    if uri.contains('#') || uri.chars().any(char::is_whitespace) {
        return Err(invalid("no fragment or spaces"));
    }
    let loopback = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|prefix| {
            uri.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/', '?']))
        });
    let https = uri
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty());
    let private_scheme = uri.split_once(":/").is_some_and(|(scheme, _)| {
        scheme.contains('.')
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
    });
    if loopback || https || private_scheme {
        Ok(())
    } else {
        Err(invalid(
            "use https://, http://localhost or a private scheme such as com.example.app:/",
        ))
    }
}

impl Auth {
    /// Registers an app in `admin.practice`.
    pub fn register_client(
        &self,
        admin: &RequestContext,
        new: NewClient,
    ) -> Result<RegisteredClient, AuthError> {
        require_admin(admin)?;
        let scopes = Scopes::parse(&new.scopes)
            .map_err(|e| AuthError::new(ErrorKind::Invalid, e.to_string()))?;
        if scopes.resources.is_empty() {
            return Err(AuthError::new(
                ErrorKind::Invalid,
                "register at least one resource scope, such as user/*.rs",
            ));
        }
        if new.name.trim().is_empty() {
            return Err(AuthError::new(ErrorKind::Invalid, "give the app a name"));
        }
        for uri in &new.redirect_uris {
            check_redirect_uri(uri)?;
        }
        let client_id = uuid::Uuid::new_v4().to_string();
        let client_secret = new.confidential.then(secrets::new_token);
        let mut tx = self.begin(TxMode::Write)?;
        tx.execute(
            "INSERT INTO oauth_clients (client_id, practice, name, scopes, redirect_uris, \
             confidential, secret_hash, rate_limit_per_minute, created) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                client_id.clone().into(),
                admin.practice.clone().into(),
                new.name.trim().into(),
                scopes.to_string().into(),
                new.redirect_uris.join("\n").into(),
                new.confidential.into(),
                client_secret.as_deref().map(secrets::token_hash).into(),
                i64::from(new.rate_limit_per_minute).into(),
                self.now().into(),
            ],
        )?;
        let detail = format!("app {client_id} registered with scopes {scopes}");
        self.audit_in(
            tx.as_mut(),
            admin,
            event("client-admin", Outcome::Success, detail),
        )?;
        tx.commit()?;
        Ok(RegisteredClient {
            client_id,
            client_secret,
        })
    }

    /// The registered app with this id, in whichever practice.
    pub fn client(&self, client_id: &str) -> Result<Option<Client>, AuthError> {
        Ok(self.client_record(client_id)?.map(|r| r.client))
    }

    pub(crate) fn client_record(&self, client_id: &str) -> Result<Option<ClientRecord>, AuthError> {
        let mut tx = self.begin(TxMode::Read)?;
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = ?");
        let rows = tx.query(&sql, &[client_id.into()])?;
        Ok(rows.first().map(record_from))
    }

    /// The apps registered in `practice`, by name.
    pub fn list_clients(&self, practice: &str) -> Result<Vec<Client>, AuthError> {
        let mut tx = self.begin(TxMode::Read)?;
        let sql = format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE practice = ? ORDER BY name, client_id"
        );
        let rows = tx.query(&sql, &[practice.into()])?;
        Ok(rows.iter().map(|r| record_from(r).client).collect())
    }

    /// The client a token or revocation request comes from. Confidential clients must
    /// give their secret; a public client must not claim one.
    pub(crate) fn authenticate_client(
        &self,
        client_id: Option<&str>,
        client_secret: Option<&str>,
    ) -> Result<Client, AuthError> {
        let unknown = || AuthError::invalid_client("client authentication failed");
        let client_id = client_id.filter(|id| !id.is_empty()).ok_or_else(unknown)?;
        let record = self.client_record(client_id)?.ok_or_else(unknown)?;
        match (&record.secret_hash, client_secret) {
            (Some(expected), Some(given))
                if secrets::same(expected, &secrets::token_hash(given)) =>
            {
                Ok(record.client)
            }
            (None, None) => Ok(record.client),
            _ => Err(unknown()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_redirect_uri;

    #[test]
    fn redirect_uris_must_be_https_loopback_or_private_scheme() {
        for ok in [
            "https://app.example/callback",
            "http://localhost:8080/cb",
            "http://127.0.0.1/cb",
            "uk.org.example.app:/oauth",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example/callback",
            "https://app.example/cb#frag",
            "http://localhost.evil.example/cb",
            "javascript:alert(1)",
            "/relative",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
