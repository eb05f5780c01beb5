//! Bodies of HTML forms and OAuth requests (`application/x-www-form-urlencoded`), and
//! the cookies and client address pages need.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// A decoded form body or query string. Repeated fields keep their first value.
#[derive(Debug, Default, Clone)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(bytes: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(bytes).into_owned().collect())
    }

    pub fn from_query(query: Option<&str>) -> Fields {
        Fields::parse(query.unwrap_or_default().as_bytes())
    }

    /// The field's value, if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The fields in the order they were posted.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    /// Whether a field appears more than once (OAuth forbids repeated parameters).
    pub fn has_repeats(&self) -> bool {
        let mut names: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names.windows(2).any(|w| w[0] == w[1])
    }
}

/// The value of the cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Compares secrets without stopping at the first difference.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_fields_and_cookies() {
        let f = Fields::parse(b"a=1&b=&c=x%20y&a=2");
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.get("b"), None);
        assert_eq!(f.get("c"), Some("x y"));
        assert!(f.has_repeats());
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("x=1; __Host-s=abc"));
        assert_eq!(cookie(&headers, "__Host-s"), Some("abc"));
        assert_eq!(cookie(&headers, "y"), None);
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd"));
    }
}
