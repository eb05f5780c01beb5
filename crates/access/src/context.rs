//! The request context every store operation carries: which practice (tenant), who is
//! acting (a user, an app or the system itself) and why. Tenancy is enforced here, in the
//! store's SQL, so no route can reach another practice's records; access rules and the
//! audit trail hang off the same context.

use crate::Access;
use std::any::Any;
use std::sync::Arc;

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
    /// Sharing for care outside the practice: GP Connect, the integration engine,
    /// third-party apps (COC, continuity of care). A patient's dissent to sharing hides
    /// their record from these requests.
    Sharing,
}

impl Purpose {
    pub fn code(self) -> &'static str {
        match self {
            Purpose::DirectCare => "TREAT",
            Purpose::Operations => "HOPERAT",
            Purpose::Export => "PATRQT",
            Purpose::SystemAdministration => "HSYSADMIN",
            Purpose::Sharing => "COC",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestContext {
    /// What this request may see and do (role, scopes, patient context, break-glass).
    pub access: Access,
    /// The practice (tenant) whose records this request may touch: its ODS code.
    pub practice: String,
    pub actor: Actor,
    pub purpose: Purpose,
    /// Correlates log lines and audit entries of one request.
    pub request_id: String,
    /// Where the request came from (the client's network address), for the audit trail.
    pub source: Option<String>,
    /// Audit entries held back by the store's `Repository::audited_together` and written
    /// together when it ends; only it sets this. `None`: each read's entry is written,
    /// and waited for, at once. An `audit::HeldAudit`, untyped here because the audit
    /// trail sits above the request context.
    pub held_audit: Option<Arc<dyn Any + Send + Sync>>,
}

impl RequestContext {
    pub fn new(practice: impl Into<String>, actor: Actor, purpose: Purpose) -> Self {
        let access = match actor {
            Actor::System(_) => Access::system(),
            _ => Access::nobody(),
        };
        RequestContext {
            access,
            practice: practice.into(),
            actor,
            purpose,
            request_id: uuid::Uuid::new_v4().to_string(),
            source: None,
            held_audit: None,
        }
    }

    /// The same context with these access rights.
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = access;
        self
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
