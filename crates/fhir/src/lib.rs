//! FHIR R4: the model (from the official definitions), strict validation of resources as
//! JSON, OperationOutcome issues, UK identifiers, and search-parameter extraction.

pub mod defs;

pub use defs::Definitions;
pub mod outcome;
pub use outcome::{operation_outcome, Issue, Severity};
pub mod index;
mod extract;
pub use index::{IndexEntry, IndexValue};
