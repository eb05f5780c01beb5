//! The FHIR record store.
//!
//! - [`Store`] / [`Transaction`]: the interface a database backend implements (SQLite in
//!   `store-sqlite`, PostgreSQL in `store-postgres`).
//! - [`Repository`]: the FHIR interactions (read, create, update, delete, conditional
//!   interactions, history, search, batch and transaction Bundles, `$everything`),
//!   written once over that interface.
//! - [`conformance`]: the test suite every backend must pass.

pub mod access;
pub mod audit;
pub mod backend;
mod bundle;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod context;
pub mod error;
mod history;
pub mod index_rows;
pub mod migrate;
mod parallel;
pub mod repository;
pub mod schema;
pub mod search;
pub mod time;
pub mod version;
mod write;

pub use access::{Access, Role, Scopes, StaffMember};
pub use audit::{AuditLog, AuditRecord};
pub use backend::{Dialect, Row, SqlValue, Store, StoreError, Transaction, TxMode};
pub use context::{Actor, Purpose, RequestContext};
pub use error::{FhirError, FhirResult};
pub use repository::{HistoryRequest, Repository, RepositoryConfig, SearchRequest};
pub use version::{ResourceVersion, WriteKind, WriteOutcome};
