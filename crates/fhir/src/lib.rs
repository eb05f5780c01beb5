//! FHIR R4: the model (from the official definitions), strict validation of resources as
//! JSON, OperationOutcome issues, UK identifiers, and search-parameter extraction.

pub mod datetime;
pub mod defs;
mod extract;
mod fhirpath;
pub mod index;
pub mod json;
pub mod nhs_number;
pub mod outcome;
mod primitives;
pub mod searchparams;
pub mod validate;

pub use defs::Definitions;
pub use index::{IndexEntry, IndexValue};
pub use outcome::{Issue, Severity, operation_outcome};
pub use validate::validate_resource;
