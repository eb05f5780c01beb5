//! The standard R4 search parameters by resource type.

use crate::defs::{Definitions, Kind, SearchParamDef};
use std::collections::HashMap;
use std::sync::OnceLock;

type Params = Vec<&'static SearchParamDef>;

/// The parameter `name` of `resource_type` (including the common `Resource` ones such as
/// `_id`, `_lastUpdated`, `_tag`).
pub fn lookup(resource_type: &str, name: &str) -> Option<&'static SearchParamDef> {
    params_of(resource_type)
        .iter()
        .copied()
        .find(|p| p.name == name)
}

/// Every parameter that applies to `resource_type`.
pub fn for_type(resource_type: &str) -> Vec<&'static SearchParamDef> {
    params_of(resource_type).to_vec()
}

/// Every parameter that applies to `resource_type`, without copying. An unknown type
/// gets the parameters every resource has.
pub fn params_of(resource_type: &str) -> &'static [&'static SearchParamDef] {
    let index = index();
    match index.by_type.get(resource_type) {
        Some(params) => params,
        None => &index.common,
    }
}

/// Does extraction index parameter `name` of `resource_type`? False for composite and
/// special parameters, those without an expression (`_text`, `_content`), and any whose
/// expression the evaluator cannot run: searching by them cannot work from the index.
pub fn is_indexed(resource_type: &str, name: &str) -> bool {
    crate::extract::type_params(resource_type)
        .is_some_and(|p| p.compiled.iter().any(|c| c.def.name == name))
}

/// The parameters of `resource_type` that are not indexed, each with the reason.
pub fn not_indexed(resource_type: &str) -> Vec<(&'static SearchParamDef, String)> {
    let Some(params) = crate::extract::type_params(resource_type) else {
        return Vec::new();
    };
    params
        .skipped
        .iter()
        .map(|(def, why)| (*def, why.to_string()))
        .collect()
}

struct Index {
    by_type: HashMap<&'static str, Params>,
    /// The `Resource` parameters, for names that are not a known resource type.
    common: Params,
}

/// Built once: scanning all 1378 definitions per lookup would cost on every request.
fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let defs = Definitions::get();
        let mut by_type: HashMap<&'static str, Params> = HashMap::new();
        for (name, t) in &defs.types {
            if t.kind == Kind::Resource && !t.is_abstract {
                let ancestors = ancestors(defs, name);
                let params = defs
                    .search_params
                    .iter()
                    .filter(|p| p.base.iter().any(|b| ancestors.contains(&b.as_str())))
                    .collect();
                by_type.insert(name.as_str(), params);
            }
        }
        let common = defs
            .search_params
            .iter()
            .filter(|p| p.base.iter().any(|b| b == "Resource"))
            .collect();
        Index { by_type, common }
    })
}

/// `Patient` -> [Patient, DomainResource, Resource].
fn ancestors<'a>(defs: &'a Definitions, name: &'a str) -> Vec<&'a str> {
    let mut out = vec![name];
    let mut current = name;
    while let Some(base) = defs.type_def(current).and_then(|t| t.base.as_deref()) {
        out.push(base);
        current = base;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_parameters_apply_by_base() {
        let names = |t: &str| {
            params_of(t)
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
        };
        let patient = names("Patient");
        for n in [
            "_id",
            "_lastUpdated",
            "_tag",
            "_profile",
            "_security",
            "_source",
            "_text",
            "birthdate",
        ] {
            assert!(patient.contains(&n), "{n}");
        }
        // Bundle is a Resource, not a DomainResource: it has no narrative.
        let bundle = names("Bundle");
        assert!(bundle.contains(&"_id") && bundle.contains(&"identifier"));
        assert!(!bundle.contains(&"_text"));
        assert!(!bundle.contains(&"birthdate"));
        assert_eq!(lookup("Observation", "code").unwrap().kind, "token");
        assert_eq!(lookup("Observation", "_lastUpdated").unwrap().kind, "date");
        assert!(lookup("Observation", "birthdate").is_none());
        assert_eq!(
            names("NotAType"),
            names("NotAType")
                .iter()
                .filter(|n| n.starts_with('_'))
                .copied()
                .collect::<Vec<_>>()
        );
        assert_eq!(for_type("Patient").len(), params_of("Patient").len());
    }

    #[test]
    fn reports_what_is_indexed() {
        assert!(is_indexed("Patient", "birthdate"));
        assert!(is_indexed("Patient", "_id"));
        assert!(!is_indexed("Patient", "_text"));
        assert!(!is_indexed("Observation", "code-value-quantity"));
        assert!(!is_indexed("Patient", "nosuch"));
        assert!(!is_indexed("NotAType", "_id"));
        let skipped = not_indexed("Observation");
        assert!(
            skipped
                .iter()
                .any(|(p, why)| p.name == "code-value-quantity" && why.contains("composite"))
        );
    }
}
