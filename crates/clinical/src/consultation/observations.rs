//! The observations a consultation can record: what each is (SNOMED CT, and LOINC where
//! the demo practice and the R4 vital-signs profile use it), its UCUM unit, the values
//! that cannot be right (an error: nothing is saved) and the values that are possible but
//! worth a second look (a warning: saved once the clinician confirms).
//!
//! The codes are the ones the demo records use, so the summary's trends see both.

/// A plausibility band: values outside `plausible` are refused, values outside `usual`
/// are saved only after the clinician confirms them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub plausible: (f64, f64),
    pub usual: (f64, f64),
}

/// One kind of measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObservationKind {
    /// The form field (`obs_{key}`) and the draft key.
    pub key: &'static str,
    pub label: &'static str,
    pub snomed: (&'static str, &'static str),
    pub loinc: Option<(&'static str, &'static str)>,
    /// UCUM code, and how it is shown.
    pub ucum: &'static str,
    pub unit: &'static str,
    /// `vital-signs`, `laboratory` or `exam` (observation-category).
    pub category: &'static str,
    pub limits: Limits,
    /// Decimal places kept.
    pub decimals: u32,
}

// One catalogue row per call: the arguments are the table's columns.
#[allow(clippy::too_many_arguments)]
const fn kind(
    key: &'static str,
    label: &'static str,
    snomed: (&'static str, &'static str),
    loinc: Option<(&'static str, &'static str)>,
    (ucum, unit): (&'static str, &'static str),
    category: &'static str,
    plausible: (f64, f64),
    usual: (f64, f64),
    decimals: u32,
) -> ObservationKind {
    ObservationKind {
        key,
        label,
        snomed,
        loinc,
        ucum,
        unit,
        category,
        limits: Limits { plausible, usual },
        decimals,
    }
}

/// Systolic blood pressure: recorded as a pair with diastolic (see [`crate::conventions`]).
pub const SYSTOLIC: ObservationKind = kind(
    "bp_systolic",
    "Systolic blood pressure",
    ("271649006", "Systolic blood pressure"),
    Some(("8480-6", "Systolic blood pressure")),
    ("mm[Hg]", "mmHg"),
    "vital-signs",
    (50.0, 280.0),
    (90.0, 179.0),
    0,
);

pub const DIASTOLIC: ObservationKind = kind(
    "bp_diastolic",
    "Diastolic blood pressure",
    ("271650006", "Diastolic blood pressure"),
    Some(("8462-4", "Diastolic blood pressure")),
    ("mm[Hg]", "mmHg"),
    "vital-signs",
    (25.0, 180.0),
    (50.0, 109.0),
    0,
);

pub const WEIGHT: ObservationKind = kind(
    "weight",
    "Weight",
    ("27113001", "Body weight"),
    Some(("29463-7", "Body weight")),
    ("kg", "kg"),
    "vital-signs",
    (0.3, 350.0),
    (2.0, 200.0),
    1,
);

pub const HEIGHT: ObservationKind = kind(
    "height",
    "Height",
    ("50373000", "Body height measure"),
    Some(("8302-2", "Body height")),
    ("cm", "cm"),
    "vital-signs",
    (20.0, 250.0),
    (45.0, 210.0),
    1,
);

pub const BMI: ObservationKind = kind(
    "bmi",
    "Body mass index",
    ("60621009", "Body mass index"),
    Some(("39156-5", "Body mass index (BMI) [Ratio]")),
    ("kg/m2", "kg/m²"),
    "vital-signs",
    (8.0, 150.0),
    (15.0, 50.0),
    1,
);

/// Everything the form offers, in the order it shows them (BMI is computed, not typed).
pub const CATALOGUE: [ObservationKind; 13] = [
    SYSTOLIC,
    DIASTOLIC,
    kind(
        "pulse",
        "Pulse rate",
        ("364075005", "Heart rate"),
        Some(("8867-4", "Heart rate")),
        ("/min", "beats/min"),
        "vital-signs",
        (20.0, 250.0),
        (40.0, 130.0),
        0,
    ),
    kind(
        "respiratory_rate",
        "Respiratory rate",
        ("86290005", "Respiratory rate"),
        Some(("9279-1", "Respiratory rate")),
        ("/min", "breaths/min"),
        "vital-signs",
        (4.0, 80.0),
        (10.0, 30.0),
        0,
    ),
    kind(
        "temperature",
        "Temperature",
        ("386725007", "Body temperature"),
        Some(("8310-5", "Body temperature")),
        ("Cel", "°C"),
        "vital-signs",
        (30.0, 44.0),
        (35.0, 39.0),
        1,
    ),
    kind(
        "oxygen_saturation",
        "Oxygen saturation",
        ("103228002", "Hemoglobin saturation with oxygen"),
        Some((
            "59408-5",
            "Oxygen saturation in Arterial blood by Pulse oximetry",
        )),
        ("%", "%"),
        "vital-signs",
        (50.0, 100.0),
        (92.0, 100.0),
        0,
    ),
    WEIGHT,
    HEIGHT,
    kind(
        "peak_flow",
        "Peak flow",
        ("18491006", "Peak expiratory flow rate"),
        Some((
            "33452-4",
            "Maximum expiratory gas flow Respiratory system airway by Peak flow meter",
        )),
        ("L/min", "L/min"),
        "exam",
        (30.0, 1000.0),
        (100.0, 800.0),
        0,
    ),
    kind(
        "hba1c",
        "HbA1c",
        (
            "999791000000106",
            "Haemoglobin A1c level - IFCC standardised",
        ),
        Some((
            "59261-8",
            "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol",
        )),
        ("mmol/mol", "mmol/mol"),
        "laboratory",
        (10.0, 200.0),
        (20.0, 75.0),
        0,
    ),
    kind(
        "egfr",
        "eGFR",
        ("80274001", "Glomerular filtration rate"),
        Some((
            "62238-1",
            "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)",
        )),
        ("mL/min/{1.73_m2}", "mL/min/1.73m²"),
        "laboratory",
        (1.0, 200.0),
        (30.0, 150.0),
        0,
    ),
    kind(
        "cholesterol",
        "Total cholesterol",
        ("1005671000000105", "Serum cholesterol level"),
        Some(("14647-2", "Cholesterol [Moles/volume] in Serum or Plasma")),
        ("mmol/L", "mmol/L"),
        "laboratory",
        (0.5, 25.0),
        (2.0, 8.0),
        1,
    ),
    kind(
        "glucose",
        "Blood glucose",
        ("434912009", "Blood glucose concentration"),
        Some(("2339-0", "Glucose [Mass/volume] in Blood")),
        ("mmol/L", "mmol/L"),
        "laboratory",
        (0.5, 60.0),
        (3.5, 15.0),
        1,
    ),
];

/// The kind with this key.
pub fn by_key(key: &str) -> Option<&'static ObservationKind> {
    CATALOGUE.iter().chain([&BMI]).find(|k| k.key == key)
}

/// What a value says about itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Plausibility {
    Usual,
    /// Possible but unusual: the message asks the clinician to confirm.
    Unusual(String),
    /// Cannot be a real measurement.
    Implausible(String),
}

impl ObservationKind {
    /// Whether `value` is believable for this measurement.
    pub fn check(&self, value: f64) -> Plausibility {
        let (min, max) = self.limits.plausible;
        if value < min || value > max {
            return Plausibility::Implausible(format!(
                "{} {} is not a plausible {} ({}–{})",
                format_value(value, self.decimals),
                self.unit,
                self.label.to_lowercase(),
                format_value(min, self.decimals),
                format_value(max, self.decimals),
            ));
        }
        let (low, high) = self.limits.usual;
        if value < low {
            Plausibility::Unusual(format!(
                "{} {} is a very low {}: check it is right",
                format_value(value, self.decimals),
                self.unit,
                self.label.to_lowercase()
            ))
        } else if value > high {
            Plausibility::Unusual(format!(
                "{} {} is a very high {}: check it is right",
                format_value(value, self.decimals),
                self.unit,
                self.label.to_lowercase()
            ))
        } else {
            Plausibility::Usual
        }
    }

    /// The value rounded to the places this measurement keeps.
    pub fn round(&self, value: f64) -> f64 {
        let scale = 10f64.powi(self.decimals as i32);
        (value * scale).round() / scale
    }
}

/// A number as the clinician would write it (no trailing `.0` on whole numbers).
pub fn format_value(value: f64, decimals: u32) -> String {
    let text = format!("{value:.*}", decimals as usize);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Body mass index from weight (kg) and height (cm), to one decimal place.
pub fn bmi(weight_kg: f64, height_cm: f64) -> Option<f64> {
    if weight_kg <= 0.0 || height_cm <= 0.0 {
        return None;
    }
    let metres = height_cm / 100.0;
    Some(BMI.round(weight_kg / (metres * metres)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_limits_nest() {
        let mut keys: Vec<&str> = CATALOGUE.iter().map(|k| k.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), CATALOGUE.len());
        for k in CATALOGUE.iter().chain([&BMI]) {
            let (pmin, pmax) = k.limits.plausible;
            let (umin, umax) = k.limits.usual;
            assert!(pmin <= umin && umin < umax && umax <= pmax, "{}", k.key);
        }
    }

    #[test]
    fn messages_name_the_value_and_the_range() {
        assert_eq!(
            SYSTOLIC.check(300.0),
            Plausibility::Implausible(
                "300 mmHg is not a plausible systolic blood pressure (50–280)".into()
            )
        );
        assert!(
            matches!(SYSTOLIC.check(185.0), Plausibility::Unusual(m) if m.contains("very high"))
        );
        assert_eq!(SYSTOLIC.check(128.0), Plausibility::Usual);
        assert_eq!(format_value(37.50, 1), "37.5");
    }
}
