//! The request context every store operation carries: which practice (tenant), who is
//! acting (a user, an app or the system itself) and why. Tenancy is enforced here, in the
//! store's SQL, so no route can reach another practice's records; access rules and the
//! audit trail hang off the same context.

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in member of staff (their user id).
    User(String),
    /// An API client app (its OAuth client id).
    App(String),
    /// OpenGP itself: start-up loading, the demo loader, benchmarks, migrations.
    System(String),
}

/// Why the record is being accessed (HL7 v3 PurposeOfUse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Direct care of the patient (TREAT).
    DirectCare,
    /// Running the practice: registration, appointments (HOPERAT).
    Operations,
    /// Taking data out of the practice: export, migration (HRESCH is not it; PATRQT/HOPERAT) .
    Export,
    /// System maintenance: loading, benchmarks (HSYSADMIN).
    SystemAdministration,
}

impl Purpose {
    pub fn code(self) -> &'static str {
        match self {
            Purpose::DirectCare => "TREAT",
            Purpose::Operations => "HOPERAT",
            Purpose::Export => "PATRQT",
            Purpose::SystemAdministration => "HSYSADMIN",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The practice (tenant) whose records this request may touch: its ODS code.
    pub practice: String,
    pub actor: Actor,
    pub purpose: Purpose,
    /// Correlates log lines and audit entries of one request.
    pub request_id: String,
}

impl RequestContext {
    pub fn new(practice: impl Into<String>, actor: Actor, purpose: Purpose) -> Self {
        RequestContext {
            practice: practice.into(),
            actor,
            purpose,
            request_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// OpenGP itself acting for `practice` (loading, benchmarks, tests).
    pub fn system(practice: impl Into<String>) -> Self {
        Self::new(
            practice,
            Actor::System("opengp".into()),
            Purpose::SystemAdministration,
        )
    }
}
