//! Administration commands: staff accounts (`user`), apps (`client`) and the audit
//! trail (`audit verify`). Each opens the database, does one thing and prints the result.

use crate::database;
use auth::{Auth, AuthConfig, NewClient, NewUser};
use clap::{Args, Subcommand};
use std::io::BufRead;
use std::sync::Arc;
use store::{Repository, RepositoryConfig, RequestContext, Role};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a staff account. The password comes from OPENGP_PASSWORD or stdin.
    Add(UserAdd),
    /// Change a staff account's role (applies from its next request).
    Role(UserRole),
}

#[derive(Args)]
pub struct Target {
    /// sqlite:PATH or postgres://USER@HOST/DATABASE.
    #[arg(long, value_name = "URL")]
    pub database: String,
    /// ODS code of the practice.
    #[arg(long, value_name = "ODS", default_value = server::DEFAULT_PRACTICE, value_parser = crate::parse_ods_code)]
    pub practice: String,
}

#[derive(Args)]
pub struct UserAdd {
    #[command(flatten)]
    target: Target,
    #[arg(long)]
    username: String,
    /// gp, nurse, admin, receptionist, practice-manager, privacy-officer (or an R code).
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// The person's name as shown to others.
    #[arg(long)]
    name: Option<String>,
    /// The Practitioner resource id the account is linked to.
    #[arg(long, value_name = "ID")]
    practitioner: Option<String>,
}

#[derive(Args)]
pub struct UserRole {
    #[command(flatten)]
    target: Target,
    #[arg(long)]
    username: String,
    #[arg(long, value_parser = parse_role)]
    role: Role,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register an app; prints client_id= and (for confidential apps) client_secret=.
    Add(ClientAdd),
    /// Each app's use of the practice's records, from the audit trail.
    Usage(Target),
}

#[derive(Args)]
pub struct ClientAdd {
    #[command(flatten)]
    target: Target,
    /// The most the app may be granted, e.g. "system/Patient.rs" or "user/*.rs offline_access".
    #[arg(long)]
    scopes: String,
    #[arg(long, default_value = "API client")]
    name: String,
    /// An exact redirect URI (repeat for several).
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// A public app (browser or mobile): no secret, PKCE only.
    #[arg(long)]
    public: bool,
    /// Requests per minute allowed (0: no limit).
    #[arg(long = "rate-limit", default_value_t = 600)]
    rate_limit: u32,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check every practice's hash chain; exit non-zero at the first altered, deleted or
    /// inserted entry.
    Verify {
        #[arg(long, value_name = "URL")]
        database: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!("unknown role '{s}': gp, nurse, admin, receptionist, practice-manager or privacy-officer")
    })
}

/// The sign-in service over the database named by `url`.
pub fn open_auth(url: &str) -> Result<Auth, String> {
    let store = database::open(url)?;
    let repo = Arc::new(Repository::new(store, RepositoryConfig::default()));
    Auth::new(repo, AuthConfig::default()).map_err(|e| e.to_string())
}

fn password() -> Result<String, String> {
    if let Ok(p) = std::env::var("OPENGP_PASSWORD") {
        return Ok(p);
    }
    eprint!("Password (at least 12 characters): ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn user(command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add(a) => {
            let auth = open_auth(&a.target.database)?;
            let admin = RequestContext::system(&a.target.practice);
            let new = NewUser {
                display_name: a.name.unwrap_or_else(|| a.username.clone()),
                username: a.username,
                role: a.role,
                password: password()?,
                practitioner: a.practitioner,
            };
            let added = auth.add_user(&admin, new).map_err(|e| e.message)?;
            println!("user_id={}", added.user.id);
            if let Some(totp) = added.totp {
                println!("totp_secret={}", totp.secret_base32);
                println!("totp_uri={}", totp.uri);
            }
            Ok(())
        }
        UserCommand::Role(r) => {
            let auth = open_auth(&r.target.database)?;
            let admin = RequestContext::system(&r.target.practice);
            let user = auth
                .find_user(&r.target.practice, &r.username)
                .map_err(|e| e.message)?
                .ok_or_else(|| {
                    format!("no user '{}' in practice {}", r.username, r.target.practice)
                })?;
            let enrolment = auth
                .set_role(&admin, &user.id, r.role)
                .map_err(|e| e.message)?;
            println!("{} is now {}", user.username, r.role.display());
            if let Some(totp) = enrolment {
                println!("totp_secret={}", totp.secret_base32);
                println!("totp_uri={}", totp.uri);
            }
            Ok(())
        }
    }
}

pub fn client(command: ClientCommand) -> Result<(), String> {
    match command {
        ClientCommand::Add(c) => {
            let auth = open_auth(&c.target.database)?;
            let admin = RequestContext::system(&c.target.practice);
            let registered = auth
                .register_client(
                    &admin,
                    NewClient {
                        name: c.name,
                        scopes: c.scopes,
                        redirect_uris: c.redirect_uris,
                        confidential: !c.public,
                        rate_limit_per_minute: c.rate_limit,
                    },
                )
                .map_err(|e| e.message)?;
            println!("client_id={}", registered.client_id);
            if let Some(secret) = registered.client_secret {
                println!("client_secret={secret}");
            }
            Ok(())
        }
        ClientCommand::Usage(t) => {
            let auth = open_auth(&t.database)?;
            let clients = auth.list_clients(&t.practice).map_err(|e| e.message)?;
            let usage = auth
                .repository()
                .audit()
                .client_usage(&t.practice)
                .map_err(|e| e.to_string())?;
            println!(
                "{:<36}  {:<24}  {:>9}  {:>9}",
                "client_id", "name", "requests", "returned"
            );
            for client in &clients {
                let used = usage.iter().find(|u| u.client_id == client.client_id);
                println!(
                    "{:<36}  {:<24}  {:>9}  {:>9}",
                    client.client_id,
                    client.name,
                    used.map_or(0, |u| u.requests),
                    used.map_or(0, |u| u.resources_returned)
                );
            }
            Ok(())
        }
    }
}

pub fn audit(command: AuditCommand) -> Result<(), String> {
    let AuditCommand::Verify { database: url } = command;
    let store = database::open(&url)?;
    // Opening a repository creates the audit tables if this database has none yet.
    let repo = Repository::new(store, RepositoryConfig::default());
    let report = store::audit::verify(repo.store().as_ref()).map_err(|e| e.to_string())?;
    match report.broken {
        None => {
            println!(
                "audit trail intact: {} entries in {} practice chain(s)",
                report.entries, report.practices
            );
            Ok(())
        }
        Some(broken) => Err(format!(
            "audit trail broken: practice {}, entry {} {}: {}",
            broken.practice, broken.seq, broken.kind, broken.message
        )),
    }
}
