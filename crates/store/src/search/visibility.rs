//! The access rules as SQL: one condition, [`visibility`], that every select of
//! `resources` adds, so a search, an include, `$everything`, history or a conditional
//! match can only reach what [`Access::sees`] would show. Single reads work out the
//! resource's [`ResourceAccess`] instead, to tell hidden (404) from restricted (403).

use super::sql::Cond;
use crate::access::tags::{self, FLAG_DISSENT, FLAG_SENSITIVE};
use crate::access::{Access, Confidentiality, ResourceAccess, Visibility};
use crate::backend::SqlValue;
use crate::context::{Purpose, RequestContext};
use crate::error::FhirError;

/// The rows of `resources` (aliased `alias`) that `ctx` may see: its readable types, its
/// patient context, the patient's dissent when sharing, and confidentiality.
pub(crate) fn visibility(ctx: &RequestContext, alias: &str) -> Cond {
    let access = &ctx.access;
    if access.unrestricted {
        return Cond::all(vec![]);
    }
    let mut conds = vec![readable_types(access, alias)];
    if let Some(patient) = &access.patient {
        conds.push(Cond::new(
            format!(
                "{alias}.patient_id = ? OR ({alias}.patient_id IS NULL AND {alias}.rtype NOT IN ({}))",
                literals(&tags::compartment_types())
            ),
            vec![patient.as_str().into()],
        ));
    }
    if ctx.purpose == Purpose::Sharing {
        conds.push(Cond::new(
            format!("NOT {}", has_flag(alias, FLAG_DISSENT)),
            vec![],
        ));
    }
    conds.push(sensitivity(access, alias));
    Cond::all(conds)
}

/// `alias.rtype` among the types `access` may read, as the shorter of an `IN` or a
/// `NOT IN` list (a GP may read every type but AuditEvent).
fn readable_types(access: &Access, alias: &str) -> Cond {
    let Some(readable) = access.readable_types() else {
        return Cond::all(vec![]);
    };
    if readable.is_empty() {
        return Cond::any(vec![]);
    }
    let all = fhir::Definitions::get().resource_types();
    let unreadable: Vec<&str> = all.into_iter().filter(|t| !readable.contains(t)).collect();
    if unreadable.is_empty() {
        Cond::all(vec![])
    } else if unreadable.len() < readable.len() {
        Cond::new(
            format!("{alias}.rtype NOT IN ({})", literals(&unreadable)),
            vec![],
        )
    } else {
        Cond::new(
            format!("{alias}.rtype IN ({})", literals(&readable)),
            vec![],
        )
    }
}

/// Confidentiality, as [`Access::sees`] decides it: up to the requester's entitled
/// level (a sensitive patient's record counts as restricted), and their own seals.
fn sensitivity(access: &Access, alias: &str) -> Cond {
    let within = match access.entitled_level() {
        Confidentiality::VeryRestricted => return Cond::all(vec![]),
        Confidentiality::Restricted => Cond::new(format!("{alias}.conf <= 1"), vec![]),
        Confidentiality::Normal => Cond::new(
            format!(
                "{alias}.conf = 0 AND NOT {}",
                has_flag(alias, FLAG_SENSITIVE)
            ),
            vec![],
        ),
    };
    match &access.staff {
        Some(staff) => Cond::any(vec![
            within,
            Cond::new(
                format!("{alias}.sealed_by = ?"),
                vec![staff.user_id.as_str().into()],
            ),
        ]),
        None => within,
    }
}

/// `EXISTS` a flag of the resource's patient.
fn has_flag(alias: &str, flag: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM patient_flags f WHERE f.practice = {alias}.practice \
         AND f.patient_id = {alias}.patient_id AND f.flag = '{flag}')"
    )
}

/// Resource type names as SQL literals: they come from the FHIR definitions, which name
/// types with letters only, so they need no binding.
fn literals(types: &[&str]) -> String {
    types
        .iter()
        .filter(|t| t.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns [`resource_access`] reads, from `resources` aliased `alias`.
pub(crate) fn access_columns(alias: &str) -> String {
    format!(
        "{alias}.conf, {alias}.patient_id, {alias}.sealed_by, {}, {}",
        has_flag(alias, FLAG_SENSITIVE),
        has_flag(alias, FLAG_DISSENT)
    )
}

/// What the access rules need to know of a resource of `rtype`, from the values of
/// [`access_columns`].
pub(crate) fn resource_access(rtype: &str, columns: &[SqlValue]) -> ResourceAccess {
    let value = |i: usize| columns.get(i).cloned().unwrap_or(SqlValue::Null);
    ResourceAccess {
        confidentiality: Confidentiality::from_level(value(0).as_i64().unwrap_or(0)),
        patient_id: value(1).into_string(),
        compartment_type: tags::is_compartment_type(rtype),
        sealed_by: value(2).into_string(),
        patient_sensitive: value(3).as_bool().unwrap_or(false),
        patient_dissents: value(4).as_bool().unwrap_or(false),
    }
}

/// The error a single read answers when `ctx` may not see `rtype/id`: hidden ones as if
/// unknown (the same words as for an unknown id), restricted ones as needing
/// break-glass. None when it is visible.
pub(crate) fn read_refusal(
    ctx: &RequestContext,
    rtype: &str,
    id: &str,
    r: &ResourceAccess,
) -> Option<FhirError> {
    match ctx.access.sees(r, ctx.purpose) {
        Visibility::Visible => None,
        Visibility::Hidden => Some(not_known(rtype, id)),
        Visibility::Restricted => Some(FhirError::Forbidden(format!(
            "{rtype}/{id} is a restricted record; it may be opened by breaking the glass with a reason"
        ))),
    }
}

/// NotFound for `rtype/id`, in the words used for an id that does not exist.
pub(crate) fn not_known(rtype: &str, id: &str) -> FhirError {
    FhirError::NotFound(format!("{rtype}/{id} is not known"))
}

/// Whether `r` is shown to `ctx` only because it broke the glass (for the audit trail).
pub(crate) fn opened_by_break_glass(ctx: &RequestContext, r: &ResourceAccess) -> bool {
    if ctx.access.break_glass.is_none() {
        return false;
    }
    let without = Access {
        break_glass: None,
        ..ctx.access.clone()
    };
    // Hidden counts too: an app acting for a clinician is never offered break-glass (it
    // gets Hidden, not Restricted), yet its header opens the record all the same.
    without.sees(r, ctx.purpose) != Visibility::Visible
}

/// Who made a search snapshot: only the same requester, with the same access, may page
/// through it.
pub(crate) fn snapshot_owner(ctx: &RequestContext) -> String {
    format!("{:?}|{:?}|{}", ctx.actor, ctx.access, ctx.purpose.code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Role, Scopes, StaffMember};
    use crate::context::Actor;

    fn ctx(access: Access, purpose: Purpose) -> RequestContext {
        RequestContext::new("A1", Actor::User("u1".into()), purpose).with_access(access)
    }

    fn staff(role: Role) -> Access {
        Access::staff(StaffMember {
            user_id: "u1".into(),
            role,
            practitioner: None,
        })
    }

    #[test]
    fn the_system_sees_everything() {
        let c = visibility(&ctx(Access::system(), Purpose::Sharing), "r");
        assert_eq!(c.sql, "1 = 1");
    }

    #[test]
    fn values_match_placeholders() {
        let app = Access::app(
            "c1",
            Scopes::parse("patient/*.rs").unwrap(),
            Some(StaffMember {
                user_id: "u1".into(),
                role: Role::Nurse,
                practitioner: None,
            }),
            Some("p1".into()),
        );
        let c = visibility(&ctx(app, Purpose::Sharing), "t");
        assert_eq!(c.sql.matches('?').count(), c.args.len());
        assert!(c.sql.contains("t.patient_id = ?"), "{}", c.sql);
        assert!(c.sql.contains("'dissent'"), "{}", c.sql);
        assert!(c.sql.contains("t.sealed_by = ?"), "{}", c.sql);
    }

    #[test]
    fn levels_follow_the_entitlement() {
        let gp = visibility(
            &ctx(staff(Role::ClinicalPractitioner), Purpose::DirectCare),
            "r",
        );
        assert!(gp.sql.contains("r.conf <= 1"), "{}", gp.sql);
        assert!(
            gp.sql.contains("r.rtype NOT IN ('AuditEvent')"),
            "{}",
            gp.sql
        );
        let reception = visibility(&ctx(staff(Role::Receptionist), Purpose::Operations), "r");
        assert!(reception.sql.contains("r.conf = 0"), "{}", reception.sql);
        assert!(reception.sql.contains("r.rtype IN ("), "{}", reception.sql);
        assert!(!reception.sql.contains("'Encounter'"), "{}", reception.sql);
        let nobody = visibility(&ctx(Access::nobody(), Purpose::DirectCare), "r");
        assert!(nobody.sql.contains("1 = 0"), "{}", nobody.sql);
    }
}
