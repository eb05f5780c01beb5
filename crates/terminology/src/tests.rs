//! Search and validation as a clinician at the picker would notice them.

use super::*;

fn ids(matches: &[Match]) -> Vec<&str> {
    matches.iter().map(|m| m.id.as_str()).collect()
}

fn concept(id: &str, fsn: &str, preferred: &str, synonyms: &[&str]) -> Concept {
    Concept {
        id: id.into(),
        category: semantic_tag(fsn).map_or(Category::Other, Category::from_semantic_tag),
        fsn: fsn.into(),
        preferred: preferred.into(),
        synonyms: synonyms.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn the_starter_set_loads_with_hundreds_of_valid_concepts() {
    let t = Terminology::starter();
    assert!((400..=700).contains(&t.len()), "{}", t.len());
    assert!(t.concepts().all(|c| is_valid_sctid(&c.id)));
}

#[test]
fn typing_t2_diab_finds_type_2_diabetes_first() {
    let t = Terminology::starter();
    let found = t.search("t2 diab", &[], 10);
    assert_eq!(found[0].id, "44054006", "{found:?}");
}

#[test]
fn typing_high_blood_finds_hypertension_by_its_synonym() {
    let t = Terminology::starter();
    let found = t.search("high blood", &[], 10);
    let at = found.iter().position(|m| m.id == "38341003");
    assert!(at.is_some_and(|at| at < 3), "{found:?}");
    let hit = &found[at.unwrap()];
    assert_eq!(hit.term, "High blood pressure");
    assert_eq!(hit.preferred, "Hypertensive disorder, systemic arterial");
}

#[test]
fn an_exact_term_comes_first() {
    let t = Terminology::starter();
    assert_eq!(t.search("asthma", &[], 10)[0].id, "195967001");
    assert_eq!(t.search("Asthma", &[], 10)[0].term, "Asthma");
    // "Heart attack" is a synonym, but typed in full it beats every preferred term.
    assert_eq!(t.search("heart attack", &[], 10)[0].id, "22298006");
    assert_eq!(t.search("BP", &[], 10)[0].id, "75367002");
}

#[test]
fn word_order_does_not_matter_and_every_word_must_match() {
    let t = Terminology::starter();
    assert_eq!(
        t.search("mellitus diabetes type 2", &[], 5)[0].id,
        "44054006"
    );
    assert!(t.search("asthma zzz", &[], 5).is_empty());
    assert!(t.search("", &[], 5).is_empty());
    assert!(t.search("  - ", &[], 5).is_empty());
}

#[test]
fn one_result_per_concept_with_its_best_term() {
    let t = Terminology::starter();
    let found = t.search("diab", &[], 50);
    let mut seen = ids(&found);
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), found.len());
}

#[test]
fn ranking_prefers_preferred_then_fuller_then_shorter_then_alphabetical() {
    let t = Terminology::from_concepts(vec![
        concept("195967001", "Asthma (disorder)", "Asthma", &[]),
        concept(
            "389145006",
            "Allergic asthma (disorder)",
            "Allergic asthma",
            &[],
        ),
        concept(
            "266361008",
            "Non-allergic asthma (disorder)",
            "Intrinsic asthma",
            &[],
        ),
        concept(
            "38341003",
            "Hypertension (disorder)",
            "Hypertension",
            &["Asthmatic hypertension"],
        ),
    ]);
    assert_eq!(
        ids(&t.search("asth", &[], 10)),
        ["195967001", "389145006", "266361008", "38341003"]
    );
    // A limit cuts the list, never reorders it.
    assert_eq!(ids(&t.search("asth", &[], 2)), ["195967001", "389145006"]);
}

#[test]
fn categories_filter_results() {
    let t = Terminology::starter();
    let only_substances = t.search("penic", &[Category::Substance], 10);
    assert!(!only_substances.is_empty());
    assert!(
        only_substances
            .iter()
            .all(|m| m.category == Category::Substance)
    );
    assert_eq!(only_substances[0].id, "764146007");
    let findings = t.search("penic", &[Category::Finding], 10);
    assert_eq!(findings[0].id, "91936005");
    let observables = t.search("blood pressure", &[Category::Observable], 10);
    assert_eq!(observables[0].id, "75367002");
    assert!(ids(&observables).iter().all(|id| *id != "38341003"));
}

#[test]
fn every_code_the_demo_and_forms_use_is_known_with_its_display() {
    let t = Terminology::starter();
    for (code, display) in [
        ("38341003", "Hypertensive disorder, systemic arterial"),
        ("44054006", "Diabetes mellitus type 2"),
        ("75367002", "Blood pressure"),
        ("271649006", "Systolic blood pressure"),
        ("271650006", "Diastolic blood pressure"),
        ("27113001", "Body weight"),
        ("50373000", "Body height measure"),
        ("60621009", "Body mass index"),
        (
            "999791000000106",
            "Haemoglobin A1c level - IFCC standardised",
        ),
        ("185317003", "Telephone encounter"),
        ("325871000000103", "Video consultation"),
        ("371524004", "History"),
        (
            "836377006",
            "Influenza virus antigen-containing vaccine product",
        ),
    ] {
        let c = t.concept(code).unwrap_or_else(|| panic!("{code} missing"));
        assert_eq!(c.preferred, display);
    }
}

#[test]
fn validation_explains_what_is_wrong_with_a_code() {
    let t = Terminology::starter();
    assert_eq!(t.validate_code("195967001").unwrap().preferred, "Asthma");
    assert_eq!(t.validate_code(""), Err(UnknownCode::Missing));
    assert_eq!(
        t.validate_code("195967002"),
        Err(UnknownCode::NotSnomed("195967002".into()))
    );
    // A valid id that the terminology does not hold (Verhoeff-correct, made up).
    let unknown = (0..10)
        .map(|d| format!("12345600{d}"))
        .find(|id| is_valid_sctid(id) && t.concept(id).is_none())
        .unwrap();
    let err = t.validate_code(&unknown).unwrap_err();
    assert!(err.to_string().contains("not known"), "{err}");
    let wrong = t
        .validate_code_in("75367002", &[Category::Disorder, Category::Finding])
        .unwrap_err();
    assert_eq!(
        wrong.to_string(),
        "\"Blood pressure\" (observable) cannot be recorded here: choose a disorder or finding term from the list"
    );
}

#[test]
fn save_and_load_round_trip() {
    let t = Terminology::starter();
    let path = std::env::temp_dir().join(format!("opengp-terms-{}.tsv", std::process::id()));
    t.save(&path).unwrap();
    let back = Terminology::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(back.len(), t.len());
    assert!(t.concepts().zip(back.concepts()).all(|(a, b)| a == b));
    assert_eq!(back.search("t2 diab", &[], 1)[0].id, "44054006");
}

#[test]
fn loading_a_damaged_file_says_which_line() {
    let path = std::env::temp_dir().join(format!("opengp-bad-{}.tsv", std::process::id()));
    std::fs::write(
        &path,
        "# header\n195967001\tAsthma (disorder)\tAsthma\n195967002\tX (finding)\tX\n",
    )
    .unwrap();
    let err = Terminology::load(&path).unwrap_err().to_string();
    std::fs::remove_file(&path).ok();
    assert!(err.contains("line 3"), "{err}");
}
