use super::*;
use chrono::Datelike;
use clinical::conventions as gp;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

const ODS: &str = "A81001";

fn resources(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect()
}

fn of_type<'a>(bundle: &'a Value, rtype: &str) -> Vec<&'a Value> {
    resources(bundle)
        .into_iter()
        .filter(|r| r["resourceType"] == rtype)
        .collect()
}

fn codes_of(concept: &Value) -> Vec<&str> {
    concept["coding"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["code"].as_str()).collect())
        .unwrap_or_default()
}

/// Every `reference` string anywhere in `v`.
fn references<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("reference", Value::String(s)) => out.push(s),
                    _ => references(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

/// Patients in the tests that load a store: enough for variety, quick to load.
const SMALL: usize = 24;

fn day_of(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(&text[..10], "%Y-%m-%d").unwrap()
}

fn by_url(bundle: &Value) -> HashMap<&str, &Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["fullUrl"].as_str().unwrap(), &e["resource"]))
        .collect()
}

fn list_items(list: &Value) -> Vec<&str> {
    list["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["item"]["reference"].as_str().unwrap())
        .collect()
}

fn list_kind(list: &Value) -> &str {
    list["code"]["coding"][0]["code"].as_str().unwrap()
}

/// The Encounter an entry carries, wherever its type keeps it.
fn encounter_of(r: &Value) -> Option<&str> {
    match r["resourceType"].as_str().unwrap() {
        "AllergyIntolerance" => r["extension"]
            .as_array()?
            .iter()
            .find(|e| e["url"] == gp::ASSOCIATED_ENCOUNTER_EXT)?["valueReference"]["reference"]
            .as_str(),
        "DocumentReference" => r["context"]["encounter"][0]["reference"].as_str(),
        _ => r["encounter"]["reference"].as_str(),
    }
}

fn extensions<'a>(r: &'a Value, url: &str) -> Vec<&'a Value> {
    r["extension"]
        .as_array()
        .map(|e| e.iter().filter(|x| x["url"] == url).collect())
        .unwrap_or_default()
}

/// Every date or date-time a resource is about (when it happened or was written).
fn dates_of(r: &Value) -> Vec<chrono::NaiveDate> {
    let mut out = Vec::new();
    for field in [
        "effectiveDateTime",
        "authoredOn",
        "occurrenceDateTime",
        "performedDateTime",
        "recordedDate",
        "onsetDateTime",
        "date",
    ] {
        if let Some(s) = r[field].as_str() {
            out.push(day_of(s));
        }
    }
    if let Some(s) = r["period"]["start"].as_str() {
        out.push(day_of(s));
    }
    out
}

#[test]
fn same_seed_gives_the_same_bytes() {
    for index in [0, 1, 57] {
        let a = serde_json::to_string(&patient_record(7, index, ODS)).unwrap();
        let b = serde_json::to_string(&patient_record(7, index, ODS)).unwrap();
        assert_eq!(a, b);
    }
    assert_ne!(patient_record(7, 0, ODS), patient_record(7, 1, ODS));
    assert_ne!(patient_record(7, 0, ODS), patient_record(8, 0, ODS));
    assert_eq!(practice_bundle(ODS), practice_bundle(ODS));
    assert_eq!(
        serde_json::to_string(&long_record(3, ODS, 20)).unwrap(),
        serde_json::to_string(&long_record(3, ODS, 20)).unwrap()
    );
    assert_eq!(pds_people(3, 20), pds_people(3, 20));
}

#[test]
fn patients_have_valid_distinct_nhs_numbers() {
    let mut seen = HashSet::new();
    for index in 0..300 {
        let bundle = patient_record(11, index, ODS);
        let patient = &bundle["entry"][0]["resource"];
        assert_eq!(patient["resourceType"], "Patient");
        let id = &patient["identifier"][0];
        assert_eq!(id["system"], "https://fhir.nhs.uk/Id/nhs-number");
        let status = &id["extension"][0]["valueCodeableConcept"]["coding"][0];
        assert_eq!(status["system"], gp::NHS_NUMBER_VERIFICATION_SYSTEM);
        let nhs = id["value"].as_str().unwrap();
        assert!(
            nhs::is_valid(nhs) && fhir::nhs_number::is_valid(nhs),
            "{nhs}"
        );
        assert!(nhs.starts_with("999"));
        assert!(seen.insert(nhs.to_string()), "duplicate NHS number {nhs}");
    }
    for person in pds_people(11, 300).iter().skip(300) {
        let nhs = person["identifier"][0]["value"].as_str().unwrap();
        assert!(nhs::is_valid(nhs), "{nhs}");
        assert!(
            seen.insert(nhs.to_string()),
            "an unregistered person has a patient's number"
        );
    }
}

#[test]
fn references_resolve_within_the_bundle_or_to_the_practice() {
    let practice = practice_bundle(ODS);
    let practice_refs: HashSet<String> = practice["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request"]["url"].as_str().unwrap().to_string())
        .collect();
    assert!(practice_refs.contains(&format!("Organization/{ODS}")));
    let mut bundles: Vec<Value> = (0..100).map(|i| patient_record(3, i, ODS)).collect();
    bundles.push(long_record(3, ODS, 20));
    for bundle in &bundles {
        let full_urls: HashSet<&str> = by_url(bundle).into_keys().collect();
        assert_eq!(
            full_urls.len(),
            bundle["entry"].as_array().unwrap().len(),
            "fullUrls are unique"
        );
        let patient_urn = bundle["entry"][0]["fullUrl"].as_str().unwrap();
        for entry in bundle["entry"].as_array().unwrap() {
            assert_eq!(entry["request"]["method"], "POST");
            assert_eq!(entry["request"]["url"], entry["resource"]["resourceType"]);
            let r = &entry["resource"];
            if r["resourceType"] != "Patient" {
                let subject = r
                    .get("subject")
                    .or_else(|| r.get("patient"))
                    .or_else(|| r.get("for"))
                    .expect("every resource names its patient");
                assert_eq!(subject["reference"], patient_urn);
            }
            let mut refs = Vec::new();
            references(r, &mut refs);
            for reference in refs {
                assert!(
                    full_urls.contains(reference) || practice_refs.contains(reference),
                    "dangling reference {reference} in {}",
                    r["resourceType"]
                );
            }
        }
    }
}

/// Checks one record against `clinical::conventions`: consultation → topics →
/// categories → entries, every filed entry carrying its encounter, topics pointing at
/// problems, problems' links resolving.
fn check_structure(bundle: &Value) {
    let resources = by_url(bundle);
    let lists: Vec<&Value> = of_type(bundle, "List");
    let heading_titles: Vec<&str> = gp::HEADINGS.iter().map(|(_, t, _)| *t).collect();
    for (enc_url, enc) in resources
        .iter()
        .filter(|(_, r)| r["resourceType"] == "Encounter")
    {
        let type_code = enc["type"][0]["coding"][0]["code"].as_str().unwrap();
        assert!(
            gp::ENCOUNTER_TYPES.iter().any(|(c, _)| *c == type_code),
            "{type_code}"
        );
        let consultations: Vec<&&Value> = lists
            .iter()
            .filter(|l| {
                list_kind(l) == gp::CONSULTATION_LIST.0 && l["encounter"]["reference"] == **enc_url
            })
            .collect();
        assert_eq!(
            consultations.len(),
            1,
            "one consultation List per Encounter"
        );
        let topics = list_items(consultations[0]);
        assert!(!topics.is_empty(), "a consultation with no topics");
        for topic_url in topics {
            let topic = resources[topic_url];
            assert_eq!(list_kind(topic), gp::TOPIC_LIST.0);
            for header in extensions(topic, gp::RELATED_PROBLEM_HEADER_EXT) {
                let target = header["extension"][0]["valueReference"]["reference"]
                    .as_str()
                    .unwrap();
                let problem = resources[target];
                assert_eq!(problem["resourceType"], "Condition");
                assert_eq!(
                    problem["category"][0]["coding"][0]["code"],
                    gp::PROBLEM_LIST_ITEM
                );
            }
            for category_url in list_items(topic) {
                let category = resources[category_url];
                assert_eq!(list_kind(category), gp::CATEGORY_LIST.0);
                assert!(heading_titles.contains(&category["title"].as_str().unwrap()));
                for item in list_items(category) {
                    let entry = resources[item];
                    assert_eq!(
                        encounter_of(entry),
                        Some(*enc_url),
                        "{} filed without its encounter",
                        entry["resourceType"]
                    );
                }
            }
        }
    }
    for problem in of_type(bundle, "Condition") {
        if problem["category"][0]["coding"][0]["code"] != gp::PROBLEM_LIST_ITEM {
            continue;
        }
        let significance = extensions(problem, gp::PROBLEM_SIGNIFICANCE_EXT);
        assert!(["major", "minor"].contains(&significance[0]["valueCode"].as_str().unwrap()));
        for link in extensions(problem, gp::RELATED_CLINICAL_CONTENT_EXT) {
            let target = link["valueReference"]["reference"].as_str().unwrap();
            assert!(
                resources.contains_key(target),
                "RelatedClinicalContent {target} dangles"
            );
        }
        let episode = extensions(problem, gp::PROBLEM_EPISODE_EXT)[0]["valueCode"]
            .as_str()
            .unwrap();
        if episode == "new" {
            let header = extensions(problem, gp::RELATED_PROBLEM_HEADER_EXT);
            let first = header[0]["extension"][1]["valueReference"]["reference"]
                .as_str()
                .unwrap();
            assert_eq!(
                resources[first]["code"], problem["code"],
                "a new episode of another problem"
            );
        }
    }
}

#[test]
fn consultations_follow_the_gp_connect_structure() {
    for index in 0..120 {
        check_structure(&patient_record(21, index, ODS));
    }
    check_structure(&long_record(21, ODS, 20));
}

#[test]
fn records_are_clinically_coherent() {
    let n = 400;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for index in 0..n {
        let bundle = patient_record(5, index, ODS);
        let patient = &bundle["entry"][0]["resource"];
        let birth = day_of(patient["birthDate"].as_str().unwrap());
        let problems: HashSet<&str> = of_type(&bundle, "Condition")
            .into_iter()
            .filter(|c| c["category"][0]["coding"][0]["code"] == gp::PROBLEM_LIST_ITEM)
            .flat_map(|c| codes_of(&c["code"]))
            .collect();
        let meds: HashSet<&str> = of_type(&bundle, "MedicationRequest")
            .into_iter()
            .flat_map(|m| codes_of(&m["medicationCodeableConcept"]))
            .collect();
        let observations: Vec<Vec<&str>> = of_type(&bundle, "Observation")
            .into_iter()
            .map(|o| codes_of(&o["code"]))
            .collect();

        // Every patient is registered.
        let registrations = of_type(&bundle, "EpisodeOfCare");
        assert_eq!(registrations.len(), 1);
        let registration = registrations[0];
        if registration["type"][0]["coding"][0]["code"] == "T" {
            *seen.entry("temporary").or_default() += 1;
        }

        // Nothing happens after death, and death ends the registration.
        if let Some(died) = patient["deceasedDateTime"].as_str() {
            *seen.entry("deceased").or_default() += 1;
            let died = day_of(died);
            assert_eq!(registration["status"], "finished");
            assert_eq!(
                registration["period"]["end"],
                died.format("%Y-%m-%d").to_string()
            );
            for r in resources(&bundle) {
                for d in dates_of(r) {
                    assert!(
                        d <= died,
                        "{} on {d} after death on {died}",
                        r["resourceType"]
                    );
                }
                assert_ne!(
                    r["status"], "active",
                    "an active {} after death",
                    r["resourceType"]
                );
            }
        }
        if patient["meta"]["security"][0]["code"] == "R" {
            *seen.entry("sensitive").or_default() += 1;
        }

        // Medicines follow from problems.
        if meds.contains("325278007") || meds.contains("325242002") {
            assert!(
                problems.contains("44054006"),
                "diabetes medicine without diabetes"
            );
        }
        if meds.contains("319283006") || meds.contains("318906001") {
            assert!(
                problems.contains("38341003"),
                "antihypertensive without hypertension"
            );
        }
        let penicillin_allergic = of_type(&bundle, "AllergyIntolerance")
            .iter()
            .any(|a| codes_of(&a["code"]).contains(&"91936005"));
        assert!(
            !(penicillin_allergic && meds.contains("323510009")),
            "amoxicillin despite a penicillin allergy"
        );

        // Every diabetic has HbA1c results; nobody else does.
        let hba1c = observations
            .iter()
            .filter(|c| c.contains(&"999791000000106"))
            .count();
        if problems.contains("44054006") {
            *seen.entry("diabetic").or_default() += 1;
            assert!(hba1c > 0, "a diabetic without an HbA1c");
        } else {
            assert_eq!(hba1c, 0, "HbA1c for a non-diabetic");
        }
        if problems.contains("77386006") {
            *seen.entry("pregnancy").or_default() += 1;
        }
        if problems.contains("709044004") {
            *seen.entry("ckd").or_default() += 1;
        }
        for condition in of_type(&bundle, "Condition") {
            if !extensions(condition, gp::PROBLEM_EPISODE_EXT).is_empty()
                && extensions(condition, gp::PROBLEM_EPISODE_EXT)[0]["valueCode"] == "new"
            {
                *seen.entry("later episode").or_default() += 1;
            }
        }
        seen.entry("flag")
            .and_modify(|n| *n += of_type(&bundle, "Flag").len())
            .or_insert(of_type(&bundle, "Flag").len());
        seen.entry("task")
            .and_modify(|n| *n += of_type(&bundle, "Task").len())
            .or_insert(of_type(&bundle, "Task").len());

        // Children's immunisations at the ages the schedule gives them.
        for imm in of_type(&bundle, "Immunization") {
            let name = imm["vaccineCode"]["text"].as_str().unwrap();
            let age_days = (day_of(imm["occurrenceDateTime"].as_str().unwrap()) - birth).num_days();
            if let Some((from, to)) = life::schedule_window(name) {
                assert!((from..=to).contains(&age_days), "{name} at {age_days} days");
                *seen.entry("childhood vaccine").or_default() += 1;
            }
            if name == "Influenza" {
                let at_risk = ["44054006", "13645005", "195967001", "709044004", "77386006"]
                    .iter()
                    .any(|c| problems.contains(c));
                let age = age_days / 365;
                assert!(
                    age >= 65 || (2..=11).contains(&age) || at_risk,
                    "flu vaccine at {age}"
                );
            }
        }

        for obs in of_type(&bundle, "Observation") {
            let code = codes_of(&obs["code"]);
            if code.contains(&"75367002") {
                let comps = obs["component"].as_array().unwrap();
                let sys: i64 = comps[0]["valueQuantity"]["value"]
                    .to_string()
                    .parse()
                    .unwrap();
                let dia: i64 = comps[1]["valueQuantity"]["value"]
                    .to_string()
                    .parse()
                    .unwrap();
                assert!(
                    (90..=200).contains(&sys) && (50..sys).contains(&dia),
                    "{sys}/{dia}"
                );
                assert_eq!(comps[0]["valueQuantity"]["code"], "mm[Hg]");
            }
            if code.contains(&"80274001") {
                let v: i64 = obs["valueQuantity"]["value"].to_string().parse().unwrap();
                assert!((15..=120).contains(&v), "eGFR {v}");
            }
        }
    }
    for what in [
        "temporary",
        "deceased",
        "diabetic",
        "pregnancy",
        "ckd",
        "later episode",
        "flag",
        "task",
        "childhood vaccine",
    ] {
        assert!(
            seen.get(what).copied().unwrap_or(0) > 0,
            "no {what} in {n} records: {seen:?}"
        );
    }
}

#[test]
fn decimals_keep_their_digits() {
    // Weights and heights are written with exactly one decimal place (72.0, not 72).
    let bundle = long_record(1, ODS, 5);
    let text = serde_json::to_string(&bundle).unwrap();
    for obs in of_type(&bundle, "Observation") {
        if codes_of(&obs["code"]).contains(&"29463-7") {
            let v = obs["valueQuantity"]["value"].to_string();
            assert_eq!(v.split('.').nth(1).map(str::len), Some(1), "{v}");
        }
    }
    assert!(!text.contains("e+") && !text.contains("E+"));
}

#[test]
fn location_ids_are_parsed() {
    assert_eq!(
        location_id("Patient/abc/_history/1").as_deref(),
        Some("abc")
    );
    assert_eq!(
        location_id("http://x/fhir/Patient/abc/_history/3").as_deref(),
        Some("abc")
    );
    assert_eq!(location_id("Patient/abc").as_deref(), Some("abc"));
    assert_eq!(location_id("abc"), None);
}

#[test]
fn every_generated_resource_passes_strict_r4_validation() {
    let mut all: Vec<Value> = practice_bundle(ODS)["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .collect();
    for index in 0..40 {
        all.extend(
            resources(&patient_record(13, index, ODS))
                .into_iter()
                .cloned(),
        );
    }
    all.extend(resources(&long_record(13, ODS, 3)).into_iter().cloned());
    for r in &all {
        let issues = fhir::validate_resource(r);
        let errors: Vec<_> = issues
            .iter()
            .filter(|i| i.severity != fhir::Severity::Information)
            .collect();
        assert!(
            errors.is_empty(),
            "{} rejected: {errors:?}",
            r["resourceType"]
        );
    }
    assert!(all.len() > 1_000, "{}", all.len());
    // The validator is really looking: an unknown element is an error.
    let mut bad = all[20].clone();
    bad["colour"] = Value::from("blue");
    assert!(
        fhir::validate_resource(&bad)
            .iter()
            .any(|i| i.severity == fhir::Severity::Error)
    );
}

#[test]
fn the_long_record_is_dense_and_loads() {
    let bundle = long_record(2026, ODS, 20);
    let entries = bundle["entry"].as_array().unwrap().len();
    assert!(entries >= 2_000, "{entries} entries");
    let encounters = of_type(&bundle, "Encounter").len();
    let first = of_type(&bundle, "Encounter")
        .iter()
        .map(|e| day_of(e["period"]["start"].as_str().unwrap()))
        .min()
        .unwrap();
    assert!(first.year() <= 2007, "history from {first}");
    assert!(encounters >= 150, "{encounters} consultations");
    let repo = temp_repository();
    let ctx = RequestContext::system(ODS);
    repo.bundle(&ctx, practice_bundle(ODS), "http://localhost/fhir")
        .unwrap();
    let started = std::time::Instant::now();
    let response = repo
        .bundle(&ctx, bundle, "http://localhost/fhir")
        .unwrap_or_else(|e| panic!("{e}: {}", e.outcome()));
    println!(
        "long record: {entries} entries, {encounters} consultations, loaded in {:?}",
        started.elapsed()
    );
    assert_eq!(response["entry"].as_array().unwrap().len(), entries);
}

#[test]
fn pds_knows_the_demo_population_and_people_not_yet_registered() {
    let people = pds_people_at(DEMO_SEED, 30, ODS);
    assert_eq!(people.len(), 30 + 50);
    for (index, person) in people.iter().take(30).enumerate() {
        let record = patient_record(DEMO_SEED, index, ODS);
        let patient = &record["entry"][0]["resource"];
        assert_eq!(
            person["identifier"][0]["value"],
            patient["identifier"][0]["value"]
        );
        assert_eq!(person["birthDate"], patient["birthDate"]);
        assert_eq!(person["name"][0]["family"], patient["name"][0]["family"]);
        assert_eq!(person["meta"]["versionId"], "1");
        assert!(person["name"][0]["period"]["start"].is_string());
        if person["meta"]["security"][0]["code"] == "R" {
            for withheld in ["address", "telecom", "generalPractitioner"] {
                assert!(
                    person.get(withheld).is_none(),
                    "a sensitive person's {withheld}"
                );
            }
        } else {
            assert_eq!(person["generalPractitioner"][0]["identifier"]["value"], ODS);
            assert!(person["address"][0]["postalCode"].is_string());
        }
    }
    assert!(
        people
            .iter()
            .take(30)
            .any(|p| p["meta"]["security"][0]["code"] == "R")
    );
    let elsewhere = &people[30..];
    assert!(
        elsewhere
            .iter()
            .all(|p| p["generalPractitioner"][0]["identifier"]["value"] != ODS)
    );
    assert!(
        elsewhere
            .iter()
            .any(|p| p.get("generalPractitioner").is_none())
    );
}

#[test]
fn demo_codes_match_the_conventions() {
    assert!(codes::FACE_TO_FACE.code == gp::ENCOUNTER_TYPES[3].0);
    for kind in [
        codes::FACE_TO_FACE,
        codes::TELEPHONE,
        codes::HOME_VISIT,
        codes::INDIRECT,
    ] {
        assert!(
            gp::ENCOUNTER_TYPES.contains(&(kind.code, kind.display)),
            "{}",
            kind.code
        );
    }
}

fn temp_repository() -> Repository {
    let store = store_sqlite::SqliteStore::open_temp().expect("a temporary SQLite store");
    Repository::new(
        std::sync::Arc::new(store),
        store::RepositoryConfig::default(),
    )
}

fn search(repo: &Repository, ctx: &RequestContext, rtype: &str, params: &[(&str, &str)]) -> Value {
    let req = SearchRequest {
        rtype: Some(rtype.into()),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        base_url: "http://localhost/fhir".into(),
        lenient: false,
    };
    repo.search(ctx, &req)
        .unwrap_or_else(|e| panic!("{e}: {}", e.outcome()))
}

fn entry_ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["resource"]["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_demo_practice_loads_and_can_be_searched() {
    let repo = temp_repository();
    let ctx = RequestContext::system(ODS);
    let started = std::time::Instant::now();
    let summary =
        load_demo_practice(&repo, &ctx, SMALL).unwrap_or_else(|e| panic!("{e}: {}", e.outcome()));
    assert_eq!(summary.patients.len(), SMALL);
    assert_eq!(summary.counts["Patient"], SMALL);
    assert_eq!(summary.counts["Organization"], 1);
    assert!(summary.counts["Observation"] > SMALL);
    let expected: usize = (0..SMALL)
        .map(|i| {
            patient_record(DEMO_SEED, i, ODS)["entry"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(
        summary.total(),
        expected + practice_bundle(ODS)["entry"].as_array().unwrap().len()
    );
    println!("{SMALL} demo patients loaded in {:?}", started.elapsed());
    let shown = summary.to_string();
    let fullest = summary.patients.iter().max_by_key(|p| p.resources).unwrap();
    // Counts only: the summary goes to stdout, which must carry no patient data.
    assert!(
        shown.contains(&format!("{SMALL} patients loaded")),
        "{shown}"
    );
    for private in [&fullest.nhs_number, &fullest.birth_date, &fullest.name] {
        assert!(!shown.contains(private.as_str()), "{shown}");
    }
    assert!(shown.contains("Observation") && shown.contains("Headingley Lane Surgery"));

    // Every patient can be found by family name and birth date, and by NHS number.
    for p in &summary.patients {
        let family = p.name.rsplit(' ').next().unwrap();
        let found = search(
            &repo,
            &ctx,
            "Patient",
            &[("family", family), ("birthdate", &p.birth_date)],
        );
        assert!(
            entry_ids(&found).contains(&p.id),
            "Patient?family={family}&birthdate={} missed {}",
            p.birth_date,
            p.id
        );
        let by_nhs = search(
            &repo,
            &ctx,
            "Patient",
            &[(
                "identifier",
                &format!("https://fhir.nhs.uk/Id/nhs-number|{}", p.nhs_number),
            )],
        );
        assert_eq!(entry_ids(&by_nhs), vec![p.id.clone()]);
    }
    // The references inside each transaction were resolved to the stored patient.
    let first = &summary.patients[0];
    let reference = format!("Patient/{}", first.id);
    let obs = search(
        &repo,
        &ctx,
        "Observation",
        &[("subject", &reference), ("_count", "1000")],
    );
    let generated = (0..SMALL)
        .map(|i| patient_record(DEMO_SEED, i, ODS))
        .find(|b| example_patient(b).nhs_number == first.nhs_number)
        .unwrap();
    assert_eq!(
        entry_ids(&obs).len(),
        of_type(&generated, "Observation").len()
    );
    let patient = repo
        .read(&ctx, "Patient", &first.id)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        patient["generalPractitioner"][1]["reference"],
        format!("Organization/{ODS}")
    );
    assert!(repo.read(&ctx, "Organization", ODS).is_ok());

    // Loading again adds nothing.
    let again = load_demo_practice(&repo, &ctx, SMALL).unwrap();
    assert_eq!(again.already_present, SMALL);
    assert!(again.patients.is_empty());
    let all = search(&repo, &ctx, "Patient", &[("_summary", "count")]);
    assert_eq!(all["total"], SMALL);
}

/// The default practice's load time: `cargo test --release -p opengp
/// default_demo_load_time -- --ignored --nocapture`.
#[test]
#[ignore]
fn default_demo_load_time() {
    let repo = temp_repository();
    let ctx = RequestContext::system(ODS);
    let started = std::time::Instant::now();
    let summary = load_demo_practice(&repo, &ctx, DEMO_PATIENTS).unwrap();
    println!("{summary}loaded in {:?}", started.elapsed());
}

/// The make-up of a thousand records: `cargo test --release -p opengp print_make_up --
/// --ignored --nocapture`.
#[test]
#[ignore]
fn print_make_up() {
    let mut totals: std::collections::BTreeMap<String, usize> = Default::default();
    let mut bytes = 0;
    for i in 0..1000 {
        let b = patient_record(DEMO_SEED, i, ODS);
        bytes += serde_json::to_string(&b).unwrap().len();
        for r in resources(&b) {
            *totals
                .entry(r["resourceType"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    println!(
        "{totals:?} total {} bytes {bytes}",
        totals.values().sum::<usize>()
    );
}
