//! Strict validation of a resource's JSON against the R4 StructureDefinitions: known
//! elements only (choice types, BackboneElements and contentReferences resolved),
//! cardinality and JSON shape, primitive formats, extensions, required bindings, contained
//! and nested resources, and UK rules (NHS number check digits).

mod model;
mod walk;

use crate::outcome::Issue;
use serde_json::Value;

/// Every problem with `resource` (errors and warnings), each located by FHIRPath.
/// A resource with any issue of severity error must be rejected.
pub fn validate_resource(resource: &Value) -> Vec<Issue> {
    let mut walker = walk::Walker::new();
    walker.resource(resource, walk::Placement::Root);
    walker.finish()
}

/// Is `s` a valid FHIR id (`[A-Za-z0-9\-\.]{1,64}`)?
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}
