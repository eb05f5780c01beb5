//! Small helpers over the repository's FHIR interactions, for services that want
//! resources rather than Bundles.

use serde_json::Value;
use store::{FhirResult, Repository, RequestContext, SearchRequest};

/// The base URL services give the store (only used in the Bundles it returns).
pub const BASE: &str = "http://opengp.local/fhir";

/// The resources a search matched (its `match` entries, not `_include`d ones), first
/// page only (no paging snapshot is kept): ask for what you need with `_count`.
pub fn search(
    repo: &Repository,
    ctx: &RequestContext,
    rtype: &str,
    params: &[(&str, &str)],
) -> FhirResult<Vec<Value>> {
    let bundle = search_bundle(repo, ctx, rtype, params)?;
    Ok(split(bundle).0)
}

/// The whole searchset Bundle (matches and includes).
pub fn search_bundle(
    repo: &Repository,
    ctx: &RequestContext,
    rtype: &str,
    params: &[(&str, &str)],
) -> FhirResult<Value> {
    let req = SearchRequest {
        rtype: Some(rtype.to_string()),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        base_url: BASE.to_string(),
        lenient: false,
    };
    repo.search_first_page(ctx, &req)
}

/// The resources of a Bundle's entries, optionally only those with this search mode.
pub fn entries(bundle: &Value, mode: Option<&str>) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| mode.is_none_or(|m| e["search"]["mode"] == m))
                .map(|e| e["resource"].clone())
                .collect()
        })
        .unwrap_or_default()
}

/// A searchset Bundle's resources, taken out of it (no copies): its `match` entries and
/// its `include`d ones (an `outcome`'s warnings are left out).
pub fn split(bundle: Value) -> (Vec<Value>, Vec<Value>) {
    let Value::Object(mut bundle) = bundle else {
        return (Vec::new(), Vec::new());
    };
    let Some(Value::Array(all)) = bundle.remove("entry") else {
        return (Vec::new(), Vec::new());
    };
    let mut matches = Vec::new();
    let mut included = Vec::new();
    for entry in all {
        let Value::Object(mut entry) = entry else {
            continue;
        };
        let mode = entry.get("search").and_then(|s| s.get("mode"));
        let into = match mode.and_then(Value::as_str) {
            Some("match") => &mut matches,
            Some("outcome") => continue,
            _ => &mut included,
        };
        into.extend(entry.remove("resource"));
    }
    (matches, included)
}

/// The current version of one resource, with its version number (for `If-Match`).
pub fn read(
    repo: &Repository,
    ctx: &RequestContext,
    rtype: &str,
    id: &str,
) -> FhirResult<(Value, i64)> {
    let version = repo.read(ctx, rtype, id)?;
    let resource = version.json().unwrap_or(Value::Null);
    Ok((resource, version.version))
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
        let (matches, included) = split(bundle);
        assert_eq!(matches, vec![json!({"resourceType": "Task", "id": "t"})]);
        assert_eq!(
            included,
            vec![json!({"resourceType": "Patient", "id": "p"})]
        );
        assert_eq!(split(json!({"resourceType": "Bundle"})), (vec![], vec![]));
    }
}
