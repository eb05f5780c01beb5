//! Conformance cases: access.

use super::{Case, Harness};

pub fn cases() -> Vec<Case> {
    vec![]
}

#[allow(dead_code)]
fn placeholder(_h: &Harness) {}
