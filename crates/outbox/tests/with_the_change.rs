//! A message is written in the same transaction as the clinical change that causes it
//! (`Repository::transaction_with`): both commit, or neither does (SQLite, PostgreSQL).

use outbox::NewMessage;
use serde_json::{Value, json};
use std::sync::Arc;
use store::{FhirError, Repository, RepositoryConfig, RequestContext, TxMode};

const PRACTICE: &str = "A81001";
const BASE: &str = "http://localhost/fhir";

fn sqlite() -> Repository {
    let store = Arc::new(store_sqlite::SqliteStore::open_temp().unwrap());
    outbox::schema::ensure(store.as_ref()).unwrap();
    Repository::new(store, RepositoryConfig::default())
}

fn postgres() -> Option<Repository> {
    let url = std::env::var("OPENGP_TEST_POSTGRES").ok()?;
    let store = Arc::new(store_postgres::ScratchStore::create(&url).unwrap());
    outbox::schema::ensure(store.as_ref()).unwrap();
    Some(Repository::new(store, RepositoryConfig::default()))
}

macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::sqlite()); } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                match super::postgres() {
                    Some(repo) => super::$name(repo),
                    None => eprintln!("skipped: OPENGP_TEST_POSTGRES is not set"),
                }
            } )*
        }
    };
}

backends!(
    a_committed_change_leaves_exactly_one_message_about_it,
    a_failing_bundle_leaves_no_message,
    a_message_that_cannot_be_written_undoes_the_change,
);

fn patient(family: &str) -> Value {
    json!({"resourceType": "Patient", "name": [{"family": family}], "gender": "female"})
}

fn bundle(entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

fn post(resource: Value) -> Value {
    json!({"fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()), "resource": resource,
        "request": {"method": "POST", "url": "Patient"}})
}

/// Enqueues one message about the first entry's resource.
fn message_about_first(
    tx: &mut dyn store::Transaction,
    written: &[Value],
) -> Result<(), FhirError> {
    let location = written[0]["response"]["location"]
        .as_str()
        .unwrap_or_default();
    let subject = location.split("/_history").next().unwrap_or_default();
    let message = NewMessage {
        practice: PRACTICE.into(),
        destination: "pds".into(),
        kind: "pds.update-contact".into(),
        subject: Some(subject.to_string()),
        payload: "{}".into(),
    };
    outbox::enqueue(tx, &message)?;
    Ok(())
}

fn rows(repo: &Repository, sql: &str) -> Vec<store::Row> {
    let mut tx = repo
        .store()
        .begin(&RequestContext::system(PRACTICE), TxMode::Read)
        .unwrap();
    tx.query(sql, &[]).unwrap()
}

fn patients(repo: &Repository) -> i64 {
    rows(
        repo,
        "SELECT COUNT(*) FROM resources WHERE rtype = 'Patient'",
    )[0][0]
        .as_i64()
        .unwrap()
}

fn a_committed_change_leaves_exactly_one_message_about_it(repo: Repository) {
    let ctx = RequestContext::system(PRACTICE);
    let response = repo
        .transaction_with(
            &ctx,
            bundle(vec![post(patient("Okafor"))]),
            BASE,
            message_about_first,
        )
        .unwrap();
    let location = response["entry"][0]["response"]["location"]
        .as_str()
        .unwrap();
    let id = location.split('/').nth(1).unwrap();
    let messages = rows(&repo, "SELECT subject, state FROM outbox");
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0][0].as_str(),
        Some(format!("Patient/{id}").as_str())
    );
    assert_eq!(messages[0][1].as_str(), Some("pending"));
    assert_eq!(patients(&repo), 1);
}

fn a_failing_bundle_leaves_no_message(repo: Repository) {
    let ctx = RequestContext::system(PRACTICE);
    // The second entry updates a version that does not exist: 412, all rolled back.
    let stale = json!({"resource": {"resourceType": "Patient", "id": "nobody"},
        "request": {"method": "PUT", "url": "Patient/nobody", "ifMatch": "W/\"7\""}});
    let err = repo
        .transaction_with(
            &ctx,
            bundle(vec![post(patient("Okafor")), stale]),
            BASE,
            message_about_first,
        )
        .unwrap_err();
    assert!(err.status() >= 400, "{err:?}");
    assert!(
        rows(&repo, "SELECT id FROM outbox").is_empty(),
        "no message"
    );
    assert_eq!(patients(&repo), 0, "no change");
}

fn a_message_that_cannot_be_written_undoes_the_change(repo: Repository) {
    let ctx = RequestContext::system(PRACTICE);
    let err = repo
        .transaction_with(
            &ctx,
            bundle(vec![post(patient("Okafor"))]),
            BASE,
            |tx, _| {
                tx.execute("INSERT INTO outbox (id) VALUES (NULL)", &[])?;
                Ok(())
            },
        )
        .unwrap_err();
    assert!(err.status() >= 400, "{err:?}");
    assert_eq!(
        patients(&repo),
        0,
        "the change is not kept without its message"
    );
    assert!(rows(&repo, "SELECT id FROM outbox").is_empty());
}
