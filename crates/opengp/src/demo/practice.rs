//! The demo practice itself: its Organization (with the ODS code), its clinicians
//! (Practitioner) and their roles there (PractitionerRole). Written with PUT at fixed
//! ids derived from the ODS code, so loading twice changes nothing and patient records
//! can refer to them before knowing any server-assigned id.

use super::codes::{ODS_CODE, REGISTERED_NURSE};
use serde_json::{Value, json};

pub const PRACTICE_NAME: &str = "Headingley Lane Surgery";

/// A member of the clinical team.
pub struct Clinician {
    /// Suffix of the Practitioner id: `{ods}-{key}`.
    pub key: &'static str,
    pub prefix: &'static str,
    pub given: &'static str,
    pub family: &'static str,
    pub gender: &'static str,
    /// Registration body identifier system and number.
    pub register: (&'static str, &'static str),
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Gp,
    Nurse,
    /// Healthcare assistant: blood pressures, bloods, dressings.
    Hca,
}

const GMC: &str = "https://fhir.hl7.org.uk/Id/gmc-number";
const NMC: &str = "https://fhir.hl7.org.uk/Id/nmc-number";
/// Healthcare assistants have no professional register: the practice's staff number.
const HCA: &str = "https://opengp.org.uk/Id/demo-staff-number";

pub const CLINICIANS: &[Clinician] = &[
    Clinician {
        key: "gp1",
        prefix: "Dr",
        given: "Sarah",
        family: "Lindqvist",
        gender: "female",
        register: (GMC, "7012345"),
        role: Role::Gp,
    },
    Clinician {
        key: "gp2",
        prefix: "Dr",
        given: "Rajesh",
        family: "Mistry",
        gender: "male",
        register: (GMC, "7023456"),
        role: Role::Gp,
    },
    Clinician {
        key: "gp3",
        prefix: "Dr",
        given: "Eleanor",
        family: "Gatenby",
        gender: "female",
        register: (GMC, "7034567"),
        role: Role::Gp,
    },
    Clinician {
        key: "gp4",
        prefix: "Dr",
        given: "Tomasz",
        family: "Wiśniewski",
        gender: "male",
        register: (GMC, "7045678"),
        role: Role::Gp,
    },
    Clinician {
        key: "gp5",
        prefix: "Dr",
        given: "Amara",
        family: "Okonkwo",
        gender: "female",
        register: (GMC, "7056789"),
        role: Role::Gp,
    },
    Clinician {
        key: "nurse1",
        prefix: "",
        given: "Joanne",
        family: "Pickersgill",
        gender: "female",
        register: (NMC, "05A1234E"),
        role: Role::Nurse,
    },
    Clinician {
        key: "nurse2",
        prefix: "",
        given: "Priya",
        family: "Chauhan",
        gender: "female",
        register: (NMC, "09C5678E"),
        role: Role::Nurse,
    },
    Clinician {
        key: "hca1",
        prefix: "",
        given: "Daniel",
        family: "Fairburn",
        gender: "male",
        register: (HCA, "HCA-0001"),
        role: Role::Hca,
    },
];

pub fn practitioner_id(ods: &str, key: &str) -> String {
    format!("{ods}-{key}")
}

/// `Practitioner/{id}` of each clinician with `role`.
pub fn references(ods: &str, role: Role) -> Vec<String> {
    CLINICIANS
        .iter()
        .filter(|c| c.role == role)
        .map(|c| format!("Practitioner/{}", practitioner_id(ods, c.key)))
        .collect()
}

fn put(rtype: &str, resource: Value) -> Value {
    let id = resource["id"]
        .as_str()
        .expect("practice resources have ids")
        .to_string();
    json!({"resource": resource, "request": {"method": "PUT", "url": format!("{rtype}/{id}")}})
}

fn organization(ods: &str) -> Value {
    json!({
        "resourceType": "Organization",
        "id": ods,
        "identifier": [{"system": ODS_CODE, "value": ods}],
        "active": true,
        "type": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/organization-type",
            "code": "prov",
            "display": "Healthcare Provider"
        }]}],
        "name": PRACTICE_NAME,
        // Ofcom's drama range for Leeds numbers (0113 496 0000 to 0999).
        "telecom": [{"system": "phone", "value": "0113 496 0123", "use": "work"}],
        "address": [{
            "use": "work",
            "line": ["1 Headingley Lane", "Headingley"],
            "city": "Leeds",
            "district": "West Yorkshire",
            "postalCode": "LS6 1AA",
            "country": "GB"
        }]
    })
}

fn practitioner(ods: &str, c: &Clinician) -> Value {
    let mut name = json!({"use": "official", "family": c.family, "given": [c.given]});
    if !c.prefix.is_empty() {
        name["prefix"] = json!([c.prefix]);
    }
    json!({
        "resourceType": "Practitioner",
        "id": practitioner_id(ods, c.key),
        "identifier": [{"system": c.register.0, "value": c.register.1}],
        "active": true,
        "name": [name],
        "gender": c.gender
    })
}

fn practitioner_role(ods: &str, c: &Clinician) -> Value {
    let code = match c.role {
        Role::Gp => json!({"coding": [{
            "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-SDSJobRoleName",
            "code": "R0260",
            "display": "General Medical Practitioner"
        }]}),
        Role::Nurse => {
            json!({"coding": [REGISTERED_NURSE.coding()], "text": "Practice nurse"})
        }
        Role::Hca => {
            json!({"text": "Healthcare assistant"})
        }
    };
    json!({
        "resourceType": "PractitionerRole",
        "id": format!("{}-role", practitioner_id(ods, c.key)),
        "active": true,
        "practitioner": {"reference": format!("Practitioner/{}", practitioner_id(ods, c.key))},
        "organization": {"reference": format!("Organization/{ods}")},
        "code": [code]
    })
}

/// A transaction Bundle creating (or re-stating) the practice and its clinicians.
pub fn practice_bundle(practice_ods: &str) -> Value {
    let mut entries = vec![put("Organization", organization(practice_ods))];
    for c in CLINICIANS {
        entries.push(put("Practitioner", practitioner(practice_ods, c)));
        entries.push(put("PractitionerRole", practitioner_role(practice_ods, c)));
    }
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}
