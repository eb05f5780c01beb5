//! Who may see and do what: the access rules, to be applied by every store operation
//! whatever route it came from (API, clinician UI, portal, export).
//!
//! The store enforces it in one place: the repository checks [`Access::refusal`] before
//! every interaction (403), and every select of `resources` carries the SQL form of
//! [`Access::sees`] (`search/visibility.rs`), so a hidden record is absent from reads
//! (404), searches, includes, `$everything`, history and conditional matches alike.
//!
//! A request's [`Access`] combines
//! - the staff member's job role ([`Role`]) and its activities,
//! - an app's SMART scopes ([`Scopes`]), which can only narrow what the user may do,
//! - a patient context (`patient/` scopes, the patient portal): only that patient's
//!   compartment, and resources that belong to no patient,
//! - entitlement to sensitive records ([`Confidentiality`]), raised by break-glass.
//!
//! Tenancy (the practice) is not here: every statement is limited to the context's
//! practice already.
//!
//! Also here, below the backend interface and the audit trail that both take it: the
//! [`RequestContext`] every store operation carries ([`context`]).

pub mod context;
pub mod role;
pub mod scopes;
pub mod tags;

pub use context::{Actor, Purpose, RequestContext};

pub use role::{Activity, Role, Use, activity_for};
pub use scopes::{Interaction, ResourceScope, ScopeContext, ScopeError, Scopes};

/// How sensitive a resource is (HL7 v3 Confidentiality): normal, restricted (`R`:
/// sensitive entries such as a termination of pregnancy, and sensitive patients), very
/// restricted (`V`: sealed or private entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidentiality {
    Normal = 0,
    Restricted = 1,
    VeryRestricted = 2,
}

impl Confidentiality {
    pub fn from_level(level: i64) -> Confidentiality {
        match level {
            i64::MIN..=0 => Confidentiality::Normal,
            1 => Confidentiality::Restricted,
            _ => Confidentiality::VeryRestricted,
        }
    }

    pub fn level(self) -> i64 {
        self as i64
    }
}

/// The system of the confidentiality codes in `meta.security`.
pub const CONFIDENTIALITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

/// A staff member acting, directly or through an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// The user account's id.
    pub user_id: String,
    pub role: Role,
    /// The Practitioner resource id the account is linked to, if any.
    pub practitioner: Option<String>,
}

/// What a request may see and do. Built once per request, from the user's current role
/// (so a role change takes effect on the next request) and the token's scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// OpenGP itself (loading, migrations, benchmarks): everything.
    pub unrestricted: bool,
    /// The member of staff acting, if any.
    pub staff: Option<StaffMember>,
    /// The app acting (OAuth client id), if any.
    pub client: Option<String>,
    /// An app's granted scopes; `None` when no app is involved.
    pub scopes: Option<Scopes>,
    /// Patient context: only this patient's compartment (and resources of no patient).
    pub patient: Option<String>,
    /// The stated reason for overriding a sensitivity restriction ("break glass").
    pub break_glass: Option<String>,
}

/// Why a break-glass request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BreakGlassRefused(pub String);

impl Access {
    /// OpenGP itself: sees and does everything (still audited).
    pub fn system() -> Access {
        Access {
            unrestricted: true,
            staff: None,
            client: None,
            scopes: None,
            patient: None,
            break_glass: None,
        }
    }

    /// No one: may do nothing (the default for an actor whose rights are not yet known).
    pub fn nobody() -> Access {
        Access {
            unrestricted: false,
            staff: None,
            client: None,
            scopes: None,
            patient: None,
            break_glass: None,
        }
    }

    /// A member of staff signed in to OpenGP's own UI.
    pub fn staff(member: StaffMember) -> Access {
        Access {
            staff: Some(member),
            ..Access::nobody()
        }
    }

    /// An app with granted `scopes`, acting for `staff` (authorization code flow) or on
    /// its own (client credentials), with an optional patient context.
    pub fn app(
        client_id: impl Into<String>,
        scopes: Scopes,
        staff: Option<StaffMember>,
        patient: Option<String>,
    ) -> Access {
        Access {
            unrestricted: false,
            staff,
            client: Some(client_id.into()),
            scopes: Some(scopes),
            patient,
            break_glass: None,
        }
    }

    /// The same access with a break-glass reason: only clinicians may, and the reason
    /// must say something.
    pub fn with_break_glass(mut self, reason: &str) -> Result<Access, BreakGlassRefused> {
        let reason = reason.trim();
        if reason.chars().count() < 5 {
            return Err(BreakGlassRefused(
                "give a reason for breaking the glass (at least 5 characters)".into(),
            ));
        }
        if !self.may_break_glass() {
            return Err(BreakGlassRefused(
                "only clinicians (GP, nurse) may break the glass".into(),
            ));
        }
        self.break_glass = Some(reason.to_string());
        Ok(self)
    }

    /// Whether this requester could override a restriction by breaking the glass.
    pub fn may_break_glass(&self) -> bool {
        self.staff
            .as_ref()
            .is_some_and(|s| s.role.may_break_glass())
    }

    /// Whether `interaction` on `rtype` is allowed by role and scopes (sensitivity and
    /// patient context are applied per resource, see [`Access::sees`]).
    pub fn permits(&self, rtype: &str, interaction: Interaction) -> bool {
        self.refusal(rtype, interaction).is_none()
    }

    /// Why `interaction` on `rtype` is not allowed, in words for the user; `None` if it is.
    pub fn refusal(&self, rtype: &str, interaction: Interaction) -> Option<String> {
        if self.unrestricted {
            return None;
        }
        let what = match interaction {
            Interaction::Create => "create",
            Interaction::Read => "read",
            Interaction::Update => "update",
            Interaction::Delete => "delete",
            Interaction::Search => "search",
        };
        if self.staff.is_none() && self.client.is_none() {
            return Some("not signed in".into());
        }
        if let Some(scopes) = &self.scopes
            && !scopes.allows(rtype, interaction)
        {
            return Some(format!(
                "the app's scopes do not allow {what} of {rtype} (scope letter '{}')",
                interaction.letter()
            ));
        }
        if let Some(staff) = &self.staff {
            let use_ = if interaction.is_write() {
                Use::Write
            } else {
                Use::Read
            };
            let activity = activity_for(rtype, use_);
            if !staff.role.may(activity) {
                return Some(format!(
                    "the {} role may not {} ({what} of {rtype})",
                    staff.role.display(),
                    activity.name()
                ));
            }
        }
        None
    }

    /// Resource types that may be read or searched (for searches across types,
    /// includes, `$everything` and history); `None` means all.
    pub fn readable_types(&self) -> Option<Vec<&'static str>> {
        if self.unrestricted {
            return None;
        }
        Some(
            fhir::defs::Definitions::get()
                .resource_types()
                .into_iter()
                .filter(|t| {
                    self.permits(t, Interaction::Read) || self.permits(t, Interaction::Search)
                })
                .collect(),
        )
    }

    /// The most sensitive level this requester is entitled to see (break-glass included).
    pub fn entitled_level(&self) -> Confidentiality {
        if self.unrestricted || self.break_glass.is_some() {
            return Confidentiality::VeryRestricted;
        }
        match (&self.staff, &self.client) {
            // Apps are not entitled to sensitive records: they leave the clinician's eyes.
            (_, Some(_)) => Confidentiality::Normal,
            (Some(s), None) if s.role.may(Activity::ViewClinical) && s.role.may_break_glass() => {
                Confidentiality::Restricted
            }
            _ => Confidentiality::Normal,
        }
    }

    /// Whether one resource is visible to a request made for `purpose`.
    pub fn sees(&self, r: &ResourceAccess, purpose: Purpose) -> Visibility {
        if self.unrestricted {
            return Visibility::Visible;
        }
        if r.patient_dissents && purpose == Purpose::Sharing {
            return Visibility::Hidden;
        }
        if let Some(p) = &self.patient {
            let in_context = match &r.patient_id {
                Some(id) => id == p,
                None => !r.compartment_type,
            };
            if !in_context {
                return Visibility::Hidden;
            }
        }
        let mut level = r.confidentiality;
        if r.patient_sensitive {
            level = level.max(Confidentiality::Restricted);
        }
        let own_seal = r.sealed_by.is_some()
            && self.staff.as_ref().map(|s| &s.user_id) == r.sealed_by.as_ref();
        if level <= self.entitled_level() || own_seal {
            Visibility::Visible
        } else if self.may_break_glass() && self.client.is_none() {
            Visibility::Restricted
        } else {
            Visibility::Hidden
        }
    }
}

/// What the access rules need to know about one stored resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceAccess {
    pub confidentiality: Confidentiality,
    /// The patient whose compartment it is in (its own id for a Patient).
    pub patient_id: Option<String>,
    /// Whether its type belongs to the patient compartment at all.
    pub compartment_type: bool,
    /// The user who sealed it (a `V` entry is visible to them without break-glass).
    pub sealed_by: Option<String>,
    /// Its patient is flagged sensitive (PDS restricted).
    pub patient_sensitive: bool,
    /// Its patient has dissented from sharing their record outside the practice.
    pub patient_dissents: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Visible,
    /// Not shown, and not acknowledged: answered as if it did not exist (404).
    Hidden,
    /// Not shown, but the requester may break the glass to see it (403).
    Restricted,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: Role) -> Access {
        Access::staff(StaffMember {
            user_id: "u1".into(),
            role,
            practitioner: None,
        })
    }

    fn entry(level: Confidentiality) -> ResourceAccess {
        ResourceAccess {
            confidentiality: level,
            patient_id: Some("p1".into()),
            compartment_type: true,
            sealed_by: None,
            patient_sensitive: false,
            patient_dissents: false,
        }
    }

    #[test]
    fn nobody_may_do_anything_and_the_system_everything() {
        assert!(!Access::nobody().permits("Patient", Interaction::Read));
        assert!(Access::system().permits("AuditEvent", Interaction::Delete));
    }

    #[test]
    fn an_apps_scopes_narrow_its_users_role() {
        let gp = StaffMember {
            user_id: "u1".into(),
            role: Role::ClinicalPractitioner,
            practitioner: None,
        };
        let app = Access::app("c1", Scopes::parse("user/*.rs").unwrap(), Some(gp), None);
        assert!(app.permits("Observation", Interaction::Search));
        // The GP could write, the scope cannot.
        assert!(!app.permits("Observation", Interaction::Create));
        // The scope could read audit, the GP role cannot.
        let refusal = app.refusal("AuditEvent", Interaction::Read).unwrap();
        assert!(refusal.contains("view audit"), "{refusal}");
    }

    #[test]
    fn readable_types_follow_the_role() {
        let types = staff(Role::Receptionist).readable_types().unwrap();
        assert!(types.contains(&"Appointment") && types.contains(&"Patient"));
        assert!(!types.contains(&"Encounter") && !types.contains(&"Observation"));
        assert!(Access::system().readable_types().is_none());
    }

    #[test]
    fn sensitive_entries_are_withheld_unless_entitled_or_the_glass_is_broken() {
        let restricted = entry(Confidentiality::Restricted);
        let care = Purpose::DirectCare;
        assert_eq!(
            staff(Role::ClinicalPractitioner).sees(&restricted, care),
            Visibility::Visible
        );
        assert_eq!(
            staff(Role::Receptionist).sees(&restricted, care),
            Visibility::Hidden
        );
        let sealed = entry(Confidentiality::VeryRestricted);
        let gp = staff(Role::ClinicalPractitioner);
        assert_eq!(gp.sees(&sealed, care), Visibility::Restricted);
        let glass = gp
            .clone()
            .with_break_glass("patient collapsed in clinic")
            .unwrap();
        assert_eq!(glass.sees(&sealed, care), Visibility::Visible);
        // The clinician who sealed it sees it without breaking the glass.
        let own = ResourceAccess {
            sealed_by: Some("u1".into()),
            ..sealed
        };
        assert_eq!(gp.sees(&own, care), Visibility::Visible);
    }

    #[test]
    fn only_clinicians_may_break_the_glass_and_only_with_a_reason() {
        assert!(
            staff(Role::Receptionist)
                .with_break_glass("urgent care needed")
                .is_err()
        );
        assert!(staff(Role::Nurse).with_break_glass("  ").is_err());
        assert!(
            staff(Role::Nurse)
                .with_break_glass("urgent care needed")
                .is_ok()
        );
    }

    #[test]
    fn a_sensitive_patients_record_counts_as_restricted() {
        let r = ResourceAccess {
            patient_sensitive: true,
            ..entry(Confidentiality::Normal)
        };
        let care = Purpose::DirectCare;
        assert_eq!(
            staff(Role::AdminClinicalSupport).sees(&r, care),
            Visibility::Hidden
        );
        assert_eq!(staff(Role::Nurse).sees(&r, care), Visibility::Visible);
    }

    #[test]
    fn dissent_hides_a_record_only_from_sharing() {
        let r = ResourceAccess {
            patient_dissents: true,
            ..entry(Confidentiality::Normal)
        };
        let gp = staff(Role::ClinicalPractitioner);
        assert_eq!(gp.sees(&r, Purpose::DirectCare), Visibility::Visible);
        assert_eq!(gp.sees(&r, Purpose::Sharing), Visibility::Hidden);
    }

    #[test]
    fn a_patient_context_sees_its_patient_and_shared_resources_only() {
        let app = Access::app(
            "c1",
            Scopes::parse("patient/*.rs").unwrap(),
            None,
            Some("p1".into()),
        );
        let care = Purpose::DirectCare;
        assert_eq!(
            app.sees(&entry(Confidentiality::Normal), care),
            Visibility::Visible
        );
        let other = ResourceAccess {
            patient_id: Some("p2".into()),
            ..entry(Confidentiality::Normal)
        };
        assert_eq!(app.sees(&other, care), Visibility::Hidden);
        let practitioner = ResourceAccess {
            patient_id: None,
            compartment_type: false,
            ..entry(Confidentiality::Normal)
        };
        assert_eq!(app.sees(&practitioner, care), Visibility::Visible);
    }
}
