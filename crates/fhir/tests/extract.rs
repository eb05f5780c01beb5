//! Search-index extraction on the official FHIR R4 examples.

use fhir::datetime::parse_range;
use fhir::index::{IndexEntry, IndexValue, extract};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Instant;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../store/testdata/fhir-r4-examples")
}

fn example(name: &str) -> Value {
    let text = std::fs::read_to_string(examples_dir().join(name)).expect("example exists");
    serde_json::from_str(&text).expect("example is JSON")
}

fn all_examples() -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect()
}

fn entries_of(resource: &Value) -> Vec<IndexEntry> {
    extract(resource["resourceType"].as_str().unwrap(), resource)
}

fn values(entries: &[IndexEntry], param: &str) -> Vec<IndexValue> {
    entries
        .iter()
        .filter(|e| e.param == param)
        .map(|e| e.value.clone())
        .collect()
}

fn token(system: Option<&str>, code: Option<&str>, text: Option<&str>) -> IndexValue {
    IndexValue::Token {
        system: system.map(String::from),
        code: code.map(String::from),
        text: text.map(String::from),
    }
}

fn reference(t: &str, id: &str) -> IndexValue {
    IndexValue::Reference {
        target_type: Some(t.into()),
        target_id: Some(id.into()),
        url: format!("{t}/{id}"),
    }
}

fn day(d: &str) -> IndexValue {
    let (lo, hi) = parse_range(d).unwrap();
    IndexValue::Date { lo, hi }
}

fn norms(entries: &[IndexEntry], param: &str) -> Vec<String> {
    values(entries, param)
        .into_iter()
        .map(|v| match v {
            IndexValue::String { norm, .. } => norm,
            other => panic!("{param} is not a string: {other:?}"),
        })
        .collect()
}

#[test]
fn patient_example() {
    let e = entries_of(&example("patient-example.json"));
    let family = values(&e, "family");
    assert!(family.contains(&IndexValue::String {
        norm: "chalmers".into(),
        exact: "Chalmers".into()
    }));
    assert!(family.contains(&IndexValue::String {
        norm: "windsor".into(),
        exact: "Windsor".into()
    }));
    assert_eq!(norms(&e, "given"), ["peter", "james", "jim"]);
    // `name` covers every part of every name, once each.
    assert_eq!(
        norms(&e, "name"),
        ["chalmers", "peter", "james", "jim", "windsor"]
    );
    assert_eq!(values(&e, "birthdate"), [day("1974-12-25")]);
    assert_eq!(
        values(&e, "identifier"),
        [token(
            Some("urn:oid:1.2.36.146.595.217.0.1"),
            Some("12345"),
            None
        )]
    );
    assert_eq!(values(&e, "gender"), [token(None, Some("male"), None)]);
    assert_eq!(values(&e, "active"), [token(None, Some("true"), None)]);
    assert_eq!(values(&e, "deceased"), [token(None, Some("false"), None)]);
    assert_eq!(values(&e, "organization"), [reference("Organization", "1")]);
    assert!(
        values(&e, "_id").is_empty(),
        "_id is searched on the resource id, not indexed"
    );
    assert_eq!(
        values(&e, "_tag"),
        [token(
            Some("http://terminology.hl7.org/CodeSystem/v3-ActReason"),
            Some("HTEST"),
            Some("test health data")
        )]
    );
    // Three phone numbers; the telecom without a value gives nothing.
    assert_eq!(values(&e, "phone").len(), 3);
    assert_eq!(values(&e, "telecom").len(), 3);
    assert!(values(&e, "email").is_empty());
    assert_eq!(norms(&e, "address-city"), ["pleasantville"]);
    assert_eq!(norms(&e, "address-postalcode"), ["3999"]);
    let address = norms(&e, "address");
    for part in ["534 erewhon st", "pleasantville", "rainbow", "vic", "3999"] {
        assert!(address.contains(&part.to_string()), "{part} in {address:?}");
    }
    // Every entry of a parameter is distinct.
    for (i, a) in e.iter().enumerate() {
        assert!(!e[i + 1..].contains(a), "duplicate {a:?}");
    }
}

#[test]
fn observation_example() {
    let e = entries_of(&example("observation-example.json"));
    let code = values(&e, "code");
    assert!(code.contains(&token(
        Some("http://loinc.org"),
        Some("29463-7"),
        Some("body weight")
    )));
    assert!(code.contains(&token(
        Some("http://snomed.info/sct"),
        Some("27113001"),
        Some("body weight")
    )));
    assert_eq!(code.len(), 4);
    assert_eq!(values(&e, "subject"), [reference("Patient", "example")]);
    assert_eq!(values(&e, "patient"), [reference("Patient", "example")]);
    assert_eq!(values(&e, "encounter"), [reference("Encounter", "example")]);
    assert_eq!(values(&e, "date"), [day("2016-03-28")]);
    assert_eq!(values(&e, "status"), [token(None, Some("final"), None)]);
    assert_eq!(
        values(&e, "value-quantity"),
        [IndexValue::Quantity {
            value: 185.0,
            system: Some("http://unitsofmeasure.org".into()),
            code: Some("[lb_av]".into()),
            unit: Some("lbs".into())
        }]
    );
    assert_eq!(values(&e, "combo-value-quantity").len(), 1);
    assert!(values(&e, "value-concept").is_empty());
}

#[test]
fn blood_pressure_components() {
    let e = entries_of(&example("observation-example-bloodpressure.json"));
    let components = values(&e, "component-value-quantity");
    assert_eq!(components.len(), 2);
    let component_codes = values(&e, "component-code");
    assert!(component_codes.contains(&token(
        Some("http://loinc.org"),
        Some("8480-6"),
        Some("systolic blood pressure")
    )));
    assert_eq!(values(&e, "date"), [day("2012-09-17")]);
}

#[test]
fn condition_onset_date_time() {
    let e = entries_of(&example("condition-example-f201-fever.json"));
    assert_eq!(values(&e, "onset-date"), [day("2013-04-02")]);
    assert_eq!(values(&e, "recorded-date"), [day("2013-04-04")]);
    assert_eq!(norms(&e, "abatement-string"), ["around april 9, 2013"]);
    assert!(values(&e, "abatement-date").is_empty());
    assert_eq!(values(&e, "subject"), [reference("Patient", "f201")]);
    assert_eq!(values(&e, "patient"), [reference("Patient", "f201")]);
    assert_eq!(
        values(&e, "code"),
        [token(
            Some("http://snomed.info/sct"),
            Some("386661006"),
            Some("fever")
        )]
    );
    assert_eq!(
        values(&e, "clinical-status"),
        [token(
            Some("http://terminology.hl7.org/CodeSystem/condition-clinical"),
            Some("resolved"),
            None
        )]
    );
    assert_eq!(
        values(&e, "evidence-detail"),
        [reference("Observation", "f202")]
    );
}

#[test]
fn encounter_period() {
    // 2013-03-11 to 2013-03-20: from the start of the first day to the end of the last.
    let e = entries_of(&example("encounter-example-f203-20130311.json"));
    let (lo, hi) = (
        parse_range("2013-03-11").unwrap().0,
        parse_range("2013-03-20").unwrap().1,
    );
    assert_eq!(values(&e, "date"), [IndexValue::Date { lo, hi }]);
    assert_eq!(values(&e, "subject"), [reference("Patient", "f201")]);
    assert_eq!(values(&e, "patient"), [reference("Patient", "f201")]);
    // An open period, starting at a time in +10:00.
    let e = entries_of(&example("encounter-example-emerg.json"));
    let lo = parse_range("2017-01-31T21:15:00Z").unwrap().0;
    assert_eq!(values(&e, "date"), [IndexValue::Date { lo, hi: i64::MAX }]);
    // Encounter f001 has no period but a length.
    let e = entries_of(&example("encounter-example-f001-heart.json"));
    assert!(values(&e, "date").is_empty());
    assert_eq!(
        values(&e, "length"),
        [IndexValue::Quantity {
            value: 140.0,
            system: Some("http://unitsofmeasure.org".into()),
            code: Some("min".into()),
            unit: Some("min".into())
        }]
    );
    assert_eq!(
        values(&e, "practitioner"),
        [reference("Practitioner", "f002")]
    );
    assert_eq!(
        values(&e, "class"),
        [token(
            Some("http://terminology.hl7.org/CodeSystem/v3-ActCode"),
            Some("AMB"),
            Some("ambulatory")
        )]
    );
}

#[test]
fn medication_request() {
    // The examples folder holds no MedicationRequest; this follows the official
    // medicationrequest0302 example's shape.
    let mr = json!({
        "resourceType": "MedicationRequest",
        "id": "medrx0302",
        "identifier": [{"use": "official", "system": "http://www.bmc.nl/portal/prescriptions", "value": "12345689"}],
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
            "code": "582620", "display": "Nizatidine 15 MG/ML Oral Solution [Axid]"}]},
        "subject": {"reference": "Patient/pat1", "display": "Donald Duck"},
        "encounter": {"reference": "Encounter/f001"},
        "authoredOn": "2015-01-15",
        "requester": {"reference": "Practitioner/f007"},
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}}],
        "dispenseRequest": {"performer": {"reference": "Organization/f001"}}
    });
    let e = entries_of(&mr);
    assert_eq!(
        values(&e, "code"),
        [token(
            Some("http://www.nlm.nih.gov/research/umls/rxnorm"),
            Some("582620"),
            Some("nizatidine 15 mg/ml oral solution [axid]")
        )]
    );
    assert!(values(&e, "medication").is_empty());
    assert_eq!(values(&e, "patient"), [reference("Patient", "pat1")]);
    assert_eq!(values(&e, "requester"), [reference("Practitioner", "f007")]);
    assert_eq!(
        values(&e, "intended-dispenser"),
        [reference("Organization", "f001")]
    );
    assert_eq!(values(&e, "authoredon"), [day("2015-01-15")]);
    assert_eq!(values(&e, "status"), [token(None, Some("active"), None)]);
    assert_eq!(values(&e, "intent"), [token(None, Some("order"), None)]);
    // A Timing without events has no date.
    assert!(values(&e, "date").is_empty());
    // By reference instead of by code.
    let by_ref = json!({"resourceType": "MedicationRequest", "medicationReference": {"reference": "Medication/m1"}});
    let e = entries_of(&by_ref);
    assert_eq!(values(&e, "medication"), [reference("Medication", "m1")]);
    assert!(values(&e, "code").is_empty());
}

#[test]
fn bundle_indexes_itself_not_its_entries() {
    let bundle = example("bundle-example.json");
    let e = entries_of(&bundle);
    assert_eq!(values(&e, "type"), [token(None, Some("searchset"), None)]);
    assert!(e.iter().all(|x| {
        [
            "_id",
            "_lastUpdated",
            "type",
            "identifier",
            "timestamp",
            "_tag",
            "composition",
            "message",
        ]
        .contains(&x.param.as_str())
    }));
    let document = json!({"resourceType": "Bundle", "type": "document", "entry": [
        {"resource": {"resourceType": "Composition", "id": "c1", "status": "final"}}]});
    assert_eq!(
        values(&entries_of(&document), "composition"),
        [reference("Composition", "c1")]
    );
}

#[test]
fn every_example_extracts() {
    let examples = all_examples();
    assert!(examples.len() > 200);
    for (name, resource) in &examples {
        let e = entries_of(resource);
        assert!(!e.is_empty(), "{name} gave no entries");
        for entry in &e {
            if let IndexValue::Date { lo, hi } = entry.value {
                assert!(lo <= hi, "{name} {entry:?}");
            }
            if let IndexValue::Reference { url, .. } = &entry.value {
                assert!(!url.starts_with('#'), "{name}: local reference indexed");
            }
        }
    }
}

#[test]
fn extraction_is_fast_enough() {
    let examples = all_examples();
    // Warm the compiled-expression cache so the timing is of extraction alone.
    for (_, r) in &examples {
        entries_of(r);
    }
    let rounds = if cfg!(debug_assertions) { 3 } else { 100 };
    let start = Instant::now();
    let mut count = 0;
    for _ in 0..rounds {
        for (_, r) in &examples {
            count += entries_of(r).len();
        }
    }
    let elapsed = start.elapsed();
    let per_second = (rounds * examples.len()) as f64 / elapsed.as_secs_f64();
    println!(
        "{} resources, {count} entries in {elapsed:?}: {per_second:.0} resources/s",
        rounds * examples.len()
    );
    assert!(count > 0);
}
