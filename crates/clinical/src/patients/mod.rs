//! Finding a patient and registering a new one (issue 4, journeys 2 and 3).
//!
//! - [`query`]: what a clinician typed in the search box (an NHS number, a postcode,
//!   name words and a date of birth), or why it cannot be searched yet.
//! - [`search`]: one FHIR search per keystroke, returning [`search::PatientHit`]s.
//! - [`form`]: a new patient, typed ([`NewPatient`]), and its checks, each problem
//!   tied to a [`PatientField`] (the web layer reads its form into these).
//! - [`contact`]: phone numbers, email, postcode and contact preference, and their FHIR
//!   shapes, shared by registration and the details page ([`update`]).
//! - [`duplicates`]: records that may be the same person, checked before creating.
//! - [`register`]: the Patient and its registration EpisodeOfCare in one transaction.
//! - [`trace`]: confirming or finding the NHS number on PDS ([`trace::TraceQuery`] in,
//!   [`trace::PdsDetails`] out).
//! - [`practice`]: the practice's Organization and its GPs (the usual and named
//!   accountable GP choices).
//! - [`dates`], [`display`]: dates as people type them, and names and ages as shown.

pub mod contact;
pub mod dates;
pub mod duplicates;
pub mod form;
pub mod postcode;
pub mod practice;
pub mod query;
pub mod register;
pub mod search;
pub mod trace;
pub mod update;

pub use form::{NewPatient, PatientField, ValidForm, validate};
pub use search::{FindError, PatientHit, find};
