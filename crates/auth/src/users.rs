//! Staff accounts: creation, role changes, lookup, and the failure counter behind the
//! lockout.

use crate::error::{AuthError, ErrorKind};
use crate::rows::{int, opt_int, opt_text, text};
use crate::{Auth, event, password, secrets, totp};
use store::access::Activity;
use store::audit::Outcome;
use store::{RequestContext, Role, SqlValue, Transaction, TxMode};

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Letters, digits, `.`, `-` and `_`, 3 to 64 characters; stored in lower case.
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
    /// The Practitioner resource id the account is linked to.
    pub practitioner: Option<String>,
}

/// A staff account (never its password hash or TOTP seed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub practice: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub practitioner: Option<String>,
}

impl User {
    pub fn staff_member(&self) -> store::StaffMember {
        store::StaffMember {
            user_id: self.id.clone(),
            role: self.role,
            practitioner: self.practitioner.clone(),
        }
    }
}

/// What an authenticator app needs to enrol: show the URI as a QR code, or the secret
/// for typing in. Shown once, when it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    pub secret_base32: String,
    pub uri: String,
}

impl TotpEnrolment {
    fn new(username: &str, secret: &[u8]) -> TotpEnrolment {
        let secret_base32 = totp::base32_encode(secret);
        TotpEnrolment {
            uri: totp::otpauth_uri(username, &secret_base32),
            secret_base32,
        }
    }
}

/// A new account, and its second-factor enrolment if its role needs one.
#[derive(Debug, Clone)]
pub struct AddedUser {
    pub user: User,
    pub totp: Option<TotpEnrolment>,
}

/// An account row with the secrets sign-in needs.
pub(crate) struct UserRecord {
    pub user: User,
    pub password_hash: String,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_last_step: Option<u64>,
    pub locked_until: Option<i64>,
}

const USER_COLUMNS: &str = "id, practice, username, display_name, role, practitioner, \
    password_hash, totp_secret, totp_last_step, locked_until";

fn record_from(row: &store::Row) -> Result<UserRecord, AuthError> {
    let role_code = text(row, 4);
    let role = Role::parse(&role_code).ok_or_else(|| {
        AuthError::new(
            ErrorKind::Internal,
            format!("an account has an unknown role code '{role_code}'"),
        )
    })?;
    Ok(UserRecord {
        user: User {
            id: text(row, 0),
            practice: text(row, 1),
            username: text(row, 2),
            display_name: text(row, 3),
            role,
            practitioner: opt_text(row, 5),
        },
        password_hash: text(row, 6),
        totp_secret: opt_text(row, 7).and_then(|s| totp::base32_decode(&s)),
        totp_last_step: opt_int(row, 8).and_then(|s| u64::try_from(s).ok()),
        locked_until: opt_int(row, 9),
    })
}

pub(crate) fn load_by_username(
    tx: &mut dyn Transaction,
    practice: &str,
    username: &str,
) -> Result<Option<UserRecord>, AuthError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM auth_users WHERE practice = ? AND username = ?");
    let rows = tx.query(&sql, &[practice.into(), normalise(username).into()])?;
    rows.first().map(record_from).transpose()
}

pub(crate) fn load_by_id(
    tx: &mut dyn Transaction,
    practice: &str,
    id: &str,
) -> Result<Option<UserRecord>, AuthError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM auth_users WHERE practice = ? AND id = ?");
    let rows = tx.query(&sql, &[practice.into(), id.into()])?;
    rows.first().map(record_from).transpose()
}

fn normalise(username: &str) -> String {
    username.trim().to_ascii_lowercase()
}

fn check_username(username: &str) -> Result<(), AuthError> {
    let ok = (3..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::new(
            ErrorKind::Invalid,
            "a username has 3 to 64 letters, digits, '.', '-' or '_'",
        ))
    }
}

/// Only OpenGP itself and staff whose role may manage users administer accounts and
/// apps.
pub(crate) fn require_admin(ctx: &RequestContext) -> Result<(), AuthError> {
    let allowed = ctx.access.unrestricted
        || ctx
            .access
            .staff
            .as_ref()
            .is_some_and(|s| s.role.may(Activity::ManageUsers));
    if allowed {
        Ok(())
    } else {
        Err(AuthError::new(
            ErrorKind::AccessDenied,
            "only a practice manager may manage staff accounts and apps",
        ))
    }
}

impl Auth {
    /// Creates an account in `admin.practice`. The password must meet the policy
    /// (at least 12 characters). Roles that need a second factor get a TOTP secret,
    /// returned once for enrolment.
    pub fn add_user(&self, admin: &RequestContext, new: NewUser) -> Result<AddedUser, AuthError> {
        require_admin(admin)?;
        let secret = new
            .role
            .requires_second_factor()
            .then(secrets::random_bytes::<20>);
        self.insert_user(admin, new, secret.as_ref().map(|s| s.as_slice()))
    }

    pub(crate) fn insert_user(
        &self,
        admin: &RequestContext,
        new: NewUser,
        totp_secret: Option<&[u8]>,
    ) -> Result<AddedUser, AuthError> {
        let username = normalise(&new.username);
        check_username(&username)?;
        password::check_policy(&new.password)?;
        if new.display_name.trim().is_empty() {
            return Err(AuthError::new(ErrorKind::Invalid, "give the person's name"));
        }
        let hash = password::hash(&new.password)?;
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            practice: admin.practice.clone(),
            username,
            display_name: new.display_name.trim().to_string(),
            role: new.role,
            practitioner: new.practitioner,
        };
        let mut tx = self.begin(TxMode::Write)?;
        if load_by_username(tx.as_mut(), &user.practice, &user.username)?.is_some() {
            return Err(AuthError::new(
                ErrorKind::Invalid,
                format!("the username '{}' is taken", user.username),
            ));
        }
        tx.execute(
            "INSERT INTO auth_users (id, practice, username, display_name, role, practitioner, \
             password_hash, totp_secret, totp_last_step, failed_count, locked_until, created) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL, ?)",
            &[
                user.id.clone().into(),
                user.practice.clone().into(),
                user.username.clone().into(),
                user.display_name.clone().into(),
                user.role.code().1.into(),
                user.practitioner.clone().into(),
                hash.into(),
                totp_secret.map(totp::base32_encode).into(),
                self.now().into(),
            ],
        )?;
        self.audit_in(
            tx.as_mut(),
            admin,
            event(
                "user-admin",
                Outcome::Success,
                format!(
                    "account {} created with role {}",
                    user.id,
                    user.role.code().1
                ),
            ),
        )?;
        tx.commit()?;
        let totp = totp_secret.map(|s| TotpEnrolment::new(&user.username, s));
        Ok(AddedUser { user, totp })
    }

    /// Changes an account's role; it applies from the account's next request. If the
    /// new role needs a second factor and the account has none yet, the enrolment is
    /// returned.
    pub fn set_role(
        &self,
        admin: &RequestContext,
        user_id: &str,
        role: Role,
    ) -> Result<Option<TotpEnrolment>, AuthError> {
        require_admin(admin)?;
        let mut tx = self.begin(TxMode::Write)?;
        let record = load_by_id(tx.as_mut(), &admin.practice, user_id)?
            .ok_or_else(|| AuthError::new(ErrorKind::NotFound, "no such account"))?;
        let new_secret = (role.requires_second_factor() && record.totp_secret.is_none())
            .then(secrets::random_bytes::<20>);
        tx.execute(
            "UPDATE auth_users SET role = ?, totp_secret = COALESCE(totp_secret, ?) \
             WHERE practice = ? AND id = ?",
            &[
                role.code().1.into(),
                new_secret.map(|s| totp::base32_encode(&s)).into(),
                admin.practice.clone().into(),
                user_id.into(),
            ],
        )?;
        self.audit_in(
            tx.as_mut(),
            admin,
            event(
                "user-admin",
                Outcome::Success,
                format!(
                    "account {user_id} role changed from {} to {}",
                    record.user.role.code().1,
                    role.code().1
                ),
            ),
        )?;
        tx.commit()?;
        Ok(new_secret.map(|s| TotpEnrolment::new(&record.user.username, &s)))
    }

    /// The account with this username in `practice`.
    pub fn find_user(&self, practice: &str, username: &str) -> Result<Option<User>, AuthError> {
        let mut tx = self.begin(TxMode::Read)?;
        Ok(load_by_username(tx.as_mut(), practice, username)?.map(|r| r.user))
    }

    /// The account with this id in `practice`.
    pub fn user(&self, practice: &str, user_id: &str) -> Result<Option<User>, AuthError> {
        let mut tx = self.begin(TxMode::Read)?;
        Ok(load_by_id(tx.as_mut(), practice, user_id)?.map(|r| r.user))
    }

    /// Counts a failed sign-in; returns whether this failure locked the account.
    pub(crate) fn count_failure(
        &self,
        tx: &mut dyn Transaction,
        user: &User,
    ) -> Result<bool, AuthError> {
        let key = [
            SqlValue::from(user.practice.clone()),
            user.id.clone().into(),
        ];
        tx.execute(
            "UPDATE auth_users SET failed_count = failed_count + 1 WHERE practice = ? AND id = ?",
            &key,
        )?;
        let rows = tx.query(
            "SELECT failed_count FROM auth_users WHERE practice = ? AND id = ?",
            &key,
        )?;
        let failures = rows.first().map_or(0, |r| int(r, 0));
        if failures < i64::from(self.config.max_failures) {
            return Ok(false);
        }
        let until = self.now() + crate::config::duration_micros(self.config.lockout);
        tx.execute(
            "UPDATE auth_users SET failed_count = 0, locked_until = ? WHERE practice = ? AND id = ?",
            &[until.into(), key[0].clone(), key[1].clone()],
        )?;
        Ok(true)
    }

    pub(crate) fn clear_failures(
        &self,
        tx: &mut dyn Transaction,
        user: &User,
    ) -> Result<(), AuthError> {
        tx.execute(
            "UPDATE auth_users SET failed_count = 0, locked_until = NULL WHERE practice = ? AND id = ?",
            &[user.practice.clone().into(), user.id.clone().into()],
        )?;
        Ok(())
    }
}
