//! FHIR date, dateTime and instant values as inclusive ranges of microseconds since the
//! Unix epoch (UTC), honouring their precision: `2024` is the whole year.
//!
//! Parsed by hand rather than with chrono: stored values and search values arrive at
//! every precision from a year to sub-microseconds, and the range a value covers depends
//! on exactly which parts were written.

use chrono::{DateTime, SecondsFormat, Utc};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// The inclusive range `[lo, hi]` a FHIR date/dateTime/instant covers, or None if `s`
/// is not one. A time without a time zone is taken as UTC; search values may omit the
/// seconds (`2024-01-01T10:00`).
pub fn parse_range(s: &str) -> Option<(i64, i64)> {
    let mut p = Cursor {
        b: s.as_bytes(),
        pos: 0,
    };
    let year = p.digits(4)? as i32;
    if year == 0 {
        return None;
    }
    if p.done() {
        let lo = days_from_civil(year, 1, 1);
        let hi = days_from_civil(year + 1, 1, 1);
        return Some((lo * MICROS_PER_DAY, hi * MICROS_PER_DAY - 1));
    }
    p.expect(b'-')?;
    let month = p.digits(2)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    if p.done() {
        let lo = days_from_civil(year, month, 1);
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let hi = days_from_civil(ny, nm, 1);
        return Some((lo * MICROS_PER_DAY, hi * MICROS_PER_DAY - 1));
    }
    p.expect(b'-')?;
    let day = p.digits(2)?;
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let day_start = days_from_civil(year, month, day) * MICROS_PER_DAY;
    if p.done() {
        return Some((day_start, day_start + MICROS_PER_DAY - 1));
    }
    p.expect(b'T')?;
    let hour = p.digits(2)?;
    p.expect(b':')?;
    let minute = p.digits(2)?;
    if hour > 23 || minute > 59 {
        return None;
    }
    let mut start = day_start + (hour as i64 * 3600 + minute as i64 * 60) * MICROS_PER_SECOND;
    // The width of the last unit written.
    let mut span = 60 * MICROS_PER_SECOND;
    if p.peek() == Some(b':') {
        p.pos += 1;
        let second = p.digits(2)?;
        // FHIR allows a leap second (60); it is counted as the end of second 59.
        if second > 60 {
            return None;
        }
        start += second.min(59) as i64 * MICROS_PER_SECOND;
        span = MICROS_PER_SECOND;
        if p.peek() == Some(b'.') {
            p.pos += 1;
            let (fraction, places) = p.fraction()?;
            start += fraction;
            span = 10_i64.pow(6 - places);
        }
    }
    let offset = p.time_zone()?;
    if !p.done() {
        return None;
    }
    let lo = start - offset;
    Some((lo, lo + span - 1))
}

/// The current time in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// A FHIR instant with microseconds in UTC: `2026-11-21T05:45:56.123456Z`.
pub fn format_instant(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.pos == self.b.len()
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.pos += 1)
    }
    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let part = self.b.get(self.pos..self.pos + n)?;
        let mut v = 0;
        for &c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as u32;
        }
        self.pos += n;
        Some(v)
    }
    /// Fractional-second digits: the microseconds they give (extra digits beyond six
    /// are truncated) and how many places count (at most six).
    fn fraction(&mut self) -> Option<(i64, u32)> {
        let start = self.pos;
        let mut micros = 0_i64;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            if self.pos - start < 6 {
                micros = micros * 10 + (c - b'0') as i64;
            }
            self.pos += 1;
        }
        let places = (self.pos - start).min(6) as u32;
        if places == 0 {
            return None;
        }
        Some((micros * 10_i64.pow(6 - places), places))
    }
    /// `Z`, `+hh:mm`, `-hh:mm` or nothing (UTC), as microseconds ahead of UTC.
    fn time_zone(&mut self) -> Option<i64> {
        let sign = match self.peek() {
            None => return Some(0),
            Some(b'Z') => {
                self.pos += 1;
                return Some(0);
            }
            Some(b'+') => 1,
            Some(b'-') => -1,
            Some(_) => return None,
        };
        self.pos += 1;
        let hours = self.digits(2)?;
        self.expect(b':')?;
        let minutes = self.digits(2)?;
        if hours > 14 || minutes > 59 {
            return None;
        }
        Some(sign * (hours as i64 * 3600 + minutes as i64 * 60) * MICROS_PER_SECOND)
    }
}

fn is_leap_year(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap_year(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the well-known era-based
/// conversion: years counted from March so the leap day falls last).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = m as i64;
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn days_match_chrono() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (1900, 3, 1),
            (1, 1, 1),
            (9999, 12, 31),
            (1969, 12, 31),
        ] {
            let expected = chrono::NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .signed_duration_since(chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
                .num_days();
            assert_eq!(days_from_civil(y, m, d), expected, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn year_month_day_precision() {
        assert_eq!(
            parse_range("2024"),
            Some((
                micros("2024-01-01T00:00:00Z"),
                micros("2024-12-31T23:59:59.999999Z")
            ))
        );
        assert_eq!(
            parse_range("2024-02"),
            Some((
                micros("2024-02-01T00:00:00Z"),
                micros("2024-02-29T23:59:59.999999Z")
            ))
        );
        assert_eq!(
            parse_range("2023-02").unwrap().1,
            micros("2023-02-28T23:59:59.999999Z")
        );
        assert_eq!(
            parse_range("2023-12").unwrap().1,
            micros("2023-12-31T23:59:59.999999Z")
        );
        assert_eq!(
            parse_range("1974-12-25"),
            Some((
                micros("1974-12-25T00:00:00Z"),
                micros("1974-12-25T23:59:59.999999Z")
            ))
        );
        assert_eq!(parse_range("1969-12-31"), Some((-MICROS_PER_DAY, -1)));
    }

    #[test]
    fn times_zones_and_fractions() {
        let s = micros("2024-01-01T10:00:00Z");
        assert_eq!(
            parse_range("2024-01-01T10:00"),
            Some((s, s + 60 * MICROS_PER_SECOND - 1))
        );
        assert_eq!(
            parse_range("2024-01-01T10:00:00Z"),
            Some((s, s + MICROS_PER_SECOND - 1))
        );
        assert_eq!(
            parse_range("2024-01-01T10:00:00"),
            Some((s, s + MICROS_PER_SECOND - 1))
        );
        assert_eq!(
            parse_range("2024-01-01T11:30:00+01:30"),
            Some((s, s + MICROS_PER_SECOND - 1))
        );
        assert_eq!(
            parse_range("2024-01-01T05:00:00-05:00"),
            Some((s, s + MICROS_PER_SECOND - 1))
        );
        assert_eq!(
            parse_range("2024-01-01T10:00:00.5Z"),
            Some((s + 500_000, s + 599_999))
        );
        assert_eq!(
            parse_range("2024-01-01T10:00:00.123Z"),
            Some((s + 123_000, s + 123_999))
        );
        assert_eq!(
            parse_range("2024-01-01T10:00:00.123456Z"),
            Some((s + 123_456, s + 123_456))
        );
        assert_eq!(
            parse_range("2024-01-01T10:00:00.1234567891Z"),
            Some((s + 123_456, s + 123_456))
        );
        // Crossing midnight and the year with an offset.
        assert_eq!(
            parse_range("2024-01-01T00:30:00+01:00").unwrap().0,
            micros("2023-12-31T23:30:00Z")
        );
        // A leap second is the end of second 59.
        assert_eq!(
            parse_range("2016-12-31T23:59:60Z").unwrap().0,
            micros("2016-12-31T23:59:59Z")
        );
    }

    #[test]
    fn rejects_impossible_and_malformed() {
        for bad in [
            "",
            "24",
            "0000",
            "2024-13",
            "2024-00",
            "2024-02-30",
            "2023-02-29",
            "2024-04-31",
            "2024-1-01",
            "2024-01-01T",
            "2024-01-01T10",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:60:00Z",
            "2024-01-01T10:00:61Z",
            "2024-01-01T10:00:00.Z",
            "2024-01-01T10:00:00+1:00",
            "2024-01-01T10:00:00+15:00",
            "2024-01-01T10:00:00Zx",
            "2024-01-01 10:00:00",
            "2024-01-01Z",
            "abcd",
            "２０２４",
        ] {
            assert_eq!(parse_range(bad), None, "{bad:?}");
        }
        assert!(parse_range("2000-02-29").is_some());
        assert!(parse_range("1900-02-29").is_none());
    }

    proptest::proptest! {
        /// Agrees with chrono on every calendar date (valid or not) and time, at every
        /// fractional precision and offset.
        #[test]
        fn agrees_with_chrono(
            y in 1i32..=9999, m in 1u32..=12, d in 1u32..=31,
            h in 0u32..24, mi in 0u32..60, sec in 0u32..60,
            frac in proptest::option::of("[0-9]{1,9}"),
            offset_minutes in -14 * 60i64..=14 * 60,
        ) {
            let date = format!("{y:04}-{m:02}-{d:02}");
            let Some(naive) = chrono::NaiveDate::from_ymd_opt(y, m, d) else {
                proptest::prop_assert_eq!(parse_range(&date), None);
                return Ok(());
            };
            let day_start = naive.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros();
            proptest::prop_assert_eq!(parse_range(&date), Some((day_start, day_start + MICROS_PER_DAY - 1)));

            let sign = if offset_minutes < 0 { '-' } else { '+' };
            let zone = format!("{sign}{:02}:{:02}", offset_minutes.abs() / 60, offset_minutes.abs() % 60);
            let fraction = frac.as_ref().map(|f| format!(".{f}")).unwrap_or_default();
            let text = format!("{date}T{h:02}:{mi:02}:{sec:02}{fraction}{zone}");
            let expected = chrono::DateTime::parse_from_rfc3339(&text).unwrap().timestamp_micros();
            let places = frac.as_ref().map_or(0, |f| f.len().min(6) as u32);
            let span = 10_i64.pow(6 - places);
            // chrono rounds nothing: it truncates beyond nanoseconds, as we do beyond micros.
            proptest::prop_assert_eq!(parse_range(&text), Some((expected, expected + span - 1)));
        }
    }

    #[test]
    fn formats_instants() {
        assert_eq!(format_instant(1_000_000), "1970-01-01T00:00:01.000000Z");
        let now = now_micros();
        assert_eq!(parse_range(&format_instant(now)), Some((now, now)));
    }
}
