//! Small helpers over the repository, for services that want resources with their
//! versions (searches with their includes: [`store::Repository::find`]).

use serde_json::Value;
use store::{FhirResult, Repository, RequestContext};

/// The resources a search matched (not `_include`d ones), first page only (no paging
/// snapshot is kept): ask for what you need with `_count`.
pub fn search(
    repo: &Repository,
    ctx: &RequestContext,
    rtype: &str,
    params: &[(&str, &str)],
) -> FhirResult<Vec<Value>> {
    Ok(repo.find(ctx, rtype, params)?.matches)
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
