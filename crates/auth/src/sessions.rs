//! Cookie sessions of OpenGP's own UI: an anonymous session for the sign-in form, then
//! password, then (for most roles) an authenticator code. The token is rotated at each
//! step, so a token planted before sign-in (session fixation) never becomes signed in.

use crate::config::duration_micros;
use crate::error::{AuthError, ErrorKind};
use crate::rows::{int, opt_text, text};
use crate::users::{UserRecord, load_by_id, load_by_username};
use crate::{Auth, User, event, password, secrets, totp};
use store::audit::Outcome;
use store::{Access, Actor, Purpose, RequestContext, Role, Transaction, TxMode};

/// A session token (for the cookie) and its CSRF token (for every form it posts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token: String,
    pub csrf: String,
}

/// Where a sign-in stands after the password. Either way the token has changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInStep {
    /// The password was right; the role needs an authenticator code next.
    NeedsSecondFactor(Session),
    SignedIn(Session),
}

impl SignInStep {
    pub fn session(&self) -> &Session {
        match self {
            SignInStep::NeedsSecondFactor(s) | SignInStep::SignedIn(s) => s,
        }
    }
}

/// A live session, as of this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub practice: String,
    /// The account, with its current role (re-read on every call), once the password
    /// has been accepted.
    pub user: Option<User>,
    pub csrf: String,
    /// Fully signed in (password and, where needed, second factor).
    pub signed_in: bool,
    /// The password was accepted and the authenticator code is awaited.
    pub needs_second_factor: bool,
}

impl SessionInfo {
    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }

    /// The store context of a fully signed-in session (direct care, the member of
    /// staff's current role); `None` until both sign-in steps are done.
    pub fn request_context(&self, source: Option<&str>) -> Option<RequestContext> {
        let (true, Some(user)) = (self.signed_in, self.user.as_ref()) else {
            return None;
        };
        let mut ctx = RequestContext::new(
            &self.practice,
            Actor::User(user.id.clone()),
            Purpose::DirectCare,
        )
        .with_access(Access::staff(user.staff_member()));
        ctx.source = source.map(str::to_string);
        Some(ctx)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Anonymous,
    SecondFactor,
    SignedIn,
}

impl Stage {
    fn code(self) -> &'static str {
        match self {
            Stage::Anonymous => "anonymous",
            Stage::SecondFactor => "second-factor",
            Stage::SignedIn => "signed-in",
        }
    }

    fn parse(code: &str) -> Stage {
        match code {
            "signed-in" => Stage::SignedIn,
            "second-factor" => Stage::SecondFactor,
            _ => Stage::Anonymous,
        }
    }
}

struct SessionRow {
    hash: String,
    practice: String,
    user_id: Option<String>,
    stage: Stage,
    csrf: String,
    created: i64,
    last_seen: i64,
}

fn load_session(tx: &mut dyn Transaction, token: &str) -> Result<Option<SessionRow>, AuthError> {
    let hash = secrets::token_hash(token);
    let rows = tx.query(
        "SELECT practice, user_id, stage, csrf, created, last_seen FROM auth_sessions \
         WHERE token_hash = ?",
        &[hash.clone().into()],
    )?;
    Ok(rows.first().map(|r| SessionRow {
        hash: hash.clone(),
        practice: text(r, 0),
        user_id: opt_text(r, 1),
        stage: Stage::parse(&text(r, 2)),
        csrf: text(r, 3),
        created: int(r, 4),
        last_seen: int(r, 5),
    }))
}

fn sign_in_failed() -> AuthError {
    AuthError::new(ErrorKind::SignInFailed, "the username or password is wrong")
}

/// The context sign-in events are audited under.
fn sign_in_context(practice: &str, user: Option<&User>, source: Option<&str>) -> RequestContext {
    let actor = Actor::User(user.map_or_else(|| "unknown".to_string(), |u| u.id.clone()));
    let mut ctx = RequestContext::new(practice, actor, Purpose::Operations);
    if let Some(user) = user {
        ctx = ctx.with_access(Access::staff(user.staff_member()));
    }
    ctx.source = source.map(str::to_string);
    ctx
}

impl Auth {
    fn session_expired_at(&self, row: &SessionRow, now: i64) -> bool {
        now - row.last_seen > duration_micros(self.config.session_idle)
            || now - row.created > duration_micros(self.config.session_max)
    }

    /// A new anonymous session for the sign-in form of `practice`.
    pub fn start_session(
        &self,
        practice: &str,
        source: Option<&str>,
    ) -> Result<Session, AuthError> {
        let now = self.now();
        let mut tx = self.begin(TxMode::Write)?;
        // Opportunistic clean-up of sessions that can no longer be used.
        tx.execute(
            "DELETE FROM auth_sessions WHERE last_seen < ? OR created < ?",
            &[
                (now - duration_micros(self.config.session_idle)).into(),
                (now - duration_micros(self.config.session_max)).into(),
            ],
        )?;
        let session = insert_session(tx.as_mut(), practice, None, Stage::Anonymous, now, source)?;
        tx.commit()?;
        Ok(session)
    }

    /// A live session whose CSRF token is `csrf`, for a sign-in step.
    fn session_for_step(&self, token: &str, csrf: &str) -> Result<SessionRow, AuthError> {
        let mut tx = self.begin(TxMode::Read)?;
        let row = load_session(tx.as_mut(), token)?
            .filter(|row| !self.session_expired_at(row, self.now()))
            .ok_or_else(AuthError::session_expired)?;
        if !secrets::same(&row.csrf, csrf) {
            return Err(AuthError::new(
                ErrorKind::CsrfMismatch,
                "the form does not belong to this session: reload the page and try again",
            ));
        }
        Ok(row)
    }

    fn locked(&self, record: &UserRecord) -> Option<AuthError> {
        let until = record.locked_until.filter(|t| *t > self.now())?;
        let minutes = (until - self.now() + 59_999_999) / 60_000_000;
        Some(AuthError::new(
            ErrorKind::AccountLocked,
            format!(
                "this account is locked after too many failed sign-ins: try again in \
                 {minutes} minute(s), or ask the practice manager"
            ),
        ))
    }

    /// The password step. Unknown usernames and wrong passwords get the same answer
    /// after the same work; a locked account is refused even with the right password.
    pub fn sign_in_password(
        &self,
        token: &str,
        csrf: &str,
        username: &str,
        password: &str,
        source: Option<&str>,
    ) -> Result<SignInStep, AuthError> {
        let session = self.session_for_step(token, csrf)?;
        let record = {
            let mut tx = self.begin(TxMode::Read)?;
            load_by_username(tx.as_mut(), &session.practice, username)?
        };
        let Some(record) = record else {
            password::verify(password, &self.dummy_hash);
            let ctx = sign_in_context(&session.practice, None, source);
            self.audit(&ctx, event("login", Outcome::Refused, "unknown username"))?;
            return Err(sign_in_failed());
        };
        let right = password::verify(password, &record.password_hash);
        let ctx = sign_in_context(&session.practice, Some(&record.user), source);
        if let Some(locked) = self.locked(&record) {
            self.audit(&ctx, event("login", Outcome::Refused, "account locked"))?;
            return Err(locked);
        }
        let mut tx = self.begin(TxMode::Write)?;
        if !right {
            let locked_now = self.count_failure(tx.as_mut(), &record.user)?;
            tx.commit()?;
            let detail = if locked_now {
                "wrong password; account now locked"
            } else {
                "wrong password"
            };
            self.audit(&ctx, event("login", Outcome::Refused, detail))?;
            return Err(sign_in_failed());
        }
        self.clear_failures(tx.as_mut(), &record.user)?;
        let second_factor = record.user.role.requires_second_factor();
        let stage = if second_factor {
            Stage::SecondFactor
        } else {
            Stage::SignedIn
        };
        let new = self.rotate(tx.as_mut(), &session, &record.user, stage, source)?;
        tx.commit()?;
        if second_factor {
            let detail = "password accepted; authenticator code required";
            self.audit(&ctx, event("login", Outcome::Success, detail))?;
            Ok(SignInStep::NeedsSecondFactor(new))
        } else {
            self.audit(
                &ctx,
                event("login", Outcome::Success, "signed in with password"),
            )?;
            Ok(SignInStep::SignedIn(new))
        }
    }

    /// The authenticator step. A code is accepted once only; wrong codes count towards
    /// the lockout like wrong passwords.
    pub fn sign_in_totp(
        &self,
        token: &str,
        csrf: &str,
        code: &str,
        source: Option<&str>,
    ) -> Result<Session, AuthError> {
        let session = self.session_for_step(token, csrf)?;
        let (Stage::SecondFactor, Some(user_id)) = (session.stage, session.user_id.as_deref())
        else {
            return Err(AuthError::session_expired());
        };
        let record = {
            let mut tx = self.begin(TxMode::Read)?;
            load_by_id(tx.as_mut(), &session.practice, user_id)?
        }
        .ok_or_else(AuthError::session_expired)?;
        let ctx = sign_in_context(&session.practice, Some(&record.user), source);
        if let Some(locked) = self.locked(&record) {
            self.audit(&ctx, event("login", Outcome::Refused, "account locked"))?;
            return Err(locked);
        }
        let Some(secret) = record.totp_secret.as_deref() else {
            return Err(AuthError::new(
                ErrorKind::AccessDenied,
                "no authenticator is enrolled for this account: ask the practice manager",
            ));
        };
        let now = self.config.clock.now_seconds();
        let step = totp::verify(secret, code, now, record.totp_last_step);
        let mut tx = self.begin(TxMode::Write)?;
        if let Some(step) = step
            && claim_step(tx.as_mut(), &record.user, step)?
        {
            self.clear_failures(tx.as_mut(), &record.user)?;
            let new = self.rotate(tx.as_mut(), &session, &record.user, Stage::SignedIn, source)?;
            tx.commit()?;
            let detail = "signed in with password and authenticator code";
            self.audit(&ctx, event("login", Outcome::Success, detail))?;
            return Ok(new);
        }
        let locked_now = self.count_failure(tx.as_mut(), &record.user)?;
        tx.commit()?;
        let replayed = totp::verify(secret, code, now, None).is_some();
        let detail = match (replayed, locked_now) {
            (true, false) => "authenticator code already used",
            (true, true) => "authenticator code already used; account now locked",
            (false, false) => "wrong authenticator code",
            (false, true) => "wrong authenticator code; account now locked",
        };
        self.audit(&ctx, event("login", Outcome::Refused, detail))?;
        Err(AuthError::new(
            ErrorKind::SignInFailed,
            "the code is wrong or has been used already: enter the next code your \
             authenticator shows",
        ))
    }

    /// Replaces the session's token (and CSRF token) with new ones at `stage`.
    fn rotate(
        &self,
        tx: &mut dyn Transaction,
        old: &SessionRow,
        user: &User,
        stage: Stage,
        source: Option<&str>,
    ) -> Result<Session, AuthError> {
        // Only one rotation of a token can win: a second one finds it gone.
        let deleted = tx.execute(
            "DELETE FROM auth_sessions WHERE token_hash = ?",
            &[old.hash.clone().into()],
        )?;
        if deleted != 1 {
            return Err(AuthError::session_expired());
        }
        insert_session(tx, &old.practice, Some(&user.id), stage, self.now(), source)
    }

    /// The session behind a cookie, after the idle and absolute timeouts (an expired
    /// session is deleted). Each call counts as activity. The role is read afresh, so a
    /// change applies on the next request.
    pub fn session(&self, token: &str) -> Result<Option<SessionInfo>, AuthError> {
        let now = self.now();
        // Disposable: losing a `last_seen` update in a crash only shortens a session.
        let mut tx = self.begin(TxMode::Disposable)?;
        let Some(row) = load_session(tx.as_mut(), token)? else {
            return Ok(None);
        };
        let delete = |tx: &mut dyn Transaction| {
            tx.execute(
                "DELETE FROM auth_sessions WHERE token_hash = ?",
                &[row.hash.clone().into()],
            )
        };
        if self.session_expired_at(&row, now) {
            delete(tx.as_mut())?;
            tx.commit()?;
            return Ok(None);
        }
        let user = match &row.user_id {
            Some(id) => match load_by_id(tx.as_mut(), &row.practice, id)? {
                Some(record) => Some(record.user),
                None => {
                    // The account was removed: its sessions end with it.
                    delete(tx.as_mut())?;
                    tx.commit()?;
                    return Ok(None);
                }
            },
            None => None,
        };
        tx.execute(
            "UPDATE auth_sessions SET last_seen = ? WHERE token_hash = ?",
            &[now.into(), row.hash.clone().into()],
        )?;
        tx.commit()?;
        Ok(Some(SessionInfo {
            practice: row.practice,
            user,
            csrf: row.csrf,
            signed_in: row.stage == Stage::SignedIn,
            needs_second_factor: row.stage == Stage::SecondFactor,
        }))
    }

    /// The store context of a fully signed-in session (direct care, the member of
    /// staff's current role); `None` otherwise.
    pub fn session_context(
        &self,
        token: &str,
        source: Option<&str>,
    ) -> Result<Option<RequestContext>, AuthError> {
        Ok(self
            .session(token)?
            .and_then(|info| info.request_context(source)))
    }

    /// Ends the session (nothing happens for an unknown token).
    pub fn sign_out(&self, token: &str, source: Option<&str>) -> Result<(), AuthError> {
        let mut tx = self.begin(TxMode::Write)?;
        let Some(row) = load_session(tx.as_mut(), token)? else {
            return Ok(());
        };
        tx.execute(
            "DELETE FROM auth_sessions WHERE token_hash = ?",
            &[row.hash.clone().into()],
        )?;
        let user = match &row.user_id {
            Some(id) => load_by_id(tx.as_mut(), &row.practice, id)?.map(|r| r.user),
            None => None,
        };
        tx.commit()?;
        if let Some(user) = user {
            let ctx = sign_in_context(&row.practice, Some(&user), source);
            self.audit(&ctx, event("logout", Outcome::Success, "signed out"))?;
        }
        Ok(())
    }
}

fn insert_session(
    tx: &mut dyn Transaction,
    practice: &str,
    user_id: Option<&str>,
    stage: Stage,
    now: i64,
    source: Option<&str>,
) -> Result<Session, AuthError> {
    let session = Session {
        token: secrets::new_token(),
        csrf: secrets::new_token(),
    };
    tx.execute(
        "INSERT INTO auth_sessions (token_hash, practice, user_id, stage, csrf, created, \
         last_seen, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            secrets::token_hash(&session.token).into(),
            practice.into(),
            user_id.into(),
            stage.code().into(),
            session.csrf.clone().into(),
            now.into(),
            now.into(),
            source.into(),
        ],
    )?;
    Ok(session)
}

/// Records `step` as the account's last used TOTP step, unless it (or a later one) was
/// used already; concurrent sign-ins with one code cannot both win.
fn claim_step(tx: &mut dyn Transaction, user: &User, step: u64) -> Result<bool, AuthError> {
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let claimed = tx.execute(
        "UPDATE auth_users SET totp_last_step = ? WHERE practice = ? AND id = ? \
         AND (totp_last_step IS NULL OR totp_last_step < ?)",
        &[
            step.into(),
            user.practice.clone().into(),
            user.id.clone().into(),
            step.into(),
        ],
    )?;
    Ok(claimed == 1)
}
