//! The walk over a resource's JSON: each object is checked against its scope in the
//! compiled model, keeping the FHIRPath location as a stack of borrowed segments so a
//! location string is only built when an issue is reported.

use super::model::{Field, FieldKind, Model, ScopeId, Special, ValueSet};
use crate::nhs_number;
use crate::outcome::Issue;
use crate::primitives::{self, Primitive, Problem, json_kind, quoted};
use serde_json::{Map, Value};
use std::fmt::Write;

/// Objects nested deeper than this are not walked (a hostile payload must not exhaust
/// the stack; real resources stay far below it).
pub(super) const MAX_DEPTH: usize = 64;
/// Past this many issues the rest are dropped: the client has enough to fix.
pub(super) const MAX_ISSUES: usize = 1000;

#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Where a resource sits, which decides the extra rules it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// The resource being written: its type starts every location.
    Root,
    /// In `contained`: needs an id, no version metadata, no further contained resources.
    Contained,
    /// Any other resource-typed element (`Bundle.entry.resource`, `Parameters.parameter.resource`).
    Nested,
}

pub(super) struct Walker<'a> {
    model: &'static Model,
    path: Vec<Seg<'a>>,
    depth: usize,
    pub issues: Vec<Issue>,
    dropped: usize,
}

impl<'a> Walker<'a> {
    pub fn new() -> Self {
        Walker {
            model: Model::get(),
            path: Vec::with_capacity(32),
            depth: 0,
            issues: Vec::new(),
            dropped: 0,
        }
    }

    pub fn finish(mut self) -> Vec<Issue> {
        if self.dropped > 0 {
            let n = self.dropped;
            self.issues.push(Issue::error(
                "too-costly",
                format!("{n} further issues were not reported"),
            ));
        }
        self.issues
    }

    fn location(&self) -> Option<String> {
        if self.path.is_empty() {
            return None;
        }
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Seg::Index(i) => {
                    let _ = write!(s, "[{i}]");
                }
            }
        }
        Some(s)
    }

    fn value_set(&self, binding: Option<usize>) -> Option<&'static ValueSet> {
        let model: &'static Model = self.model;
        binding.map(|i| &model.value_sets[i])
    }

    /// Reports an error at the current location.
    fn error(&mut self, code: &'static str, diagnostics: String) {
        if self.issues.len() >= MAX_ISSUES {
            self.dropped += 1;
            return;
        }
        let mut issue = Issue::error(code, diagnostics);
        issue.expression = self.location();
        self.issues.push(issue);
    }

    /// Reports an error at the child `key` of the current location.
    fn error_at(&mut self, key: &'a str, code: &'static str, diagnostics: String) {
        self.path.push(Seg::Key(key));
        self.error(code, diagnostics);
        self.path.pop();
    }

    /// Validates a resource (an object naming its `resourceType`).
    pub fn resource(&mut self, value: &'a Value, placement: Placement) {
        let Value::Object(obj) = value else {
            return self.error(
                "structure",
                format!("A resource must be a JSON object, not {}", json_kind(value)),
            );
        };
        let resource_type = match obj.get("resourceType") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                let msg = format!("'resourceType' must be a string, not {}", json_kind(other));
                return self.error_at("resourceType", "structure", msg);
            }
            None => {
                return self.error("required", "The resource has no 'resourceType'".to_string());
            }
        };
        let Some(&scope) = self.model.resources.get(resource_type) else {
            let msg = format!(
                "Unknown resource type {}",
                quoted(&Value::String(resource_type.into()))
            );
            return self.error_at("resourceType", "structure", msg);
        };
        if placement == Placement::Root {
            self.path.push(Seg::Key(resource_type));
        }
        self.object(obj, scope, true);
        if placement == Placement::Contained {
            self.contained_rules(obj);
        }
        if placement == Placement::Root {
            self.path.pop();
        }
    }

    /// dom-2, dom-4 and the need for a local id to refer to it by.
    fn contained_rules(&mut self, obj: &'a Map<String, Value>) {
        if !obj.contains_key("id") {
            self.error(
                "required",
                "A contained resource must have an id".to_string(),
            );
        }
        if obj.contains_key("contained") {
            self.error_at(
                "contained",
                "invalid",
                "A contained resource must not contain resources".to_string(),
            );
        }
        if let Some(Value::Object(meta)) = obj.get("meta") {
            for key in ["versionId", "lastUpdated"] {
                if meta.contains_key(key) {
                    self.path.push(Seg::Key("meta"));
                    let msg = format!("A contained resource must not have meta.{key}");
                    self.error_at(key, "invalid", msg);
                    self.path.pop();
                }
            }
        }
    }

    /// Validates the object `obj` against `scope`; `is_resource` allows its `resourceType`.
    fn object(&mut self, obj: &'a Map<String, Value>, scope_id: ScopeId, is_resource: bool) {
        if obj.is_empty() {
            return self.error("structure", "An object must not be empty".to_string());
        }
        if self.depth >= MAX_DEPTH {
            return self.error(
                "structure",
                format!("Nesting too deep: more than {MAX_DEPTH} levels of objects"),
            );
        }
        self.depth += 1;
        let scope = &self.model.scopes[scope_id];
        let mut seen: u128 = 0;
        let mut choices = ChoicesSeen::default();
        // Most objects have no `_name` keys: then there is no sibling to look up.
        let has_ext_keys = obj.keys().any(|k| k.starts_with('_'));
        for (key, value) in obj {
            if is_resource && key == "resourceType" {
                continue;
            }
            let (is_ext, name) = match key.strip_prefix('_') {
                Some(name) => (true, name),
                None => (false, key.as_str()),
            };
            let field = match scope.fields.get(name) {
                Some(f) if !is_ext || matches!(f.kind, FieldKind::Primitive(_)) => f,
                _ => {
                    self.error_at(key, "structure", format!("Unknown element '{key}'"));
                    continue;
                }
            };
            if field.element.max == Some(0) {
                self.error_at(
                    key,
                    "structure",
                    format!("Element '{name}' is not allowed here (max 0)"),
                );
                continue;
            }
            if field.element.is_choice()
                && let Some(other) = choices.conflict(field.slot, name)
            {
                let msg = format!(
                    "Only one of {} may be present, found '{other}' and '{name}'",
                    field.name()
                );
                self.error_at(name, "structure", msg);
                continue;
            }
            seen |= 1 << field.slot;
            match field.kind {
                FieldKind::Primitive(p) => {
                    if !is_ext {
                        let ext = if has_ext_keys {
                            obj.get(&*field.ext_key)
                        } else {
                            None
                        };
                        self.primitive(field, p, name, Some(value), ext);
                    } else if !obj.contains_key(name) {
                        self.primitive(field, p, name, None, Some(value));
                    }
                }
                FieldKind::Complex(sid) => self.complex_field(field, sid, name, value),
                FieldKind::Resource => self.resource_field(field, name, value),
            }
        }
        for &(slot, name) in &scope.required {
            if seen & (1 << slot) == 0 {
                self.error("required", format!("Element '{name}' is required (min 1)"));
            }
        }
        match scope.special {
            Special::None => {}
            Special::Extension {
                value_slot,
                extension_slot,
            } => {
                let has_value = seen & (1 << value_slot) != 0;
                let has_nested = seen & (1 << extension_slot) != 0;
                if has_value == has_nested {
                    let msg = if has_value {
                        "An extension must have either a value or nested extensions, not both"
                    } else {
                        "An extension must have a value or nested extensions"
                    };
                    self.error("invalid", msg.to_string());
                }
            }
            Special::Identifier => self.nhs_number(obj),
        }
        self.depth -= 1;
    }

    fn nhs_number(&mut self, identifier: &'a Map<String, Value>) {
        if identifier.get("system").and_then(Value::as_str) != Some(nhs_number::SYSTEM) {
            return;
        }
        if let Some(Value::String(v)) = identifier.get("value")
            && let Err(why) = nhs_number::check(v)
        {
            let msg = format!(
                "{} is not a valid NHS number: {}",
                quoted(&Value::String(v.clone())),
                why.reason()
            );
            self.error_at("value", "business-rule", msg);
        }
    }

    /// A primitive element: its values and/or its `_name` id-and-extensions sibling,
    /// which for arrays pair up entry by entry (a null on one side stands for "none").
    fn primitive(
        &mut self,
        field: &Field,
        p: Primitive,
        name: &'a str,
        value: Option<&'a Value>,
        ext: Option<&'a Value>,
    ) {
        self.path.push(Seg::Key(name));
        if field.is_array() {
            let values = self.primitive_array(name, false, value);
            let exts = self.primitive_array(name, true, ext);
            if let (Some(v), Some(e)) = (values, exts)
                && v.len() != e.len()
            {
                let msg = format!("'_{name}' must have one entry for each entry of '{name}'");
                self.error("structure", msg);
            }
            let len = values.map_or(0, Vec::len).max(exts.map_or(0, Vec::len));
            for i in 0..len {
                let v = values.and_then(|a| a.get(i)).filter(|v| !v.is_null());
                let e = exts.and_then(|a| a.get(i)).filter(|v| !v.is_null());
                self.path.push(Seg::Index(i));
                if v.is_none() && e.is_none() {
                    self.error(
                        "structure",
                        "A null entry is only allowed with a matching extension entry".to_string(),
                    );
                }
                if let Some(v) = v {
                    self.primitive_value(field, p, v);
                }
                if let Some(e) = e {
                    self.primitive_extension(e);
                }
                self.path.pop();
            }
        } else {
            match value {
                Some(Value::Array(_)) => self.error(
                    "structure",
                    format!("Element '{name}' must not be an array (max 1)"),
                ),
                Some(Value::Null) => {
                    self.error("structure", format!("Element '{name}' must not be null"))
                }
                Some(v) => self.primitive_value(field, p, v),
                None => {}
            }
            match ext {
                Some(Value::Array(_)) => self.error(
                    "structure",
                    format!("'_{name}' must not be an array (max 1)"),
                ),
                Some(e) => self.primitive_extension(e),
                None => {}
            }
        }
        self.path.pop();
    }

    /// The entries of one side of a primitive array, if it is a non-empty array.
    fn primitive_array(
        &mut self,
        name: &str,
        is_ext: bool,
        v: Option<&'a Value>,
    ) -> Option<&'a Vec<Value>> {
        let prefix = if is_ext { "_" } else { "" };
        match v? {
            Value::Array(a) if a.is_empty() => {
                self.error(
                    "structure",
                    format!("'{prefix}{name}' must not be an empty array"),
                );
                None
            }
            Value::Array(a) => Some(a),
            _ => {
                self.error(
                    "structure",
                    format!("'{prefix}{name}' must be an array (max *)"),
                );
                None
            }
        }
    }

    fn primitive_value(&mut self, field: &Field, p: Primitive, v: &'a Value) {
        match primitives::check(p, v) {
            Ok(()) => {
                if let (Some(vs), Value::String(code)) = (self.value_set(field.binding), v)
                    && !vs.codes.contains(code.as_str())
                {
                    let msg = format!("{} is not in the required value set {}", quoted(v), vs.url);
                    self.error("code-invalid", msg);
                }
            }
            Err(problem) => {
                let code = match (&problem, v) {
                    (Problem::WrongJsonType { .. }, Value::Object(_) | Value::Array(_)) => {
                        "structure"
                    }
                    _ => "value",
                };
                self.error(code, problem.describe(p, v));
            }
        }
    }

    /// `_name` of a primitive: only an id and extensions.
    fn primitive_extension(&mut self, e: &'a Value) {
        let Value::Object(obj) = e else {
            return self.error(
                "structure",
                format!(
                    "A primitive's id and extensions must be a JSON object, not {}",
                    json_kind(e)
                ),
            );
        };
        if obj.is_empty() {
            return self.error("structure", "An object must not be empty".to_string());
        }
        for (key, value) in obj {
            match key.as_str() {
                "id" => {
                    self.path.push(Seg::Key("id"));
                    match value {
                        Value::String(_) => self.primitive_value_plain(Primitive::String, value),
                        _ => self.error(
                            "structure",
                            format!("'id' must be a string, not {}", json_kind(value)),
                        ),
                    }
                    self.path.pop();
                }
                "extension" => {
                    let extension = self.model.extension;
                    self.path.push(Seg::Key("extension"));
                    self.object_array(value, extension, None);
                    self.path.pop();
                }
                _ => self.error_at(key, "structure", format!("Unknown element '{key}'")),
            }
        }
    }

    fn primitive_value_plain(&mut self, p: Primitive, v: &'a Value) {
        if let Err(problem) = primitives::check(p, v) {
            self.error("value", problem.describe(p, v));
        }
    }

    fn complex_field(&mut self, field: &Field, sid: ScopeId, name: &'a str, value: &'a Value) {
        self.path.push(Seg::Key(name));
        if field.is_array() {
            self.object_array(value, sid, self.value_set(field.binding));
        } else {
            match value {
                Value::Array(_) => self.error(
                    "structure",
                    format!("Element '{name}' must not be an array (max 1)"),
                ),
                v => self.object_value(v, sid, self.value_set(field.binding)),
            }
        }
        self.path.pop();
    }

    /// An array of objects of scope `sid` at the current location.
    fn object_array(&mut self, value: &'a Value, sid: ScopeId, binding: Option<&'static ValueSet>) {
        match value {
            Value::Array(items) if items.is_empty() => {
                self.error("structure", "An array must not be empty".to_string());
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    self.object_value(item, sid, binding);
                    self.path.pop();
                }
            }
            v => self.error(
                "structure",
                format!("Expected an array (max *), found {}", json_kind(v)),
            ),
        }
    }

    fn object_value(&mut self, value: &'a Value, sid: ScopeId, binding: Option<&'static ValueSet>) {
        match value {
            Value::Object(obj) => {
                self.object(obj, sid, false);
                if let Some(vs) = binding {
                    self.coding_binding(obj, vs);
                }
            }
            v => self.error(
                "structure",
                format!("Expected a JSON object, found {}", json_kind(v)),
            ),
        }
    }

    /// A Coding, or a CodeableConcept's codings, against a required value set: a coding
    /// from one of the value set's code systems must use one of its codes. (Codings from
    /// other systems are translations and are left alone.)
    fn coding_binding(&mut self, obj: &'a Map<String, Value>, vs: &'static ValueSet) {
        match obj.get("coding") {
            Some(Value::Array(codings)) => {
                self.path.push(Seg::Key("coding"));
                for (i, c) in codings.iter().enumerate() {
                    if let Value::Object(c) = c {
                        self.path.push(Seg::Index(i));
                        self.one_coding(c, vs);
                        self.path.pop();
                    }
                }
                self.path.pop();
            }
            _ => self.one_coding(obj, vs),
        }
    }

    fn one_coding(&mut self, coding: &'a Map<String, Value>, vs: &'static ValueSet) {
        let (Some(Value::String(system)), Some(Value::String(code))) =
            (coding.get("system"), coding.get("code"))
        else {
            return;
        };
        if vs.systems.contains(&system.as_str())
            && !vs.pairs.contains(&(system.as_str(), code.as_str()))
        {
            let msg = format!(
                "'{code}' from {system} is not in the required value set {}",
                vs.url
            );
            self.error_at("code", "code-invalid", msg);
        }
    }

    fn resource_field(&mut self, field: &Field, name: &'a str, value: &'a Value) {
        let placement = if name == "contained" {
            Placement::Contained
        } else {
            Placement::Nested
        };
        self.path.push(Seg::Key(name));
        match value {
            Value::Array(items) if field.is_array() => {
                if items.is_empty() {
                    self.error("structure", "An array must not be empty".to_string());
                }
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    self.resource(item, placement);
                    self.path.pop();
                }
            }
            Value::Array(_) => self.error(
                "structure",
                format!("Element '{name}' must not be an array (max 1)"),
            ),
            _ if field.is_array() => self.error(
                "structure",
                format!("Element '{name}' must be an array (max *)"),
            ),
            v => self.resource(v, placement),
        }
        self.path.pop();
    }
}

/// The choice elements met in one object, to catch two variants of one choice
/// (`valueString` and `valueQuantity`). Few objects have more than one choice element.
#[derive(Default)]
struct ChoicesSeen<'a> {
    seen: [(u8, &'a str); 4],
    len: usize,
}

impl<'a> ChoicesSeen<'a> {
    /// Records `name` (a variant of the choice at `slot`); returns a different variant
    /// of the same choice already seen.
    fn conflict(&mut self, slot: u8, name: &'a str) -> Option<&'a str> {
        for &(s, n) in &self.seen[..self.len] {
            if s == slot {
                return (n != name).then_some(n);
            }
        }
        if self.len < self.seen.len() {
            self.seen[self.len] = (slot, name);
            self.len += 1;
        }
        None
    }
}
