//! Validation of resources against the R4 definitions: the official examples pass, and
//! each rule rejects what it should, at the right location.

use fhir::outcome::{Issue, Severity};
use fhir::validate_resource;
use serde_json::{Value, json};
use std::path::PathBuf;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../store/testdata/fhir-r4-examples")
}

fn load_examples() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(examples_dir())
        .expect("the examples directory exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn errors(resource: &Value) -> Vec<Issue> {
    validate_resource(resource)
        .into_iter()
        .filter(|i| i.severity == Severity::Error)
        .collect()
}

/// The single error reported for `resource`, which must be at `expression`.
#[track_caller]
fn only_error(resource: &Value, code: &str, expression: Option<&str>) -> String {
    let errs = errors(resource);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    let e = &errs[0];
    assert_eq!(e.code, code, "{e:#?}");
    assert_eq!(e.expression.as_deref(), expression, "{e:#?}");
    e.diagnostics.clone()
}

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "id": "example",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
        "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]}],
        "gender": "male",
        "birthDate": "1974-12-25"
    })
}

fn observation() -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": "Patient/example"},
        "valueQuantity": {"value": 72.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}
    })
}

#[test]
fn every_official_example_is_valid() {
    let examples = load_examples();
    assert!(examples.len() > 200, "the examples are present");
    let mut failures = Vec::new();
    for (name, resource) in &examples {
        for e in errors(resource) {
            failures.push(format!("{name}: {:?} {}", e.expression, e.diagnostics));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fixtures_are_valid() {
    assert_eq!(validate_resource(&patient()), vec![]);
    assert_eq!(validate_resource(&observation()), vec![]);
}

// --- The root ---

#[test]
fn the_root_must_be_a_known_concrete_resource() {
    let d = only_error(&json!([1]), "structure", None);
    assert_eq!(d, "A resource must be a JSON object, not an array");
    only_error(&json!({"id": "x"}), "required", None);
    let d = only_error(
        &json!({"resourceType": "Foo"}),
        "structure",
        Some("resourceType"),
    );
    assert_eq!(d, "Unknown resource type 'Foo'");
    only_error(
        &json!({"resourceType": "DomainResource", "id": "x"}),
        "structure",
        Some("resourceType"),
    );
    only_error(
        &json!({"resourceType": 5}),
        "structure",
        Some("resourceType"),
    );
}

// --- Elements ---

#[test]
fn unknown_elements_are_rejected() {
    let mut p = patient();
    p["foo"] = json!("bar");
    assert_eq!(
        only_error(&p, "structure", Some("Patient.foo")),
        "Unknown element 'foo'"
    );

    let mut p = patient();
    p["name"][0]["nickname"] = json!("Pete");
    only_error(&p, "structure", Some("Patient.name[0].nickname"));
}

#[test]
fn resource_type_is_only_allowed_at_resource_roots() {
    let mut p = patient();
    p["name"][0]["resourceType"] = json!("HumanName");
    only_error(&p, "structure", Some("Patient.name[0].resourceType"));
}

#[test]
fn choice_elements_need_a_known_type_suffix() {
    let mut o = observation();
    o["valueString"] = json!("seventy");
    o.as_object_mut().unwrap().remove("valueQuantity");
    assert_eq!(validate_resource(&o), vec![]);

    let mut bad = o.clone();
    bad.as_object_mut().unwrap().remove("valueString");
    bad["valueFoo"] = json!("x");
    assert_eq!(
        only_error(&bad, "structure", Some("Observation.valueFoo")),
        "Unknown element 'valueFoo'"
    );

    let mut bare = o.clone();
    bare.as_object_mut().unwrap().remove("valueString");
    bare["value"] = json!("x");
    only_error(&bare, "structure", Some("Observation.value"));

    // A lower-case type suffix is not the type's name.
    let mut lower = o.clone();
    lower.as_object_mut().unwrap().remove("valueString");
    lower["valuestring"] = json!("x");
    only_error(&lower, "structure", Some("Observation.valuestring"));
}

#[test]
fn only_one_type_of_a_choice_may_be_present() {
    let mut o = observation();
    o["valueString"] = json!("seventy");
    let d = only_error(&o, "structure", Some("Observation.valueString"));
    assert!(d.contains("value[x]") && d.contains("valueQuantity"), "{d}");
}

#[test]
fn backbone_elements_and_content_references_are_resolved() {
    let q = json!({
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [{
            "linkId": "1", "type": "group",
            "item": [{"linkId": "1.1", "type": "group",
                      "item": [{"linkId": "1.1.1", "type": "string", "text": "Name"}]}]
        }]
    });
    assert_eq!(validate_resource(&q), vec![]);
    let mut bad = q.clone();
    bad["item"][0]["item"][0]["item"][0]["colour"] = json!("red");
    only_error(
        &bad,
        "structure",
        Some("Questionnaire.item[0].item[0].item[0].colour"),
    );
    let mut missing = q.clone();
    missing["item"][0]["item"][0]["item"][0]
        .as_object_mut()
        .unwrap()
        .remove("linkId");
    let d = only_error(
        &missing,
        "required",
        Some("Questionnaire.item[0].item[0].item[0]"),
    );
    assert_eq!(d, "Element 'linkId' is required (min 1)");

    let mut p = patient();
    p["contact"] = json!([{"name": {"family": "Chalmers"}, "gender": "female"}]);
    assert_eq!(validate_resource(&p), vec![]);
    p["contact"][0]["gender"] = json!("woman");
    only_error(&p, "code-invalid", Some("Patient.contact[0].gender"));
}

// --- Cardinality and JSON shape ---

#[test]
fn single_elements_must_not_be_arrays() {
    let mut p = patient();
    p["gender"] = json!(["male"]);
    let d = only_error(&p, "structure", Some("Patient.gender"));
    assert_eq!(d, "Element 'gender' must not be an array (max 1)");

    let mut o = observation();
    o["code"] = json!([{"text": "weight"}]);
    only_error(&o, "structure", Some("Observation.code"));
}

#[test]
fn repeating_elements_must_be_arrays() {
    let mut p = patient();
    p["name"] = json!({"family": "Chalmers"});
    only_error(&p, "structure", Some("Patient.name"));
    let mut p = patient();
    p["name"][0]["given"] = json!("Peter");
    only_error(&p, "structure", Some("Patient.name[0].given"));
}

#[test]
fn required_elements_must_be_present() {
    let mut o = observation();
    o.as_object_mut().unwrap().remove("status");
    let d = only_error(&o, "required", Some("Observation"));
    assert_eq!(d, "Element 'status' is required (min 1)");

    // An extension alone satisfies the cardinality of a primitive element.
    let mut o = observation();
    o.as_object_mut().unwrap().remove("status");
    o["_status"] = json!({"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]});
    assert_eq!(validate_resource(&o), vec![]);
}

#[test]
fn any_type_of_a_required_choice_satisfies_it() {
    let mr = json!({
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Amoxicillin 500mg capsules"},
        "subject": {"reference": "Patient/example"}
    });
    assert_eq!(validate_resource(&mr), vec![]);
    let mut by_ref = mr.clone();
    by_ref
        .as_object_mut()
        .unwrap()
        .remove("medicationCodeableConcept");
    by_ref["medicationReference"] = json!({"reference": "Medication/amox"});
    assert_eq!(validate_resource(&by_ref), vec![]);
    let mut none = mr.clone();
    none.as_object_mut()
        .unwrap()
        .remove("medicationCodeableConcept");
    let d = only_error(&none, "required", Some("MedicationRequest"));
    assert_eq!(d, "Element 'medication[x]' is required (min 1)");
}

#[test]
fn empty_values_are_rejected() {
    let mut p = patient();
    p["name"][0]["family"] = json!("");
    let d = only_error(&p, "value", Some("Patient.name[0].family"));
    assert!(d.contains("empty"), "{d}");

    let mut p = patient();
    p["name"][0]["given"][1] = json!("   ");
    only_error(&p, "value", Some("Patient.name[0].given[1]"));

    let mut p = patient();
    p["telecom"] = json!([]);
    only_error(&p, "structure", Some("Patient.telecom"));

    let mut p = patient();
    p["maritalStatus"] = json!({});
    only_error(&p, "structure", Some("Patient.maritalStatus"));

    let mut p = patient();
    p["birthDate"] = json!(null);
    only_error(&p, "structure", Some("Patient.birthDate"));

    let mut p = patient();
    p["name"] = json!([null]);
    only_error(&p, "structure", Some("Patient.name[0]"));
}

// --- Primitives ---

#[test]
fn dates_must_be_real_dates() {
    let mut p = patient();
    p["birthDate"] = json!("1970-13-45");
    let d = only_error(&p, "value", Some("Patient.birthDate"));
    assert_eq!(d, "'1970-13-45' is not a valid date");
    p["birthDate"] = json!("1970-02-30");
    only_error(&p, "value", Some("Patient.birthDate"));
    p["birthDate"] = json!("1970-02");
    assert_eq!(validate_resource(&p), vec![]);
}

#[test]
fn date_times_with_a_time_need_a_zone() {
    let mut o = observation();
    o["effectiveDateTime"] = json!("2024-05-01T09:30:00");
    let d = only_error(&o, "value", Some("Observation.effectiveDateTime"));
    assert!(d.contains("is not a valid dateTime"), "{d}");
    o["effectiveDateTime"] = json!("2024-05-01T09:30:00+01:00");
    assert_eq!(validate_resource(&o), vec![]);
    o["issued"] = json!("2024-05-01");
    only_error(&o, "value", Some("Observation.issued"));
}

#[test]
fn decimals_must_be_json_numbers() {
    let mut o = observation();
    o["valueQuantity"]["value"] = json!("72.5");
    let d = only_error(&o, "value", Some("Observation.valueQuantity.value"));
    assert_eq!(d, "A decimal value must be a JSON number, not a string");
}

#[test]
fn integers_must_be_json_integers_in_range() {
    let mut p = patient();
    p["multipleBirthInteger"] = json!(2);
    assert_eq!(validate_resource(&p), vec![]);
    p["multipleBirthInteger"] = json!("2");
    only_error(&p, "value", Some("Patient.multipleBirthInteger"));
    p["multipleBirthInteger"] = json!(2.5);
    only_error(&p, "value", Some("Patient.multipleBirthInteger"));
    p["multipleBirthInteger"] = json!(3_000_000_000_i64);
    only_error(&p, "value", Some("Patient.multipleBirthInteger"));

    // Attachment.size is an unsignedInt.
    let mut p = patient();
    p["photo"] = json!([{"contentType": "image/jpeg", "size": 0}]);
    assert_eq!(validate_resource(&p), vec![]);
    p["photo"][0]["size"] = json!(-1);
    let d = only_error(&p, "value", Some("Patient.photo[0].size"));
    assert_eq!(
        d,
        "'-1' is not a valid unsignedInt: it must be in the range 0 to 2147483647"
    );
}

#[test]
fn booleans_must_be_json_booleans() {
    let mut p = patient();
    p["active"] = json!("true");
    let d = only_error(&p, "value", Some("Patient.active"));
    assert_eq!(d, "A boolean value must be a JSON boolean, not a string");
}

#[test]
fn objects_are_not_primitives() {
    let mut p = patient();
    p["birthDate"] = json!({"value": "1970-01-01"});
    only_error(&p, "structure", Some("Patient.birthDate"));
}

#[test]
fn ids_must_be_valid() {
    let mut p = patient();
    p["id"] = json!("bad id!");
    let d = only_error(&p, "value", Some("Patient.id"));
    assert_eq!(d, "'bad id!' is not a valid id");
    p["id"] = json!("a".repeat(65));
    only_error(&p, "value", Some("Patient.id"));
}

#[test]
fn uris_and_codes_follow_their_formats() {
    let mut p = patient();
    p["identifier"][0]["system"] = json!("https://example.org/has space");
    only_error(&p, "value", Some("Patient.identifier[0].system"));
    let mut o = observation();
    o["code"]["coding"][0]["code"] = json!(" 29463-7");
    only_error(&o, "value", Some("Observation.code.coding[0].code"));
}

#[test]
fn narrative_must_be_a_div() {
    let mut p = patient();
    p["text"] = json!({"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Peter</div>"});
    assert_eq!(validate_resource(&p), vec![]);
    p["text"]["div"] = json!("Peter");
    only_error(&p, "value", Some("Patient.text.div"));
}

#[test]
fn primitive_extensions_are_validated() {
    let ext =
        json!({"url": "http://example.org/fhir/StructureDefinition/precision", "valueCode": "day"});
    let mut p = patient();
    p["_birthDate"] = json!({"id": "bd", "extension": [ext.clone()]});
    p["name"][0]["given"] = json!(["Peter", null]);
    p["name"][0]["_given"] = json!([null, {"extension": [ext.clone()]}]);
    assert_eq!(validate_resource(&p), vec![]);

    let mut bad = p.clone();
    bad["_birthDate"]["colour"] = json!("red");
    only_error(&bad, "structure", Some("Patient.birthDate.colour"));

    let mut bad = p.clone();
    bad["_birthDate"]["extension"][0]
        .as_object_mut()
        .unwrap()
        .remove("url");
    only_error(&bad, "required", Some("Patient.birthDate.extension[0]"));

    let mut bad = p.clone();
    bad["name"][0]["_given"] = json!([null, null]);
    let d = only_error(&bad, "structure", Some("Patient.name[0].given[1]"));
    assert!(d.contains("null"), "{d}");

    let mut bad = p.clone();
    bad["name"][0]["_given"] = json!([null]);
    // One entry too few, and so given[1] is null with nothing beside it.
    let errs = errors(&bad);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(errs[0].expression.as_deref(), Some("Patient.name[0].given"));

    // A complex element has no `_` form.
    let mut bad = p.clone();
    bad["_name"] = json!({"id": "n"});
    only_error(&bad, "structure", Some("Patient._name"));

    // Only a value or an extension: `_birthDate` alone is fine.
    let mut alone = p.clone();
    alone.as_object_mut().unwrap().remove("birthDate");
    assert_eq!(validate_resource(&alone), vec![]);
}

// --- Extensions ---

#[test]
fn extensions_need_a_url_and_one_of_value_or_extensions() {
    let good = json!({"url": "http://example.org/ext", "valueString": "x"});
    let complex = json!({"url": "http://example.org/ext", "extension": [{"url": "part", "valueBoolean": true}]});
    let mut p = patient();
    p["extension"] = json!([good, complex]);
    p["modifierExtension"] = json!([{"url": "http://example.org/mod", "valueBoolean": false}]);
    assert_eq!(validate_resource(&p), vec![]);

    let mut p = patient();
    p["extension"] = json!([{"valueString": "x"}]);
    let d = only_error(&p, "required", Some("Patient.extension[0]"));
    assert_eq!(d, "Element 'url' is required (min 1)");

    p["extension"] = json!([{"url": "http://example.org/ext"}]);
    only_error(&p, "invalid", Some("Patient.extension[0]"));

    p["extension"] = json!([{"url": "http://example.org/ext", "valueString": "x",
        "extension": [{"url": "part", "valueBoolean": true}]}]);
    let d = only_error(&p, "invalid", Some("Patient.extension[0]"));
    assert!(d.contains("not both"), "{d}");

    p["extension"] = json!([{"url": "http://example.org/ext", "valueFoo": "x"}]);
    let errs = errors(&p);
    assert!(
        errs.iter()
            .any(|e| e.expression.as_deref() == Some("Patient.extension[0].valueFoo")),
        "{errs:#?}"
    );

    p["extension"] = json!([{"url": "http://example.org/ext", "valueDate": "1970-13-45"}]);
    only_error(&p, "value", Some("Patient.extension[0].valueDate"));

    p["extension"] = json!({"url": "http://example.org/ext", "valueString": "x"});
    only_error(&p, "structure", Some("Patient.extension"));
}

// --- Required bindings ---

#[test]
fn codes_must_be_in_required_value_sets() {
    let mut p = patient();
    p["gender"] = json!("maybe");
    let d = only_error(&p, "code-invalid", Some("Patient.gender"));
    assert_eq!(
        d,
        "'maybe' is not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender"
    );

    let mut o = observation();
    o["status"] = json!("done");
    only_error(&o, "code-invalid", Some("Observation.status"));

    // Codes in a repeating element are each checked.
    let sp = json!({"resourceType": "SearchParameter", "url": "http://example.org/sp", "name": "x",
        "status": "draft", "description": "x", "code": "x", "base": ["Patient", "Nonsense"], "type": "token"});
    only_error(&sp, "code-invalid", Some("SearchParameter.base[1]"));
}

#[test]
fn codings_from_a_bound_system_must_be_in_the_value_set() {
    let condition = |system: &str, code: &str| {
        json!({"resourceType": "Condition", "subject": {"reference": "Patient/example"},
            "clinicalStatus": {"coding": [{"system": system, "code": code}]}})
    };
    let clinical = "http://terminology.hl7.org/CodeSystem/condition-clinical";
    assert_eq!(validate_resource(&condition(clinical, "active")), vec![]);
    let d = only_error(
        &condition(clinical, "bogus"),
        "code-invalid",
        Some("Condition.clinicalStatus.coding[0].code"),
    );
    assert!(
        d.contains("'bogus'") && d.contains("http://hl7.org/fhir/ValueSet/condition-clinical"),
        "{d}"
    );
    // A coding from another system is a translation, not checked against the binding.
    assert_eq!(
        validate_resource(&condition("http://snomed.info/sct", "55561003")),
        vec![]
    );
}

// --- Resources inside resources ---

#[test]
fn contained_resources_are_validated_in_place() {
    let mut p = patient();
    p["contained"] = json!([
        {"resourceType": "Organization", "id": "gp", "name": "The Surgery"},
        {"resourceType": "Patient", "id": "mum", "birthDate": "1970-13-45"}
    ]);
    let d = only_error(&p, "value", Some("Patient.contained[1].birthDate"));
    assert_eq!(d, "'1970-13-45' is not a valid date");

    p["contained"] = json!([{"resourceType": "Organization", "name": "The Surgery"}]);
    let d = only_error(&p, "required", Some("Patient.contained[0]"));
    assert!(d.contains("id"), "{d}");

    p["contained"] =
        json!([{"resourceType": "Organization", "id": "gp", "meta": {"versionId": "1"}}]);
    only_error(&p, "invalid", Some("Patient.contained[0].meta.versionId"));

    p["contained"] = json!([{"resourceType": "Organization", "id": "gp",
        "contained": [{"resourceType": "Organization", "id": "inner", "name": "x"}]}]);
    only_error(&p, "invalid", Some("Patient.contained[0].contained"));

    p["contained"] = json!([{"resourceType": "Nonsense", "id": "x"}]);
    only_error(&p, "structure", Some("Patient.contained[0].resourceType"));
}

#[test]
fn bundle_entries_are_validated_as_their_own_type() {
    let mut b = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "resource": patient(),
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": observation(), "request": {"method": "POST", "url": "Observation"}},
            {"resource": patient(), "request": {"method": "PUT", "url": "Patient/example"}}
        ]
    });
    assert_eq!(validate_resource(&b), vec![]);
    b["entry"][2]["resource"]["birthDate"] = json!("1970-13-45");
    only_error(&b, "value", Some("Bundle.entry[2].resource.birthDate"));

    b["entry"][2]["resource"] =
        json!({"resourceType": "Patient", "active": true, "valueString": "x"});
    only_error(
        &b,
        "structure",
        Some("Bundle.entry[2].resource.valueString"),
    );

    b["entry"][2]["resource"] = json!({"active": true});
    only_error(&b, "required", Some("Bundle.entry[2].resource"));

    b["entry"][2]["resource"] = json!([patient()]);
    only_error(&b, "structure", Some("Bundle.entry[2].resource"));
}

#[test]
fn nested_bundles_keep_full_locations() {
    let inner = json!({"resourceType": "Bundle", "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "gender": "maybe"}}]});
    let outer =
        json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": inner}]});
    only_error(
        &outer,
        "code-invalid",
        Some("Bundle.entry[0].resource.entry[0].resource.gender"),
    );
}

#[test]
fn parameters_resources_are_validated() {
    let mut params = json!({"resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": patient()}]});
    assert_eq!(validate_resource(&params), vec![]);
    params["parameter"][0]["resource"]["foo"] = json!(1);
    only_error(
        &params,
        "structure",
        Some("Parameters.parameter[0].resource.foo"),
    );
}

// --- UK rules ---

#[test]
fn nhs_numbers_must_have_a_valid_check_digit() {
    let mut p = patient();
    p["identifier"][0]["value"] = json!("9434765918");
    let d = only_error(&p, "business-rule", Some("Patient.identifier[0].value"));
    assert_eq!(
        d,
        "'9434765918' is not a valid NHS number: the check digit does not match"
    );

    p["identifier"] = json!([
        {"system": "https://example.org/mrn", "value": "123"},
        {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "943 476 5919"}
    ]);
    let d = only_error(&p, "business-rule", Some("Patient.identifier[1].value"));
    assert!(d.contains("ten digits"), "{d}");

    for good in ["9434765919", "9000000009", "9449305552"] {
        p["identifier"][1]["value"] = json!(good);
        assert_eq!(validate_resource(&p), vec![], "{good}");
    }
    // Other systems are not NHS numbers.
    p["identifier"][0]["value"] = json!("9434765918");
    assert_eq!(validate_resource(&p), vec![]);
}

// --- Hostile input ---

#[test]
fn deep_nesting_is_reported_not_overflowed() {
    let mut ext = json!({"url": "leaf", "valueBoolean": true});
    for _ in 0..500 {
        ext = json!({"url": "level", "extension": [ext]});
    }
    let p = json!({"resourceType": "Patient", "extension": [ext]});
    let errs = errors(&p);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].diagnostics.contains("Nesting too deep"),
        "{errs:#?}"
    );
    assert_eq!(errs[0].code, "structure");

    // Real resources nest far less than the limit.
    let mut ext = json!({"url": "leaf", "valueBoolean": true});
    for _ in 0..30 {
        ext = json!({"url": "level", "extension": [ext]});
    }
    assert_eq!(
        validate_resource(&json!({"resourceType": "Patient", "extension": [ext]})),
        vec![]
    );
}

#[test]
fn issue_lists_are_capped() {
    let mut p = serde_json::Map::new();
    p.insert("resourceType".into(), json!("Patient"));
    for i in 0..5000 {
        p.insert(format!("unknown{i}"), json!(1));
    }
    let issues = validate_resource(&Value::Object(p));
    assert_eq!(issues.len(), 1001);
    assert!(
        issues[1000].diagnostics.contains("4000 further issues"),
        "{:?}",
        issues[1000]
    );
}

/// Prints the throughput on the examples: `cargo test --release -p fhir --test validate -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let examples: Vec<Value> = load_examples().into_iter().map(|(_, v)| v).collect();
    let start = std::time::Instant::now();
    let rounds = 50;
    for _ in 0..rounds {
        for v in &examples {
            assert!(errors(v).is_empty());
        }
    }
    let n = rounds * examples.len();
    let secs = start.elapsed().as_secs_f64();
    println!("{n} resources in {secs:.3}s: {:.0}/s", n as f64 / secs);
}
