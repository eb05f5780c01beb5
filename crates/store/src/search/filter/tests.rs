use super::*;

fn scope() -> Scope<'static> {
    Scope {
        rtype: Some("Observation"),
        practice: "A1",
        base_url: "http://x/fhir",
        ctx: None,
    }
}

/// The driving form of a lookup (or a row condition).
fn c(key: &str, value: &str) -> Cond {
    driver(compile(&scope(), "r", key, value).unwrap().unwrap())
}

fn driver(f: Filter) -> Cond {
    match f {
        Filter::Row(c) => c,
        Filter::Lookup { driver, .. } => driver,
    }
}

fn check(key: &str, value: &str) -> (Cond, bool) {
    match compile(&scope(), "r", key, value).unwrap().unwrap() {
        Filter::Lookup {
            exists, negated, ..
        } => (exists, negated),
        Filter::Row(_) => panic!("{key} is a lookup"),
    }
}

fn err(key: &str, value: &str) -> ParamError {
    compile(&scope(), "r", key, value).unwrap_err()
}

fn text(v: &str) -> SqlValue {
    SqlValue::from(v)
}

#[test]
fn placeholders_match_values() {
    for (k, v) in [
        ("code", "http://loinc.org|1234-5,|x,sys|"),
        ("date", "ge2020,lt2021-02,ap2020-01-01"),
        ("value-quantity", "5.4|http://unitsofmeasure.org|mg,gt5||kg"),
        ("subject", "Patient/1,2"),
        ("subject:Patient", "3"),
        ("subject:Patient.name", "smith"),
        ("patient.identifier", "sys|1"),
        ("_id", "a,b"),
        ("_lastUpdated", "gt2020"),
        ("code:missing", "true"),
        ("code:not", "a"),
        ("code:text", "blood"),
    ] {
        let cond = c(k, v);
        assert_eq!(
            cond.sql.matches('?').count(),
            cond.args.len(),
            "{k}={v}: {}",
            cond.sql
        );
        if k != "_id" && k != "_lastUpdated" {
            let (exists, _) = check(k, v);
            assert_eq!(
                exists.sql.matches('?').count(),
                exists.args.len(),
                "{k}={v}: {}",
                exists.sql
            );
        }
    }
}

#[test]
fn tokens() {
    let cond = c("code", "http://loinc.org|1234-5");
    assert!(cond.sql.contains("code = ? AND system = ?"));
    assert!(
        cond.sql
            .starts_with("SELECT res_pk FROM idx_token WHERE practice = ? AND rtype = ?"),
        "the lookup leads with the practice, as the index does: {}",
        cond.sql
    );
    assert_eq!(
        &cond.args[..3],
        &[text("A1"), text("Observation"), text("code")]
    );
    assert_eq!(&cond.args[3..], &[text("1234-5"), text("http://loinc.org")]);
    assert!(c("code", "|x").sql.contains("system IS NULL"));
    assert_eq!(c("code", "sys|").args.last(), Some(&text("sys")));
    assert!(check("code:not", "x").1, "resources without the code");
    assert!(!check("code", "x").1);
    assert!(check("code:missing", "true").1);
    assert!(!check("code:missing", "false").1);
    assert!(
        c("code", "a,b").sql.contains(" UNION "),
        "each value can use the index"
    );
    assert!(
        check("code", "a,b")
            .0
            .sql
            .contains("i.practice = r.practice AND i.res_pk = r.pk"),
        "checks one resource's rows"
    );
    assert_eq!(
        c("code", "a\\,b").args.last(),
        Some(&text("a,b")),
        "escaped comma is one value"
    );
}

#[test]
fn strings_are_normalized_prefixes() {
    let s = Scope {
        rtype: Some("Patient"),
        ..scope()
    };
    let cond = driver(compile(&s, "r", "name", "Jösé").unwrap().unwrap());
    assert_eq!(&cond.args[3..5], &[text("jose"), text("josf")]);
    let exact = driver(compile(&s, "r", "name:exact", "Jösé").unwrap().unwrap());
    assert_eq!(exact.args[3], text("Jösé"));
    let contains = driver(compile(&s, "r", "name:contains", "ös").unwrap().unwrap());
    assert_eq!(contains.args[3], text("%os%"));
}

#[test]
fn numbers_carry_their_precision() {
    assert_eq!(parse_number("100").unwrap(), (100.0, 99.5, 100.5));
    let (_, lo, hi) = parse_number("100.0").unwrap();
    assert!((lo - 99.95).abs() < 1e-9 && (hi - 100.05).abs() < 1e-9);
    let (_, lo, hi) = parse_number("1e2").unwrap();
    assert!((lo - 50.0).abs() < 1e-9 && (hi - 150.0).abs() < 1e-9);
    for bad in ["abc", "inf", "NaN", "", "1..2"] {
        assert!(parse_number(bad).is_err(), "{bad}");
    }
}

#[test]
fn references() {
    let local = c("subject", "http://x/fhir/Patient/7/_history/2");
    assert_eq!(&local.args[3..], &[text("7"), text("Patient")]);
    assert_eq!(c("subject", "7").args[3..], [text("7")]);
    assert_eq!(
        c("subject:Patient", "7").args[3..],
        [text("7"), text("Patient")]
    );
    assert!(
        c("subject", "http://elsewhere/Patient/7")
            .sql
            .contains("url = ?")
    );
    assert!(matches!(err("subject:Nope", "1"), ParamError::Invalid(_)));
}

#[test]
fn chains_look_up_the_target_type() {
    let cond = c("subject:Patient.identifier", "sys|1");
    assert!(cond.sql.contains("x.target_type = ?") && cond.sql.contains("CROSS JOIN resources t"));
    assert!(
        cond.args.contains(&text("A1")),
        "the target is limited to the practice"
    );
    // `patient` targets only Patient; `subject` targets Group, Device, Patient, Location,
    // of which only Patient and Group have `name`... each target with the parameter is tried.
    assert!(c("subject.name", "x").sql.contains(" UNION "));
    assert!(matches!(err("subject.colour", "x"), ParamError::Unknown(_)));
    assert!(matches!(err("code.name", "x"), ParamError::Invalid(_)));
    assert!(matches!(
        err("subject.name.family", "x"),
        ParamError::Invalid(_)
    ));
}

#[test]
fn malformed_values_and_modifiers() {
    assert!(matches!(err("date", "2020-02-30"), ParamError::Invalid(_)));
    assert!(matches!(err("date", "xy2020"), ParamError::Invalid(_)));
    assert!(matches!(err("date:exact", "2020"), ParamError::Invalid(_)));
    assert!(matches!(err("code:below", "x"), ParamError::Invalid(_)));
    assert!(matches!(
        err("code:missing", "maybe"),
        ParamError::Invalid(_)
    ));
    assert!(matches!(
        err("value-quantity", "5|a"),
        ParamError::Invalid(_)
    ));
    assert!(matches!(err("colour", "red"), ParamError::Unknown(_)));
    assert!(
        matches!(
            err("combo-code-value-quantity", "x"),
            ParamError::Unknown(_)
        ),
        "composite"
    );
}

#[test]
fn empty_values_are_ignored() {
    assert_eq!(compile(&scope(), "r", "code", "").unwrap(), None);
}

#[test]
fn uri_above_lists_ancestors() {
    let s = Scope {
        rtype: Some("ValueSet"),
        ..scope()
    };
    let cond = driver(
        compile(&s, "r", "url:above", "http://a/b/c")
            .unwrap()
            .unwrap(),
    );
    assert_eq!(
        &cond.args[3..],
        &[text("http://a"), text("http://a/b"), text("http://a/b/c")]
    );
}

#[test]
fn escaping() {
    assert_eq!(split_unescaped("a\\,b,c", ','), vec!["a\\,b", "c"]);
    assert_eq!(unescape("a\\,b\\|c\\\\"), "a,b|c\\");
}
