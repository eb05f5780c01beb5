//! Sensitive (restricted) patients: PDS must never reveal where they live or how to reach
//! them, and OpenGP must never pass that on even if a PDS response carried it.

use serde_json::Value;

/// The code system of `meta.security` confidentiality codes.
pub const CONFIDENTIALITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

/// Elements that reveal where a sensitive patient lives or how to reach them.
const HIDDEN_ELEMENTS: [&str; 5] = [
    "address",
    "telecom",
    "generalPractitioner",
    "managingOrganization",
    "contact",
];

/// Extensions that point at places near a sensitive patient (their pharmacies, their
/// birthplace): PDS withholds these too.
const HIDDEN_EXTENSIONS: [&str; 4] = [
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NominatedPharmacy",
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-PreferredDispenserOrganization",
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicalApplianceSupplier",
    "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
];

/// Is this Patient marked restricted (`R`), or more (`V`, `REDACTED`), in `meta.security`?
pub fn is_sensitive(patient: &Value) -> bool {
    let Some(labels) = patient.pointer("/meta/security").and_then(Value::as_array) else {
        return false;
    };
    labels.iter().any(|label| {
        let system = label.get("system").and_then(Value::as_str);
        let code = label.get("code").and_then(Value::as_str);
        system == Some(CONFIDENTIALITY_SYSTEM) && matches!(code, Some("R" | "V" | "REDACTED"))
    })
}

/// Removes what a sensitive patient's record must not show; leaves others unchanged.
pub fn redact(patient: &mut Value) {
    if !is_sensitive(patient) {
        return;
    }
    let Some(object) = patient.as_object_mut() else {
        return;
    };
    for element in HIDDEN_ELEMENTS {
        object.remove(element);
    }
    if let Some(Value::Array(extensions)) = object.get_mut("extension") {
        extensions.retain(|e| {
            let url = e.get("url").and_then(Value::as_str).unwrap_or_default();
            !HIDDEN_EXTENSIONS.contains(&url)
        });
        if extensions.is_empty() {
            object.remove("extension");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labelled(code: &str) -> Value {
        json!({
            "resourceType": "Patient",
            "meta": {"security": [{"system": CONFIDENTIALITY_SYSTEM, "code": code}]},
            "address": [{"postalCode": "LS1 6AE"}],
            "telecom": [{"system": "phone", "value": "01632960587"}],
            "generalPractitioner": [{"identifier": {"value": "Y12345"}}],
            "extension": [{"url": HIDDEN_EXTENSIONS[0]}, {"url": "https://example.org/kept"}],
        })
    }

    #[test]
    fn restricted_patient_loses_contact_details() {
        let mut p = labelled("R");
        redact(&mut p);
        for hidden in ["address", "telecom", "generalPractitioner"] {
            assert!(p.get(hidden).is_none(), "{hidden} survived");
        }
        assert_eq!(p["extension"], json!([{"url": "https://example.org/kept"}]));
    }

    #[test]
    fn unrestricted_patient_is_untouched() {
        let mut p = labelled("U");
        let before = p.clone();
        redact(&mut p);
        assert_eq!(p, before);
    }
}
