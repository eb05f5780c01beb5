//! What a clinician typed in "Find a patient", read as one kind of search: an NHS
//! number, a postcode, or name words with or without a date of birth.

use super::{dates, postcode};
use crate::conventions::NHS_NUMBER_SYSTEM;
use chrono::NaiveDate;

/// The shortest query worth searching: one letter matches too many.
pub const MIN_LENGTH: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientQuery {
    /// Ten digits with a valid check digit (spaces removed).
    NhsNumber(String),
    /// A full postcode in its usual form (`LS6 1AB`).
    Postcode(String),
    /// The part of a postcode before the space (`LS6`).
    PostcodeDistrict(String),
    /// Name words and/or a date of birth.
    Person {
        /// Matched from the start of the surname.
        family: Option<String>,
        /// Matched from the start of a given name.
        given: Option<String>,
        /// Each matched from the start of any part of the name, either order.
        words: Vec<String>,
        birth_date: Option<NaiveDate>,
    },
}

/// Why a query cannot be searched (yet), in words for the person typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryProblem {
    TooShort,
    /// Digits, but not ten of them: probably still being typed.
    IncompleteNhsNumber,
    /// Ten digits whose check digit is wrong.
    InvalidNhsNumber,
    /// Something shaped like a date that is not one.
    InvalidDate(String),
}

impl QueryProblem {
    pub fn message(&self) -> String {
        match self {
            QueryProblem::TooShort => "Type at least 2 characters".to_string(),
            QueryProblem::IncompleteNhsNumber => "An NHS number has 10 digits".to_string(),
            QueryProblem::InvalidNhsNumber => {
                "That is not a valid NHS number: check the digits (the last one is a check digit)"
                    .to_string()
            }
            QueryProblem::InvalidDate(message) => message.clone(),
        }
    }
}

impl PatientQuery {
    /// Reads `text`; two-digit years in dates are taken as the latest one by `today`.
    pub fn parse(text: &str, today: NaiveDate) -> Result<PatientQuery, QueryProblem> {
        let text = text.trim();
        if text.chars().filter(|c| !c.is_whitespace()).count() < MIN_LENGTH {
            return Err(QueryProblem::TooShort);
        }
        let digits: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if !dates::looks_like_date(text) && digits.bytes().all(|b| b.is_ascii_digit()) {
            return nhs_number(&digits);
        }
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(code) = postcode::normalize(text) {
            return Ok(PatientQuery::Postcode(code));
        }
        let upper = compact.to_ascii_uppercase();
        if !text.contains(' ') && postcode::is_outward(&upper) {
            return Ok(PatientQuery::PostcodeDistrict(upper));
        }
        person(text, today)
    }

    /// The FHIR search parameters of this query (without `_count` and `_sort`).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            PatientQuery::NhsNumber(n) => vec![("identifier", format!("{NHS_NUMBER_SYSTEM}|{n}"))],
            PatientQuery::Postcode(code) => vec![("address-postalcode", code.clone())],
            PatientQuery::PostcodeDistrict(district) => {
                vec![("address-postalcode", district.clone())]
            }
            PatientQuery::Person {
                family,
                given,
                words,
                birth_date,
            } => {
                let mut params = Vec::new();
                if let Some(family) = family {
                    params.push(("family", family.clone()));
                }
                if let Some(given) = given {
                    params.push(("given", given.clone()));
                }
                for word in words {
                    params.push(("name", word.clone()));
                }
                if let Some(date) = birth_date {
                    params.push(("birthdate", date.format("%Y-%m-%d").to_string()));
                }
                params
            }
        }
    }
}

fn nhs_number(digits: &str) -> Result<PatientQuery, QueryProblem> {
    if digits.len() != 10 {
        return Err(QueryProblem::IncompleteNhsNumber);
    }
    if !fhir::nhs_number::is_valid(digits) {
        return Err(QueryProblem::InvalidNhsNumber);
    }
    Ok(PatientQuery::NhsNumber(digits.to_string()))
}

/// Name words and a date of birth: "smith 22/10/1970", "smith j", "smith, john",
/// "john smith", "22-10-1970".
fn person(text: &str, today: NaiveDate) -> Result<PatientQuery, QueryProblem> {
    let mut birth_date = None;
    let mut names = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || c == ',') {
        if word.is_empty() {
            continue;
        }
        if dates::looks_like_date(word) {
            let date = dates::parse_typed(word, today).map_err(QueryProblem::InvalidDate)?;
            birth_date = Some(date);
        } else {
            names.push(word.to_string());
        }
    }
    let comma = text.contains(',');
    let (family, given, words) = match names.as_slice() {
        [] => (None, None, vec![]),
        [family] => (Some(family.clone()), None, vec![]),
        // "smith, john" and "smith j": surname first.
        [family, given] if comma || given.chars().count() == 1 => {
            (Some(family.clone()), Some(given.clone()), vec![])
        }
        // "john smith" or "smith john": each word anywhere in the name.
        _ => (None, None, names),
    };
    Ok(PatientQuery::Person {
        family,
        given,
        words,
        birth_date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PatientQuery, QueryProblem> {
        PatientQuery::parse(text, NaiveDate::from_ymd_opt(2026, 5, 1).unwrap())
    }

    #[test]
    fn nhs_numbers_with_or_without_spaces() {
        for text in ["9434765919", "943 476 5919", " 943 4765 919 "] {
            assert_eq!(
                parse(text),
                Ok(PatientQuery::NhsNumber("9434765919".into()))
            );
        }
        assert_eq!(parse("943 476 5918"), Err(QueryProblem::InvalidNhsNumber));
        assert_eq!(parse("943 476"), Err(QueryProblem::IncompleteNhsNumber));
    }

    #[test]
    fn postcodes_and_districts() {
        assert_eq!(
            parse("ls6 1ab"),
            Ok(PatientQuery::Postcode("LS6 1AB".into()))
        );
        assert_eq!(
            parse("LS61AB"),
            Ok(PatientQuery::Postcode("LS6 1AB".into()))
        );
        assert_eq!(
            parse("ls6"),
            Ok(PatientQuery::PostcodeDistrict("LS6".into()))
        );
    }

    #[test]
    fn names_and_dates_of_birth() {
        let oct22 = NaiveDate::from_ymd_opt(1970, 10, 22);
        for text in [
            "smith 22/10/1970",
            "22-10-1970 smith",
            "smith 1970-10-22",
            "smith 22/10/70",
        ] {
            assert_eq!(
                parse(text),
                Ok(PatientQuery::Person {
                    family: Some("smith".into()),
                    given: None,
                    words: vec![],
                    birth_date: oct22,
                }),
                "{text}"
            );
        }
        let smith_j = parse("smith j").unwrap();
        assert_eq!(
            smith_j.params(),
            vec![("family", "smith".to_string()), ("given", "j".to_string())]
        );
        assert_eq!(
            parse("smith, john").unwrap().params(),
            vec![
                ("family", "smith".to_string()),
                ("given", "john".to_string())
            ]
        );
        assert_eq!(
            parse("john smith").unwrap().params(),
            vec![("name", "john".to_string()), ("name", "smith".to_string())]
        );
    }

    #[test]
    fn problems_are_explained() {
        assert_eq!(parse("s"), Err(QueryProblem::TooShort));
        assert_eq!(
            parse("s").unwrap_err().message(),
            "Type at least 2 characters"
        );
        assert_eq!(
            parse("smith 31/02/1970"),
            Err(QueryProblem::InvalidDate(
                "31/02/1970 is not a real date".into()
            ))
        );
    }
}
