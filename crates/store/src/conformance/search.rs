//! Cases: search by every parameter type and modifier, sorting, paging, includes,
//! `_summary`, `_elements`, `_total`, `$everything`.
//!
//! Most cases load the same small practice (see [`seed`]): four patients, their
//! observations, an encounter and conditions, with readable ids, and assert which ids a
//! search returns.

use super::{Case, Harness};
use crate::TxMode;
use crate::case;
use crate::error::FhirError;
use crate::repository::{Repository, RepositoryConfig, SearchRequest};
use serde_json::{Value, json};

pub fn cases() -> Vec<Case> {
    vec![
        case!(string_parameters),
        case!(token_parameters),
        case!(date_parameters_and_prefixes),
        case!(quantity_and_number_parameters),
        case!(reference_parameters_and_chains),
        case!(uri_parameters),
        case!(missing_modifier),
        case!(id_and_last_updated),
        case!(several_values_are_or_repeated_parameters_are_and),
        case!(sort_by_several_keys),
        case!(include_and_revinclude),
        case!(summary_count_and_total),
        case!(elements_and_summary_shape_the_matches),
        case!(paging_is_stable_while_others_write),
        case!(small_results_write_nothing),
        case!(first_page_only_keeps_no_snapshot),
        case!(snapshot_limits_and_expiry),
        case!(deleted_resources_never_match),
        case!(tenancy),
        case!(bad_requests_name_the_problem),
        case!(lenient_search_ignores_unknown_parameters_with_a_warning),
        case!(system_level_search),
        case!(everything_returns_the_patient_compartment),
        case!(bundle_shape),
    ]
}

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const SNOMED: &str = "http://snomed.info/sct";

/// Stores `body` at `rtype/id` (create-on-update, so ids are readable).
fn put(h: &Harness, rtype: &str, id: &str, mut body: Value) {
    body["id"] = json!(id);
    h.repo
        .update(&h.ctx(), rtype, id, super::with_id(body, id), None)
        .unwrap_or_else(|e| panic!("storing {rtype}/{id}: {:?}", e.outcome()));
}

fn patient(
    family: &str,
    given: &str,
    gender: &str,
    birth: Option<&str>,
    nhs: Option<&str>,
) -> Value {
    let mut p = json!({"resourceType": "Patient", "name": [{"family": family, "given": [given]}], "gender": gender});
    if let Some(b) = birth {
        p["birthDate"] = json!(b);
    }
    if let Some(n) = nhs {
        p["identifier"] = json!([{"system": NHS, "value": n}]);
    }
    p
}

fn observation(
    subject: &str,
    code: &str,
    display: &str,
    value: f64,
    unit: &str,
    when: &str,
) -> Value {
    json!({
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": {"reference": format!("Patient/{subject}")},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    })
}

fn condition(subject: &str, code: &str, display: &str, status: &str) -> Value {
    json!({
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]},
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display},
        "subject": {"reference": format!("Patient/{subject}")},
    })
}

/// The shared data set:
/// - pa: Ann Smith, F, 1970-01-15, NHS 9000000017 — oa1 (heart rate 72, with encounter
///   ea), oa2 (weight 70.5 kg), ea (encounter 2024-03-01), ca (diabetes, active)
/// - pb: Bob Smithson, M, 1985-06-01, NHS 9000000025 — ob1 (heart rate 100), cb
///   (hypertension, resolved)
/// - pc: Chloë Jones, F, born 1970, NHS 9000000033 — oc1 (weight 100.4 kg)
/// - pd: Dave Brown, M, no birth date, no NHS number
fn seed(h: &Harness) {
    put(
        h,
        "Patient",
        "pa",
        patient(
            "Smith",
            "Ann",
            "female",
            Some("1970-01-15"),
            Some("9000000017"),
        ),
    );
    put(
        h,
        "Patient",
        "pb",
        patient(
            "Smithson",
            "Bob",
            "male",
            Some("1985-06-01"),
            Some("9000000025"),
        ),
    );
    put(
        h,
        "Patient",
        "pc",
        patient("Jones", "Chloë", "female", Some("1970"), Some("9000000033")),
    );
    put(
        h,
        "Patient",
        "pd",
        patient("Brown", "Dave", "male", None, None),
    );
    put(
        h,
        "Encounter",
        "ea",
        json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": "Patient/pa"},
            "period": {"start": "2024-03-01T09:00:00Z", "end": "2024-03-01T11:00:00Z"}}),
    );
    let mut oa1 = observation(
        "pa",
        "8867-4",
        "Heart rate",
        72.0,
        "/min",
        "2024-03-01T10:00:00Z",
    );
    oa1["encounter"] = json!({"reference": "Encounter/ea"});
    put(h, "Observation", "oa1", oa1);
    put(
        h,
        "Observation",
        "oa2",
        observation("pa", "29463-7", "Body weight", 70.5, "kg", "2024-05-10"),
    );
    put(
        h,
        "Observation",
        "ob1",
        observation("pb", "8867-4", "Heart rate", 100.0, "/min", "2023-12-31"),
    );
    put(
        h,
        "Observation",
        "oc1",
        observation("pc", "29463-7", "Body weight", 100.4, "kg", "2024-06"),
    );
    put(
        h,
        "Condition",
        "ca",
        condition("pa", "44054006", "Type 2 diabetes mellitus", "active"),
    );
    put(
        h,
        "Condition",
        "cb",
        condition("pb", "38341003", "Hypertensive disorder", "resolved"),
    );
}

fn request(h: &Harness, rtype: Option<&str>, params: &[(&str, &str)]) -> SearchRequest {
    SearchRequest {
        rtype: rtype.map(str::to_string),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        base_url: h.base_url().into(),
        lenient: false,
    }
}

fn search(h: &Harness, rtype: &str, params: &[(&str, &str)]) -> Value {
    let req = request(h, Some(rtype), params);
    h.repo
        .search(&h.ctx(), &req)
        .unwrap_or_else(|e| panic!("{rtype}?{params:?}: {:?}", e.outcome()))
}

fn search_err(h: &Harness, rtype: &str, params: &[(&str, &str)]) -> FhirError {
    match h.repo.search(&h.ctx(), &request(h, Some(rtype), params)) {
        Ok(b) => panic!("{rtype}?{params:?} should fail, got {b}"),
        Err(e) => e,
    }
}

/// The ids of the entries in `mode` (match or include), in Bundle order.
fn ids_in(bundle: &Value, mode: &str) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["search"]["mode"] == mode)
                .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Asserts the set of matching ids of `rtype?params`.
#[track_caller]
fn expect(h: &Harness, rtype: &str, params: &[(&str, &str)], want: &[&str]) {
    let got = sorted(ids_in(&search(h, rtype, params), "match"));
    let want = sorted(want.iter().map(|s| s.to_string()).collect());
    assert_eq!(got, want, "{rtype}?{params:?}");
}

fn string_parameters(h: &Harness) {
    seed(h);
    expect(h, "Patient", &[("name", "smith")], &["pa", "pb"]);
    expect(h, "Patient", &[("name", "SMITH")], &["pa", "pb"]);
    expect(h, "Patient", &[("family", "smiths")], &["pb"]);
    expect(h, "Patient", &[("name:exact", "Smith")], &["pa"]);
    expect(h, "Patient", &[("name:exact", "smith")], &[]);
    expect(h, "Patient", &[("name:contains", "MITH")], &["pa", "pb"]);
    expect(h, "Patient", &[("name:contains", "one")], &["pc"]);
    expect(h, "Patient", &[("given", "chloe")], &["pc"]);
    expect(h, "Patient", &[("given", "Chloë")], &["pc"]);
    expect(h, "Patient", &[("name", "zz")], &[]);
    expect(h, "Patient", &[("name", "")], &["pa", "pb", "pc", "pd"]);
}

fn token_parameters(h: &Harness) {
    seed(h);
    let nhs = |v: &str| format!("{NHS}|{v}");
    expect(h, "Patient", &[("identifier", &nhs("9000000017"))], &["pa"]);
    expect(h, "Patient", &[("identifier", "9000000025")], &["pb"]);
    expect(h, "Patient", &[("identifier", "|9000000025")], &[]);
    expect(
        h,
        "Patient",
        &[("identifier", &format!("{NHS}|"))],
        &["pa", "pb", "pc"],
    );
    expect(
        h,
        "Patient",
        &[("identifier", "http://other|9000000017")],
        &[],
    );
    expect(h, "Patient", &[("gender", "male")], &["pb", "pd"]);
    expect(h, "Patient", &[("gender:not", "male")], &["pa", "pc"]);
    expect(
        h,
        "Observation",
        &[("code", &format!("{LOINC}|8867-4"))],
        &["oa1", "ob1"],
    );
    expect(h, "Observation", &[("code:text", "heart")], &["oa1", "ob1"]);
    expect(
        h,
        "Observation",
        &[("code:text", "weight")],
        &["oa2", "oc1"],
    );
    expect(h, "Condition", &[("code:text", "diabetes")], &["ca"]);
    expect(h, "Condition", &[("clinical-status", "active")], &["ca"]);
    let mut tagged = patient("Tagged", "Tom", "male", None, None);
    tagged["meta"] = json!({"tag": [{"system": "http://example.org/tags", "code": "vip"}]});
    put(h, "Patient", "pt", tagged);
    expect(
        h,
        "Patient",
        &[("_tag", "http://example.org/tags|vip")],
        &["pt"],
    );
    expect(
        h,
        "Patient",
        &[("_tag:not", "vip"), ("gender", "male")],
        &["pb", "pd"],
    );
}

fn date_parameters_and_prefixes(h: &Harness) {
    seed(h);
    // pa 1970-01-15, pb 1985-06-01, pc 1970 (the whole year), pd none.
    expect(h, "Patient", &[("birthdate", "1970")], &["pa", "pc"]);
    expect(h, "Patient", &[("birthdate", "1970-01")], &["pa"]);
    expect(h, "Patient", &[("birthdate", "eq1970-01-15")], &["pa"]);
    expect(h, "Patient", &[("birthdate", "ne1970")], &["pb"]);
    expect(h, "Patient", &[("birthdate", "lt1971")], &["pa", "pc"]);
    expect(h, "Patient", &[("birthdate", "gt1980")], &["pb"]);
    expect(h, "Patient", &[("birthdate", "ge1985-06-01")], &["pb"]);
    expect(
        h,
        "Patient",
        &[("birthdate", "le1970-01-15")],
        &["pa", "pc"],
    );
    expect(h, "Patient", &[("birthdate", "sa1970")], &["pb"]);
    expect(h, "Patient", &[("birthdate", "eb1985")], &["pa", "pc"]);
    expect(
        h,
        "Patient",
        &[("birthdate", "ap1970-01-15")],
        &["pa", "pc"],
    );
    // A period lies within a day; an instant within an hour.
    expect(h, "Encounter", &[("date", "2024-03-01")], &["ea"]);
    expect(h, "Encounter", &[("date", "2024-03-02")], &[]);
    expect(
        h,
        "Observation",
        &[("date", "2024-03-01T10:00:00Z")],
        &["oa1"],
    );
    expect(
        h,
        "Observation",
        &[("date", "ge2024")],
        &["oa1", "oa2", "oc1"],
    );
    expect(h, "Observation", &[("date", "2024-06-15")], &[]);
    expect(h, "Observation", &[("date", "2024-06")], &["oc1"]);
}

fn quantity_and_number_parameters(h: &Harness) {
    seed(h);
    expect(h, "Observation", &[("value-quantity", "72")], &["oa1"]);
    // 100 means [99.5, 100.5); 100.0 means [99.95, 100.05).
    expect(
        h,
        "Observation",
        &[("value-quantity", "100")],
        &["ob1", "oc1"],
    );
    expect(h, "Observation", &[("value-quantity", "100.0")], &["ob1"]);
    expect(
        h,
        "Observation",
        &[("value-quantity", "gt80")],
        &["ob1", "oc1"],
    );
    expect(
        h,
        "Observation",
        &[("value-quantity", "le72")],
        &["oa1", "oa2"],
    );
    expect(
        h,
        "Observation",
        &[("value-quantity", "ne72")],
        &["oa2", "ob1", "oc1"],
    );
    expect(
        h,
        "Observation",
        &[("value-quantity", &format!("70.5|{UCUM}|kg"))],
        &["oa2"],
    );
    expect(h, "Observation", &[("value-quantity", "100||kg")], &["oc1"]);
    expect(
        h,
        "Observation",
        &[("value-quantity", "ap95||kg")],
        &["oc1"],
    );
    expect(h, "Observation", &[("value-quantity", "gt0||mmol/L")], &[]);
    put(
        h,
        "RiskAssessment",
        "ra",
        json!({"resourceType": "RiskAssessment", "status": "final", "subject": {"reference": "Patient/pa"},
            "prediction": [{"probabilityDecimal": 0.25}]}),
    );
    expect(h, "RiskAssessment", &[("probability", "0.25")], &["ra"]);
    expect(h, "RiskAssessment", &[("probability", "gt0.3")], &[]);
    expect(h, "RiskAssessment", &[("probability", "lt0.3")], &["ra"]);
}

fn reference_parameters_and_chains(h: &Harness) {
    seed(h);
    expect(
        h,
        "Observation",
        &[("subject", "Patient/pa")],
        &["oa1", "oa2"],
    );
    expect(h, "Observation", &[("subject", "pa")], &["oa1", "oa2"]);
    expect(
        h,
        "Observation",
        &[("subject:Patient", "pa")],
        &["oa1", "oa2"],
    );
    expect(h, "Observation", &[("patient", "pb")], &["ob1"]);
    expect(
        h,
        "Observation",
        &[("subject", "http://localhost/fhir/Patient/pc")],
        &["oc1"],
    );
    expect(h, "Observation", &[("subject", "Patient/nobody")], &[]);
    expect(h, "Observation", &[("encounter", "Encounter/ea")], &["oa1"]);
    expect(
        h,
        "Observation",
        &[("subject:Patient.identifier", &format!("{NHS}|9000000025"))],
        &["ob1"],
    );
    expect(h, "Observation", &[("patient.name", "jones")], &["oc1"]);
    expect(
        h,
        "Observation",
        &[("subject.name", "smith")],
        &["oa1", "oa2", "ob1"],
    );
    expect(
        h,
        "Observation",
        &[("subject:Patient.gender", "female"), ("code", "29463-7")],
        &["oa2", "oc1"],
    );
    expect(h, "Condition", &[("patient.birthdate", "1985")], &["cb"]);
}

fn uri_parameters(h: &Harness) {
    for (id, url) in [
        ("v1", "http://example.org/fhir/ValueSet/a"),
        ("v2", "http://example.org/fhir/ValueSet/a/b"),
    ] {
        put(
            h,
            "ValueSet",
            id,
            json!({"resourceType": "ValueSet", "url": url, "status": "draft"}),
        );
    }
    expect(
        h,
        "ValueSet",
        &[("url", "http://example.org/fhir/ValueSet/a")],
        &["v1"],
    );
    expect(
        h,
        "ValueSet",
        &[("url", "http://example.org/fhir/ValueSet")],
        &[],
    );
    expect(
        h,
        "ValueSet",
        &[("url:below", "http://example.org/fhir/ValueSet/a")],
        &["v1", "v2"],
    );
    expect(
        h,
        "ValueSet",
        &[("url:above", "http://example.org/fhir/ValueSet/a/c")],
        &["v1"],
    );
}

fn missing_modifier(h: &Harness) {
    seed(h);
    expect(h, "Patient", &[("birthdate:missing", "true")], &["pd"]);
    expect(
        h,
        "Patient",
        &[("birthdate:missing", "false")],
        &["pa", "pb", "pc"],
    );
    expect(h, "Patient", &[("identifier:missing", "true")], &["pd"]);
    expect(
        h,
        "Observation",
        &[("encounter:missing", "false")],
        &["oa1"],
    );
    expect(h, "Patient", &[("name:missing", "true")], &[]);
}

fn id_and_last_updated(h: &Harness) {
    let before = crate::time::format_instant(crate::time::now_micros() - 1_000_000);
    seed(h);
    expect(h, "Patient", &[("_id", "pa,pc,nobody")], &["pa", "pc"]);
    expect(
        h,
        "Patient",
        &[("_lastUpdated", &format!("gt{before}"))],
        &["pa", "pb", "pc", "pd"],
    );
    expect(h, "Patient", &[("_lastUpdated", "lt2000")], &[]);
    let read = h.repo.read(&h.ctx(), "Patient", "pb").unwrap();
    expect(
        h,
        "Patient",
        &[("_lastUpdated", &read.last_updated_instant())],
        &["pb"],
    );
}

fn several_values_are_or_repeated_parameters_are_and(h: &Harness) {
    seed(h);
    expect(
        h,
        "Observation",
        &[("code", "8867-4,29463-7")],
        &["oa1", "oa2", "ob1", "oc1"],
    );
    expect(
        h,
        "Observation",
        &[("code", "8867-4"), ("subject", "pa")],
        &["oa1"],
    );
    expect(
        h,
        "Patient",
        &[("birthdate", "ge1970"), ("birthdate", "lt1980")],
        &["pa", "pc"],
    );
    expect(
        h,
        "Patient",
        &[("name", "smith,jones"), ("gender", "female")],
        &["pa", "pc"],
    );
    expect(h, "Patient", &[("identifier", "9000000017\\,x")], &[]);
}

fn sort_by_several_keys(h: &Harness) {
    seed(h);
    let order = |params: &[(&str, &str)]| ids_in(&search(h, "Patient", params), "match");
    // Ascending by earliest birth date (pc is all of 1970), missing values last.
    assert_eq!(order(&[("_sort", "birthdate")]), ["pc", "pa", "pb", "pd"]);
    // Descending by latest (pc's 1970 ends after pa's 1970-01-15).
    assert_eq!(order(&[("_sort", "-birthdate")]), ["pb", "pc", "pa", "pd"]);
    assert_eq!(
        order(&[("_sort", "gender,-birthdate")]),
        ["pc", "pa", "pb", "pd"]
    );
    assert_eq!(order(&[("_sort", "-family")]), ["pb", "pa", "pc", "pd"]);
    assert_eq!(order(&[("_sort", "-_id")]), ["pd", "pc", "pb", "pa"]);
    let obs = ids_in(
        &search(h, "Observation", &[("_sort", "-value-quantity")]),
        "match",
    );
    assert_eq!(obs, ["oc1", "ob1", "oa1", "oa2"]);
    let obs = ids_in(
        &search(
            h,
            "Observation",
            &[("_sort", "date,_id"), ("subject", "pa")],
        ),
        "match",
    );
    assert_eq!(obs, ["oa1", "oa2"]);
}

fn include_and_revinclude(h: &Harness) {
    seed(h);
    let b = search(
        h,
        "Observation",
        &[("subject", "pa"), ("_include", "Observation:subject")],
    );
    assert_eq!(sorted(ids_in(&b, "match")), ["oa1", "oa2"]);
    assert_eq!(
        ids_in(&b, "include"),
        ["pa"],
        "included once, however many reference it"
    );
    let b = search(
        h,
        "Observation",
        &[
            ("_id", "oa1"),
            ("_include", "Observation:encounter:Encounter"),
        ],
    );
    assert_eq!(ids_in(&b, "include"), ["ea"]);
    let b = search(
        h,
        "Observation",
        &[("_id", "oa1"), ("_include", "Observation:subject:Group")],
    );
    assert!(
        ids_in(&b, "include").is_empty(),
        "a target type limits what is included"
    );
    let b = search(h, "Observation", &[("_id", "oa1"), ("_include", "*")]);
    assert_eq!(sorted(ids_in(&b, "include")), ["ea", "pa"]);
    let b = search(
        h,
        "Patient",
        &[("_id", "pa"), ("_revinclude", "Observation:subject")],
    );
    assert_eq!(ids_in(&b, "match"), ["pa"]);
    assert_eq!(sorted(ids_in(&b, "include")), ["oa1", "oa2"]);
    let b = search(
        h,
        "Patient",
        &[
            ("_id", "pa"),
            ("_revinclude", "Observation:subject"),
            ("_include:iterate", "Observation:encounter"),
        ],
    );
    assert_eq!(sorted(ids_in(&b, "include")), ["ea", "oa1", "oa2"]);
    let b = search(
        h,
        "Patient",
        &[
            ("_id", "pa"),
            ("_revinclude", "Condition:subject"),
            ("_revinclude", "Encounter:subject"),
        ],
    );
    assert_eq!(sorted(ids_in(&b, "include")), ["ca", "ea"]);
    let b = search(
        h,
        "Patient",
        &[("gender", "male"), ("_revinclude", "Observation:patient")],
    );
    assert_eq!(sorted(ids_in(&b, "include")), ["ob1"]);
}

fn summary_count_and_total(h: &Harness) {
    seed(h);
    let b = search(h, "Observation", &[("_summary", "count")]);
    assert_eq!(b["total"], 4);
    assert!(b.get("entry").is_none(), "{b}");
    let b = search(
        h,
        "Observation",
        &[("code", "8867-4"), ("_summary", "count")],
    );
    assert_eq!(b["total"], 2);
    let b = search(h, "Observation", &[("_total", "accurate"), ("_count", "1")]);
    assert_eq!(b["total"], 4);
    assert_eq!(ids_in(&b, "match").len(), 1);
    let b = search(h, "Observation", &[("_total", "none")]);
    assert!(b.get("total").is_none());
    assert_eq!(ids_in(&b, "match").len(), 4);
    let b = search(h, "Observation", &[("_count", "0")]);
    assert_eq!(b["total"], 4);
    assert!(b.get("entry").is_none());
}

fn elements_and_summary_shape_the_matches(h: &Harness) {
    seed(h);
    let b = search(
        h,
        "Patient",
        &[
            ("_id", "pa"),
            ("_elements", "birthDate,gender"),
            ("_revinclude", "Condition:subject"),
        ],
    );
    let entries = b["entry"].as_array().unwrap();
    let p = &entries
        .iter()
        .find(|e| e["search"]["mode"] == "match")
        .unwrap()["resource"];
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        sorted(keys.iter().map(|k| k.to_string()).collect()),
        ["birthDate", "gender", "id", "meta", "resourceType"]
    );
    assert!(
        p["meta"]["tag"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["code"] == "SUBSETTED")
    );
    let c = &entries
        .iter()
        .find(|e| e["search"]["mode"] == "include")
        .unwrap()["resource"];
    assert!(c.get("code").is_some(), "included resources are whole");
    let b = search(h, "Observation", &[("_id", "oa1"), ("_elements", "value")]);
    assert_eq!(
        b["entry"][0]["resource"]["valueQuantity"]["value"].as_f64(),
        Some(72.0)
    );
    assert!(b["entry"][0]["resource"].get("code").is_none());
    let b = search(h, "Patient", &[("_id", "pa"), ("_summary", "true")]);
    let p = &b["entry"][0]["resource"];
    assert!(p.get("name").is_some() && p.get("birthDate").is_some());
    assert!(
        p["meta"]["tag"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["code"] == "SUBSETTED")
    );
}

/// The URL of a Bundle link, as a page request's parameters.
fn link(bundle: &Value, relation: &str) -> Option<Vec<(String, String)>> {
    let url = bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)?["url"]
        .as_str()?
        .to_string();
    let (_, query) = url.split_once('?')?;
    Some(
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    )
}

fn page(h: &Harness, params: Vec<(String, String)>) -> Value {
    let req = SearchRequest {
        rtype: None,
        params,
        base_url: h.base_url().into(),
        lenient: false,
    };
    h.repo
        .search(&h.ctx(), &req)
        .unwrap_or_else(|e| panic!("page: {:?}", e.outcome()))
}

fn snapshot_count(h: &Harness) -> i64 {
    let mut tx = h.repo.store().begin(&h.ctx(), TxMode::Read).unwrap();
    tx.query("SELECT COUNT(*) FROM search_snapshots", &[])
        .unwrap()[0][0]
        .as_i64()
        .unwrap()
}

fn paging_is_stable_while_others_write(h: &Harness) {
    let ctx = h.ctx();
    let ids: Vec<String> = (0..25).map(|i| format!("pager{i:02}")).collect();
    for (i, id) in ids.iter().enumerate() {
        put(
            h,
            "Patient",
            id,
            patient(
                "Pager",
                &format!("N{i}"),
                "female",
                Some("1990-01-01"),
                None,
            ),
        );
    }
    let first = search(
        h,
        "Patient",
        &[("family", "pager"), ("_count", "10"), ("_sort", "_id")],
    );
    assert_eq!(first["total"], 25);
    let mut seen = ids_in(&first, "match");
    assert_eq!(seen.len(), 10);
    assert!(link(&first, "previous").is_none());
    let mut next = link(&first, "next").expect("a next link");
    // Others write between pages: an update moving a later result, a deletion of one, a
    // new match that sorts first.
    let mut moved = patient("Pager", "Moved", "female", Some("1990-01-01"), None);
    moved["id"] = json!("pager22");
    h.repo
        .update(
            &ctx,
            "Patient",
            "pager22",
            super::with_id(moved, "pager22"),
            None,
        )
        .unwrap();
    h.repo.delete(&ctx, "Patient", "pager15").unwrap();
    put(
        h,
        "Patient",
        "pager00a",
        patient("Pager", "New", "male", None, None),
    );
    let mut pages = 1;
    loop {
        let b = page(h, next.clone());
        assert_eq!(b["total"], 25);
        seen.extend(ids_in(&b, "match"));
        pages += 1;
        match link(&b, "next") {
            Some(n) => next = n,
            None => {
                let prev = link(&b, "previous").expect("a previous link");
                let back = page(h, prev);
                assert_eq!(
                    ids_in(&back, "match"),
                    ids[10..20],
                    "previous goes back a page"
                );
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every original result exactly once, in order");
    // The pages return the versions the search saw.
    let b = page(h, link(&first, "last").unwrap());
    let p22 = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["id"] == "pager22")
        .unwrap();
    assert_eq!(p22["resource"]["name"][0]["given"][0], "N22");
    // A page request from another practice finds nothing.
    let req = SearchRequest {
        rtype: None,
        params: next,
        base_url: h.base_url().into(),
        lenient: false,
    };
    assert_eq!(
        h.repo
            .search(&h.other_practice_ctx(), &req)
            .unwrap_err()
            .status(),
        404
    );
    let req = SearchRequest {
        rtype: None,
        params: vec![("_getpages".into(), "no-such-snapshot".into())],
        base_url: h.base_url().into(),
        lenient: false,
    };
    assert_eq!(h.repo.search(&ctx, &req).unwrap_err().status(), 404);
}

fn small_results_write_nothing(h: &Harness) {
    seed(h);
    let b = search(h, "Observation", &[("_count", "4")]);
    assert_eq!(ids_in(&b, "match").len(), 4);
    assert_eq!(b["total"], 4);
    assert!(link(&b, "next").is_none());
    assert_eq!(
        snapshot_count(h),
        0,
        "a search that fits in one page stores no snapshot"
    );
    let b = search(h, "Observation", &[("_count", "3")]);
    assert!(link(&b, "next").is_some());
    assert_eq!(snapshot_count(h), 1);
}

/// A type-ahead search: the same first page as a paged search, in the same order, but
/// nothing stored for later pages, no `next` link and no (unknown) total.
fn first_page_only_keeps_no_snapshot(h: &Harness) {
    seed(h);
    let params = [("_count", "3"), ("_sort", "_id")];
    let req = request(h, Some("Observation"), &params);
    let first = h.repo.search_first_page(&h.ctx(), &req).unwrap();
    assert_eq!(snapshot_count(h), 0, "no snapshot for a first page only");
    assert!(link(&first, "next").is_none());
    assert!(
        first.get("total").is_none(),
        "the total is unknown: {first}"
    );
    let paged = search(h, "Observation", &params);
    assert_eq!(ids_in(&first, "match"), ids_in(&paged, "match"));
    assert_eq!(ids_in(&first, "match").len(), 3);
    // When everything fits, the total is known.
    let all = request(h, Some("Observation"), &[("_count", "100")]);
    let b = h.repo.search_first_page(&h.ctx(), &all).unwrap();
    assert_eq!(b["total"].as_u64(), Some(ids_in(&b, "match").len() as u64));
}

fn snapshot_limits_and_expiry(h: &Harness) {
    for i in 0..8 {
        put(
            h,
            "Patient",
            &format!("s{i}"),
            patient("Snap", "S", "male", None, None),
        );
    }
    let config = RepositoryConfig {
        default_count: 2,
        max_snapshot: 5,
        ..RepositoryConfig::default()
    };
    let repo = Repository::new(h.repo.store().clone(), config);
    let req = request(h, Some("Patient"), &[("_sort", "_id")]);
    let b = repo.search(&h.ctx(), &req).unwrap();
    assert_eq!(b["total"], 8, "the total counts every match");
    assert_eq!(ids_in(&b, "match"), ["s0", "s1"]);
    let warning = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .expect("a warning");
    assert!(
        warning["resource"]["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("first 5")
    );
    let last = link(&b, "last").unwrap();
    let last_page = repo.search(
        &h.ctx(),
        &SearchRequest {
            rtype: None,
            params: last,
            base_url: h.base_url().into(),
            lenient: false,
        },
    );
    assert_eq!(
        ids_in(&last_page.unwrap(), "match"),
        ["s4"],
        "pages end where the snapshot does"
    );

    let expiring = Repository::new(
        h.repo.store().clone(),
        RepositoryConfig {
            snapshot_ttl_secs: 0,
            default_count: 2,
            ..RepositoryConfig::default()
        },
    );
    let b = expiring.search(&h.ctx(), &req).unwrap();
    let next = link(&b, "next").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    let page_req = SearchRequest {
        rtype: None,
        params: next,
        base_url: h.base_url().into(),
        lenient: false,
    };
    assert_eq!(
        expiring.search(&h.ctx(), &page_req).unwrap_err().status(),
        410,
        "an expired snapshot is gone"
    );
    let before = snapshot_count(h);
    expiring.search(&h.ctx(), &req).unwrap();
    assert_eq!(
        snapshot_count(h),
        1,
        "making a snapshot removed the {before} expired ones"
    );
}

fn deleted_resources_never_match(h: &Harness) {
    seed(h);
    h.repo.delete(&h.ctx(), "Observation", "oa2").unwrap();
    h.repo.delete(&h.ctx(), "Encounter", "ea").unwrap();
    expect(h, "Observation", &[("subject", "pa")], &["oa1"]);
    expect(h, "Observation", &[("code", "29463-7")], &["oc1"]);
    let b = search(
        h,
        "Patient",
        &[("_id", "pa"), ("_revinclude", "Observation:subject")],
    );
    assert_eq!(ids_in(&b, "include"), ["oa1"]);
    let b = search(
        h,
        "Observation",
        &[("_id", "oa1"), ("_include", "Observation:encounter")],
    );
    assert!(
        ids_in(&b, "include").is_empty(),
        "a deleted target is not included"
    );
    h.repo.delete(&h.ctx(), "Patient", "pc").unwrap();
    expect(h, "Observation", &[("patient.name", "jones")], &[]);
}

fn tenancy(h: &Harness) {
    seed(h);
    let other = h.other_practice_ctx();
    // The other practice has its own Patient/pa.
    let mut theirs = patient(
        "Other",
        "Olive",
        "female",
        Some("1970-01-15"),
        Some("9000000017"),
    );
    theirs["id"] = json!("pa");
    h.repo
        .update(&other, "Patient", "pa", super::with_id(theirs, "pa"), None)
        .unwrap();
    let req = request(h, Some("Observation"), &[("subject", "pa")]);
    assert!(ids_in(&h.repo.search(&other, &req).unwrap(), "match").is_empty());
    let req = request(h, Some("Patient"), &[("identifier", "9000000017")]);
    let theirs = h.repo.search(&other, &req).unwrap();
    assert_eq!(theirs["entry"][0]["resource"]["name"][0]["family"], "Other");
    assert_eq!(theirs["total"], 1);
    let b = search(
        h,
        "Observation",
        &[("_id", "oa1"), ("_include", "Observation:subject")],
    );
    let included = &b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["search"]["mode"] == "include")
        .unwrap()["resource"];
    assert_eq!(
        included["name"][0]["family"], "Smith",
        "includes come from our practice only"
    );
    expect(h, "Observation", &[("patient.name", "other")], &[]);
    assert_eq!(
        h.repo
            .everything(&other, "pb", &[], h.base_url())
            .unwrap_err()
            .status(),
        404
    );
}

fn bad_requests_name_the_problem(h: &Harness) {
    seed(h);
    for (rtype, key, value, mention) in [
        ("Patient", "colour", "red", "colour"),
        ("Patient", "birthdate", "1970-13", "1970-13"),
        ("Patient", "birthdate", "xx1970", "xx"),
        ("Patient", "name:soundex", "smith", "soundex"),
        ("Patient", "_sort", "colour", "colour"),
        ("Patient", "_count", "abc", "_count"),
        ("Observation", "value-quantity", "big", "big"),
        ("Observation", "subject:Nope", "1", "Nope"),
        ("Observation", "subject.colour", "red", "colour"),
        ("Patient", "gender:missing", "perhaps", "missing"),
        ("Nope", "_id", "1", "Nope"),
    ] {
        let e = search_err(h, rtype, &[(key, value)]);
        assert_eq!(e.status(), 400, "{rtype}?{key}={value}");
        let text = e.outcome().to_string();
        assert!(text.contains(mention), "{rtype}?{key}={value}: {text}");
    }
}

fn lenient_search_ignores_unknown_parameters_with_a_warning(h: &Harness) {
    seed(h);
    let mut req = request(h, Some("Patient"), &[("colour", "red"), ("gender", "male")]);
    req.lenient = true;
    let b = h.repo.search(&h.ctx(), &req).unwrap();
    assert_eq!(sorted(ids_in(&b, "match")), ["pb", "pd"]);
    let outcome = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .expect("an outcome entry");
    assert_eq!(outcome["resource"]["resourceType"], "OperationOutcome");
    assert_eq!(outcome["resource"]["issue"][0]["severity"], "warning");
    assert!(
        outcome["resource"]["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    req.params = vec![("birthdate".into(), "notadate".into())];
    assert_eq!(
        h.repo.search(&h.ctx(), &req).unwrap_err().status(),
        400,
        "malformed values still fail"
    );
}

fn system_level_search(h: &Harness) {
    seed(h);
    let all = |params: &[(&str, &str)]| {
        let req = request(h, None, params);
        sorted(ids_in(&h.repo.search(&h.ctx(), &req).unwrap(), "match"))
    };
    assert_eq!(all(&[("_id", "pa,oa1")]), ["oa1", "pa"]);
    assert_eq!(all(&[("_type", "Condition,Encounter")]), ["ca", "cb", "ea"]);
    assert_eq!(
        all(&[("_type", "Condition"), ("_lastUpdated", "gt2000")]),
        ["ca", "cb"]
    );
    let req = request(h, None, &[("birthdate", "1970")]);
    assert_eq!(h.repo.search(&h.ctx(), &req).unwrap_err().status(), 400);
}

fn everything_returns_the_patient_compartment(h: &Harness) {
    seed(h);
    let ctx = h.ctx();
    let b = h.repo.everything(&ctx, "pa", &[], h.base_url()).unwrap();
    let got = ids_in(&b, "match");
    assert_eq!(got[0], "pa", "the patient comes first");
    assert_eq!(sorted(got), ["ca", "ea", "oa1", "oa2", "pa"]);
    let only = |params: &[(&str, &str)]| {
        let p: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        sorted(ids_in(
            &h.repo.everything(&ctx, "pa", &p, h.base_url()).unwrap(),
            "match",
        ))
    };
    assert_eq!(only(&[("_type", "Observation")]), ["oa1", "oa2"]);
    assert_eq!(
        only(&[("_since", "2999-01-01T00:00:00Z")]),
        Vec::<String>::new()
    );
    // Paged: two at a time, all five once.
    let b = h
        .repo
        .everything(&ctx, "pa", &[("_count".into(), "2".into())], h.base_url())
        .unwrap();
    assert_eq!(b["total"], 5);
    let mut seen = ids_in(&b, "match");
    let mut next = link(&b, "next");
    while let Some(n) = next {
        let p = page(h, n);
        seen.extend(ids_in(&p, "match"));
        next = link(&p, "next");
    }
    assert_eq!(sorted(seen), ["ca", "ea", "oa1", "oa2", "pa"]);
    assert_eq!(
        h.repo
            .everything(&ctx, "nobody", &[], h.base_url())
            .unwrap_err()
            .status(),
        404
    );
    h.repo.delete(&ctx, "Patient", "pd").unwrap();
    assert_eq!(
        h.repo
            .everything(&ctx, "pd", &[], h.base_url())
            .unwrap_err()
            .status(),
        404
    );
    let bad = [("_elements".to_string(), "x".to_string())];
    assert_eq!(
        h.repo
            .everything(&ctx, "pa", &bad, h.base_url())
            .unwrap_err()
            .status(),
        400
    );
}

fn bundle_shape(h: &Harness) {
    seed(h);
    let b = search(h, "Patient", &[("gender", "female"), ("_sort", "_id")]);
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "searchset");
    assert_eq!(b["total"], 2);
    assert_eq!(b["entry"][0]["fullUrl"], "http://localhost/fhir/Patient/pa");
    assert_eq!(b["entry"][0]["search"]["mode"], "match");
    assert_eq!(b["entry"][0]["resource"]["meta"]["versionId"], "1");
    let self_link = b["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "self")
        .unwrap();
    assert_eq!(
        self_link["url"],
        "http://localhost/fhir/Patient?gender=female&_sort=_id"
    );
    let empty = search(h, "Patient", &[("name", "nobody")]);
    assert_eq!(empty["total"], 0);
    assert!(empty.get("entry").is_none());
}
