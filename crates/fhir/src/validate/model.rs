//! The definitions compiled for validation, once: for every place an object can appear
//! (a resource, a datatype, a BackboneElement), a table from JSON key to what the key
//! holds, with choice types already expanded (`valueQuantity`), so validating a key is a
//! single hash lookup with no string building.

use crate::defs::{Definitions, ElementDef, Kind, upper_first};
use crate::primitives::Primitive;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

pub(super) type ScopeId = usize;

/// What a JSON key holds.
#[derive(Debug, Clone, Copy)]
pub(super) enum FieldKind {
    Primitive(Primitive),
    /// An object validated against another scope.
    Complex(ScopeId),
    /// A whole resource (`contained`, `Bundle.entry.resource`): validated as the type its
    /// `resourceType` names.
    Resource,
}

#[derive(Debug)]
pub(super) struct Field {
    pub element: &'static ElementDef,
    pub kind: FieldKind,
    /// The element's position among its scope's elements: choice variants share one.
    pub slot: u8,
    /// `_given` for `given`: where a primitive's id and extensions live.
    pub ext_key: Box<str>,
    /// The required value set, an index into `Model::value_sets` (only for code, Coding
    /// and CodeableConcept elements whose value set is in the model).
    pub binding: Option<usize>,
}

impl Field {
    pub fn is_array(&self) -> bool {
        self.element.is_array()
    }
    /// The element's name as defined (`value[x]` for choices).
    pub fn name(&self) -> &'static str {
        self.element.name()
    }
}

/// FNV-1a: element names are short, and SipHash's resistance to chosen collisions is
/// not needed for a table whose keys are fixed by the model (a lookup of a hostile key
/// costs at most the table's longest probe, which the model fixes).
pub(super) struct KeyHasher(u64);

impl Default for KeyHasher {
    fn default() -> Self {
        KeyHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The rules specific to a few types, checked on each of their objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Special {
    None,
    /// ext-1: a value or nested extensions, not both.
    Extension {
        value_slot: u8,
        extension_slot: u8,
    },
    /// NHS numbers must have a valid check digit.
    Identifier,
}

#[derive(Debug)]
pub(super) struct Scope {
    pub fields: HashMap<Box<str>, Field, BuildHasherDefault<KeyHasher>>,
    /// Elements with min >= 1: (slot, name).
    pub required: Vec<(u8, &'static str)>,
    pub special: Special,
}

#[derive(Debug)]
pub(super) struct ValueSet {
    pub url: &'static str,
    pub codes: HashSet<&'static str>,
    pub systems: Vec<&'static str>,
    pub pairs: HashSet<(&'static str, &'static str)>,
}

#[derive(Debug)]
pub(super) struct Model {
    pub scopes: Vec<Scope>,
    /// Concrete resource type -> its root scope.
    pub resources: HashMap<&'static str, ScopeId>,
    pub extension: ScopeId,
    pub value_sets: Vec<ValueSet>,
}

impl Model {
    pub fn get() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| build(Definitions::get()))
    }
}

/// A scope to build: the type whose elements define it and the parent path of its
/// elements (`("Patient", "Patient.contact")`, `("SimpleQuantity", "Quantity")`).
type ScopeKey = (&'static str, &'static str);

struct Builder {
    defs: &'static Definitions,
    value_sets: HashMap<&'static str, usize>,
    ids: HashMap<ScopeKey, ScopeId>,
    queue: VecDeque<ScopeKey>,
}

impl Builder {
    fn scope_id(&mut self, key: ScopeKey) -> ScopeId {
        let next = self.ids.len();
        *self.ids.entry(key).or_insert_with(|| {
            self.queue.push_back(key);
            next
        })
    }

    /// The scope of a datatype's (or resource's) own elements.
    fn type_scope(&mut self, name: &'static str) -> ScopeId {
        let t = &self.defs.types[name];
        // Profiles of a type (SimpleQuantity) keep the base type's paths (Quantity.value).
        let root = t.constrains.as_deref().unwrap_or(name);
        self.scope_id((name, root))
    }

    fn kind_of(
        &mut self,
        owner: &'static str,
        e: &'static ElementDef,
        code: &'static str,
    ) -> FieldKind {
        if let Some(p) = Primitive::from_code(code) {
            return FieldKind::Primitive(p);
        }
        match code {
            "BackboneElement" | "Element" => {
                FieldKind::Complex(self.scope_id((owner, e.path.as_str())))
            }
            "Resource" => FieldKind::Resource,
            _ => match self.defs.types.get(code) {
                Some(t) if t.kind == Kind::Resource => FieldKind::Resource,
                Some(_) => FieldKind::Complex(self.type_scope(code)),
                // Not in the model: nothing to check its children against, so validate it
                // as an element with only id and extensions.
                None => FieldKind::Complex(self.type_scope("Element")),
            },
        }
    }

    fn build_scope(&mut self, (owner, parent): ScopeKey) -> Scope {
        let t = &self.defs.types[owner];
        let mut fields = HashMap::default();
        let mut required = Vec::new();
        let mut special = Special::None;
        for (i, e) in t.children(parent).enumerate() {
            // The walk records the elements it has seen in a 128-bit set.
            let slot = u8::try_from(i)
                .ok()
                .filter(|s| *s < 128)
                .expect("fewer than 128 elements under one parent");
            if e.min >= 1 {
                required.push((slot, e.name()));
            }
            let binding = e
                .binding
                .as_deref()
                .and_then(|url| self.value_sets.get(url).copied());
            if let Some(target) = &e.content_ref {
                let kind = FieldKind::Complex(self.scope_id((owner, target.as_str())));
                insert(
                    &mut fields,
                    e.name().to_string(),
                    Field {
                        element: e,
                        kind,
                        slot,
                        ext_key: "".into(),
                        binding: None,
                    },
                );
            } else if let Some(prefix) = e.name().strip_suffix("[x]") {
                for code in &e.types {
                    let kind = self.kind_of(owner, e, code);
                    let key = format!("{prefix}{}", upper_first(code));
                    let ext_key = format!("_{key}").into();
                    let binding = binding.filter(|_| binds(kind, code));
                    insert(
                        &mut fields,
                        key,
                        Field {
                            element: e,
                            kind,
                            slot,
                            ext_key,
                            binding,
                        },
                    );
                }
            } else if let Some(code) = e.types.first() {
                let kind = self.kind_of(owner, e, code);
                let ext_key = format!("_{}", e.name()).into();
                let binding = binding.filter(|_| binds(kind, code));
                insert(
                    &mut fields,
                    e.name().to_string(),
                    Field {
                        element: e,
                        kind,
                        slot,
                        ext_key,
                        binding,
                    },
                );
            }
        }
        let slot_of = |name: &str| fields.get(name).map(|f: &Field| f.slot);
        if owner == "Extension" && parent == "Extension" {
            special = Special::Extension {
                value_slot: slot_of("valueString").expect("Extension.value[x]"),
                extension_slot: slot_of("extension").expect("Extension.extension"),
            };
        } else if owner == "Identifier" {
            special = Special::Identifier;
        }
        Scope {
            fields,
            required,
            special,
        }
    }
}

fn insert(
    fields: &mut HashMap<Box<str>, Field, BuildHasherDefault<KeyHasher>>,
    key: String,
    field: Field,
) {
    fields.insert(key.into_boxed_str(), field);
}

/// Required bindings are checked on codes and codings only.
fn binds(kind: FieldKind, code: &str) -> bool {
    matches!(kind, FieldKind::Primitive(Primitive::Code))
        || code == "Coding"
        || code == "CodeableConcept"
}

fn build(defs: &'static Definitions) -> Model {
    let value_sets: Vec<ValueSet> = defs
        .value_sets
        .iter()
        .map(|(url, pairs)| {
            let mut systems: Vec<&'static str> = pairs.iter().map(|(s, _)| s.as_str()).collect();
            systems.sort_unstable();
            systems.dedup();
            ValueSet {
                url: url.as_str(),
                codes: pairs.iter().map(|(_, c)| c.as_str()).collect(),
                systems,
                pairs: pairs
                    .iter()
                    .map(|(s, c)| (s.as_str(), c.as_str()))
                    .collect(),
            }
        })
        .collect();
    let mut b = Builder {
        defs,
        value_sets: value_sets
            .iter()
            .enumerate()
            .map(|(i, vs)| (vs.url, i))
            .collect(),
        ids: HashMap::new(),
        queue: VecDeque::new(),
    };

    let mut resources = HashMap::new();
    for (name, t) in &defs.types {
        if t.kind == Kind::Resource && !t.is_abstract {
            resources.insert(name.as_str(), b.type_scope(name));
        }
    }
    let extension = b.type_scope("Extension");

    let mut built: Vec<Option<Scope>> = Vec::new();
    while let Some(key) = b.queue.pop_front() {
        let id = b.ids[&key];
        let scope = b.build_scope(key);
        if built.len() <= id {
            built.resize_with(id + 1, || None);
        }
        built[id] = Some(scope);
    }
    let scopes = built
        .into_iter()
        .map(|s| s.expect("every scope id is built"))
        .collect();
    Model {
        scopes,
        resources,
        extension,
        value_sets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(scope: ScopeId, key: &str) -> &'static Field {
        &Model::get().scopes[scope].fields[key]
    }

    #[test]
    fn resolves_choices_backbones_and_content_references() {
        let m = Model::get();
        let obs = m.resources["Observation"];
        assert!(matches!(
            field(obs, "valueQuantity").kind,
            FieldKind::Complex(_)
        ));
        assert!(matches!(
            field(obs, "valueString").kind,
            FieldKind::Primitive(Primitive::String)
        ));
        assert_eq!(
            field(obs, "valueQuantity").slot,
            field(obs, "valueString").slot
        );
        assert!(!m.scopes[obs].fields.contains_key("value"));
        assert!(field(obs, "status").binding.is_some());
        assert!(m.scopes[obs].required.iter().any(|(_, n)| *n == "status"));

        let q = m.resources["Questionnaire"];
        let FieldKind::Complex(item) = field(q, "item").kind else {
            panic!()
        };
        let FieldKind::Complex(nested) = field(item, "item").kind else {
            panic!()
        };
        assert_eq!(item, nested);

        let bundle = m.resources["Bundle"];
        let FieldKind::Complex(entry) = field(bundle, "entry").kind else {
            panic!()
        };
        assert!(matches!(field(entry, "resource").kind, FieldKind::Resource));
    }

    #[test]
    fn every_scope_fits_a_128_bit_seen_set() {
        for s in &Model::get().scopes {
            assert!(s.fields.values().all(|f| f.slot < 128));
        }
    }
}
