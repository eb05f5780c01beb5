//! Search-index values extracted from a resource by the standard R4 SearchParameters.

/// One indexed value of one search parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    /// `norm` is lower-cased, accent-free, whitespace-collapsed (see [`normalize`]) for the
    /// default and `:contains` matches; `exact` is the value as written, for `:exact`.
    String {
        norm: String,
        exact: String,
    },
    /// A coded value: Coding/CodeableConcept (system, code; `text` is the normalized
    /// display or CodeableConcept.text, for `:text`), Identifier (system, value),
    /// ContactPoint (value), code/boolean/id/string (code only).
    Token {
        system: Option<String>,
        code: Option<String>,
        text: Option<String>,
    },
    /// An inclusive range in microseconds since the Unix epoch (UTC): a date's whole day,
    /// a Period's start to end (open ends as i64::MIN / i64::MAX), and so on.
    Date {
        lo: i64,
        hi: i64,
    },
    Number {
        value: f64,
    },
    Quantity {
        value: f64,
        system: Option<String>,
        code: Option<String>,
        unit: Option<String>,
    },
    /// `Type/id` references are split into target type and id; `url` keeps the reference
    /// (or canonical URL) as written.
    Reference {
        target_type: Option<String>,
        target_id: Option<String>,
        url: String,
    },
    Uri {
        uri: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// The search parameter's code, e.g. `birthdate`.
    pub param: String,
    pub value: IndexValue,
}

/// Normalizes text for string search: lower case, accents removed, runs of white space
/// folded to one space, trimmed.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        for l in c.to_lowercase() {
            out.push(fold_accent(l));
        }
    }
    out
}

/// Maps common Latin accented letters to their base letter (é -> e).
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => 'u',
        'ý' | 'ÿ' => 'y',
        'ś' | 'š' => 's',
        'ź' | 'ż' | 'ž' => 'z',
        'ł' => 'l',
        'ř' => 'r',
        'ğ' => 'g',
        _ => c,
    }
}

/// Every index entry of `resource` (of type `resource_type`) for the standard search
/// parameters that apply to its type, except `_id` and `_lastUpdated`: stores search
/// those on the resource's own id and last-updated time.
pub fn extract(resource_type: &str, resource: &serde_json::Value) -> Vec<IndexEntry> {
    crate::extract::extract(resource_type, resource)
}
