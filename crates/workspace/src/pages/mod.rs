//! OpenGP's own pages: staff sign-in (password, then authenticator code), sign-out,
//! and the consent page of the OAuth authorization endpoint. Plain HTML
//! forms that work without JavaScript.

pub mod consent;
pub mod login;
pub mod session;

// Shared with the other apps (the OAuth endpoints use them too).
pub use web::auth_blocking as blocking;
pub use web::{form, html};

/// Where to go after signing in: a path on this server only (never `//host` or an
/// absolute URL, which would make the sign-in page an open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(
            safe_next(Some("/oauth/authorize?x=1")),
            "/oauth/authorize?x=1"
        );
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "evil"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
