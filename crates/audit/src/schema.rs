//! The audit tables, their indexes, and the triggers that make them append-only.
//!
//! - `audit_log`: the entries, one chain per practice, keyed by (practice, seq). `entry`
//!   is the canonical JSON that is hashed; the other columns are copies to search by.
//! - `audit_patients`: which entries concern which patient ("who looked at my record").
//! - `audit_head`: each chain's last seq and hash. Writers lock it to chain in order,
//!   and `verify` compares it with the last entry, which catches deleting the newest
//!   entries.
//!
//! UPDATE and DELETE of `audit_log` and `audit_patients` are refused by triggers. Someone
//! with full database access can still drop them; the hash chain is what shows that.

use crate::backend::{Dialect, StoreError, Transaction};
use db::migrate::{Component, Migration, execute_all};

/// The audit trail's tables (migrated with the store's by `schema::migrate_store`).
pub const COMPONENT: Component = Component {
    name: "audit",
    migrations: &[Migration {
        version: 1,
        name: "baseline: audit_log, audit_patients, audit_head, append-only triggers",
        apply: baseline,
    }],
};

fn baseline(tx: &mut dyn Transaction, dialect: Dialect) -> Result<(), StoreError> {
    execute_all(tx, ddl(dialect))
}

const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS audit_log (
        practice TEXT NOT NULL,
        seq BIGINT NOT NULL,
        recorded BIGINT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        event TEXT NOT NULL,
        outcome TEXT NOT NULL,
        actor TEXT NOT NULL,
        client_id TEXT,
        entity_count BIGINT NOT NULL,
        entry TEXT NOT NULL,
        PRIMARY KEY (practice, seq)
    )",
    "CREATE INDEX IF NOT EXISTS audit_log_by_recorded ON audit_log (practice, recorded)",
    "CREATE INDEX IF NOT EXISTS audit_log_by_actor ON audit_log (practice, actor, seq)",
    "CREATE INDEX IF NOT EXISTS audit_log_by_client ON audit_log (practice, client_id, seq)",
    "CREATE TABLE IF NOT EXISTS audit_patients (
        practice TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (practice, patient_id, seq)
    )",
    "CREATE TABLE IF NOT EXISTS audit_head (
        practice TEXT PRIMARY KEY,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL
    )",
];

/// The append-only tables, each guarded by triggers.
pub const APPEND_ONLY_TABLES: [&str; 2] = ["audit_log", "audit_patients"];

/// The SQLite trigger names guarding `table` (one per refused statement).
pub fn sqlite_triggers(table: &str) -> [String; 2] {
    [format!("{table}_no_update"), format!("{table}_no_delete")]
}

/// The PostgreSQL trigger names guarding `table` (rows, then TRUNCATE).
pub fn postgres_triggers(table: &str) -> [String; 2] {
    [
        format!("{table}_append_only"),
        format!("{table}_no_truncate"),
    ]
}

/// The audit tables, triggers and indexes (idempotent): the baseline.
fn ddl(dialect: Dialect) -> Vec<String> {
    let mut statements: Vec<String> = TABLES.iter().map(|s| s.to_string()).collect();
    match dialect {
        Dialect::Sqlite => statements.extend(APPEND_ONLY_TABLES.iter().flat_map(|t| sqlite(t))),
        Dialect::Postgres => {
            statements.push(POSTGRES_REFUSE.to_string());
            statements.extend(APPEND_ONLY_TABLES.iter().flat_map(|t| postgres(t)));
        }
    }
    statements
}

fn sqlite(table: &str) -> Vec<String> {
    let [no_update, no_delete] = sqlite_triggers(table);
    vec![
        format!(
            "CREATE TRIGGER IF NOT EXISTS {no_update} BEFORE UPDATE ON {table}
             BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE of {table} refused'); END"
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {no_delete} BEFORE DELETE ON {table}
             BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE of {table} refused'); END"
        ),
    ]
}

/// One function raises for every refused statement; it names the statement and table.
const POSTGRES_REFUSE: &str = "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail is append-only: % of % refused', TG_OP, TG_TABLE_NAME;
    END
    $$";

fn postgres(table: &str) -> Vec<String> {
    let [rows, truncate] = postgres_triggers(table);
    vec![
        format!(
            "CREATE OR REPLACE TRIGGER {rows} BEFORE UPDATE OR DELETE ON {table}
             FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        ),
        format!(
            "CREATE OR REPLACE TRIGGER {truncate} BEFORE TRUNCATE ON {table}
             FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        ),
    ]
}
