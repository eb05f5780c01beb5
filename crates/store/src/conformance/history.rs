//! Cases: instance, type and system history; `_since`, `_at`, `_count` and paging.

use super::crud::patient;
use super::{Case, Harness};
use crate::case;
use crate::repository::HistoryRequest;
use serde_json::{Value, json};

pub fn cases() -> Vec<Case> {
    vec![
        case!(instance_history_newest_first_with_entries_complete),
        case!(type_and_system_history),
        case!(since_includes_versions_at_or_after),
        case!(at_gives_the_version_current_then),
        case!(count_and_paging_are_stable_while_others_write),
        case!(bad_parameters_are_bad_requests),
        case!(unknown_resource_history_is_not_found),
    ]
}

fn req(
    h: &Harness,
    rtype: Option<&str>,
    id: Option<&str>,
    params: &[(&str, &str)],
) -> HistoryRequest {
    HistoryRequest {
        rtype: rtype.map(str::to_string),
        id: id.map(str::to_string),
        params: params
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        base_url: h.base_url().into(),
    }
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"].as_array().cloned().unwrap_or_default()
}

/// `(request.url, versionId)` of each entry, e.g. `("Patient/1", "2")`.
fn versions(bundle: &Value) -> Vec<(String, String)> {
    entries(bundle)
        .iter()
        .map(|e| {
            let etag = e["response"]["etag"].as_str().unwrap_or_default();
            let version = etag
                .trim_start_matches("W/\"")
                .trim_end_matches('"')
                .to_string();
            let url = e["fullUrl"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .take(2)
                .collect::<Vec<_>>();
            (format!("{}/{}", url[1], url[0]), version)
        })
        .collect()
}

/// Query parameters of a Bundle link, decoded.
fn link_params(bundle: &Value, relation: &str) -> Option<Vec<(String, String)>> {
    let link = bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)?;
    let url = link["url"].as_str()?;
    let query = url.split_once('?').map_or("", |(_, q)| q);
    Some(
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    )
}

/// Waits until the clock has moved on, so versions get distinct timestamps.
fn tick() {
    std::thread::sleep(std::time::Duration::from_millis(3));
}

fn instance_history_newest_first_with_entries_complete(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("V1"));
    h.repo
        .update(
            &ctx,
            "Patient",
            &id,
            super::with_id(patient("V2"), &id),
            None,
        )
        .unwrap();
    h.repo.delete(&ctx, "Patient", &id).unwrap();
    h.repo
        .update(
            &ctx,
            "Patient",
            &id,
            super::with_id(patient("V4"), &id),
            None,
        )
        .unwrap();
    let bundle = h
        .repo
        .history(&ctx, &req(h, Some("Patient"), Some(&id), &[]))
        .unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "history");
    assert_eq!(bundle["total"], 4);
    let e = entries(&bundle);
    let methods: Vec<_> = e
        .iter()
        .map(|e| e["request"]["method"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(methods, ["PUT", "DELETE", "PUT", "POST"]);
    assert_eq!(e[0]["resource"]["name"][0]["family"], "V4");
    assert_eq!(e[0]["fullUrl"], format!("{}/Patient/{id}", h.base_url()));
    assert_eq!(e[0]["request"]["url"], format!("Patient/{id}"));
    assert_eq!(e[0]["response"]["etag"], "W/\"4\"");
    assert!(e[0]["response"]["lastModified"].is_string());
    assert!(e[1].get("resource").is_none(), "a deletion has no resource");
    assert_eq!(e[3]["request"]["url"], "Patient");
    assert_eq!(e[3]["resource"]["name"][0]["family"], "V1");
    assert!(link_params(&bundle, "self").is_some());
    assert!(link_params(&bundle, "next").is_none());
}

fn type_and_system_history(h: &Harness) {
    let ctx = h.ctx();
    let p = h.create_id(&ctx, "Patient", patient("P"));
    let o = h
        .repo
        .create(
            &ctx,
            "Observation",
            json!({"resourceType": "Observation", "status": "final", "code": {"text": "BP"}}),
            None,
        )
        .unwrap()
        .resource
        .id;
    h.repo
        .update(&ctx, "Patient", &p, super::with_id(patient("P2"), &p), None)
        .unwrap();
    let patients = h
        .repo
        .history(&ctx, &req(h, Some("Patient"), None, &[]))
        .unwrap();
    assert_eq!(
        versions(&patients),
        [
            (format!("Patient/{p}"), "2".into()),
            (format!("Patient/{p}"), "1".into())
        ]
    );
    let all = h.repo.history(&ctx, &req(h, None, None, &[])).unwrap();
    assert_eq!(
        versions(&all),
        [
            (format!("Patient/{p}"), "2".to_string()),
            (format!("Observation/{o}"), "1".to_string()),
            (format!("Patient/{p}"), "1".to_string())
        ]
    );
}

fn since_includes_versions_at_or_after(h: &Harness) {
    let ctx = h.ctx();
    let id = h.create_id(&ctx, "Patient", patient("Old"));
    tick();
    let second = h
        .repo
        .update(
            &ctx,
            "Patient",
            &id,
            super::with_id(patient("New"), &id),
            None,
        )
        .unwrap()
        .resource;
    tick();
    h.repo
        .create(&ctx, "Patient", patient("Other"), None)
        .unwrap();
    let since = second.last_updated_instant();
    let bundle = h
        .repo
        .history(&ctx, &req(h, Some("Patient"), None, &[("_since", &since)]))
        .unwrap();
    assert_eq!(
        entries(&bundle).len(),
        2,
        "the version at _since itself and the later one"
    );
    let instance = h
        .repo
        .history(
            &ctx,
            &req(h, Some("Patient"), Some(&id), &[("_since", &since)]),
        )
        .unwrap();
    assert_eq!(
        versions(&instance),
        [(format!("Patient/{id}"), "2".to_string())]
    );
    assert_eq!(instance["total"], 1);
    let none = h
        .repo
        .history(
            &ctx,
            &req(h, None, None, &[("_since", "2999-01-01T00:00:00Z")]),
        )
        .unwrap();
    assert!(entries(&none).is_empty());
}

fn at_gives_the_version_current_then(h: &Harness) {
    let ctx = h.ctx();
    let a = h
        .repo
        .create(&ctx, "Patient", patient("A1"), None)
        .unwrap()
        .resource;
    tick();
    let b = h
        .repo
        .create(&ctx, "Patient", patient("B1"), None)
        .unwrap()
        .resource;
    tick();
    h.repo
        .update(
            &ctx,
            "Patient",
            &a.id,
            super::with_id(patient("A2"), &a.id),
            None,
        )
        .unwrap();
    tick();
    h.repo.delete(&ctx, "Patient", &b.id).unwrap();
    let at = b.last_updated_instant();
    let then = h
        .repo
        .history(&ctx, &req(h, Some("Patient"), None, &[("_at", &at)]))
        .unwrap();
    let mut got = versions(&then);
    got.sort();
    let mut expected = vec![
        (format!("Patient/{}", a.id), "1".to_string()),
        (format!("Patient/{}", b.id), "1".to_string()),
    ];
    expected.sort();
    assert_eq!(got, expected);
    let before_all = h
        .repo
        .history(&ctx, &req(h, None, None, &[("_at", "2000-01-01")]))
        .unwrap();
    assert!(entries(&before_all).is_empty());
    let now = h
        .repo
        .history(
            &ctx,
            &req(h, Some("Patient"), None, &[("_at", "2999-01-01T00:00:00Z")]),
        )
        .unwrap();
    let mut got = versions(&now);
    got.sort();
    let mut expected = vec![
        (format!("Patient/{}", a.id), "2".to_string()),
        (format!("Patient/{}", b.id), "2".to_string()),
    ];
    expected.sort();
    assert_eq!(got, expected, "the latest versions, B's being its deletion");
}

fn count_and_paging_are_stable_while_others_write(h: &Harness) {
    let ctx = h.ctx();
    for n in 0..7 {
        h.repo
            .create(&ctx, "Patient", patient(&format!("P{n}")), None)
            .unwrap();
    }
    let first = h
        .repo
        .history(&ctx, &req(h, Some("Patient"), None, &[("_count", "3")]))
        .unwrap();
    let mut seen = versions(&first);
    assert_eq!(seen.len(), 3);
    // Writes after the first page must not shift or join the later pages.
    h.repo
        .create(&ctx, "Patient", patient("Late"), None)
        .unwrap();
    let mut page = first;
    while let Some(next) = link_params(&page, "next") {
        let next: Vec<(&str, &str)> = next.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        page = h
            .repo
            .history(&ctx, &req(h, Some("Patient"), None, &next))
            .unwrap();
        assert!(entries(&page).len() <= 3);
        seen.extend(versions(&page));
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    let distinct: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), 7, "no version repeated");
    let huge = h
        .repo
        .history(&ctx, &req(h, None, None, &[("_count", "1000000")]))
        .unwrap();
    assert_eq!(
        entries(&huge).len(),
        8,
        "a _count above the maximum is reduced, not refused"
    );
}

fn bad_parameters_are_bad_requests(h: &Harness) {
    let ctx = h.ctx();
    for (name, value) in [
        ("_since", "yesterday"),
        ("_at", "2024-13-01"),
        ("_count", "-1"),
        ("_count", "ten"),
    ] {
        let err = h
            .repo
            .history(&ctx, &req(h, None, None, &[(name, value)]))
            .unwrap_err();
        assert_eq!(err.status(), 400, "{name}={value}");
    }
}

fn unknown_resource_history_is_not_found(h: &Harness) {
    let err = h
        .repo
        .history(&h.ctx(), &req(h, Some("Patient"), Some("nope"), &[]))
        .unwrap_err();
    assert_eq!(err.status(), 404);
}
