//! What the server is configured with.

use crate::rate_limit::RateLimiter;
use auth::Auth;
use pds::Pds;
use std::sync::Arc;
use store::Repository;
use terminology::Terminology;

/// Request bodies larger than this are refused with 413 (16 MiB: a large transaction
/// Bundle fits, an accidental upload of a disk image does not).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The practice a server acts for: its staff sign in to it. Apps act for the practice
/// their registration belongs to.
pub const DEFAULT_PRACTICE: &str = "A81001";

#[derive(Clone)]
pub struct AppState {
    pub repo: Arc<Repository>,
    /// Sign-in, sessions and the OAuth authorization server.
    pub auth: Arc<Auth>,
    /// Requests per minute per app.
    pub limiter: Arc<RateLimiter>,
    /// The public base URL of the FHIR API (`https://gp.example/fhir`), used in Location
    /// headers and Bundle links. `None`: `http://{Host header}/fhir`.
    pub base_url: Option<String>,
    pub body_limit: usize,
    /// ODS code of the practice whose staff sign in to this server.
    pub practice: String,
    /// SNOMED CT concepts for coded entry (the starter set, or an imported release).
    pub terminology: Arc<Terminology>,
    /// The Personal Demographics Service (the real one, or the local simulator);
    /// `None`: tracing is unavailable and the registration page says so.
    pub pds: Option<Arc<dyn Pds>>,
    /// The bearer token `GET /metrics` asks for; `None`: the endpoint is off (404).
    pub metrics_token: Option<String>,
}

impl AppState {
    pub fn new(repo: Arc<Repository>, auth: Arc<Auth>) -> Self {
        AppState {
            repo,
            auth,
            limiter: Arc::new(RateLimiter::default()),
            base_url: None,
            body_limit: DEFAULT_BODY_LIMIT,
            practice: DEFAULT_PRACTICE.to_string(),
            terminology: Arc::new(Terminology::starter()),
            pds: None,
            metrics_token: None,
        }
    }

    pub fn with_terminology(mut self, terminology: Arc<Terminology>) -> Self {
        self.terminology = terminology;
        self
    }

    pub fn with_pds(mut self, pds: Arc<dyn Pds>) -> Self {
        self.pds = Some(pds);
        self
    }

    /// Turns `GET /metrics` on, for scrapers that send this bearer token.
    pub fn with_metrics_token(mut self, token: impl Into<String>) -> Self {
        self.metrics_token = Some(token.into());
        self
    }

    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into().trim_end_matches('/').to_string());
        self
    }

    pub fn with_practice(mut self, ods_code: impl Into<String>) -> Self {
        self.practice = ods_code.into();
        self
    }

    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }
}
