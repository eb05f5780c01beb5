//! Wiring of the national services and reference data into `opengp serve`: SNOMED CT
//! (the starter set or an imported RF2 release) and PDS (the real API, or the local
//! simulator on its own port, as NHS England's sandbox is its own host).

use pds::{HttpPds, Pds, PdsError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use terminology::Terminology;

#[derive(clap::Subcommand)]
pub enum TerminologyCommand {
    /// Import a SNOMED CT UK RF2 release (licensed, supplied by the practice) into a
    /// file that `opengp serve --terminology FILE` loads.
    Import {
        /// The release's Snapshot directory (or any directory above it).
        #[arg(long, value_name = "DIR")]
        rf2: PathBuf,
        /// Where to write the concepts.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

pub fn terminology(command: TerminologyCommand) -> Result<(), String> {
    match command {
        TerminologyCommand::Import { rf2, out } => {
            let concepts = terminology::rf2::import(&rf2)
                .map_err(|e| format!("importing {}: {e}", rf2.display()))?;
            let imported = Terminology::from_concepts(concepts);
            imported
                .save(&out)
                .map_err(|e| format!("writing {}: {e}", out.display()))?;
            println!(
                "Imported {} active concepts into {}; start the server with --terminology {}",
                imported.len(),
                out.display(),
                out.display()
            );
            Ok(())
        }
    }
}

/// The concepts the server offers: an imported release, or the starter set.
pub fn load_terminology(path: Option<&Path>) -> Result<Terminology, String> {
    match path {
        Some(path) => {
            let loaded = Terminology::load(path)
                .map_err(|e| format!("loading the terminology {}: {e}", path.display()))?;
            tracing::info!(
                concepts = loaded.len(),
                "loaded an imported SNOMED CT release"
            );
            Ok(loaded)
        }
        None => Ok(Terminology::starter()),
    }
}

/// The real PDS FHIR API at `base_url`, with the access token from `OPENGP_PDS_TOKEN`
/// (read on every request, so a token refreshed by the operator is picked up).
pub fn pds_client(base_url: &str) -> Arc<dyn Pds> {
    Arc::new(HttpPds::new(base_url, || {
        std::env::var("OPENGP_PDS_TOKEN")
            .map_err(|_| PdsError::Unavailable("OPENGP_PDS_TOKEN is not set".into()))
    }))
}

/// Starts the PDS simulator holding `people` on a free local port, and returns an
/// adapter that talks to it over HTTP exactly as it would to the real service.
pub async fn start_pds_simulator(people: Vec<serde_json::Value>) -> Result<Arc<dyn Pds>, String> {
    const PREFIX: &str = "/personal-demographics/FHIR/R4";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("starting the PDS simulator: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{addr}{PREFIX}");
    let held = people.len();
    let simulator = pds::simulator::Simulator::new(people).with_base_url(&base);
    let app = axum::Router::new().nest(PREFIX, pds::simulator::router(simulator));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the PDS simulator stopped");
        }
    });
    println!("PDS simulator ({held} people) is at {base}");
    Ok(Arc::new(HttpPds::new(base, || Ok("simulator".to_string()))))
}
