//! Server-rendered pages: one accessible layout (a language, a title, a main landmark,
//! an error summary linked to its field), HTML escaping, and the security headers every
//! page carries.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A problem with what was entered, shown in the error summary at the top of the page
/// and linked to the field (`field` is its id).
pub struct Problem<'a> {
    pub message: &'a str,
    pub field: &'a str,
}

/// A whole page: `body` is already HTML.
pub fn page(status: StatusCode, title: &str, problem: Option<Problem>, body: &str) -> Response {
    let title = escape(title);
    let summary = problem.map_or_else(String::new, |p| {
        format!(
            "<div role=\"alert\" aria-labelledby=\"error-summary-title\" tabindex=\"-1\">\
             <h2 id=\"error-summary-title\">There is a problem</h2>\
             <ul><li><a href=\"#{}\">{}</a></li></ul></div>",
            escape(p.field),
            escape(p.message)
        )
    });
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} - OpenGP</title></head>\
         <body><main id=\"main\"><h1>{title}</h1>{summary}{body}</main></body></html>\n"
    );
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A page that only says what went wrong.
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<p>{}</p><p><a href=\"/\">Go to the home page</a></p>",
        escape(message)
    );
    page(status, title, None, &body)
}

/// The page for a form posted without its session's CSRF token.
pub fn csrf_refused() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form did not come from this sign-in session. Go back, reload the page and try again.",
    )
}

/// 303 See Other to `location` (after a form post, the browser GETs the next page).
pub fn see_other(location: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// A hidden form field.
pub fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// Every page and OAuth answer: no framing, no scripts or styles from elsewhere, no
/// referrer (URLs can carry codes), nothing cached (pages show who is signed in).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'"),
    );
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">O'Brien & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Brien &amp; co&lt;/a&gt;"
        );
    }
}
