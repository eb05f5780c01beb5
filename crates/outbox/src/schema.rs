//! The `outbox` table, the same on both backends: the `outbox` component's migrations.

use store::migrate::{Component, MigrateError, Migration};
use store::{Dialect, Store, StoreError, Transaction};

pub const COMPONENT: Component = Component {
    name: "outbox",
    migrations: &[Migration {
        version: 1,
        name: "baseline: the outbox table and its indexes",
        apply: create,
    }],
};

/// `retried` (added to the agreed columns): when an operator last sent a dead letter
/// back to the queue; the maximum age is counted from then, not from `created`.
const TABLE: &str = "CREATE TABLE IF NOT EXISTS outbox (
    seq {pk},
    id TEXT NOT NULL UNIQUE,
    practice TEXT NOT NULL,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL,
    next_attempt BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    done_at BIGINT,
    outcome TEXT,
    retried BIGINT)";

const INDEXES: &[&str] = &[
    // The worker's claim: due pending messages in insertion order.
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt)",
    // A page showing one record's messages.
    "CREATE INDEX IF NOT EXISTS outbox_subject ON outbox (practice, subject)",
];

/// Creates the table and its indexes if they are not there (idempotent: migration 1).
pub fn create(tx: &mut dyn Transaction, dialect: Dialect) -> Result<(), StoreError> {
    let pk = match dialect {
        Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
    };
    tx.execute(&TABLE.replace("{pk}", pk), &[])?;
    for index in INDEXES {
        tx.execute(index, &[])?;
    }
    Ok(())
}

/// Brings the table up to date (at start-up); refuses a newer schema than this binary's.
pub fn ensure(store: &dyn Store) -> Result<(), StoreError> {
    store::migrate::migrate(store, &COMPONENT).map_err(|e: MigrateError| e.into())
}
