//! Cases: search by every parameter type and modifier, sorting, paging, includes,
//! `_summary`, `_elements`, `_total`, `$everything`.

use super::Case;

pub fn cases() -> Vec<Case> {
    vec![]
}
