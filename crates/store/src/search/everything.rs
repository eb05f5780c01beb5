//! `Patient/[id]/$everything`: the patient and every resource in their compartment,
//! paged like a search, limited to what the requester may see.

use super::Origin;
use super::params::{self, Limits, Query, Summary, Total};
use super::sql::{Cond, Selection, placeholders};
use crate::audit::{Action, AuditRecord, Outcome};
use crate::backend::{SqlValue, TxMode};
use crate::context::RequestContext;
use crate::error::{FhirError, FhirResult};
use crate::repository::Repository;
use serde_json::Value;

/// How a snapshot of `$everything` records its query: `$everything/<patient id>?...`.
pub(crate) const STORED_PREFIX: &str = "$everything/";

impl Repository {
    /// `Patient/[id]/$everything`: the patient and every resource in their compartment.
    /// Takes `_count`, `_since` (changed since an instant) and `_type`.
    pub fn everything(
        &self,
        ctx: &RequestContext,
        patient_id: &str,
        params: &[(String, String)],
        base_url: &str,
    ) -> FhirResult<Value> {
        self.permit_some_reading(ctx, "everything")?;
        let mut tx = self.store.begin(ctx, TxMode::Read)?;
        // The patient as a read sees it: hidden is unknown, restricted needs break-glass.
        match crate::write::read_in(tx.as_mut(), ctx, "Patient", patient_id) {
            Ok(_) => {}
            Err(FhirError::Gone(_)) => {
                return Err(FhirError::NotFound(format!("Patient/{patient_id}")));
            }
            Err(e) => return Err(e),
        }
        drop(tx);
        let q = parse(ctx, patient_id, params, self.limits())?;
        let encoded = super::encode(params);
        let origin = Origin {
            base_url,
            self_url: format!(
                "{}/Patient/{patient_id}/$everything{}",
                base_url.trim_end_matches('/'),
                super::question(&encoded)
            ),
            stored_query: format!("{STORED_PREFIX}{patient_id}?{encoded}"),
        };
        let bundle = self.run_query(ctx, &q, &origin, super::Paging::Snapshot)?;
        let record = AuditRecord::new("everything", Action::Execute, Outcome::Success)
            .patient(patient_id)
            .query(encoded)
            .with_bundle_entries(&bundle);
        self.audit_read(ctx, record)?;
        Ok(bundle)
    }
}

/// The compartment as a search: the patient first, then the rest by type.
pub(crate) fn parse(
    ctx: &RequestContext,
    patient_id: &str,
    params: &[(String, String)],
    limits: Limits,
) -> FhirResult<Query> {
    let mut filters = vec![
        Cond::new("r.pk = d_r.res_pk", vec![]),
        Cond::new("r.practice = ?", vec![ctx.practice.as_str().into()]),
        Cond::new("NOT r.deleted", vec![]),
    ];
    let mut count = limits.default_count;
    for (key, value) in params {
        match key.as_str() {
            "_count" => {
                let n: usize = value.parse().map_err(|_| {
                    FhirError::bad_request(format!("_count must be a whole number, not '{value}'"))
                })?;
                count = n.min(limits.max_count);
            }
            "_since" => {
                let (lo, _) = fhir::datetime::parse_range(value).ok_or_else(|| {
                    FhirError::bad_request(format!("_since must be an instant, not '{value}'"))
                })?;
                filters.push(Cond::new("r.last_updated >= ?", vec![lo.into()]));
            }
            "_type" => filters.push(params::type_filter(value)?),
            "_format" | "_pretty" => {}
            _ => {
                return Err(FhirError::bad_request(format!(
                    "$everything does not take the parameter '{key}'"
                )));
            }
        }
    }
    filters.push(super::visibility::visibility(ctx, "r"));
    Ok(Query {
        selection: Selection {
            from: compartment(ctx, patient_id),
            filter: Cond::all(filters),
            order: Cond::new(
                "CASE WHEN r.rtype = 'Patient' AND r.id = ? THEN 0 ELSE 1 END, r.rtype, r.pk",
                vec![patient_id.into()],
            ),
        },
        count,
        includes: vec![],
        revincludes: vec![],
        summary: Summary::False,
        elements: None,
        total: Total::Default,
        warnings: vec![],
        ignored: vec![],
    })
}

/// The patient, and the resources whose compartment parameters (e.g. Observation's
/// `subject` and `performer`) reference them: one lookup on the reference index, which
/// drives the search (the `FROM` clause, as `d_r`).
fn compartment(ctx: &RequestContext, patient_id: &str) -> Cond {
    let mut links: Vec<String> = fhir::Definitions::get()
        .patient_compartment
        .iter()
        .flat_map(|(rtype, params)| params.iter().map(move |p| format!("{rtype}:{p}")))
        .collect();
    links.sort_unstable();
    let mut args: Vec<SqlValue> = vec![
        ctx.practice.as_str().into(),
        patient_id.into(),
        ctx.practice.as_str().into(),
        patient_id.into(),
    ];
    args.extend(links.iter().map(|l| SqlValue::from(l.as_str())));
    Cond::new(
        format!(
            "(SELECT pk AS res_pk FROM resources WHERE practice = ? AND rtype = 'Patient' AND id = ? \
             UNION SELECT x.res_pk FROM idx_reference x \
             WHERE x.practice = ? AND x.target_id = ? AND x.target_type = 'Patient' \
             AND x.rtype || ':' || x.param IN ({})) d_r CROSS JOIN resources r",
            placeholders(links.len())
        ),
        args,
    )
}
