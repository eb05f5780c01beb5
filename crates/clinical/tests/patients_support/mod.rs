//! Shared set-up for the patients tests: a fresh store with a practice (Organization,
//! a GP with a PractitionerRole), staff contexts by role, and patients.
#![allow(dead_code)]

use chrono::NaiveDate;
use serde_json::{Value, json};
use std::sync::Arc;
use store::{Access, Repository, RepositoryConfig, RequestContext, Role, StaffMember, Store};

pub const PRACTICE: &str = "A81001";
pub const GP_ID: &str = "gp-lindqvist";

pub fn sqlite() -> Arc<dyn Store> {
    Arc::new(store_sqlite::SqliteStore::open_temp().expect("temporary SQLite store"))
}

/// A scratch PostgreSQL store, or `None` when OPENGP_TEST_POSTGRES is not set.
pub fn postgres() -> Option<Arc<dyn Store>> {
    let url = std::env::var("OPENGP_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())?;
    Some(Arc::new(
        store_postgres::ScratchStore::create(&url).expect("scratch PostgreSQL schema"),
    ))
}

pub fn repo(store: Arc<dyn Store>) -> Repository {
    outbox::schema::ensure(store.as_ref()).expect("the outbox table");
    Repository::new(store, RepositoryConfig::default())
}

pub fn system() -> RequestContext {
    RequestContext::system(PRACTICE)
}

/// A signed-in member of staff with `role`, caring for patients directly.
pub fn staff(role: Role) -> RequestContext {
    RequestContext::new(
        PRACTICE,
        store::Actor::User(format!("user-{role:?}")),
        store::Purpose::DirectCare,
    )
    .with_access(Access::staff(StaffMember {
        user_id: format!("user-{role:?}"),
        role,
        practitioner: None,
    }))
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()
}

/// The practice's Organization, one GP (with a GP PractitionerRole) and one nurse.
pub fn practice(repo: &Repository) {
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        put("Organization", json!({"resourceType": "Organization", "id": PRACTICE,
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": PRACTICE}],
            "name": "Headingley Lane Surgery"})),
        put("Practitioner", json!({"resourceType": "Practitioner", "id": GP_ID,
            "name": [{"family": "Lindqvist", "given": ["Sarah"], "prefix": ["Dr"]}]})),
        put("PractitionerRole", json!({"resourceType": "PractitionerRole", "id": "gp-role", "active": true,
            "practitioner": {"reference": format!("Practitioner/{GP_ID}")},
            "organization": {"reference": format!("Organization/{PRACTICE}")},
            "code": [{"coding": [{"system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-SDSJobRoleName", "code": "R0260"}]}]})),
        put("Practitioner", json!({"resourceType": "Practitioner", "id": "nurse-1",
            "name": [{"family": "Pickersgill", "given": ["Joanne"]}]})),
        put("PractitionerRole", json!({"resourceType": "PractitionerRole", "id": "nurse-role", "active": true,
            "practitioner": {"reference": "Practitioner/nurse-1"},
            "code": [{"coding": [{"system": "http://snomed.info/sct", "code": "224535009"}]}]})),
    ]});
    repo.bundle(&system(), bundle, clinical::fetch::BASE)
        .expect("practice loaded");
}

fn put(rtype: &str, resource: Value) -> Value {
    let id = resource["id"].as_str().unwrap().to_string();
    json!({"resource": resource, "request": {"method": "PUT", "url": format!("{rtype}/{id}")}})
}

/// A patient: `family`, `given`, born `birth` (YYYY-MM-DD), with an NHS number and
/// postcode if given. Returns its id.
pub fn patient(
    repo: &Repository,
    family: &str,
    given: &str,
    birth: &str,
    nhs: Option<&str>,
    postcode: Option<&str>,
) -> String {
    let mut p = json!({
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female",
        "birthDate": birth,
    });
    if let Some(n) = nhs {
        p["identifier"] = json!([{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": n}]);
    }
    if let Some(pc) = postcode {
        p["address"] =
            json!([{"use": "home", "line": ["1 High Street"], "city": "Leeds", "postalCode": pc}]);
    }
    create(repo, p)
}

pub fn create(repo: &Repository, resource: Value) -> String {
    let rtype = resource["resourceType"].as_str().unwrap().to_string();
    repo.create(&system(), &rtype, resource, None)
        .expect("created")
        .resource
        .id
}

/// How many current resources of `rtype` there are.
pub fn count(repo: &Repository, rtype: &str) -> usize {
    let bundle = clinical::fetch::search_bundle(repo, &system(), rtype, &[("_summary", "count")])
        .expect("counted");
    bundle["total"].as_u64().unwrap_or(0) as usize
}
