//! The token endpoint (`POST /oauth/token`) and the revocation endpoint
//! (`POST /oauth/revoke`): form bodies in, JSON out, errors as RFC 6749 §5.2 JSON.

use crate::context::source_address;
use crate::state::AppState;
use auth::{AuthError, ErrorKind, TokenRequest};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};
use web::auth_blocking as blocking;
use web::form::Fields;

/// A client's credentials, from HTTP Basic or the form (`client_secret_post`).
struct ClientCredentials {
    id: Option<String>,
    secret: Option<String>,
    basic: bool,
}

/// RFC 6749 §2.3.1: Basic credentials are form-encoded, then base64-encoded.
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), AuthError>> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bad = || {
        AuthError::new(
            ErrorKind::InvalidClient,
            "the Basic credentials are malformed",
        )
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Some(Err(bad()));
    };
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some(Ok((decode(id), decode(secret))))
}

fn client_credentials(headers: &HeaderMap, form: &Fields) -> Result<ClientCredentials, AuthError> {
    match basic_credentials(headers) {
        Some(Ok((id, secret))) => {
            if form.get("client_secret").is_some() {
                return Err(AuthError::new(
                    ErrorKind::InvalidRequest,
                    "use one way of authenticating the client, not both",
                ));
            }
            if form.get("client_id").is_some_and(|given| given != id) {
                return Err(AuthError::new(
                    ErrorKind::InvalidRequest,
                    "client_id does not match the Basic credentials",
                ));
            }
            Ok(ClientCredentials {
                id: Some(id),
                secret: Some(secret),
                basic: true,
            })
        }
        Some(Err(e)) => Err(e),
        None => Ok(ClientCredentials {
            id: form.get("client_id").map(str::to_string),
            secret: form.get("client_secret").map(str::to_string),
            basic: false,
        }),
    }
}

/// A JSON answer that no cache may keep (it can hold tokens).
fn no_store_json(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn oauth_error(e: &AuthError, basic: bool) -> Response {
    if e.kind == ErrorKind::Internal {
        tracing::error!(error = %e, "the token endpoint failed");
    }
    let status = match e.status() {
        401 => StatusCode::UNAUTHORIZED,
        500 => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let description = if e.kind == ErrorKind::Internal {
        "the server failed; try again later"
    } else {
        e.message.as_str()
    };
    let body = json!({ "error": e.oauth_code(), "error_description": description });
    let mut response = no_store_json(status, &body);
    if status == StatusCode::UNAUTHORIZED && basic {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="OpenGP""#),
        );
    }
    response
}

/// Reads the form; OAuth forbids repeated parameters.
fn form_of(body: &Bytes) -> Result<Fields, AuthError> {
    let form = Fields::parse(body);
    if form.has_repeats() {
        return Err(AuthError::new(
            ErrorKind::InvalidRequest,
            "a parameter is repeated",
        ));
    }
    Ok(form)
}

/// `POST /oauth/token`
pub async fn token(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let parsed = form_of(&body).and_then(|form| {
        let credentials = client_credentials(&parts.headers, &form)?;
        Ok((form, credentials))
    });
    let (form, credentials) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return oauth_error(&e, false),
    };
    let basic = credentials.basic;
    let opt = |name: &str| form.get(name).map(str::to_string);
    let req = TokenRequest {
        grant_type: form.text("grant_type"),
        code: opt("code"),
        redirect_uri: opt("redirect_uri"),
        code_verifier: opt("code_verifier"),
        refresh_token: opt("refresh_token"),
        scope: opt("scope"),
        client_id: credentials.id,
        client_secret: credentials.secret,
    };
    let source = source_address(&parts);
    // The id_token's issuer is the FHIR base the discovery documents name.
    let issuer = crate::context::base_url(&parts, &state);
    match blocking(&state, move |auth| {
        auth.token_for_issuer(&req, source.as_deref(), Some(&issuer))
    })
    .await
    {
        Ok(issued) => no_store_json(StatusCode::OK, &issued.to_json()),
        Err(e) => oauth_error(&e, basic),
    }
}

/// `GET /oauth/jwks`: the keys id_tokens are signed with (public).
pub async fn jwks(State(state): State<AppState>) -> Response {
    match blocking(&state, |auth| auth.jwks()).await {
        Ok(keys) => {
            let mut response = Response::new(Body::from(keys.to_string()));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/jwk-set+json"),
            );
            response
        }
        Err(e) => oauth_error(&e, false),
    }
}

/// `POST /oauth/revoke` (RFC 7009): 200 whether or not the token was known.
pub async fn revoke(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let parsed = form_of(&body).and_then(|form| {
        let credentials = client_credentials(&parts.headers, &form)?;
        let token = form
            .get("token")
            .map(str::to_string)
            .ok_or_else(|| AuthError::new(ErrorKind::InvalidRequest, "token is required"))?;
        Ok((token, credentials))
    });
    let (token, credentials) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return oauth_error(&e, false),
    };
    let basic = credentials.basic;
    let source = source_address(&parts);
    let result = blocking(&state, move |auth| {
        auth.revoke(
            &token,
            credentials.id.as_deref(),
            credentials.secret.as_deref(),
            source.as_deref(),
        )
    })
    .await;
    match result {
        Ok(()) => no_store_json(StatusCode::OK, &json!({})),
        Err(e) => oauth_error(&e, basic),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%20app:s%3Acret");
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        let (id, secret) = basic_credentials(&headers).unwrap().unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("my app", "s:cret"));
        let both = Fields::parse(b"client_secret=x");
        assert!(client_credentials(&headers, &both).is_err());
    }
}
