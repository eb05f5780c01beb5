//! Recording a consultation over a real store (SQLite and PostgreSQL): validation a
//! clinician would see, the saved structure, all-or-nothing saving, and drafts.

use chrono::{Duration, Local};
use clinical::consultation::form::{AttachmentInput, EntryInput, TopicInput};
use clinical::consultation::{
    self, Checks, ConsultationForm, PatientFacts, ValidConsultation, colleagues, patient_facts,
};
use clinical::conventions::{
    CATEGORY_LIST, CONSULTATION_LIST, RELATED_CLINICAL_CONTENT_EXT, RELATED_PROBLEM_HEADER_EXT,
    TOPIC_LIST,
};
use clinical::{FieldErrors, fetch};
use serde_json::{Value, json};
use std::sync::Arc;
use store::{
    Access, Actor, HistoryRequest, Purpose, Repository, RepositoryConfig, RequestContext, Role,
    StaffMember,
};
use terminology::{Category, Concept, Terminology};

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
    a_blood_pressure_of_300_over_20_is_refused_next_to_the_bp_fields,
    systolic_must_be_above_diastolic_and_both_are_needed,
    unusual_values_are_warnings_to_confirm,
    impossible_dates_are_refused,
    unknown_codes_must_be_chosen_from_the_list,
    attachments_are_checked_by_content,
    bmi_comes_from_weight_and_height_or_the_latest_height_on_record,
    a_consultation_is_saved_as_encounter_lists_and_entries,
    a_failure_part_way_saves_nothing,
    drafts_are_kept_restored_and_removed_when_the_consultation_is_saved,
    a_form_round_trips_through_a_draft,
    a_draft_is_seen_only_by_its_author,
    a_draft_saved_before_drafts_were_sealed_is_sealed_when_its_author_loads_it,
);

struct Fixture {
    repo: Repository,
    gp: RequestContext,
    gp_ref: String,
    colleague_id: String,
    patient: String,
    problem: String,
    terms: Terminology,
}

fn concept(id: &str, term: &str, category: Category) -> Concept {
    Concept {
        id: id.into(),
        fsn: format!("{term} (x)"),
        preferred: term.into(),
        synonyms: vec![],
        category,
    }
}

fn staff(practitioner: &str, user: &str) -> RequestContext {
    RequestContext::new(PRACTICE, Actor::User(user.into()), Purpose::DirectCare).with_access(
        Access::staff(StaffMember {
            user_id: user.into(),
            role: Role::ClinicalPractitioner,
            practitioner: Some(practitioner.into()),
        }),
    )
}

fn fixture(repo: Repository) -> Fixture {
    let system = RequestContext::system(PRACTICE);
    let create = |body: Value| {
        let rtype = body["resourceType"].as_str().unwrap().to_string();
        repo.create(&system, &rtype, body, None)
            .unwrap()
            .resource
            .id
    };
    let gp = create(
        json!({"resourceType": "Practitioner", "name": [{"family": "Jones", "given": ["Ann"], "prefix": ["Dr"]}]}),
    );
    let nurse = create(
        json!({"resourceType": "Practitioner", "name": [{"family": "Patel", "given": ["Ravi"]}]}),
    );
    create(
        json!({"resourceType": "Organization", "name": "Test Surgery",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": PRACTICE}]}),
    );
    let patient = create(json!({"resourceType": "Patient", "birthDate": "1960-05-01",
        "name": [{"family": "Smith", "given": ["Jo"]}],
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}]}));
    let problem = create(json!({"resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006", "display": "Diabetes mellitus type 2"}], "text": "Diabetes mellitus type 2"},
        "subject": {"reference": format!("Patient/{patient}")},
        "recordedDate": "2015-01-01"}));
    create(json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "50373000"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": "2024-01-01",
        "valueQuantity": {"value": 170, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "cm"}}));
    let terms = Terminology::from_concepts(vec![
        concept("38341003", "Hypertension", Category::Disorder),
        concept("49727002", "Cough", Category::Finding),
        concept(
            "54150009",
            "Upper respiratory infection",
            Category::Disorder,
        ),
        concept("91936005", "Penicillin", Category::Substance),
        concept("836377006", "Influenza vaccine", Category::Substance),
        concept("71181003", "Appendicectomy", Category::Procedure),
    ]);
    Fixture {
        gp: staff(&gp, "user-gp"),
        gp_ref: format!("Practitioner/{gp}"),
        colleague_id: nurse,
        repo,
        patient,
        problem,
        terms,
    }
}

impl Fixture {
    fn facts(&self) -> PatientFacts {
        patient_facts(&self.repo, &self.gp, &self.patient).unwrap()
    }

    fn check(&self, form: &ConsultationForm) -> Result<consultation::Checked, FieldErrors> {
        let facts = self.facts();
        let colleagues = colleagues(&self.repo, &self.gp).unwrap();
        consultation::validate(
            form,
            &Checks {
                terminology: &self.terms,
                patient: &facts,
                colleagues: &colleagues,
                now: Local::now(),
            },
        )
    }

    fn valid(&self, form: &ConsultationForm) -> ValidConsultation {
        self.check(form).expect("a valid form").consultation
    }

    fn save(
        &self,
        valid: &ValidConsultation,
    ) -> store::FhirResult<consultation::SavedConsultation> {
        let org = consultation::practice_organization(&self.repo, &self.gp).unwrap();
        consultation::save(&self.repo, &self.gp, valid, &self.gp_ref, org.as_deref())
    }

    fn count(&self, rtype: &str) -> usize {
        fetch::search(
            &self.repo,
            &RequestContext::system(PRACTICE),
            rtype,
            &[("_count", "1000")],
        )
        .unwrap()
        .len()
    }

    fn counts(&self) -> Vec<usize> {
        [
            "Encounter",
            "List",
            "Observation",
            "Condition",
            "Procedure",
            "AllergyIntolerance",
            "Immunization",
            "Task",
            "DocumentReference",
            "QuestionnaireResponse",
        ]
        .iter()
        .map(|t| self.count(t))
        .collect()
    }

    fn get(&self, reference: &str) -> Value {
        let (rtype, id) = reference.split_once('/').unwrap();
        fetch::read(&self.repo, &self.gp, rtype, id).unwrap().0
    }
}

fn now_field() -> String {
    (Local::now() - Duration::minutes(10))
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

fn base_form() -> ConsultationForm {
    ConsultationForm {
        encounter_type: "11429006".into(),
        date: now_field(),
        topics: vec![TopicInput {
            title: "Cough".into(),
            entries: vec![EntryInput {
                heading: "history".into(),
                text: "Dry cough for three days".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn with_obs(mut form: ConsultationForm, pairs: &[(&str, &str)]) -> ConsultationForm {
    for (k, v) in pairs {
        form.observations.insert(k.to_string(), v.to_string());
    }
    form
}

fn a_blood_pressure_of_300_over_20_is_refused_next_to_the_bp_fields(repo: Repository) {
    let f = fixture(repo);
    let before = f.counts();
    let errors = f
        .check(&with_obs(
            base_form(),
            &[("bp_systolic", "300"), ("bp_diastolic", "20")],
        ))
        .unwrap_err();
    assert_eq!(
        errors.get("obs_bp_systolic"),
        Some("300 mmHg is not a plausible systolic blood pressure (50–280)")
    );
    assert_eq!(
        errors.get("obs_bp_diastolic"),
        Some("20 mmHg is not a plausible diastolic blood pressure (25–180)")
    );
    assert_eq!(f.counts(), before, "checking writes nothing");
}

fn systolic_must_be_above_diastolic_and_both_are_needed(repo: Repository) {
    let f = fixture(repo);
    let errors = f
        .check(&with_obs(
            base_form(),
            &[("bp_systolic", "80"), ("bp_diastolic", "90")],
        ))
        .unwrap_err();
    assert!(
        errors
            .get("obs_bp_systolic")
            .unwrap()
            .contains("must be higher")
    );
    let errors = f
        .check(&with_obs(base_form(), &[("bp_systolic", "140")]))
        .unwrap_err();
    assert_eq!(
        errors.get("obs_bp_diastolic"),
        Some("Enter the diastolic pressure as well")
    );
    let errors = f
        .check(&with_obs(base_form(), &[("pulse", "fast")]))
        .unwrap_err();
    assert!(
        errors
            .get("obs_pulse")
            .unwrap()
            .starts_with("Enter the pulse rate as a number")
    );
}

fn unusual_values_are_warnings_to_confirm(repo: Repository) {
    let f = fixture(repo);
    let mut form = with_obs(
        base_form(),
        &[("bp_systolic", "190"), ("bp_diastolic", "100")],
    );
    let checked = f.check(&form).unwrap();
    assert!(
        checked
            .warnings
            .get("obs_bp_systolic")
            .unwrap()
            .contains("very high")
    );
    assert!(!checked.confirmed(&form));
    form.confirm_warnings = true;
    assert!(f.check(&form).unwrap().confirmed(&form));
}

fn impossible_dates_are_refused(repo: Repository) {
    let f = fixture(repo);
    let mut form = base_form();
    form.date = (Local::now() + Duration::days(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    assert_eq!(
        f.check(&form).unwrap_err().get("date"),
        Some("The consultation cannot be in the future")
    );
    form.date = "1959-01-01T10:00".into();
    assert_eq!(
        f.check(&form).unwrap_err().get("date"),
        Some("The consultation cannot be before the patient was born (01-May-1960)")
    );
    form.date = "2024-02-30T10:00".into();
    assert!(f.check(&form).unwrap_err().get("date").is_some());
}

fn unknown_codes_must_be_chosen_from_the_list(repo: Repository) {
    let f = fixture(repo);
    let mut form = base_form();
    form.topics[0].entries.push(EntryInput {
        heading: "diagnosis".into(),
        term: "coughing thing".into(),
        code: "123456".into(),
        ..Default::default()
    });
    form.topics.push(TopicInput {
        new_term: "made up".into(),
        significance: "major".into(),
        ..Default::default()
    });
    let errors = f.check(&form).unwrap_err();
    assert_eq!(
        errors.get("t0_e1_term"),
        Some("Choose a term from the list")
    );
    assert_eq!(
        errors.get("t1_new_term"),
        Some("Choose a term from the list")
    );
}

fn attachments_are_checked_by_content(repo: Repository) {
    let f = fixture(repo);
    let mut form = base_form();
    form.attachments.push(AttachmentInput {
        file_name: "scan.pdf".into(),
        bytes: b"GIF89a...".to_vec(),
    });
    assert_eq!(
        f.check(&form).unwrap_err().get("attachments"),
        Some("scan.pdf is not a PDF, PNG or JPEG file")
    );
}

fn bmi_comes_from_weight_and_height_or_the_latest_height_on_record(repo: Repository) {
    let f = fixture(repo);
    let bmi_of = |form: &ConsultationForm| {
        f.valid(form)
            .measurements
            .iter()
            .find(|m| m.kind.key == "bmi")
            .map(|m| m.value)
    };
    assert_eq!(
        bmi_of(&with_obs(
            base_form(),
            &[("weight", "80"), ("height", "180")]
        )),
        Some(24.7)
    );
    // 80 kg at the 170 cm on record.
    assert_eq!(
        bmi_of(&with_obs(base_form(), &[("weight", "80")])),
        Some(27.7)
    );
    assert_eq!(bmi_of(&with_obs(base_form(), &[("height", "180")])), None);
}

fn full_form(f: &Fixture) -> ConsultationForm {
    let mut form = with_obs(
        base_form(),
        &[
            ("bp_systolic", "150"),
            ("bp_diastolic", "95"),
            ("weight", "80"),
            ("height", "180"),
        ],
    );
    form.topics[0].entries.push(EntryInput {
        heading: "examination".into(),
        term: "Cough".into(),
        code: "49727002".into(),
        text: "Chest clear".into(),
    });
    form.topics[0].entries.push(EntryInput {
        heading: "diagnosis".into(),
        term: "Upper respiratory infection".into(),
        code: "54150009".into(),
        ..Default::default()
    });
    form.topics.push(TopicInput {
        new_term: "Hypertension".into(),
        new_code: "38341003".into(),
        significance: "major".into(),
        entries: vec![EntryInput {
            heading: "plan".into(),
            text: "Home BP monitoring".into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    form.topics.push(TopicInput {
        problem: f.problem.clone(),
        entries: vec![EntryInput {
            heading: "comment".into(),
            text: "Diabetes review due".into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    form.allergies.push(consultation::form::AllergyInput {
        term: "Penicillin".into(),
        code: "91936005".into(),
        reaction: "Rash".into(),
        severity: "moderate".into(),
        kind: "allergy".into(),
    });
    form.immunisations
        .push(consultation::form::ImmunisationInput {
            term: "Influenza vaccine".into(),
            code: "836377006".into(),
            dose: "1".into(),
            site: "Left deltoid".into(),
            batch: "AB123".into(),
            date: String::new(),
        });
    form.task = consultation::form::TaskInput {
        owner: f.colleague_id.clone(),
        description: "Book BP check in 2 weeks".into(),
        due: (Local::now() + Duration::days(14))
            .format("%Y-%m-%d")
            .to_string(),
        priority: "routine".into(),
    };
    form.attachments.push(AttachmentInput {
        file_name: "photo.png".into(),
        bytes: b"\x89PNG\r\n\x1a\nrest".to_vec(),
    });
    form
}

fn references(list: &Value) -> Vec<String> {
    list["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["item"]["reference"].as_str().unwrap().to_string())
        .collect()
}

fn a_consultation_is_saved_as_encounter_lists_and_entries(repo: Repository) {
    let f = fixture(repo);
    let valid = f.valid(&full_form(&f));
    let started = std::time::Instant::now();
    let saved = f.save(&valid).unwrap();
    println!(
        "full consultation ({} resources written) saved in {:.1} ms",
        saved.written.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    let encounter_ref = format!("Encounter/{}", saved.encounter_id);
    let encounter = f.get(&encounter_ref);
    assert_eq!(encounter["type"][0]["coding"][0]["code"], "11429006");
    assert_eq!(
        encounter["participant"][0]["individual"]["reference"],
        f.gp_ref
    );

    let consultation = f.get(&format!("List/{}", saved.consultation_list_id));
    assert_eq!(
        consultation["code"]["coding"][0]["code"],
        CONSULTATION_LIST.0
    );
    assert_eq!(consultation["encounter"]["reference"], encounter_ref);
    let topics: Vec<Value> = references(&consultation).iter().map(|r| f.get(r)).collect();
    assert_eq!(topics.len(), 3);
    assert_eq!(topics[0]["title"], "Cough");
    assert_eq!(topics[1]["title"], "Hypertension");
    assert_eq!(topics[2]["title"], "Diabetes mellitus type 2");

    let mut seen_types = Vec::new();
    for topic in &topics {
        assert_eq!(topic["code"]["coding"][0]["code"], TOPIC_LIST.0);
        for category_ref in references(topic) {
            let category = f.get(&category_ref);
            assert_eq!(category["code"]["coding"][0]["code"], CATEGORY_LIST.0);
            for entry_ref in references(&category) {
                let entry = f.get(&entry_ref);
                let rtype = entry["resourceType"].as_str().unwrap().to_string();
                let carries = match rtype.as_str() {
                    "DocumentReference" => entry["context"]["encounter"][0]["reference"].clone(),
                    "AllergyIntolerance" => {
                        entry["extension"][0]["valueReference"]["reference"].clone()
                    }
                    _ => entry["encounter"]["reference"].clone(),
                };
                assert_eq!(carries, encounter_ref, "{rtype} carries the encounter");
                seen_types.push((category["title"].as_str().unwrap().to_string(), rtype));
            }
        }
    }
    for expected in [
        ("History", "Observation"),
        ("Examination", "Observation"),
        ("Diagnosis", "Condition"),
        ("History", "AllergyIntolerance"),
        ("Procedure", "Immunization"),
        ("Plan", "Task"),
        ("Comment", "DocumentReference"),
    ] {
        assert!(
            seen_types.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {seen_types:?}"
        );
    }

    // The BP is one Observation with two components; BMI was computed.
    let observations = fetch::search(
        &f.repo,
        &f.gp,
        "Observation",
        &[("encounter", &encounter_ref)],
    )
    .unwrap();
    let bp = observations
        .iter()
        .find(|o| o["code"]["coding"][1]["code"] == "75367002")
        .unwrap();
    assert_eq!(bp["component"][0]["valueQuantity"]["value"], json!(150));
    assert_eq!(bp["component"][1]["valueQuantity"]["value"], json!(95));
    assert!(
        observations
            .iter()
            .any(|o| o["code"]["coding"][1]["code"] == "60621009"
                && o["valueQuantity"]["value"] == json!(24.7))
    );

    // The new problem points at its topic's entries; the topic points at the problem.
    let header = &topics[1]["extension"][0];
    assert_eq!(header["url"], RELATED_PROBLEM_HEADER_EXT);
    let new_problem = f.get(
        header["extension"][0]["valueReference"]["reference"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        new_problem["category"][0]["coding"][0]["code"],
        "problem-list-item"
    );
    let links = |c: &Value| -> Vec<String> {
        c["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["url"] == RELATED_CLINICAL_CONTENT_EXT)
            .map(|e| {
                e["valueReference"]["reference"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(links(&new_problem).len(), 1, "linked to the plan entry");
    // The existing problem was updated to link the comment.
    let existing = f.get(&format!("Condition/{}", f.problem));
    assert_eq!(existing["meta"]["versionId"], "2");
    assert_eq!(links(&existing).len(), 1);
    let task = fetch::search(&f.repo, &f.gp, "Task", &[("encounter", &encounter_ref)]).unwrap();
    assert_eq!(
        task[0]["owner"]["reference"],
        format!("Practitioner/{}", f.colleague_id)
    );
    assert_eq!(task[0]["status"], "requested");
}

fn a_failure_part_way_saves_nothing(repo: Repository) {
    let f = fixture(repo);
    let valid = f.valid(&full_form(&f));
    consultation::save_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref, &json!({"date": "x"})).unwrap();
    // Someone else changes the problem after the form was checked.
    let (mut problem, version) = fetch::read(&f.repo, &f.gp, "Condition", &f.problem).unwrap();
    problem["note"] = json!([{"text": "changed elsewhere"}]);
    f.repo
        .update(&f.gp, "Condition", &f.problem, problem, Some(version))
        .unwrap();
    let before = f.counts();

    let error = f.save(&valid).unwrap_err();
    assert_eq!(error.status(), 412);
    assert_eq!(f.counts(), before, "nothing was written");
    assert!(
        consultation::load_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref)
            .unwrap()
            .is_some()
    );
}

fn drafts_are_kept_restored_and_removed_when_the_consultation_is_saved(repo: Repository) {
    let f = fixture(repo);
    let first =
        consultation::save_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref, &json!({"date": "a"}))
            .unwrap();
    let second =
        consultation::save_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref, &json!({"date": "b"}))
            .unwrap();
    assert_eq!(first, second, "one draft per clinician and patient");
    let draft = consultation::load_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref)
        .unwrap()
        .unwrap();
    assert_eq!(draft.form, json!({"date": "b"}));
    assert!(draft.saved_at.is_some());

    // A colleague does not get this clinician's draft.
    let nurse = staff(&f.colleague_id, "user-nurse");
    let nurse_ref = format!("Practitioner/{}", f.colleague_id);
    assert!(
        consultation::load_draft(&f.repo, &nurse, &f.patient, &nurse_ref)
            .unwrap()
            .is_none()
    );

    f.save(&f.valid(&base_form())).unwrap();
    assert!(
        consultation::load_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref)
            .unwrap()
            .is_none()
    );

    consultation::save_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref, &json!({})).unwrap();
    consultation::discard_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref).unwrap();
    assert!(
        consultation::load_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref)
            .unwrap()
            .is_none()
    );
}

fn a_form_round_trips_through_a_draft(repo: Repository) {
    let f = fixture(repo);
    let form = full_form(&f);
    let json = serde_json::to_value(&form).unwrap();
    consultation::save_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref, &json).unwrap();
    let draft = consultation::load_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref)
        .unwrap()
        .unwrap();
    let restored: ConsultationForm = serde_json::from_value(draft.form).unwrap();
    assert_eq!(restored.topics, form.topics);
    assert_eq!(restored.observations, form.observations);
    assert!(
        restored.attachments.is_empty(),
        "files are not kept in drafts"
    );
}

impl Fixture {
    /// Another GP of the practice: their context and `Practitioner/{id}`.
    fn colleague_gp(&self) -> (RequestContext, String) {
        let body = json!({"resourceType": "Practitioner", "name": [{"family": "Khan", "given": ["Sara"]}]});
        let id = self
            .repo
            .create(
                &RequestContext::system(PRACTICE),
                "Practitioner",
                body,
                None,
            )
            .unwrap()
            .resource
            .id;
        (staff(&id, "user-gp-2"), format!("Practitioner/{id}"))
    }

    /// The consultation drafts about the patient that a FHIR search by `ctx` returns.
    fn drafts_found_by(&self, ctx: &RequestContext) -> Vec<Value> {
        let subject = format!("Patient/{}", self.patient);
        fetch::search(
            &self.repo,
            ctx,
            "QuestionnaireResponse",
            &[("subject", &subject)],
        )
        .unwrap()
    }

    /// The ids of the draft's versions that a FHIR history by `ctx` returns (type and
    /// instance level).
    fn draft_history_seen_by(&self, ctx: &RequestContext, id: &str) -> Vec<String> {
        let mut seen = Vec::new();
        for instance in [None, Some(id)] {
            let req = HistoryRequest {
                rtype: Some("QuestionnaireResponse".into()),
                id: instance.map(str::to_string),
                params: vec![],
                base_url: BASE.into(),
            };
            // An instance history of a hidden resource is an error, like its read.
            if let Ok(bundle) = self.repo.history(ctx, &req) {
                seen.extend(
                    resources(&bundle)
                        .iter()
                        .filter_map(|r| r["id"].as_str().map(str::to_string)),
                );
            }
        }
        seen
    }

    /// The QuestionnaireResponses in the patient's `$everything` for `ctx`.
    fn drafts_in_everything_for(&self, ctx: &RequestContext) -> usize {
        let bundle = self.repo.everything(ctx, &self.patient, &[], BASE).unwrap();
        resources(&bundle)
            .iter()
            .filter(|r| r["resourceType"] == "QuestionnaireResponse")
            .count()
    }
}

fn a_draft_is_seen_only_by_its_author(repo: Repository) {
    let f = fixture(repo);
    let (colleague, colleague_ref) = f.colleague_gp();
    let id = consultation::save_draft(
        &f.repo,
        &f.gp,
        &f.patient,
        &f.gp_ref,
        &json!({"date": "?bowel cancer, not told patient"}),
    )
    .unwrap();

    // The author restores it, and reaches it through the FHIR interactions too.
    let draft = consultation::load_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref)
        .unwrap()
        .expect("the author's draft");
    assert_eq!(
        draft.form,
        json!({"date": "?bowel cancer, not told patient"})
    );
    assert_eq!(f.drafts_found_by(&f.gp).len(), 1);
    assert!(f.draft_history_seen_by(&f.gp, &id).contains(&id));
    assert_eq!(f.drafts_in_everything_for(&f.gp), 1);

    // A colleague GP finds nothing, through the workspace or the FHIR API.
    for author in [&f.gp_ref, &colleague_ref] {
        assert_eq!(
            consultation::load_draft(&f.repo, &colleague, &f.patient, author).unwrap(),
            None
        );
    }
    assert!(f.drafts_found_by(&colleague).is_empty());
    assert!(f.draft_history_seen_by(&colleague, &id).is_empty());
    assert_eq!(f.drafts_in_everything_for(&colleague), 0);
    // Reading it by id gives nothing of it: sealed, it needs break-glass (403).
    let refused = f
        .repo
        .read(&colleague, "QuestionnaireResponse", &id)
        .unwrap_err();
    assert_eq!(refused.status(), 403, "{refused}");
    // Nor can the colleague write it under the author's name.
    let error = consultation::save_draft(&f.repo, &colleague, &f.patient, &f.gp_ref, &json!({}))
        .unwrap_err();
    assert_eq!(error.status(), 403);
    consultation::discard_draft(&f.repo, &colleague, &f.patient, &f.gp_ref).unwrap();

    // The colleague's own draft is theirs alone; the author's is unchanged.
    consultation::save_draft(
        &f.repo,
        &colleague,
        &f.patient,
        &colleague_ref,
        &json!({"date": "theirs"}),
    )
    .unwrap();
    assert_eq!(f.drafts_found_by(&colleague).len(), 1);
    assert_eq!(f.drafts_found_by(&f.gp).len(), 1);
    let draft = consultation::load_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref)
        .unwrap()
        .unwrap();
    assert_eq!(
        draft.form,
        json!({"date": "?bowel cancer, not told patient"})
    );

    // Break-glass opens it, as any sealed entry.
    let glass = colleague.clone().with_access(
        colleague
            .access
            .clone()
            .with_break_glass("patient collapsed in clinic")
            .unwrap(),
    );
    assert!(f.repo.read(&glass, "QuestionnaireResponse", &id).is_ok());

    // Saving the consultation still deletes the author's draft (and only theirs).
    f.save(&f.valid(&base_form())).unwrap();
    assert_eq!(
        consultation::load_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref).unwrap(),
        None
    );
    assert!(
        consultation::load_draft(&f.repo, &colleague, &f.patient, &colleague_ref)
            .unwrap()
            .is_some()
    );
    // Its history stays the author's.
    assert!(!f.draft_history_seen_by(&colleague, &id).contains(&id));
}

fn a_draft_saved_before_drafts_were_sealed_is_sealed_when_its_author_loads_it(repo: Repository) {
    let f = fixture(repo);
    let (colleague, _) = f.colleague_gp();
    // A draft as they were written before: no security label.
    let earlier = json!({
        "resourceType": "QuestionnaireResponse",
        "questionnaire": clinical::conventions::CONSULTATION_DRAFT_QUESTIONNAIRE,
        "status": "in-progress",
        "subject": {"reference": format!("Patient/{}", f.patient)},
        "author": {"reference": f.gp_ref},
        "authored": "2025-01-02T10:30:00Z",
        "item": [{"linkId": clinical::conventions::DRAFT_ITEM,
                  "answer": [{"valueString": "{\"date\":\"old\"}"}]}]
    });
    let id = f
        .repo
        .create(&f.gp, "QuestionnaireResponse", earlier, None)
        .unwrap()
        .resource
        .id;
    assert_eq!(f.drafts_found_by(&colleague).len(), 1, "not sealed yet");

    let draft = consultation::load_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref)
        .unwrap()
        .expect("the author's earlier draft");
    assert_eq!(draft.id, id);
    assert_eq!(draft.form, json!({"date": "old"}));
    assert_eq!(
        draft.saved_at.map(|t| t.to_rfc3339()),
        Some("2025-01-02T10:30:00+00:00".to_string()),
        "sealing it does not change when it was saved"
    );

    assert!(f.drafts_found_by(&colleague).is_empty());
    assert!(
        f.draft_history_seen_by(&colleague, &id).is_empty(),
        "nor its unsealed versions"
    );
    assert_eq!(f.drafts_found_by(&f.gp).len(), 1);
    let again = consultation::load_draft(&f.repo, &f.gp, &f.patient, &f.gp_ref)
        .unwrap()
        .unwrap();
    assert_eq!(again.form, json!({"date": "old"}));
}

/// The base URL these tests give the store, as an API client would.
const BASE: &str = "http://localhost/fhir";

/// The resources of a Bundle's entries.
fn resources(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .collect()
}
