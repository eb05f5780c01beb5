//! A binary opening a database whose schema is newer than it knows refuses to start, and
//! says which versions: an older OpenGP could otherwise write rows the newer schema does
//! not expect.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use store::{RequestContext, Store, TxMode};

const OPENGP: &str = env!("CARGO_BIN_EXE_opengp");

#[test]
fn serve_refuses_a_newer_schema_naming_both_versions() {
    let dir = std::env::temp_dir().join(format!("opengp-newer-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("opengp.db");
    {
        let store = store_sqlite::SqliteStore::open(&path).unwrap();
        let mut tx = store
            .begin(&RequestContext::system("A81001"), TxMode::Write)
            .unwrap();
        tx.execute(
            "INSERT INTO schema_migrations (component, version, name, applied_at) \
             VALUES ('store', 1000, 'from a newer OpenGP', 0)",
            &[],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let mut serve = Command::new(OPENGP)
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(format!("sqlite:{}", path.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = serve.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            serve.kill().unwrap();
            panic!("serve started on a newer schema");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut serve.stderr.take().unwrap(), &mut stderr).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!status.success(), "exit status {status}");
    let known = store::schema::COMPONENT.latest();
    assert!(
        stderr.contains("store schema is at version 1000")
            && stderr.contains(&format!("this OpenGP knows (version {known})")),
        "{stderr}"
    );
}
