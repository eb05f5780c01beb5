//! How record content reads on screen: codeable concepts by their words, values with
//! their units (dates, names, ages and NHS numbers: [`fhir::uk`]). Pure functions over
//! the stored JSON.

use crate::conventions::SNOMED;
use serde_json::Value;

/// The words of a CodeableConcept: its text, else the SNOMED CT display, else any display.
pub fn concept_text(concept: &Value) -> String {
    if let Some(text) = concept["text"].as_str() {
        return text.to_string();
    }
    let codings = concept["coding"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    codings
        .iter()
        .find(|c| c["system"] == SNOMED && c["display"].is_string())
        .or_else(|| codings.iter().find(|c| c["display"].is_string()))
        .and_then(|c| c["display"].as_str())
        .unwrap_or("Unnamed entry")
        .to_string()
}

/// The SNOMED CT code of a CodeableConcept, if it has one.
pub fn snomed_code(concept: &Value) -> Option<&str> {
    concept["coding"]
        .as_array()?
        .iter()
        .find(|c| c["system"] == SNOMED)
        .and_then(|c| c["code"].as_str())
}

/// Whether a CodeableConcept has this code (in any system) among its codings.
pub fn has_code(concept: &Value, code: &str) -> bool {
    concept["coding"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["code"] == code))
}

/// A Quantity as `82.5 kg` (the unit as written, else the UCUM code).
pub fn quantity_text(q: &Value) -> String {
    let Some(value) = number_text(&q["value"]) else {
        return String::new();
    };
    let unit = q["unit"]
        .as_str()
        .or_else(|| q["code"].as_str())
        .unwrap_or("");
    if unit.is_empty() {
        value
    } else {
        format!("{value} {unit}")
    }
}

/// A JSON number as written (keeps `82.0`'s digits the way serde_json prints them).
pub fn number_text(v: &Value) -> Option<String> {
    v.as_number().map(|n| n.to_string())
}

/// The value of an Observation in words: a quantity, a blood pressure pair, a coded
/// value, text; `""` if it has none.
pub fn observation_value(obs: &Value) -> String {
    if let Some(pair) = blood_pressure_pair(obs) {
        return pair;
    }
    if obs["valueQuantity"].is_object() {
        return quantity_text(&obs["valueQuantity"]);
    }
    if obs["valueCodeableConcept"].is_object() {
        return concept_text(&obs["valueCodeableConcept"]);
    }
    for key in [
        "valueString",
        "valueBoolean",
        "valueInteger",
        "valueDateTime",
    ] {
        match &obs[key] {
            Value::String(s) => return s.clone(),
            Value::Null => {}
            other => return other.to_string(),
        }
    }
    String::new()
}

/// `140/90 mmHg` when the Observation has systolic and diastolic components.
pub fn blood_pressure_pair(obs: &Value) -> Option<String> {
    let (systolic, diastolic) = blood_pressure_values(obs)?;
    Some(format!("{systolic}/{diastolic} mmHg"))
}

/// The systolic and diastolic values of a blood pressure Observation.
pub fn blood_pressure_values(obs: &Value) -> Option<(String, String)> {
    use crate::conventions::{DIASTOLIC, SYSTOLIC};
    let components = obs["component"].as_array()?;
    let find = |code: &str| {
        components
            .iter()
            .find(|c| has_code(&c["code"], code))
            .and_then(|c| number_text(&c["valueQuantity"]["value"]))
    };
    Some((find(SYSTOLIC.0)?, find(DIASTOLIC.0)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_with_units() {
        let bp = json!({"component": [
            {"code": {"coding": [{"code": "271649006"}]}, "valueQuantity": {"value": 142}},
            {"code": {"coding": [{"code": "271650006"}]}, "valueQuantity": {"value": 88}}
        ]});
        assert_eq!(observation_value(&bp), "142/88 mmHg");
        let weight = json!({"valueQuantity": {"value": 82.5, "unit": "kg"}});
        assert_eq!(observation_value(&weight), "82.5 kg");
        let text = json!({"valueString": "Feels better"});
        assert_eq!(observation_value(&text), "Feels better");
    }
}
