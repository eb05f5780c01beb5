//! One audit entry as it is stored and hashed: its canonical JSON, and the chain hash.
//!
//! The JSON is the entry's only complete copy (the table's other columns are there to
//! search by), so it holds everything recorded. It is canonical: every field is always
//! written, in a fixed order, with no whitespace, so the same entry always hashes the
//! same and [`Entry::parse`] can tell an edited text from a genuine one.

use super::AuditRecord;
use crate::context::{Actor, RequestContext};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of a chain's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// `hex(sha256(prev_hash + "\n" + entry_json))`: links an entry to the one before it.
pub fn chain_hash(prev_hash: &str, entry_json: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(entry_json.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Who acted: `kind` is `user`, `app` or `system`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorEntry {
    pub kind: String,
    pub id: String,
}

/// The member of staff acting (directly or through an app): their job role at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffEntry {
    pub user_id: String,
    pub role_system: String,
    pub role_code: String,
    pub role_display: String,
    pub practitioner: Option<String>,
}

/// What an entry takes from the request it records, captured when it is recorded (the
/// group commit writes it later, on another thread).
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub practice: String,
    pub request_id: String,
    pub actor: ActorEntry,
    pub staff: Option<StaffEntry>,
    pub client_id: Option<String>,
    pub purpose: String,
    pub source: Option<String>,
    pub break_glass: Option<String>,
    /// When it happened, microseconds since the Unix epoch.
    pub recorded: i64,
}

impl Origin {
    pub fn of(ctx: &RequestContext) -> Origin {
        let (kind, id) = match &ctx.actor {
            Actor::User(id) => ("user", id),
            Actor::App(id) => ("app", id),
            Actor::System(id) => ("system", id),
        };
        let staff = ctx.access.staff.as_ref().map(|s| {
            let (system, code) = s.role.code();
            StaffEntry {
                user_id: s.user_id.clone(),
                role_system: system.to_string(),
                role_code: code.to_string(),
                role_display: s.role.display().to_string(),
                practitioner: s.practitioner.clone(),
            }
        });
        Origin {
            practice: ctx.practice.clone(),
            request_id: ctx.request_id.clone(),
            actor: ActorEntry {
                kind: kind.to_string(),
                id: id.clone(),
            },
            staff,
            client_id: ctx.access.client.clone(),
            purpose: ctx.purpose.code().to_string(),
            source: ctx.source.clone(),
            break_glass: ctx.access.break_glass.clone(),
            recorded: crate::time::now_micros(),
        }
    }
}

/// One entry of a practice's chain. Field order is the canonical order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: i64,
    pub recorded: i64,
    pub practice: String,
    pub request_id: String,
    pub actor: ActorEntry,
    pub staff: Option<StaffEntry>,
    pub client_id: Option<String>,
    pub purpose: String,
    pub source: Option<String>,
    pub event: String,
    /// C, R, U, D or E.
    pub action: String,
    /// success, refused or failed.
    pub outcome: String,
    pub entities: Vec<String>,
    pub patients: Vec<String>,
    pub query: Option<String>,
    pub detail: Option<String>,
    pub break_glass: Option<String>,
}

impl Entry {
    pub fn new(seq: i64, origin: &Origin, record: &AuditRecord) -> Entry {
        Entry {
            seq,
            recorded: origin.recorded,
            practice: origin.practice.clone(),
            request_id: origin.request_id.clone(),
            actor: origin.actor.clone(),
            staff: origin.staff.clone(),
            client_id: origin.client_id.clone(),
            purpose: origin.purpose.clone(),
            source: origin.source.clone(),
            event: record.event.clone(),
            action: record.action.code().to_string(),
            outcome: record.outcome.code().to_string(),
            entities: record.entities.clone(),
            patients: record.patients.clone(),
            query: record.query.clone(),
            detail: record.detail.clone(),
            break_glass: origin.break_glass.clone(),
        }
    }

    /// The canonical JSON text, the one that is stored and hashed.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("an entry always serializes")
    }

    /// The entry a stored text holds, if the text is an entry in canonical form. Anything
    /// else (an unknown field, reordered keys, added whitespace) is `None`: the text was
    /// not written by the audit log.
    pub fn parse(text: &str) -> Option<Entry> {
        let entry: Entry = serde_json::from_str(text).ok()?;
        (entry.canonical_json() == text).then_some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Purpose;
    use crate::{Action, Outcome};
    use access::{Access, Role, StaffMember};

    fn sample() -> Entry {
        let ctx = RequestContext::new("A81001", Actor::User("u-1".into()), Purpose::DirectCare)
            .with_access(Access::staff(StaffMember {
                user_id: "u-1".into(),
                role: Role::Nurse,
                practitioner: Some("prac-1".into()),
            }));
        let record = AuditRecord::new("read", Action::Read, Outcome::Success)
            .entity("Patient/p1")
            .patient("p1");
        Entry::new(7, &Origin::of(&ctx), &record)
    }

    #[test]
    fn sha256_of_the_previous_hash_a_newline_and_the_entry() {
        // printf 'abc\n{}' | sha256sum
        assert_eq!(
            chain_hash("abc", "{}"),
            "b4157e40dd21db67528800eb46fe6641eaa5e321734b6890e43e9ce6ed37d91b"
        );
        assert_eq!(chain_hash(GENESIS_HASH, "x").len(), 64);
        assert_ne!(chain_hash("a", "b"), chain_hash("a", "c"));
        assert_ne!(chain_hash("a", "b"), chain_hash("b", "b"));
    }

    #[test]
    fn canonical_json_round_trips_and_holds_the_context() {
        let entry = sample();
        let text = entry.canonical_json();
        assert_eq!(Entry::parse(&text), Some(entry.clone()));
        assert!(text.starts_with(r#"{"seq":7,"recorded":"#), "{text}");
        assert!(text.contains(r#""role_code":"R8001""#), "{text}");
        assert!(text.contains(r#""practitioner":"prac-1""#), "{text}");
        assert!(text.contains(r#""purpose":"TREAT""#), "{text}");
        assert!(text.contains(r#""entities":["Patient/p1"]"#), "{text}");
    }

    #[test]
    fn edited_texts_are_not_entries() {
        let text = sample().canonical_json();
        let spaced = text.replacen(':', ": ", 1);
        assert_eq!(Entry::parse(&spaced), None);
        let extra = text.replacen('{', r#"{"extra":1,"#, 1);
        assert_eq!(Entry::parse(&extra), None);
        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let object = value.as_object_mut().unwrap();
        let event = object.remove("event").unwrap();
        object.insert("event".into(), event);
        // The same fields in another order: not canonical.
        assert_eq!(Entry::parse(&value.to_string()), None);
    }
}
