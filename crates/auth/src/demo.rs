//! Demo accounts: one per job role, with known passwords and authenticator secrets,
//! each linked to a Practitioner and a PractitionerRole in the record. For
//! demonstrations and tests only: anyone who reads this file can sign in as them.

use crate::error::{AuthError, ErrorKind};
use crate::secrets::sha256;
use crate::users::NewUser;
use crate::{Auth, totp};
use serde_json::{Value, json};
use store::{RequestContext, Role};

const SDS_USER_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-user-id";
const DEMO_ROLE_ID_SYSTEM: &str = "https://opengp.org.uk/Id/demo-practitioner-role";

/// A demo account and how to sign in as it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub role: Role,
    /// For authenticator apps (base32), if the role needs a second factor.
    pub totp_secret: Option<String>,
    /// The Practitioner resource id the account is linked to.
    pub practitioner: String,
}

fn short_name(role: Role) -> &'static str {
    match role {
        Role::ClinicalPractitioner => "gp",
        Role::Nurse => "nurse",
        Role::AdminClinicalSupport => "admin",
        Role::Receptionist => "receptionist",
        Role::PracticeManager => "practice-manager",
        Role::PrivacyOfficer => "privacy-officer",
    }
}

/// The fixed TOTP seed of a demo account: derived from its name, so it is the same on
/// every installation.
fn demo_totp_seed(username: &str) -> Vec<u8> {
    sha256(format!("opengp demo totp {username}").as_bytes())[..20].to_vec()
}

impl Auth {
    /// Makes sure `practice` has one demo account per role, each with its Practitioner
    /// and PractitionerRole. Running it again changes nothing (an existing account keeps
    /// whatever password it has now).
    pub fn ensure_demo_accounts(&self, practice: &str) -> Result<Vec<DemoAccount>, AuthError> {
        let system = RequestContext::system(practice);
        let mut accounts = Vec::new();
        for (n, role) in Role::ALL.into_iter().enumerate() {
            let short = short_name(role);
            let username = format!("demo.{short}");
            let password = format!("opengp-demo-{short}");
            let seed = demo_totp_seed(&username);
            let practitioner = self.ensure_demo_practitioner(&system, role, &username, n)?;
            if self.find_user(practice, &username)?.is_none() {
                let new = NewUser {
                    username: username.clone(),
                    display_name: format!("Demo {}", role.display()),
                    role,
                    password: password.clone(),
                    practitioner: Some(practitioner.clone()),
                };
                let secret = role.requires_second_factor().then_some(seed.as_slice());
                self.insert_user(&system, new, secret)?;
            }
            accounts.push(DemoAccount {
                username,
                password,
                role,
                totp_secret: role
                    .requires_second_factor()
                    .then(|| totp::base32_encode(&seed)),
                practitioner,
            });
        }
        Ok(accounts)
    }

    /// The Practitioner (with an SDS user id) and PractitionerRole of a demo account,
    /// created once (conditional create on their identifiers).
    fn ensure_demo_practitioner(
        &self,
        system: &RequestContext,
        role: Role,
        username: &str,
        n: usize,
    ) -> Result<String, AuthError> {
        let sds_user_id = format!("5550000000{:02}", n + 1);
        let practitioner = json!({
            "resourceType": "Practitioner",
            "identifier": [{"system": SDS_USER_ID_SYSTEM, "value": sds_user_id}],
            "active": true,
            "name": [{"use": "official", "family": "Demo", "given": [role.display()]}],
        });
        let criteria = format!("identifier={SDS_USER_ID_SYSTEM}|{sds_user_id}");
        let id = self.create_once(system, "Practitioner", practitioner, &criteria)?;
        let (code_system, code) = role.code();
        let practitioner_role = json!({
            "resourceType": "PractitionerRole",
            "identifier": [{"system": DEMO_ROLE_ID_SYSTEM, "value": username}],
            "active": true,
            "practitioner": {"reference": format!("Practitioner/{id}")},
            "code": [{"coding": [{"system": code_system, "code": code, "display": role.display()}]}],
        });
        let criteria = format!("identifier={DEMO_ROLE_ID_SYSTEM}|{username}");
        self.create_once(system, "PractitionerRole", practitioner_role, &criteria)?;
        Ok(id)
    }

    fn create_once(
        &self,
        system: &RequestContext,
        rtype: &str,
        body: Value,
        criteria: &str,
    ) -> Result<String, AuthError> {
        let outcome = self
            .repo
            .create(system, rtype, body, Some(criteria))
            .map_err(|e| {
                AuthError::new(ErrorKind::Internal, format!("creating a demo {rtype}: {e}"))
            })?;
        Ok(outcome.resource.id)
    }
}
