//! The patient record pages through HTTP, as a signed-in member of staff sees them:
//! the record (banner, summary, journal), alerts, problems and break-glass.

mod common;

use auth::NewUser;
use axum::http::StatusCode;
use common::*;
use serde_json::json;
use store::{RequestContext, Role};

const PASSWORD: &str = "a long test password";

/// A signed-in browser: its session cookie and the session's CSRF token.
struct Browser {
    api: Api,
    cookie: String,
    csrf: String,
}

impl Browser {
    async fn get(&self, uri: &str) -> Reply {
        self.api.send(get_request(uri, Some(&self.cookie))).await
    }

    async fn post(&self, uri: &str, pairs: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(pairs);
        self.api
            .send(form_request(uri, &encode(&all), Some(&self.cookie)))
            .await
    }
}

/// Adds a user with `role` and signs them in through the sign-in pages; the session's
/// CSRF token is read from `page` (any workspace page: its sign-out form has it).
async fn sign_in(api: &Api, username: &str, role: Role, page: &str) -> Browser {
    let added = api
        .auth
        .add_user(
            &RequestContext::system(PRACTICE),
            NewUser {
                username: username.into(),
                display_name: format!("Test {username}"),
                role,
                password: PASSWORD.into(),
                practitioner: None,
            },
        )
        .unwrap();
    let anon = api.anonymous();
    let secret = added.totp.map(|t| t.secret_base32);
    let cookie = sign_in_with(api, username, PASSWORD, secret.as_deref()).await;
    // The CSRF token of the signed-in session, from a page with a form.
    let home = anon.send(get_request(page, Some(&cookie))).await;
    let csrf = csrf_of(&home.text());
    Browser {
        api: anon,
        cookie,
        csrf,
    }
}

/// Loads the sample record (`years` of consultations); returns the patient's id.
fn load_record(api: &Api, years: i64) -> String {
    let bundle = clinical::record::sample::long_record("9434765919", years);
    let response = api
        .repo
        .bundle(&RequestContext::system(PRACTICE), bundle, BASE)
        .unwrap();
    response["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| {
            e["response"]["location"]
                .as_str()
                .filter(|l| l.starts_with("Patient/"))
        })
        .map(|l| l.split('/').nth(1).unwrap().to_string())
        .unwrap()
}

#[tokio::test]
async fn the_record_page_needs_a_signed_in_user() {
    let api = Api::new();
    let id = load_record(&api, 1);
    let reply = api
        .anonymous()
        .send(get_request(&format!("/patients/{id}"), None))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        reply
            .header("location")
            .unwrap()
            .starts_with("/login?next=")
    );
}

#[tokio::test]
async fn a_gp_sees_the_banner_summary_and_journal() {
    let api = Api::new();
    let id = load_record(&api, 2);
    let gp = sign_in(
        &api,
        "dr.record",
        Role::ClinicalPractitioner,
        &format!("/patients/{id}"),
    )
    .await;
    let page = gp.get(&format!("/patients/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    for expected in [
        "LONGHISTORY, Margaret Ann (Mrs)",
        "943 476 5919",
        "15-Jun-1950",
        "Allergy to penicillin",
        "Hard of hearing",
        "Current medication",
        "Amlodipine 5mg tablets",
        "Latest observations",
        "Consultations",
        "Dr Asha Patel",
        "Older consultations",
    ] {
        assert!(html.contains(expected), "missing {expected}");
    }
    // Filtered to telephone consultations, only those are listed.
    let phoned = gp
        .get(&format!("/patients/{id}?type=185317003"))
        .await
        .text();
    assert!(
        phoned.contains("Telephone encounter")
            && !phoned.contains("consultation__kind\">Consultation</span>")
    );
}

#[tokio::test]
async fn a_receptionist_sees_the_banner_but_no_clinical_sections() {
    let api = Api::new();
    let id = load_record(&api, 1);
    let desk = sign_in(
        &api,
        "reception.record",
        Role::Receptionist,
        &format!("/patients/{id}"),
    )
    .await;
    let page = desk.get(&format!("/patients/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("943 476 5919"));
    for hidden in [
        "Current medication",
        "Latest observations",
        "Amlodipine",
        "Dr Asha Patel",
    ] {
        assert!(!html.contains(hidden), "a receptionist saw {hidden}");
    }
}

#[tokio::test]
async fn alerts_are_added_with_checks_and_ended() {
    let api = Api::new();
    let id = load_record(&api, 1);
    let gp = sign_in(
        &api,
        "dr.alerts",
        Role::ClinicalPractitioner,
        &format!("/patients/{id}"),
    )
    .await;
    let url = format!("/patients/{id}/alerts");
    let refused = gp
        .api
        .send(form_request(
            &url,
            "category=safety&text=x",
            Some(&gp.cookie),
        ))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "no CSRF token, no change"
    );

    let bad = gp
        .post(
            &url,
            &[("category", "safety"), ("text", ""), ("ends", "2001-01-01")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let html = bad.text();
    assert!(html.contains("Enter the alert") && html.contains("cannot be in the past"));
    assert!(html.contains("aria-invalid=\"true\"") && html.contains("error-summary"));

    // An end date that is not a date is reported at its input, with the rest.
    let unreadable = gp
        .post(
            &url,
            &[
                ("category", "gossip"),
                ("text", "x"),
                ("ends", "2026-02-30"),
            ],
        )
        .await;
    assert_eq!(unreadable.status, StatusCode::BAD_REQUEST);
    let html = unreadable.text();
    assert!(html.contains(
        "id=\"alert-ends-error\">The end date must be a real date, like 2026-03-12</span>"
    ));
    assert!(html.contains("id=\"alert-category-error\">Choose what kind of alert this is"));
    assert!(
        html.contains("value=\"2026-02-30\""),
        "what was typed is shown again"
    );

    let added = gp
        .post(
            &url,
            &[
                ("category", "safety"),
                ("text", "Two staff for home visits"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    let page = gp.get(&format!("/patients/{id}")).await.text();
    assert!(page.contains("Two staff for home visits"));
    let end_at = page.find("/end\"").expect("an end form");
    let action_start = page[..end_at].rfind("/patients/").unwrap();
    let action = format!("{}/end", &page[action_start..end_at]);
    let version_at = page[end_at..].find("name=\"version\" value=\"").unwrap() + end_at + 22;
    let version = page[version_at..].split('"').next().unwrap().to_string();
    let ended = gp.post(&action, &[("version", &version)]).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.text());
    // Ending it again with the old version is a conflict, said plainly.
    let stale = gp.post(&action, &[("version", &version)]).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn problems_are_listed_and_a_problem_needs_a_known_code() {
    let api = Api::new();
    let id = load_record(&api, 1);
    let gp = sign_in(
        &api,
        "dr.problems",
        Role::ClinicalPractitioner,
        &format!("/patients/{id}"),
    )
    .await;
    let url = format!("/patients/{id}/problems");
    let page = gp.get(&url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(
        page.text().contains("Hypertensive disorder") && page.text().contains("Active problems")
    );
    let missing = gp.post(&url, &[("problem", "asthma"), ("code", "")]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.text().contains("Choose the problem from the list"));
    let unknown = gp
        .post(&url, &[("problem", "asthma"), ("code", "999999999")])
        .await;
    assert!(unknown.text().contains("not a SNOMED CT concept"));
    let known = api_concept(&api);
    let added = gp
        .post(
            &url,
            &[
                ("problem", "x"),
                ("code", &known.0),
                ("significance", "major"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    assert!(gp.get(&url).await.text().contains(&known.1));
}

/// A concept of the starter terminology (code, preferred term).
fn api_concept(_api: &Api) -> (String, String) {
    let t = terminology::Terminology::starter();
    let m = t
        .search("asthma", &[], 1)
        .into_iter()
        .next()
        .expect("the starter set knows asthma");
    (m.id, m.preferred)
}

#[tokio::test]
async fn a_restricted_record_opens_only_with_a_reason_and_says_so() {
    let api = Api::new();
    let id = api
        .create(&json!({
            "resourceType": "Patient",
            "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "V"}]},
            "name": [{"family": "Sealed", "given": ["Sam"]}],
            "birthDate": "1980-01-01"
        }))
        .await;
    let gp = sign_in(
        &api,
        "dr.glass",
        Role::ClinicalPractitioner,
        &format!("/patients/{id}"),
    )
    .await;
    let closed = gp.get(&format!("/patients/{id}")).await;
    assert_eq!(closed.status, StatusCode::FORBIDDEN);
    assert!(closed.text().contains("Reason for opening this record"));
    assert!(!closed.text().contains("SEALED"));
    let short = gp.get(&format!("/patients/{id}?break_glass=no")).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    // The form sent with no reason at all says what is missing, next to the field.
    let empty = gp.get(&format!("/patients/{id}?break_glass=")).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(
        empty
            .text()
            .contains("id=\"break_glass-error\">Cannot open the record: give a reason")
    );
    assert!(!empty.text().contains("SEALED"));
    let opened = gp
        .get(&format!(
            "/patients/{id}?break_glass=unconscious+in+surgery"
        ))
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text());
    let html = opened.text();
    assert!(html.contains("SEALED, Sam") && html.contains("Opened with break-glass: audited"));
    assert!(
        html.contains("break_glass=unconscious%2Bin%2Bsurgery")
            || html.contains("break_glass=unconscious+in+surgery")
    );
}

/// A 20-year record opens on its newest consultations with a link to older ones (its
/// speed is measured by `opengp bench-workspace`, not here).
#[tokio::test]
async fn a_long_record_opens_on_its_newest_consultations() {
    let api = Api::new();
    let id = load_record(&api, 20);
    let gp = sign_in(
        &api,
        "dr.timing",
        Role::ClinicalPractitioner,
        &format!("/patients/{id}"),
    )
    .await;
    let reply = gp.get(&format!("/patients/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text().contains("Older consultations"));
}

/// Adds to the record a minor problem that is over, and one consultation about it
/// (years ago, so not on the journal's first page); returns the problem's id.
fn minor_past_problem_with_a_consultation(api: &Api, patient: &str) -> String {
    use clinical::conventions::{
        CATEGORY_LIST, CONSULTATION_LIST, HEADINGS, PROBLEM_SIGNIFICANCE_EXT,
        RELATED_PROBLEM_HEADER_EXT, TOPIC_LIST,
    };
    let urn = |n: u32| format!("urn:uuid:00000000-0000-4000-8000-{n:012}");
    let sct = |code: &str, display: &str| json!({"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]});
    let subject = json!({"reference": format!("Patient/{patient}")});
    let when = "2016-02-01T10:00:00Z";
    let list = |code: (&str, &str), title: &str, item: String| {
        json!({"resourceType": "List", "status": "current", "mode": "snapshot", "title": title,
               "code": sct(code.0, code.1), "subject": subject, "date": when,
               "entry": [{"item": {"reference": item}}]})
    };
    let mut topic = list(TOPIC_LIST, "Ankle", urn(4));
    topic["extension"] = json!([{"url": RELATED_PROBLEM_HEADER_EXT, "extension": [
        {"url": "target", "valueReference": {"reference": urn(1)}}]}]);
    let mut consultation = list(CONSULTATION_LIST, "Consultation", urn(5));
    consultation["encounter"] = json!({"reference": urn(2)});
    let entries = [
        json!({"resourceType": "Condition",
            "extension": [{"url": PROBLEM_SIGNIFICANCE_EXT, "valueCode": "minor"}],
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
            "code": sct("44465007", "Sprain of ankle"), "subject": subject, "onsetDateTime": "2016-01-30"}),
        json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "type": [sct("11429006", "Consultation")], "subject": subject,
            "period": {"start": when, "end": when}}),
        json!({"resourceType": "Observation", "status": "final",
            "code": sct(HEADINGS[0].2, HEADINGS[0].1), "subject": subject,
            "encounter": {"reference": urn(2)}, "effectiveDateTime": when,
            "valueString": "Went over on it running"}),
        list(CATEGORY_LIST, "History", urn(3)),
        topic,
        consultation,
    ];
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries
        .iter()
        .zip(1..)
        .map(|(r, n)| json!({"fullUrl": urn(n), "resource": r,
            "request": {"method": "POST", "url": r["resourceType"]}}))
        .collect::<Vec<_>>()});
    let response = api
        .repo
        .bundle(&RequestContext::system(PRACTICE), bundle, BASE)
        .unwrap();
    response["entry"][0]["response"]["location"]
        .as_str()
        .and_then(|l| l.split('/').nth(1))
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_minor_past_problem_is_offered_in_the_journal_filter() {
    let api = Api::new();
    let id = load_record(&api, 3);
    let ankle = minor_past_problem_with_a_consultation(&api, &id);
    let gp = sign_in(
        &api,
        "dr.filter",
        Role::ClinicalPractitioner,
        &format!("/patients/{id}"),
    )
    .await;
    let page = gp.get(&format!("/patients/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    let filter = &html[html.find("id=\"filter-problem\"").unwrap()..];
    let filter = &filter[..filter.find("</select>").unwrap()];
    let active = filter.find("<optgroup label=\"Active problems\">").unwrap();
    let past = filter.find("<optgroup label=\"Past problems\">").unwrap();
    let option = filter
        .find(&format!(
            "<option value=\"{ankle}\">Sprain of ankle</option>"
        ))
        .expect("the minor past problem is offered");
    assert!(active < past && past < option, "{filter}");
    // Its consultation is too old for the first page, but the filter finds it.
    assert!(!html.contains("Went over on it running"));

    let filtered = gp.get(&format!("/patients/{id}?problem={ankle}")).await;
    assert_eq!(filtered.status, StatusCode::OK);
    let html = filtered.text();
    assert!(html.contains("Went over on it running"));
    assert!(html.contains("<h4>Sprain of ankle</h4>"));
    assert!(html.contains(&format!(
        "<option value=\"{ankle}\" selected>Sprain of ankle</option>"
    )));
    assert_eq!(html.matches("class=\"consultation\"").count(), 1);
}
