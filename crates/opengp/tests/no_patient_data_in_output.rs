//! The built `opengp` binary end to end: register an app, serve the demo practice, use
//! the API as an app would (and as an attacker would), and check that nothing the server
//! wrote to stdout or stderr names a demo patient. Then check the audit trail verifies,
//! and that tampering with it is found.

use base64::Engine;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OPENGP: &str = env!("CARGO_BIN_EXE_opengp");

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn cookie(&self) -> String {
        let line = self
            .headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .expect("a cookie");
        let value = line.split_once(':').unwrap().1.trim();
        value.split(';').next().unwrap().to_string()
    }
}

/// One HTTP/1.1 request over a fresh connection.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    socket.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    socket.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // Chunked bodies: join the chunks.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers: head.to_string(),
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Collects a child's output stream in the background.
fn capture(stream: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut all = into.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(OPENGP).args(args).output().unwrap()
}

struct Server {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Server {
    fn start(database: &str, port: u16) -> Server {
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(OPENGP)
            .args([
                "serve",
                "--demo",
                "--demo-patients",
                "12",
                "--database",
                database,
                "--listen",
                &listen,
            ])
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        capture(child.stdout.take().unwrap(), output.clone());
        capture(child.stderr.take().unwrap(), output.clone());
        let started = Instant::now();
        while !output.lock().unwrap().contains("OpenGP is listening") {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the server did not start: {}",
                output.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server { child, output }
    }

    /// Stops the server as Ctrl-C would, and returns everything it wrote.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(200));
        self.output.lock().unwrap().clone()
    }
}

struct DemoPatient {
    id: String,
    nhs_number: String,
    family: String,
    birth_date: String,
}

fn demo_patients(port: u16, bearer: &str) -> Vec<DemoPatient> {
    let reply = http(
        port,
        "GET",
        "/fhir/Patient?_count=100",
        &[("Authorization", bearer)],
        "",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let bundle = reply.json();
    let patients: Vec<DemoPatient> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .map(|p| DemoPatient {
            id: p["id"].as_str().unwrap().to_string(),
            nhs_number: p["identifier"][0]["value"].as_str().unwrap().to_string(),
            family: p["name"][0]["family"].as_str().unwrap().to_string(),
            birth_date: p["birthDate"].as_str().unwrap().to_string(),
        })
        .collect();
    assert!(patients.len() >= 10, "the demo practice has its patients");
    patients
}

#[test]
fn the_server_writes_no_patient_data_and_the_audit_trail_verifies() {
    let dir = std::env::temp_dir().join(format!("opengp-privacy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db_path = dir.join("opengp.db");
    let database = format!("sqlite:{}", db_path.display());

    let added = run(&[
        "client",
        "add",
        "--database",
        &database,
        "--scopes",
        "system/*.cruds",
        "--name",
        "Privacy test",
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let printed = String::from_utf8(added.stdout).unwrap();
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}= line in {printed}"))
            .to_string()
    };
    let (client_id, client_secret) = (field("client_id"), field("client_secret"));

    let port = free_port();
    let server = Server::start(&database, port);
    let config = http(
        port,
        "GET",
        "/fhir/.well-known/smart-configuration",
        &[],
        "",
    )
    .json();
    let token_endpoint = config["token_endpoint"].as_str().unwrap();
    let token_path = &token_endpoint[token_endpoint.find("/oauth").unwrap()..];
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"))
    );
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let issued = http(
        port,
        "POST",
        token_path,
        &[form[0], ("Authorization", &basic)],
        "grant_type=client_credentials&scope=system%2F*.cruds",
    );
    assert_eq!(issued.status, 200, "{}", issued.body);
    let bearer = format!("Bearer {}", issued.json()["access_token"].as_str().unwrap());
    let auth = [("Authorization", bearer.as_str())];

    // The workload: what an app does, and what goes wrong.
    let patients = demo_patients(port, &bearer);
    for p in patients.iter().take(4) {
        let by_nhs = format!(
            "/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{}",
            p.nhs_number
        );
        assert_eq!(http(port, "GET", &by_nhs, &auth, "").status, 200);
        let by_name = format!(
            "/fhir/Patient?family={}&birthdate={}",
            p.family, p.birth_date
        );
        assert_eq!(http(port, "GET", &by_name, &auth, "").status, 200);
        assert_eq!(
            http(port, "GET", &format!("/fhir/Patient/{}", p.id), &auth, "").status,
            200
        );
        let everything = format!("/fhir/Patient/{}/$everything", p.id);
        assert_eq!(http(port, "GET", &everything, &auth, "").status, 200);
        assert_eq!(http(port, "GET", &by_nhs, &[], "").status, 401);
    }
    let first = &patients[0];
    let bad = format!(
        r#"{{"resourceType":"Patient","identifier":[{{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"{}"}}],"name":[{{"family":"{}"}}],"birthDate":"{}"}}"#,
        "1234567890", first.family, first.birth_date
    );
    let refused = http(
        port,
        "POST",
        "/fhir/Patient",
        &[auth[0], ("Content-Type", "application/fhir+json")],
        &bad,
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    let login = http(port, "GET", "/login", &[], "");
    let csrf_at = login.body.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = login.body[csrf_at..].split('"').next().unwrap().to_string();
    let body = encode(&[
        ("csrf", &csrf),
        ("username", &first.family),
        ("password", &first.nhs_number),
    ]);
    let cookie = login.cookie();
    let failed = http(
        port,
        "POST",
        "/login",
        &[form[0], ("Cookie", &cookie)],
        &body,
    );
    assert_eq!(failed.status, 401, "{}", failed.body);

    let output = server.stop();
    assert!(
        output.contains("Demo staff accounts") && output.contains("demo.gp"),
        "{output}"
    );
    assert!(
        output.contains("route="),
        "the debug log was captured: {output}"
    );
    for p in &patients {
        for (what, value) in [
            ("NHS number", &p.nhs_number),
            ("family name", &p.family),
            ("birth date", &p.birth_date),
        ] {
            assert!(
                !output.contains(value.as_str()),
                "the server wrote a demo patient's {what} ({value})"
            );
        }
    }

    let verified = run(&["audit", "verify", "--database", &database]);
    let said = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(
        verified.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(said.contains("intact"), "{said}");

    // Tamper: lift the append-only guard and change one entry's outcome.
    let db = rusqlite::Connection::open(&db_path).unwrap();
    db.execute_batch("DROP TRIGGER audit_log_no_update")
        .unwrap();
    let changed = db
        .execute(
            "UPDATE audit_log SET outcome = CASE outcome WHEN 'success' THEN 'refused' \
             ELSE 'success' END WHERE seq = 3",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let broken = run(&["audit", "verify", "--database", &database]);
    let said = String::from_utf8_lossy(&broken.stderr).into_owned();
    assert!(!broken.status.success(), "tampering was not found");
    assert!(
        said.contains("entry 3") && said.contains("altered"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
