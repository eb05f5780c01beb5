//! SQL fragments with their bound values, and the statements a search runs.
//!
//! Every statement is portable SQL with `?` placeholders (the PostgreSQL backend numbers
//! them), so a fragment's values must be appended in the order its text names them.

use crate::backend::SqlValue;

/// A boolean SQL expression and the values its placeholders take, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cond {
    pub sql: String,
    pub args: Vec<SqlValue>,
}

impl Cond {
    pub fn new(sql: impl Into<String>, args: Vec<SqlValue>) -> Self {
        Cond {
            sql: sql.into(),
            args,
        }
    }

    /// `(a) AND (b) AND ...`; `TRUE` when empty.
    pub fn all(conds: Vec<Cond>) -> Cond {
        Self::join(conds, " AND ", "1 = 1")
    }

    /// `(a) OR (b) OR ...`; `FALSE` when empty.
    pub fn any(conds: Vec<Cond>) -> Cond {
        Self::join(conds, " OR ", "1 = 0")
    }

    fn join(conds: Vec<Cond>, op: &str, empty: &str) -> Cond {
        if conds.len() == 1 {
            return conds.into_iter().next().expect("one condition");
        }
        if conds.is_empty() {
            return Cond::new(empty, vec![]);
        }
        let sql = conds
            .iter()
            .map(|c| format!("({})", c.sql))
            .collect::<Vec<_>>()
            .join(op);
        Cond {
            sql,
            args: conds.into_iter().flat_map(|c| c.args).collect(),
        }
    }

    pub fn not(self) -> Cond {
        Cond {
            sql: format!("NOT ({})", self.sql),
            args: self.args,
        }
    }
}

/// `?, ?, ?` for `n` values.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// A `LIKE` pattern matching `s` literally (with `ESCAPE '\'`).
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The smallest string greater than every string starting with `prefix` (the last
/// character incremented), so a prefix match can be an index range. None when no such
/// string exists.
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        // Skip the UTF-16 surrogate range, which is not a char.
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A prefix match on `column` that an index on it can serve: a range, plus `LIKE` so the
/// result stays exact under any collation.
pub(crate) fn prefix_match(column: &str, prefix: &str) -> Cond {
    let like = SqlValue::from(format!("{}%", like_escape(prefix)));
    match prefix_upper_bound(prefix) {
        Some(upper) => Cond::new(
            format!("{column} >= ? AND {column} < ? AND {column} LIKE ? ESCAPE '\\'"),
            vec![prefix.into(), upper.into(), like],
        ),
        None => Cond::new(format!("{column} LIKE ? ESCAPE '\\'"), vec![like]),
    }
}

/// One compiled search parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    /// A condition on the `resources` row itself (`_id`, `_lastUpdated`).
    Row(Cond),
    /// Resources with matching index rows (without, if `negated`).
    Lookup {
        /// `SELECT res_pk ...` of the matching resources (possibly with repeats), to
        /// drive the search from.
        driver: Cond,
        /// `EXISTS (...)` for one resource, to check it.
        exists: Cond,
        negated: bool,
        /// Lower is usually more selective: the lowest drives.
        rank: u8,
    },
}

/// The `FROM` clause and `WHERE` condition of a search over `resources` aliased `alias`:
/// `base` conditions (tenancy, type, deletion) and `filters`, the most selective
/// lookup driving (see [`super::filter`]).
pub(crate) fn assemble(alias: &str, base: Vec<Cond>, filters: Vec<Filter>) -> (Cond, Cond) {
    let driver_at = filters
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f {
            Filter::Lookup {
                negated: false,
                rank,
                ..
            } => Some((*rank, i)),
            _ => None,
        })
        .min()
        .map(|(_, i)| i);
    let mut conds = base;
    let mut from = Cond::new(format!("resources {alias}"), vec![]);
    for (i, f) in filters.into_iter().enumerate() {
        match f {
            Filter::Row(c) => conds.push(c),
            Filter::Lookup { driver, .. } if Some(i) == driver_at => {
                from = Cond::new(
                    format!(
                        "(SELECT DISTINCT res_pk FROM ({}) u) d_{alias} CROSS JOIN resources {alias}",
                        driver.sql
                    ),
                    driver.args,
                );
                conds.push(Cond::new(format!("{alias}.pk = d_{alias}.res_pk"), vec![]));
            }
            Filter::Lookup {
                exists, negated, ..
            } => conds.push(if negated { exists.not() } else { exists }),
        }
    }
    (from, Cond::all(conds))
}

/// The pieces of a search over `resources r`: its filter and its order.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    /// `resources r`, or a driving lookup joined to it.
    pub from: Cond,
    /// Filters on `r`, tenancy and deletion included.
    pub filter: Cond,
    /// `ORDER BY` terms ending with the `r.pk` tie-break, and their values.
    pub order: Cond,
}

impl Selection {
    /// `SELECT r.pk, r.rtype, r.id, r.version` of up to `limit` matches, in order.
    pub fn page_query(&self, limit: usize) -> (String, Vec<SqlValue>) {
        let sql = format!(
            "SELECT r.pk, r.rtype, r.id, r.version FROM {} WHERE {} ORDER BY {} LIMIT ?",
            self.from.sql, self.filter.sql, self.order.sql
        );
        let mut args = self.from.args.clone();
        args.extend(self.filter.args.iter().cloned());
        args.extend(self.order.args.iter().cloned());
        args.push(SqlValue::Int(limit as i64));
        (sql, args)
    }

    /// Every match, unordered (conditional interactions).
    pub fn all_query(&self) -> (String, Vec<SqlValue>) {
        (
            format!(
                "SELECT r.pk, r.id, r.version FROM {} WHERE {}",
                self.from.sql, self.filter.sql
            ),
            self.args(),
        )
    }

    pub fn count_query(&self) -> (String, Vec<SqlValue>) {
        (
            format!(
                "SELECT COUNT(*) FROM {} WHERE {}",
                self.from.sql, self.filter.sql
            ),
            self.args(),
        )
    }

    /// The values of `from` and `filter`, in that order.
    fn args(&self) -> Vec<SqlValue> {
        self.from
            .args
            .iter()
            .chain(&self.filter.args)
            .cloned()
            .collect()
    }

    /// Copies the ordered (pk, version) list of up to `limit` matches into snapshot
    /// `snapshot_id`, positions from 0, in one statement.
    pub fn snapshot_insert(&self, snapshot_id: &str, limit: usize) -> (String, Vec<SqlValue>) {
        let sql = format!(
            "INSERT INTO search_snapshot_rows (snapshot_id, pos, res_pk, version) \
             SELECT ?, ROW_NUMBER() OVER (ORDER BY {order}) - 1, r.pk, r.version FROM {from} \
             WHERE {filter} ORDER BY {order} LIMIT ?",
            order = self.order.sql,
            from = self.from.sql,
            filter = self.filter.sql
        );
        let mut args = vec![SqlValue::from(snapshot_id)];
        args.extend(self.order.args.iter().cloned());
        args.extend(self.args());
        args.extend(self.order.args.iter().cloned());
        args.push(SqlValue::Int(limit as i64));
        (sql, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds_cover_exactly_the_prefix() {
        assert_eq!(prefix_upper_bound("smi").as_deref(), Some("smj"));
        assert_eq!(prefix_upper_bound("").as_deref(), None);
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_escape("50%_a\\b"), "50\\%\\_a\\\\b");
        let c = prefix_match("norm", "o'b_");
        assert_eq!(c.args[2], SqlValue::from("o'b\\_%"));
    }

    #[test]
    fn joins_keep_values_in_text_order() {
        let a = Cond::new("x = ?", vec![1i64.into()]);
        let b = Cond::new("y = ?", vec![2i64.into()]);
        let c = Cond::all(vec![a.clone(), Cond::any(vec![b, a])]);
        assert_eq!(c.sql, "(x = ?) AND ((y = ?) OR (x = ?))");
        assert_eq!(c.args, vec![1i64.into(), 2i64.into(), 1i64.into()]);
        assert_eq!(Cond::any(vec![]).sql, "1 = 0");
    }
}
