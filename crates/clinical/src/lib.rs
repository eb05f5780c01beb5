//! Clinical services over the FHIR store: what the clinician's workspace (and later the
//! patient portal) does with the record. Everything reads and writes through
//! [`store::Repository`] with the caller's [`store::RequestContext`], so the access
//! rules and the audit trail apply exactly as they do to the FHIR API.
//!
//! - [`conventions`]: how OpenGP represents a GP record in FHIR R4 (the code systems,
//!   extensions and links every module and the demo data share; see
//!   `docs/record-model.md`).
//! - [`patients`]: find a patient, register one (with duplicate detection and a PDS trace).
//! - [`record`]: the patient banner, the summary and the journal.
//! - [`consultation`]: recording a consultation as one atomic transaction, and drafts.
//! - [`problems`]: the problem list.
//! - [`alerts`], [`tasks`]: patient alerts (Flag) and tasks between colleagues (Task).
//! - [`recent`]: the patients a user opened recently.
//! - [`colleagues`]: the practice's staff, whom a task can be for.

pub mod alerts;
pub mod colleagues;
pub mod consultation;
pub mod conventions;
pub mod fetch;
pub mod form;
pub mod patients;
pub mod problems;
pub mod recent;
pub mod record;
pub mod tasks;

pub use form::{FieldError, FieldErrors};
