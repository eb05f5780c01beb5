//! Building blocks of FHIR values used across the generated records: decimals that keep
//! their digits, UCUM quantities, dates and times, and a stand-alone blood pressure.

use super::codes::{self, concept, hl7_concept};
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Number, Value, json};

/// The day every synthetic record ends. Fixed, so a seed always gives the same records.
pub fn record_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date")
}

/// A FHIR decimal with `places` digits after the point, from an integer count of
/// 10^-places units (keeps the digits exactly as written: 72.0 stays 72.0).
pub(super) fn decimal(units: i64, places: u32) -> Value {
    let text = if places == 0 {
        units.to_string()
    } else {
        let scale = 10i64.pow(places);
        format!(
            "{}.{:0width$}",
            units / scale,
            units % scale,
            width = places as usize
        )
    };
    Value::Number(text.parse::<Number>().expect("a decimal number"))
}

pub(super) fn quantity(value: Value, unit: &str, ucum: &str) -> Value {
    json!({"value": value, "unit": unit, "system": codes::UCUM, "code": ucum})
}

pub(super) fn date_time(day: NaiveDate, minutes_after_midnight: i64) -> String {
    let t = day.and_hms_opt(0, 0, 0).expect("midnight") + Duration::minutes(minutes_after_midnight);
    t.format("%Y-%m-%dT%H:%M:00Z").to_string()
}

pub(super) fn years_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let mut years = (to.year() - from.year()) as i64;
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    years
}

pub(super) fn add_years(day: NaiveDate, years: i64) -> NaiveDate {
    day.checked_add_signed(Duration::days(years * 365 + years / 4))
        .expect("date in range")
}

/// A blood pressure reading (the R4 vital-signs panel, with systolic and diastolic
/// components) of the patient at `subject` (a reference).
pub fn blood_pressure_observation(
    subject: &str,
    when: &str,
    systolic: i64,
    diastolic: i64,
) -> Value {
    let mm = |v: i64| quantity(decimal(v, 0), "mmHg", "mm[Hg]");
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [hl7_concept("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")],
        "code": concept(&codes::BP_PANEL),
        "subject": {"reference": subject},
        "effectiveDateTime": when,
        "component": [
            {"code": concept(&codes::SYSTOLIC), "valueQuantity": mm(systolic)},
            {"code": concept(&codes::DIASTOLIC), "valueQuantity": mm(diastolic)}
        ]
    })
}
