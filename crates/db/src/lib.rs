//! The interface a database backend implements (SQLite in `store-sqlite`, PostgreSQL in
//! `store-postgres`), and the small types the layers above it share: the audit trail
//! (`audit`) and the FHIR repository (`store`) both run over [`Store`] and answer with
//! [`FhirError`] and [`ResourceVersion`].

pub mod backend;
pub mod error;
pub mod migrate;
pub mod time;
pub mod version;

// The request context, under the name the backend module has always used.
use access::context;

pub use backend::{Dialect, Row, SqlValue, Store, StoreError, Transaction, TxMode};
pub use error::{FhirError, FhirResult};
pub use version::{ResourceVersion, WriteKind, WriteOutcome};
