//! What the CapabilityStatement says about each operation, and its OperationDefinition.
//! The server's own definitions (with `base` naming HL7's) are listed, not HL7's: a
//! reference to the base definition would claim all of it (R4
//! CapabilityStatement.rest.resource.operation.definition).

use super::{Operation, Types, Use};
use serde_json::{Value, json};

/// Where this server serves the operation's definition.
pub fn definition_url(base_url: &str, op: &Operation) -> String {
    format!(
        "{}/OperationDefinition/{}",
        base_url.trim_end_matches('/'),
        op.id
    )
}

/// A `rest.resource.operation` (or `rest.operation`) entry.
pub fn capability_entry(base_url: &str, op: &Operation) -> Value {
    json!({
        "name": op.code,
        "definition": definition_url(base_url, op),
        "documentation": op.description,
    })
}

/// The OperationDefinition resource.
pub fn operation_definition(base_url: &str, op: &Operation) -> Value {
    let resource: Vec<&str> = match op.types {
        Types::All => vec!["Resource"],
        Types::Only(types) => types.to_vec(),
    };
    let parameters: Vec<Value> = op
        .parameters
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "use": if p.use_ == Use::In { "in" } else { "out" },
                "min": p.min,
                "max": p.max,
                "documentation": p.documentation,
                "type": p.type_,
            })
        })
        .collect();
    let mut definition = json!({
        "resourceType": "OperationDefinition",
        "id": op.id,
        "url": definition_url(base_url, op),
        "name": op.title.replace(' ', ""),
        "title": op.title,
        "status": "active",
        "kind": "operation",
        "publisher": "OpenGP",
        "description": op.description,
        "affectsState": op.affects_state,
        "code": op.code,
        "base": op.base,
        "system": op.system,
        "type": op.type_level,
        "instance": op.instance,
        "parameter": parameters,
    });
    if op.type_level || op.instance {
        definition["resource"] = json!(resource);
    }
    definition
}
