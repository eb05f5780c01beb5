//! Dates and times as every screen shows them: `07-Dec-2026`, `07-Dec-2026 09:30` in UK
//! time (the server's local time zone, which `opengp serve` sets to Europe/London).

use chrono::{DateTime, Local, NaiveDate};

/// `07-Dec-2026`: the one display form of a date (day, month abbreviation, year cannot be
/// misread as American).
pub fn date_text(date: NaiveDate) -> String {
    date.format("%d-%b-%Y").to_string()
}

/// `07-Dec-2026 09:30`: the one display form of a moment, in UK time.
pub fn date_time_text<Tz: chrono::TimeZone>(moment: &DateTime<Tz>) -> String {
    moment
        .with_timezone(&Local)
        .format("%d-%b-%Y %H:%M")
        .to_string()
}

/// The calendar date of a FHIR date or dateTime (a year or year-month is its first day;
/// a dateTime's date as written).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let day = text.get(..10).unwrap_or(text);
    match day.len() {
        10 => NaiveDate::parse_from_str(day, "%Y-%m-%d").ok(),
        7 => NaiveDate::parse_from_str(&format!("{day}-01"), "%Y-%m-%d").ok(),
        4 => NaiveDate::parse_from_str(&format!("{day}-01-01"), "%Y-%m-%d").ok(),
        _ => None,
    }
}

/// [`date_text`] of a FHIR date or dateTime's date; `""` when absent or not a date.
pub fn fhir_date_text(fhir_date: Option<&str>) -> String {
    fhir_date
        .and_then(parse_date)
        .map(date_text)
        .unwrap_or_default()
}

/// A FHIR dateTime with its time in UK time (`07-Dec-2026 09:30`), or only its date
/// when it has no time (`07-Dec-2026`); `""` when absent or not a date.
pub fn fhir_date_time_text(fhir_date_time: Option<&str>) -> String {
    let Some(text) = fhir_date_time else {
        return String::new();
    };
    match DateTime::parse_from_rfc3339(text) {
        Ok(moment) => date_time_text(&moment),
        Err(_) => fhir_date_text(Some(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn dates_read_the_uk_way() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(date_text(d), "07-Dec-2026");
        assert_eq!(fhir_date_text(Some("1970-03-12")), "12-Mar-1970");
        assert_eq!(fhir_date_text(Some("2024-11-02T09:30:00Z")), "02-Nov-2024");
        assert_eq!(fhir_date_text(Some("1999")), "01-Jan-1999");
        assert_eq!(fhir_date_text(Some("1999-07")), "01-Jul-1999");
        assert_eq!(fhir_date_text(Some("nonsense")), "");
        assert_eq!(fhir_date_text(Some("2026-02-30")), "");
        assert_eq!(fhir_date_text(None), "");
    }

    #[test]
    fn date_times_are_shown_in_local_time() {
        // The expected text is computed through the same local zone, so the test holds
        // whatever TZ the test runs under (`opengp serve` sets Europe/London).
        let moment = Utc.with_ymd_and_hms(2026, 12, 7, 9, 30, 0).unwrap();
        let local = moment.with_timezone(&Local);
        assert_eq!(
            date_time_text(&moment),
            format!(
                "{} {}",
                date_text(local.date_naive()),
                local.format("%H:%M")
            )
        );
        assert_eq!(
            fhir_date_time_text(Some("2026-12-07T09:30:00Z")),
            date_time_text(&moment)
        );
        assert_eq!(fhir_date_time_text(Some("2026-12-07")), "07-Dec-2026");
        assert_eq!(fhir_date_time_text(Some("bad")), "");
        assert_eq!(fhir_date_time_text(None), "");
    }
}
