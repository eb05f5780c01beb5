//! Typed calls for services inside OpenGP (the workspace, later the patient portal):
//! resources and ids rather than Bundles with URLs and `Location` headers. The same
//! interactions underneath, so the same access rules and audit trail as the FHIR API.

use crate::bundle::{self, Written};
use crate::context::RequestContext;
use crate::error::{FhirError, FhirResult};
use crate::repository::{Repository, SearchRequest};
use serde_json::Value;

/// What a search found: the resources it matched and those it `_include`d.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub matches: Vec<Value>,
    pub included: Vec<Value>,
}

impl Repository {
    /// The first page of a search of `rtype` (ask for what you need with `_count`; no
    /// paging snapshot is kept). Strict: an unknown parameter is an error, so a
    /// misspelled filter can never widen a clinical search.
    pub fn find(
        &self,
        ctx: &RequestContext,
        rtype: &str,
        params: &[(&str, &str)],
    ) -> FhirResult<Found> {
        let req = SearchRequest {
            rtype: Some(rtype.to_string()),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            // Services never see the Bundle's links.
            base_url: String::new(),
            lenient: false,
        };
        Ok(split(self.search_first_page(ctx, &req)?))
    }

    /// Runs the entries of a transaction (relative URLs, `urn:uuid:` fullUrls for new
    /// resources), all or nothing, and says per entry what it wrote: `None` for a
    /// delete, a read or a search.
    pub fn transaction(
        &self,
        ctx: &RequestContext,
        entries: Vec<Value>,
    ) -> FhirResult<Vec<Option<Written>>> {
        bundle::process_entries(self, ctx, entries)
    }

    /// Creates one resource and returns what was written (its new id and version).
    pub fn create_resource(&self, ctx: &RequestContext, resource: Value) -> FhirResult<Written> {
        let rtype = resource["resourceType"]
            .as_str()
            .ok_or_else(|| FhirError::bad_request("the resource has no resourceType"))?
            .to_string();
        let entry =
            serde_json::json!({"resource": resource, "request": {"method": "POST", "url": rtype}});
        self.transaction(ctx, vec![entry])?
            .pop()
            .flatten()
            .ok_or_else(|| FhirError::bad_request("nothing was created"))
    }
}

/// A searchset Bundle's resources, taken out of it (no copies): its `match` entries and
/// its `include`d ones (an `outcome`'s warnings are left out).
fn split(bundle: Value) -> Found {
    let Value::Object(mut bundle) = bundle else {
        return Found::default();
    };
    let Some(Value::Array(all)) = bundle.remove("entry") else {
        return Found::default();
    };
    let mut found = Found::default();
    for entry in all {
        let Value::Object(mut entry) = entry else {
            continue;
        };
        let mode = entry.get("search").and_then(|s| s.get("mode"));
        let into = match mode.and_then(Value::as_str) {
            Some("match") => &mut found.matches,
            Some("outcome") => continue,
            _ => &mut found.included,
        };
        into.extend(entry.remove("resource"));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_takes_matches_and_includes_and_leaves_out_warnings() {
        let bundle = json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Task", "id": "t"}, "search": {"mode": "match"}},
            {"resource": {"resourceType": "Patient", "id": "p"}, "search": {"mode": "include"}},
            {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}},
        ]});
        let found = split(bundle);
        assert_eq!(
            found.matches,
            vec![json!({"resourceType": "Task", "id": "t"})]
        );
        assert_eq!(
            found.included,
            vec![json!({"resourceType": "Patient", "id": "p"})]
        );
        assert_eq!(split(json!({"resourceType": "Bundle"})), Found::default());
    }
}
