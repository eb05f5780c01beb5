//! URL-encoded parameters (query strings and `_search` form bodies), decoded strictly:
//! bytes that are not UTF-8 are refused rather than silently replaced, because a search
//! for a mangled name would quietly find nothing.

use crate::error::ApiError;
use percent_encoding::percent_decode;

/// Parameters the server itself handles; they are not passed to search or history.
const FORMAT_PARAMS: [&str; 2] = ["_format", "_pretty"];

/// Decodes `a=1&b=x%7Cy` into `[("a","1"), ("b","x|y")]`, keeping order and repeats.
pub fn parse(encoded: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    encoded
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

fn decode(part: &[u8]) -> Result<String, ApiError> {
    let with_spaces: Vec<u8> = part
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&with_spaces).collect();
    String::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("a URL parameter is not valid UTF-8"))
}

/// The parameters of a request's query string, split into those for the store and the
/// server's own `_format` and `_pretty`.
#[derive(Debug, Default, Clone)]
pub struct QueryParams {
    pub params: Vec<(String, String)>,
    pub format: Option<String>,
    pub pretty: bool,
    /// The raw query without `_format`/`_pretty`: the criteria of a conditional
    /// update or delete, passed on still encoded.
    pub criteria: String,
}

impl QueryParams {
    pub fn from_query(query: Option<&str>) -> Result<Self, ApiError> {
        let raw = query.unwrap_or("");
        let mut out = QueryParams::default();
        for (name, value) in parse(raw.as_bytes())? {
            match name.as_str() {
                "_format" => out.format = Some(value),
                "_pretty" => out.pretty = value == "true",
                _ => out.params.push((name, value)),
            }
        }
        out.criteria = raw
            .split('&')
            .filter(|pair| {
                let name = pair.split('=').next().unwrap_or("");
                !pair.is_empty() && !FORMAT_PARAMS.contains(&name)
            })
            .collect::<Vec<_>>()
            .join("&");
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_in_order_with_repeats() {
        let p = parse(b"name=Smith&identifier=https%3A%2F%2Ffhir.nhs.uk%7C943&name=J+Bloggs&flag")
            .unwrap();
        let expected = [
            ("name", "Smith"),
            ("identifier", "https://fhir.nhs.uk|943"),
            ("name", "J Bloggs"),
            ("flag", ""),
        ];
        assert_eq!(p, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    }

    #[test]
    fn refuses_invalid_utf8() {
        assert_eq!(parse(b"name=%FF%FE").unwrap_err().status, 400);
    }

    #[test]
    fn separates_format_params() {
        let q =
            QueryParams::from_query(Some("_format=json&identifier=a%7Cb&_pretty=true")).unwrap();
        assert_eq!(q.format.as_deref(), Some("json"));
        assert!(q.pretty);
        assert_eq!(
            q.params,
            vec![("identifier".to_string(), "a|b".to_string())]
        );
        assert_eq!(q.criteria, "identifier=a%7Cb");
    }
}
