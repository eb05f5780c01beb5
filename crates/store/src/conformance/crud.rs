//! Cases: read, vread, create, update, delete, conditional interactions, versioning,
//! concurrency, history, batch and transaction Bundles, tenancy.

use super::{Case, Harness};
use crate::case;

pub fn cases() -> Vec<Case> {
    vec![case!(placeholder_store_opens)]
}

fn placeholder_store_opens(h: &Harness) {
    assert!(!h.practice.is_empty());
}
