//! The conformance suite: one set of cases, written once, that every backend must pass.
//!
//! A backend runs it from a test target with `harness = false`:
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     store::conformance::run(|| Arc::new(MyStore::open_fresh()) as Arc<dyn Store>)
//! }
//! ```
//!
//! Each case gets a fresh, empty store. Cases live in the modules below, by area; add a
//! case by writing `fn name(h: &Harness)` and listing it in that module's `cases()`.

use crate::access::Access;
use crate::backend::Store;
use crate::context::{Actor, Purpose, RequestContext};
use crate::repository::{Repository, RepositoryConfig};
use std::sync::Arc;

pub mod access;
pub mod audit;
pub mod bundle;
pub mod crud;
pub mod history;
pub mod roundtrip;
pub mod search;
pub mod upgrade;

/// What a case gets: a repository over a fresh store, and the practice it acts for.
pub struct Harness {
    pub repo: Arc<Repository>,
    pub practice: String,
}

impl Harness {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Harness {
            repo: Arc::new(Repository::new(store, RepositoryConfig::default())),
            practice: "A81001".into(),
        }
    }

    /// Someone of the test practice with unrestricted access, so these cases test the
    /// FHIR interactions, not the access rules.
    pub fn ctx(&self) -> RequestContext {
        RequestContext::new(
            self.practice.clone(),
            Actor::User("test-clinician".into()),
            Purpose::DirectCare,
        )
        .with_access(Access::system())
    }

    /// Someone at another practice, for tenancy checks.
    pub fn other_practice_ctx(&self) -> RequestContext {
        RequestContext::new(
            "B82002",
            Actor::User("other-clinician".into()),
            Purpose::DirectCare,
        )
        .with_access(Access::system())
    }

    /// Creates `body` as `rtype` for `ctx`; returns the new id.
    pub fn create_id(&self, ctx: &RequestContext, rtype: &str, body: serde_json::Value) -> String {
        self.repo
            .create(ctx, rtype, body, None)
            .unwrap()
            .resource
            .id
    }

    pub fn base_url(&self) -> &'static str {
        "http://localhost/fhir"
    }
}

/// `body` with its `id` set, as an update's body must be.
pub fn with_id(mut body: serde_json::Value, id: &str) -> serde_json::Value {
    body["id"] = serde_json::Value::String(id.to_string());
    body
}

pub struct Case {
    pub name: &'static str,
    pub run: fn(&Harness),
}

/// `case!(module_fn)` names a case after its module and function.
#[macro_export]
macro_rules! case {
    ($f:ident) => {
        $crate::conformance::Case {
            name: concat!(module_path!(), "::", stringify!($f)),
            run: $f,
        }
    };
}

pub fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(crud::cases());
    cases.extend(history::cases());
    cases.extend(bundle::cases());
    cases.extend(roundtrip::cases());
    cases.extend(search::cases());
    cases.extend(access::cases());
    cases.extend(audit::cases());
    cases
}

/// After every case: the audit chain is intact, and every version the case wrote (by any
/// interaction: create, update, delete, conditional, batch, transaction) is named by an
/// audit entry.
fn every_write_is_audited(h: &Harness) -> Result<(), libtest_mimic::Failed> {
    let store = h.repo.store();
    let report = crate::audit::verify(store.as_ref()).map_err(|e| e.to_string())?;
    if let Some(broken) = report.broken {
        return Err(format!("the audit chain is broken: {broken}").into());
    }
    let ctx = h.ctx();
    let mut tx = store
        .begin(&ctx, crate::backend::TxMode::Read)
        .map_err(|e| e.to_string())?;
    let mut audited = std::collections::HashSet::new();
    for row in tx
        .query("SELECT entry FROM audit_log", &[])
        .map_err(|e| e.to_string())?
    {
        let text = row[0].as_str().unwrap_or_default();
        let entry: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for entity in entry["entities"].as_array().into_iter().flatten() {
            audited.insert(entity.as_str().unwrap_or_default().to_string());
        }
    }
    let versions = tx
        .query("SELECT rtype, id, version FROM resource_versions", &[])
        .map_err(|e| e.to_string())?;
    for row in versions {
        let reference = format!(
            "{}/{}/_history/{}",
            row[0].as_str().unwrap_or_default(),
            row[1].as_str().unwrap_or_default(),
            row[2].as_i64().unwrap_or_default()
        );
        if !audited.contains(&reference) {
            return Err(format!("{reference} was written without an audit entry naming it").into());
        }
    }
    Ok(())
}

/// Runs every case as its own test (libtest output and arguments: filters, `--list`,
/// `--test-threads`), each on a store from `fresh_store`.
pub fn run<F>(fresh_store: F) -> std::process::ExitCode
where
    F: Fn() -> Arc<dyn Store> + Send + Sync + Clone + 'static,
{
    let args = libtest_mimic::Arguments::from_args();
    let trials = all_cases()
        .into_iter()
        .map(|case| {
            let fresh_store = fresh_store.clone();
            let name = case
                .name
                .trim_start_matches("store::conformance::")
                .to_string();
            libtest_mimic::Trial::test(name.clone(), move || {
                let harness = Harness::new(fresh_store());
                (case.run)(&harness);
                // The audit cases tamper with the chain on purpose.
                if !name.starts_with("audit::") {
                    every_write_is_audited(&harness)?;
                }
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
