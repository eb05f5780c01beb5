//! The practice's staff who have a Practitioner record: whom a task can be for.

use crate::fetch;
use fhir::uk::PersonName;
use store::{FhirResult, Repository, RequestContext};

/// At most this many colleagues are listed (a practice has tens).
const LIMIT: &str = "500";

/// A member of staff who can be given a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colleague {
    /// Practitioner id.
    pub id: String,
    /// `Dr Sarah Lindqvist` ([`PersonName::plain`]).
    pub name: String,
}

/// The practice's active Practitioners, sorted by name (then id, so equal names keep
/// one order).
pub fn colleagues(repo: &Repository, ctx: &RequestContext) -> FhirResult<Vec<Colleague>> {
    let found = fetch::search(repo, ctx, "Practitioner", &[("_count", LIMIT)])?;
    let mut colleagues: Vec<Colleague> = found
        .iter()
        .filter(|p| p["active"].as_bool() != Some(false))
        .filter_map(|p| {
            Some(Colleague {
                id: p["id"].as_str()?.to_string(),
                name: PersonName::plain_of(p),
            })
        })
        .collect();
    colleagues.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(colleagues)
}
