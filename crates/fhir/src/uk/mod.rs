//! The one typed view of the UK record: how UK Core / GP Connect shapes read, for every
//! screen and service. Pure functions over the stored JSON (`serde_json::Value`) and
//! small typed values that print the way UK clinical systems show them:
//!
//! - [`PersonName`]: `SMITH, Ann Marie (Mrs)` in banners and lists of patients,
//!   `Dr Sarah Lindqvist` for colleagues;
//! - [`Age`]: one rule (days, weeks, months, years), see its documentation;
//! - [`NhsNumber`]: Modulus 11 checked, shown `943 476 5919`, with its
//!   [`Verification`] status from the UK Core extension;
//! - dates: [`date_text`] `07-Dec-2026` and [`date_time_text`] `07-Dec-2026 09:30`
//!   (UK time);
//! - [`PatientView`]: the banner fields of a Patient.

mod age;
mod dates;
mod name;
mod nhs;
mod patient;

pub use age::{Age, AgeUnit};
pub use dates::{date_text, date_time_text, fhir_date_text, fhir_date_time_text, parse_date};
pub use name::{NO_NAME, PersonName};
pub use nhs::{NhsNumber, VERIFICATION_EXTENSION, VERIFICATION_SYSTEM, Verification};
pub use patient::{Gender, PatientView, Telecom};

/// The strings of a JSON array of strings (`given`, `prefix`, `line`), skipping others.
fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
