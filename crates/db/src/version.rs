//! A stored version of a resource, as read back from the database.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceVersion {
    pub rtype: String,
    pub id: String,
    pub version: i64,
    /// Microseconds since the Unix epoch.
    pub last_updated: i64,
    pub deleted: bool,
    /// The resource's JSON as stored: what the client sent, with `id` and
    /// `meta.versionId` / `meta.lastUpdated` set. `None` for a deletion.
    pub body: Option<String>,
}

impl ResourceVersion {
    /// `W/"3"`
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }
    /// `2026-11-21T05:45:56.123456Z` (FHIR instant).
    pub fn last_updated_instant(&self) -> String {
        crate::time::format_instant(self.last_updated)
    }
    /// RFC 7231 date for the Last-Modified header.
    pub fn last_modified_http(&self) -> String {
        crate::time::format_http_date(self.last_updated)
    }
    pub fn json(&self) -> Option<Value> {
        self.body
            .as_deref()
            .map(|b| serde_json::from_str(b).expect("stored bodies are valid JSON"))
    }
    /// `Patient/123`
    pub fn reference(&self) -> String {
        format!("{}/{}", self.rtype, self.id)
    }
}

/// What a create or update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Created,
    Updated,
    /// A conditional create matched an existing resource: nothing was written.
    Unchanged,
}

#[derive(Debug, Clone)]
pub struct WriteOutcome {
    pub kind: WriteKind,
    pub resource: ResourceVersion,
}
