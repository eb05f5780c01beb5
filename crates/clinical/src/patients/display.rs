//! How patients are shown: "SMITH, John (Mr)", ages as "47y" or "8m", gender words.

use chrono::{Datelike, NaiveDate};
use serde_json::Value;

/// The name a patient is known by: the `official` name, else the first one.
pub fn main_name(patient: &Value) -> Option<&Value> {
    let names = patient["name"].as_array()?;
    names
        .iter()
        .find(|n| n["use"] == "official")
        .or_else(|| names.iter().find(|n| n["use"] == "usual"))
        .or_else(|| names.first())
}

/// "SMITH, John James (Mr)": the UK clinical style, surname first in capitals.
pub fn display_name(patient: &Value) -> String {
    let Some(name) = main_name(patient) else {
        return "(no name recorded)".to_string();
    };
    let family = name["family"].as_str().unwrap_or("").to_uppercase();
    let given = strings(&name["given"]).join(" ");
    let title = strings(&name["prefix"]).join(" ");
    let mut out = match (family.is_empty(), given.is_empty()) {
        (false, false) => format!("{family}, {given}"),
        (false, true) => family,
        (true, false) => given,
        (true, true) => name["text"]
            .as_str()
            .unwrap_or("(no name recorded)")
            .to_string(),
    };
    if !title.is_empty() {
        out.push_str(&format!(" ({title})"));
    }
    out
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Age as clinicians write it: years from 2, months under 2, weeks under 3 months, days
/// under 2 weeks.
pub fn age(birth: NaiveDate, on: NaiveDate) -> String {
    if on < birth {
        return String::new();
    }
    let mut months = (on.year() - birth.year()) * 12 + on.month() as i32 - birth.month() as i32;
    if on.day() < birth.day() {
        months -= 1;
    }
    let days = (on - birth).num_days();
    match (months, days) {
        (m, _) if m >= 24 => format!("{}y", m / 12),
        (m, d) if m >= 3 || d >= 91 => format!("{m}m"),
        (_, d) if d >= 14 => format!("{}w", d / 7),
        (_, d) => format!("{d}d"),
    }
}

/// "Female", "Male", "Other", "Unknown" for the FHIR administrative gender code.
pub fn gender(code: &str) -> &'static str {
    match code {
        "female" => "Female",
        "male" => "Male",
        "other" => "Other",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn names_read_surname_first() {
        let p = json!({"name": [
            {"use": "maiden", "family": "Jones", "given": ["Ann"]},
            {"use": "official", "family": "Smith", "given": ["Ann", "Marie"], "prefix": ["Mrs"]}
        ]});
        assert_eq!(display_name(&p), "SMITH, Ann Marie (Mrs)");
        assert_eq!(display_name(&json!({})), "(no name recorded)");
    }

    #[test]
    fn ages_in_the_units_clinicians_use() {
        assert_eq!(age(d(1970, 10, 22), d(2026, 10, 21)), "55y");
        assert_eq!(age(d(1970, 10, 22), d(2026, 10, 22)), "56y");
        assert_eq!(age(d(2025, 1, 10), d(2026, 5, 1)), "15m");
        assert_eq!(age(d(2026, 3, 1), d(2026, 4, 1)), "4w");
        assert_eq!(age(d(2026, 4, 25), d(2026, 5, 1)), "6d");
    }
}
