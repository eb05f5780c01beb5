//! The authorization endpoint (`GET/POST /oauth/authorize`): a signed-in member of staff
//! sees which app asks for what, in words, and allows or denies it. Errors found before
//! the app and its redirect URI are known good are shown here, never redirected
//! (RFC 6749 §4.1.2.1).

use super::form::{Fields, same_secret};
use super::html::{csrf_refused, escape, hidden, message_page, page, see_other};
use super::{blocking, session};
use crate::context::source_address;
use crate::state::AppState;
use auth::{AuthError, AuthorizeRequest, ErrorKind};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use store::Scopes;
use store::access::ScopeContext;

/// The authorization request's parameters, carried through the consent form.
const PARAMS: [&str; 9] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "aud",
    "patient",
];

fn authorize_request(fields: &Fields) -> AuthorizeRequest {
    let opt = |name: &str| fields.get(name).map(str::to_string);
    AuthorizeRequest {
        response_type: fields.text("response_type"),
        client_id: fields.text("client_id"),
        redirect_uri: fields.text("redirect_uri"),
        scope: fields.text("scope"),
        state: opt("state"),
        code_challenge: opt("code_challenge"),
        code_challenge_method: opt("code_challenge_method"),
        aud: opt("aud"),
        patient: opt("patient"),
    }
}

/// The app's redirect URI with `params` added to its query.
fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    see_other(&format!("{redirect_uri}{separator}{}", query.finish()))
}

/// An error: back to the app when RFC 6749 allows it, else a page for the user.
fn error_response(req: &AuthorizeRequest, e: &AuthError) -> Response {
    if e.kind == ErrorKind::Internal {
        tracing::error!(error = %e, "the authorization endpoint failed");
        return message_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sorry, there is a problem",
            "Try again later.",
        );
    }
    if !e.redirectable {
        return message_page(
            StatusCode::BAD_REQUEST,
            "The app's request cannot be accepted",
            &format!("{} Tell the app's supplier.", e.message),
        );
    }
    let mut params = vec![
        ("error", e.oauth_code()),
        ("error_description", e.message.as_str()),
    ];
    if let Some(state) = &req.state {
        params.push(("state", state));
    }
    redirect_with(&req.redirect_uri, &params)
}

/// One scope in words, e.g. "read and search all records you can see".
fn scope_in_words(scopes: &Scopes) -> Vec<String> {
    let mut lines: Vec<String> = scopes
        .resources
        .iter()
        .map(|s| {
            let verbs: Vec<&str> = [
                (s.create, "create"),
                (s.read, "read"),
                (s.update, "update"),
                (s.delete, "delete"),
                (s.search, "search"),
            ]
            .into_iter()
            .filter_map(|(allowed, verb)| allowed.then_some(verb))
            .collect();
            let what = match &s.rtype {
                Some(t) => format!("{t} records"),
                None => "all kinds of records".to_string(),
            };
            let whose = match s.context {
                ScopeContext::Patient => "of the one patient chosen",
                ScopeContext::User => "that you are allowed to see",
                ScopeContext::System => "of the whole practice",
            };
            format!("{} {what} {whose}", verbs.join(", "))
        })
        .collect();
    if scopes.has("offline_access") || scopes.has("online_access") {
        lines.push("keep this access after you close the app (until it is revoked)".into());
    }
    lines
}

fn hidden_params(req: &Fields) -> String {
    PARAMS
        .iter()
        .filter_map(|name| req.get(name).map(|v| hidden(name, v)))
        .collect()
}

fn consent_page(app: &str, scope: &str, fields: &Fields, csrf: &str) -> Response {
    let scopes = Scopes::parse(scope).unwrap_or_default();
    let items: String = scope_in_words(&scopes)
        .iter()
        .map(|line| format!("<li>{}</li>", escape(line)))
        .collect();
    let body = format!(
        "<p>The app <strong>{}</strong> is asking to use OpenGP as you. It would be able to:</p>\
         <ul>{items}</ul>\
         <p>Everything it does is recorded in the audit trail under your name.</p>\
         <form method=\"post\" action=\"/oauth/authorize\">{}{}\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Do not allow</button></form>",
        escape(app),
        hidden("csrf", csrf),
        hidden_params(fields),
    );
    page(StatusCode::OK, "Allow this app?", None, &body)
}

/// `patient/` scopes need a patient: until launch contexts exist, the user gives the
/// Patient id here, and the request comes back with it.
fn choose_patient_page(fields: &Fields) -> Response {
    let carried: String = PARAMS
        .iter()
        .filter(|name| **name != "patient")
        .filter_map(|name| fields.get(name).map(|v| hidden(name, v)))
        .collect();
    let body = format!(
        "<p>The app asks for one patient's records. Which patient?</p>\
         <form method=\"get\" action=\"/oauth/authorize\">{carried}\
         <p><label for=\"patient\">Patient id</label><br>\
         <input id=\"patient\" name=\"patient\" type=\"text\" autocomplete=\"off\" required></p>\
         <p><button type=\"submit\">Continue</button></p></form>"
    );
    page(StatusCode::OK, "Choose the patient", None, &body)
}

/// `GET /oauth/authorize`
pub async fn show(State(state): State<AppState>, parts: Parts) -> Response {
    let fields = Fields::from_query(parts.uri.query());
    if fields.has_repeats() {
        return message_page(
            StatusCode::BAD_REQUEST,
            "The app's request cannot be accepted",
            "A parameter is repeated in the request.",
        );
    }
    let current = match session::current(&state, &parts.headers).await {
        Ok(current) => current,
        Err(e) => return error_response(&AuthorizeRequest::default(), &e),
    };
    let Some((token, info)) = current.filter(|(_, info)| info.signed_in) else {
        let here = parts
            .uri
            .path_and_query()
            .map_or("/oauth/authorize", |p| p.as_str());
        let next = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", here)
            .finish();
        return see_other(&format!("/login?{next}"));
    };
    let req = authorize_request(&fields);
    let source = source_address(&parts);
    let checked = req.clone();
    let result = blocking(&state, move |auth| {
        let user = auth
            .session_context(&token, source.as_deref())?
            .ok_or_else(|| AuthError::new(ErrorKind::AccessDenied, "sign in first"))?;
        auth.check_authorize(&checked, &user)
    })
    .await;
    match result {
        Ok(consent) => consent_page(&consent.client_name, &consent.scope, &fields, &info.csrf),
        Err(e) if e.redirectable && req.patient.is_none() && req.scope.contains("patient/") => {
            choose_patient_page(&fields)
        }
        Err(e) => error_response(&req, &e),
    }
}

/// `POST /oauth/authorize`: the user's decision.
pub async fn decide(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    let current = match session::current(&state, &parts.headers).await {
        Ok(current) => current,
        Err(e) => return error_response(&AuthorizeRequest::default(), &e),
    };
    let Some((token, info)) = current.filter(|(_, info)| info.signed_in) else {
        return message_page(
            StatusCode::UNAUTHORIZED,
            "You are not signed in",
            "Your session has ended. Start again from the app.",
        );
    };
    if !same_secret(&info.csrf, &fields.text("csrf")) {
        return csrf_refused();
    }
    let req = authorize_request(&fields);
    let approve = fields.get("decision") == Some("approve");
    let source = source_address(&parts);
    let asked = req.clone();
    let result = blocking(&state, move |auth| {
        let user = auth
            .session_context(&token, source.as_deref())?
            .ok_or_else(|| AuthError::new(ErrorKind::AccessDenied, "sign in first"))?;
        if approve {
            auth.authorize(&asked, &user).map(Some)
        } else {
            // Validate first: a denial may only go back to a registered redirect URI.
            auth.check_authorize(&asked, &user).map(|_| None)
        }
    })
    .await;
    match result {
        Ok(Some(code)) => {
            let mut params = vec![("code", code.as_str())];
            if let Some(state) = &req.state {
                params.push(("state", state));
            }
            redirect_with(&req.redirect_uri, &params)
        }
        Ok(None) => {
            let denied = AuthError {
                redirectable: true,
                ..AuthError::new(ErrorKind::AccessDenied, "the user did not allow the app")
            };
            error_response(&req, &denied)
        }
        Err(e) => error_response(&req, &e),
    }
}
