//! Conformance cases: the audit trail. Chains, tamper detection (the cases play an
//! attacker with database access), the append-only triggers, the group commit under
//! concurrency, AuditEvent rendering and search, and per-app usage counts.

use super::{Case, Harness};
use crate::access::{Access, Role, Scopes, StaffMember};
use crate::audit::entry::{Entry, GENESIS_HASH, Origin, chain_hash};
use crate::audit::schema::{APPEND_ONLY_TABLES, postgres_triggers, sqlite_triggers};
use crate::audit::{Action, AuditLog, AuditRecord, BreakKind, Outcome, verify};
use crate::backend::{Dialect, SqlValue, TxMode};
use crate::case;
use crate::context::{Actor, Purpose, RequestContext};
use crate::repository::SearchRequest;
use serde_json::Value;

pub fn cases() -> Vec<Case> {
    vec![
        case!(entries_chain_and_verify_counts_them),
        case!(altered_entry_is_named),
        case!(deleted_entries_are_named),
        case!(inserted_entries_are_named),
        case!(updates_and_deletes_are_refused),
        case!(concurrent_records_all_land_in_one_chain),
        case!(concurrent_write_transactions_chain_in_order),
        case!(practices_have_independent_chains),
        case!(audit_event_says_who_what_when_where_and_how),
        case!(search_by_patient_agent_entity_date_outcome),
        case!(search_pages_newest_first),
        case!(patient_context_sees_only_their_own_entries),
        case!(client_usage_counts_requests_and_resources),
        case!(every_interaction_leaves_its_entry),
        case!(reads_audited_together_each_keep_their_entry),
    ]
}

fn system_at(practice: &str) -> RequestContext {
    RequestContext::system(practice)
}

/// A GP signed in through `client` (if any), as a real request would carry.
fn clinician(h: &Harness, user: &str, client: Option<&str>) -> RequestContext {
    let mut ctx = RequestContext::new(
        h.practice.clone(),
        Actor::User(user.into()),
        Purpose::DirectCare,
    );
    ctx.access = Access {
        staff: Some(StaffMember {
            user_id: user.into(),
            role: Role::ClinicalPractitioner,
            practitioner: Some(format!("prac-{user}")),
        }),
        client: client.map(str::to_string),
        ..Access::nobody()
    };
    ctx.source = Some("192.0.2.10".into());
    ctx
}

fn read_of(rtype: &str, id: &str, patient: &str) -> AuditRecord {
    AuditRecord::new("read", Action::Read, Outcome::Success)
        .entity(format!("{rtype}/{id}"))
        .patient(patient)
}

/// Appends `n` reads to `practice`'s chain, one write transaction per entry.
fn append(h: &Harness, practice: &str, n: usize) {
    let ctx = system_at(practice);
    for i in 0..n {
        let mut tx = h.repo.store().begin(&ctx, TxMode::Write).unwrap();
        AuditLog::append_in(
            tx.as_mut(),
            &ctx,
            &[read_of("Observation", &format!("o{i}"), "p1")],
        )
        .unwrap();
        tx.commit().unwrap();
    }
}

/// Runs `sql` in its own write transaction.
fn exec(h: &Harness, sql: &str, params: &[SqlValue]) -> Result<u64, crate::StoreError> {
    let ctx = system_at(&h.practice);
    let mut tx = h.repo.store().begin(&ctx, TxMode::Write)?;
    let changed = tx.execute(sql, params)?;
    tx.commit()?;
    Ok(changed)
}

fn query(h: &Harness, sql: &str, params: &[SqlValue]) -> Vec<Vec<SqlValue>> {
    let ctx = system_at(&h.practice);
    let mut tx = h.repo.store().begin(&ctx, TxMode::Read).unwrap();
    let rows = tx.query(sql, params).unwrap();
    tx.commit().unwrap();
    rows
}

/// The attacker's first step: the append-only triggers go.
fn drop_triggers(h: &Harness) {
    for table in APPEND_ONLY_TABLES {
        let statements: Vec<String> = match h.repo.store().dialect() {
            Dialect::Sqlite => sqlite_triggers(table)
                .iter()
                .map(|t| format!("DROP TRIGGER {t}"))
                .collect(),
            Dialect::Postgres => postgres_triggers(table)
                .iter()
                .map(|t| format!("DROP TRIGGER {t} ON {table}"))
                .collect(),
        };
        for sql in statements {
            exec(h, &sql, &[]).unwrap();
        }
    }
}

/// `(seq, prev_hash, hash)` of `practice`'s entries in order.
fn chain(h: &Harness, practice: &str) -> Vec<(i64, String, String)> {
    query(
        h,
        "SELECT seq, prev_hash, hash FROM audit_log WHERE practice = ? ORDER BY seq",
        &[SqlValue::from(practice)],
    )
    .into_iter()
    .map(|r| {
        (
            r[0].as_i64().unwrap(),
            r[1].as_str().unwrap().to_string(),
            r[2].as_str().unwrap().to_string(),
        )
    })
    .collect()
}

fn search(h: &Harness, ctx: &RequestContext, params: &[(&str, &str)]) -> Value {
    let req = SearchRequest {
        rtype: Some("AuditEvent".into()),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        base_url: h.base_url().into(),
        lenient: false,
    };
    h.repo
        .audit()
        .search_events(ctx, &req.audit_events())
        .unwrap()
}

fn resources(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .map(|entries| entries.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default()
}

fn ids(bundle: &Value) -> Vec<String> {
    resources(bundle)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn validation_errors(resource: &Value) -> Vec<fhir::Issue> {
    fhir::validate_resource(resource)
        .into_iter()
        .filter(|i| i.severity == fhir::Severity::Error)
        .collect()
}

fn entries_chain_and_verify_counts_them(h: &Harness) {
    let ctx = system_at("Y00001");
    let mut tx = h.repo.store().begin(&ctx, TxMode::Write).unwrap();
    let two = [
        read_of("Patient", "p1", "p1"),
        read_of("Patient", "p2", "p2"),
    ];
    AuditLog::append_in(tx.as_mut(), &ctx, &two).unwrap();
    tx.commit().unwrap();
    append(h, "Y00001", 2);

    let entries = chain(h, "Y00001");
    assert_eq!(
        entries.iter().map(|e| e.0).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(entries[0].1, GENESIS_HASH);
    for pair in entries.windows(2) {
        assert_eq!(pair[1].1, pair[0].2, "each entry links to the one before");
    }
    let report = verify(h.repo.store().as_ref()).unwrap();
    assert_eq!(report.broken, None);
    assert_eq!((report.entries, report.practices), (4, 1));
}

fn altered_entry_is_named(h: &Harness) {
    append(h, "Y00001", 5);
    drop_triggers(h);
    let changed = exec(
        h,
        "UPDATE audit_log SET entry = REPLACE(entry, '\"outcome\":\"success\"', '\"outcome\":\"failed\"') \
         WHERE practice = ? AND seq = 3",
        &[SqlValue::from("Y00001")],
    )
    .unwrap();
    assert_eq!(changed, 1);
    let broken = verify(h.repo.store().as_ref())
        .unwrap()
        .broken
        .expect("a break");
    assert_eq!(
        (broken.practice.as_str(), broken.seq, broken.kind),
        ("Y00001", 3, BreakKind::Altered)
    );
    let text = broken.to_string();
    assert!(
        text.contains("entry 3") && text.contains("Y00001"),
        "{text}"
    );

    // Rewriting the searchable column alone is caught as well.
    append(h, "Y00002", 2);
    exec(
        h,
        "UPDATE audit_log SET actor = 'someone-else' WHERE practice = ? AND seq = 2",
        &[SqlValue::from("Y00002")],
    )
    .unwrap();
    exec(
        h,
        "DELETE FROM audit_log WHERE practice = ?",
        &[SqlValue::from("Y00001")],
    )
    .unwrap();
    exec(
        h,
        "DELETE FROM audit_head WHERE practice = ?",
        &[SqlValue::from("Y00001")],
    )
    .unwrap();
    let broken = verify(h.repo.store().as_ref())
        .unwrap()
        .broken
        .expect("a break");
    assert_eq!(
        (broken.practice.as_str(), broken.seq, broken.kind),
        ("Y00002", 2, BreakKind::Altered)
    );
}

fn deleted_entries_are_named(h: &Harness) {
    append(h, "Y00001", 5);
    append(h, "Y00002", 4);
    drop_triggers(h);
    exec(
        h,
        "DELETE FROM audit_log WHERE practice = ? AND seq = 3",
        &[SqlValue::from("Y00001")],
    )
    .unwrap();
    let report = verify(h.repo.store().as_ref()).unwrap();
    let broken = report.broken.expect("a break");
    assert_eq!(
        (broken.practice.as_str(), broken.seq, broken.kind),
        ("Y00001", 3, BreakKind::Deleted)
    );
    assert!(broken.to_string().contains("entry 3"), "{broken}");

    // Deleting the newest entries leaves no gap: the head shows them missing.
    exec(
        h,
        "DELETE FROM audit_log WHERE practice = ?",
        &[SqlValue::from("Y00001")],
    )
    .unwrap();
    exec(
        h,
        "DELETE FROM audit_head WHERE practice = ?",
        &[SqlValue::from("Y00001")],
    )
    .unwrap();
    exec(
        h,
        "DELETE FROM audit_log WHERE practice = ? AND seq >= 3",
        &[SqlValue::from("Y00002")],
    )
    .unwrap();
    let broken = verify(h.repo.store().as_ref())
        .unwrap()
        .broken
        .expect("a break");
    assert_eq!(
        (broken.practice.as_str(), broken.seq, broken.kind),
        ("Y00002", 3, BreakKind::Deleted)
    );
}

/// A forged entry, hashed correctly over `prev_hash`, as an attacker who read the code
/// would write it.
fn forge(h: &Harness, practice: &str, seq: i64, prev_hash: &str) {
    let origin = Origin::of(&system_at(practice));
    let record = read_of("Patient", "p9", "p9");
    let entry = Entry::new(seq, &origin, &record);
    let json = entry.canonical_json();
    let hash = chain_hash(prev_hash, &json);
    exec(
        h,
        "INSERT INTO audit_log (practice, seq, recorded, prev_hash, hash, event, outcome, actor, \
         client_id, entity_count, entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            SqlValue::from(practice),
            SqlValue::Int(seq),
            SqlValue::Int(entry.recorded),
            SqlValue::from(prev_hash),
            SqlValue::from(hash),
            SqlValue::from("read"),
            SqlValue::from("success"),
            SqlValue::from(entry.actor.id.as_str()),
            SqlValue::Null,
            SqlValue::Int(1),
            SqlValue::from(json),
        ],
    )
    .unwrap();
}

fn inserted_entries_are_named(h: &Harness) {
    // Beyond the head, perfectly chained: only the head gives it away.
    append(h, "Y00001", 3);
    drop_triggers(h);
    let last_hash = chain(h, "Y00001")[2].2.clone();
    forge(h, "Y00001", 4, &last_hash);
    let broken = verify(h.repo.store().as_ref())
        .unwrap()
        .broken
        .expect("a break");
    assert_eq!(
        (broken.practice.as_str(), broken.seq, broken.kind),
        ("Y00001", 4, BreakKind::Inserted)
    );

    // In place of a real entry: consistent in itself, but not linked to its predecessor.
    append(h, "Y00000", 4);
    exec(
        h,
        "DELETE FROM audit_log WHERE practice = ? AND seq = 2",
        &[SqlValue::from("Y00000")],
    )
    .unwrap();
    forge(h, "Y00000", 2, GENESIS_HASH);
    let broken = verify(h.repo.store().as_ref())
        .unwrap()
        .broken
        .expect("a break");
    assert_eq!(
        (broken.practice.as_str(), broken.seq, broken.kind),
        ("Y00000", 2, BreakKind::Inserted)
    );
}

fn updates_and_deletes_are_refused(h: &Harness) {
    append(h, &h.practice, 3);
    let practice = [SqlValue::from(h.practice.as_str())];
    for sql in [
        "UPDATE audit_log SET outcome = 'failed' WHERE practice = ?",
        "DELETE FROM audit_log WHERE practice = ?",
        "UPDATE audit_patients SET patient_id = 'someone' WHERE practice = ?",
        "DELETE FROM audit_patients WHERE practice = ?",
    ] {
        let err = exec(h, sql, &practice).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let report = verify(h.repo.store().as_ref()).unwrap();
    assert_eq!((report.entries, report.broken), (3, None));
    let patients = query(
        h,
        "SELECT COUNT(*) FROM audit_patients WHERE practice = ?",
        &practice,
    );
    assert_eq!(patients[0][0].as_i64(), Some(3));
}

fn concurrent_records_all_land_in_one_chain(h: &Harness) {
    const THREADS: usize = 8;
    const CALLS: usize = 15;
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let audit = h.repo.audit().clone();
            let ctx = clinician(h, &format!("u{t}"), None);
            scope.spawn(move || {
                for i in 0..CALLS {
                    let records = vec![
                        read_of("Observation", &format!("o{t}-{i}"), "p1"),
                        read_of("Patient", "p1", "p1"),
                    ];
                    audit.record(&ctx, records).unwrap();
                }
            });
        }
    });
    let report = verify(h.repo.store().as_ref()).unwrap();
    assert_eq!(report.broken, None);
    assert_eq!(report.entries, (THREADS * CALLS * 2) as u64);
    let bundle = search(h, &h.ctx(), &[("agent", "u3"), ("_count", "0")]);
    assert_eq!(bundle["total"], CALLS * 2);
}

/// Writers appending in their own transactions at once (PostgreSQL runs them in
/// parallel): the head lock makes them chain one after the other.
fn concurrent_write_transactions_chain_in_order(h: &Harness) {
    const THREADS: usize = 8;
    const WRITES: usize = 10;
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            scope.spawn(move || {
                let ctx = clinician(h, &format!("u{t}"), None);
                for i in 0..WRITES {
                    let mut tx = h.repo.store().begin(&ctx, TxMode::Write).unwrap();
                    let record = AuditRecord::new("create", Action::Create, Outcome::Success)
                        .entity(format!("Observation/o{t}-{i}"));
                    AuditLog::append_in(tx.as_mut(), &ctx, &[record]).unwrap();
                    tx.commit().unwrap();
                }
            });
        }
    });
    let report = verify(h.repo.store().as_ref()).unwrap();
    assert_eq!(
        (report.entries, report.broken),
        ((THREADS * WRITES) as u64, None)
    );
}

fn practices_have_independent_chains(h: &Harness) {
    let a = system_at("Y00001");
    let b = system_at("Y00002");
    for ctx in [&a, &b, &a, &b, &a] {
        h.repo
            .audit()
            .record(ctx, vec![read_of("Patient", "p1", "p1")])
            .unwrap();
    }
    let seqs = |p| chain(h, p).iter().map(|e| e.0).collect::<Vec<_>>();
    assert_eq!(seqs("Y00001"), [1, 2, 3]);
    assert_eq!(seqs("Y00002"), [1, 2]);
    assert_eq!(chain(h, "Y00002")[0].1, GENESIS_HASH);
    let report = verify(h.repo.store().as_ref()).unwrap();
    assert_eq!(
        (report.entries, report.practices, report.broken),
        (5, 2, None)
    );
    // Each practice reads only its own.
    let bundle = search(h, &b.clone().with_access(Access::system()), &[]);
    assert_eq!(bundle["total"], 2);
}

fn audit_event_says_who_what_when_where_and_how(h: &Harness) {
    let mut ctx = clinician(h, "u1", Some("app-1"));
    ctx.access = ctx
        .access
        .with_break_glass("patient unconscious in A&E")
        .unwrap();
    let before = crate::time::now_micros();
    let record = AuditRecord::new("search-type", Action::Execute, Outcome::Refused)
        .entity("Observation/o1/_history/2")
        .patient("p1")
        .query("code=1234-5")
        .detail("the record is restricted");
    h.repo.audit().record(&ctx, vec![record]).unwrap();

    let bundle = search(h, &h.ctx(), &[]);
    assert_eq!(validation_errors(&bundle), vec![], "{bundle:#}");
    assert_eq!(bundle["total"], 1);
    let event = &resources(&bundle)[0];
    assert_eq!(validation_errors(event), vec![], "{event:#}");
    assert_eq!(event["type"]["code"], "rest");
    assert_eq!(event["subtype"][0]["code"], "search-type");
    assert_eq!(event["action"], "E");
    assert_eq!(
        (&event["outcome"], &event["outcomeDesc"]),
        (&"4".into(), &"the record is restricted".into())
    );
    let recorded = fhir::datetime::parse_range(event["recorded"].as_str().unwrap()).unwrap();
    assert!(recorded.0 >= before - 1_000_000, "{recorded:?} vs {before}");
    let user = &event["agent"][0];
    assert_eq!(user["who"]["reference"], "Practitioner/prac-u1");
    assert_eq!(user["requestor"], true);
    assert_eq!(user["role"][0]["coding"][0]["code"], "R8000");
    assert_eq!(user["network"]["address"], "192.0.2.10");
    let app = &event["agent"][1];
    assert_eq!(
        (&app["who"]["identifier"]["value"], &app["requestor"]),
        (&"app-1".into(), &false.into())
    );
    assert_eq!(
        event["source"]["observer"]["identifier"]["value"],
        h.practice.as_str()
    );
    let purposes: Vec<&Value> = event["purposeOfEvent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["coding"][0]["code"])
        .collect();
    assert_eq!(purposes, [&Value::from("TREAT"), &Value::from("BTG")]);
    let entities = event["entity"].as_array().unwrap();
    assert_eq!(
        entities[0]["what"]["reference"],
        "Observation/o1/_history/2"
    );
    let patient = entities
        .iter()
        .find(|e| e["role"]["code"] == "1")
        .expect("a patient entity");
    assert_eq!(patient["what"]["reference"], "Patient/p1");
    assert_eq!(
        patient["detail"][0]["valueString"],
        "patient unconscious in A&E"
    );
    let query = entities
        .iter()
        .find(|e| e["role"]["code"] == "24")
        .expect("a query entity");
    assert_eq!(query["query"], "Y29kZT0xMjM0LTU="); // base64 of code=1234-5

    let id = event["id"].as_str().unwrap();
    let read = h.repo.audit().read_event(&h.ctx(), id).unwrap();
    assert_eq!(read.json().as_ref(), Some(event));
    let elsewhere = h.repo.audit().read_event(&h.other_practice_ctx(), id);
    assert_eq!(elsewhere.map_err(|e| e.status()).err(), Some(404));
}

fn search_by_patient_agent_entity_date_outcome(h: &Harness) {
    let u1 = clinician(h, "u1", None);
    let u2 = clinician(h, "u2", Some("app-2"));
    let audit = h.repo.audit();
    audit
        .record(&u1, vec![read_of("Observation", "o1", "p1")])
        .unwrap(); // 1
    audit
        .record(&u2, vec![read_of("Observation", "o2", "p2")])
        .unwrap(); // 2
    let refused = AuditRecord::new("read", Action::Read, Outcome::Refused)
        .entity("Observation/o1/_history/1")
        .patient("p1");
    audit.record(&u2, vec![refused]).unwrap(); // 3
    let login = AuditRecord::new("login", Action::Execute, Outcome::Success);
    audit.record(&u1, vec![login]).unwrap(); // 4

    let ctx = h.ctx();
    let found = |params: &[(&str, &str)]| ids(&search(h, &ctx, params));
    assert_eq!(found(&[("patient", "Patient/p1")]), ["3", "1"]);
    assert_eq!(found(&[("patient", "p2")]), ["2"]);
    assert_eq!(found(&[("agent", "u2")]), ["3", "2"]);
    assert_eq!(found(&[("agent", "app-2")]), ["3", "2"]);
    assert_eq!(found(&[("agent", "Practitioner/prac-u1")]), ["4", "1"]);
    assert_eq!(found(&[("entity", "Observation/o1")]), ["3", "1"]);
    assert_eq!(found(&[("entity", "Patient/p2")]), ["2"]);
    assert_eq!(found(&[("outcome", "4")]), ["3"]);
    assert_eq!(found(&[("subtype", "login")]), ["4"]);
    assert_eq!(found(&[("agent", "u1"), ("patient", "p1")]), ["1"]);
    let today = crate::time::format_instant(crate::time::now_micros())[..10].to_string();
    assert_eq!(found(&[("date", &format!("ge{today}"))]).len(), 4);
    assert_eq!(found(&[("date", "lt2000-01-01")]), Vec::<String>::new());
    assert_eq!(
        found(&[("date", "2000"), ("agent", "u1")]),
        Vec::<String>::new()
    );

    let req = SearchRequest {
        rtype: Some("AuditEvent".into()),
        params: vec![("given".into(), "smith".into())],
        base_url: h.base_url().into(),
        lenient: false,
    };
    let err = audit.search_events(&ctx, &req.audit_events()).unwrap_err();
    assert_eq!(err.status(), 400);
}

fn search_pages_newest_first(h: &Harness) {
    let ctx = clinician(h, "u1", None);
    for i in 0..5 {
        h.repo
            .audit()
            .record(&ctx, vec![read_of("Observation", &format!("o{i}"), "p1")])
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut params = vec![("_count".to_string(), "2".to_string())];
    loop {
        let refs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let bundle = search(h, &h.ctx(), &refs);
        assert_eq!(bundle["total"], 5);
        seen.extend(ids(&bundle));
        let next = bundle["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next");
        let Some(next) = next else { break };
        let url = next["url"].as_str().unwrap();
        let query = url.split_once('?').unwrap().1;
        params = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    }
    assert_eq!(seen, ["5", "4", "3", "2", "1"]);
}

fn patient_context_sees_only_their_own_entries(h: &Harness) {
    let gp = clinician(h, "u1", None);
    let audit = h.repo.audit();
    audit
        .record(&gp, vec![read_of("Observation", "o1", "p1")])
        .unwrap(); // 1
    audit
        .record(&gp, vec![read_of("Observation", "o2", "p2")])
        .unwrap(); // 2
    let both = AuditRecord::new("search-type", Action::Execute, Outcome::Success)
        .entity("Patient/p1")
        .entity("Patient/p2")
        .patient("p1")
        .patient("p2")
        .query("family=smith");
    audit.record(&gp, vec![both]).unwrap(); // 3

    let scopes = Scopes::parse("patient/AuditEvent.rs").unwrap();
    let portal = RequestContext::new(
        h.practice.clone(),
        Actor::App("portal".into()),
        Purpose::DirectCare,
    )
    .with_access(Access::app("portal", scopes, None, Some("p1".into())));
    let bundle = search(h, &portal, &[]);
    assert_eq!(ids(&bundle), ["3", "1"]);
    let text = bundle.to_string();
    assert!(!text.contains("p2"), "another patient's id leaked: {text}");
    assert!(
        !text.contains("smith"),
        "another patient's search leaked: {text}"
    );
    for event in resources(&bundle) {
        assert_eq!(
            event["agent"][0]["who"]["reference"],
            "Practitioner/prac-u1"
        );
        assert_eq!(validation_errors(&event), vec![]);
    }
    // Nor can the parameters tell whether another patient was part of an entry.
    let none = Vec::<String>::new();
    assert_eq!(ids(&search(h, &portal, &[("patient", "p2")])), none);
    assert_eq!(ids(&search(h, &portal, &[("entity", "Patient/p2")])), none);
    assert_eq!(
        ids(&search(h, &portal, &[("entity", "Observation/o1")])),
        ["1"]
    );
    assert_eq!(ids(&search(h, &portal, &[("entity", "Patient/p1")])), ["1"]);
    let other = audit.read_event(&portal, "2").map_err(|e| e.status());
    assert_eq!(other.err(), Some(404));
    assert!(audit.read_event(&portal, "1").is_ok());
}

fn client_usage_counts_requests_and_resources(h: &Harness) {
    let via_app1 = clinician(h, "u1", Some("app-1"));
    let via_app2 = clinician(h, "u2", Some("app-2"));
    let audit = h.repo.audit();
    let search3 = AuditRecord::new("search-type", Action::Execute, Outcome::Success)
        .entity("Observation/o1")
        .entity("Observation/o2")
        .entity("Observation/o3");
    audit
        .record(&via_app1, vec![search3, read_of("Patient", "p1", "p1")])
        .unwrap();
    let create =
        AuditRecord::new("create", Action::Create, Outcome::Success).entity("Observation/o4");
    audit.record(&via_app1, vec![create]).unwrap();
    audit
        .record(&via_app2, vec![read_of("Patient", "p2", "p2")])
        .unwrap();
    // Without an app: not anyone's usage.
    audit
        .record(
            &clinician(h, "u3", None),
            vec![read_of("Patient", "p3", "p3")],
        )
        .unwrap();

    let usage = audit.client_usage(&h.practice).unwrap();
    let summary: Vec<(&str, u64, u64)> = usage
        .iter()
        .map(|u| (u.client_id.as_str(), u.requests, u.resources_returned))
        .collect();
    assert_eq!(summary, [("app-1", 3, 4), ("app-2", 1, 1)]);
    assert!(usage.iter().all(|u| u.last_used > 0));
    assert_eq!(audit.client_usage("B82002").unwrap(), vec![]);
}

/// The entries recorded for one request id, as (event, outcome, entities, detail).
fn entries_of(h: &Harness, request_id: &str) -> Vec<(String, String, Vec<String>, Option<String>)> {
    query(h, "SELECT entry FROM audit_log ORDER BY seq", &[])
        .into_iter()
        .filter_map(|row| Entry::parse(row[0].as_str()?))
        .filter(|e| e.request_id == request_id)
        .map(|e| (e.event, e.outcome, e.entities, e.detail))
        .collect()
}

/// Every FHIR interaction, allowed or refused, leaves an entry naming what it touched,
/// tied to its request id.
fn every_interaction_leaves_its_entry(h: &Harness) {
    let gp = |n: &str| {
        let mut ctx = clinician(h, "gp1", None);
        ctx.request_id = n.to_string();
        ctx
    };
    let desk = |n: &str| {
        let mut ctx = RequestContext::new(
            h.practice.clone(),
            Actor::User("desk1".into()),
            Purpose::Operations,
        )
        .with_access(Access::staff(StaffMember {
            user_id: "desk1".into(),
            role: Role::Receptionist,
            practitioner: None,
        }));
        ctx.request_id = n.to_string();
        ctx
    };
    let patient = serde_json::json!({"resourceType": "Patient", "name": [{"family": "Audited"}]});
    let p = h
        .repo
        .create(&gp("create"), "Patient", patient.clone(), None)
        .unwrap()
        .resource
        .id;
    let obs = serde_json::json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "pulse"}, "subject": {"reference": format!("Patient/{p}")}});
    let o = h
        .repo
        .create(&gp("create-obs"), "Observation", obs.clone(), None)
        .unwrap()
        .resource
        .id;
    h.repo.read(&gp("read"), "Patient", &p).unwrap();
    h.repo.vread(&gp("vread"), "Patient", &p, "1").unwrap();
    h.repo
        .update(
            &gp("update"),
            "Patient",
            &p,
            super::with_id(patient, &p),
            None,
        )
        .unwrap();
    let search = |ctx: &RequestContext, rtype: Option<&str>| {
        h.repo
            .search(
                ctx,
                &SearchRequest {
                    rtype: rtype.map(str::to_string),
                    params: vec![("_id".into(), o.clone())],
                    base_url: h.base_url().into(),
                    lenient: false,
                },
            )
            .unwrap()
    };
    search(&gp("search-type"), Some("Observation"));
    search(&gp("search-system"), None);
    h.repo
        .history(
            &gp("history"),
            &crate::repository::HistoryRequest {
                rtype: Some("Patient".into()),
                id: Some(p.clone()),
                params: vec![],
                base_url: h.base_url().into(),
            },
        )
        .unwrap();
    h.repo
        .everything(&gp("everything"), &p, &[], h.base_url())
        .unwrap();
    let refused = h.repo.read(&desk("refused"), "Observation", &o);
    assert_eq!(refused.err().map(|e| e.status()), Some(403));
    h.repo.delete(&gp("delete"), "Observation", &o).unwrap();

    let patient_v = |v: u32| format!("Patient/{p}/_history/{v}");
    let expect: Vec<(&str, &str, &str, Vec<String>)> = vec![
        ("create", "create", "success", vec![patient_v(1)]),
        ("read", "read", "success", vec![format!("Patient/{p}")]),
        (
            "vread",
            "vread",
            "success",
            vec![format!("Patient/{p}/_history/1")],
        ),
        ("update", "update", "success", vec![patient_v(2)]),
        (
            "search-type",
            "search-type",
            "success",
            vec![format!("Observation/{o}")],
        ),
        (
            "search-system",
            "search-system",
            "success",
            vec![format!("Observation/{o}")],
        ),
        (
            "everything",
            "everything",
            "success",
            vec![format!("Patient/{p}"), format!("Observation/{o}")],
        ),
        ("refused", "read", "refused", vec![]),
        (
            "delete",
            "delete",
            "success",
            vec![format!("Observation/{o}/_history/2")],
        ),
    ];
    for (request, event, outcome, entities) in expect {
        let found = entries_of(h, request);
        let entry = found
            .iter()
            .find(|e| e.0 == event)
            .unwrap_or_else(|| panic!("no '{event}' entry for request {request}: {found:?}"));
        assert_eq!(entry.1, outcome, "{request}: {entry:?}");
        for e in &entities {
            // A read may name the version it returned.
            let named = entry
                .2
                .iter()
                .any(|x| x == e || x.starts_with(&format!("{e}/_history/")));
            assert!(named, "{request}: {e} missing from {entry:?}");
        }
        if outcome == "refused" {
            assert!(
                entry.3.as_deref().is_some_and(|d| !d.is_empty()),
                "a refusal says why: {entry:?}"
            );
        }
    }
    let history = entries_of(h, "history");
    assert!(
        history
            .iter()
            .any(|e| e.0.starts_with("history") && e.2.len() == 2),
        "history names both versions: {history:?}"
    );
}

/// A page's reads audited together (one commit) still leave one entry per read,
/// refusals included, all durable by the time the page has its data.
fn reads_audited_together_each_keep_their_entry(h: &Harness) {
    let mut gp = clinician(h, "gp1", None);
    gp.request_id = "page".into();
    let patient = serde_json::json!({"resourceType": "Patient", "name": [{"family": "Paged"}]});
    let p = h
        .repo
        .create(&system_at(&h.practice), "Patient", patient, None)
        .unwrap()
        .resource
        .id;
    let search = |ctx: &RequestContext, rtype: &str| {
        h.repo.search_first_page(
            ctx,
            &SearchRequest {
                rtype: Some(rtype.into()),
                params: vec![("_id".into(), p.clone())],
                base_url: h.base_url().into(),
                lenient: false,
            },
        )
    };
    let found = h
        .repo
        .audited_together(&gp, |ctx| {
            // Side by side, as the record page runs them.
            std::thread::scope(|s| {
                let a = s.spawn(|| search(ctx, "Patient"));
                let b = s.spawn(|| h.repo.read(ctx, "Patient", &p));
                let hidden = s.spawn(|| h.repo.read(ctx, "Patient", "no-such-patient"));
                assert_eq!(hidden.join().unwrap().err().map(|e| e.status()), Some(404));
                b.join().unwrap()?;
                a.join().unwrap()
            })
        })
        .unwrap();
    assert_eq!(ids(&found), vec![p.clone()]);
    let mut events: Vec<_> = entries_of(h, "page")
        .into_iter()
        .map(|(event, outcome, entities, _)| (event, outcome, entities))
        .collect();
    events.sort();
    assert_eq!(
        events,
        vec![
            (
                "read".into(),
                "success".into(),
                vec![format!("Patient/{p}/_history/1")]
            ),
            (
                "search-type".into(),
                "success".into(),
                vec![format!("Patient/{p}")]
            ),
        ],
        "one entry per read, written before the page got its data"
    );
    assert_eq!(verify(h.repo.store().as_ref()).unwrap().broken, None);

    // A refusal inside is audited too, and its error is the caller's.
    let mut desk = RequestContext::new(
        h.practice.clone(),
        Actor::User("desk1".into()),
        Purpose::Operations,
    )
    .with_access(Access::staff(StaffMember {
        user_id: "desk1".into(),
        role: Role::Receptionist,
        practitioner: None,
    }));
    desk.request_id = "desk-page".into();
    let refused = h
        .repo
        .audited_together(&desk, |ctx| search(ctx, "Observation"));
    assert_eq!(refused.err().map(|e| e.status()), Some(403));
    let entries = entries_of(h, "desk-page");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].1, "refused");
}
