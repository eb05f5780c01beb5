//! `$validate`: would this create, update or delete be accepted? The same checks a write
//! makes, reported as issues instead of refusing, and nothing written.

use crate::access::Interaction;
use crate::audit::{Action, AuditRecord, Outcome};
use crate::backend::TxMode;
use crate::context::RequestContext;
use crate::error::{FhirError, FhirResult};
use crate::repository::Repository;
use crate::search::visibility::visibility;
use crate::write;
use fhir::Issue;
use serde_json::Value;

/// The `mode` of `$validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidateMode {
    /// No mode: is the resource valid FHIR?
    General,
    Create,
    Update,
    Delete,
}

impl ValidateMode {
    /// `create`, `update`, `delete` (FHIR's resource-validation-mode codes), or none.
    pub fn parse(code: Option<&str>) -> FhirResult<Self> {
        match code {
            None => Ok(ValidateMode::General),
            Some("create") => Ok(ValidateMode::Create),
            Some("update") => Ok(ValidateMode::Update),
            Some("delete") => Ok(ValidateMode::Delete),
            Some(other) => Err(FhirError::bad_request(format!(
                "mode must be create, update or delete, not '{other}'"
            ))),
        }
    }
}

/// What a `$validate` asks about.
#[derive(Debug, Clone)]
pub struct ValidateRequest<'a> {
    pub rtype: &'a str,
    /// The instance (`[type]/[id]/$validate`); an update or delete needs it.
    pub id: Option<&'a str>,
    pub mode: ValidateMode,
    /// The resource to check (not needed for a delete).
    pub resource: Option<&'a Value>,
    /// A profile to validate against; only the base R4 definition of the type is known.
    pub profile: Option<&'a str>,
}

/// Most references to a resource named in a delete's warning.
const MAX_NAMED_REFERRERS: usize = 10;

impl Repository {
    /// The issues a write of `req` would meet (at least one: "all OK" when there are
    /// none). Needs the permission of the interaction the mode names; audited as an
    /// operation.
    pub fn validate(&self, ctx: &RequestContext, req: &ValidateRequest) -> FhirResult<Vec<Issue>> {
        let (interaction, event) = match req.mode {
            ValidateMode::General | ValidateMode::Create => (Interaction::Create, "validate"),
            ValidateMode::Update => (Interaction::Update, "validate"),
            ValidateMode::Delete => (Interaction::Delete, "validate"),
        };
        self.permit(ctx, req.rtype, interaction, event)?;
        let mut issues = profile_issues(req.rtype, req.profile);
        match req.mode {
            ValidateMode::Delete => {
                let id = needs_id(req)?;
                issues.extend(self.delete_issues(ctx, req.rtype, id)?);
            }
            ValidateMode::Update => {
                let id = needs_id(req)?;
                issues.extend(resource_issues(req.rtype, needs_resource(req)?, Some(id)));
            }
            ValidateMode::Create | ValidateMode::General => {
                issues.extend(resource_issues(req.rtype, needs_resource(req)?, None));
            }
        }
        if issues.is_empty() {
            issues.push(Issue::information("informational", "All OK"));
        }
        let entity = match req.id {
            Some(id) => format!("{}/{id}", req.rtype),
            None => req.rtype.to_string(),
        };
        let record = AuditRecord::new("validate", Action::Execute, Outcome::Success).entity(entity);
        self.audit.record(ctx, vec![record])?;
        Ok(issues)
    }

    /// A delete of an unknown resource is an error; references to it that would be left
    /// dangling are warnings.
    fn delete_issues(&self, ctx: &RequestContext, rtype: &str, id: &str) -> FhirResult<Vec<Issue>> {
        let mut tx = self.store.begin(ctx, TxMode::Read)?;
        match write::read_in(tx.as_mut(), ctx, rtype, id) {
            Ok(_) => {}
            Err(FhirError::NotFound(m) | FhirError::Gone(m)) => {
                return Ok(vec![Issue::error("not-found", m)]);
            }
            Err(e) => return Err(e),
        }
        let visible = visibility(ctx, "s");
        let sql = format!(
            "SELECT DISTINCT s.rtype, s.id FROM idx_reference x CROSS JOIN resources s \
             WHERE x.practice = ? AND x.target_type = ? AND x.target_id = ? AND s.pk = x.res_pk \
             AND s.practice = ? AND NOT s.deleted AND NOT (s.rtype = ? AND s.id = ?) AND ({}) \
             ORDER BY s.rtype, s.id",
            visible.sql
        );
        let mut args = vec![
            ctx.practice.as_str().into(),
            rtype.into(),
            id.into(),
            ctx.practice.as_str().into(),
            rtype.into(),
            id.into(),
        ];
        args.extend(visible.args);
        let referrers: Vec<String> = tx
            .query(&sql, &args)?
            .iter()
            .filter_map(|row| Some(format!("{}/{}", row[0].as_str()?, row[1].as_str()?)))
            .collect();
        if referrers.is_empty() {
            return Ok(vec![]);
        }
        let named = referrers
            .iter()
            .take(MAX_NAMED_REFERRERS)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let more = referrers.len().saturating_sub(MAX_NAMED_REFERRERS);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        Ok(vec![Issue::warning(
            "business-rule",
            format!(
                "{} resource(s) refer to {rtype}/{id}; deleting it would leave their \
                 references dangling: {named}{tail}",
                referrers.len()
            ),
        )])
    }
}

fn needs_id<'a>(req: &ValidateRequest<'a>) -> FhirResult<&'a str> {
    req.id.ok_or_else(|| {
        FhirError::bad_request("mode update and delete validate an instance: [type]/[id]/$validate")
    })
}

fn needs_resource<'a>(req: &ValidateRequest<'a>) -> FhirResult<&'a Value> {
    req.resource
        .ok_or_else(|| FhirError::bad_request("$validate needs the resource to validate"))
}

/// Every issue the write checks would raise, warnings included.
fn resource_issues(rtype: &str, resource: &Value, id: Option<&str>) -> Vec<Issue> {
    match write::check_body(rtype, resource, id) {
        // Not a resource of this type, or the wrong id: the validator has nothing to say.
        Err(FhirError::BadRequest(issues)) => issues,
        Err(e) if e.status() != 422 => e.issues(),
        // Valid, or invalid: the validator's full report, warnings as well as errors.
        _ => fhir::validate_resource(resource),
    }
}

/// Only the base R4 definition of each type is known: another profile is reported as
/// not checked, so a client does not take silence for conformance to it.
fn profile_issues(rtype: &str, profile: Option<&str>) -> Vec<Issue> {
    let base = format!("http://hl7.org/fhir/StructureDefinition/{rtype}");
    match profile {
        Some(p) if p.split('|').next() != Some(base.as_str()) => vec![Issue::error(
            "not-supported",
            format!(
                "the profile {p} is not known to this server: only the base R4 definition \
                 ({base}) was checked"
            ),
        )],
        _ => vec![],
    }
}
