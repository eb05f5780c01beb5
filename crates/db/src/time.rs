//! Timestamps: microseconds since the Unix epoch (UTC) in the database.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

fn to_datetime(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// FHIR instant with microseconds: `2026-11-21T05:45:56.123456Z`.
pub fn format_instant(micros: i64) -> String {
    to_datetime(micros).to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// HTTP date: `Sat, 21 Nov 2026 05:45:56 GMT`.
pub fn format_http_date(micros: i64) -> String {
    to_datetime(micros)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(
            super::format_instant(1_000_000),
            "1970-01-01T00:00:01.000000Z"
        );
        assert_eq!(super::format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
