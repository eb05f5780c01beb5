//! Upgrading a database written by the release before versioned migrations: each backend
//! opens its copy of the fixture (`crates/store/tests/fixtures/main-before-migrations.*`,
//! made by `make-fixture.py` from `seed-resources.json`) and hands the migrated store
//! to [`check_upgraded_fixture`].
//!
//! What the fixture holds: the seed resources, the Patient updated once (a given name
//! "Fixture" added), the first Observation deleted, and 18 audit entries.

use super::Harness;
use crate::backend::{Store, TxMode};
use crate::repository::SearchRequest;
use crate::schema::INDEX_TABLES;
use serde_json::Value;
use std::sync::Arc;

/// The seed resources the fixture was written from.
const SEED: &str = include_str!("../../tests/fixtures/seed-resources.json");

fn seed_of(rtype: &str) -> Vec<Value> {
    let seed: Vec<Value> = serde_json::from_str(SEED).expect("the seed is JSON");
    seed.into_iter()
        .filter(|r| r["resourceType"] == rtype)
        .collect()
}

fn ids(bundle: &Value) -> Vec<String> {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    ids
}

/// Reads, searches (by reference, string and date parameters) and writes through the
/// repository on the migrated fixture, and checks the audit chain is still intact.
pub fn check_upgraded_fixture(store: Arc<dyn Store>) {
    let versions = |component| {
        crate::migrate::applied_versions(store.as_ref(), component)
            .unwrap()
            .expect("schema_migrations exists after migrating")
    };
    assert_eq!(versions(&crate::schema::COMPONENT), [1, 2]);
    assert_eq!(versions(&crate::audit::schema::COMPONENT), [1]);
    // Every index row was given its resource's practice.
    let mut tx = store
        .begin(&crate::RequestContext::system("A81001"), TxMode::Read)
        .unwrap();
    for table in INDEX_TABLES {
        let rows = tx
            .query(
                &format!(
                    "SELECT COUNT(*), SUM(CASE WHEN practice = 'A81001' THEN 1 ELSE 0 END) FROM {table}"
                ),
                &[],
            )
            .unwrap();
        let (all, ours) = (rows[0][0].as_i64(), rows[0][1].as_i64().unwrap_or(0));
        assert_eq!(all, Some(ours), "{table}: every row has the practice");
    }
    drop(tx);

    let h = Harness::new(store.clone());
    let ctx = h.ctx();
    let patient = &seed_of("Patient")[0];
    let patient_id = patient["id"].as_str().unwrap();
    let observations = seed_of("Observation");
    let deleted = observations[0]["id"].as_str().unwrap();

    let read = h.repo.read(&ctx, "Patient", patient_id).unwrap();
    assert_eq!(read.version, 2, "the update made by the old release");
    assert!(read.body.unwrap().contains("Fixture"));
    assert_eq!(
        h.repo
            .read(&ctx, "Observation", deleted)
            .unwrap_err()
            .status(),
        410,
        "the deletion made by the old release"
    );

    let search = |rtype: &str, params: &[(&str, &str)]| {
        let req = SearchRequest {
            rtype: Some(rtype.into()),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            base_url: h.base_url().into(),
            lenient: false,
        };
        ids(&h.repo.search(&ctx, &req).unwrap())
    };
    let subject = format!("Patient/{patient_id}");
    let mut live: Vec<String> = observations[1..]
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect();
    live.sort();
    assert_eq!(search("Observation", &[("subject", &subject)]), live);
    let family = patient["name"][0]["family"].as_str().unwrap();
    let birth = patient["birthDate"].as_str().unwrap();
    assert_eq!(
        search("Patient", &[("family", family), ("birthdate", birth)]),
        [patient_id]
    );
    assert_eq!(search("Patient", &[("given", "Fixture")]), [patient_id]);

    // Writes land in the migrated tables and are found again.
    let mut new = observations[1].clone();
    new.as_object_mut().unwrap().remove("id");
    let created = h.create_id(&ctx, "Observation", new);
    live.push(created);
    live.sort();
    assert_eq!(search("Observation", &[("subject", &subject)]), live);
    let updated = h
        .repo
        .update(&ctx, "Patient", patient_id, patient.clone(), None)
        .unwrap();
    assert_eq!(updated.resource.version, 3);
    assert!(search("Patient", &[("given", "Fixture")]).is_empty());

    let report = crate::audit::verify::verify(store.as_ref()).unwrap();
    assert!(report.broken.is_none(), "{:?}", report.broken);
    assert!(report.entries > 18, "the old entries and the new ones");
}
