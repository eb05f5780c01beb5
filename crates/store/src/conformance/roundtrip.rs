//! Cases: a resource read back is the resource sent, element for element (order, decimal
//! digits, unicode), apart from the `id` and `meta.versionId` / `meta.lastUpdated` the
//! server sets; and every official R4 example survives being stored and read back.

use super::{Case, Harness};
use crate::case;
use crate::repository::HistoryRequest;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub fn cases() -> Vec<Case> {
    vec![
        case!(body_read_back_is_body_sent),
        case!(official_examples_round_trip),
    ]
}

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fhir-r4-examples");

/// Examples that cannot succeed as transactions on an empty store, and why.
const FAILING_TRANSACTIONS: &[(&str, &str)] = &[(
    "bundle-transaction.json",
    "it invokes ValueSet/$lookup, updates Patient/123a with If-Match W/\"2\" and reads Patient/12334, none of which exist",
)];

fn body_read_back_is_body_sent(h: &Harness) {
    let ctx = h.ctx();
    // Element order deliberately unusual, meta with a tag and profile, decimals whose
    // digits matter, and text in several scripts. (An exponent is written with its sign,
    // `1e+2`: serde_json adds a missing `+`, which FHIR's decimal syntax allows either way.)
    let sent = r#"{"valueQuantity":{"value":1.50,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},"resourceType":"Observation","status":"final","meta":{"tag":[{"system":"http://example.org/tags","code":"t1"}],"profile":["http://example.org/StructureDefinition/x"]},"code":{"text":"Glucose – nüchtern 空腹 😀"},"referenceRange":[{"low":{"value":3.0},"high":{"value":6.10}}],"note":[{"text":"Zoë's \"quoted\" line\nnext"}],"component":[{"code":{"text":"b"},"valueInteger":0},{"code":{"text":"a"},"extension":[{"url":"http://example.org/x","valueDecimal":1e+2}],"valueInteger":7}]}"#;
    let out = h
        .repo
        .create(
            &ctx,
            "Observation",
            serde_json::from_str(sent).unwrap(),
            None,
        )
        .unwrap();
    let id = &out.resource.id;
    let read = h.repo.read(&ctx, "Observation", id).unwrap();
    let expected = format!(
        r#"{{"resourceType":"Observation","id":"{id}","meta":{{"versionId":"1","lastUpdated":"{}","tag":[{{"system":"http://example.org/tags","code":"t1"}}],"profile":["http://example.org/StructureDefinition/x"]}},"valueQuantity":{{"value":1.50,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}},"status":"final","code":{{"text":"Glucose – nüchtern 空腹 😀"}},"referenceRange":[{{"low":{{"value":3.0}},"high":{{"value":6.10}}}}],"note":[{{"text":"Zoë's \"quoted\" line\nnext"}}],"component":[{{"code":{{"text":"b"}},"valueInteger":0}},{{"code":{{"text":"a"}},"extension":[{{"url":"http://example.org/x","valueDecimal":1e+2}}],"valueInteger":7}}]}}"#,
        read.last_updated_instant()
    );
    assert_eq!(read.body.as_deref(), Some(expected.as_str()));
    // An update keeps the same promises, and the old version is still as it was.
    let updated = h
        .repo
        .update(
            &ctx,
            "Observation",
            id,
            super::with_id(serde_json::from_str(sent).unwrap(), id),
            Some(1),
        )
        .unwrap();
    assert!(
        updated
            .resource
            .body
            .as_deref()
            .unwrap()
            .contains(r#""value":1.50"#)
    );
    assert_eq!(
        h.repo
            .vread(&ctx, "Observation", id, "1")
            .unwrap()
            .body
            .as_deref(),
        Some(expected.as_str())
    );
}

/// Differences between a resource sent and the resource read back, ignoring what the
/// server sets. Element order counts, except that `id` and `meta` may move to the front.
fn differences(sent: &Value, stored: &Value) -> Option<String> {
    let strip = |v: &Value| -> (Vec<(String, String)>, Value) {
        let mut obj = v.as_object().cloned().unwrap_or_default();
        obj.shift_remove("id");
        let mut meta = match obj.shift_remove("meta") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        meta.shift_remove("versionId");
        meta.shift_remove("lastUpdated");
        let elements = obj
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        (elements, Value::Object(meta))
    };
    let (sent_elements, sent_meta) = strip(sent);
    let (stored_elements, stored_meta) = strip(stored);
    if sent_meta != stored_meta {
        return Some(format!(
            "meta differs: sent {sent_meta}, stored {stored_meta}"
        ));
    }
    if sent_elements != stored_elements {
        let first = sent_elements
            .iter()
            .zip(&stored_elements)
            .find(|(a, b)| a != b);
        return Some(format!("elements differ, first at {first:?}"));
    }
    None
}

fn official_examples_round_trip(h: &Harness) {
    let ctx = h.ctx();
    let mut files: Vec<_> = std::fs::read_dir(EXAMPLES)
        .expect("the R4 examples are in testdata")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 100, "examples missing from {EXAMPLES}");
    let mut failures = Vec::new();
    let mut bundles = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let sent: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rtype = sent["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if rtype == "Bundle" && matches!(sent["type"].as_str(), Some("transaction" | "batch")) {
            bundles.push((name, sent));
            continue;
        }
        // The audit trail is written only by OpenGP itself (405 through the API).
        if rtype == "AuditEvent" {
            continue;
        }
        let id = sent["id"].as_str().unwrap_or_default().to_string();
        if let Err(e) = h
            .repo
            .update(&ctx, &rtype, &id, super::with_id(sent.clone(), &id), None)
        {
            failures.push(format!(
                "{name}: update refused ({}): {:?}",
                e.status(),
                e.issues()
            ));
            continue;
        }
        match h.repo.read(&ctx, &rtype, &id) {
            Ok(read) => {
                if let Some(d) = differences(&sent, &read.json().unwrap()) {
                    failures.push(format!("{name}: {d}"));
                }
            }
            Err(e) => failures.push(format!("{name}: read failed: {e:?}")),
        }
    }
    // Bundles to process go last, so their reads and searches find the examples.
    for (name, sent) in bundles {
        if let Some(problem) = process_example_bundle(h, &name, sent) {
            failures.push(format!("{name}: {problem}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// Posts a transaction or batch example and checks what it wrote; None if all is well.
fn process_example_bundle(h: &Harness, name: &str, sent: Value) -> Option<String> {
    let ctx = h.ctx();
    let kind = sent["type"].as_str().unwrap_or_default().to_string();
    let requests = sent["entry"].as_array().cloned().unwrap_or_default();
    let history_len = || {
        let req = HistoryRequest {
            params: vec![("_count".into(), "1000".into())],
            base_url: h.base_url().into(),
            ..Default::default()
        };
        h.repo
            .history(&ctx, &req)
            .map(|b| b["entry"].as_array().map_or(0, Vec::len))
            .unwrap_or(usize::MAX)
    };
    let before = history_len();
    let result = h.repo.bundle(&ctx, sent, h.base_url());
    if FAILING_TRANSACTIONS.iter().any(|(n, _)| *n == name) {
        return match result {
            Ok(_) => Some("expected to fail as a transaction, but succeeded".into()),
            Err(_) if history_len() != before => Some("failed but wrote something".into()),
            Err(_) => None,
        };
    }
    let response = match result {
        Ok(r) => r,
        Err(e) => return Some(format!("{kind} refused ({}): {:?}", e.status(), e.issues())),
    };
    let responses = response["entry"].as_array().cloned().unwrap_or_default();
    if responses.len() != requests.len() {
        return Some(format!(
            "{} requests but {} responses",
            requests.len(),
            responses.len()
        ));
    }
    // Where each created resource went, to resolve the example's own references.
    let mut refs = HashMap::new();
    for (req, resp) in requests.iter().zip(&responses) {
        if let (Some(full_url), Some(location)) = (
            req["fullUrl"].as_str(),
            resp["response"]["location"].as_str(),
        ) {
            refs.insert(
                full_url.to_string(),
                location
                    .split("/_history/")
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    for (i, (req, resp)) in requests.iter().zip(&responses).enumerate() {
        let status = resp["response"]["status"].as_str().unwrap_or_default();
        let method = req["request"]["method"].as_str().unwrap_or_default();
        if method == "GET" {
            // A batch read of an example resource must work; searches may be refused
            // for parameters this server does not support, but must answer.
            let url = req["request"]["url"].as_str().unwrap_or_default();
            if !url.contains('?') && !status.starts_with("200") {
                return Some(format!("entry {i} GET {url}: {status}"));
            }
            if status.is_empty() {
                return Some(format!("entry {i} has no response status"));
            }
            continue;
        }
        let Some(location) = resp["response"]["location"].as_str() else {
            return Some(format!("entry {i} ({method}) has no location: {resp}"));
        };
        let reference = location.split("/_history/").next().unwrap_or_default();
        let Some((rtype, id)) = reference.split_once('/') else {
            return Some(format!("entry {i}: bad location {location}"));
        };
        let mut expected = req["resource"].clone();
        rewrite(&mut expected, &refs);
        match h.repo.read(&ctx, rtype, id) {
            Ok(read) => {
                if let Some(d) = differences(&expected, &read.json().unwrap()) {
                    return Some(format!("entry {i} ({reference}): {d}"));
                }
            }
            Err(e) => return Some(format!("entry {i} ({reference}) cannot be read: {e:?}")),
        }
    }
    None
}

/// The example's references to other entries, as the server must have rewritten them.
fn rewrite(v: &mut Value, refs: &HashMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(s) if k == "reference" => {
                        if let Some(r) = refs.get(s.as_str()) {
                            *s = r.clone();
                        }
                    }
                    _ => rewrite(x, refs),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, refs)),
        _ => {}
    }
}
