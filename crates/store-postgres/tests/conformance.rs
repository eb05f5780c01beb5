//! The store's conformance suite on PostgreSQL. Each case gets a store in a new schema of
//! the database named by OPENGP_TEST_POSTGRES, dropped again when the case ends.
//! Without the variable every case is listed as ignored, so the skip shows in the output.

use std::process::ExitCode;
use std::sync::Arc;
use store::Store;
use store_postgres::ScratchStore;

const URL_VARIABLE: &str = "OPENGP_TEST_POSTGRES";

fn main() -> ExitCode {
    match std::env::var(URL_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty())
    {
        Some(url) => store::conformance::run(move || {
            let store =
                ScratchStore::create(&url).unwrap_or_else(|e| panic!("{URL_VARIABLE}: {e}"));
            Arc::new(store) as Arc<dyn Store>
        }),
        None => {
            eprintln!(
                "PostgreSQL conformance suite skipped: set {URL_VARIABLE}=postgres://root@127.0.0.1:5432/test (any database this user may create schemas in)"
            );
            let args = libtest_mimic::Arguments::from_args();
            let trials = store::conformance::all_cases()
                .into_iter()
                .map(|case| {
                    let name = case.name.trim_start_matches("store::conformance::");
                    libtest_mimic::Trial::test(name, || Ok(())).with_ignored_flag(true)
                })
                .collect();
            libtest_mimic::run(&args, trials).exit_code()
        }
    }
}
