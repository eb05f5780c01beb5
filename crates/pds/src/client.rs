//! `HttpPds`: the adapter speaking the PDS FHIR R4 API over HTTP.
//!
//! Blocking (as the store is): callers on an async runtime run it on a blocking thread.
//! Logs name the interaction, the HTTP status and the request id only: never a query, a
//! path (it holds the NHS number) or a body.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use ureq::Agent;
use uuid::Uuid;

use crate::{Pds, PdsError, PdsPatient, SearchQuery, sensitive, spine};

const FHIR_JSON: &str = "application/fhir+json";
const JSON_PATCH: &str = "application/json-patch+json";

/// Supplies the OAuth bearer token for each request (the simulator accepts any).
pub trait AccessToken: Send + Sync {
    fn token(&self) -> Result<String, PdsError>;
}

impl<F> AccessToken for F
where
    F: Fn() -> Result<String, PdsError> + Send + Sync,
{
    fn token(&self) -> Result<String, PdsError> {
        self()
    }
}

/// The PDS FHIR API at `base` (e.g. `https://int.api.service.nhs.uk/personal-demographics/FHIR/R4`).
#[derive(Clone)]
pub struct HttpPds {
    base: String,
    agent: Agent,
    token: Arc<dyn AccessToken>,
    correlation_id: Option<String>,
}

/// A PDS answer: its status, ETag and parsed JSON body (if any).
struct Answer {
    status: u16,
    etag: Option<String>,
    body: Option<Value>,
}

impl HttpPds {
    /// Connect timeout 5 s, whole request 10 s.
    pub fn new(base: impl Into<String>, token: impl AccessToken + 'static) -> HttpPds {
        HttpPds::with_timeouts(base, token, Duration::from_secs(5), Duration::from_secs(10))
    }

    pub fn with_timeouts(
        base: impl Into<String>,
        token: impl AccessToken + 'static,
        connect: Duration,
        overall: Duration,
    ) -> HttpPds {
        let config = Agent::config_builder()
            .timeout_connect(Some(connect))
            .timeout_global(Some(overall))
            // PDS errors are OperationOutcomes we read, not transport failures.
            .http_status_as_error(false)
            .build();
        HttpPds {
            base: base.into().trim_end_matches('/').to_string(),
            agent: config.into(),
            token: Arc::new(token),
            correlation_id: None,
        }
    }

    /// The same adapter sending `X-Correlation-ID: id` (to tie PDS calls to the request
    /// that made them); without it each call gets a fresh one.
    pub fn with_correlation_id(&self, id: impl Into<String>) -> HttpPds {
        HttpPds {
            correlation_id: Some(id.into()),
            ..self.clone()
        }
    }

    fn headers<B>(
        &self,
        request: ureq::RequestBuilder<B>,
    ) -> Result<(ureq::RequestBuilder<B>, String), PdsError> {
        let request_id = Uuid::new_v4().to_string();
        let correlation_id = self
            .correlation_id
            .clone()
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        let request = request
            .header("X-Request-ID", &request_id)
            .header("X-Correlation-ID", &correlation_id)
            .header("Authorization", &format!("Bearer {}", self.token.token()?))
            .header("Accept", FHIR_JSON);
        Ok((request, request_id))
    }

    fn patient_url(&self, nhs_number: &str) -> Result<String, PdsError> {
        // Only ten digits go into the path; the check digit is for PDS to judge.
        let digits = fhir::nhs_number::normalize(nhs_number)
            .ok_or_else(|| PdsError::Invalid("an NHS number must be exactly ten digits".into()))?;
        Ok(format!("{}/Patient/{digits}", self.base))
    }
}

fn read_answer(
    interaction: &str,
    request_id: &str,
    sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Answer, PdsError> {
    let mut response = sent.map_err(|e| {
        tracing::warn!(interaction, request_id, error = %transport_kind(&e), "PDS unreachable");
        PdsError::Unavailable(transport_kind(&e))
    })?;
    let status = response.status().as_u16();
    tracing::debug!(interaction, request_id, status, "PDS answered");
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| PdsError::Unavailable(transport_kind(&e)))?;
    let body = serde_json::from_str(&text).ok();
    Ok(Answer { status, etag, body })
}

/// What went wrong on the wire, in words that carry no request details.
fn transport_kind(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "PDS did not answer in time".into(),
        ureq::Error::HostNotFound => "PDS host not found".into(),
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => "could not connect to PDS".into(),
        _ => "the connection to PDS failed".into(),
    }
}

/// The answer's body if it succeeded with a JSON resource, else the mapped error.
fn success_body(answer: Answer) -> Result<(Value, Option<String>), PdsError> {
    if !(200..300).contains(&answer.status) {
        return Err(spine::error_for(answer.status, answer.body.as_ref()));
    }
    match answer.body {
        Some(body) => Ok((body, answer.etag)),
        None => Err(PdsError::Unavailable(
            "PDS sent a response that is not JSON".into(),
        )),
    }
}

/// A Patient resource from PDS as a [`PdsPatient`], sensitive details stripped.
fn patient_from(
    mut resource: Value,
    score: Option<f64>,
    etag: Option<String>,
) -> Result<PdsPatient, PdsError> {
    if resource.get("resourceType").and_then(Value::as_str) != Some("Patient") {
        return Err(PdsError::Unavailable(
            "PDS sent something other than a Patient".into(),
        ));
    }
    sensitive::redact(&mut resource);
    let nhs_number = crate::nhs_number_of(&resource)
        .ok_or_else(|| PdsError::Unavailable("PDS sent a Patient without an NHS number".into()))?;
    let etag = etag.or_else(|| {
        let version = resource.pointer("/meta/versionId")?.as_str()?;
        Some(format!("W/\"{version}\""))
    });
    Ok(PdsPatient {
        nhs_number,
        score,
        etag,
        resource,
    })
}

/// `W/"3"` from `W/"3"`, `"3"` or `3`.
fn weak_etag(etag: &str) -> String {
    let version = etag.trim().trim_start_matches("W/").trim_matches('"');
    format!("W/\"{version}\"")
}

/// The PDS request body: `{"patches": [...]}`, from either that or a bare RFC 6902 array.
fn patch_body(patch: &Value) -> Value {
    match patch {
        Value::Array(_) => json!({ "patches": patch }),
        other => other.clone(),
    }
}

fn search_params(query: &SearchQuery) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    let text = [
        ("family", &query.family),
        ("given", &query.given),
        ("gender", &query.gender),
        ("address-postalcode", &query.postcode),
    ];
    for (name, value) in text {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            params.push((name, v.to_string()));
        }
    }
    if let Some(date) = query
        .birth_date
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let prefixed = ["eq", "ge", "le"].iter().any(|p| date.starts_with(p));
        params.push((
            "birthdate",
            if prefixed {
                date.to_string()
            } else {
                format!("eq{date}")
            },
        ));
    }
    if query.fuzzy {
        params.push(("_fuzzy-match", "true".into()));
    }
    if query.exact {
        params.push(("_exact-match", "true".into()));
    }
    if let Some(max) = query.max_results {
        params.push(("_max-results", max.to_string()));
    }
    params
}

impl Pds for HttpPds {
    fn search(&self, query: &SearchQuery) -> Result<Vec<PdsPatient>, PdsError> {
        let mut request = self.agent.get(&format!("{}/Patient", self.base));
        for (name, value) in search_params(query) {
            request = request.query(name, value);
        }
        let (request, request_id) = self.headers(request)?;
        let answer = read_answer("search", &request_id, request.call())?;
        let (bundle, _) = success_body(answer)?;
        if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return Err(PdsError::Unavailable(
                "PDS sent a search result that is not a Bundle".into(),
            ));
        }
        let entries = bundle
            .get("entry")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut patients = entries
            .into_iter()
            .filter_map(|mut entry| {
                let score = entry.pointer("/search/score").and_then(Value::as_f64);
                Some(patient_from(entry.get_mut("resource")?.take(), score, None))
            })
            .collect::<Result<Vec<_>, _>>()?;
        patients.sort_by(|a, b| b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)));
        Ok(patients)
    }

    fn retrieve(&self, nhs_number: &str) -> Result<PdsPatient, PdsError> {
        let url = self.patient_url(nhs_number)?;
        let (request, request_id) = self.headers(self.agent.get(&url))?;
        let answer = read_answer("retrieve", &request_id, request.call())?;
        let (resource, etag) = success_body(answer)?;
        patient_from(resource, None, etag)
    }

    fn update(&self, nhs_number: &str, etag: &str, patch: &Value) -> Result<PdsPatient, PdsError> {
        let url = self.patient_url(nhs_number)?;
        let request = self
            .agent
            .patch(&url)
            .header("Content-Type", JSON_PATCH)
            .header("If-Match", &weak_etag(etag));
        let (request, request_id) = self.headers(request)?;
        let body = patch_body(patch).to_string();
        let answer = read_answer("update", &request_id, request.send(body.as_bytes()))?;
        let (resource, etag) = success_body(answer)?;
        patient_from(resource, None, etag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_date_gets_eq_prefix_unless_it_has_one() {
        let mut q = SearchQuery {
            family: Some("Smith".into()),
            birth_date: Some("2010-10-22".into()),
            ..Default::default()
        };
        assert!(search_params(&q).contains(&("birthdate", "eq2010-10-22".into())));
        q.birth_date = Some("ge2010-01-01".into());
        assert!(search_params(&q).contains(&("birthdate", "ge2010-01-01".into())));
    }

    #[test]
    fn etags_are_sent_weak() {
        assert_eq!(weak_etag("W/\"3\""), "W/\"3\"");
        assert_eq!(weak_etag("3"), "W/\"3\"");
    }

    #[test]
    fn bare_patch_arrays_are_wrapped_as_pds_expects() {
        let ops = json!([{"op": "remove", "path": "/gender"}]);
        assert_eq!(patch_body(&ops), json!({"patches": ops}));
    }
}
