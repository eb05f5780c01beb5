//! `GET /fhir/.well-known/smart-configuration`: how apps find the authorization server
//! (SMART App Launch v2). Only what is built is claimed.

use crate::context::base_url;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use serde_json::{Value, json};

/// The OAuth endpoints of a server whose FHIR base URL is `base`: they live beside
/// `/fhir`, at the same origin.
pub struct Endpoints {
    pub authorize: String,
    pub token: String,
    pub revoke: String,
    pub jwks: String,
}

impl Endpoints {
    pub fn of(base: &str) -> Endpoints {
        let base = base.trim_end_matches('/');
        let origin = base.strip_suffix("/fhir").unwrap_or(base);
        Endpoints {
            authorize: format!("{origin}/oauth/authorize"),
            token: format!("{origin}/oauth/token"),
            revoke: format!("{origin}/oauth/revoke"),
            jwks: format!("{origin}/oauth/jwks"),
        }
    }
}

/// Scopes apps may ask for: SMART v2 resource scopes (any type, any of `cruds`) in the
/// three contexts, and refresh tokens.
const SCOPES_SUPPORTED: [&str; 10] = [
    "openid",
    "fhirUser",
    "patient/*.cruds",
    "user/*.cruds",
    "system/*.cruds",
    "patient/*.rs",
    "user/*.rs",
    "system/*.rs",
    "offline_access",
    "online_access",
];

/// Capabilities this server really has. Not claimed: EHR launch, asymmetric client
/// authentication.
const CAPABILITIES: [&str; 9] = [
    "sso-openid-connect",
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "context-standalone-patient",
    "permission-patient",
    "permission-user",
    "permission-v2",
    "permission-offline",
];

pub fn configuration(base: &str) -> Value {
    let endpoints = Endpoints::of(base);
    json!({
        "issuer": base,
        "authorization_endpoint": endpoints.authorize,
        "token_endpoint": endpoints.token,
        "revocation_endpoint": endpoints.revoke,
        "jwks_uri": endpoints.jwks,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES,
    })
}

/// The OpenID Connect discovery document of the same server: id_tokens are RS256 JWTs
/// whose keys are at `jwks_uri`.
pub fn openid_configuration(base: &str) -> Value {
    let endpoints = Endpoints::of(base);
    json!({
        "issuer": base,
        "authorization_endpoint": endpoints.authorize,
        "token_endpoint": endpoints.token,
        "jwks_uri": endpoints.jwks,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [auth::ID_TOKEN_ALGORITHM],
        "scopes_supported": SCOPES_SUPPORTED,
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "fhirUser"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    })
}

/// `GET /fhir/.well-known/openid-configuration` (public).
pub async fn openid_configuration_document(
    State(state): State<AppState>,
    parts: Parts,
) -> Json<Value> {
    Json(openid_configuration(&base_url(&parts, &state)))
}

/// `GET /fhir/.well-known/smart-configuration` (public).
pub async fn smart_configuration(State(state): State<AppState>, parts: Parts) -> Json<Value> {
    Json(configuration(&base_url(&parts, &state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_sit_beside_the_fhir_base() {
        let config = configuration("https://gp.example/fhir");
        assert_eq!(config["token_endpoint"], "https://gp.example/oauth/token");
        assert_eq!(
            config["authorization_endpoint"],
            "https://gp.example/oauth/authorize"
        );
        assert_eq!(config["code_challenge_methods_supported"], json!(["S256"]));
        let capabilities = config["capabilities"].as_array().unwrap();
        assert!(capabilities.contains(&json!("sso-openid-connect")));
        assert_eq!(config["jwks_uri"], "https://gp.example/oauth/jwks");
        let openid = openid_configuration("https://gp.example/fhir");
        assert_eq!(openid["issuer"], config["issuer"]);
        assert_eq!(
            openid["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
    }
}
