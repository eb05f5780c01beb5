//! The `opengp` command: `serve` runs the FHIR API (and the outbox worker), `bench`
//! measures a store, `user`, `client`, `audit` and `outbox` administer accounts, apps,
//! the audit trail and outgoing messages.

/// mimalloc: the store builds and drops many small JSON values per request; glibc's
/// allocator spent about a third of ingest time in malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin;
mod bench;
mod bench_workspace;
mod database;
mod demo;
mod messages;
mod national;
mod transport;

use auth::{Auth, AuthConfig};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use store::{Repository, RepositoryConfig, RequestContext, SearchRequest};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "opengp",
    version,
    about = "OpenGP: a FHIR-native GP clinical system"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the FHIR R4 API under /fhir.
    Serve(ServeArgs),
    /// Measure a store's write and search performance.
    Bench(bench::BenchArgs),
    /// Measure the clinician's workspace: patient search as you type at 100,000
    /// patients, and the record page of a patient with 20 years of history.
    BenchWorkspace(bench_workspace::WorkspaceBenchArgs),
    /// SNOMED CT: import a licensed RF2 release for coded entry.
    #[command(subcommand)]
    Terminology(national::TerminologyCommand),
    /// Staff accounts.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Apps (OAuth clients).
    #[command(subcommand)]
    Client(admin::ClientCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(admin::AuditCommand),
    /// Outgoing messages (to PDS and other services): status and retry.
    #[command(subcommand)]
    Outbox(messages::OutboxCommand),
    /// Print the current authenticator (TOTP) code for a base32 secret, as an
    /// authenticator app would: for the demo accounts and for testing.
    Totp {
        /// The account's TOTP secret (base32), as printed by `user add` or `serve --demo`.
        secret: String,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// sqlite:PATH (created on first start) or postgres://USER@HOST/DATABASE.
    #[arg(long, value_name = "URL", default_value = database::DEFAULT_DATABASE)]
    database: String,
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Load the demo practice on first start (when the practice has no patients yet).
    #[arg(long)]
    demo: bool,
    /// How many patients the demo practice has (with --demo).
    #[arg(long, value_name = "N", default_value_t = demo::DEMO_PATIENTS, value_parser = parse_demo_patients)]
    demo_patients: usize,
    /// ODS code of the practice this server holds records for.
    #[arg(long, value_name = "ODS", default_value = server::DEFAULT_PRACTICE, value_parser = parse_ods_code)]
    practice: String,
    /// Public base URL of the FHIR API (default: http://{Host header}/fhir).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// SNOMED CT concepts for coded entry, as written by `opengp terminology import`
    /// (default: the starter set that ships with OpenGP).
    #[arg(long, value_name = "FILE")]
    terminology: Option<std::path::PathBuf>,
    /// Base URL of the PDS FHIR API, e.g.
    /// https://int.api.service.nhs.uk/personal-demographics/FHIR/R4 (its access token is
    /// read from OPENGP_PDS_TOKEN).
    #[arg(long, value_name = "URL", conflicts_with = "pds_simulator")]
    pds_url: Option<String>,
    /// Run the local PDS simulator (on its own port) and trace against it; on with --demo,
    /// where it knows the demo practice's patients and people not yet registered.
    #[arg(long)]
    pds_simulator: bool,
    /// Do not run the outbox worker in this process (run `opengp outbox work` elsewhere).
    #[arg(long)]
    no_outbox_worker: bool,
    #[command(flatten)]
    outbox: messages::WorkerArgs,
    #[command(flatten)]
    nats: transport::NatsArgs,
}

/// ODS codes are short upper-case alphanumeric codes (A81001, Y12345).
pub(crate) fn parse_ods_code(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s.to_ascii_uppercase())
    } else {
        Err("an ODS code is 1 to 12 letters and digits, e.g. A81001".into())
    }
}

/// A demo practice has at least one patient, and no more than the NHS numbers the
/// generator can give distinct values (900,000 less PDS's unregistered people).
fn parse_demo_patients(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=500_000).contains(&n) => Ok(n),
        _ => Err("the number of demo patients is a whole number from 1 to 500000".into()),
    }
}

fn main() -> ExitCode {
    // Clinical times are typed and shown in UK time whatever the server's own zone
    // (hosted servers run on UTC): a consultation at 09:00 in summer must not be
    // recorded as 10:00. Set TZ to run a practice elsewhere.
    if std::env::var_os("TZ").is_none() {
        // SAFETY: the first thing main does, before any other thread exists.
        unsafe { std::env::set_var("TZ", "Europe/London") };
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: escape codes make log files hard to read.
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    let result = match Cli::parse().command {
        Command::Serve(args) => serve(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchWorkspace(args) => bench_workspace::run(args),
        Command::Terminology(c) => national::terminology(c),
        Command::User(c) => admin::user(c),
        Command::Client(c) => admin::client(c),
        Command::Audit(c) => admin::audit(c),
        Command::Outbox(c) => messages::run(c),
        Command::Totp { secret } => print_totp(&secret),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("opengp: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let store = database::open(&args.database)?;
    tracing::info!(store = %store.describe(), "opened the store");
    let repo = Arc::new(Repository::new(store.clone(), RepositoryConfig::default()));
    let config = AuthConfig {
        fhir_base_url: args.base_url.clone(),
        ..AuthConfig::default()
    };
    let auth = Arc::new(Auth::new(repo.clone(), config).map_err(|e| e.to_string())?);
    if args.demo {
        load_demo_on_first_start(&repo, &args.practice, args.demo_patients)?;
        let accounts = print_demo_accounts(&auth, &args.practice)?;
        demo::inbox::seed_demo_inboxes(&repo, &args.practice, &accounts)
            .map_err(|e| format!("giving the demo accounts their tasks: {e}"))?;
    }
    let terminology = national::load_terminology(args.terminology.as_deref())?;
    let mut state = server::AppState::new(repo, auth)
        .with_practice(args.practice.clone())
        .with_terminology(Arc::new(terminology));
    if let Some(base) = args.base_url {
        state = state.with_base_url(base);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let pds = if let Some(url) = &args.pds_url {
        Some(national::pds_client(url))
    } else if args.pds_simulator || args.demo {
        let people = demo::pds_people_at(demo::DEMO_SEED, args.demo_patients, &args.practice);
        Some(runtime.block_on(national::start_pds_simulator(people))?)
    } else {
        None
    };
    if let Some(pds) = pds {
        state = state.with_pds(pds);
    }
    // Read from the environment, not the command line, so it is not in `ps` output.
    if let Ok(token) = std::env::var("OPENGP_METRICS_TOKEN").map(|t| t.trim().to_string()) {
        if token.len() < 16 {
            return Err("OPENGP_METRICS_TOKEN must be at least 16 characters".into());
        }
        state = state.with_metrics_token(token);
    }
    // Stopped (after its current message) when serve returns.
    let destinations = transport::local_destinations(state.pds.clone(), &args.nats.outbox_webhook);
    let (_worker, _nats) = match (&args.nats.nats, args.no_outbox_worker) {
        (_, true) => (None, None),
        (Some(url), false) => {
            let running = transport::start(store, &args.outbox, &args.nats, url, destinations)?;
            (None, Some(running))
        }
        (None, false) => (
            Some(messages::start_worker(store, &args.outbox, destinations)),
            None,
        ),
    };
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let base = state
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}/fhir"));
        println!("OpenGP is listening on {addr}: the FHIR API is at {base} (Ctrl-C stops it)");
        server::serve(listener, state)
            .await
            .map_err(|e| e.to_string())
    })
}

fn print_totp(secret: &str) -> Result<(), String> {
    let key = auth::totp::base32_decode(secret)
        .ok_or("the secret is not base32 (letters A-Z and digits 2-7)")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    println!("{}", auth::totp::code(&key, now));
    Ok(())
}

/// Makes sure the demo staff accounts exist and says how to use them. They are for
/// demonstrations only: their passwords and authenticator secrets are public.
fn print_demo_accounts(auth: &Auth, practice: &str) -> Result<Vec<auth::DemoAccount>, String> {
    let accounts = auth
        .ensure_demo_accounts(practice)
        .map_err(|e| format!("creating the demo accounts: {}", e.message))?;
    println!(
        "Demo staff accounts (sign in at /login; for demonstrations only; `opengp totp SECRET` \
         prints the authenticator code):"
    );
    for a in &accounts {
        println!(
            "  {:<40} username={:<22} password={:<28} totp_secret={}",
            a.role.display(),
            a.username,
            a.password,
            a.totp_secret.as_deref().unwrap_or("-")
        );
    }
    println!(
        "API token: register an app with `opengp client add --database URL --scopes \"system/*.rs\"`, \
         then POST grant_type=client_credentials to /oauth/token with its id and secret \
         (HTTP Basic); send the access_token as Authorization: Bearer <token>."
    );
    Ok(accounts)
}

/// Loads the demo practice unless the practice already has patients, so restarting with
/// `--demo` never duplicates or overwrites records.
fn load_demo_on_first_start(
    repo: &Repository,
    practice: &str,
    patients: usize,
) -> Result<(), String> {
    let ctx = RequestContext::system(practice);
    let probe = SearchRequest {
        rtype: Some("Patient".into()),
        params: vec![("_count".into(), "1".into())],
        base_url: "http://localhost/fhir".into(),
        lenient: false,
    };
    let found = repo
        .search(&ctx, &probe)
        .map_err(|e| format!("checking for existing patients: {e}"))?;
    if found["entry"].as_array().is_some_and(|e| !e.is_empty()) {
        println!(
            "Practice {practice} already has patients: the demo practice is not loaded again."
        );
        return Ok(());
    }
    let started = std::time::Instant::now();
    let summary = demo::load_demo_practice(repo, &ctx, patients)
        .map_err(|e| format!("loading the demo practice: {e}"))?;
    println!("{summary}");
    println!("  loaded in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed_and_has_defaults() {
        Cli::command().debug_assert();
        let Command::Serve(args) = Cli::parse_from(["opengp", "serve"]).command else {
            panic!("not serve")
        };
        assert_eq!(args.database, "sqlite:data/opengp.db");
        assert_eq!(args.listen, "127.0.0.1:8080");
        assert_eq!(args.practice, "A81001");
        assert!(!args.demo && args.base_url.is_none());
        assert_eq!(args.demo_patients, demo::DEMO_PATIENTS);
        assert!(Cli::try_parse_from(["opengp", "serve", "--practice", "A8 1001"]).is_err());
    }

    #[test]
    fn demo_patients_takes_a_positive_count() {
        let Command::Serve(args) =
            Cli::parse_from(["opengp", "serve", "--demo", "--demo-patients", "40"]).command
        else {
            panic!("not serve")
        };
        assert_eq!(args.demo_patients, 40);
        for bad in ["0", "-3", "forty", "2.5", "900000"] {
            let arg = format!("--demo-patients={bad}");
            let refused = Cli::try_parse_from(["opengp", "serve", &arg]);
            let message = refused.err().expect("refused").to_string();
            assert!(
                message.contains("number of demo patients"),
                "{bad}: {message}"
            );
        }
    }

    #[test]
    fn totp_takes_a_base32_secret_and_refuses_anything_else() {
        let Command::Totp { secret } =
            Cli::parse_from(["opengp", "totp", "JBSWY3DPEHPK3PXP"]).command
        else {
            panic!("not totp")
        };
        assert!(print_totp(&secret).is_ok());
        assert!(print_totp("not-base32!").unwrap_err().contains("base32"));
    }

    fn patient_count(repo: &Repository, practice: &str) -> u64 {
        let req = SearchRequest {
            rtype: Some("Patient".into()),
            params: vec![("_summary".into(), "count".into())],
            base_url: "http://localhost/fhir".into(),
            lenient: false,
        };
        repo.search(&RequestContext::system(practice), &req)
            .unwrap()["total"]
            .as_u64()
            .unwrap()
    }

    #[test]
    fn demo_loads_on_first_start_only() {
        let store = store_sqlite::SqliteStore::open_temp().unwrap();
        let repo = Repository::new(Arc::new(store), RepositoryConfig::default());
        load_demo_on_first_start(&repo, "A81001", 12).unwrap();
        let loaded = patient_count(&repo, "A81001");
        assert_eq!(loaded, 12);
        load_demo_on_first_start(&repo, "A81001", 12).unwrap();
        assert_eq!(patient_count(&repo, "A81001"), loaded);
        // Another practice on the same store starts empty and gets its own demo.
        assert_eq!(patient_count(&repo, "Y12345"), 0);
    }
}
