//! The Patient banner fields, typed (UK Core Patient).

use super::{NhsNumber, PersonName, Verification, parse_date, strings};
use chrono::NaiveDate;
use serde_json::Value;

/// FHIR administrative gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Female,
    Male,
    Other,
    Unknown,
}

impl Gender {
    pub fn from_code(code: &str) -> Option<Gender> {
        match code {
            "female" => Some(Gender::Female),
            "male" => Some(Gender::Male),
            "other" => Some(Gender::Other),
            "unknown" => Some(Gender::Unknown),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Other => "other",
            Gender::Unknown => "unknown",
        }
    }

    /// `Female`, `Male`, `Other`, `Unknown`.
    pub fn display(self) -> &'static str {
        match self {
            Gender::Female => "Female",
            Gender::Male => "Male",
            Gender::Other => "Other",
            Gender::Unknown => "Unknown",
        }
    }

    /// The display of a recorded gender, `Not recorded` when there is none.
    pub fn text(gender: Option<Gender>) -> &'static str {
        gender.map(Gender::display).unwrap_or("Not recorded")
    }
}

/// A phone number or email address (ContactPoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telecom {
    /// `phone`, `email`, …
    pub system: String,
    pub value: String,
    /// `home`, `mobile`, `work`, …
    pub use_: Option<String>,
    /// 1 marks the preferred one.
    pub rank: Option<u64>,
}

/// The fields of a Patient that a banner, a search result and a service need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientView {
    pub id: String,
    pub name: Option<PersonName>,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    /// The NHS number as recorded (not necessarily valid); see [`NhsNumber`].
    pub nhs_number: Option<String>,
    pub nhs_verification: Option<Verification>,
    /// The usual GP: the first `generalPractitioner` that is a Practitioner
    /// (`Practitioner/…`); the practice is the Organization one.
    pub usual_gp: Option<String>,
    /// The registered practice (`Organization/…` among `generalPractitioner`).
    pub practice: Option<String>,
    /// The current home address (else the first), as its lines then city, district and
    /// postcode.
    pub address: Vec<String>,
    pub postcode: Option<String>,
    pub telecom: Vec<Telecom>,
    /// Deceased: `Some(date)` when the date is known, `Some(None)` when only known.
    pub deceased: Option<Option<NaiveDate>>,
}

impl PatientView {
    pub fn of(patient: &Value) -> PatientView {
        let references = |prefix: &str| {
            patient["generalPractitioner"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g["reference"].as_str())
                .find(|r| r.starts_with(prefix))
                .map(str::to_string)
        };
        let address = current_home_address(patient);
        let deceased = match (
            patient["deceasedDateTime"].as_str(),
            patient["deceasedBoolean"].as_bool(),
        ) {
            (Some(d), _) => Some(parse_date(d)),
            (None, Some(true)) => Some(None),
            _ => None,
        };
        PatientView {
            id: patient["id"].as_str().unwrap_or_default().to_string(),
            name: PersonName::of(patient),
            gender: patient["gender"].as_str().and_then(Gender::from_code),
            birth_date: patient["birthDate"].as_str().and_then(parse_date),
            nhs_number: NhsNumber::recorded(patient),
            nhs_verification: Verification::of(patient),
            usual_gp: references("Practitioner/"),
            practice: references("Organization/"),
            address: address.map(address_lines).unwrap_or_default(),
            postcode: address
                .and_then(|a| a["postalCode"].as_str())
                .map(str::to_string),
            telecom: telecoms(patient),
            deceased,
        }
    }

    /// `SMITH, Ann Marie (Mrs)`, or `Name not recorded`.
    pub fn banner_name(&self) -> String {
        self.name
            .as_ref()
            .map(PersonName::banner)
            .unwrap_or_else(|| super::name::NO_NAME.to_string())
    }

    /// `943 476 5919` as recorded.
    pub fn nhs_number_text(&self) -> Option<String> {
        self.nhs_number.as_deref().map(NhsNumber::spaced)
    }
}

/// The current home address (no end date), else the first address.
fn current_home_address(patient: &Value) -> Option<&Value> {
    let addresses = patient["address"].as_array()?;
    addresses
        .iter()
        .find(|a| a["use"] == "home" && a["period"]["end"].is_null())
        .or_else(|| addresses.first())
}

fn address_lines(address: &Value) -> Vec<String> {
    let mut lines = strings(&address["line"]);
    for key in ["city", "district", "postalCode"] {
        if let Some(part) = address[key]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            lines.push(part.to_string());
        }
    }
    lines
}

fn telecoms(patient: &Value) -> Vec<Telecom> {
    patient["telecom"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["period"]["end"].is_null())
        .filter_map(|t| {
            Some(Telecom {
                system: t["system"].as_str()?.to_string(),
                value: t["value"].as_str()?.to_string(),
                use_: t["use"].as_str().map(str::to_string),
                rank: t["rank"].as_u64(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nhs_number::SYSTEM;
    use serde_json::json;

    #[test]
    fn the_banner_fields_of_a_uk_core_patient() {
        let p = json!({
            "resourceType": "Patient", "id": "p1",
            "identifier": [{"system": SYSTEM, "value": "9434765919", "extension": [{
                "url": super::super::VERIFICATION_EXTENSION,
                "valueCodeableConcept": {"coding": [{"system": super::super::VERIFICATION_SYSTEM, "code": "01"}]}}]}],
            "name": [{"use": "official", "family": "Smith", "given": ["Ann"], "prefix": ["Mrs"]}],
            "gender": "female",
            "birthDate": "1970-03-12",
            "generalPractitioner": [{"reference": "Organization/o1"}, {"reference": "Practitioner/gp1"}],
            "address": [
                {"use": "home", "line": ["1 Old Road"], "postalCode": "LS1 1AA", "period": {"end": "2020-01-01"}},
                {"use": "home", "line": ["2 High Street", "Flat 3"], "city": "Leeds", "postalCode": "LS2 9JT"}
            ],
            "telecom": [
                {"system": "phone", "value": "0113 496 0000", "use": "home", "rank": 1},
                {"system": "email", "value": "old@example.org", "period": {"end": "2021-01-01"}}
            ]
        });
        let v = PatientView::of(&p);
        assert_eq!(v.id, "p1");
        assert_eq!(v.banner_name(), "SMITH, Ann (Mrs)");
        assert_eq!(Gender::text(v.gender), "Female");
        assert_eq!(v.birth_date, NaiveDate::from_ymd_opt(1970, 3, 12));
        assert_eq!(v.nhs_number_text().as_deref(), Some("943 476 5919"));
        assert_eq!(v.nhs_verification, Some(Verification::Verified));
        assert_eq!(v.usual_gp.as_deref(), Some("Practitioner/gp1"));
        assert_eq!(v.practice.as_deref(), Some("Organization/o1"));
        assert_eq!(v.address, ["2 High Street", "Flat 3", "Leeds", "LS2 9JT"]);
        assert_eq!(v.postcode.as_deref(), Some("LS2 9JT"));
        assert_eq!(v.telecom.len(), 1);
        assert_eq!(v.telecom[0].rank, Some(1));
        assert_eq!(v.deceased, None);
    }

    #[test]
    fn an_empty_patient_reads_as_not_recorded() {
        let v = PatientView::of(&json!({"resourceType": "Patient", "deceasedBoolean": true}));
        assert_eq!(v.banner_name(), "Name not recorded");
        assert_eq!(Gender::text(v.gender), "Not recorded");
        assert_eq!(v.nhs_number_text(), None);
        assert_eq!(v.deceased, Some(None));
        assert!(v.address.is_empty() && v.telecom.is_empty());
    }
}
