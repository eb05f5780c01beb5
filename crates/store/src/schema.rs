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
//!   parameter type, replaced on every write. `res_pk` points at `resources.pk`.
//!   Dates are indexed as inclusive ranges `[lo, hi]` in microseconds since the Unix
//!   epoch (UTC), which makes FHIR's precision and prefix rules simple comparisons.
//! - `search_snapshots` / `search_snapshot_rows`: the ordered result of a search that
//!   spans several pages, so paging is stable while others write.
//!
//! Timestamps (`last_updated`, `created`) are microseconds since the Unix epoch.

use crate::backend::Dialect;

/// Tables and indexes as portable SQL; `{pk}` and `{bool}` are filled in per dialect.
const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS resources (
        pk {pk},
        practice TEXT NOT NULL,
        rtype TEXT NOT NULL,
        id TEXT NOT NULL,
        version BIGINT NOT NULL,
        last_updated BIGINT NOT NULL,
        deleted {bool} NOT NULL,
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
    "CREATE TABLE IF NOT EXISTS search_snapshots (
        id TEXT PRIMARY KEY, practice TEXT NOT NULL, created BIGINT NOT NULL,
        total BIGINT NOT NULL, query TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_snapshots_by_created ON search_snapshots (created)",
    "CREATE TABLE IF NOT EXISTS search_snapshot_rows (
        snapshot_id TEXT NOT NULL, pos BIGINT NOT NULL, res_pk BIGINT NOT NULL, version BIGINT NOT NULL,
        PRIMARY KEY (snapshot_id, pos))",
];

/// The index tables, by search parameter type; each has `res_pk, rtype, param` first.
pub const INDEX_TABLES: &[&str] = &[
    "idx_string",
    "idx_token",
    "idx_date",
    "idx_number",
    "idx_quantity",
    "idx_reference",
    "idx_uri",
];

/// The statements that create the schema (idempotent).
pub fn ddl(dialect: Dialect) -> Vec<String> {
    let (pk, boolean) = match dialect {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER"),
        Dialect::Postgres => ("BIGSERIAL PRIMARY KEY", "BOOLEAN"),
    };
    let mut statements: Vec<String> = TABLES
        .iter()
        .map(|s| s.replace("{pk}", pk).replace("{bool}", boolean))
        .collect();
    statements.extend(crate::audit::ddl(dialect));
    statements
}
