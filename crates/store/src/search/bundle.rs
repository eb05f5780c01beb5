//! The searchset Bundle, and the shaping of its resources by `_summary` and `_elements`.

use super::page::Found;
use super::params::Summary;
use crate::StoreError;
use crate::error::{FhirError, FhirResult};
use fhir::Issue;
use serde_json::{Map, Value, json};

/// What a searchset Bundle holds.
pub(crate) struct Searchset<'a> {
    pub base_url: &'a str,
    pub matches: Vec<Found>,
    pub included: Vec<Found>,
    pub total: Option<i64>,
    /// (relation, url): self, first, previous, next, last.
    pub links: Vec<(&'static str, String)>,
    pub warnings: Vec<Issue>,
    pub summary: Summary,
    pub elements: Option<&'a [String]>,
}

impl Searchset<'_> {
    pub fn into_json(self) -> FhirResult<Value> {
        let mut entries = Vec::with_capacity(self.matches.len() + self.included.len() + 1);
        for (mode, list) in [("match", &self.matches), ("include", &self.included)] {
            for f in list {
                let mut resource: Value = serde_json::from_str(&f.body).map_err(|e| {
                    FhirError::Store(StoreError::Backend(format!(
                        "stored body of {}/{}: {e}",
                        f.rtype, f.id
                    )))
                })?;
                if mode == "match" {
                    resource = shape(resource, &f.rtype, self.summary, self.elements);
                }
                // Built by hand: `json!` would copy the resource by serialising it.
                let mut entry = Map::with_capacity(3);
                let base = self.base_url.trim_end_matches('/');
                entry.insert(
                    "fullUrl".into(),
                    Value::String(format!("{base}/{}/{}", f.rtype, f.id)),
                );
                entry.insert("resource".into(), resource);
                entry.insert("search".into(), json!({ "mode": mode }));
                entries.push(Value::Object(entry));
            }
        }
        if !self.warnings.is_empty() {
            entries.push(json!({
                "resource": fhir::operation_outcome(&self.warnings),
                "search": { "mode": "outcome" },
            }));
        }
        let mut bundle = json!({ "resourceType": "Bundle", "type": "searchset" });
        if let Some(t) = self.total {
            bundle["total"] = json!(t);
        }
        bundle["link"] = self
            .links
            .into_iter()
            .map(|(relation, url)| json!({ "relation": relation, "url": url }))
            .collect();
        if !entries.is_empty() {
            bundle["entry"] = Value::Array(entries);
        }
        Ok(bundle)
    }
}

/// Applies `_summary` (true, text, data) and `_elements` to a match. A resource that
/// loses elements is tagged SUBSETTED, so no one mistakes it for the whole record.
pub(crate) fn shape(
    resource: Value,
    rtype: &str,
    summary: Summary,
    elements: Option<&[String]>,
) -> Value {
    let Value::Object(obj) = resource else {
        return resource;
    };
    let kept: Map<String, Value> = match (summary, elements) {
        (Summary::True, _) => obj
            .into_iter()
            .filter(|(k, _)| always_kept(k) || is_summary(rtype, k))
            .collect(),
        (Summary::Text, _) => obj
            .into_iter()
            .filter(|(k, _)| always_kept(k) || k == "text" || is_mandatory(rtype, k))
            .collect(),
        (Summary::Data, _) => obj.into_iter().filter(|(k, _)| k != "text").collect(),
        (_, Some(list)) => obj
            .into_iter()
            .filter(|(k, _)| always_kept(k) || list.iter().any(|e| names(rtype, k, e)))
            .collect(),
        _ => return Value::Object(obj),
    };
    let mut out = Value::Object(kept);
    mark_subsetted(&mut out);
    out
}

fn always_kept(key: &str) -> bool {
    matches!(key, "resourceType" | "id" | "meta")
}

/// The element definition behind the JSON key `key` (`_birthDate` is `birthDate`'s
/// extension holder; `valueQuantity` is `value[x]`).
fn element(rtype: &str, key: &str) -> Option<&'static fhir::defs::ElementDef> {
    let key = key.strip_prefix('_').unwrap_or(key);
    fhir::Definitions::get()
        .child((rtype, rtype), key)
        .map(|c| c.element)
}

fn is_summary(rtype: &str, key: &str) -> bool {
    element(rtype, key).is_some_and(|e| e.summary)
}

fn is_mandatory(rtype: &str, key: &str) -> bool {
    element(rtype, key).is_some_and(|e| e.min > 0)
}

/// Whether `_elements` entry `wanted` names the JSON key `key`: `value` names
/// `valueQuantity`, and `birthDate` names `_birthDate`.
fn names(rtype: &str, key: &str, wanted: &str) -> bool {
    let bare = key.strip_prefix('_').unwrap_or(key);
    bare == wanted
        || element(rtype, key)
            .is_some_and(|e| e.is_choice() && e.name().strip_suffix("[x]") == Some(wanted))
}

fn mark_subsetted(resource: &mut Value) {
    let meta = resource
        .as_object_mut()
        .map(|o| o.entry("meta").or_insert_with(|| json!({})));
    if let Some(Value::Object(meta)) = meta {
        let tags = meta.entry("tag").or_insert_with(|| json!([]));
        if let Value::Array(tags) = tags {
            tags.push(json!({
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                "code": "SUBSETTED",
                "display": "subsetted",
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patient() -> Value {
        json!({
            "resourceType": "Patient", "id": "p1", "meta": {"versionId": "1"},
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
            "name": [{"family": "Smith"}], "birthDate": "1970-01-01", "_birthDate": {"extension": []},
            "photo": [{"contentType": "image/png"}], "contact": [{"gender": "female"}]
        })
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    fn subsetted(v: &Value) -> bool {
        v["meta"]["tag"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["code"] == "SUBSETTED"))
    }

    #[test]
    fn elements_keep_the_listed_and_identifying_elements() {
        let v = shape(
            patient(),
            "Patient",
            Summary::False,
            Some(&["birthDate".to_string()]),
        );
        assert_eq!(
            keys(&v),
            ["resourceType", "id", "meta", "birthDate", "_birthDate"]
        );
        assert!(subsetted(&v));
        assert_eq!(v["meta"]["versionId"], "1");
    }

    #[test]
    fn elements_name_choice_types_by_their_base_name() {
        let obs = json!({"resourceType": "Observation", "id": "o", "status": "final", "valueQuantity": {"value": 1}});
        let v = shape(
            obs,
            "Observation",
            Summary::False,
            Some(&["value".to_string()]),
        );
        assert_eq!(keys(&v), ["resourceType", "id", "valueQuantity", "meta"]);
    }

    #[test]
    fn summary_drops_non_summary_elements() {
        let v = shape(patient(), "Patient", Summary::True, None);
        let k = keys(&v);
        assert!(k.contains(&"name") && k.contains(&"birthDate"));
        assert!(
            !k.contains(&"photo") && !k.contains(&"contact") && !k.contains(&"text"),
            "{k:?}"
        );
        assert!(subsetted(&v));
        let data = shape(patient(), "Patient", Summary::Data, None);
        assert!(!keys(&data).contains(&"text") && keys(&data).contains(&"photo"));
        let text = shape(patient(), "Patient", Summary::Text, None);
        assert_eq!(keys(&text), ["resourceType", "id", "meta", "text"]);
    }

    #[test]
    fn unshaped_resources_are_untouched() {
        assert_eq!(shape(patient(), "Patient", Summary::False, None), patient());
    }
}
