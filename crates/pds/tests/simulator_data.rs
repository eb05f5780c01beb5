//! The simulator on its own: its synthetic people, and its responses compared with the
//! real PDS examples (raw HTTP, so the adapter's own clean-up cannot hide anything).

mod common;

use std::collections::HashSet;

use common::{adapter, example_patients, fixture, keys, serve_simulator};
use pds::simulator::{Simulator, synthetic_people};
use pds::{Pds, SearchQuery};
use serde_json::{Value, json};

const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

fn is_restricted(p: &Value) -> bool {
    p["meta"]["security"][0]["code"] == "R"
}

/// `LS1 6AE`, `M14 5TQ`: outward code, space, digit and two letters.
fn looks_like_a_postcode(s: &str) -> bool {
    let Some((outward, inward)) = s.split_once(' ') else {
        return false;
    };
    let letters = outward.chars().take_while(char::is_ascii_uppercase).count();
    let digits = &outward[letters..];
    let inward: Vec<char> = inward.chars().collect();
    (1..=2).contains(&letters)
        && (1..=2).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && inward.len() == 3
        && inward[0].is_ascii_digit()
        && inward[1..].iter().all(char::is_ascii_uppercase)
}

#[test]
fn synthetic_people_are_deterministic_and_varied() {
    assert_eq!(synthetic_people(7, 300), synthetic_people(7, 300));
    assert_ne!(synthetic_people(7, 300), synthetic_people(8, 300));
    assert_eq!(
        synthetic_people(7, 300)[..100],
        synthetic_people(7, 100)[..]
    );
}

#[test]
fn synthetic_people_look_like_pds_patients() {
    let people = synthetic_people(42, 3000);
    let mut numbers = HashSet::new();
    let (mut sensitive, mut deceased, mut children, mut elderly) = (0, 0, 0, 0);
    for p in &people {
        let nhs = p["identifier"][0]["value"].as_str().unwrap();
        assert!(
            nhs.starts_with("999") && fhir::nhs_number::is_valid(nhs),
            "{nhs}"
        );
        assert_eq!(p["id"], nhs);
        assert!(numbers.insert(nhs.to_string()), "{nhs} issued twice");
        assert_eq!(p["meta"]["security"][0]["system"], CONFIDENTIALITY);
        let born: i32 = p["birthDate"].as_str().unwrap()[..4].parse().unwrap();
        let age = 2026 - born;
        assert!((0..=101).contains(&age), "age {age}");
        children += usize::from(age < 16);
        elderly += usize::from(age > 80);
        if is_restricted(p) {
            sensitive += 1;
            for hidden in ["address", "telecom", "generalPractitioner"] {
                assert!(p.get(hidden).is_none(), "a sensitive patient has {hidden}");
            }
        } else {
            let postcode = p["address"][0]["postalCode"].as_str().unwrap();
            assert!(looks_like_a_postcode(postcode), "{postcode}");
            assert_eq!(
                p["generalPractitioner"][0]["identifier"]["system"],
                "https://fhir.nhs.uk/Id/ods-organization-code"
            );
        }
        if let Some(died) = p.get("deceasedDateTime") {
            deceased += 1;
            assert!(died.as_str().unwrap()[..10] > *p["birthDate"].as_str().unwrap());
        }
    }
    for (what, n) in [
        ("sensitive", sensitive),
        ("deceased", deceased),
        ("children", children),
        ("elderly", elderly),
    ] {
        assert!(
            n > 10 && n < people.len() / 4,
            "{n} {what} of {}",
            people.len()
        );
    }
}

#[test]
fn synthetic_people_have_the_shape_of_the_real_example() {
    let example = fixture("Patient.json");
    let allowed: HashSet<&str> = keys(&example).into_iter().collect();
    for p in synthetic_people(1, 200) {
        for key in keys(&p) {
            assert!(allowed.contains(key), "{key} is not in the real example");
        }
        assert_eq!(keys(&p["identifier"][0]), keys(&example["identifier"][0]));
        assert_eq!(
            p["identifier"][0]["extension"][0]["url"],
            example["identifier"][0]["extension"][0]["url"]
        );
    }
}

#[test]
fn synthetic_people_can_be_traced_through_the_simulator() {
    let people = synthetic_people(3, 500);
    let pds = adapter(&serve_simulator(Simulator::new(people.clone())));
    for p in people.iter().step_by(50) {
        let name = &p["name"][0];
        let q = SearchQuery {
            family: name["family"].as_str().map(String::from),
            given: name["given"][0].as_str().map(String::from),
            birth_date: p["birthDate"].as_str().map(String::from),
            exact: true,
            max_results: Some(50),
            ..Default::default()
        };
        let found = pds.search(&q).unwrap();
        assert!(found.iter().any(|f| f.resource["id"] == p["id"]));
    }
}

/// A raw request to the simulator: status, headers and JSON body.
fn raw(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, ureq::http::HeaderMap, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = match method {
        "PATCH" => {
            let mut r = agent.patch(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(body.unwrap_or_default()).unwrap()
        }
        _ => {
            let mut r = agent.get(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call().unwrap()
        }
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    (status, headers, body)
}

const REQUEST_ID: (&str, &str) = ("X-Request-ID", "60E0B220-8136-4CA5-AE46-1D97EF59D068");
const TOKEN: (&str, &str) = ("Authorization", "Bearer anything");

#[test]
fn retrieve_and_search_answer_as_the_real_examples_do() {
    let base = serve_simulator(Simulator::new(example_patients()));
    let (status, headers, body) = raw(
        "GET",
        &format!("{base}/Patient/9000000009"),
        &[REQUEST_ID, TOKEN],
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(headers["etag"], "W/\"2\"");
    assert_eq!(headers["content-type"], "application/fhir+json");
    assert_eq!(
        headers["x-request-id"], REQUEST_ID.1,
        "the request id is echoed"
    );
    assert_eq!(body, fixture("Patient.json"));

    let (_, _, sensitive) = raw(
        "GET",
        &format!("{base}/Patient/9000000025"),
        &[REQUEST_ID, TOKEN],
        None,
    );
    assert_eq!(sensitive, fixture("Sensitive_Patient.json"));

    let url =
        format!("{base}/Patient?family=Smith&given=Jane&gender=female&birthdate=eq2010-10-22");
    let (status, _, bundle) = raw("GET", &url, &[REQUEST_ID, TOKEN], None);
    let example = fixture("PatientSearch.json");
    assert_eq!(status, 200);
    assert_eq!(keys(&bundle), keys(&example));
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 1);
    assert_eq!(keys(&bundle["entry"][0]), keys(&example["entry"][0]));
    assert_eq!(bundle["entry"][0]["search"]["score"].as_f64(), Some(1.0));
    assert_eq!(
        bundle["entry"][0]["fullUrl"],
        example["entry"][0]["fullUrl"]
    );
    let resource = &bundle["entry"][0]["resource"];
    let mut found: Vec<&str> = keys(resource);
    let mut expected: Vec<&str> = keys(&example["entry"][0]["resource"]);
    found.sort_unstable();
    expected.sort_unstable();
    expected.push("managingOrganization");
    expected.sort_unstable();
    assert_eq!(
        found, expected,
        "the search example lacks only managingOrganization"
    );

    let sensitive_url =
        format!("{base}/Patient?family=Smythe&given=Janet&gender=female&birthdate=2010-10-22");
    let (_, _, bundle) = raw("GET", &sensitive_url, &[REQUEST_ID, TOKEN], None);
    let example = fixture("Sensitive_PatientSearch.json");
    assert_eq!(
        keys(&bundle["entry"][0]["resource"]),
        keys(&example["entry"][0]["resource"])
    );
}

#[test]
fn an_empty_search_is_an_empty_searchset() {
    let base = serve_simulator(Simulator::new(example_patients()));
    let url = format!("{base}/Patient?family=Nobody&birthdate=1900-01-01");
    let (status, _, bundle) = raw("GET", &url, &[REQUEST_ID, TOKEN], None);
    assert_eq!(status, 200);
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 0);
    assert!(bundle.get("entry").is_none());
}

/// The Spine code of a PDS error OperationOutcome, checking it has the real shape.
fn spine_code(outcome: &Value) -> &str {
    assert_eq!(keys(outcome), ["resourceType", "issue"]);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let issue = &outcome["issue"][0];
    assert!(issue["severity"].is_string() && issue["code"].is_string());
    let coding = &issue["details"]["coding"][0];
    assert_eq!(keys(coding), ["system", "version", "code", "display"]);
    assert_eq!(
        coding["system"],
        "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode"
    );
    coding["code"].as_str().unwrap()
}

#[test]
fn errors_are_pds_operation_outcomes() {
    let base = serve_simulator(Simulator::new(example_patients()));
    let patient = format!("{base}/Patient/9000000009");
    let cases: Vec<(u16, &str, (u16, Value))> = vec![
        (400, "INVALID_RESOURCE_ID", {
            let r = raw(
                "GET",
                &format!("{base}/Patient/9000000001"),
                &[REQUEST_ID, TOKEN],
                None,
            );
            (r.0, r.2)
        }),
        (404, "RESOURCE_NOT_FOUND", {
            let r = raw(
                "GET",
                &format!("{base}/Patient/9000000041"),
                &[REQUEST_ID, TOKEN],
                None,
            );
            (r.0, r.2)
        }),
        (400, "MISSING_VALUE", {
            let r = raw("GET", &patient, &[TOKEN], None);
            (r.0, r.2)
        }),
        (400, "INVALID_VALUE", {
            let r = raw(
                "GET",
                &patient,
                &[("X-Request-ID", "not-a-uuid"), TOKEN],
                None,
            );
            (r.0, r.2)
        }),
        (401, "ACCESS_DENIED", {
            let r = raw("GET", &patient, &[REQUEST_ID], None);
            (r.0, r.2)
        }),
        (400, "INVALID_SEARCH_DATA", {
            let r = raw(
                "GET",
                &format!("{base}/Patient?family=Smith"),
                &[REQUEST_ID, TOKEN],
                None,
            );
            (r.0, r.2)
        }),
        (400, "TOO_MANY_MATCHES", {
            let r = raw(
                "GET",
                &format!("{base}/Patient?family=Smith&birthdate=2010-10-22"),
                &[REQUEST_ID, TOKEN],
                None,
            );
            (r.0, r.2)
        }),
        (412, "PRECONDITION_FAILED", {
            let r = raw(
                "PATCH",
                &patient,
                &[
                    REQUEST_ID,
                    TOKEN,
                    ("Content-Type", "application/json-patch+json"),
                ],
                Some(r#"{"patches":[]}"#),
            );
            (r.0, r.2)
        }),
        (400, "UNSUPPORTED_SERVICE", {
            let r = raw(
                "PATCH",
                &patient,
                &[
                    REQUEST_ID,
                    TOKEN,
                    ("If-Match", "W/\"2\""),
                    ("Content-Type", "text/plain"),
                ],
                Some("x"),
            );
            (r.0, r.2)
        }),
        (400, "INVALID_UPDATE", {
            let r = raw(
                "PATCH",
                &patient,
                &[
                    REQUEST_ID,
                    TOKEN,
                    ("If-Match", "W/\"2\""),
                    ("Content-Type", "application/json-patch+json"),
                ],
                Some("{}"),
            );
            (r.0, r.2)
        }),
    ];
    for (status, code, (got_status, outcome)) in cases {
        assert_eq!(
            (got_status, spine_code(&outcome)),
            (status, code),
            "{outcome}"
        );
    }
}

#[test]
fn the_simulator_never_serves_a_sensitive_patients_address() {
    // A sensitive patient handed over with an address, as a careless fixture might.
    let mut leaky = fixture("Patient.json");
    leaky["meta"]["security"] =
        json!([{"system": CONFIDENTIALITY, "code": "R", "display": "restricted"}]);
    let base = serve_simulator(Simulator::new(vec![leaky]));
    let (_, _, body) = raw(
        "GET",
        &format!("{base}/Patient/9000000009"),
        &[REQUEST_ID, TOKEN],
        None,
    );
    let url =
        format!("{base}/Patient?family=Smith&birthdate=2010-10-22&address-postalcode=LS1%206AE");
    let (_, _, bundle) = raw("GET", &url, &[REQUEST_ID, TOKEN], None);
    assert_eq!(
        bundle["total"], 0,
        "the hidden postcode cannot be searched on either"
    );
    for hidden in ["address", "telecom", "generalPractitioner"] {
        assert!(body.get(hidden).is_none(), "{hidden} served");
    }
    assert!(!body.to_string().contains("Trevelyan Square"));
}
