//! The `Prefer` header: what a write returns, and how strictly a search treats
//! parameters it does not know.
//!
//! Search handling defaults to lenient on the API, as the FHIR search rules allow: an
//! unknown parameter (fhirpy's `_totalMethod`, say) is ignored, reported in the Bundle's
//! OperationOutcome entry and left out of its self link, so off-the-shelf clients work
//! unchanged; `Prefer: handling=strict` makes it a 400. The workspace does not come
//! through here: its searches call the repository with `lenient: false`.

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Return {
    /// Headers only, no body.
    Minimal,
    /// The resource as stored (the default).
    #[default]
    Representation,
    /// An OperationOutcome describing what happened.
    OperationOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefer {
    pub return_: Return,
    /// `handling=lenient` (the default): unknown search parameters are ignored with a
    /// warning; `handling=strict` refuses them.
    pub lenient: bool,
}

impl Default for Prefer {
    fn default() -> Self {
        Prefer {
            return_: Return::default(),
            lenient: true,
        }
    }
}

impl Prefer {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut prefer = Prefer::default();
        let values = headers
            .get_all("prefer")
            .into_iter()
            .filter_map(|v| v.to_str().ok());
        for token in values.flat_map(|v| v.split([',', ';'])) {
            let Some((name, value)) = token.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_ascii_lowercase();
            match (name.trim().to_ascii_lowercase().as_str(), value.as_str()) {
                ("return", "minimal") => prefer.return_ = Return::Minimal,
                ("return", "representation") => prefer.return_ = Return::Representation,
                ("return", "operationoutcome") => prefer.return_ = Return::OperationOutcome,
                ("handling", "lenient") => prefer.lenient = true,
                ("handling", "strict") => prefer.lenient = false,
                _ => {}
            }
        }
        prefer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn prefer(v: &str) -> Prefer {
        let mut h = HeaderMap::new();
        h.insert("prefer", HeaderValue::from_str(v).unwrap());
        Prefer::from_headers(&h)
    }

    #[test]
    fn parses_return_and_handling() {
        assert_eq!(prefer("return=minimal").return_, Return::Minimal);
        assert_eq!(
            prefer("return=OperationOutcome, handling=lenient"),
            Prefer {
                return_: Return::OperationOutcome,
                lenient: true
            }
        );
        assert!(!prefer("handling=strict").lenient);
        assert!(prefer("return=minimal").lenient, "lenient is the default");
        assert_eq!(Prefer::from_headers(&HeaderMap::new()), Prefer::default());
    }
}
