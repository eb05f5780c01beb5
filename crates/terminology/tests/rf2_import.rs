//! Importing a (tiny, synthetic) SNOMED CT UK RF2 release.

use std::path::{Path, PathBuf};
use terminology::{Category, Terminology, rf2};

const GB: &str = "900000000000508004";
const UK_CLINICAL: &str = "999001261000000100";
const PREFERRED: &str = "900000000000548007";
const ACCEPTABLE: &str = "900000000000549004";
const FSN: &str = "900000000000003001";
const SYNONYM: &str = "900000000000013009";

fn write(path: &Path, header: &str, rows: &[String]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut text = format!("{header}\r\n");
    for row in rows {
        text.push_str(row);
        text.push_str("\r\n");
    }
    std::fs::write(path, text).unwrap();
}

fn concept(id: &str, active: u8) -> String {
    format!("{id}\t20240101\t{active}\t999000011000000103\t900000000000074008")
}

fn description(id: &str, active: u8, concept: &str, lang: &str, kind: &str, term: &str) -> String {
    format!(
        "{id}\t20240101\t{active}\t999000011000000103\t{concept}\t{lang}\t{kind}\t{term}\t900000000000448009"
    )
}

fn member(n: u32, active: u8, refset: &str, description: &str, acceptability: &str) -> String {
    format!(
        "00000000-0000-0000-0000-{n:012}\t20240101\t{active}\t999000011000000103\t{refset}\t{description}\t{acceptability}"
    )
}

/// A release directory laid out like the real one, with rows that must be skipped.
fn release(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("opengp-rf2-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let terms = dir.join("Snapshot/Terminology");
    write(
        &terms.join("sct2_Concept_UKCLSnapshot_GB1000000_20240101.txt"),
        "id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId",
        &[
            concept("195967001", 1),
            concept("44054006", 1),
            // Inactive: must not be imported whatever its terms say.
            concept("38341003", 0),
        ],
    );
    write(
        &terms.join("sct2_Description_UKCLSnapshot-en_GB1000000_20240101.txt"),
        "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId",
        &[
            description("301485011", 1, "195967001", "en", FSN, "Asthma (disorder)"),
            description("301480018", 1, "195967001", "en", SYNONYM, "Asthma"),
            description(
                "301481019",
                0,
                "195967001",
                "en",
                SYNONYM,
                "Retired asthma term",
            ),
            description(
                "301482014",
                1,
                "195967001",
                "en",
                SYNONYM,
                "Bronchial asthma",
            ),
            description("301483016", 1, "195967001", "en", SYNONYM, "Asthma US only"),
            description("301484010", 1, "195967001", "fr", SYNONYM, "Asthme"),
            description(
                "197761014",
                1,
                "44054006",
                "en",
                FSN,
                "Diabetes mellitus type 2 (disorder)",
            ),
            description(
                "197763012",
                1,
                "44054006",
                "en",
                SYNONYM,
                "Diabetes mellitus type 2",
            ),
            description(
                "197762019",
                1,
                "44054006",
                "en",
                SYNONYM,
                "Type 2 diabetes mellitus",
            ),
            description(
                "64176011",
                1,
                "38341003",
                "en",
                FSN,
                "Hypertensive disorder (disorder)",
            ),
            description("64177019", 1, "38341003", "en", SYNONYM, "Hypertension"),
        ],
    );
    write(
        &dir.join(
            "Snapshot/Refset/Language/der2_cRefset_LanguageUKCLSnapshot-en_GB1000000_20240101.txt",
        ),
        "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\tacceptabilityId",
        &[
            member(1, 1, GB, "301480018", PREFERRED),
            member(2, 0, GB, "301482014", ACCEPTABLE), // retired membership: not acceptable
            member(3, 1, GB, "301481019", ACCEPTABLE), // description itself inactive
            // GB English prefers one term, the UK clinical refset another: UK clinical wins.
            member(4, 1, GB, "197763012", PREFERRED),
            member(5, 1, UK_CLINICAL, "197763012", ACCEPTABLE),
            member(6, 1, UK_CLINICAL, "197762019", PREFERRED),
            member(7, 1, GB, "64177019", PREFERRED),
            member(8, 1, "900000000000509007", "301483016", PREFERRED), // US English
        ],
    );
    dir
}

#[test]
fn imports_active_concepts_with_uk_preferred_terms() {
    let dir = release("import");
    let concepts = rf2::import(&dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();

    let ids: Vec<&str> = concepts.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["44054006", "195967001"]);

    let asthma = &concepts[1];
    assert_eq!(asthma.fsn, "Asthma (disorder)");
    assert_eq!(asthma.preferred, "Asthma");
    assert!(asthma.synonyms.is_empty(), "{:?}", asthma.synonyms);
    assert_eq!(asthma.category, Category::Disorder);

    let diabetes = &concepts[0];
    assert_eq!(diabetes.preferred, "Type 2 diabetes mellitus");
    assert_eq!(diabetes.synonyms, ["Diabetes mellitus type 2"]);

    let t = Terminology::from_concepts(concepts);
    assert_eq!(t.search("t2 diab", &[], 5)[0].id, "44054006");
    assert!(t.search("hypertension", &[], 5).is_empty());
}

#[test]
fn an_imported_release_saves_and_loads() {
    let dir = release("save");
    let t = Terminology::from_concepts(rf2::import(&dir).unwrap());
    let file = dir.join("imported.tsv");
    t.save(&file).unwrap();
    let back = Terminology::load(&file).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(t.concepts().eq(back.concepts()));
}

#[test]
fn a_directory_without_a_release_is_refused_clearly() {
    let dir = std::env::temp_dir().join(format!("opengp-rf2-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = rf2::import(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(err.contains("sct2_Concept_"), "{err}");
}
