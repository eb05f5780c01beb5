//! An in-process API over a fresh SQLite store, and helpers to call it. Requests carry
//! the bearer token of a back-end app registered with `system/*.cruds` unless they set
//! their own `Authorization` header or go through [`Api::send_without_token`].
#![allow(dead_code)]

use auth::{Auth, AuthConfig, Clock, NewClient, RegisteredClient, TokenRequest};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use store::{Repository, RepositoryConfig, RequestContext};
use tower::ServiceExt;

pub const BASE: &str = "http://localhost/fhir";
/// The redirect URI test apps are registered with.
pub const REDIRECT_URI: &str = "http://localhost:9999/callback";

pub const PRACTICE: &str = server::DEFAULT_PRACTICE;

#[derive(Clone)]
pub struct Api {
    router: Router,
    pub repo: Arc<Repository>,
    pub auth: Arc<Auth>,
    /// The clock of sign-in and tokens (manual: tests move it on to expire things).
    pub clock: Clock,
    /// The token sent with every request that has no `Authorization` header.
    pub token: Option<String>,
}

impl Api {
    pub fn new() -> Api {
        Api::configured(|state| state)
    }

    /// An API whose server state `configure` adjusts (a metrics token, say).
    pub fn configured(configure: impl FnOnce(server::AppState) -> server::AppState) -> Api {
        let store = store_sqlite::SqliteStore::open_temp().expect("temporary store");
        outbox::schema::ensure(&store).expect("the outbox table");
        let repo = Arc::new(Repository::new(
            Arc::new(store),
            RepositoryConfig::default(),
        ));
        let clock = Clock::manual(chrono::Utc::now().timestamp());
        let config = AuthConfig {
            clock: clock.clone(),
            ..AuthConfig::default()
        };
        let auth = Arc::new(Auth::new(repo.clone(), config).expect("auth tables"));
        let state = configure(server::AppState::new(repo.clone(), auth.clone()));
        let mut api = Api {
            router: server::router(state),
            repo,
            auth,
            clock,
            token: None,
        };
        let app = api.register_client("test back-end", "system/*.cruds", 0, true);
        api.token = Some(api.client_credentials(&app, "system/*.cruds"));
        api
    }

    /// The same API, sending no token unless a request brings its own.
    pub fn anonymous(&self) -> Api {
        Api {
            token: None,
            ..self.clone()
        }
    }

    /// The same API with `token` sent by default.
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// Registers an app in the test practice (`rate_limit` 0: unlimited).
    pub fn register_client(
        &self,
        name: &str,
        scopes: &str,
        rate_limit: u32,
        confidential: bool,
    ) -> RegisteredClient {
        self.auth
            .register_client(
                &RequestContext::system(PRACTICE),
                NewClient {
                    name: name.into(),
                    scopes: scopes.into(),
                    redirect_uris: vec![REDIRECT_URI.into()],
                    confidential,
                    rate_limit_per_minute: rate_limit,
                },
            )
            .expect("client registered")
    }

    /// An access token for a confidential app, straight from the authorization server.
    pub fn client_credentials(&self, app: &RegisteredClient, scope: &str) -> String {
        self.auth
            .token(
                &TokenRequest {
                    grant_type: "client_credentials".into(),
                    scope: Some(scope.into()),
                    client_id: Some(app.client_id.clone()),
                    client_secret: app.client_secret.clone(),
                    ..TokenRequest::default()
                },
                None,
            )
            .expect("token issued")
            .access_token
    }

    pub async fn send_without_token(&self, req: Request<Body>) -> Reply {
        self.anonymous().send(req).await
    }

    pub async fn send(&self, mut req: Request<Body>) -> Reply {
        if let Some(token) = &self.token
            && !req.headers().contains_key(AUTHORIZATION)
        {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
            req.headers_mut().insert(AUTHORIZATION, value);
        }
        let response = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router never fails");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("readable body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(req(Method::GET, uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn delete(&self, uri: &str) -> Reply {
        self.send(req(Method::DELETE, uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post(&self, uri: &str, resource: &Value) -> Reply {
        self.send(fhir_json(Method::POST, uri, resource)).await
    }

    pub async fn put(&self, uri: &str, resource: &Value) -> Reply {
        self.send(fhir_json(Method::PUT, uri, resource)).await
    }

    /// How many versions of `rtype` the store holds: to show a bad request wrote nothing.
    pub async fn versions_of(&self, rtype: &str) -> usize {
        let reply = self
            .get(&format!("/fhir/{rtype}/_history?_count=1000"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let bundle = reply.json();
        match bundle["total"].as_u64() {
            Some(total) => total as usize,
            None => bundle["entry"].as_array().map_or(0, Vec::len),
        }
    }

    /// Creates `resource` and returns its id.
    pub async fn create(&self, resource: &Value) -> String {
        let rtype = resource["resourceType"].as_str().unwrap();
        let reply = self.post(&format!("/fhir/{rtype}"), resource).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        reply.json()["id"]
            .as_str()
            .expect("created resource has an id")
            .to_string()
    }
}

pub fn req(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

pub fn fhir_json(method: Method, uri: &str, resource: &Value) -> Request<Body> {
    req(method, uri)
        .header("content-type", "application/fhir+json")
        .body(Body::from(serde_json::to_vec(resource).unwrap()))
        .unwrap()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts the reply is an OperationOutcome error with `status`.
    pub fn assert_outcome(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert!(
            self.header("content-type")
                .unwrap_or("")
                .starts_with("application/fhir+json")
        );
        let outcome = self.json();
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
        assert!(outcome["issue"][0]["severity"].is_string());
    }
}

/// A valid Patient with an NHS number.
pub fn patient(family: &str, nhs_number: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number }],
        "name": [{ "family": family, "given": ["Alex"] }],
        "gender": "female",
        "birthDate": "1970-03-14"
    })
}

/// Ids of a Bundle's entries whose resource is of `rtype`.
pub fn entry_ids(bundle: &Value, rtype: &str) -> Vec<String> {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["resource"]["resourceType"] == rtype)
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

// Pages: requests as a browser sends them, with the session cookie.

pub const SESSION_COOKIE: &str = "__Host-opengp_session";

/// `GET uri` with the session cookie, if any.
pub fn get_request(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = req(Method::GET, uri);
    if let Some(c) = cookie {
        builder = builder.header("cookie", format!("{SESSION_COOKIE}={c}"));
    }
    builder.body(Body::empty()).unwrap()
}

/// A form post (`application/x-www-form-urlencoded`) with the session cookie, if any.
pub fn form_request(uri: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder =
        req(Method::POST, uri).header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        builder = builder.header("cookie", format!("{SESSION_COOKIE}={c}"));
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

/// A form body.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The session token a reply sets.
pub fn session_cookie(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("a session cookie is set");
    let value = set.strip_prefix(&format!("{SESSION_COOKIE}=")).expect(set);
    value.split(';').next().unwrap().to_string()
}

/// The CSRF token of the (first) form on a page.
pub fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect(page) + 19;
    page[at..].split('"').next().unwrap().to_string()
}

/// Signs in through the pages (password, then the authenticator code when the account
/// has a TOTP secret) and returns the signed-in session's cookie value.
pub async fn sign_in_with(
    api: &Api,
    username: &str,
    password: &str,
    totp_secret: Option<&str>,
) -> String {
    let anon = api.anonymous();
    let login = anon.send(get_request("/login?next=%2F", None)).await;
    let first = session_cookie(&login);
    let body = encode(&[
        ("csrf", &csrf_of(&login.text())),
        ("username", username),
        ("password", password),
        ("next", "/"),
    ]);
    let after = anon.send(form_request("/login", &body, Some(&first))).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "{}", after.text());
    let cookie = session_cookie(&after);
    let Some(secret) = totp_secret else {
        return cookie;
    };
    let secret = auth::totp::base32_decode(secret).expect("a base32 TOTP secret");
    let page = anon.send(get_request("/login/totp", Some(&cookie))).await;
    // A code is accepted once: move on to the next time step.
    api.clock.advance(std::time::Duration::from_secs(30));
    let code = auth::totp::code(&secret, api.clock.now_seconds());
    let body = encode(&[
        ("csrf", &csrf_of(&page.text())),
        ("code", &code),
        ("next", "/"),
    ]);
    let done = anon
        .send(form_request("/login/totp", &body, Some(&cookie)))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    session_cookie(&done)
}
