//! Formats of FHIR primitive values. (Being written.)
