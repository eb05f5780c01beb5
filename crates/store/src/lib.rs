//! The FHIR record store.
//!
//! - [`Store`] / [`Transaction`] (from `db`): the interface a database backend implements
//!   (SQLite in `store-sqlite`, PostgreSQL in `store-postgres`).
//! - [`Repository`]: the FHIR interactions (read, create, update, delete, conditional
//!   interactions, history, search, batch and transaction Bundles, `$everything`),
//!   written once over that interface.
//! - [`conformance`]: the test suite every backend must pass.
//!
//! Below it, in their own crates and re-exported here under their old paths: the backend
//! interface and shared types (`db`), the access rules and request context (`access`),
//! and the audit trail (`audit`).

mod bundle;
#[cfg(feature = "conformance")]
pub mod conformance;
mod history;
pub mod index_rows;
mod parallel;
pub mod repository;
pub mod schema;
pub mod search;
pub mod services;
mod validate_op;
mod write;

pub use ::access::{self, context};
pub use ::audit;
pub use db::{backend, error, migrate, time, version};

pub use access::{Access, Role, Scopes, StaffMember};
pub use audit::{AuditLog, AuditRecord};
pub use backend::{Dialect, Row, SqlValue, Store, StoreError, Transaction, TxMode};
pub use bundle::Written;
pub use context::{Actor, Purpose, RequestContext};
pub use error::{FhirError, FhirResult};
pub use repository::{HistoryRequest, Repository, RepositoryConfig, SearchRequest};
pub use services::Found;
pub use validate_op::{ValidateMode, ValidateRequest};
pub use version::{ResourceVersion, WriteKind, WriteOutcome};
