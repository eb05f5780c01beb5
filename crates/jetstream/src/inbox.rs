//! The de-duplicating consumer inbox: which messages this database has already handled.
//!
//! The broker may deliver a message more than once (a node died before acknowledging
//! it, the relay published it again after a crash beyond the duplicate window, or
//! JetStream lost the acknowledgement). The consumer records the message id in
//! `outbox_inbox` in the same transaction as the handling's local effect: a second
//! delivery finds the row and is acknowledged without being handled again, and a
//! handling that fails or dies rolls back its inbox row with it.

use crate::Error;
use access::RequestContext;
use db::migrate::{Component, Migration, execute_all};
use db::{Dialect, SqlValue, Store, StoreError, Transaction, TxMode};

/// The inbox table's migrations.
pub const COMPONENT: Component = Component {
    name: "jetstream-inbox",
    migrations: &[Migration {
        version: 1,
        name: "baseline: outbox_inbox",
        apply: baseline,
    }],
};

fn baseline(tx: &mut dyn Transaction, _: Dialect) -> Result<(), StoreError> {
    execute_all(tx, [TABLE.to_string()])
}

const TABLE: &str = "CREATE TABLE IF NOT EXISTS outbox_inbox (
    message_id TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    handled_at BIGINT NOT NULL
)";

/// Creates the inbox table if it is missing (its migrations; a newer schema is refused).
pub fn create_table(store: &dyn Store) -> Result<(), Error> {
    db::migrate::migrate(store, &COMPONENT).map_err(StoreError::from)?;
    Ok(())
}

/// Whether this delivery is the first of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Not handled before: handle it in this transaction, then commit.
    First,
    /// Already handled (by this node or another): acknowledge it and do nothing else.
    Repeat,
}

/// Records `message_id` as handled in `tx`. On PostgreSQL a concurrent transaction
/// recording the same id waits for this one and then sees `Repeat`.
pub fn record(
    tx: &mut dyn Transaction,
    message_id: &str,
    destination: &str,
) -> Result<Delivery, Error> {
    let inserted = tx.execute(
        "INSERT INTO outbox_inbox (message_id, destination, handled_at) VALUES (?, ?, ?)
         ON CONFLICT (message_id) DO NOTHING",
        &[
            message_id.into(),
            destination.into(),
            SqlValue::from(db::time::now_micros()),
        ],
    )?;
    Ok(if inserted == 1 {
        Delivery::First
    } else {
        Delivery::Repeat
    })
}

/// Handles a message at most once: opens a transaction, records the id, and for a
/// first delivery runs `handle` (whose local effects go in the same transaction) and
/// commits. If `handle` fails nothing is kept, so a later delivery handles it again.
pub fn handle_once<E>(
    store: &dyn Store,
    ctx: &RequestContext,
    message_id: &str,
    destination: &str,
    handle: impl FnOnce(&mut dyn Transaction) -> Result<(), E>,
) -> Result<Delivery, E>
where
    E: From<Error>,
{
    let mut tx = store.begin(ctx, TxMode::Write).map_err(Error::from)?;
    let delivery = record(tx.as_mut(), message_id, destination)?;
    if delivery == Delivery::First {
        handle(tx.as_mut())?;
        tx.commit().map_err(Error::from)?;
    }
    Ok(delivery)
}
