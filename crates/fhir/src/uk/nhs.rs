//! The NHS number of a Patient, and how sure we are of it.

use crate::nhs_number;
use serde_json::Value;
use std::fmt;

/// UK Core extension on the NHS number identifier holding its verification status.
pub const VERIFICATION_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
/// The code system of [`Verification`] codes.
pub const VERIFICATION_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";

/// A valid NHS number: ten digits passing the Modulus 11 check. Shown `943 476 5919`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NhsNumber(String);

impl NhsNumber {
    /// Reads a number as people type it (spaces or dashes allowed), checking its digit.
    pub fn parse(text: &str) -> Result<NhsNumber, nhs_number::Invalid> {
        let digits = nhs_number::normalize(text.trim()).ok_or(nhs_number::Invalid::NotTenDigits)?;
        nhs_number::check(&digits)?;
        Ok(NhsNumber(digits))
    }

    /// The recorded NHS number of a Patient (its `identifier` with the NHS number system),
    /// as stored: not checked, since what the record says must be shown as it is.
    pub fn recorded(patient: &Value) -> Option<String> {
        nhs_identifier(patient)?["value"]
            .as_str()
            .map(str::to_string)
    }

    /// The Patient's NHS number if it is recorded and valid.
    pub fn of(patient: &Value) -> Option<NhsNumber> {
        Self::parse(&Self::recorded(patient)?).ok()
    }

    /// The ten digits, no spaces (as stored and searched).
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// `943 476 5919` for any text that is ten digits once spaces and dashes are taken
    /// out; anything else as it is (a recorded but malformed number is still shown).
    pub fn spaced(text: &str) -> String {
        nhs_number::format(text)
    }
}

impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        write!(f, "{} {} {}", &d[..3], &d[3..6], &d[6..])
    }
}

fn nhs_identifier(patient: &Value) -> Option<&Value> {
    patient["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["system"] == nhs_number::SYSTEM)
}

/// NHS number verification status (UK Core, England), `01` to `08`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// `01` Number present and verified (traced on PDS).
    Verified,
    /// `02` Number present but not traced.
    NotTraced,
    /// `03` Trace required.
    TraceRequired,
    /// `04` Trace attempted - No match or multiple match found.
    NoMatch,
    /// `05` Trace needs to be resolved.
    NeedsResolving,
    /// `06` Trace in progress.
    InProgress,
    /// `07` Number not present and trace not required.
    NotPresent,
    /// `08` Trace postponed (baby under six weeks old).
    Postponed,
}

impl Verification {
    pub const ALL: [Verification; 8] = [
        Verification::Verified,
        Verification::NotTraced,
        Verification::TraceRequired,
        Verification::NoMatch,
        Verification::NeedsResolving,
        Verification::InProgress,
        Verification::NotPresent,
        Verification::Postponed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Verification::Verified => "01",
            Verification::NotTraced => "02",
            Verification::TraceRequired => "03",
            Verification::NoMatch => "04",
            Verification::NeedsResolving => "05",
            Verification::InProgress => "06",
            Verification::NotPresent => "07",
            Verification::Postponed => "08",
        }
    }

    /// The code system's display.
    pub fn display(self) -> &'static str {
        match self {
            Verification::Verified => "Number present and verified",
            Verification::NotTraced => "Number present but not traced",
            Verification::TraceRequired => "Trace required",
            Verification::NoMatch => "Trace attempted - No match or multiple match found",
            Verification::NeedsResolving => {
                "Trace needs to be resolved - (NHS number or patient detail conflict)"
            }
            Verification::InProgress => "Trace in progress",
            Verification::NotPresent => "Number not present and trace not required",
            Verification::Postponed => "Trace postponed (baby under six weeks old)",
        }
    }

    pub fn from_code(code: &str) -> Option<Verification> {
        Self::ALL.into_iter().find(|v| v.code() == code)
    }

    /// The status recorded on a Patient's NHS number identifier, if any.
    pub fn of(patient: &Value) -> Option<Verification> {
        nhs_identifier(patient)?["extension"]
            .as_array()?
            .iter()
            .filter(|e| e["url"] == VERIFICATION_EXTENSION)
            .filter_map(|e| e["valueCodeableConcept"]["coding"].as_array())
            .flatten()
            .find(|c| c["system"] == VERIFICATION_SYSTEM)
            .and_then(|c| c["code"].as_str())
            .and_then(Self::from_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patient(number: &str, status: &str) -> Value {
        json!({"resourceType": "Patient", "identifier": [
            {"system": "https://example.org/mrn", "value": "X1"},
            {"system": nhs_number::SYSTEM, "value": number, "extension": [{
                "url": VERIFICATION_EXTENSION,
                "valueCodeableConcept": {"coding": [{"system": VERIFICATION_SYSTEM, "code": status}]}
            }]}
        ]})
    }

    #[test]
    fn parses_as_typed_and_checks_the_digit() {
        let n = NhsNumber::parse(" 943 476 5919 ").unwrap();
        assert_eq!(n.digits(), "9434765919");
        assert_eq!(n.to_string(), "943 476 5919");
        assert_eq!(NhsNumber::parse("943-476-5919"), Ok(n));
        assert_eq!(
            NhsNumber::parse("9434765918"),
            Err(nhs_number::Invalid::CheckDigit)
        );
        assert_eq!(
            NhsNumber::parse("94347659"),
            Err(nhs_number::Invalid::NotTenDigits)
        );
    }

    #[test]
    fn reads_the_number_and_its_status_from_a_patient() {
        let p = patient("9434765919", "01");
        assert_eq!(NhsNumber::recorded(&p).as_deref(), Some("9434765919"));
        assert_eq!(NhsNumber::of(&p).unwrap().to_string(), "943 476 5919");
        assert_eq!(Verification::of(&p), Some(Verification::Verified));
        assert_eq!(
            Verification::of(&patient("9434765919", "02")),
            Some(Verification::NotTraced)
        );
        assert_eq!(Verification::of(&patient("9434765919", "99")), None);
        // A malformed recorded number is shown as it is, but is not an NhsNumber.
        let bad = patient("9434765918", "02");
        assert_eq!(NhsNumber::recorded(&bad).as_deref(), Some("9434765918"));
        assert_eq!(NhsNumber::of(&bad), None);
        assert_eq!(NhsNumber::recorded(&json!({"identifier": []})), None);
    }

    #[test]
    fn spaced_three_three_four() {
        assert_eq!(NhsNumber::spaced("9434765919"), "943 476 5919");
        assert_eq!(NhsNumber::spaced("943 476 5919"), "943 476 5919");
        assert_eq!(NhsNumber::spaced("12345"), "12345");
    }

    #[test]
    fn every_status_round_trips_its_code() {
        for v in Verification::ALL {
            assert_eq!(Verification::from_code(v.code()), Some(v));
        }
    }
}
