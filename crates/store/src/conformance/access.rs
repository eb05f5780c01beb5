//! Conformance cases: access.

use super::Case;

pub fn cases() -> Vec<Case> {
    vec![]
}
