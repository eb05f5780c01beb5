//! FHIR date, dateTime and instant values as inclusive ranges of microseconds since the
//! Unix epoch (UTC), honouring their precision: `2024` is the whole year. (Being written.)

/// The inclusive range `[lo, hi]` a FHIR date/dateTime/instant covers, or None if `s`
/// is not one.
pub fn parse_range(s: &str) -> Option<(i64, i64)> {
    let _ = s;
    None
}
