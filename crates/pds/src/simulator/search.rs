//! Patient search as PDS does it: parameter rules, exact / default / fuzzy matching on
//! names, birth date ranges and postcodes, and a score per match.

use std::ops::Bound;

use chrono::NaiveDate;
use serde_json::Value;

use super::Refusal;
use crate::spine;

/// Searches PDS returns at most this many patients for.
const MAX_RESULTS_LIMIT: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `_exact-match=true`: every value exactly as recorded.
    Exact,
    /// Neither flag: case-insensitive, `*` wildcards allowed.
    Default,
    /// `_fuzzy-match=true`: tolerant of spelling (prefixes, sound-alikes).
    Fuzzy,
}

#[derive(Debug, Clone, Copy)]
enum DateBound {
    Eq(NaiveDate),
    Ge(NaiveDate),
    Le(NaiveDate),
}

/// A parsed `GET /Patient` query.
#[derive(Debug)]
pub(crate) struct Criteria {
    family: Option<String>,
    given: Vec<String>,
    gender: Option<String>,
    birth_date: Vec<DateBound>,
    postcode: Option<String>,
    mode: Mode,
    pub(crate) max_results: usize,
}

fn search_data(diagnostics: impl Into<String>) -> Refusal {
    Refusal::bad_request(spine::INVALID_SEARCH_DATA, diagnostics)
}

fn invalid_field(value: &str, field: &str) -> String {
    format!("Invalid value - '{value}' in field '{field}'")
}

const NOT_ENOUGH: &str = "Not enough search parameters were provided to be able to make a search";

fn flag(value: &str, field: &str) -> Result<bool, Refusal> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Refusal::bad_request(
            spine::INVALID_VALUE,
            invalid_field(value, field),
        )),
    }
}

fn date_bound(value: &str) -> Result<DateBound, Refusal> {
    let (prefix, date) = match value.get(..2) {
        Some(p @ ("eq" | "ge" | "le")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .filter(|_| date.len() == 10)
        .ok_or_else(|| search_data(invalid_field(value, "birthdate")))?;
    Ok(match prefix {
        "ge" => DateBound::Ge(date),
        "le" => DateBound::Le(date),
        _ => DateBound::Eq(date),
    })
}

impl Criteria {
    /// Parses and checks the query parameters as PDS would, refusing what it refuses.
    pub(crate) fn parse(params: &[(String, String)]) -> Result<Criteria, Refusal> {
        let mut c = Criteria {
            family: None,
            given: Vec::new(),
            gender: None,
            birth_date: Vec::new(),
            postcode: None,
            mode: Mode::Default,
            max_results: 1,
        };
        let (mut fuzzy, mut exact) = (false, false);
        let mut any = false;
        for (name, value) in params {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            any = true;
            match name.as_str() {
                "family" => c.family = Some(value.to_string()),
                "given" => c.given.push(value.to_string()),
                "gender" => {
                    if !matches!(value, "male" | "female" | "other" | "unknown") {
                        return Err(search_data(invalid_field(value, "gender")));
                    }
                    c.gender = Some(value.to_string());
                }
                "birthdate" => c.birth_date.push(date_bound(value)?),
                "address-postalcode" | "address-postcode" => c.postcode = Some(value.to_string()),
                "_fuzzy-match" => fuzzy = flag(value, name)?,
                "_exact-match" => exact = flag(value, name)?,
                "_history" => {
                    flag(value, name)?;
                }
                "_max-results" => {
                    c.max_results = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_RESULTS_LIMIT).contains(n))
                        .ok_or_else(|| {
                            Refusal::bad_request(spine::INVALID_VALUE, invalid_field(value, name))
                        })?;
                }
                other => {
                    return Err(search_data(format!(
                        "Unsupported search parameter - '{other}'"
                    )));
                }
            }
        }
        if !any {
            return Err(Refusal::bad_request(spine::MISSING_VALUE, NOT_ENOUGH));
        }
        c.mode = match (fuzzy, exact) {
            (true, true) => {
                return Err(search_data(
                    "_fuzzy-match and _exact-match cannot be used together",
                ));
            }
            (true, false) => Mode::Fuzzy,
            (false, true) => Mode::Exact,
            (false, false) => Mode::Default,
        };
        c.check_sufficient()?;
        c.check_mode_rules()?;
        Ok(c)
    }

    fn check_sufficient(&self) -> Result<(), Refusal> {
        let has_date = !self.birth_date.is_empty();
        let simple = self.family.is_some() && has_date;
        let fuzzy =
            self.mode == Mode::Fuzzy && !self.given.is_empty() && self.gender.is_some() && has_date;
        if simple || fuzzy {
            Ok(())
        } else {
            Err(search_data(NOT_ENOUGH))
        }
    }

    fn check_mode_rules(&self) -> Result<(), Refusal> {
        let names = self.family.iter().chain(&self.given).chain(&self.postcode);
        for value in names {
            if let Some(star) = value.find('*') {
                if self.mode != Mode::Default {
                    return Err(search_data(
                        "Wildcards cannot be used with _fuzzy-match or _exact-match",
                    ));
                }
                if star < 2 {
                    return Err(search_data(
                        "A wildcard needs at least two characters before it",
                    ));
                }
            }
        }
        let ranged = self
            .birth_date
            .iter()
            .any(|b| !matches!(b, DateBound::Eq(_)));
        if self.mode == Mode::Fuzzy && ranged {
            return Err(search_data("Date ranges cannot be used with _fuzzy-match"));
        }
        Ok(())
    }

    /// The birth dates this search can match, as inclusive `YYYY-MM-DD` bounds.
    pub(crate) fn birth_date_range(&self) -> (Bound<String>, Bound<String>) {
        let (mut from, mut to) = (None::<NaiveDate>, None::<NaiveDate>);
        for bound in &self.birth_date {
            let (lower, upper) = match *bound {
                DateBound::Eq(d) => (Some(d), Some(d)),
                DateBound::Ge(d) => (Some(d), None),
                DateBound::Le(d) => (None, Some(d)),
            };
            from = from.max(lower);
            to = match (to, upper) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let bound =
            |d: Option<NaiveDate>| d.map_or(Bound::Unbounded, |d| Bound::Included(d.to_string()));
        (bound(from), bound(to))
    }

    /// How well `patient` matches: `None` if not at all, else a score in (0, 1].
    pub(crate) fn score(&self, patient: &Value) -> Option<f64> {
        let text = |pointer: &str| patient.pointer(pointer).and_then(Value::as_str);
        if let Some(gender) = &self.gender
            && text("/gender") != Some(gender.as_str())
        {
            return None;
        }
        if !self.birth_date.is_empty() {
            let born = NaiveDate::parse_from_str(text("/birthDate")?, "%Y-%m-%d").ok()?;
            let within = self.birth_date.iter().all(|bound| match *bound {
                DateBound::Eq(d) => born == d,
                DateBound::Ge(d) => born >= d,
                DateBound::Le(d) => born <= d,
            });
            if !within {
                return None;
            }
        }
        let names = patient.get("name").and_then(Value::as_array)?;
        let name_score = names
            .iter()
            .filter_map(|n| self.name_score(n))
            .reduce(f64::max)?;
        let postcode_score = match &self.postcode {
            None => 1.0,
            Some(wanted) => self.postcode_score(wanted, patient)?,
        };
        Some(((name_score * postcode_score) * 10_000.0).round() / 10_000.0)
    }

    fn name_score(&self, name: &Value) -> Option<f64> {
        let mut score = 1.0;
        if let Some(family) = &self.family {
            score *= self.term_score(family, name.get("family")?.as_str()?)?;
        }
        let givens: Vec<&str> = name
            .get("given")
            .and_then(Value::as_array)
            .map(|g| g.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for wanted in &self.given {
            score *= givens
                .iter()
                .filter_map(|g| self.term_score(wanted, g))
                .reduce(f64::max)?;
        }
        Some(score)
    }

    fn term_score(&self, wanted: &str, recorded: &str) -> Option<f64> {
        match self.mode {
            Mode::Exact => (wanted == recorded).then_some(1.0),
            Mode::Default => {
                wildcard_match(&wanted.to_lowercase(), &recorded.to_lowercase()).then_some(1.0)
            }
            Mode::Fuzzy => fuzzy_score(wanted, recorded),
        }
    }

    fn postcode_score(&self, wanted: &str, patient: &Value) -> Option<f64> {
        let wanted = normalize_postcode(wanted);
        let addresses = patient.get("address").and_then(Value::as_array);
        let matched = addresses.into_iter().flatten().any(|a| {
            let recorded = a
                .get("postalCode")
                .and_then(Value::as_str)
                .map(normalize_postcode);
            recorded.is_some_and(|r| wildcard_match(&wanted, &r))
        });
        match (matched, self.mode) {
            (true, _) => Some(1.0),
            // A fuzzy trace tolerates a changed postcode, at a cost.
            (false, Mode::Fuzzy) => Some(0.9),
            (false, _) => None,
        }
    }
}

/// `LS1 6AE`, `ls16ae` and ` LS16AE ` are the same postcode.
fn normalize_postcode(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// `pattern` equals `text`, or matches it with `*` standing for any run of characters.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(head) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let tail = parts.pop().unwrap_or_default();
    for part in parts {
        match remaining.find(part) {
            Some(i) => remaining = &remaining[i + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= tail.len() && remaining.ends_with(tail)
}

/// Same name ignoring case: 1; one a prefix of the other: 0.9; same sound: 0.85.
fn fuzzy_score(wanted: &str, recorded: &str) -> Option<f64> {
    let (w, r) = (wanted.to_lowercase(), recorded.to_lowercase());
    if w == r {
        Some(1.0)
    } else if w.len().min(r.len()) >= 3 && (w.starts_with(&r) || r.starts_with(&w)) {
        Some(0.9)
    } else if soundex(&w).is_some_and(|s| Some(s) == soundex(&r)) {
        Some(0.85)
    } else {
        None
    }
}

/// American Soundex (e.g. Smith, Smyth and Smythe are all S530).
fn soundex(name: &str) -> Option<String> {
    fn digit(c: char) -> Option<char> {
        Some(match c {
            'b' | 'f' | 'p' | 'v' => '1',
            'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => '2',
            'd' | 't' => '3',
            'l' => '4',
            'm' | 'n' => '5',
            'r' => '6',
            _ => return None,
        })
    }
    let letters: Vec<char> = name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let first = *letters.first()?;
    let mut code = first.to_ascii_uppercase().to_string();
    let mut last = digit(first);
    for &c in &letters[1..] {
        let d = digit(c);
        if let Some(d) = d
            && Some(d) != last
        {
            code.push(d);
            if code.len() == 4 {
                break;
            }
        }
        // 'h' and 'w' do not separate letters of the same code; vowels do.
        if !matches!(c, 'h' | 'w') {
            last = d;
        }
    }
    while code.len() < 4 {
        code.push('0');
    }
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soundex_groups_spellings() {
        assert_eq!(soundex("Smith").as_deref(), Some("S530"));
        assert_eq!(soundex("Smythe"), soundex("Smith"));
        assert_eq!(soundex("Robert").as_deref(), Some("R163"));
        assert_eq!(soundex("Ashcraft").as_deref(), Some("A261"));
        assert_ne!(soundex("Jones"), soundex("Smith"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("sm*", "smith"));
        assert!(wildcard_match("sm*h", "smith"));
        assert!(!wildcard_match("sm*x", "smith"));
        assert!(wildcard_match("ls1*", "ls16ae"));
        assert!(!wildcard_match("smith", "smithson"));
    }

    #[test]
    fn fuzzy_names() {
        assert_eq!(fuzzy_score("JANE", "Jane"), Some(1.0));
        assert_eq!(fuzzy_score("Jan", "Janet"), Some(0.9));
        assert_eq!(fuzzy_score("Smyth", "Smith"), Some(0.85));
        assert_eq!(fuzzy_score("Brown", "Smith"), None);
    }
}
