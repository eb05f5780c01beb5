//! The compact FHIR R4 model (`data/r4-definitions.json`, generated from the official
//! StructureDefinitions by `tools/gen_fhir_defs.py`): types and their elements, expanded
//! required value sets, the standard search parameters and the Patient compartment.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

static MODEL_JSON: &str = include_str!("../data/r4-definitions.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Primitive,
    Complex,
    Resource,
    Logical,
}

#[derive(Debug, Deserialize)]
pub struct ElementDef {
    /// Full path, e.g. `Patient.contact.name` or `Observation.value[x]`.
    pub path: String,
    pub min: u32,
    #[serde(deserialize_with = "de_max")]
    /// `None` means unbounded (`*`).
    pub max: Option<u32>,
    /// Type codes (`HumanName`, `string`, `Reference`, `BackboneElement`...).
    #[serde(default)]
    pub types: Vec<String>,
    /// Reference target resource types (for `Reference`).
    #[serde(default)]
    pub targets: Vec<String>,
    /// `contentReference`: this element has the same children as the element at this path.
    #[serde(default, rename = "ref")]
    pub content_ref: Option<String>,
    /// URL of the value set of a required binding.
    #[serde(default)]
    pub binding: Option<String>,
    #[serde(default)]
    pub summary: bool,
    #[serde(default)]
    pub modifier: bool,
}

impl ElementDef {
    /// The last path segment, e.g. `value[x]`.
    pub fn name(&self) -> &str {
        self.path.rsplit('.').next().unwrap_or(&self.path)
    }
    pub fn is_choice(&self) -> bool {
        self.path.ends_with("[x]")
    }
    pub fn is_array(&self) -> bool {
        self.max.is_none_or(|m| m > 1)
    }
}

fn de_max<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let s = String::deserialize(d)?;
    if s == "*" {
        Ok(None)
    } else {
        s.parse().map(Some).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Deserialize)]
pub struct TypeDef {
    pub kind: Kind,
    #[serde(default, rename = "abstract")]
    pub is_abstract: bool,
    #[serde(default)]
    pub base: Option<String>,
    /// For profiles of a type (SimpleQuantity, MoneyQuantity): the type they constrain.
    #[serde(default)]
    pub constrains: Option<String>,
    /// For primitives: the regex their value must match.
    #[serde(default)]
    pub regex: Option<String>,
    pub elements: Vec<ElementDef>,
    #[serde(skip)]
    by_path: HashMap<String, usize>,
    /// Parent path -> indexes of its direct children, in definition order.
    #[serde(skip)]
    children: HashMap<String, Vec<usize>>,
}

impl TypeDef {
    pub fn element(&self, path: &str) -> Option<&ElementDef> {
        self.by_path.get(path).map(|&i| &self.elements[i])
    }
    /// Direct children of the element at `parent_path` (for the type's root, its name).
    pub fn children(&self, parent_path: &str) -> impl Iterator<Item = &ElementDef> {
        self.children
            .get(parent_path)
            .into_iter()
            .flatten()
            .map(|&i| &self.elements[i])
    }
}

#[derive(Debug, Deserialize)]
pub struct SearchParamComponent {
    pub definition: String,
    pub expression: String,
}

#[derive(Debug, Deserialize)]
pub struct SearchParamDef {
    /// The parameter's code, e.g. `birthdate`.
    pub name: String,
    /// `string`, `token`, `date`, `reference`, `number`, `quantity`, `uri`, `composite`, `special`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Resource types it applies to (`Resource` / `DomainResource` for the common ones).
    pub base: Vec<String>,
    pub url: String,
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub target: Vec<String>,
    #[serde(default)]
    pub component: Vec<SearchParamComponent>,
}

#[derive(Debug, Deserialize)]
pub struct Definitions {
    #[serde(rename = "fhirVersion")]
    pub fhir_version: String,
    pub types: HashMap<String, TypeDef>,
    /// Required-binding value sets: URL -> (system, code) pairs.
    #[serde(rename = "valueSets")]
    pub value_sets: HashMap<String, Vec<(String, String)>>,
    #[serde(rename = "searchParameters")]
    pub search_params: Vec<SearchParamDef>,
    /// Resource type -> the search parameters that place it in a patient's compartment.
    #[serde(rename = "patientCompartment")]
    pub patient_compartment: HashMap<String, Vec<String>>,
}

/// Where an element's children are defined: `(type name, path)`.
/// For `Patient.contact` (a BackboneElement) that is `("Patient", "Patient.contact")`;
/// for `Patient.name` (a HumanName) it is `("HumanName", "HumanName")`.
pub type Scope<'a> = (&'a str, &'a str);

/// A child element found under a scope by its JSON key.
#[derive(Debug, Clone, Copy)]
pub struct Child<'a> {
    pub element: &'a ElementDef,
    /// The concrete type: the one named by a choice key (`valueQuantity` -> `Quantity`),
    /// or the element's single type. `None` for a contentReference element.
    pub type_code: Option<&'a str>,
}

impl Definitions {
    /// The model, parsed once on first use.
    pub fn get() -> &'static Definitions {
        static DEFS: OnceLock<Definitions> = OnceLock::new();
        DEFS.get_or_init(|| {
            let mut defs: Definitions =
                serde_json::from_str(MODEL_JSON).expect("embedded FHIR definitions are valid");
            for (name, t) in defs.types.iter_mut() {
                for (i, e) in t.elements.iter().enumerate() {
                    t.by_path.insert(e.path.clone(), i);
                    let parent = e.path.rsplit_once('.').map_or(name.as_str(), |(p, _)| p);
                    t.children.entry(parent.to_string()).or_default().push(i);
                }
            }
            defs
        })
    }

    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// A concrete (non-abstract) resource type, e.g. `Patient`.
    pub fn is_resource_type(&self, name: &str) -> bool {
        self.types
            .get(name)
            .is_some_and(|t| t.kind == Kind::Resource && !t.is_abstract)
    }

    /// Every concrete resource type, sorted.
    pub fn resource_types(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .types
            .iter()
            .filter(|(_, t)| t.kind == Kind::Resource && !t.is_abstract)
            .map(|(n, _)| n.as_str())
            .collect();
        v.sort_unstable();
        v
    }

    pub fn is_primitive(&self, type_code: &str) -> bool {
        self.types
            .get(type_code)
            .is_some_and(|t| t.kind == Kind::Primitive)
    }

    /// Finds the child element named by JSON `key` (without a leading `_`) in `scope`.
    /// Handles choice elements: `valueQuantity` finds `value[x]` with type `Quantity`.
    pub fn child<'a>(&'a self, scope: Scope<'_>, key: &str) -> Option<Child<'a>> {
        let t = self.types.get(scope.0)?;
        let direct = format!("{}.{}", scope.1, key);
        if let Some(e) = t.element(&direct) {
            if e.is_choice() {
                return None;
            }
            let type_code = if e.content_ref.is_some() {
                None
            } else {
                e.types.first().map(String::as_str)
            };
            return Some(Child {
                element: e,
                type_code,
            });
        }
        for e in t.children(scope.1) {
            if let Some(prefix) = e.name().strip_suffix("[x]")
                && let Some(suffix) = key.strip_prefix(prefix)
                && let Some(tc) = e.types.iter().find(|tc| upper_first(tc) == suffix)
            {
                return Some(Child {
                    element: e,
                    type_code: Some(tc.as_str()),
                });
            }
        }
        None
    }

    /// The scope holding the children of `child` (owned by the type of `scope`).
    /// `None` for primitives.
    pub fn child_scope<'a>(
        &'a self,
        scope_type: &'a str,
        child: Child<'a>,
    ) -> Option<(&'a str, &'a str)> {
        if let Some(r) = &child.element.content_ref {
            return Some((scope_type, r.as_str()));
        }
        let tc = child.type_code?;
        if tc == "BackboneElement" || tc == "Element" {
            return Some((scope_type, child.element.path.as_str()));
        }
        let (name, t) = self.types.get_key_value(tc)?;
        match t.kind {
            Kind::Primitive => None,
            _ => Some((name.as_str(), name.as_str())),
        }
    }
}

/// `quantity` -> `Quantity`, as used in choice element names.
pub fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_children_and_choices() {
        let d = Definitions::get();
        assert!(d.is_resource_type("Patient"));
        assert!(!d.is_resource_type("DomainResource"));
        let name = d.child(("Patient", "Patient"), "name").unwrap();
        assert_eq!(name.type_code, Some("HumanName"));
        assert_eq!(
            d.child_scope("Patient", name),
            Some(("HumanName", "HumanName"))
        );
        let v = d
            .child(("Observation", "Observation"), "valueQuantity")
            .unwrap();
        assert_eq!(v.element.path, "Observation.value[x]");
        assert_eq!(v.type_code, Some("Quantity"));
        assert!(
            d.child(("Observation", "Observation"), "valueFoo")
                .is_none()
        );
        assert!(d.child(("Observation", "Observation"), "value").is_none());
        let contact = d.child(("Patient", "Patient"), "contact").unwrap();
        assert_eq!(
            d.child_scope("Patient", contact),
            Some(("Patient", "Patient.contact"))
        );
        let item = d
            .child(("Questionnaire", "Questionnaire.item"), "item")
            .unwrap();
        assert_eq!(
            d.child_scope("Questionnaire", item),
            Some(("Questionnaire", "Questionnaire.item"))
        );
        assert_eq!(
            d.child(("Patient", "Patient"), "id").unwrap().type_code,
            Some("id")
        );
    }
}
