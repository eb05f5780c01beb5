//! Checking the chains: every entry's hash is recomputed, and each must link to the one
//! before it, with no gap in seq and nothing before or beyond the practice's head.

use super::entry::{Entry, GENESIS_HASH, chain_hash};
use crate::backend::{Row, SqlValue, Store, StoreError, Transaction, TxMode};
use crate::context::RequestContext;
use std::fmt;

/// Entries read per query: the log can hold millions.
const PAGE: i64 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked (up to the break, in a broken chain).
    pub entries: u64,
    /// Chains (practices) checked.
    pub practices: u64,
    /// The first break found, if any.
    pub broken: Option<ChainBreak>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The entry's text, or a column of it, is not what was hashed.
    Altered,
    /// The entry is missing.
    Deleted,
    /// The entry was not appended by the audit log: it does not follow the entry before
    /// it, or lies beyond the chain's head.
    Inserted,
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakKind::Altered => "altered",
            BreakKind::Deleted => "deleted",
            BreakKind::Inserted => "inserted",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub practice: String,
    pub seq: i64,
    pub kind: BreakKind,
    pub message: String,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit entry {} of practice {} was {}: {}",
            self.seq, self.practice, self.kind, self.message
        )
    }
}

/// Walks every practice's chain in seq order and reports the first break.
pub fn verify(store: &dyn Store) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport {
        entries: 0,
        practices: 0,
        broken: None,
    };
    let mut after: Option<String> = None;
    while let Some(practice) = next_practice(store, after.as_deref())? {
        let chain = verify_chain(store, &practice)?;
        report.practices += 1;
        report.entries += chain.entries;
        if report.broken.is_none() {
            report.broken = chain.broken;
        }
        after = Some(practice);
    }
    Ok(report)
}

fn read_ctx() -> RequestContext {
    RequestContext::system("audit-verify")
}

/// The first practice after `after` with entries or a head (an index seek per practice,
/// rather than a scan of the whole log for its distinct practices).
fn next_practice(store: &dyn Store, after: Option<&str>) -> Result<Option<String>, StoreError> {
    let mut tx = store.begin(&read_ctx(), TxMode::Read)?;
    let mut found: Option<String> = None;
    for table in ["audit_log", "audit_head"] {
        let rows = match after {
            Some(a) => tx.query(
                &format!("SELECT MIN(practice) FROM {table} WHERE practice > ?"),
                &[SqlValue::from(a)],
            )?,
            None => tx.query(&format!("SELECT MIN(practice) FROM {table}"), &[])?,
        };
        let candidate = rows.into_iter().next().and_then(|r| r.into_iter().next());
        if let Some(p) = candidate.and_then(SqlValue::into_string)
            && found.as_ref().is_none_or(|f| p < *f)
        {
            found = Some(p);
        }
    }
    tx.commit()?;
    Ok(found)
}

struct ChainReport {
    entries: u64,
    broken: Option<ChainBreak>,
}

/// One entry's columns as read back.
struct Stored {
    seq: i64,
    recorded: i64,
    prev_hash: String,
    hash: String,
    event: String,
    outcome: String,
    actor: String,
    client_id: Option<String>,
    entity_count: i64,
    entry: String,
}

impl Stored {
    fn from_row(row: Row) -> Result<Stored, StoreError> {
        let malformed = || StoreError::Backend("an audit_log row has an unexpected shape".into());
        let mut cols = row.into_iter();
        let mut int = || cols.next().and_then(|v| v.as_i64()).ok_or_else(malformed);
        let seq = int()?;
        let recorded = int()?;
        let mut text = || cols.next().ok_or_else(malformed).map(SqlValue::into_string);
        let prev_hash = text()?.ok_or_else(malformed)?;
        let hash = text()?.ok_or_else(malformed)?;
        let event = text()?.ok_or_else(malformed)?;
        let outcome = text()?.ok_or_else(malformed)?;
        let actor = text()?.ok_or_else(malformed)?;
        let client_id = text()?;
        let entity_count = cols.next().and_then(|v| v.as_i64()).ok_or_else(malformed)?;
        let entry = cols
            .next()
            .and_then(SqlValue::into_string)
            .ok_or_else(malformed)?;
        Ok(Stored {
            seq,
            recorded,
            prev_hash,
            hash,
            event,
            outcome,
            actor,
            client_id,
            entity_count,
            entry,
        })
    }

    /// Why the entry is not what the audit log wrote, judged on its own.
    fn inconsistency(&self, practice: &str) -> Option<&'static str> {
        if chain_hash(&self.prev_hash, &self.entry) != self.hash {
            return Some("its content does not match its hash");
        }
        let Some(e) = Entry::parse(&self.entry) else {
            return Some("its text is not an audit entry in canonical form");
        };
        let columns_match = e.seq == self.seq
            && e.practice == practice
            && e.recorded == self.recorded
            && e.event == self.event
            && e.outcome == self.outcome
            && e.actor.id == self.actor
            && e.client_id == self.client_id
            && e.entities.len() as i64 == self.entity_count;
        (!columns_match).then_some("its columns do not match its hashed content")
    }
}

/// Walks one chain, in one read transaction so the head and the entries agree.
fn verify_chain(store: &dyn Store, practice: &str) -> Result<ChainReport, StoreError> {
    let mut tx = store.begin(&read_ctx(), TxMode::Read)?;
    let head = read_head(tx.as_mut(), practice)?;
    let head_seq = head.as_ref().map_or(0, |(seq, _)| *seq);
    let mut walk = Walk {
        practice,
        head_seq,
        expected_seq: 1,
        prev_hash: GENESIS_HASH.to_string(),
        entries: 0,
    };
    let mut broken = None;
    let mut last_read = i64::MIN;
    'pages: loop {
        let rows = tx.query(
            "SELECT seq, recorded, prev_hash, hash, event, outcome, actor, client_id, \
             entity_count, entry FROM audit_log WHERE practice = ? AND seq > ? \
             ORDER BY seq LIMIT ?",
            &[
                SqlValue::from(practice),
                SqlValue::Int(last_read),
                SqlValue::Int(PAGE),
            ],
        )?;
        let page_len = rows.len() as i64;
        for row in rows {
            let stored = Stored::from_row(row)?;
            last_read = stored.seq;
            if let Some(b) = walk.step(&stored) {
                broken = Some(b);
                break 'pages;
            }
        }
        if page_len < PAGE {
            break;
        }
    }
    if broken.is_none() {
        broken = walk.check_head(head.as_ref().map(|(_, hash)| hash.as_str()));
    }
    tx.commit()?;
    Ok(ChainReport {
        entries: walk.entries,
        broken,
    })
}

fn read_head(
    tx: &mut dyn Transaction,
    practice: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    let rows = tx.query(
        "SELECT seq, hash FROM audit_head WHERE practice = ?",
        &[SqlValue::from(practice)],
    )?;
    Ok(rows.into_iter().next().and_then(|row| {
        let mut cols = row.into_iter();
        let seq = cols.next()?.as_i64()?;
        let hash = cols.next()?.into_string()?;
        Some((seq, hash))
    }))
}

/// Where the walk of one chain has got to.
struct Walk<'a> {
    practice: &'a str,
    head_seq: i64,
    expected_seq: i64,
    prev_hash: String,
    entries: u64,
}

impl Walk<'_> {
    fn broken(&self, seq: i64, kind: BreakKind, message: String) -> Option<ChainBreak> {
        Some(ChainBreak {
            practice: self.practice.to_string(),
            seq,
            kind,
            message,
        })
    }

    /// Checks the next stored entry; the first break ends the walk.
    fn step(&mut self, stored: &Stored) -> Option<ChainBreak> {
        let seq = stored.seq;
        if seq > self.expected_seq {
            return self.broken(
                self.expected_seq,
                BreakKind::Deleted,
                format!("it is missing (the next entry is {seq})"),
            );
        }
        if seq < self.expected_seq {
            return self.broken(seq, BreakKind::Inserted, "chains start at 1".into());
        }
        if seq > self.head_seq {
            let head = self.head_seq;
            return self.broken(
                seq,
                BreakKind::Inserted,
                format!("it lies beyond the chain's head (entry {head})"),
            );
        }
        if let Some(why) = stored.inconsistency(self.practice) {
            return self.broken(seq, BreakKind::Altered, why.into());
        }
        if stored.prev_hash != self.prev_hash {
            return self.broken(
                seq,
                BreakKind::Inserted,
                format!(
                    "it does not follow entry {} (that entry was replaced, or this one forged)",
                    seq - 1
                ),
            );
        }
        self.entries += 1;
        self.expected_seq = seq + 1;
        self.prev_hash = stored.hash.clone();
        None
    }

    /// After the last entry: the head must point at it.
    fn check_head(&self, head_hash: Option<&str>) -> Option<ChainBreak> {
        let last = self.expected_seq - 1;
        if self.head_seq > last {
            let message = if self.head_seq == last + 1 {
                "it is missing (it was the newest entry)".to_string()
            } else {
                format!(
                    "entries {} to {} are missing (they were the newest)",
                    last + 1,
                    self.head_seq
                )
            };
            return self.broken(last + 1, BreakKind::Deleted, message);
        }
        match head_hash {
            Some(hash) if last > 0 && hash != self.prev_hash => self.broken(
                last,
                BreakKind::Altered,
                "it is not the entry the chain's head recorded".into(),
            ),
            _ => None,
        }
    }
}
