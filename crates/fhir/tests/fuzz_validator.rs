//! Property tests of the validator: it never panics on arbitrary or mutated input,
//! valid resources stay valid under changes that keep them valid, and generated UK
//! patients validate. (The cargo-fuzz target in /fuzz explores further, unbounded.)

use fhir::outcome::Severity;
use fhir::validate_resource;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::OnceLock;

fn examples() -> &'static [Value] {
    static EXAMPLES: OnceLock<Vec<Value>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../store/testdata/fhir-r4-examples");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    })
}

fn error_count(v: &Value) -> usize {
    validate_resource(v)
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count()
}

/// Keys that steer arbitrary JSON into the validator's interesting paths.
const KEYS: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "versionId",
    "text",
    "div",
    "status",
    "name",
    "given",
    "_given",
    "family",
    "birthDate",
    "_birthDate",
    "gender",
    "identifier",
    "system",
    "value",
    "valueString",
    "valueQuantity",
    "extension",
    "modifierExtension",
    "url",
    "contained",
    "entry",
    "resource",
    "item",
    "linkId",
    "coding",
    "code",
    "subject",
    "reference",
    "parameter",
    "type",
    "telecom",
    "active",
    "foo",
];

const TYPES: &[&str] = &[
    "Patient",
    "Observation",
    "Bundle",
    "Questionnaire",
    "Parameters",
    "Extension",
    "Nonsense",
];

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_string),
        1 => "_?[a-zA-Z]{0,8}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        proptest::sample::select(TYPES).prop_map(Value::from),
        "[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?)?)?".prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(json!("")),
    ];
    leaf.prop_recursive(8, 96, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((arb_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// A change at one place in a resource.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    WrapInArray,
    Unwrap,
    Remove,
    Insert(String, Value),
    Blank,
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        arb_json().prop_map(Mutation::Replace),
        Just(Mutation::WrapInArray),
        Just(Mutation::Unwrap),
        Just(Mutation::Remove),
        (arb_key(), arb_json()).prop_map(|(k, v)| Mutation::Insert(k, v)),
        Just(Mutation::Blank),
    ]
}

/// The value reached by following `steps` (each picks a member or entry by index),
/// stopping early at a leaf.
fn walk_to<'a>(mut cur: &'a mut Value, steps: &[u16]) -> &'a mut Value {
    for &s in steps {
        let len = match &*cur {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let i = usize::from(s) % len;
        cur = match cur {
            Value::Object(m) => m.values_mut().nth(i).unwrap(),
            Value::Array(a) => &mut a[i],
            _ => unreachable!(),
        };
    }
    cur
}

fn apply(target: &mut Value, m: Mutation) {
    match m {
        Mutation::Replace(v) => *target = v,
        Mutation::WrapInArray => *target = Value::Array(vec![target.take()]),
        Mutation::Unwrap => {
            if let Value::Array(a) = target {
                *target = a.first().cloned().unwrap_or(Value::Null);
            }
        }
        Mutation::Remove => match target {
            Value::Object(o) if !o.is_empty() => {
                let key = o.keys().next().cloned().unwrap();
                o.remove(&key);
            }
            Value::Array(a) if !a.is_empty() => {
                a.pop();
            }
            _ => *target = Value::Null,
        },
        Mutation::Insert(k, v) => match target {
            Value::Object(o) => {
                o.insert(k, v);
            }
            _ => *target = json!({ k: v }),
        },
        Mutation::Blank => *target = json!(" "),
    }
}

/// The same resource with every object's keys in another order (JSON member order carries
/// no meaning in FHIR).
fn rotate_keys(v: &Value, by: usize) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m
                .iter()
                .map(|(k, v)| (k.clone(), rotate_keys(v, by)))
                .collect();
            if !entries.is_empty() {
                let n = by % entries.len();
                entries.rotate_left(n);
            }
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| rotate_keys(v, by)).collect()),
        other => other.clone(),
    }
}

fn nhs_number_from(first_nine: &[u8]) -> Option<String> {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return None,
        c => c,
    };
    let mut s: String = first_nine.iter().map(|d| char::from(b'0' + d)).collect();
    s.push(char::from_digit(check, 10).unwrap());
    Some(s)
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

prop_compose! {
    fn arb_date()(year in 1900u32..2100, month in 1u32..=12)(year in Just(year), month in Just(month), day in 1..=days_in(year, month)) -> String {
        format!("{year:04}-{month:02}-{day:02}")
    }
}

prop_compose! {
    fn arb_nhs_number()(digits in proptest::collection::vec(0u8..10, 9)
        .prop_filter_map("check value 10 is never issued", |d| nhs_number_from(&d))) -> String {
        digits
    }
}

prop_compose! {
    fn arb_patient()(
        family in "[A-Z][a-z]{1,12}(-[A-Z][a-z]{1,8})?",
        given in proptest::collection::vec("[A-Z][a-z]{1,10}", 1..3),
        gender in proptest::sample::select(&["male", "female", "other", "unknown"][..]),
        birth_date in arb_date(),
        nhs in arb_nhs_number(),
        phone in "0[1-9][0-9]{9}",
    ) -> Value {
        json!({
            "resourceType": "Patient",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}],
            "name": [{"use": "official", "family": family, "given": given}],
            "telecom": [{"system": "phone", "value": phone, "use": "home"}],
            "gender": gender,
            "birthDate": birth_date
        })
    }
}

proptest! {
    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        let _ = validate_resource(&v);
    }

    #[test]
    fn arbitrary_members_of_a_resource_never_panic(
        resource_type in proptest::sample::select(TYPES),
        members in proptest::collection::vec((arb_key(), arb_json()), 0..8),
    ) {
        let mut obj: Map<String, Value> = members.into_iter().collect();
        obj.insert("resourceType".into(), json!(resource_type));
        let issues = validate_resource(&Value::Object(obj));
        if resource_type != "Nonsense" && resource_type != "Extension" {
            // Every location starts at the resource.
            for i in &issues {
                let e = i.expression.as_deref().unwrap_or(resource_type);
                prop_assert!(e.starts_with(resource_type), "{:?}", i);
            }
        }
    }

    #[test]
    fn mutated_examples_never_panic(
        index in any::<prop::sample::Index>(),
        steps in proptest::collection::vec(any::<u16>(), 0..10),
        mutation in arb_mutation(),
    ) {
        let mut v = index.get(examples()).clone();
        apply(walk_to(&mut v, &steps), mutation);
        let _ = validate_resource(&v);
    }

    #[test]
    fn mutated_json_text_never_panics(
        index in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut text = serde_json::to_vec(index.get(examples())).unwrap();
        let i = at.index(text.len());
        text[i] = byte;
        if let Ok(v) = serde_json::from_slice::<Value>(&text) {
            let _ = validate_resource(&v);
        }
    }

    #[test]
    fn member_order_does_not_matter(index in any::<prop::sample::Index>(), by in 1usize..7) {
        let v = index.get(examples());
        prop_assert_eq!(error_count(&rotate_keys(v, by)), 0);
    }

    #[test]
    fn adding_a_valid_extension_keeps_examples_valid(
        index in any::<prop::sample::Index>(),
        value in "[a-zA-Z0-9 ]{0,20}[a-zA-Z0-9]",
    ) {
        let mut v = index.get(examples()).clone();
        let ext = json!({"url": "https://example.org/fhir/StructureDefinition/note", "valueString": value});
        match v.get_mut("extension").and_then(Value::as_array_mut) {
            Some(list) => list.push(ext),
            None => { v["extension"] = json!([ext]); }
        }
        // Bundle and Binary and Parameters are not DomainResources: no extensions.
        let rt = v["resourceType"].as_str().unwrap().to_string();
        let expected = usize::from(matches!(rt.as_str(), "Bundle" | "Binary" | "Parameters"));
        prop_assert_eq!(error_count(&v), expected, "{}", rt);
    }

    #[test]
    fn generated_uk_patients_are_valid(p in arb_patient()) {
        prop_assert_eq!(validate_resource(&p), vec![]);
    }

    #[test]
    fn a_wrong_check_digit_is_always_caught(p in arb_patient(), delta in 1u32..10) {
        let mut p = p;
        let good = p["identifier"][0]["value"].as_str().unwrap().to_string();
        let last = good.as_bytes()[9] - b'0';
        let wrong = (u32::from(last) + delta) % 10;
        let bad = format!("{}{}", &good[..9], wrong);
        p["identifier"][0]["value"] = json!(bad);
        let issues = validate_resource(&p);
        prop_assert_eq!(issues.len(), 1);
        prop_assert_eq!(issues[0].code, "business-rule");
        prop_assert_eq!(issues[0].expression.as_deref(), Some("Patient.identifier[0].value"));
    }

    #[test]
    fn an_impossible_day_is_always_caught(p in arb_patient(), year in 1900u32..2100, month in 1u32..=12, extra in 1u32..=3) {
        let mut p = p;
        let day = days_in(year, month) + extra;
        p["birthDate"] = json!(format!("{year:04}-{month:02}-{day:02}"));
        let issues = validate_resource(&p);
        prop_assert_eq!(issues.len(), 1);
        prop_assert_eq!(issues[0].expression.as_deref(), Some("Patient.birthDate"));
    }
}
