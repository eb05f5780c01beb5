//! Reading columns out of store rows.

use store::{Row, SqlValue};

pub(crate) fn text(row: &Row, i: usize) -> String {
    opt_text(row, i).unwrap_or_default()
}

pub(crate) fn opt_text(row: &Row, i: usize) -> Option<String> {
    row.get(i).and_then(SqlValue::as_str).map(str::to_string)
}

pub(crate) fn int(row: &Row, i: usize) -> i64 {
    opt_int(row, i).unwrap_or_default()
}

pub(crate) fn opt_int(row: &Row, i: usize) -> Option<i64> {
    row.get(i).and_then(SqlValue::as_i64)
}

pub(crate) fn flag(row: &Row, i: usize) -> bool {
    row.get(i).and_then(SqlValue::as_bool).unwrap_or(false)
}
