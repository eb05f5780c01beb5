//! Staff job roles (national RBAC "R" codes) and the activities each may perform.
//!
//! Permissions are by activity, as in the national RBAC baseline policy; which activity
//! a FHIR interaction needs is decided by the resource type ([`activity_for`]).

use std::fmt;

/// The code system of national RBAC job role codes.
pub const SDS_ROLE_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-role-code";
/// OpenGP's own role codes, for roles the national list has no access role for.
pub const LOCAL_ROLE_SYSTEM: &str = "https://opengp.org.uk/CodeSystem/job-role";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// R8000 Clinical Practitioner Access Role: GPs and those doing similar work.
    ClinicalPractitioner,
    /// R8001 Nurse Access Role.
    Nurse,
    /// R8008 Admin & Clinical Support Access Role.
    AdminClinicalSupport,
    /// R8009 Receptionist Access Role.
    Receptionist,
    /// Practice manager: runs the practice, its staff accounts and apps (local code).
    PracticeManager,
    /// R0001 Privacy Officer: reviews the audit trail and break-glass use.
    PrivacyOfficer,
}

/// What a member of staff may do (after the national RBAC activities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Activity {
    ViewDemographics,
    AmendDemographics,
    ViewClinical,
    RecordConsultation,
    Prescribe,
    ManageAppointments,
    /// Tasks between colleagues: reading, sending and acting on them. Clinicians and
    /// the staff who run the practice's workflow (a leaver's inbox must be redistributable).
    ManageTasks,
    ViewAudit,
    ManageUsers,
}

impl Activity {
    pub const ALL: [Activity; 9] = [
        Activity::ViewDemographics,
        Activity::AmendDemographics,
        Activity::ViewClinical,
        Activity::RecordConsultation,
        Activity::Prescribe,
        Activity::ManageAppointments,
        Activity::ManageTasks,
        Activity::ViewAudit,
        Activity::ManageUsers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Activity::ViewDemographics => "view demographics",
            Activity::AmendDemographics => "amend demographics",
            Activity::ViewClinical => "view clinical record",
            Activity::RecordConsultation => "record consultation",
            Activity::Prescribe => "prescribe",
            Activity::ManageAppointments => "manage appointments",
            Activity::ManageTasks => "manage tasks",
            Activity::ViewAudit => "view audit",
            Activity::ManageUsers => "manage users",
        }
    }
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::ClinicalPractitioner,
        Role::Nurse,
        Role::AdminClinicalSupport,
        Role::Receptionist,
        Role::PracticeManager,
        Role::PrivacyOfficer,
    ];

    /// The role's code (`R8000`...) and the system it belongs to.
    pub fn code(self) -> (&'static str, &'static str) {
        match self {
            Role::ClinicalPractitioner => (SDS_ROLE_SYSTEM, "R8000"),
            Role::Nurse => (SDS_ROLE_SYSTEM, "R8001"),
            Role::AdminClinicalSupport => (SDS_ROLE_SYSTEM, "R8008"),
            Role::Receptionist => (SDS_ROLE_SYSTEM, "R8009"),
            Role::PracticeManager => (LOCAL_ROLE_SYSTEM, "practice-manager"),
            Role::PrivacyOfficer => (SDS_ROLE_SYSTEM, "R0001"),
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            Role::ClinicalPractitioner => "Clinical Practitioner",
            Role::Nurse => "Nurse",
            Role::AdminClinicalSupport => "Admin & Clinical Support",
            Role::Receptionist => "Receptionist",
            Role::PracticeManager => "Practice Manager",
            Role::PrivacyOfficer => "Privacy Officer",
        }
    }

    /// Parses a role code (`R8000`), a short name (`gp`, `nurse`, `admin`,
    /// `receptionist`, `practice-manager`, `privacy-officer`) or the display name.
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim().to_ascii_lowercase();
        Role::ALL.into_iter().find(|r| {
            let short = match r {
                Role::ClinicalPractitioner => "gp",
                Role::Nurse => "nurse",
                Role::AdminClinicalSupport => "admin",
                Role::Receptionist => "receptionist",
                Role::PracticeManager => "practice-manager",
                Role::PrivacyOfficer => "privacy-officer",
            };
            s == short
                || s == r.code().1.to_ascii_lowercase()
                || s == r.display().to_ascii_lowercase()
        })
    }

    /// The activities the role may perform.
    pub fn activities(self) -> &'static [Activity] {
        use Activity::*;
        match self {
            Role::ClinicalPractitioner => &[
                ViewDemographics,
                AmendDemographics,
                ViewClinical,
                RecordConsultation,
                Prescribe,
                ManageAppointments,
                ManageTasks,
            ],
            Role::Nurse => &[
                ViewDemographics,
                AmendDemographics,
                ViewClinical,
                RecordConsultation,
                ManageAppointments,
                ManageTasks,
            ],
            Role::AdminClinicalSupport => &[
                ViewDemographics,
                AmendDemographics,
                ViewClinical,
                ManageAppointments,
                ManageTasks,
            ],
            Role::Receptionist => &[ViewDemographics, AmendDemographics, ManageAppointments],
            Role::PracticeManager => &[
                ViewDemographics,
                AmendDemographics,
                ManageAppointments,
                ManageTasks,
                ViewAudit,
                ManageUsers,
            ],
            Role::PrivacyOfficer => &[ViewDemographics, ViewAudit],
        }
    }

    pub fn may(self, activity: Activity) -> bool {
        self.activities().contains(&activity)
    }

    /// Clinicians may override a sensitivity restriction with a stated reason.
    pub fn may_break_glass(self) -> bool {
        matches!(self, Role::ClinicalPractitioner | Role::Nurse)
    }

    /// Whether a second factor (TOTP) is mandatory at sign-in: clinical roles, and roles
    /// that can see the audit trail or manage accounts.
    pub fn requires_second_factor(self) -> bool {
        !matches!(self, Role::Receptionist)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.display(), self.code().1)
    }
}

/// Whether an interaction reads or changes data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Read,
    Write,
}

/// The activity a read or write of `rtype` needs.
pub fn activity_for(rtype: &str, use_: Use) -> Activity {
    use Activity::*;
    match (rtype, use_) {
        ("AuditEvent", _) => ViewAudit,
        // A registration (EpisodeOfCare) is administrative, like the demographics:
        // receptionists register patients.
        (
            "Patient" | "RelatedPerson" | "EpisodeOfCare" | "Practitioner" | "PractitionerRole"
            | "Organization" | "Location" | "HealthcareService" | "Endpoint",
            Use::Read,
        ) => ViewDemographics,
        ("Patient" | "RelatedPerson" | "EpisodeOfCare" | "Consent", Use::Write) => {
            AmendDemographics
        }
        (
            "Practitioner" | "PractitionerRole" | "Organization" | "Location" | "HealthcareService"
            | "Endpoint",
            Use::Write,
        ) => ManageUsers,
        ("Appointment" | "Slot" | "Schedule" | "AppointmentResponse", _) => ManageAppointments,
        ("Task", _) => ManageTasks,
        ("MedicationRequest", Use::Write) => Prescribe,
        ("Consent", Use::Read) => ViewDemographics,
        (_, Use::Read) => ViewClinical,
        (_, Use::Write) => RecordConsultation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receptionist_books_and_amends_address_but_cannot_read_notes() {
        let r = Role::Receptionist;
        assert!(r.may(activity_for("Appointment", Use::Write)));
        assert!(
            r.may(activity_for("EpisodeOfCare", Use::Write)),
            "receptionists register"
        );
        assert!(r.may(activity_for("Patient", Use::Write)));
        assert!(!r.may(activity_for("Encounter", Use::Read)));
        assert!(!r.may(activity_for("Composition", Use::Read)));
    }

    #[test]
    fn tasks_are_for_clinicians_and_the_staff_who_run_the_workflow() {
        let who: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.may(activity_for("Task", Use::Write)))
            .collect();
        assert_eq!(
            who,
            vec![
                Role::ClinicalPractitioner,
                Role::Nurse,
                Role::AdminClinicalSupport,
                Role::PracticeManager
            ]
        );
        // A practice manager redistributes tasks without reading the clinical record.
        assert!(!Role::PracticeManager.may(activity_for("Observation", Use::Read)));
    }

    #[test]
    fn only_prescribers_prescribe() {
        let who: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.may(activity_for("MedicationRequest", Use::Write)))
            .collect();
        assert_eq!(who, vec![Role::ClinicalPractitioner]);
    }

    #[test]
    fn roles_parse_from_codes_and_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.code().1), Some(r));
            assert_eq!(Role::parse(r.display()), Some(r));
        }
        assert_eq!(Role::parse("gp"), Some(Role::ClinicalPractitioner));
        assert_eq!(Role::parse("surgeon"), None);
    }
}
