//! The CapabilityStatement (`GET /fhir/metadata`): what this server actually supports,
//! so clients can rely on it.

use crate::operations;
use fhir::Definitions;
use serde_json::{Value, json};
use std::sync::OnceLock;

/// Search parameter types the store can search on. `composite` and `special` are not
/// implemented, so they are not advertised.
const SEARCHABLE_KINDS: [&str; 7] = [
    "string",
    "token",
    "date",
    "reference",
    "number",
    "quantity",
    "uri",
];

const TYPE_INTERACTIONS: [&str; 9] = [
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
];

const SYSTEM_INTERACTIONS: [&str; 4] = ["transaction", "batch", "search-system", "history-system"];

/// The statement for a server at `base_url`.
pub fn capability_statement(base_url: &str) -> Value {
    static STATEMENT: OnceLock<Value> = OnceLock::new();
    let mut statement = STATEMENT.get_or_init(build).clone();
    statement["implementation"]["url"] = json!(base_url);
    statement["rest"][0]["security"] = security(base_url);
    add_operations(&mut statement, base_url);
    statement
}

/// Each operation of the registry on the types (and the system) it is declared for,
/// with the URL of its OperationDefinition on this server.
fn add_operations(statement: &mut Value, base_url: &str) {
    let rest = &mut statement["rest"][0];
    let system: Vec<Value> = operations::for_type(None)
        .map(|op| operations::capability_entry(base_url, op))
        .collect();
    if !system.is_empty() {
        rest["operation"] = json!(system);
    }
    for resource in rest["resource"].as_array_mut().into_iter().flatten() {
        let rtype = resource["type"].as_str().unwrap_or("").to_string();
        let entries: Vec<Value> = operations::for_type(Some(&rtype))
            .map(|op| operations::capability_entry(base_url, op))
            .collect();
        if !entries.is_empty() {
            resource["operation"] = json!(entries);
        }
    }
}

/// The SMART on FHIR `security` element: OAuth 2.0 with SMART, and where its endpoints
/// are (the `oauth-uris` extension; clients should prefer
/// `.well-known/smart-configuration`).
fn security(base_url: &str) -> Value {
    let endpoints = crate::smart::Endpoints::of(base_url);
    json!({
        "extension": [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": [
                { "url": "authorize", "valueUri": endpoints.authorize },
                { "url": "token", "valueUri": endpoints.token },
                { "url": "revoke", "valueUri": endpoints.revoke },
            ],
        }],
        "cors": false,
        "service": [{
            "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "SMART-on-FHIR",
            }],
            "text": "OAuth 2.0 bearer tokens (SMART App Launch v2, SMART Backend Services)",
        }],
        "description": "Every interaction except metadata needs an OAuth 2.0 bearer token.",
    })
}

fn build() -> Value {
    let defs = Definitions::get();
    let resources: Vec<Value> = defs
        .resource_types()
        .into_iter()
        .map(resource_capability)
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": chrono::Utc::now().format("%Y-%m-%d").to_string(),
        "publisher": "OpenGP",
        "kind": "instance",
        "software": { "name": "OpenGP", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "OpenGP FHIR R4 server", "url": "" },
        "fhirVersion": defs.fhir_version,
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "resource": resources,
            "interaction": SYSTEM_INTERACTIONS.map(|code| json!({ "code": code })),
            // The parameters of a search across all types.
            "searchParam": search_params("Resource"),
        }],
    })
}

fn resource_capability(rtype: &str) -> Value {
    json!({
        "type": rtype,
        "interaction": TYPE_INTERACTIONS.map(|code| json!({ "code": code })),
        "versioning": "versioned-update",
        "readHistory": true,
        "updateCreate": true,
        "conditionalCreate": true,
        "conditionalRead": "not-supported",
        "conditionalUpdate": true,
        "conditionalDelete": "single",
        "searchInclude": search_includes(rtype),
        "searchParam": search_params(rtype),
    })
}

/// The type's searchable parameters: implemented kinds that the indexer can extract, so
/// every parameter listed really matches.
fn search_params(rtype: &str) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    fhir::searchparams::for_type(rtype)
        .into_iter()
        .filter(|p| SEARCHABLE_KINDS.contains(&p.kind.as_str()))
        .filter(|p| {
            matches!(p.name.as_str(), "_id" | "_lastUpdated")
                || fhir::searchparams::is_indexed(rtype, &p.name)
        })
        .filter(|p| seen.insert(p.name.as_str()))
        .map(|p| json!({ "name": p.name, "type": p.kind, "definition": p.url }))
        .collect()
}

/// `_include` values: any (`*`) or one of the type's reference parameters.
fn search_includes(rtype: &str) -> Vec<String> {
    let references = search_params(rtype)
        .into_iter()
        .filter(|p| p["type"] == "reference");
    std::iter::once("*".to_string())
        .chain(references.map(|p| format!("{rtype}:{}", p["name"].as_str().unwrap_or(""))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_patient_with_its_search_params() {
        let cs = capability_statement("http://example.org/fhir");
        assert_eq!(cs["fhirVersion"], "4.0.1");
        assert_eq!(cs["implementation"]["url"], "http://example.org/fhir");
        let security = &cs["rest"][0]["security"];
        assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
        assert_eq!(
            security["extension"][0]["extension"][1]["valueUri"],
            "http://example.org/oauth/token"
        );
        let patient = cs["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "Patient")
            .unwrap();
        let names: Vec<&str> = patient["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for expected in [
            "_id",
            "_lastUpdated",
            "identifier",
            "family",
            "birthdate",
            "general-practitioner",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        // Parameters the store cannot search are not claimed.
        assert!(!names.contains(&"_text") && !names.contains(&"_content"));
        let operations: Vec<&str> = patient["operation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(operations, ["everything", "validate"]);
        assert_eq!(
            patient["operation"][0]["definition"],
            "http://example.org/fhir/OperationDefinition/Patient-everything"
        );
        assert!(
            patient["interaction"]
                .as_array()
                .unwrap()
                .contains(&json!({"code": "patch"}))
        );
        let includes = patient["searchInclude"].as_array().unwrap();
        assert!(
            includes.contains(&json!("Patient:general-practitioner")),
            "{includes:?}"
        );
        let system_params = cs["rest"][0]["searchParam"].as_array().unwrap();
        assert!(system_params.iter().any(|p| p["name"] == "_lastUpdated"));
    }
}
