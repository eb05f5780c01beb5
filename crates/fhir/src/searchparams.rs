//! The standard R4 search parameters by resource type. (Being written.)

use crate::defs::{Definitions, SearchParamDef};

/// The parameter `name` of `resource_type` (including the common `Resource` ones such as
/// `_id`, `_lastUpdated`, `_tag`).
pub fn lookup(resource_type: &str, name: &str) -> Option<&'static SearchParamDef> {
    for_type(resource_type).into_iter().find(|p| p.name == name)
}

/// Every parameter that applies to `resource_type`.
pub fn for_type(resource_type: &str) -> Vec<&'static SearchParamDef> {
    Definitions::get()
        .search_params
        .iter()
        .filter(|p| p.base.iter().any(|b| b == resource_type || b == "Resource" || b == "DomainResource"))
        .collect()
}
