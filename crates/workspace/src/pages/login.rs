//! `GET/POST /login` (username and password), `GET/POST /login/totp` (authenticator
//! code) and `POST /logout`.

use super::form::{Fields, same_secret};
use super::html::{Problem, csrf_refused, escape, hidden, message_page, page, see_other};
use super::{blocking, safe_next, session};
use crate::context::source_address;
use crate::state::AppState;
use auth::{AuthError, ErrorKind, SignInStep};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

/// One message for a wrong username, a wrong password and a locked account, so the
/// page does not tell an attacker which usernames exist or are locked.
const SIGN_IN_FAILED: &str = "The username or password is not right, or the account is \
    locked after too many attempts. Check them and try again, or ask the practice manager.";
const CODE_FAILED: &str = "The code is not right, has been used already, or the account is \
    locked. Enter the next code your authenticator app shows.";

fn login_form(csrf: &str, next: &str, username: &str, problem: Option<&str>) -> Response {
    let status = if problem.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let body = format!(
        "<form method=\"post\" action=\"/login\" novalidate>{}{}\
         <p><label for=\"username\">Username</label><br>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" \
         autocapitalize=\"none\" spellcheck=\"false\" required value=\"{}\"></p>\
         <p><label for=\"password\">Password</label><br>\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required></p>\
         <p><button type=\"submit\">Continue</button></p></form>",
        hidden("csrf", csrf),
        hidden("next", next),
        escape(username),
    );
    let problem = problem.map(|message| Problem {
        message,
        field: "username",
    });
    page(status, "Sign in to OpenGP", problem, &body)
}

fn totp_form(csrf: &str, next: &str, problem: Option<&str>) -> Response {
    let status = if problem.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let body = format!(
        "<form method=\"post\" action=\"/login/totp\" novalidate>{}{}\
         <p><label for=\"code\">Code from your authenticator app</label><br>\
         <span id=\"code-hint\">6 digits</span><br>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" \
         pattern=\"[0-9]{{6}}\" maxlength=\"6\" autocomplete=\"one-time-code\" \
         aria-describedby=\"code-hint\" required></p>\
         <p><button type=\"submit\">Sign in</button></p></form>",
        hidden("csrf", csrf),
        hidden("next", next),
    );
    let problem = problem.map(|message| Problem {
        message,
        field: "code",
    });
    page(status, "Enter your authenticator code", problem, &body)
}

fn failure_page(e: &AuthError) -> Response {
    if e.kind == ErrorKind::CsrfMismatch {
        return csrf_refused();
    }
    tracing::error!(error = %e, "a sign-in step failed");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sorry, there is a problem",
        "Signing in failed. Try again later.",
    )
}

/// A new anonymous session and the sign-in form for it.
async fn fresh_login(
    state: &AppState,
    parts: &Parts,
    next: &str,
    problem: Option<&str>,
) -> Response {
    let practice = state.practice.clone();
    let source = source_address(parts);
    match blocking(state, move |auth| {
        auth.start_session(&practice, source.as_deref())
    })
    .await
    {
        Ok(new) => {
            let mut response = login_form(&new.csrf, next, "", problem);
            session::set(&mut response, &new.token);
            response
        }
        Err(e) => failure_page(&e),
    }
}

/// `GET /login`
pub async fn show_login(State(state): State<AppState>, parts: Parts) -> Response {
    let query = Fields::from_query(parts.uri.query());
    fresh_login(&state, &parts, &safe_next(query.get("next")), None).await
}

/// `POST /login`
pub async fn submit_login(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    let next = safe_next(form.get("next"));
    let Some(token) = session::token(&parts.headers) else {
        let expired = "Your sign-in session expired. Please sign in again.";
        return fresh_login(&state, &parts, &next, Some(expired)).await;
    };
    let (csrf, username, password) = (
        form.text("csrf"),
        form.text("username"),
        form.text("password"),
    );
    let source = source_address(&parts);
    let (given_csrf, given_user) = (csrf.clone(), username.clone());
    let result = blocking(&state, move |auth| {
        auth.sign_in_password(
            &token,
            &given_csrf,
            &given_user,
            &password,
            source.as_deref(),
        )
    })
    .await;
    match result {
        Ok(SignInStep::NeedsSecondFactor(new)) => {
            let target = format!(
                "/login/totp?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish()
            );
            let mut response = see_other(&target);
            session::set(&mut response, &new.token);
            response
        }
        Ok(SignInStep::SignedIn(new)) => {
            let mut response = see_other(&next);
            session::set(&mut response, &new.token);
            response
        }
        Err(e) if matches!(e.kind, ErrorKind::SignInFailed | ErrorKind::AccountLocked) => {
            login_form(&csrf, &next, &username, Some(SIGN_IN_FAILED))
        }
        Err(e) if e.kind == ErrorKind::SessionExpired => {
            fresh_login(&state, &parts, &next, Some(&e.message)).await
        }
        Err(e) => failure_page(&e),
    }
}

/// `GET /login/totp`: only for a session whose password was accepted.
pub async fn show_totp(State(state): State<AppState>, parts: Parts) -> Response {
    let next = safe_next(Fields::from_query(parts.uri.query()).get("next"));
    match session::current(&state, &parts.headers).await {
        Ok(Some((_, info))) if info.needs_second_factor => totp_form(&info.csrf, &next, None),
        Ok(_) => see_other("/login"),
        Err(e) => failure_page(&e),
    }
}

/// `POST /login/totp`
pub async fn submit_totp(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    let next = safe_next(form.get("next"));
    let Some(token) = session::token(&parts.headers) else {
        return see_other("/login");
    };
    let (csrf, code) = (form.text("csrf"), form.text("code"));
    let source = source_address(&parts);
    let given_csrf = csrf.clone();
    let result = blocking(&state, move |auth| {
        auth.sign_in_totp(&token, &given_csrf, &code, source.as_deref())
    })
    .await;
    match result {
        Ok(new) => {
            let mut response = see_other(&next);
            session::set(&mut response, &new.token);
            response
        }
        Err(e) if matches!(e.kind, ErrorKind::SignInFailed | ErrorKind::AccountLocked) => {
            totp_form(&csrf, &next, Some(CODE_FAILED))
        }
        Err(e) if matches!(e.kind, ErrorKind::SessionExpired | ErrorKind::AccessDenied) => {
            fresh_login(&state, &parts, &next, Some(&e.message)).await
        }
        Err(e) => failure_page(&e),
    }
}

/// `POST /logout`: ends the session and removes the cookie.
pub async fn logout(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    let current = match session::current(&state, &parts.headers).await {
        Ok(current) => current,
        Err(e) => return failure_page(&e),
    };
    let Some((token, info)) = current else {
        let mut response = see_other("/");
        session::clear(&mut response);
        return response;
    };
    if !same_secret(&info.csrf, &form.text("csrf")) {
        return csrf_refused();
    }
    let source = source_address(&parts);
    if let Err(e) = blocking(&state, move |auth| auth.sign_out(&token, source.as_deref())).await {
        return failure_page(&e);
    }
    let mut response = see_other("/");
    session::clear(&mut response);
    response
}
