//! Evaluates the standard search parameters' FHIRPath expressions on a resource and
//! converts what they select, by FHIR type, into typed index values.

use crate::datetime::parse_range;
use crate::defs::{Definitions, SearchParamDef};
use crate::fhirpath::{Expression, Node, Ty, split_reference};
use crate::index::{IndexEntry, IndexValue, normalize};
use crate::searchparams::params_of;
use serde_json::Value;
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// Search parameter types that produce index values (composite and special do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    String,
    Token,
    Date,
    Number,
    Quantity,
    Reference,
    Uri,
}

impl ParamKind {
    fn of(kind: &str) -> Option<ParamKind> {
        Some(match kind {
            "string" => ParamKind::String,
            "token" => ParamKind::Token,
            "date" => ParamKind::Date,
            "number" => ParamKind::Number,
            "quantity" => ParamKind::Quantity,
            "reference" => ParamKind::Reference,
            "uri" => ParamKind::Uri,
            _ => return None,
        })
    }
}

/// A parameter ready to extract: its expression compiled for one resource type.
pub(crate) struct CompiledParam {
    pub def: &'static SearchParamDef,
    kind: ParamKind,
    expr: Expression,
}

/// Why a parameter of a type is not extracted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Skipped {
    /// Composite, special, or without an expression (`_text`, `_content`): not indexed
    /// here by design.
    NotIndexed,
    /// The expression uses FHIRPath this evaluator does not support, or selects only
    /// types that have no index form for the parameter's kind.
    Unsupported(String),
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skipped::NotIndexed => {
                f.write_str("composite, special or without an expression: not indexed")
            }
            Skipped::Unsupported(why) => write!(f, "unsupported: {why}"),
        }
    }
}

pub(crate) struct TypeParams {
    pub compiled: Vec<CompiledParam>,
    pub skipped: Vec<(&'static SearchParamDef, Skipped)>,
}

/// The compiled parameters of `resource_type`: compiled on first use of each type, then
/// shared by every extraction.
pub(crate) fn type_params(resource_type: &str) -> Option<&'static TypeParams> {
    static CACHE: OnceLock<HashMap<&'static str, OnceLock<TypeParams>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        Definitions::get()
            .resource_types()
            .into_iter()
            .map(|t| (t, OnceLock::new()))
            .collect()
    });
    let (name, cell) = cache.get_key_value(resource_type)?;
    Some(cell.get_or_init(|| compile_type(name)))
}

fn compile_type(resource_type: &str) -> TypeParams {
    let mut compiled = Vec::new();
    let mut skipped = Vec::new();
    for &def in params_of(resource_type) {
        match compile_param(resource_type, def) {
            Ok(p) => compiled.push(p),
            Err(why) => skipped.push((def, why)),
        }
    }
    TypeParams { compiled, skipped }
}

fn compile_param(
    resource_type: &str,
    def: &'static SearchParamDef,
) -> Result<CompiledParam, Skipped> {
    let (Some(kind), Some(text)) = (ParamKind::of(&def.kind), def.expression.as_deref()) else {
        return Err(Skipped::NotIndexed);
    };
    let expr = Expression::compile(text, resource_type).map_err(Skipped::Unsupported)?;
    // Shared parameters (`patient`) name many types; the branches for other types
    // compile to nothing, so an empty result means no branch for this one.
    if expr.result_types.is_empty() {
        return Err(Skipped::Unsupported(format!(
            "no branch for {resource_type}"
        )));
    }
    if !expr.result_types.iter().any(|t| indexable(kind, t)) {
        let types: Vec<_> = expr.result_types.iter().map(|t| t.code).collect();
        return Err(Skipped::Unsupported(format!(
            "{:?} of types {types:?}",
            kind
        )));
    }
    Ok(CompiledParam { def, kind, expr })
}

/// Does a value of type `ty` have an index form for a parameter of `kind`?
pub(crate) fn indexable(kind: ParamKind, ty: &Ty) -> bool {
    let code = ty.code;
    match kind {
        ParamKind::String => is_text_primitive(code) || matches!(code, "HumanName" | "Address"),
        ParamKind::Token => {
            is_text_primitive(code)
                || matches!(
                    code,
                    "boolean" | "Coding" | "CodeableConcept" | "Identifier" | "ContactPoint"
                )
        }
        ParamKind::Date => matches!(code, "date" | "dateTime" | "instant" | "Period" | "Timing"),
        ParamKind::Number => is_number(code),
        ParamKind::Quantity => is_quantity(code) || code == "Money",
        ParamKind::Reference => matches!(code, "Reference" | "Resource") || is_uri(code),
        ParamKind::Uri => is_uri(code),
    }
}

fn is_text_primitive(code: &str) -> bool {
    matches!(code, "string" | "markdown" | "code" | "id") || is_uri(code)
}

fn is_uri(code: &str) -> bool {
    matches!(code, "uri" | "url" | "canonical" | "oid" | "uuid")
}

fn is_number(code: &str) -> bool {
    matches!(code, "decimal" | "integer" | "positiveInt" | "unsignedInt")
}

fn is_quantity(code: &str) -> bool {
    matches!(
        code,
        "Quantity" | "Age" | "Count" | "Distance" | "Duration" | "SimpleQuantity" | "MoneyQuantity"
    )
}

/// Every index entry of `resource` for the search parameters of `resource_type`.
/// Parameters a store answers from the resource's own id and lastUpdated, which it keeps
/// anyway; index rows for them would only duplicate those on every write.
const NOT_EXTRACTED: [&str; 2] = ["_id", "_lastUpdated"];

pub(crate) fn extract(resource_type: &str, resource: &Value) -> Vec<IndexEntry> {
    let Some(params) = type_params(resource_type) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    let mut nodes = Vec::new();
    let mut values = Vec::new();
    for p in &params.compiled {
        if NOT_EXTRACTED.contains(&p.def.name.as_str()) {
            continue;
        }
        nodes.clear();
        p.expr.evaluate(resource, &mut nodes);
        for node in &nodes {
            convert(p.kind, node, &mut values);
        }
        dedupe(&mut values);
        entries.extend(values.drain(..).map(|value| IndexEntry {
            param: p.def.name.clone(),
            value,
        }));
    }
    entries
}

/// Appends the index values of one selected value.
fn convert(kind: ParamKind, node: &Node, out: &mut Vec<IndexValue>) {
    let v = node.value;
    let code = node.ty.code;
    match kind {
        ParamKind::String => match code {
            "HumanName" => strings(v, &["family", "given", "prefix", "suffix", "text"], out),
            "Address" => strings(
                v,
                &[
                    "line",
                    "city",
                    "district",
                    "state",
                    "postalCode",
                    "country",
                    "text",
                ],
                out,
            ),
            _ => {
                if let Some(s) = v.as_str() {
                    push_string(s, out)
                }
            }
        },
        ParamKind::Token => token(code, v, out),
        ParamKind::Date => date(code, v, out),
        ParamKind::Number => {
            if let Some(value) = v.as_f64() {
                out.push(IndexValue::Number { value });
            }
        }
        ParamKind::Quantity => quantity(code, v, out),
        ParamKind::Reference => reference(code, v, out),
        ParamKind::Uri => {
            if let Some(uri) = v.as_str() {
                out.push(IndexValue::Uri {
                    uri: uri.to_string(),
                });
            }
        }
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn owned(v: &Value, key: &str) -> Option<String> {
    str_field(v, key).map(str::to_string)
}

fn push_string(s: &str, out: &mut Vec<IndexValue>) {
    let norm = normalize(s);
    if !norm.is_empty() {
        out.push(IndexValue::String {
            norm,
            exact: s.to_string(),
        });
    }
}

/// The string parts of a HumanName or Address, each its own value.
fn strings(v: &Value, keys: &[&str], out: &mut Vec<IndexValue>) {
    for key in keys {
        match v.get(key) {
            Some(Value::String(s)) => push_string(s, out),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .for_each(|s| push_string(s, out)),
            _ => {}
        }
    }
}

fn token(code: &str, v: &Value, out: &mut Vec<IndexValue>) {
    let mut push = |system: Option<String>, code: Option<String>, text: Option<String>| {
        if system.is_some() || code.is_some() || text.is_some() {
            out.push(IndexValue::Token { system, code, text });
        }
    };
    let text_of = |v: &Value, key: &str| str_field(v, key).map(normalize).filter(|t| !t.is_empty());
    match code {
        "Coding" => push(owned(v, "system"), owned(v, "code"), text_of(v, "display")),
        "CodeableConcept" => {
            for coding in v
                .get("coding")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                push(
                    owned(coding, "system"),
                    owned(coding, "code"),
                    text_of(coding, "display"),
                );
            }
            push(None, None, text_of(v, "text"));
        }
        "Identifier" => {
            let type_text = v.get("type").and_then(|t| text_of(t, "text"));
            push(owned(v, "system"), owned(v, "value"), type_text);
        }
        // ContactPoint.system is a kind of contact (phone, email), not a code system.
        "ContactPoint" => push(None, owned(v, "value"), None),
        _ => match v {
            Value::Bool(b) => push(None, Some(b.to_string()), None),
            Value::String(s) => push(None, Some(s.clone()), None),
            _ => {}
        },
    }
}

fn date(code: &str, v: &Value, out: &mut Vec<IndexValue>) {
    match code {
        "Period" => {
            let bound = |key| str_field(v, key).map(parse_range);
            let (start, end) = (bound("start"), bound("end"));
            // An unparseable bound would silently widen the period: skip it instead.
            if (start.is_none() && end.is_none()) || start == Some(None) || end == Some(None) {
                return;
            }
            let lo = start.flatten().map_or(i64::MIN, |r| r.0);
            let hi = end.flatten().map_or(i64::MAX, |r| r.1);
            out.push(IndexValue::Date { lo, hi });
        }
        "Timing" => {
            let events = v
                .get("event")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for (lo, hi) in events.filter_map(Value::as_str).filter_map(parse_range) {
                out.push(IndexValue::Date { lo, hi });
            }
        }
        _ => {
            if let Some((lo, hi)) = v.as_str().and_then(parse_range) {
                out.push(IndexValue::Date { lo, hi });
            }
        }
    }
}

fn quantity(code: &str, v: &Value, out: &mut Vec<IndexValue>) {
    let Some(value) = v.get("value").and_then(Value::as_f64) else {
        return;
    };
    if code == "Money" {
        let system = Some("urn:iso:std:iso:4217".to_string());
        out.push(IndexValue::Quantity {
            value,
            system,
            code: owned(v, "currency"),
            unit: None,
        });
    } else if is_quantity(code) {
        out.push(IndexValue::Quantity {
            value,
            system: owned(v, "system"),
            code: owned(v, "code"),
            unit: owned(v, "unit"),
        });
    }
}

fn reference(code: &str, v: &Value, out: &mut Vec<IndexValue>) {
    match code {
        "Reference" => {
            // A Reference with only an identifier, or to a contained resource, has no
            // target to search by.
            let Some(url) =
                str_field(v, "reference").filter(|r| !r.is_empty() && !r.starts_with('#'))
            else {
                return;
            };
            push_reference(url, out);
        }
        // An inline resource (Bundle.entry[0].resource): indexed as a reference to it.
        "Resource" => {
            if let (Some(t), Some(id)) = (str_field(v, "resourceType"), str_field(v, "id")) {
                let url = format!("{t}/{id}");
                push_reference(&url, out);
            }
        }
        _ => {
            if let Some(url) = v.as_str() {
                out.push(IndexValue::Reference {
                    target_type: None,
                    target_id: None,
                    url: url.to_string(),
                });
            }
        }
    }
}

fn push_reference(url: &str, out: &mut Vec<IndexValue>) {
    let (target_type, target_id) = match split_reference(url) {
        Some((t, id)) => (Some(t.to_string()), Some(id.to_string())),
        None => (None, None),
    };
    out.push(IndexValue::Reference {
        target_type,
        target_id,
        url: url.to_string(),
    });
}

/// Removes repeated values, keeping the first of each.
fn dedupe(values: &mut Vec<IndexValue>) {
    if values.len() <= 16 {
        let mut i = 1;
        while i < values.len() {
            if values[..i].contains(&values[i]) {
                values.remove(i);
            } else {
                i += 1;
            }
        }
        return;
    }
    // Long lists (a List's hundred items): bucket by hash rather than compare all pairs.
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::with_capacity(values.len());
    let mut kept: Vec<IndexValue> = Vec::with_capacity(values.len());
    for v in values.drain(..) {
        let bucket = seen.entry(hash_value(&v)).or_default();
        if !bucket.iter().any(|&i| kept[i] == v) {
            bucket.push(kept.len());
            kept.push(v);
        }
    }
    *values = kept;
}

fn hash_value(v: &IndexValue) -> u64 {
    let mut h = DefaultHasher::new();
    std::mem::discriminant(v).hash(&mut h);
    match v {
        IndexValue::String { norm, exact } => (norm, exact).hash(&mut h),
        IndexValue::Token { system, code, text } => (system, code, text).hash(&mut h),
        IndexValue::Date { lo, hi } => (lo, hi).hash(&mut h),
        IndexValue::Number { value } => value.to_bits().hash(&mut h),
        IndexValue::Quantity {
            value,
            system,
            code,
            unit,
        } => (value.to_bits(), system, code, unit).hash(&mut h),
        IndexValue::Reference {
            target_type,
            target_id,
            url,
        } => (target_type, target_id, url).hash(&mut h),
        IndexValue::Uri { uri } => uri.hash(&mut h),
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The resource types a GP record uses.
    const GP_TYPES: [&str; 37] = [
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Encounter",
        "Condition",
        "Observation",
        "AllergyIntolerance",
        "Immunization",
        "MedicationRequest",
        "MedicationStatement",
        "Medication",
        "Procedure",
        "DiagnosticReport",
        "DocumentReference",
        "Task",
        "Appointment",
        "Slot",
        "Schedule",
        "Flag",
        "ServiceRequest",
        "Consent",
        "Bundle",
        "Composition",
        "List",
        "CarePlan",
        "Communication",
        "AuditEvent",
        "Provenance",
        "RelatedPerson",
        "Location",
        "Device",
        "QuestionnaireResponse",
        "Specimen",
        "EpisodeOfCare",
        "Coverage",
        "Binary",
    ];

    fn unsupported(types: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for t in types {
            for (def, why) in &type_params(t).unwrap().skipped {
                if let Skipped::Unsupported(reason) = why {
                    out.push(format!("{t}.{} ({}): {reason}", def.name, def.kind));
                }
            }
        }
        out
    }

    #[test]
    fn every_gp_type_parameter_is_supported() {
        let missing = unsupported(&GP_TYPES);
        assert!(
            missing.is_empty(),
            "{} unsupported:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }

    #[test]
    fn almost_every_parameter_is_supported() {
        let defs = Definitions::get();
        let types = defs.resource_types();
        let missing = unsupported(&types);
        let (mut compiled, mut not_indexed) = (0, 0);
        for t in &types {
            let p = type_params(t).unwrap();
            compiled += p.compiled.len();
            not_indexed += p
                .skipped
                .iter()
                .filter(|(_, w)| *w == Skipped::NotIndexed)
                .count();
        }
        println!(
            "compiled {compiled}, not indexed by design {not_indexed}, unsupported {}",
            missing.len()
        );
        for m in &missing {
            println!("  {m}");
        }
        // Every definition with an indexable kind and an expression compiles for at
        // least one of its base types.
        let mut used = std::collections::HashSet::new();
        for t in &types {
            for p in &type_params(t).unwrap().compiled {
                used.insert(p.def.url.as_str());
            }
        }
        let uncovered: Vec<_> = defs
            .search_params
            .iter()
            .filter(|p| {
                ParamKind::of(&p.kind).is_some()
                    && p.expression.is_some()
                    && !used.contains(p.url.as_str())
            })
            .map(|p| p.url.as_str())
            .collect();
        println!(
            "definitions: {} in all, {} indexed for at least one type",
            defs.search_params.len(),
            used.len()
        );
        assert_eq!(defs.search_params.len(), 1378);
        // The 50 others are the 46 composites, `near` (special) and `_text`, `_content`
        // and `_query`, which have no expression.
        assert_eq!(used.len(), 1378 - 50);
        assert!(
            missing.is_empty() && uncovered.is_empty(),
            "{missing:#?}\n{uncovered:#?}"
        );
    }

    #[test]
    fn every_result_type_is_indexable_or_deliberately_dropped() {
        // A parameter may select several types (Observation.value); the ones with no
        // index form are listed here so that every gap is deliberate.
        let deliberate = [
            (ParamKind::Quantity, "Range"),
            (ParamKind::Quantity, "SampledData"),
            (ParamKind::Number, "Range"),
            // Free-text and age forms of occurrence/performed (`performedString`).
            (ParamKind::Date, "string"),
            (ParamKind::Date, "Age"),
            (ParamKind::Date, "Range"),
            // Consent.source as an Attachment has no reference.
            (ParamKind::Reference, "Attachment"),
        ];
        let mut dropped = Vec::new();
        for t in Definitions::get().resource_types() {
            for p in &type_params(t).unwrap().compiled {
                for ty in &p.expr.result_types {
                    if !indexable(p.kind, ty) && !deliberate.contains(&(p.kind, ty.code)) {
                        dropped.push(format!("{t}.{} {:?} {}", p.def.name, p.kind, ty.code));
                    }
                }
            }
        }
        assert!(dropped.is_empty(), "{dropped:#?}");
    }

    fn values(param: &str, rt: &str, resource: &Value) -> Vec<IndexValue> {
        extract(rt, resource)
            .into_iter()
            .filter(|e| e.param == param)
            .map(|e| e.value)
            .collect()
    }

    #[test]
    fn tokens_by_type() {
        let obs = json!({
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "1-8", "display": "Acyclovir  Susc"},
                                {"system": "http://loinc.org", "code": "1-8"}],
                     "text": "Acyclovir"},
            "identifier": [{"system": "urn:x", "value": "42", "type": {"text": "Lab No"}}]
        });
        assert_eq!(
            values("code", "Observation", &obs),
            vec![
                IndexValue::Token {
                    system: Some("http://loinc.org".into()),
                    code: Some("1-8".into()),
                    text: Some("acyclovir susc".into())
                },
                IndexValue::Token {
                    system: Some("http://loinc.org".into()),
                    code: Some("1-8".into()),
                    text: None
                },
                IndexValue::Token {
                    system: None,
                    code: None,
                    text: Some("acyclovir".into())
                },
            ]
        );
        assert_eq!(
            values("status", "Observation", &obs),
            vec![IndexValue::Token {
                system: None,
                code: Some("final".into()),
                text: None
            }]
        );
        assert_eq!(
            values("identifier", "Observation", &obs),
            vec![IndexValue::Token {
                system: Some("urn:x".into()),
                code: Some("42".into()),
                text: Some("lab no".into())
            }]
        );
        let patient = json!({"resourceType": "Patient", "active": true,
            "telecom": [{"system": "email", "value": "a@b.c"}, {"system": "phone", "value": "01"}]});
        assert_eq!(
            values("active", "Patient", &patient),
            vec![IndexValue::Token {
                system: None,
                code: Some("true".into()),
                text: None
            }]
        );
        assert_eq!(
            values("email", "Patient", &patient),
            vec![IndexValue::Token {
                system: None,
                code: Some("a@b.c".into()),
                text: None
            }]
        );
        assert_eq!(values("telecom", "Patient", &patient).len(), 2);
        assert_eq!(
            values("deceased", "Patient", &patient),
            vec![IndexValue::Token {
                system: None,
                code: Some("false".into()),
                text: None
            }]
        );
    }

    #[test]
    fn dates_periods_and_timings() {
        let enc = json!({"resourceType": "Encounter", "period": {"start": "2024-01-01"}});
        let lo = parse_range("2024-01-01").unwrap().0;
        assert_eq!(
            values("date", "Encounter", &enc),
            vec![IndexValue::Date { lo, hi: i64::MAX }]
        );
        let bad = json!({"resourceType": "Encounter", "period": {"start": "2024-01-01", "end": "garbage"}});
        assert!(values("date", "Encounter", &bad).is_empty());
        let empty = json!({"resourceType": "Encounter", "period": {}});
        assert!(values("date", "Encounter", &empty).is_empty());
        let mr = json!({"resourceType": "MedicationRequest", "dosageInstruction": [
            {"timing": {"event": ["2024-03-01", "2024-03-02"]}}]});
        assert_eq!(values("date", "MedicationRequest", &mr).len(), 2);
    }

    #[test]
    fn quantities_numbers_and_references() {
        let obs = json!({"resourceType": "Observation", "valueQuantity":
            {"value": 6.30, "unit": "mmol/l", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
            "subject": {"reference": "http://example.org/fhir/Patient/p1/_history/3"},
            "performer": [{"reference": "#contained"}, {"identifier": {"value": "x"}},
                          {"reference": "urn:uuid:0b6d8ea2-1a8b-4f5a-9a6e-6f2b3f9a1e00"}]});
        assert_eq!(
            values("value-quantity", "Observation", &obs),
            vec![IndexValue::Quantity {
                value: 6.3,
                system: Some("http://unitsofmeasure.org".into()),
                code: Some("mmol/L".into()),
                unit: Some("mmol/l".into())
            }]
        );
        let subject = IndexValue::Reference {
            target_type: Some("Patient".into()),
            target_id: Some("p1".into()),
            url: "http://example.org/fhir/Patient/p1/_history/3".into(),
        };
        assert_eq!(
            values("subject", "Observation", &obs),
            vec![subject.clone()]
        );
        assert_eq!(values("patient", "Observation", &obs), vec![subject]);
        assert_eq!(
            values("performer", "Observation", &obs),
            vec![IndexValue::Reference {
                target_type: None,
                target_id: None,
                url: "urn:uuid:0b6d8ea2-1a8b-4f5a-9a6e-6f2b3f9a1e00".into()
            }]
        );
        // A group subject is not a patient.
        let group = json!({"resourceType": "Observation", "subject": {"reference": "Group/g"}});
        assert!(values("patient", "Observation", &group).is_empty());
        let claim =
            json!({"resourceType": "Invoice", "totalNet": {"value": 10.5, "currency": "GBP"}});
        assert_eq!(
            values("totalnet", "Invoice", &claim),
            vec![IndexValue::Quantity {
                value: 10.5,
                system: Some("urn:iso:std:iso:4217".into()),
                code: Some("GBP".into()),
                unit: None
            }]
        );
        let risk =
            json!({"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": 0.25}]});
        assert_eq!(
            values("probability", "RiskAssessment", &risk),
            vec![IndexValue::Number { value: 0.25 }]
        );
    }

    #[test]
    fn strings_from_choices_and_concept_text() {
        let obs = json!({"resourceType": "Observation",
            "valueCodeableConcept": {"text": "Héavy  Smoker", "coding": [{"code": "x"}]}});
        assert_eq!(
            values("value-string", "Observation", &obs),
            vec![IndexValue::String {
                norm: "heavy smoker".into(),
                exact: "Héavy  Smoker".into()
            }]
        );
        let cond = json!({"resourceType": "Condition", "onsetAge": {"value": 52, "unit": "yr",
            "system": "http://unitsofmeasure.org", "code": "a"}, "abatementString": "in spring"});
        assert_eq!(
            values("onset-age", "Condition", &cond),
            vec![IndexValue::Quantity {
                value: 52.0,
                system: Some("http://unitsofmeasure.org".into()),
                code: Some("a".into()),
                unit: Some("yr".into())
            }]
        );
        assert!(values("onset-date", "Condition", &cond).is_empty());
        let audit = json!({"resourceType": "AuditEvent",
            "agent": [{"who": {"reference": "Patient/a"}}, {"who": {"reference": "Practitioner/b"}}],
            "entity": [{"what": {"reference": "Patient/a"}}, {"what": {"reference": "Patient/c"}}]});
        let patients: Vec<_> = values("patient", "AuditEvent", &audit)
            .into_iter()
            .map(|v| match v {
                IndexValue::Reference { url, .. } => url,
                other => panic!("{other:?}"),
            })
            .collect();
        // Deduplicated across both branches of the union.
        assert_eq!(patients, ["Patient/a", "Patient/c"]);
    }

    #[test]
    fn common_parameters() {
        let p = json!({"resourceType": "Patient", "id": "x1", "meta": {
            "lastUpdated": "2024-05-06T07:08:09.123Z", "source": "http://src",
            "profile": ["http://p/1"], "tag": [{"system": "http://t", "code": "a"}],
            "security": [{"system": "http://s", "code": "R"}]}});
        // Stores answer these from the resource's own columns: no index rows.
        assert_eq!(values("_id", "Patient", &p), vec![]);
        assert_eq!(values("_lastUpdated", "Patient", &p), vec![]);
        assert_eq!(
            values("_source", "Patient", &p),
            vec![IndexValue::Uri {
                uri: "http://src".into()
            }]
        );
        assert_eq!(
            values("_profile", "Patient", &p),
            vec![IndexValue::Uri {
                uri: "http://p/1".into()
            }]
        );
        assert_eq!(
            values("_tag", "Patient", &p),
            vec![IndexValue::Token {
                system: Some("http://t".into()),
                code: Some("a".into()),
                text: None
            }]
        );
        assert_eq!(values("_security", "Patient", &p).len(), 1);
        let binary = json!({"resourceType": "Binary", "id": "b", "contentType": "text/plain"});
        assert_eq!(values("_security", "Binary", &binary).len(), 0);
        assert!(extract("NotAType", &binary).is_empty());
    }

    #[test]
    fn dedupes_long_and_short_lists() {
        let mut short = vec![
            IndexValue::Uri { uri: "a".into() },
            IndexValue::Uri { uri: "a".into() },
        ];
        dedupe(&mut short);
        assert_eq!(short.len(), 1);
        let mut long: Vec<_> = (0..100)
            .map(|i| IndexValue::Number {
                value: (i % 30) as f64,
            })
            .collect();
        dedupe(&mut long);
        assert_eq!(long.len(), 30);
        assert_eq!(long[29], IndexValue::Number { value: 29.0 });
    }
}
