//! `cfg(test_postgres)` when OPENGP_TEST_POSTGRES names a database: the tests that need a
//! live PostgreSQL are ignored (and listed as such) without one, instead of passing
//! without testing anything.
fn main() {
    println!("cargo:rustc-check-cfg=cfg(test_postgres)");
    println!("cargo:rerun-if-env-changed=OPENGP_TEST_POSTGRES");
    if std::env::var("OPENGP_TEST_POSTGRES").is_ok_and(|v| !v.is_empty()) {
        println!("cargo:rustc-cfg=test_postgres");
    }
}
