//! Writes and removes the search index rows of a resource's current version.

use crate::backend::{Row, SqlValue, StoreError, Transaction};
use crate::schema::INDEX_TABLES;
use fhir::{IndexEntry, IndexValue};

/// Replaces the index rows of `practice`'s resource at `res_pk` with those of `entries`.
pub fn replace(
    tx: &mut dyn Transaction,
    practice: &str,
    res_pk: i64,
    rtype: &str,
    entries: &[IndexEntry],
) -> Result<(), StoreError> {
    remove(tx, practice, res_pk)?;
    insert(tx, practice, &[(res_pk, rtype, entries)])
}

/// Removes every index row of the resource at `res_pk` (deletion, or before re-indexing).
pub fn remove(tx: &mut dyn Transaction, practice: &str, res_pk: i64) -> Result<(), StoreError> {
    for table in INDEX_TABLES {
        tx.execute(
            &format!("DELETE FROM {table} WHERE practice = ? AND res_pk = ?"),
            &[practice.into(), SqlValue::Int(res_pk)],
        )?;
    }
    Ok(())
}

/// Inserts the index rows of many of `practice`'s resources at once (bundle ingest): one
/// bulk insert per index table.
pub fn insert(
    tx: &mut dyn Transaction,
    practice: &str,
    resources: &[(i64, &str, &[IndexEntry])],
) -> Result<(), StoreError> {
    let mut rows: [Vec<Row>; 7] = Default::default();
    for (pk, rtype, entries) in resources {
        for e in *entries {
            let (table, mut row) = row_for(&e.value);
            row.splice(
                0..0,
                [
                    SqlValue::from(practice),
                    SqlValue::Int(*pk),
                    SqlValue::from(*rtype),
                    SqlValue::from(e.param.as_str()),
                ],
            );
            rows[table].push(row);
        }
    }
    for (i, table_rows) in rows.iter().enumerate() {
        if !table_rows.is_empty() {
            tx.insert_many(INDEX_TABLES[i], COLUMNS[i], table_rows)?;
        }
    }
    Ok(())
}

/// Columns of each index table, in INDEX_TABLES order.
const COLUMNS: [&[&str]; 7] = [
    &["practice", "res_pk", "rtype", "param", "norm", "exact"],
    &[
        "practice", "res_pk", "rtype", "param", "system", "code", "text",
    ],
    &["practice", "res_pk", "rtype", "param", "lo", "hi"],
    &["practice", "res_pk", "rtype", "param", "value"],
    &[
        "practice", "res_pk", "rtype", "param", "value", "system", "code", "unit",
    ],
    &[
        "practice",
        "res_pk",
        "rtype",
        "param",
        "target_type",
        "target_id",
        "url",
    ],
    &["practice", "res_pk", "rtype", "param", "uri"],
];

/// The index table (position in INDEX_TABLES) and the value columns for one value.
fn row_for(v: &IndexValue) -> (usize, Row) {
    use SqlValue as S;
    let opt = |s: &Option<String>| S::from(s.clone());
    match v {
        IndexValue::String { norm, exact } => {
            (0, vec![S::from(norm.clone()), S::from(exact.clone())])
        }
        IndexValue::Token { system, code, text } => (1, vec![opt(system), opt(code), opt(text)]),
        IndexValue::Date { lo, hi } => (2, vec![S::Int(*lo), S::Int(*hi)]),
        IndexValue::Number { value } => (3, vec![S::Real(*value)]),
        IndexValue::Quantity {
            value,
            system,
            code,
            unit,
        } => (4, vec![S::Real(*value), opt(system), opt(code), opt(unit)]),
        IndexValue::Reference {
            target_type,
            target_id,
            url,
        } => (
            5,
            vec![opt(target_type), opt(target_id), S::from(url.clone())],
        ),
        IndexValue::Uri { uri } => (6, vec![S::from(uri.clone())]),
    }
}
