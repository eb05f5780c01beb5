//! The patient record: banner, summary and journal, alerts and problems, over a real
//! (SQLite) store, as a GP sees them.

use clinical::alerts::{self, NewAlert};
use clinical::problems::{self, ChangeError, ChangeField, NewProblem};
use clinical::record::{self, JournalQuery, sample};
use serde_json::{Value, json};
use std::sync::Arc;

fn day(text: &str) -> Option<chrono::NaiveDate> {
    Some(chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap())
}
use store::access::{Access, Role, StaffMember};
use store::{Actor, Purpose, Repository, RepositoryConfig, RequestContext};

const PRACTICE: &str = "A81001";

fn sqlite() -> Repository {
    let store = store_sqlite::SqliteStore::open_temp().expect("temporary store");
    Repository::new(Arc::new(store), RepositoryConfig::default())
}

/// A scratch PostgreSQL schema, or `None` (the test skips) without OPENGP_TEST_POSTGRES.
fn postgres() -> Option<Repository> {
    let Ok(url) = std::env::var("OPENGP_TEST_POSTGRES") else {
        eprintln!("skipped: OPENGP_TEST_POSTGRES is not set");
        return None;
    };
    let store = store_postgres::ScratchStore::create(&url).expect("scratch PostgreSQL schema");
    Some(Repository::new(
        Arc::new(store),
        RepositoryConfig::default(),
    ))
}

/// Each listed test on SQLite (`sqlite::name`) and PostgreSQL (`postgres::name`).
macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::sqlite()); } )*
        }
        mod postgres {
            $( #[test] fn $name() { if let Some(repo) = super::postgres() { super::$name(repo); } } )*
        }
    };
}

backends!(
    the_banner_shows_who_this_is_at_a_glance,
    allergies_are_not_known_only_when_recorded_so,
    babies_are_aged_in_weeks_and_months_and_the_dead_at_death,
    a_sensitive_record_is_marked_and_a_sealed_one_needs_break_glass,
    the_summary_shows_current_problems_and_medication_and_observation_trends,
    a_receptionist_gets_the_banner_but_no_clinical_sections,
    the_journal_pages_newest_first_and_filters_by_type_and_problem,
    alerts_are_added_checked_and_ended,
    problems_change_status_and_significance_and_gather_episodes_and_entries,
    a_long_record_page_shows_one_journal_page,
    the_journal_offers_every_problem_a_consultation_was_about,
);

fn system() -> RequestContext {
    RequestContext::system(PRACTICE)
}

fn staff(role: Role) -> RequestContext {
    RequestContext::new(PRACTICE, Actor::User("u1".into()), Purpose::DirectCare).with_access(
        Access::staff(StaffMember {
            user_id: "u1".into(),
            role,
            practitioner: None,
        }),
    )
}

fn gp() -> RequestContext {
    staff(Role::ClinicalPractitioner)
}

fn create(repo: &Repository, resource: Value) -> String {
    let rtype = resource["resourceType"].as_str().unwrap().to_string();
    repo.create(&system(), &rtype, resource, None)
        .expect("created")
        .resource
        .id
}

fn patient(repo: &Repository, extra: Value) -> String {
    let mut p = json!({
        "resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
        "name": [{"use": "official", "family": "Smith", "given": ["John", "Paul"], "prefix": ["Mr"]}],
        "gender": "male",
        "birthDate": "1970-03-12"
    });
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    create(repo, p)
}

fn subject(id: &str) -> Value {
    json!({"reference": format!("Patient/{id}")})
}

fn sct(code: &str, display: &str) -> Value {
    json!({"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]})
}

fn allergy(repo: &Repository, patient: &str, code: &str, display: &str) {
    create(
        repo,
        json!({"resourceType": "AllergyIntolerance", "code": sct(code, display), "patient": subject(patient),
               "reaction": [{"manifestation": [sct("64305001", "Urticaria")], "severity": "moderate"}]}),
    );
}

fn load_long_record(repo: &Repository, nhs: &str, years: i64) -> String {
    let Value::Array(entries) = sample::long_record(nhs, years)["entry"].take() else {
        panic!("the sample record has entries")
    };
    let written = repo
        .transaction(&system(), entries)
        .expect("the sample record loads");
    // Fresh planner statistics, as after any bulk load (PostgreSQL otherwise plans for
    // empty tables until autovacuum runs, and a page takes seconds).
    let mut tx = repo.store().begin(&system(), store::TxMode::Write).unwrap();
    tx.execute("ANALYZE", &[]).unwrap();
    tx.commit().unwrap();
    written
        .into_iter()
        .flatten()
        .find(|w| w.rtype == "Patient")
        .map(|w| w.id)
        .expect("the patient's id")
}

fn the_banner_shows_who_this_is_at_a_glance(repo: Repository) {
    let id = patient(&repo, json!({}));
    create(
        &repo,
        json!({"resourceType": "Flag", "status": "active", "code": {"text": "Violent: see a colleague"},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "safety", "display": "Safety"}]}],
        "subject": subject(&id)}),
    );
    create(
        &repo,
        json!({"resourceType": "Flag", "status": "inactive", "code": {"text": "Old alert"}, "subject": subject(&id)}),
    );
    allergy(&repo, &id, "91936005", "Allergy to penicillin");

    let b = record::banner(&repo, &gp(), &id).unwrap();
    assert_eq!(b.name, "SMITH, John Paul (Mr)");
    assert_eq!(b.born, "12-Mar-1970");
    assert!(b.age.ends_with(" years"), "{}", b.age);
    assert_eq!(b.nhs_number.as_deref(), Some("943 476 5919"));
    assert_eq!(b.gender, "Male");
    assert_eq!(b.deceased, None);
    assert_eq!(b.alerts.len(), 1);
    assert_eq!(
        (b.alerts[0].category.as_str(), b.alerts[0].text.as_str()),
        ("Safety", "Violent: see a colleague")
    );
    assert_eq!(b.allergies, vec!["Allergy to penicillin"]);
    assert!(!b.sensitive && !b.break_glass);
}

fn allergies_are_not_known_only_when_recorded_so(repo: Repository) {
    let none_recorded = patient(&repo, json!({}));
    let nka = patient(&repo, json!({}));
    allergy(&repo, &nka, "716186003", "No known allergy");
    let ctx = gp();
    let b = record::banner(&repo, &ctx, &none_recorded).unwrap();
    assert_eq!(
        (b.allergies.len(), b.allergy_note.as_str()),
        (0, "Allergies not recorded")
    );
    let b = record::banner(&repo, &ctx, &nka).unwrap();
    assert_eq!(
        (b.allergies.len(), b.allergy_note.as_str()),
        (0, "No known allergies")
    );
}

fn babies_are_aged_in_weeks_and_months_and_the_dead_at_death(repo: Repository) {
    let today = chrono::Utc::now().date_naive();
    let baby = patient(
        &repo,
        json!({"birthDate": (today - chrono::Duration::days(21)).to_string()}),
    );
    let toddler = patient(
        &repo,
        json!({"birthDate": (today - chrono::Duration::days(400)).to_string()}),
    );
    let died = patient(
        &repo,
        json!({"birthDate": "1930-01-01", "deceasedDateTime": "2000-06-30"}),
    );
    let ctx = gp();
    // Under 4 weeks a baby's age is in days (fhir::uk::Age).
    assert_eq!(record::banner(&repo, &ctx, &baby).unwrap().age, "21 days");
    assert_eq!(
        record::banner(&repo, &ctx, &toddler).unwrap().age,
        "13 months"
    );
    let b = record::banner(&repo, &ctx, &died).unwrap();
    assert_eq!(
        (b.deceased.as_deref(), b.age.as_str()),
        (Some("30-Jun-2000"), "70 years")
    );
}

fn a_sensitive_record_is_marked_and_a_sealed_one_needs_break_glass(repo: Repository) {
    let label = |code: &str| json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": code}]});
    let sensitive = patient(&repo, json!({"meta": label("R")}));
    let sealed = patient(&repo, json!({"meta": label("V")}));
    assert!(record::banner(&repo, &gp(), &sensitive).unwrap().sensitive);
    let refused = record::banner(&repo, &gp(), &sealed).unwrap_err();
    assert_eq!(refused.status(), 403, "{refused}");
    let mut glass = gp();
    glass.access = glass
        .access
        .with_break_glass("patient collapsed in surgery")
        .unwrap();
    let b = record::banner(&repo, &glass, &sealed).unwrap();
    assert!(b.sensitive && b.break_glass);
    // Someone who may not see it at all is told it is not there.
    assert_eq!(
        record::banner(&repo, &staff(Role::Receptionist), &sealed)
            .unwrap_err()
            .status(),
        404
    );
}

fn condition(patient: &str, code: &str, display: &str, status: &str, major: bool) -> Value {
    json!({"resourceType": "Condition",
        "extension": [{"url": clinical::conventions::PROBLEM_SIGNIFICANCE_EXT, "valueCode": if major { "major" } else { "minor" }}],
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
        "code": sct(code, display), "subject": subject(patient), "onsetDateTime": "2015-04-01"})
}

fn the_summary_shows_current_problems_and_medication_and_observation_trends(repo: Repository) {
    let id = patient(&repo, json!({}));
    create(
        &repo,
        condition(&id, "38341003", "Hypertension", "active", true),
    );
    create(
        &repo,
        condition(&id, "195967001", "Asthma", "resolved", true),
    );
    create(
        &repo,
        condition(
            &id,
            "54150009",
            "Upper respiratory infection",
            "resolved",
            false,
        ),
    );
    for (status, drug, day) in [
        ("active", "Amlodipine 5mg tablets", "2024-01-01"),
        ("active", "Ramipril 5mg capsules", "2024-06-01"),
        ("stopped", "Atenolol 50mg tablets", "2020-01-01"),
    ] {
        create(
            &repo,
            json!({"resourceType": "MedicationRequest", "status": status, "intent": "order",
            "medicationCodeableConcept": sct("1", drug), "subject": subject(&id), "authoredOn": day,
            "dosageInstruction": [{"text": "One daily"}]}),
        );
    }
    for (kg, day) in [
        (80.0, "2022-01-01"),
        (84.5, "2023-01-01"),
        (82.0, "2024-01-01"),
    ] {
        create(
            &repo,
            json!({"resourceType": "Observation", "status": "final", "code": sct("27113001", "Body weight"),
            "subject": subject(&id), "effectiveDateTime": day, "valueQuantity": {"value": kg, "unit": "kg"}}),
        );
    }
    let s = record::summary(&repo, &gp(), &id).unwrap();
    let terms = |ps: &Option<Vec<problems::Problem>>| {
        ps.as_ref()
            .unwrap()
            .iter()
            .map(|p| p.term.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(terms(&s.active_problems), vec!["Hypertension"]);
    assert_eq!(
        terms(&s.past_problems),
        vec!["Asthma"],
        "minor past problems are not significant"
    );
    let meds: Vec<&str> = s
        .medication
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.drug.as_str())
        .collect();
    assert_eq!(
        meds,
        vec!["Ramipril 5mg capsules", "Amlodipine 5mg tablets"]
    );
    let weight = s
        .observations
        .as_ref()
        .unwrap()
        .iter()
        .find(|t| t.label == "Weight")
        .unwrap();
    assert_eq!(
        (weight.latest.value.as_str(), weight.latest.date.as_str()),
        ("82.0 kg", "01-Jan-2024")
    );
    assert_eq!(
        (weight.arrow.as_str(), weight.change.as_str()),
        ("▼", "down from 84.5 kg")
    );
    assert_eq!(weight.previous.len(), 2);
    assert_eq!(s.appointments.as_ref().unwrap().len(), 0);
}

fn a_receptionist_gets_the_banner_but_no_clinical_sections(repo: Repository) {
    let id = load_long_record(&repo, "9434765919", 1);
    let page = record::record_page(
        &repo,
        &staff(Role::Receptionist),
        &id,
        &JournalQuery::default(),
    )
    .unwrap();
    assert_eq!(page.banner.name, "LONGHISTORY, Margaret Ann (Mrs)");
    assert!(page.journal.is_none());
    assert!(page.summary.active_problems.is_none() && page.summary.observations.is_none());
}

fn the_journal_pages_newest_first_and_filters_by_type_and_problem(repo: Repository) {
    let id = load_long_record(&repo, "9434765919", 3);
    let ctx = gp();
    let page = record::record_page(&repo, &ctx, &id, &JournalQuery::default()).unwrap();
    let journal = page.journal.unwrap();
    assert_eq!(journal.consultations.len(), record::journal::PAGE_SIZE);
    let first = &journal.consultations[0];
    assert_eq!(first.clinician, "Dr Asha Patel");
    let topic = &first.topics[0];
    assert!(
        topic.title.contains("Hypertensive") || topic.title.contains("Diabetes"),
        "{}",
        topic.title
    );
    let headings: Vec<&str> = topic.headings.iter().map(|h| h.title.as_str()).collect();
    assert_eq!(headings, vec!["History", "Examination", "Plan"]);
    let exam = &topic.headings[1].entries;
    assert!(
        exam.iter()
            .any(|e| e.term == "Blood pressure" && e.value.ends_with(" mmHg")),
        "{exam:?}"
    );
    assert!(
        topic.headings[0]
            .entries
            .iter()
            .any(|e| e.term.is_empty() && e.text.starts_with("Review"))
    );
    // Newest first, and the older page carries on where this one stopped.
    let dates: Vec<&str> = journal
        .consultations
        .iter()
        .map(|c| c.date.as_str())
        .collect();
    let older = journal.older.clone().expect("an older page");
    let next = record::record_page(
        &repo,
        &ctx,
        &id,
        &JournalQuery {
            before: Some(older),
            ..Default::default()
        },
    )
    .unwrap();
    let next = next.journal.unwrap();
    assert!(!next.consultations.is_empty());
    assert!(
        !next
            .consultations
            .iter()
            .any(|c| journal.consultations.iter().any(|d| d.id == c.id))
    );
    assert!(
        dates.windows(2).all(|w| parse(w[0]) >= parse(w[1])),
        "{dates:?}"
    );

    let phone = JournalQuery {
        type_code: Some("185317003".into()),
        ..Default::default()
    };
    let phoned = record::record_page(&repo, &ctx, &id, &phone)
        .unwrap()
        .journal
        .unwrap();
    assert!(!phoned.consultations.is_empty());
    assert!(
        phoned
            .consultations
            .iter()
            .all(|c| c.kind == "Telephone encounter")
    );

    let diabetes = page
        .summary
        .active_problems
        .unwrap()
        .into_iter()
        .find(|p| p.term.contains("Diabetes"))
        .unwrap();
    let about = JournalQuery {
        problem: Some(diabetes.id.clone()),
        ..Default::default()
    };
    let filtered = record::record_page(&repo, &ctx, &id, &about)
        .unwrap()
        .journal
        .unwrap();
    assert!(!filtered.consultations.is_empty());
    assert!(
        filtered
            .consultations
            .iter()
            .all(|c| c.topics[0].problem_id.as_deref() == Some(diabetes.id.as_str()))
    );
}

fn parse(uk: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(uk, "%d-%b-%Y %H:%M").unwrap()
}

fn alerts_are_added_checked_and_ended(repo: Repository) {
    let id = patient(&repo, json!({}));
    let ctx = gp();
    let bad = alerts::add_alert(
        &repo,
        &ctx,
        &id,
        &NewAlert {
            category: "gossip".into(),
            text: " ".into(),
            ends: day("2020-02-28"),
        },
        None,
    );
    let Err(ChangeError::Invalid(errors)) = bad else {
        panic!("{bad:?}")
    };
    assert!(
        errors.get(&ChangeField::AlertCategory).is_some()
            && errors.get(&ChangeField::AlertText).is_some()
            && errors.get(&ChangeField::AlertEnds).is_some()
    );
    assert!(
        record::banner(&repo, &ctx, &id).unwrap().alerts.is_empty(),
        "nothing was written"
    );

    let flag = alerts::add_alert(
        &repo,
        &ctx,
        &id,
        &NewAlert {
            category: "safety".into(),
            text: "Lone visits not advised".into(),
            ends: None,
        },
        None,
    )
    .unwrap();
    let shown = record::banner(&repo, &ctx, &id).unwrap().alerts;
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].text, "Lone visits not advised");
    assert!(matches!(
        alerts::end_alert(&repo, &ctx, &id, &flag, shown[0].version + 1),
        Err(ChangeError::Conflict)
    ));
    alerts::end_alert(&repo, &ctx, &id, &flag, shown[0].version).unwrap();
    assert!(record::banner(&repo, &ctx, &id).unwrap().alerts.is_empty());
}

fn problems_change_status_and_significance_and_gather_episodes_and_entries(repo: Repository) {
    let id = patient(&repo, json!({}));
    let ctx = gp();
    let unknown = problems::add_problem(
        &repo,
        &ctx,
        &id,
        &NewProblem {
            code: "123".into(),
            term: String::new(),
            onset: None,
            major: false,
        },
        None,
    );
    let Err(ChangeError::Invalid(errors)) = unknown else {
        panic!("{unknown:?}")
    };
    assert!(
        errors
            .get(&ChangeField::Code)
            .unwrap()
            .contains("not a SNOMED CT concept")
    );
    let future = problems::add_problem(
        &repo,
        &ctx,
        &id,
        &NewProblem {
            code: "195967001".into(),
            term: "Asthma".into(),
            onset: day("2999-01-01"),
            major: false,
        },
        None,
    );
    assert!(matches!(future, Err(ChangeError::Invalid(e)) if e.get(&ChangeField::Onset).is_some()));

    let asthma = problems::add_problem(
        &repo,
        &ctx,
        &id,
        &NewProblem {
            code: "195967001".into(),
            term: "Asthma".into(),
            onset: day("2010-05-01"),
            major: false,
        },
        None,
    )
    .unwrap();
    let list = problems::problem_list(&repo, &ctx, &id).unwrap();
    assert_eq!(list.active.len(), 1);
    let p = &list.active[0].problem;
    assert_eq!(
        (p.term.as_str(), p.onset.as_str(), p.major),
        ("Asthma", "01-May-2010", false)
    );

    problems::set_significance(&repo, &ctx, &asthma, p.version, true).unwrap();
    // The version the user saw is now stale: a second change is refused, not merged.
    assert!(matches!(
        problems::set_significance(&repo, &ctx, &asthma, p.version, false),
        Err(ChangeError::Conflict)
    ));
    let v2 = problems::problem_list(&repo, &ctx, &id).unwrap().active[0]
        .problem
        .version;
    let no_date = problems::set_status(&repo, &ctx, &asthma, v2, false, None);
    assert!(
        matches!(no_date, Err(ChangeError::Invalid(e)) if e.get(&ChangeField::Ended).is_some())
    );
    let too_early = problems::set_status(&repo, &ctx, &asthma, v2, false, day("2001-01-01"));
    assert!(
        matches!(too_early, Err(ChangeError::Invalid(e)) if e.get(&ChangeField::Ended).unwrap().contains("before"))
    );
    problems::set_status(&repo, &ctx, &asthma, v2, false, day("2015-01-01")).unwrap();
    let list = problems::problem_list(&repo, &ctx, &id).unwrap();
    assert!(list.active.is_empty());
    assert_eq!(
        (
            list.past[0].problem.ended.as_str(),
            list.past[0].problem.major
        ),
        ("01-Jan-2015", true)
    );

    problems::new_episode(&repo, &ctx, &asthma, day("2020-02-02"), None).unwrap();
    let peak = create(
        &repo,
        json!({"resourceType": "Observation", "status": "final", "code": sct("18491006", "Peak expiratory flow rate"),
        "subject": subject(&id), "effectiveDateTime": "2020-02-02", "valueQuantity": {"value": 420, "unit": "L/min"}}),
    );
    let list = problems::problem_list(&repo, &ctx, &id).unwrap();
    assert_eq!(
        list.active.len(),
        1,
        "the new episode makes the problem active again"
    );
    let group = &list.active[0];
    assert_eq!(
        (group.problem.id.as_str(), group.episodes.len()),
        (asthma.as_str(), 1)
    );
    let episode = &group.episodes[0];
    problems::link_entry(
        &repo,
        &ctx,
        &episode.id,
        episode.version,
        &format!("Observation/{peak}"),
    )
    .unwrap();
    let other = patient(&repo, json!({}));
    let theirs = create(
        &repo,
        json!({"resourceType": "Observation", "status": "final", "code": sct("18491006", "Peak flow"), "subject": subject(&other)}),
    );
    let v = problems::problem_list(&repo, &ctx, &id).unwrap().active[0].episodes[0].version;
    let wrong = problems::link_entry(
        &repo,
        &ctx,
        &episode.id,
        v,
        &format!("Observation/{theirs}"),
    );
    assert!(
        matches!(wrong, Err(ChangeError::Invalid(e)) if e.get(&ChangeField::Entry).unwrap().contains("different patient"))
    );
    let linked = &problems::problem_list(&repo, &ctx, &id).unwrap().active[0].linked;
    assert_eq!(linked.len(), 1);
    assert_eq!(
        (linked[0].term.as_str(), linked[0].value.as_str()),
        ("Peak expiratory flow rate", "420 L/min")
    );
}

/// A 20-year record's page shows one journal page, not the whole history. (Its speed is
/// measured by `opengp bench-workspace`, not here.)
fn a_long_record_page_shows_one_journal_page(repo: Repository) {
    let id = load_long_record(&repo, "9434765919", 20);
    let ctx = gp();
    let page = record::record_page(&repo, &ctx, &id, &JournalQuery::default()).unwrap();
    assert_eq!(
        page.journal.unwrap().consultations.len(),
        record::journal::PAGE_SIZE
    );
}

/// Records a consultation on `day` with one topic about `problem` (`Condition/{id}`)
/// and a history note, in the GP Connect List structure.
fn consultation_about(repo: &Repository, patient: &str, problem: &str, day: &str, note: &str) {
    use clinical::conventions::{
        CATEGORY_LIST, CONSULTATION_LIST, HEADINGS, RELATED_PROBLEM_HEADER_EXT, TOPIC_LIST,
    };
    let when = format!("{day}T10:00:00Z");
    let urn = |n: u32| format!("urn:uuid:00000000-0000-4000-8000-{n:012}");
    let list = |code: (&str, &str), title: &str, item: String| {
        json!({"resourceType": "List", "status": "current", "mode": "snapshot", "title": title,
               "code": sct(code.0, code.1), "subject": subject(patient), "date": when,
               "entry": [{"item": {"reference": item}}]})
    };
    let mut topic = list(TOPIC_LIST, "Old ankle", urn(3));
    topic["extension"] = json!([{"url": RELATED_PROBLEM_HEADER_EXT, "extension": [
        {"url": "target", "valueReference": {"reference": problem}}]}]);
    let mut consultation = list(CONSULTATION_LIST, "Consultation", urn(4));
    consultation["encounter"] = json!({"reference": urn(1)});
    let entries = [
        (
            1,
            json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "type": [sct("11429006", "Consultation")], "subject": subject(patient),
            "period": {"start": when, "end": when}}),
        ),
        (
            2,
            json!({"resourceType": "Observation", "status": "final",
            "code": sct(HEADINGS[0].2, HEADINGS[0].1), "subject": subject(patient),
            "encounter": {"reference": urn(1)}, "effectiveDateTime": when,
            "valueString": note}),
        ),
        (3, list(CATEGORY_LIST, "History", urn(2))),
        (4, topic),
        (5, consultation),
    ];
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries
        .iter()
        .map(|(id, r)| json!({"fullUrl": urn(*id), "resource": r,
            "request": {"method": "POST", "url": r["resourceType"]}}))
        .collect::<Vec<_>>()});
    repo.bundle(&system(), bundle, "http://localhost/fhir")
        .expect("the consultation is recorded");
}

fn the_journal_offers_every_problem_a_consultation_was_about(repo: Repository) {
    let id = load_long_record(&repo, "9434765919", 1);
    let ctx = gp();
    // A minor past problem, consulted about once long ago; and an active problem no
    // consultation was about.
    let ankle = create(
        &repo,
        condition(&id, "44465007", "Sprain of ankle", "resolved", false),
    );
    consultation_about(
        &repo,
        &id,
        &format!("Condition/{ankle}"),
        "2016-02-01",
        "Went over on it running",
    );
    create(&repo, condition(&id, "195967001", "Asthma", "active", true));

    let page = record::record_page(&repo, &ctx, &id, &JournalQuery::default()).unwrap();
    let offered: Vec<(&str, bool)> = page
        .journal
        .as_ref()
        .unwrap()
        .problems
        .iter()
        .map(|p| (p.term.as_str(), p.active))
        .collect();
    assert_eq!(
        offered,
        vec![
            ("Diabetes mellitus type 2", true),
            ("Hypertensive disorder, systemic arterial", true),
            ("Sprain of ankle", false),
        ]
    );
    // The summary leaves a minor past problem out; the filter still finds its
    // consultation, which is too old for the journal's first page.
    assert!(
        !page
            .summary
            .past_problems
            .iter()
            .flatten()
            .any(|p| p.id == ankle)
    );
    let about = JournalQuery {
        problem: Some(ankle.clone()),
        ..Default::default()
    };
    let filtered = record::record_page(&repo, &ctx, &id, &about)
        .unwrap()
        .journal
        .unwrap();
    assert_eq!(filtered.consultations.len(), 1);
    let topic = &filtered.consultations[0].topics[0];
    assert_eq!(topic.title, "Sprain of ankle");
    assert_eq!(topic.headings[0].entries[0].text, "Went over on it running");
    // The filter is offered the same way while filtering.
    assert_eq!(filtered.problems.len(), 3);
}
