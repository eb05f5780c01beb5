//! Evaluates the search parameters' FHIRPath expressions (the subset R4 uses) to
//! produce index entries. (Being written.)

use crate::index::IndexEntry;

pub(crate) fn extract(_resource_type: &str, _resource: &serde_json::Value) -> Vec<IndexEntry> {
    Vec::new()
}
