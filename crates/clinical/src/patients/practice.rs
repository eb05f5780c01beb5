//! The practice a registration belongs to: its Organization and the GPs a patient can
//! have as usual or named accountable GP.

use crate::conventions::ODS_ORGANIZATION_SYSTEM;
use crate::fetch;
use fhir::uk::PersonName;
use store::{FhirResult, Repository, RequestContext};

/// PractitionerRole codes that make someone a GP: the SDS job role "General Medical
/// Practitioner", and the national RBAC Clinical Practitioner access role.
const GP_ROLE_CODES: &str = "https://fhir.hl7.org.uk/CodeSystem/UKCore-SDSJobRoleName|R0260,https://fhir.nhs.uk/Id/sds-role-code|R8000";

/// A GP of the practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gp {
    /// The Practitioner id.
    pub id: String,
    /// "Dr Sarah Lindqvist".
    pub name: String,
}

/// `Organization/{id}` of the practice (found by its ODS code), if it is in the record.
pub fn organization(repo: &Repository, ctx: &RequestContext) -> FhirResult<Option<String>> {
    let identifier = format!("{ODS_ORGANIZATION_SYSTEM}|{}", ctx.practice);
    let found = fetch::search(
        repo,
        ctx,
        "Organization",
        &[("identifier", identifier.as_str()), ("_count", "1")],
    )?;
    Ok(found
        .first()
        .and_then(|o| o["id"].as_str())
        .map(|id| format!("Organization/{id}")))
}

/// The practice's GPs (active PractitionerRoles with a GP role), by name.
pub fn gps(repo: &Repository, ctx: &RequestContext) -> FhirResult<Vec<Gp>> {
    let searched = repo.find(
        ctx,
        "PractitionerRole",
        &[
            ("role", GP_ROLE_CODES),
            ("active", "true"),
            ("_include", "PractitionerRole:practitioner"),
            ("_count", "200"),
        ],
    )?;
    let mut gps: Vec<Gp> = searched
        .included
        .iter()
        .filter(|r| r["resourceType"] == "Practitioner")
        .filter_map(|p| {
            Some(Gp {
                id: p["id"].as_str()?.to_string(),
                name: PersonName::plain_of(p),
            })
        })
        .collect();
    gps.sort_by(|a, b| a.name.cmp(&b.name));
    gps.dedup_by(|a, b| a.id == b.id);
    Ok(gps)
}
