//! Layers around every route: request ids, logging without patient data, panics turned
//! into 500s, and OperationOutcome bodies for errors axum produces itself.

use crate::context::{REQUEST_ID, request_context};
use crate::error::{ApiError, outcome_response};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fhir::Issue;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::{Level, Span};

/// Authenticates a FHIR request (see [`request_context`]) and applies the app's rate
/// limit; the handlers find the [`store::RequestContext`] in the request's extensions.
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let authenticated = match request_context(&parts, &state).await {
        Ok(a) => a,
        Err(refusal) => return refusal,
    };
    if let Err(wait) = state.limiter.check(
        &authenticated.client_id,
        authenticated.rate_limit_per_minute,
    ) {
        return too_many_requests(wait);
    }
    parts.extensions.insert(authenticated.ctx);
    next.run(Request::from_parts(parts, body)).await
}

fn too_many_requests(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = outcome_response(
        StatusCode::TOO_MANY_REQUESTS,
        &[Issue::error(
            "throttled",
            format!("the app has used its request limit: try again in {seconds} s"),
        )],
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// Keeps the client's `x-request-id` if it is a short plain token (it goes into the log),
/// otherwise assigns a new one; the response carries it back.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_plain_token(id));
    let id = given
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let value = HeaderValue::from_str(&id).expect("request ids are plain ASCII tokens");
    req.headers_mut().insert(REQUEST_ID, value.clone());
    let mut response = next.run(req).await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

fn is_plain_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Logs one span per request with the route pattern (`/fhir/{type}/{id}`), never the URI:
/// its query can hold NHS numbers and names. Bodies and headers are not logged.
pub fn trace_layer()
-> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, impl Fn(&Request<Body>) -> Span + Clone> {
    TraceLayer::new_for_http()
        .make_span_with(|req: &Request<Body>| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("(no route)", MatchedPath::as_str);
            let request_id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), route, request_id)
        })
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(tower_http::LatencyUnit::Millis),
        )
}

/// A panic anywhere below becomes a 500 OperationOutcome without details.
pub async fn catch_panic(req: Request, next: Next) -> Response {
    match CatchUnwind(Box::pin(next.run(req))).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("a request handler panicked");
            ApiError::internal().into_response()
        }
    }
}

struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// axum answers a method a route does not have with a bare 405; FHIR clients expect an
/// OperationOutcome (the Allow header is kept).
pub async fn method_not_allowed_outcome(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(CONTENT_TYPE)
    {
        return response;
    }
    let allow = response.headers().get(ALLOW).cloned();
    let mut outcome = outcome_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &[Issue::error(
            "not-supported",
            "this HTTP method is not supported on this URL",
        )],
    );
    if let Some(allow) = allow {
        outcome.headers_mut().insert(ALLOW, allow);
    }
    outcome
}

/// Any URL that is not part of the API.
pub async fn unknown_url() -> ApiError {
    ApiError::not_found("there is nothing at this URL; the FHIR API is under /fhir")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_gives_500_without_details() {
        async fn panics() -> &'static str {
            panic!("patient 9434765919 broke it")
        }
        let app = Router::new()
            .route("/boom", get(panics))
            .layer(axum::middleware::from_fn(catch_panic));
        let response = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 10_000)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("OperationOutcome") && !text.contains("9434765919"),
            "{text}"
        );
    }
}
