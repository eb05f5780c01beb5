//! A request answered before its body was read (401, 429, 413, 415...) must still have
//! its body read: if the server closes the connection with the client's bytes unread, the
//! kernel resets it and the client, still sending, gets a broken pipe instead of the
//! status and `Retry-After`. So whatever a handler left of the body is read and thrown
//! away before the response goes out, up to a limit of bytes and of time.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{CONNECTION, EXPECT};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::state::AppState;

/// The longest a refused request's body is read for.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Hands the handler a body it can read or drop, and reads what it left (at most the
/// body limit again, for at most [`DRAIN_TIME`]) before answering.
pub async fn drain_unread_body(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    // A client that waits for `100 Continue` sends no body unless it is read (hyper
    // sends the 100 on the first read): an answer given without reading needs no drain.
    let waits_to_send = parts
        .headers
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let shared = Arc::new(Mutex::new(Some(body)));
    let polled = Arc::new(AtomicBool::new(false));
    let body = SharedBody {
        body: shared.clone(),
        polled: polled.clone(),
    };
    let req = Request::from_parts(parts, Body::new(body));
    let mut response = next.run(req).await;
    let rest = shared.lock().map(|mut b| b.take()).unwrap_or(None);
    let unread = waits_to_send && !polled.load(Ordering::Relaxed);
    if let Some(rest) = rest
        && (unread || !drain(rest, state.body_limit).await)
    {
        // Not all of it could be read: the connection cannot be reused.
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads and discards `body`; true if it ended within `max` bytes and [`DRAIN_TIME`].
async fn drain(mut body: Body, max: usize) -> bool {
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    let mut read = 0usize;
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
        match tokio::time::timeout_at(deadline, next).await {
            Ok(None) => return true,
            Ok(Some(Ok(frame))) => {
                read += frame.data_ref().map_or(0, Bytes::len);
                if read > max {
                    return false;
                }
            }
            Ok(Some(Err(_))) | Err(_) => return false,
        }
    }
}

/// The request body, kept where the middleware can still reach it once the handler has
/// dropped its side.
struct SharedBody {
    body: Arc<Mutex<Option<Body>>>,
    /// Whether the handler ever asked for the body.
    polled: Arc<AtomicBool>,
}

impl HttpBody for SharedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.polled.store(true, Ordering::Relaxed);
        let Ok(mut guard) = self.body.lock() else {
            return Poll::Ready(None);
        };
        let Some(body) = guard.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            // Read to the end: nothing left to drain.
            *guard = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body
            .lock()
            .map(|b| b.as_ref().is_none_or(HttpBody::is_end_stream))
            .unwrap_or(true)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .lock()
            .ok()
            .and_then(|b| b.as_ref().map(HttpBody::size_hint))
            .unwrap_or_default()
    }
}
