//! Formats of FHIR primitive values in JSON: which JSON type each primitive uses, and
//! whether its value matches the type's regex (from the StructureDefinitions) and, for
//! dates, the calendar.

use crate::defs::Definitions;
use regex::bytes::{Regex, RegexBuilder};
use serde_json::Value;
use std::sync::OnceLock;

/// The R4 primitive types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Primitive {
    Base64Binary,
    Boolean,
    Canonical,
    Code,
    Date,
    DateTime,
    Decimal,
    Id,
    Instant,
    Integer,
    Markdown,
    Oid,
    PositiveInt,
    String,
    Time,
    UnsignedInt,
    Uri,
    Url,
    Uuid,
    Xhtml,
}

const ALL: [Primitive; 20] = [
    Primitive::Base64Binary,
    Primitive::Boolean,
    Primitive::Canonical,
    Primitive::Code,
    Primitive::Date,
    Primitive::DateTime,
    Primitive::Decimal,
    Primitive::Id,
    Primitive::Instant,
    Primitive::Integer,
    Primitive::Markdown,
    Primitive::Oid,
    Primitive::PositiveInt,
    Primitive::String,
    Primitive::Time,
    Primitive::UnsignedInt,
    Primitive::Uri,
    Primitive::Url,
    Primitive::Uuid,
    Primitive::Xhtml,
];

impl Primitive {
    /// The primitive named by a FHIR type code.
    pub(crate) fn from_code(code: &str) -> Option<Primitive> {
        ALL.iter().copied().find(|p| p.name() == code)
    }

    /// The FHIR type code.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Primitive::Base64Binary => "base64Binary",
            Primitive::Boolean => "boolean",
            Primitive::Canonical => "canonical",
            Primitive::Code => "code",
            Primitive::Date => "date",
            Primitive::DateTime => "dateTime",
            Primitive::Decimal => "decimal",
            Primitive::Id => "id",
            Primitive::Instant => "instant",
            Primitive::Integer => "integer",
            Primitive::Markdown => "markdown",
            Primitive::Oid => "oid",
            Primitive::PositiveInt => "positiveInt",
            Primitive::String => "string",
            Primitive::Time => "time",
            Primitive::UnsignedInt => "unsignedInt",
            Primitive::Uri => "uri",
            Primitive::Url => "url",
            Primitive::Uuid => "uuid",
            Primitive::Xhtml => "xhtml",
        }
    }

    /// The JSON type values of this primitive must have.
    fn json_type(self) -> &'static str {
        match self {
            Primitive::Boolean => "a JSON boolean",
            Primitive::Integer | Primitive::PositiveInt | Primitive::UnsignedInt => {
                "a JSON integer"
            }
            Primitive::Decimal => "a JSON number",
            _ => "a JSON string",
        }
    }
}

/// What is wrong with a primitive value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The JSON type is wrong (e.g. a decimal written as a string).
    WrongJsonType {
        expected: &'static str,
        found: &'static str,
    },
    /// A string that is empty or only whitespace.
    Blank,
    /// The value does not match the type's format (or is not a real calendar date).
    Format,
    /// An integer outside the type's range.
    Range,
    /// A string longer than FHIR's limit of 1 MiB.
    TooLong,
}

impl Problem {
    /// A diagnostics sentence for a value of type `p`.
    pub(crate) fn describe(&self, p: Primitive, value: &Value) -> String {
        match self {
            Problem::WrongJsonType { expected, found } => {
                format!("A {} value must be {expected}, not {found}", p.name())
            }
            Problem::Blank => format!("A {} value must not be empty or only whitespace", p.name()),
            Problem::Format => format!("{} is not a valid {}", quoted(value), p.name()),
            Problem::TooLong => format!(
                "A {} value must not be longer than {MAX_STRING_BYTES} bytes",
                p.name()
            ),
            Problem::Range => {
                let range = match p {
                    Primitive::PositiveInt => "1 to 2147483647",
                    Primitive::UnsignedInt => "0 to 2147483647",
                    _ => "-2147483648 to 2147483647",
                };
                format!(
                    "{} is not a valid {}: it must be in the range {range}",
                    quoted(value),
                    p.name()
                )
            }
        }
    }
}

/// The value as the client wrote it, in single quotes, shortened if long.
pub(crate) fn quoted(value: &Value) -> String {
    const MAX: usize = 100;
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.len() <= MAX {
        return format!("'{text}'");
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("'{}...'", &text[..end])
}

/// A short name of a JSON value's type, for diagnostics.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks one primitive value (never an array or null: the caller handles those).
pub(crate) fn check(p: Primitive, value: &Value) -> Result<(), Problem> {
    let wrong = || Problem::WrongJsonType {
        expected: p.json_type(),
        found: json_kind(value),
    };
    match p {
        Primitive::Boolean => match value {
            Value::Bool(_) => Ok(()),
            _ => Err(wrong()),
        },
        Primitive::Integer | Primitive::PositiveInt | Primitive::UnsignedInt => {
            let Value::Number(n) = value else {
                return Err(wrong());
            };
            check_integer(p, n)
        }
        Primitive::Decimal => {
            let Value::Number(n) = value else {
                return Err(wrong());
            };
            // serde_json only produces JSON numbers, but a Value may have been built in
            // code; the regex is the definition's.
            if matches_regex(p, n.as_str()) {
                Ok(())
            } else {
                Err(Problem::Format)
            }
        }
        _ => {
            let Value::String(s) = value else {
                return Err(wrong());
            };
            check_string(p, s)
        }
    }
}

fn check_integer(p: Primitive, n: &serde_json::Number) -> Result<(), Problem> {
    let text = n.as_str();
    if text.contains(['.', 'e', 'E']) {
        // 1.0 and 1e2 are numbers but not JSON integers as FHIR requires.
        return Err(Problem::Format);
    }
    let min = match p {
        Primitive::PositiveInt => 1,
        Primitive::UnsignedInt => 0,
        _ => i64::from(i32::MIN),
    };
    match n.as_i64() {
        Some(v) if (min..=i64::from(i32::MAX)).contains(&v) => Ok(()),
        _ => Err(Problem::Range),
    }
}

/// "Strings SHALL NOT exceed 1MB in size" (R4 datatypes); base64Binary and xhtml have
/// no such limit.
const MAX_STRING_BYTES: usize = 1024 * 1024;

fn check_string(p: Primitive, s: &str) -> Result<(), Problem> {
    if s.trim().is_empty() {
        return Err(Problem::Blank);
    }
    if s.len() > MAX_STRING_BYTES && matches!(p, Primitive::String | Primitive::Markdown) {
        return Err(Problem::TooLong);
    }
    let ok = match p {
        // The hottest types get direct checks equivalent to their regexes.
        Primitive::String | Primitive::Markdown => is_fhir_string(s),
        Primitive::Code => is_fhir_code(s),
        Primitive::Base64Binary => is_fhir_base64(s),
        Primitive::Id => crate::validate::is_valid_id(s),
        Primitive::Uri | Primitive::Url | Primitive::Canonical => !s.bytes().any(is_xsd_space),
        Primitive::Xhtml => is_xhtml_div(s),
        Primitive::Date | Primitive::DateTime | Primitive::Instant => {
            matches_regex(p, s) && is_real_calendar_date(s)
        }
        _ => matches_regex(p, s),
    };
    if ok { Ok(()) } else { Err(Problem::Format) }
}

/// Whitespace as the definitions' regexes mean `\s` (ASCII, as in XML Schema / Java).
fn is_xsd_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `[ \r\n\t\S]+`: anything non-empty except the vertical tab and form feed.
fn is_fhir_string(s: &str) -> bool {
    !s.is_empty() && !s.bytes().any(|b| b == 0x0b || b == 0x0c)
}

/// `[^\s]+(\s[^\s]+)*`: words separated by single whitespace characters.
fn is_fhir_code(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    !is_xsd_space(first)
        && !is_xsd_space(last)
        && !b
            .windows(2)
            .any(|w| is_xsd_space(w[0]) && is_xsd_space(w[1]))
}

/// `(\s*([0-9a-zA-Z\+/=]){4}\s*)+`: groups of four base64 characters, with whitespace
/// only between groups. (Attachments can be megabytes: this is one pass, no regex.)
fn is_fhir_base64(s: &str) -> bool {
    let mut chars = 0usize;
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') {
            chars += 1;
        } else if !(is_xsd_space(b) && chars.is_multiple_of(4)) {
            return false;
        }
    }
    chars > 0 && chars.is_multiple_of(4)
}

/// Narrative is XHTML whose root is a `div` (FHIR's txt-1/txt-2); the HTML itself is
/// not parsed here.
fn is_xhtml_div(s: &str) -> bool {
    let t = s.trim();
    t.starts_with("<div") && t.ends_with('>')
}

/// Checks the day of month of a `YYYY-MM-DD...` value (the regex allows 31 in every month).
fn is_real_calendar_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 10 {
        return true; // a year or year-month: the regex has checked it
    }
    let num =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    day <= days_in_month(year, month)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Does `s` match the regex of `p`'s type definition (anchored)? Types without a regex
/// accept anything.
fn matches_regex(p: Primitive, s: &str) -> bool {
    static REGEXES: OnceLock<Vec<Option<Regex>>> = OnceLock::new();
    let regexes = REGEXES.get_or_init(|| {
        let defs = Definitions::get();
        ALL.iter()
            .map(|p| {
                let pattern = defs.type_def(p.name())?.regex.as_deref()?;
                // Unicode off: `\s`/`\S` then mean what they mean in the XML Schema/Java
                // regexes the definitions were written for (ASCII whitespace).
                let re = RegexBuilder::new(&format!("^(?:{pattern})$"))
                    .unicode(false)
                    .build()
                    .expect("regexes in the FHIR definitions compile");
                Some(re)
            })
            .collect()
    });
    let index = ALL
        .iter()
        .position(|q| *q == p)
        .expect("every primitive is in ALL");
    regexes[index]
        .as_ref()
        .is_none_or(|re| re.is_match(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(p: Primitive, v: Value) -> bool {
        check(p, &v).is_ok()
    }

    #[test]
    fn every_primitive_type_in_the_model_is_known() {
        let defs = Definitions::get();
        for (name, t) in &defs.types {
            if t.kind == crate::defs::Kind::Primitive {
                assert!(Primitive::from_code(name).is_some(), "{name}");
            }
        }
        for p in ALL {
            assert_eq!(Primitive::from_code(p.name()), Some(p));
        }
    }

    #[test]
    fn dates_follow_the_calendar() {
        for good in ["1970", "1970-12", "1970-12-31", "2000-02-29", "2024-02-29"] {
            assert!(ok(Primitive::Date, json!(good)), "{good}");
        }
        for bad in [
            "1970-13-45",
            "1970-13",
            "1970-02-30",
            "1900-02-29",
            "2023-02-29",
            "1970-04-31",
            "70-01-01",
            "1970-1-1",
            "0000",
            "1970-01-01T10:00:00Z",
            "",
        ] {
            assert!(!ok(Primitive::Date, json!(bad)), "{bad}");
        }
    }

    #[test]
    fn date_times_need_a_zone_with_a_time() {
        for good in [
            "2015",
            "2015-02",
            "2015-02-07",
            "2015-02-07T13:28:17Z",
            "2015-02-07T13:28:17.239+02:00",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(ok(Primitive::DateTime, json!(good)), "{good}");
        }
        for bad in [
            "2015-02-07T13:28:17",
            "2015-02-07T13:28Z",
            "2015-02-30T10:00:00Z",
            "2015-02-07T24:00:00Z",
            "2015-02-07 13:28:17Z",
        ] {
            assert!(!ok(Primitive::DateTime, json!(bad)), "{bad}");
        }
    }

    #[test]
    fn instants_need_full_precision() {
        assert!(ok(
            Primitive::Instant,
            json!("2015-02-07T13:28:17.239+02:00")
        ));
        assert!(ok(Primitive::Instant, json!("2015-02-07T13:28:17Z")));
        for bad in ["2015-02-07", "2015-02-07T13:28:17", "2015-02-31T13:28:17Z"] {
            assert!(!ok(Primitive::Instant, json!(bad)), "{bad}");
        }
    }

    #[test]
    fn integers_are_json_integers_in_range() {
        assert!(ok(Primitive::Integer, json!(-5)));
        assert!(ok(Primitive::Integer, json!(2147483647)));
        assert_eq!(
            check(Primitive::Integer, &json!(2147483648_i64)),
            Err(Problem::Range)
        );
        assert_eq!(
            check(Primitive::Integer, &json!(-2147483649_i64)),
            Err(Problem::Range)
        );
        assert_eq!(
            check(Primitive::PositiveInt, &json!(0)),
            Err(Problem::Range)
        );
        assert!(ok(Primitive::UnsignedInt, json!(0)));
        assert_eq!(
            check(Primitive::UnsignedInt, &json!(-1)),
            Err(Problem::Range)
        );
        assert_eq!(check(Primitive::Integer, &json!(1.5)), Err(Problem::Format));
        let one_point_zero: Value = serde_json::from_str("1.0").unwrap();
        assert_eq!(
            check(Primitive::Integer, &one_point_zero),
            Err(Problem::Format)
        );
        assert!(matches!(
            check(Primitive::Integer, &json!("5")),
            Err(Problem::WrongJsonType { .. })
        ));
    }

    #[test]
    fn decimals_are_json_numbers() {
        let precise: Value = serde_json::from_str("1.50").unwrap();
        assert!(ok(Primitive::Decimal, precise));
        assert!(ok(Primitive::Decimal, json!(-3)));
        assert!(ok(
            Primitive::Decimal,
            serde_json::from_str("1e-3").unwrap()
        ));
        let err = check(Primitive::Decimal, &json!("1.5")).unwrap_err();
        assert_eq!(
            err,
            Problem::WrongJsonType {
                expected: "a JSON number",
                found: "a string"
            }
        );
        assert_eq!(
            err.describe(Primitive::Decimal, &json!("1.5")),
            "A decimal value must be a JSON number, not a string"
        );
    }

    #[test]
    fn booleans_are_json_booleans() {
        assert!(ok(Primitive::Boolean, json!(true)));
        assert!(!ok(Primitive::Boolean, json!("true")));
        assert!(!ok(Primitive::Boolean, json!(1)));
    }

    #[test]
    fn strings_must_have_content() {
        assert!(ok(Primitive::String, json!("Peter James")));
        assert!(ok(Primitive::String, json!(" padded\nmultiline ")));
        assert!(ok(Primitive::String, json!("Zoë\u{a0}Chalmers")));
        assert_eq!(check(Primitive::String, &json!("")), Err(Problem::Blank));
        assert_eq!(
            check(Primitive::String, &json!(" \t ")),
            Err(Problem::Blank)
        );
        assert_eq!(
            check(Primitive::String, &json!("a\u{0c}b")),
            Err(Problem::Format)
        );
        assert!(!ok(Primitive::String, json!(5)));
        let huge = "x".repeat(MAX_STRING_BYTES + 1);
        assert_eq!(
            check(Primitive::String, &json!(huge)),
            Err(Problem::TooLong)
        );
        assert!(ok(Primitive::String, json!("x".repeat(MAX_STRING_BYTES))));
        assert!(ok(
            Primitive::Base64Binary,
            json!("QUJD".repeat(MAX_STRING_BYTES / 4 + 1))
        ));
    }

    #[test]
    fn codes_ids_uris_and_friends() {
        assert!(ok(Primitive::Code, json!("entered-in-error")));
        assert!(ok(Primitive::Code, json!("two words")));
        assert!(!ok(Primitive::Code, json!("two  spaces")));
        assert!(!ok(Primitive::Code, json!(" lead")));
        assert!(ok(Primitive::Id, json!("example-1.2")));
        assert!(!ok(Primitive::Id, json!("has_underscore")));
        assert!(!ok(Primitive::Id, json!("a".repeat(65))));
        assert!(ok(Primitive::Uri, json!("http://example.org/fhir")));
        assert!(!ok(Primitive::Uri, json!("http://example.org/a b")));
        assert!(ok(Primitive::Oid, json!("urn:oid:1.2.3.4")));
        assert!(!ok(Primitive::Oid, json!("urn:oid:3.2")));
        assert!(ok(
            Primitive::Uuid,
            json!("urn:uuid:c757873d-ec9a-4326-a141-556f43239520")
        ));
        assert!(!ok(
            Primitive::Uuid,
            json!("c757873d-ec9a-4326-a141-556f43239520")
        ));
        assert!(ok(Primitive::Base64Binary, json!("SGVsbG8=")));
        assert!(!ok(Primitive::Base64Binary, json!("SGVsbG8")));
        assert!(ok(Primitive::Time, json!("09:30:00")));
        assert!(!ok(Primitive::Time, json!("9:30")));
        assert!(ok(
            Primitive::Xhtml,
            json!("<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>")
        ));
        assert!(!ok(Primitive::Xhtml, json!("plain text")));
    }

    proptest::proptest! {
        /// The direct checks of the hottest types agree with the definitions' regexes.
        #[test]
        fn direct_checks_match_the_regexes(s in "[ a+/=\\t\\n\\r\u{0b}\u{0c}.\\-:/_é\u{a0}Z09]{0,12}") {
            for (p, direct) in [
                (Primitive::String, is_fhir_string as fn(&str) -> bool),
                (Primitive::Markdown, is_fhir_string),
                (Primitive::Code, is_fhir_code),
                (Primitive::Base64Binary, is_fhir_base64),
                (Primitive::Id, crate::validate::is_valid_id),
                (Primitive::Uri, |s: &str| !s.bytes().any(is_xsd_space)),
            ] {
                proptest::prop_assert_eq!(direct(&s), matches_regex(p, &s), "{} {:?}", p.name(), s);
            }
        }

        #[test]
        fn base64_check_matches_its_regex(s in "[A+= \\n#]{0,10}") {
            proptest::prop_assert_eq!(is_fhir_base64(&s), matches_regex(Primitive::Base64Binary, &s), "{:?}", s);
        }
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "x".repeat(500);
        let q = quoted(&json!(long));
        assert!(q.len() < 120 && q.ends_with("...'"));
        assert_eq!(quoted(&json!("1970-13-45")), "'1970-13-45'");
    }
}
