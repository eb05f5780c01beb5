//! Latest value and trend of one observable: the newest reading, the few before it,
//! the direction of the last change, and the points of a tiny sparkline (with a text
//! alternative, so the trend never lives only in a picture).

use super::display::{blood_pressure_values, number_text, observation_value};
use fhir::uk::fhir_date_text;
use serde_json::Value;

/// How many earlier readings are listed, and how many points the sparkline draws.
const PREVIOUS: usize = 3;
const SPARK_POINTS: usize = 8;
/// The sparkline's drawing box (the template's `viewBox`).
pub const SPARK_WIDTH: f64 = 80.0;
pub const SPARK_HEIGHT: f64 = 20.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub value: String,
    pub date: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub label: String,
    pub latest: Reading,
    /// Up to three earlier readings, newest first.
    pub previous: Vec<Reading>,
    /// `▲`, `▼` or `=` against the previous reading; `""` when there is none to compare.
    pub arrow: String,
    /// The same in words: "up from 138/84 mmHg".
    pub change: String,
    /// `points` of an SVG polyline (oldest first), `""` with fewer than three numbers.
    pub spark_points: String,
    /// What the sparkline shows, for screen readers.
    pub spark_label: String,
}

/// The trend of `readings` (newest first), or `None` if there are none.
pub fn trend_of(label: &str, readings: &[&Value]) -> Option<Trend> {
    let newest = readings.first()?;
    let reading = |o: &Value| Reading {
        value: observation_value(o),
        date: fhir_date_text(o["effectiveDateTime"].as_str()),
    };
    let latest = reading(newest);
    let previous: Vec<Reading> = readings
        .iter()
        .skip(1)
        .take(PREVIOUS)
        .map(|o| reading(o))
        .collect();
    let (arrow, change) = match (readings.get(1), numeric(newest)) {
        (Some(before), Some(now)) => match numeric(before) {
            Some(then) if now > then => ("▲", format!("up from {}", observation_value(before))),
            Some(then) if now < then => ("▼", format!("down from {}", observation_value(before))),
            Some(_) => ("=", "no change".to_string()),
            None => ("", String::new()),
        },
        _ => ("", String::new()),
    };
    let series: Vec<f64> = readings
        .iter()
        .take(SPARK_POINTS)
        .filter_map(|o| numeric(o))
        .collect();
    let (spark_points, spark_label) = sparkline(label, &series);
    Some(Trend {
        label: label.to_string(),
        latest,
        previous,
        arrow: arrow.to_string(),
        change,
        spark_points,
        spark_label,
    })
}

/// The number a trend follows: the value, or the systolic of a blood pressure.
fn numeric(obs: &Value) -> Option<f64> {
    if let Some((systolic, _)) = blood_pressure_values(obs) {
        return systolic.parse().ok();
    }
    number_text(&obs["valueQuantity"]["value"])?.parse().ok()
}

/// Polyline points for `newest_first` values, scaled into the drawing box.
fn sparkline(label: &str, newest_first: &[f64]) -> (String, String) {
    if newest_first.len() < 3 {
        return (String::new(), String::new());
    }
    let values: Vec<f64> = newest_first.iter().rev().copied().collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let step = SPARK_WIDTH / (values.len() - 1) as f64;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = i as f64 * step;
            let y = SPARK_HEIGHT - 2.0 - (v - lo) / span * (SPARK_HEIGHT - 4.0);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let words = format!(
        "{label} over the last {} readings: lowest {}, highest {}",
        values.len(),
        trim(lo),
        trim(hi)
    );
    (points.join(" "), words)
}

fn trim(v: f64) -> String {
    let text = format!("{v:.1}");
    text.strip_suffix(".0").unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn weight(kg: f64, date: &str) -> Value {
        json!({"valueQuantity": {"value": kg, "unit": "kg"}, "effectiveDateTime": date})
    }

    #[test]
    fn latest_first_with_direction_against_the_previous_reading() {
        let readings = [
            weight(82.5, "2024-03-01"),
            weight(84.0, "2023-03-01"),
            weight(83.0, "2022-03-01"),
        ];
        let refs: Vec<&Value> = readings.iter().collect();
        let t = trend_of("Weight", &refs).unwrap();
        assert_eq!(t.latest.value, "82.5 kg");
        assert_eq!(t.latest.date, "01-Mar-2024");
        assert_eq!(t.arrow, "▼");
        assert_eq!(t.change, "down from 84.0 kg");
        assert_eq!(t.previous.len(), 2);
        assert_eq!(t.spark_points.split(' ').count(), 3);
        assert!(
            t.spark_label.contains("lowest 82.5, highest 84"),
            "{}",
            t.spark_label
        );
    }

    #[test]
    fn one_reading_has_no_trend() {
        let only = weight(70.0, "2024-01-01");
        let t = trend_of("Weight", &[&only]).unwrap();
        assert_eq!((t.arrow.as_str(), t.spark_points.as_str()), ("", ""));
        assert!(trend_of("Weight", &[]).is_none());
    }
}
