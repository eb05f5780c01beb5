//! The database schema, the same on both backends (types adapted per dialect).
//!
//! - `resources`: which version of each resource is current (one row per practice, type
//!   and id, kept after deletion with `deleted` set so reads can answer 410 Gone); its
//!   `pk` anchors the search index rows.
//! - `resource_versions`: every version ever written, with its body: the only copy of
//!   each body (reads join on the unique key), so a write stores its JSON once. The unique
//!   key on (practice, rtype, id, version) is the concurrency control: of two writers
//!   that both read version N, only one can insert N+1.
//! - `idx_*`: search index rows of current, non-deleted versions, one table per search
//!   parameter type, replaced on every write. `res_pk` points at `resources.pk`; each row
//!   carries its resource's `practice`, and every index leads with it, so a search on a
//!   database of many practices reads only its own practice's rows (migration 2).
//!   Dates are indexed as inclusive ranges `[lo, hi]` in microseconds since the Unix
//!   epoch (UTC), which makes FHIR's precision and prefix rules simple comparisons.
//! - `search_snapshots` / `search_snapshot_rows`: the ordered result of a search that
//!   spans several pages, so paging is stable while others write. `owner` names who
//!   made it (actor and access), so no one else can page through it.
//! - Access tags on `resources` (see [`crate::access::tags`]): `conf` (0 normal,
//!   1 restricted, 2 very restricted), `patient_id` (the compartment's patient) and
//!   `sealed_by`; `patient_flags` holds the `sensitive` and `dissent` flags of patients,
//!   each under the resource that sets it (`source`, `Patient/id` or `Consent/id`).
//!
//! Timestamps (`last_updated`, `created`) are microseconds since the Unix epoch.
//!
//! The schema is versioned ([`crate::migrate`]): [`COMPONENT`] lists its migrations.

use crate::backend::{Dialect, SqlValue, Store, StoreError, Transaction};
use crate::migrate::{self, Component, MigrateError, Migration};

/// The record store's tables.
pub const COMPONENT: Component = Component {
    name: "store",
    migrations: &[
        Migration {
            version: 1,
            name: "baseline: resources, versions, search index, snapshots, access tags",
            apply: baseline,
        },
        Migration {
            version: 2,
            name: "practice in every search index table, leading every index",
            apply: practice_in_index_tables,
        },
    ],
};

/// Brings the store's and the audit trail's tables up to date (the backends call it
/// once opened). Fails, naming both versions, on a schema newer than this binary's.
pub fn migrate_store(store: &dyn Store) -> Result<(), MigrateError> {
    migrate::migrate(store, &COMPONENT)?;
    migrate::migrate(store, &audit::schema::COMPONENT)
}

/// Migration 1: the schema as it was before versions. On a database written before then
/// (no `schema_migrations` yet) the tables are there already and the statements create
/// nothing; [`upgrade`] then adds what older releases lacked, once, as part of adopting
/// the database as version 1.
fn baseline(tx: &mut dyn Transaction, dialect: Dialect) -> Result<(), StoreError> {
    migrate::execute_all(tx, ddl(dialect))?;
    upgrade(tx, dialect)
}

/// Tables and indexes as portable SQL (the baseline); `{pk}` and `{bool}` are filled in
/// per dialect.
const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS resources (
        pk {pk},
        practice TEXT NOT NULL,
        rtype TEXT NOT NULL,
        id TEXT NOT NULL,
        version BIGINT NOT NULL,
        last_updated BIGINT NOT NULL,
        deleted {bool} NOT NULL,
        conf BIGINT NOT NULL DEFAULT 0,
        patient_id TEXT,
        sealed_by TEXT,
        UNIQUE (practice, rtype, id)
    )",
    "CREATE INDEX IF NOT EXISTS resources_by_type_updated ON resources (practice, rtype, last_updated)",
    "CREATE TABLE IF NOT EXISTS resource_versions (
        seq {pk},
        res_pk BIGINT NOT NULL,
        practice TEXT NOT NULL,
        rtype TEXT NOT NULL,
        id TEXT NOT NULL,
        version BIGINT NOT NULL,
        last_updated BIGINT NOT NULL,
        method TEXT NOT NULL,
        body TEXT,
        UNIQUE (practice, rtype, id, version)
    )",
    "CREATE INDEX IF NOT EXISTS resource_versions_by_updated ON resource_versions (practice, last_updated)",
    "CREATE INDEX IF NOT EXISTS resource_versions_by_type_updated ON resource_versions (practice, rtype, last_updated)",
    "CREATE TABLE IF NOT EXISTS idx_string (
        res_pk BIGINT NOT NULL, rtype TEXT NOT NULL, param TEXT NOT NULL,
        norm TEXT NOT NULL, exact TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idx_string_lookup ON idx_string (rtype, param, norm)",
    "CREATE INDEX IF NOT EXISTS idx_string_res ON idx_string (res_pk)",
    "CREATE TABLE IF NOT EXISTS idx_token (
        res_pk BIGINT NOT NULL, rtype TEXT NOT NULL, param TEXT NOT NULL,
        system TEXT, code TEXT, text TEXT)",
    "CREATE INDEX IF NOT EXISTS idx_token_lookup ON idx_token (rtype, param, code, system)",
    "CREATE INDEX IF NOT EXISTS idx_token_res ON idx_token (res_pk)",
    "CREATE TABLE IF NOT EXISTS idx_date (
        res_pk BIGINT NOT NULL, rtype TEXT NOT NULL, param TEXT NOT NULL,
        lo BIGINT NOT NULL, hi BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idx_date_lookup ON idx_date (rtype, param, lo, hi)",
    "CREATE INDEX IF NOT EXISTS idx_date_res ON idx_date (res_pk)",
    "CREATE TABLE IF NOT EXISTS idx_number (
        res_pk BIGINT NOT NULL, rtype TEXT NOT NULL, param TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idx_number_lookup ON idx_number (rtype, param, value)",
    "CREATE INDEX IF NOT EXISTS idx_number_res ON idx_number (res_pk)",
    "CREATE TABLE IF NOT EXISTS idx_quantity (
        res_pk BIGINT NOT NULL, rtype TEXT NOT NULL, param TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL, system TEXT, code TEXT, unit TEXT)",
    "CREATE INDEX IF NOT EXISTS idx_quantity_lookup ON idx_quantity (rtype, param, value)",
    "CREATE INDEX IF NOT EXISTS idx_quantity_res ON idx_quantity (res_pk)",
    "CREATE TABLE IF NOT EXISTS idx_reference (
        res_pk BIGINT NOT NULL, rtype TEXT NOT NULL, param TEXT NOT NULL,
        target_type TEXT, target_id TEXT, url TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idx_reference_lookup ON idx_reference (rtype, param, target_id, target_type)",
    "CREATE INDEX IF NOT EXISTS idx_reference_target ON idx_reference (target_id, target_type)",
    "CREATE INDEX IF NOT EXISTS idx_reference_res ON idx_reference (res_pk)",
    "CREATE TABLE IF NOT EXISTS idx_uri (
        res_pk BIGINT NOT NULL, rtype TEXT NOT NULL, param TEXT NOT NULL, uri TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idx_uri_lookup ON idx_uri (rtype, param, uri)",
    "CREATE INDEX IF NOT EXISTS idx_uri_res ON idx_uri (res_pk)",
    "CREATE TABLE IF NOT EXISTS patient_flags (
        practice TEXT NOT NULL, patient_id TEXT NOT NULL, flag TEXT NOT NULL, source TEXT NOT NULL,
        PRIMARY KEY (practice, patient_id, flag, source))",
    "CREATE INDEX IF NOT EXISTS patient_flags_by_source ON patient_flags (practice, source)",
    "CREATE TABLE IF NOT EXISTS search_snapshots (
        id TEXT PRIMARY KEY, practice TEXT NOT NULL, created BIGINT NOT NULL,
        total BIGINT NOT NULL, query TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS search_snapshots_by_created ON search_snapshots (created)",
    "CREATE TABLE IF NOT EXISTS search_snapshot_rows (
        snapshot_id TEXT NOT NULL, pos BIGINT NOT NULL, res_pk BIGINT NOT NULL, version BIGINT NOT NULL,
        PRIMARY KEY (snapshot_id, pos))",
];

/// The index tables, by search parameter type; each has `practice, res_pk, rtype, param`.
pub const INDEX_TABLES: &[&str] = &[
    "idx_string",
    "idx_token",
    "idx_date",
    "idx_number",
    "idx_quantity",
    "idx_reference",
    "idx_uri",
];

/// The baseline's statements (idempotent).
fn ddl(dialect: Dialect) -> Vec<String> {
    let (pk, boolean) = match dialect {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER"),
        Dialect::Postgres => ("BIGSERIAL PRIMARY KEY", "BOOLEAN"),
    };
    TABLES
        .iter()
        .map(|s| s.replace("{pk}", pk).replace("{bool}", boolean))
        .collect()
}

/// An index table: its name, value columns and indexes (name suffix, columns).
type IndexTableShape = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Each index table's value columns (after `res_pk, rtype, param`) and its indexes as
/// (name suffix, columns), as migration 2 leaves them.
const INDEX_TABLE_SHAPES: [IndexTableShape; 7] = [
    (
        "idx_string",
        "norm TEXT NOT NULL, exact TEXT NOT NULL",
        &[("lookup", "practice, rtype, param, norm")],
    ),
    (
        "idx_token",
        "system TEXT, code TEXT, text TEXT",
        &[("lookup", "practice, rtype, param, code, system")],
    ),
    (
        "idx_date",
        "lo BIGINT NOT NULL, hi BIGINT NOT NULL",
        &[("lookup", "practice, rtype, param, lo, hi")],
    ),
    (
        "idx_number",
        "value DOUBLE PRECISION NOT NULL",
        &[("lookup", "practice, rtype, param, value")],
    ),
    (
        "idx_quantity",
        "value DOUBLE PRECISION NOT NULL, system TEXT, code TEXT, unit TEXT",
        &[("lookup", "practice, rtype, param, value")],
    ),
    (
        "idx_reference",
        "target_type TEXT, target_id TEXT, url TEXT NOT NULL",
        &[
            ("lookup", "practice, rtype, param, target_id, target_type"),
            ("target", "practice, target_id, target_type"),
        ],
    ),
    (
        "idx_uri",
        "uri TEXT NOT NULL",
        &[("lookup", "practice, rtype, param, uri")],
    ),
];

/// Migration 2: every index table gets its resource's `practice`, and every index leads
/// with it. Each table is rebuilt (new table filled from the old joined to `resources`,
/// old dropped, new renamed): the same SQL on both backends, no column default left
/// behind, and on PostgreSQL no dead row per index row as an UPDATE would leave.
fn practice_in_index_tables(tx: &mut dyn Transaction, _: Dialect) -> Result<(), StoreError> {
    for (table, values, indexes) in INDEX_TABLE_SHAPES {
        let value_columns: Vec<&str> = values
            .split(", ")
            .map(|c| c.split(' ').next().unwrap_or_default())
            .collect();
        let copied = value_columns
            .iter()
            .map(|c| format!("x.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        tx.execute(
            &format!(
                "CREATE TABLE {table}_new (practice TEXT NOT NULL, res_pk BIGINT NOT NULL, \
                 rtype TEXT NOT NULL, param TEXT NOT NULL, {values})"
            ),
            &[],
        )?;
        tx.execute(
            &format!(
                "INSERT INTO {table}_new (practice, res_pk, rtype, param, {}) \
                 SELECT r.practice, x.res_pk, x.rtype, x.param, {copied} \
                 FROM {table} x JOIN resources r ON r.pk = x.res_pk",
                value_columns.join(", ")
            ),
            &[],
        )?;
        tx.execute(&format!("DROP TABLE {table}"), &[])?;
        tx.execute(&format!("ALTER TABLE {table}_new RENAME TO {table}"), &[])?;
        for (suffix, columns) in indexes.iter().chain(&[("res", "practice, res_pk")]) {
            tx.execute(
                &format!("CREATE INDEX {table}_{suffix} ON {table} ({columns})"),
                &[],
            )?;
        }
    }
    Ok(())
}

/// Columns added since the first schema: (table, column, definition).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("resources", "conf", "BIGINT NOT NULL DEFAULT 0"),
    ("resources", "patient_id", "TEXT"),
    ("resources", "sealed_by", "TEXT"),
    ("search_snapshots", "owner", "TEXT NOT NULL DEFAULT ''"),
];

/// Brings a database created by a release from before versions up to date (part of the
/// baseline, idempotent): adds the missing columns and their index, and fills
/// `patient_id` of existing resources from their reference index rows.
fn upgrade(tx: &mut dyn Transaction, dialect: Dialect) -> Result<(), StoreError> {
    let mut added_patient_id = false;
    let mut added_conf = false;
    for (table, column, definition) in ADDED_COLUMNS {
        if !migrate::has_column(tx, dialect, table, column)? {
            tx.execute(
                &format!("ALTER TABLE {table} ADD COLUMN {column} {definition}"),
                &[],
            )?;
            added_patient_id |= *column == "patient_id";
            added_conf |= *table == "resources" && *column == "conf";
        }
    }
    tx.execute(
        "CREATE INDEX IF NOT EXISTS resources_by_patient ON resources (practice, patient_id)",
        &[],
    )?;
    if added_patient_id {
        backfill_patient_ids(tx)?;
    }
    if added_conf {
        backfill_sensitivity(tx)?;
    }
    Ok(())
}

/// Tags the sensitive records already stored, by the rules new writes use
/// ([`crate::access::tags`]): confidentiality from their `_security` labels and sensitive
/// SNOMED CT codes (both already in the token index), and the patient flags of current
/// Patients and Consents. Entries sealed before there were seals have no author: only
/// break-glass opens them.
fn backfill_sensitivity(tx: &mut dyn Transaction) -> Result<(), StoreError> {
    use crate::access::{CONFIDENTIALITY_SYSTEM, tags};
    let labelled = |code: &str| {
        format!(
            "SELECT res_pk FROM idx_token WHERE param = '_security' AND system = '{CONFIDENTIALITY_SYSTEM}' AND code = '{code}'"
        )
    };
    let codes = tags::SENSITIVE_CONCEPTS
        .iter()
        .map(|(code, _)| format!("'{code}'"))
        .collect::<Vec<_>>()
        .join(", ");
    tx.execute(
        &format!(
            "UPDATE resources SET conf = 1 WHERE pk IN ({}) OR pk IN (SELECT res_pk FROM idx_token \
             WHERE param IN ('code', 'category') AND system = 'http://snomed.info/sct' AND code IN ({codes}))",
            labelled("R")
        ),
        &[],
    )?;
    tx.execute(
        &format!(
            "UPDATE resources SET conf = 2 WHERE pk IN ({})",
            labelled("V")
        ),
        &[],
    )?;
    let rows = tx.query(
        "SELECT r.practice, r.rtype, r.id, r.patient_id, v.body FROM resources r \
         JOIN resource_versions v ON v.practice = r.practice AND v.rtype = r.rtype AND v.id = r.id AND v.version = r.version \
         WHERE r.rtype IN ('Patient', 'Consent') AND NOT r.deleted",
        &[],
    )?;
    for row in rows {
        let text = |i: usize| row[i].as_str().unwrap_or_default();
        let Ok(body) = serde_json::from_str::<serde_json::Value>(text(4)) else {
            continue;
        };
        let Some(source) = tags::flag_source(text(1), text(2)) else {
            continue;
        };
        tx.execute(
            "DELETE FROM patient_flags WHERE practice = ? AND source = ?",
            &[text(0).into(), source.as_str().into()],
        )?;
        for flag in tags::flags(text(1), &body, row[3].as_str()) {
            tx.execute(
                "INSERT INTO patient_flags (practice, patient_id, flag, source) VALUES (?, ?, ?, ?)",
                &[
                    text(0).into(),
                    flag.patient_id.as_str().into(),
                    flag.flag.into(),
                    source.as_str().into(),
                ],
            )?;
        }
    }
    Ok(())
}

/// Sets the compartment patient of every existing resource, by the same rule new
/// writes use ([`crate::access::tags::compartment_patient`]).
fn backfill_patient_ids(tx: &mut dyn Transaction) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE resources SET patient_id = id WHERE rtype = 'Patient'",
        &[],
    )?;
    let rows = tx.query(
        "SELECT x.res_pk, x.rtype, x.param, x.target_id FROM idx_reference x \
         WHERE x.target_type = 'Patient' AND x.rtype <> 'Patient' ORDER BY x.res_pk",
        &[],
    )?;
    let mut start = 0;
    while start < rows.len() {
        let pk = rows[start][0].as_i64();
        let end = start
            + rows[start..]
                .iter()
                .take_while(|r| r[0].as_i64() == pk)
                .count();
        let group = &rows[start..end];
        let rtype = group[0][1].as_str().unwrap_or_default();
        let refs = group.iter().map(|r| {
            (
                r[2].as_str().unwrap_or_default(),
                Some("Patient"),
                r[3].as_str(),
            )
        });
        if let (Some(pk), Some(patient)) = (
            pk,
            crate::access::tags::compartment_patient(rtype, "", refs),
        ) {
            tx.execute(
                "UPDATE resources SET patient_id = ? WHERE pk = ?",
                &[SqlValue::from(patient), pk.into()],
            )?;
        }
        start = end;
    }
    Ok(())
}
