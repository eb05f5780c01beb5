//! The workspace's searches are strict: a misspelt parameter is an error, never a
//! filter silently dropped (which would widen a clinical search to every patient),
//! whatever the API's lenient default.

use clinical::fetch;
use serde_json::json;
use std::sync::Arc;
use store::{Repository, RepositoryConfig, RequestContext};

#[test]
fn a_misspelt_filter_is_an_error_not_a_wider_search() {
    let store = store_sqlite::SqliteStore::open_temp().expect("temporary store");
    let repo = Repository::new(Arc::new(store), RepositoryConfig::default());
    let ctx = RequestContext::system("A81001");
    for family in ["Smith", "Jones"] {
        let patient = json!({"resourceType": "Patient", "name": [{"family": family}]});
        repo.create(&ctx, "Patient", patient, None).unwrap();
    }
    let found = fetch::search(&repo, &ctx, "Patient", &[("family", "Smith")]).unwrap();
    assert_eq!(found.len(), 1);
    let misspelt = fetch::search(&repo, &ctx, "Patient", &[("famly", "Smith")]);
    let error = misspelt.expect_err("an unknown parameter must not be ignored");
    assert_eq!(error.status(), 400);
}
