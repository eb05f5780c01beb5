//! "Contact details" through HTTP: a receptionist changes a patient's address, the PDS
//! update is queued in the outbox with the save, and the outbox worker tells PDS (the
//! simulator, over HTTP as in `serve --demo`); the page shows "queued", then the
//! outcome. Bad input, stale forms, PDS failing until the update is given up and
//! tried again, unverified and sensitive patients, roles that may not.

mod common;

use auth::{Auth, AuthConfig, Clock};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{PRACTICE, Reply, csrf_of, encode, form_request, get_request, session_cookie};
use http_body_util::BodyExt;
use pds::simulator::{self, Simulator};
use pds::{HttpPds, Pds, PdsError, PdsPatient, SearchQuery};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use store::{Repository, RepositoryConfig, RequestContext};
use tower::ServiceExt;

const NHS: &str = "9434765919";
const GP_ID: &str = "gp-lindqvist";
const SIM_PREFIX: &str = "/personal-demographics/FHIR/R4";

/// PDS through the simulator, or (while `down`) through a port nobody listens on.
struct Switchable {
    up: HttpPds,
    gone: HttpPds,
    down: AtomicBool,
}

impl Switchable {
    fn now(&self) -> &HttpPds {
        if self.down.load(Ordering::SeqCst) {
            &self.gone
        } else {
            &self.up
        }
    }
}

impl Pds for Switchable {
    fn search(&self, query: &SearchQuery) -> Result<Vec<PdsPatient>, PdsError> {
        self.now().search(query)
    }
    fn retrieve(&self, nhs_number: &str) -> Result<PdsPatient, PdsError> {
        self.now().retrieve(nhs_number)
    }
    fn update(&self, nhs_number: &str, etag: &str, patch: &Value) -> Result<PdsPatient, PdsError> {
        self.now().update(nhs_number, etag, patch)
    }
}

struct Setup {
    router: Router,
    repo: Arc<Repository>,
    auth: Arc<Auth>,
    clock: Clock,
    sim: Simulator,
    pds: Arc<Switchable>,
    /// The outbox worker `opengp serve` runs, here run a batch at a time.
    worker: Arc<outbox::Worker>,
}

/// Serves `app` on a free loopback port from a thread of its own.
fn serve(app: Router) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// PDS's record of the patient: verified, living at 1 High Street.
fn on_pds() -> Value {
    json!({"resourceType": "Patient", "id": NHS,
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS}],
        "meta": {"versionId": "1", "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "U"}]},
        "name": [{"use": "usual", "family": "Smith", "given": ["Jane"]}],
        "gender": "female", "birthDate": "1970-10-22",
        "address": [{"id": "A1", "use": "home", "period": {"start": "2001-01-01"},
            "line": ["1 High Street", "Leeds"], "postalCode": "LS6 1AB"}],
        "telecom": [{"id": "T1", "system": "phone", "value": "07700900111", "use": "mobile"}]})
}

fn setup() -> Setup {
    let store: Arc<dyn store::Store> =
        Arc::new(store_sqlite::SqliteStore::open_temp().expect("temporary store"));
    outbox::schema::ensure(store.as_ref()).expect("the outbox table");
    let repo = Arc::new(Repository::new(store.clone(), RepositoryConfig::default()));
    let clock = Clock::manual(chrono::Utc::now().timestamp());
    let config = AuthConfig {
        clock: clock.clone(),
        ..AuthConfig::default()
    };
    let auth = Arc::new(Auth::new(repo.clone(), config).expect("auth tables"));
    let sim = Simulator::new(vec![on_pds()]);
    let addr = serve(Router::new().nest(SIM_PREFIX, simulator::router(sim.clone())));
    let pds = Arc::new(Switchable {
        up: HttpPds::new(format!("http://{addr}{SIM_PREFIX}"), || {
            Ok("test".to_string())
        }),
        gone: HttpPds::new(format!("http://127.0.0.1:1{SIM_PREFIX}"), || {
            Ok("test".to_string())
        }),
        down: AtomicBool::new(false),
    });
    let state = server::AppState::new(repo.clone(), auth.clone()).with_pds(pds.clone());
    let config = outbox::WorkerConfig {
        retry: outbox::RetryPolicy {
            base: std::time::Duration::from_millis(1),
            cap: std::time::Duration::from_millis(1),
            max_attempts: 2,
            ..outbox::RetryPolicy::default()
        },
        ..outbox::WorkerConfig::default()
    };
    let destination = clinical::patients::update::pds_push::PdsDestination::new(pds.clone());
    let worker = Arc::new(outbox::Worker::new(store, config).route("pds", Arc::new(destination)));
    Setup {
        worker,
        router: server::router(state),
        repo,
        auth,
        clock,
        sim,
        pds,
    }
}

impl Setup {
    async fn send(&self, req: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let (parts, body) = response.into_parts();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    /// Signs in as the demo account `demo.{short}` (with its authenticator code if it
    /// has one); returns the session cookie.
    async fn sign_in(&self, short: &str) -> String {
        let accounts = self.auth.ensure_demo_accounts(PRACTICE).unwrap();
        let account = accounts
            .iter()
            .find(|a| a.username == format!("demo.{short}"))
            .unwrap();
        let login = self.send(get_request("/login?next=%2F", None)).await;
        let body = encode(&[
            ("csrf", &csrf_of(&login.text())),
            ("username", &account.username),
            ("password", &account.password),
            ("next", "/"),
        ]);
        let first = session_cookie(&login);
        let after = self.send(form_request("/login", &body, Some(&first))).await;
        assert_eq!(after.status, StatusCode::SEE_OTHER, "{}", after.text());
        let cookie = session_cookie(&after);
        let Some(secret) = account.totp_secret.as_deref() else {
            return cookie;
        };
        let secret = auth::totp::base32_decode(secret).unwrap();
        let page = self.send(get_request("/login/totp", Some(&cookie))).await;
        self.clock.advance(std::time::Duration::from_secs(30));
        let code = auth::totp::code(&secret, self.clock.now_seconds());
        let body = encode(&[
            ("csrf", &csrf_of(&page.text())),
            ("code", &code),
            ("next", "/"),
        ]);
        let done = self
            .send(form_request("/login/totp", &body, Some(&cookie)))
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
        session_cookie(&done)
    }

    /// The practice (Organization, a GP) and the patient, verified with `status`.
    fn practice_and_patient(&self, status: &str, sensitive: bool) -> String {
        let system = RequestContext::system(PRACTICE);
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Organization", "id": PRACTICE,
                "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": PRACTICE}],
                "name": "Headingley Lane Surgery"},
             "request": {"method": "PUT", "url": format!("Organization/{PRACTICE}")}},
            {"resource": {"resourceType": "Practitioner", "id": GP_ID,
                "name": [{"family": "Lindqvist", "given": ["Sarah"], "prefix": ["Dr"]}]},
             "request": {"method": "PUT", "url": format!("Practitioner/{GP_ID}")}},
            {"resource": {"resourceType": "PractitionerRole", "id": "gp-role", "active": true,
                "practitioner": {"reference": format!("Practitioner/{GP_ID}")},
                "code": [{"coding": [{"system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-SDSJobRoleName", "code": "R0260"}]}]},
             "request": {"method": "PUT", "url": "PractitionerRole/gp-role"}},
        ]});
        self.repo
            .bundle(&system, bundle, "http://localhost/fhir")
            .unwrap();
        let mut patient = json!({"resourceType": "Patient",
            "identifier": [{
                "extension": [{"url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
                    "valueCodeableConcept": {"coding": [{
                        "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
                        "code": status}]}}],
                "system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS}],
            "name": [{"use": "official", "family": "Smith", "given": ["Jane"]}],
            "gender": "female", "birthDate": "1970-10-22",
            "telecom": [{"system": "phone", "value": "07700900111", "use": "mobile"}],
            "address": [{"use": "home", "line": ["1 High Street"], "city": "Leeds", "postalCode": "LS6 1AB"}],
            "generalPractitioner": [{"reference": format!("Practitioner/{GP_ID}")},
                {"reference": format!("Organization/{PRACTICE}")}]});
        if sensitive {
            patient["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]});
        }
        self.repo
            .create(&system, "Patient", patient, None)
            .unwrap()
            .resource
            .id
    }

    /// Runs the outbox worker once (after the backoff of any earlier failure).
    async fn deliver(&self) -> usize {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let worker = self.worker.clone();
        tokio::task::spawn_blocking(move || worker.run_once().unwrap())
            .await
            .unwrap()
    }

    async fn page(&self, cookie: &str, id: &str) -> String {
        let url = format!("/patients/{id}/details");
        self.send(get_request(&url, Some(cookie))).await.text()
    }

    fn stored(&self, id: &str) -> (Value, i64) {
        clinical::fetch::read(&self.repo, &RequestContext::system(PRACTICE), "Patient", id).unwrap()
    }

    fn pds_postcode(&self) -> String {
        let held = self.sim.patient(NHS).unwrap();
        held["address"][0]["postalCode"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Opens the details page, changes `changes` and saves.
    async fn save(&self, cookie: &str, id: &str, changes: &[(&str, &str)]) -> Reply {
        let url = format!("/patients/{id}/details");
        let page = self.send(get_request(&url, Some(cookie))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let html = page.text();
        let mut fields: Vec<(String, String)> = [
            "address_line1",
            "address_line2",
            "town",
            "postcode",
            "mobile",
            "home_phone",
            "email",
            "version",
        ]
        .iter()
        .map(|name| (name.to_string(), value_of(&html, name)))
        .collect();
        fields.push(("csrf".into(), csrf_of(&html)));
        fields.push(("usual_gp".into(), GP_ID.into()));
        fields.push(("action".into(), "save".into()));
        for (name, value) in changes {
            fields.retain(|(n, _)| n != name);
            fields.push((name.to_string(), value.to_string()));
        }
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.send(form_request(&url, &encode(&pairs), Some(cookie)))
            .await
    }
}

/// The value of the input named `name` on a page ("" if it has none).
fn value_of(html: &str, name: &str) -> String {
    let Some(at) = html.find(&format!("name=\"{name}\" value=\"")) else {
        return String::new();
    };
    let rest = &html[at + name.len() + 15..];
    rest.split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn a_receptionist_changes_the_address_and_pds_is_updated() {
    let s = setup();
    let id = s.practice_and_patient("01", false);
    let cookie = s.sign_in("receptionist").await;
    let page = s
        .send(get_request(
            &format!("/patients/{id}/details"),
            Some(&cookie),
        ))
        .await;
    let html = page.text();
    assert_eq!(page.status, StatusCode::OK);
    assert!(html.contains("SMITH, Jane"), "the banner says who this is");
    assert!(
        html.contains("they are not changed here"),
        "identity is PDS's"
    );
    assert_eq!(value_of(&html, "postcode"), "LS6 1AB");
    assert_eq!(value_of(&html, "mobile"), "07700900111");
    let record = s
        .send(get_request(&format!("/patients/{id}"), Some(&cookie)))
        .await;
    assert!(
        record
            .text()
            .contains(&format!("href=\"/patients/{id}/details\"")),
        "the record links to the details"
    );

    let reply = s
        .save(
            &cookie,
            &id,
            &[("address_line1", "7 Otley Road"), ("postcode", "ls6 2aa")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let html = reply.text();
    assert!(html.contains("Saved. Queued for PDS."), "{html}");
    assert!(html.contains("Queued for PDS since"), "{html}");
    assert!(
        html.contains(&format!("data-poll=\"/patients/{id}/details/pds\"")),
        "the page looks again while it is queued"
    );
    assert_eq!(value_of(&html, "postcode"), "LS6 2AA");
    let (patient, version) = s.stored(&id);
    assert_eq!(version, 2);
    assert_eq!(patient["address"][0]["line"], json!(["7 Otley Road"]));
    assert_eq!(
        s.pds_postcode(),
        "LS6 1AB",
        "not sent until the worker runs"
    );

    assert_eq!(s.deliver().await, 1);
    assert_eq!(s.pds_postcode(), "LS6 2AA", "PDS has the new address");
    let part = s
        .send(get_request(
            &format!("/patients/{id}/details/pds"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(part.status, StatusCode::OK);
    assert!(part.text().contains(": PDS updated."), "{}", part.text());
    assert!(
        !part.text().contains("data-poll"),
        "no more looking once sent"
    );
    assert!(s.page(&cookie, &id).await.contains("Sent to PDS on "));
    let held = s.sim.patient(NHS).unwrap();
    assert_eq!(held["address"][0]["id"], "A1", "PDS's address id is kept");
    assert_eq!(
        held["telecom"][0]["value"], "07700900111",
        "PDS's mobile is untouched"
    );
}

#[tokio::test]
async fn a_bad_postcode_is_explained_next_to_the_field_and_nothing_is_saved() {
    let s = setup();
    let id = s.practice_and_patient("01", false);
    let cookie = s.sign_in("receptionist").await;
    let reply = s
        .save(&cookie, &id, &[("postcode", "LS6"), ("mobile", "0770")])
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = reply.text();
    assert!(html.contains(
        "<span class=\"field-error\" id=\"postcode-error\">Enter a real postcode, like LS6 1AB</span>"
    ));
    assert!(html.contains("id=\"mobile-error\">Enter a UK phone number"));
    assert!(
        html.contains("aria-describedby=\"postcode-hint postcode-error\" aria-invalid=\"true\"")
    );
    // The summary at the top links to each field.
    assert!(html.contains("There is a problem"));
    assert!(html.contains("<a href=\"#postcode\">Enter a real postcode, like LS6 1AB</a>"));
    assert_eq!(
        value_of(&html, "postcode"),
        "LS6",
        "what was typed is shown again"
    );
    assert_eq!(s.stored(&id).1, 1, "nothing was saved");
    assert_eq!(s.pds_postcode(), "LS6 1AB", "PDS was not touched");
}

#[tokio::test]
async fn a_stale_form_says_someone_else_changed_the_record_and_shows_the_current_one() {
    let s = setup();
    let id = s.practice_and_patient("01", false);
    let cookie = s.sign_in("receptionist").await;
    // Someone else saves first.
    s.save(&cookie, &id, &[("mobile", "07700900222")]).await;
    let reply = s
        .save(&cookie, &id, &[("postcode", "LS6 2AA"), ("version", "1")])
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let html = reply.text();
    assert!(html.contains("Someone else changed this record"), "{html}");
    assert_eq!(
        value_of(&html, "mobile"),
        "07700900222",
        "the current version is shown"
    );
    assert_eq!(value_of(&html, "version"), "2");
    assert_eq!(s.stored(&id).0["address"][0]["postalCode"], "LS6 1AB");
}

#[tokio::test]
async fn when_pds_cannot_be_reached_the_update_waits_and_once_given_up_can_be_tried_again() {
    let s = setup();
    let id = s.practice_and_patient("01", false);
    let cookie = s.sign_in("receptionist").await;
    s.pds.down.store(true, Ordering::SeqCst);
    let reply = s.save(&cookie, &id, &[("postcode", "LS6 2AA")]).await;
    assert!(
        reply.text().contains("Saved. Queued for PDS."),
        "{}",
        reply.text()
    );
    assert_eq!(s.stored(&id).0["address"][0]["postalCode"], "LS6 2AA");

    s.deliver().await;
    let html = s.page(&cookie, &id).await;
    assert!(
        html.contains("not sent yet (1 tries; the last: PDS is unavailable: could not connect to PDS). OpenGP keeps trying."),
        "{html}"
    );
    s.deliver().await; // the second and last attempt allowed here
    let html = s.page(&cookie, &id).await;
    assert!(
        html.contains("The PDS update failed on ")
            && html.contains(": gave up after 2 attempts; last failure: PDS is unavailable: could not connect to PDS."),
        "{html}"
    );
    assert!(html.contains(">Try again</button>"));

    s.pds.down.store(false, Ordering::SeqCst);
    let body = encode(&[
        ("csrf", &csrf_of(&html)),
        ("message", &value_of(&html, "message")),
        ("action", "pds_retry"),
    ]);
    let retried = s
        .send(form_request(
            &format!("/patients/{id}/details"),
            &body,
            Some(&cookie),
        ))
        .await;
    assert_eq!(retried.status, StatusCode::OK);
    assert!(
        retried.text().contains("The PDS update is queued again."),
        "{}",
        retried.text()
    );
    assert_eq!(s.deliver().await, 1);
    assert_eq!(s.pds_postcode(), "LS6 2AA");
    assert!(s.page(&cookie, &id).await.contains(": PDS updated."));
    assert_eq!(
        s.stored(&id).1,
        2,
        "the retry did not save the practice record again"
    );
}

#[tokio::test]
async fn an_unverified_patient_is_saved_but_pds_is_not_told() {
    let s = setup();
    let id = s.practice_and_patient("02", false);
    let cookie = s.sign_in("receptionist").await;
    let reply = s.save(&cookie, &id, &[("postcode", "LS6 2AA")]).await;
    let html = reply.text();
    assert!(
        html.contains(
            "Saved in the practice record. PDS was not updated: The NHS number is not verified"
        ),
        "{html}"
    );
    assert!(!html.contains(">Try again</button>"));
    assert!(!html.contains("Queued for PDS"));
    assert_eq!(s.stored(&id).1, 2);
    assert_eq!(s.deliver().await, 0, "nothing was queued");
    assert_eq!(s.pds_postcode(), "LS6 1AB");
}

#[tokio::test]
async fn a_sensitive_patients_page_has_no_address_and_says_why() {
    let s = setup();
    let id = s.practice_and_patient("01", true);
    let cookie = s.sign_in("gp").await;
    let page = s
        .send(get_request(
            &format!("/patients/{id}/details"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("This is a sensitive record"));
    for hidden in [
        "name=\"postcode\"",
        "name=\"mobile\"",
        "LS6 1AB",
        "High Street",
        "07700900111",
    ] {
        assert!(!html.contains(hidden), "{hidden} is on the page");
    }
    let reply = s
        .save(
            &cookie,
            &id,
            &[("postcode", "LS6 2AA"), ("address_line1", "7 Otley Road")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        s.stored(&id).0["address"][0]["postalCode"],
        "LS6 1AB",
        "not written"
    );
    assert_eq!(s.pds_postcode(), "LS6 1AB", "not sent");
}

#[tokio::test]
async fn roles_that_may_not_amend_and_forms_from_elsewhere_are_refused() {
    let s = setup();
    let id = s.practice_and_patient("01", false);
    let url = format!("/patients/{id}/details");
    let officer = s.sign_in("privacy-officer").await;
    let page = s.send(get_request(&url, Some(&officer))).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text().contains("You cannot change patients"));
    // The record offers the page only to those who may use it.
    let link = format!("href=\"{url}\"");
    let record = s
        .send(get_request(&format!("/patients/{id}"), Some(&officer)))
        .await;
    assert_eq!(record.status, StatusCode::OK);
    assert!(!record.text().contains(&link));

    let cookie = s.sign_in("receptionist").await;
    let record = s
        .send(get_request(&format!("/patients/{id}"), Some(&cookie)))
        .await;
    assert!(record.text().contains(&link), "{}", record.text());
    let body = encode(&[
        ("csrf", "forged"),
        ("postcode", "LS6 2AA"),
        ("version", "1"),
    ]);
    let forged = s.send(form_request(&url, &body, Some(&cookie))).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(s.stored(&id).1, 1);
}
