//! OpenID Connect id_tokens for apps granted `openid` (SMART App Launch v2, "openid
//! fhirUser"): a JWT signed with RS256 (the algorithm OpenID Connect requires every
//! provider to support), whose public key is published as a JWKS.
//!
//! The signing key is made once per installation and kept in the database
//! (`oauth_signing_keys`, see [`signing_key_ddl`]), so every server process on one
//! database signs with the same key and tokens survive a restart.

use crate::error::{AuthError, ErrorKind};
use crate::rows::text;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use store::{Dialect, Transaction};

/// The only algorithm used and published.
pub const ALGORITHM: &str = "RS256";
/// 2048 bits: the size RS256 keys are commonly required to have at least.
const KEY_BITS: usize = 2048;
/// The row of the key that signs id_tokens.
const PURPOSE: &str = "id_token";

/// The DDL of the signing-key table (idempotent). Kept apart from the other auth tables
/// so it can be registered as a migration of its own.
pub fn signing_key_ddl(_dialect: Dialect) -> Vec<String> {
    vec![
        "CREATE TABLE IF NOT EXISTS oauth_signing_keys (
            purpose TEXT PRIMARY KEY,
            kid TEXT NOT NULL,
            alg TEXT NOT NULL,
            private_key TEXT NOT NULL,
            created BIGINT NOT NULL
        )"
        .to_string(),
    ]
}

/// The installation's id_token signing key.
pub struct SigningKey {
    pub kid: String,
    key: rsa::PrivateKey,
}

impl SigningKey {
    /// Loads the key, making and storing it first if there is none. Two processes
    /// starting together may both make one: the first stored wins and both use it.
    pub fn load_or_create(
        begin: impl Fn() -> Result<Box<dyn Transaction>, AuthError>,
        now: i64,
    ) -> Result<SigningKey, AuthError> {
        if let Some(key) = Self::load(begin()?.as_mut())? {
            return Ok(key);
        }
        // Made outside any transaction: it takes a moment, and SQLite has one writer.
        let key = rsa::PrivateKey::new(&mut getrandom::SysRng, KEY_BITS).map_err(internal)?;
        let der = key.to_pkcs8_der().map_err(internal)?;
        let kid = thumbprint(&key);
        let mut tx = begin()?;
        tx.execute(
            "INSERT INTO oauth_signing_keys (purpose, kid, alg, private_key, created) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (purpose) DO NOTHING",
            &[
                PURPOSE.into(),
                kid.into(),
                ALGORITHM.into(),
                STANDARD.encode(der.as_bytes()).into(),
                now.into(),
            ],
        )?;
        tx.commit()?;
        Self::load(begin()?.as_mut())?.ok_or_else(|| internal("the signing key was not stored"))
    }

    fn load(tx: &mut dyn Transaction) -> Result<Option<SigningKey>, AuthError> {
        let rows = tx.query(
            "SELECT kid, private_key FROM oauth_signing_keys WHERE purpose = ?",
            &[PURPOSE.into()],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let der = STANDARD.decode(text(row, 1)).map_err(internal)?;
        let key = rsa::PrivateKey::from_pkcs8_der(&der).map_err(internal)?;
        Ok(Some(SigningKey {
            kid: text(row, 0),
            key,
        }))
    }

    /// A compact JWS (`header.claims.signature`) of `claims`.
    pub fn sign(&self, claims: &Value) -> Result<String, AuthError> {
        let header = json!({ "alg": ALGORITHM, "typ": "JWT", "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign_with_rng(
                &mut getrandom::SysRng,
                rsa::Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signing_input.as_bytes()),
            )
            .map_err(internal)?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The public key as a JSON Web Key Set (RFC 7517).
    pub fn jwks(&self) -> Value {
        json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": ALGORITHM,
                "kid": self.kid,
                "n": URL_SAFE_NO_PAD.encode(self.key.n_bytes()),
                "e": URL_SAFE_NO_PAD.encode(self.key.e_bytes()),
            }]
        })
    }
}

/// The key id: the RFC 7638 thumbprint of the public key, so it names the key itself.
fn thumbprint(key: &rsa::PrivateKey) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(key.e_bytes()),
        URL_SAFE_NO_PAD.encode(key.n_bytes())
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn internal(e: impl std::fmt::Display) -> AuthError {
    tracing::error!(error = %e, "the id_token signing key failed");
    AuthError::new(
        ErrorKind::Internal,
        "the id_token signing key is not available",
    )
}
