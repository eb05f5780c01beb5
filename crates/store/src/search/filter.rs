//! Compiles one search parameter (`name[:modifier][.chain]=value[,value...]`) into a
//! [`Filter`] on `resources` rows.
//!
//! Most parameters are lookups in an index table. One of a search's lookups drives it
//! (`FROM (SELECT res_pk FROM idx_x WHERE practice = ? AND rtype = ? AND param = ? AND
//! ...) d CROSS JOIN resources r`): the (practice, rtype, param, value) index finds the
//! few matching rows of the searching practice and the resources are fetched by primary
//! key, however large the table. The others are checked per resource with `EXISTS (...
//! WHERE practice = r.practice AND res_pk = r.pk ...)` on the (practice, res_pk) index.
//! Every lookup names the practice, so a search never reads another practice's rows. (Left to itself, SQLite without statistics prefers scanning every resource of
//! the type on the (practice, rtype) index, which is what this avoids.)

pub(crate) use super::sql::Filter;
use super::sql::{Cond, prefix_match};
use crate::backend::SqlValue;
use fhir::defs::SearchParamDef;

/// What a parameter is compiled against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// The resource type searched; None for a search across all types.
    pub rtype: Option<&'a str>,
    pub practice: &'a str,
    /// The server's FHIR base URL: references written as absolute URLs to it are local.
    pub base_url: &'a str,
    /// Whose search it is: the resources a chain looks through must be visible to them
    /// too, or a chain could find a hidden record by its content. `None` only in unit
    /// tests of the SQL.
    pub ctx: Option<&'a crate::context::RequestContext>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParamError {
    /// Not a parameter of this type, or one this server does not support (lenient
    /// handling may ignore it).
    Unknown(String),
    /// A known parameter with a malformed value or modifier.
    Invalid(String),
}

type Result<T> = std::result::Result<T, ParamError>;

fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(ParamError::Invalid(msg.into()))
}

/// The filter for `key=value` on rows of `resources` aliased `alias`; None when the
/// value is empty (FHIR: a parameter without a value is ignored).
pub(crate) fn compile(
    scope: &Scope,
    alias: &str,
    key: &str,
    value: &str,
) -> Result<Option<Filter>> {
    let (head, chain) = match key.split_once('.') {
        Some((h, c)) => (h, Some(c)),
        None => (key, None),
    };
    let (name, modifier) = match head.split_once(':') {
        Some((n, m)) => (n, Some(m)),
        None => (head, None),
    };
    if value.is_empty() {
        return Ok(None);
    }
    let values: Vec<&str> = split_unescaped(value, ',');
    if let Some(chain) = chain {
        return chained(scope, alias, name, modifier, chain, value).map(Some);
    }
    match name {
        "_id" => return id_cond(alias, modifier, &values).map(|c| Some(Filter::Row(c))),
        "_lastUpdated" => {
            no_modifier(name, modifier)?;
            let column = format!("{alias}.last_updated");
            let conds = values
                .iter()
                .map(|v| date_cond(&column, &column, v))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Some(Filter::Row(Cond::any(conds))));
        }
        _ => {}
    }
    let def = lookup(scope.rtype, name)?;
    let table = table_for(def)?;
    if modifier == Some("missing") {
        let missing = match value {
            "true" => true,
            "false" => false,
            _ => return invalid(format!("{name}:missing must be true or false")),
        };
        return Ok(Some(index_lookup(
            scope,
            alias,
            table,
            name,
            vec![None],
            missing,
            4,
        )));
    }
    let mut negate = false;
    // How selective a lookup of this kind usually is (lower drives the search first).
    let rank = match (def.kind.as_str(), modifier) {
        ("reference", _) => 0,
        ("token", Some("text")) | ("string", Some("contains")) => 3,
        ("token", _) => 1,
        ("string", _) | ("uri", _) => 2,
        _ => 3,
    };
    let mut conds = Vec::with_capacity(values.len());
    for v in &values {
        let c = match def.kind.as_str() {
            "string" => string_cond(name, modifier, v)?,
            "token" => {
                negate = modifier == Some("not");
                token_cond(name, modifier, v)?
            }
            "date" => {
                no_modifier(name, modifier)?;
                date_cond("lo", "hi", v)?
            }
            "number" => {
                no_modifier(name, modifier)?;
                number_cond("value", v)?
            }
            "quantity" => {
                no_modifier(name, modifier)?;
                quantity_cond(v)?
            }
            "reference" => reference_cond(scope, def, modifier, v)?,
            "uri" => uri_cond(name, modifier, v)?,
            _ => unreachable!("table_for accepts only these kinds"),
        };
        conds.push(Some(c));
    }
    Ok(Some(index_lookup(
        scope, alias, table, name, conds, negate, rank,
    )))
}

/// The definition of `name` for `rtype` (the common parameters for a search across all
/// types).
pub(crate) fn lookup(rtype: Option<&str>, name: &str) -> Result<&'static SearchParamDef> {
    let def = fhir::searchparams::lookup(rtype.unwrap_or("Resource"), name).ok_or_else(|| {
        ParamError::Unknown(format!(
            "unknown search parameter '{name}' for {}",
            rtype.unwrap_or("all resource types")
        ))
    })?;
    // A parameter the indexer cannot evaluate would silently match nothing.
    if let Some(t) = rtype
        && !fhir::searchparams::is_indexed(t, name)
    {
        return Err(ParamError::Unknown(format!(
            "search parameter '{name}' of {t} is not supported"
        )));
    }
    Ok(def)
}

/// The index table holding values of `def`'s type.
pub(crate) fn table_for(def: &SearchParamDef) -> Result<&'static str> {
    if def.expression.is_none() {
        return Err(ParamError::Unknown(format!(
            "search parameter '{}' is not supported",
            def.name
        )));
    }
    Ok(match def.kind.as_str() {
        "string" => "idx_string",
        "token" => "idx_token",
        "date" => "idx_date",
        "number" => "idx_number",
        "quantity" => "idx_quantity",
        "reference" => "idx_reference",
        "uri" => "idx_uri",
        other => {
            return Err(ParamError::Unknown(format!(
                "{other} search parameter '{}' is not supported",
                def.name
            )));
        }
    })
}

/// Resources with index rows of `param` meeting any of `value_conds` (a `None` meets
/// every row: the parameter has a value at all); with `negated`, those without.
fn index_lookup(
    scope: &Scope,
    alias: &str,
    table: &str,
    param: &str,
    value_conds: Vec<Option<Cond>>,
    negated: bool,
    rank: u8,
) -> Filter {
    // The driving form: one indexed SELECT per value, so each can use the index.
    let mut parts = Vec::with_capacity(value_conds.len());
    let mut args = Vec::new();
    for vc in &value_conds {
        let mut sql = format!("SELECT res_pk FROM {table} WHERE practice = ? AND ");
        args.push(SqlValue::from(scope.practice));
        if let Some(t) = scope.rtype {
            sql.push_str("rtype = ? AND ");
            args.push(SqlValue::from(t));
        }
        sql.push_str("param = ?");
        args.push(SqlValue::from(param));
        if let Some(vc) = vc {
            sql.push_str(&format!(" AND ({})", vc.sql));
            args.extend(vc.args.iter().cloned());
        }
        parts.push(sql);
    }
    let driver = Cond::new(parts.join(" UNION "), args);
    // The checking form: this resource's rows only (no rtype, so the planner takes the
    // (practice, res_pk) index rather than scanning the parameter's rows).
    let values: Vec<Cond> = value_conds.into_iter().flatten().collect();
    let mut check = Cond::new(
        format!("i.practice = {alias}.practice AND i.res_pk = {alias}.pk AND i.param = ?"),
        vec![param.into()],
    );
    if !values.is_empty() {
        let any = Cond::any(values);
        check.sql.push_str(&format!(" AND ({})", any.sql));
        check.args.extend(any.args);
    }
    let exists = Cond::new(
        format!("EXISTS (SELECT 1 FROM {table} i WHERE {})", check.sql),
        check.args,
    );
    Filter::Lookup {
        driver,
        exists,
        negated,
        rank,
    }
}

fn no_modifier(name: &str, modifier: Option<&str>) -> Result<()> {
    match modifier {
        None => Ok(()),
        Some(m) => invalid(format!(
            "unknown modifier ':{m}' on search parameter '{name}'"
        )),
    }
}

fn id_cond(alias: &str, modifier: Option<&str>, values: &[&str]) -> Result<Cond> {
    let ids: Vec<SqlValue> = values.iter().map(|v| SqlValue::from(unescape(v))).collect();
    let c = Cond::new(
        format!("{alias}.id IN ({})", super::sql::placeholders(ids.len())),
        ids,
    );
    match modifier {
        None => Ok(c),
        Some("not") => Ok(c.not()),
        Some(m) => invalid(format!("unknown modifier ':{m}' on search parameter '_id'")),
    }
}

fn string_cond(name: &str, modifier: Option<&str>, v: &str) -> Result<Cond> {
    let v = unescape(v);
    Ok(match modifier {
        None => prefix_match("norm", &fhir::index::normalize(&v)),
        Some("exact") => Cond::new("exact = ?", vec![v.into()]),
        Some("contains") => Cond::new(
            "norm LIKE ? ESCAPE '\\'",
            vec![format!("%{}%", super::sql::like_escape(&fhir::index::normalize(&v))).into()],
        ),
        Some(m) => {
            return invalid(format!(
                "unknown modifier ':{m}' on string parameter '{name}'"
            ));
        }
    })
}

/// `code`, `system|code`, `|code` (no system), `system|` (any code in the system);
/// `:text` matches the start of any word of the coding's display or text.
fn token_cond(name: &str, modifier: Option<&str>, v: &str) -> Result<Cond> {
    match modifier {
        None | Some("not") => {}
        Some("text") => {
            let t = super::sql::like_escape(&fhir::index::normalize(&unescape(v)));
            return Ok(Cond::new(
                "text LIKE ? ESCAPE '\\' OR text LIKE ? ESCAPE '\\'",
                vec![format!("{t}%").into(), format!("% {t}%").into()],
            ));
        }
        Some(m) => {
            return invalid(format!(
                "unknown or unsupported modifier ':{m}' on token parameter '{name}'"
            ));
        }
    }
    let parts = split_unescaped(v, '|');
    Ok(match parts.as_slice() {
        [code] => Cond::new("code = ?", vec![unescape(code).into()]),
        ["", code] => Cond::new("code = ? AND system IS NULL", vec![unescape(code).into()]),
        [system, ""] => Cond::new("system = ?", vec![unescape(system).into()]),
        [system, code] => Cond::new(
            "code = ? AND system = ?",
            vec![unescape(code).into(), unescape(system).into()],
        ),
        _ => {
            return invalid(format!(
                "malformed token '{v}' for '{name}': expected [system|]code"
            ));
        }
    })
}

/// FHIR search prefixes for ordered values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

fn split_prefix(v: &str) -> Result<(Prefix, &str)> {
    let head = v.get(..2).unwrap_or("");
    if !head.chars().all(|c| c.is_ascii_alphabetic()) || head.len() < 2 {
        return Ok((Prefix::Eq, v));
    }
    let p = match head {
        "eq" => Prefix::Eq,
        "ne" => Prefix::Ne,
        "gt" => Prefix::Gt,
        "lt" => Prefix::Lt,
        "ge" => Prefix::Ge,
        "le" => Prefix::Le,
        "sa" => Prefix::Sa,
        "eb" => Prefix::Eb,
        "ap" => Prefix::Ap,
        _ => return invalid(format!("unknown prefix '{head}' in '{v}'")),
    };
    Ok((p, &v[2..]))
}

/// A date condition on the inclusive range columns `[lo, hi]` (the same column twice
/// for a point such as `last_updated`). The query value's precision makes it a range
/// `[qlo, qhi]` too, and the prefixes compare the two ranges as FHIR describes:
/// `eq` the value lies within the query range, `gt` some of it lies after the range,
/// `ge` that or `eq`, `sa` it starts after the range, `eb` it ends before it. `ap`
/// widens the query range on each side by a tenth of the time between it and now (at
/// least a day) and matches any overlap.
fn date_cond(lo: &str, hi: &str, v: &str) -> Result<Cond> {
    let (prefix, date) = split_prefix(v)?;
    let (qlo, qhi) = fhir::datetime::parse_range(date)
        .ok_or_else(|| ParamError::Invalid(format!("malformed date '{date}'")))?;
    let within = || {
        Cond::new(
            format!("{lo} >= ? AND {hi} <= ?"),
            vec![qlo.into(), qhi.into()],
        )
    };
    let after = || Cond::new(format!("{hi} > ?"), vec![qhi.into()]);
    let before = || Cond::new(format!("{lo} < ?"), vec![qlo.into()]);
    Ok(match prefix {
        Prefix::Eq => within(),
        Prefix::Ne => within().not(),
        Prefix::Gt => after(),
        Prefix::Lt => before(),
        Prefix::Ge => Cond::any(vec![after(), within()]),
        Prefix::Le => Cond::any(vec![before(), within()]),
        Prefix::Sa => Cond::new(format!("{lo} > ?"), vec![qhi.into()]),
        Prefix::Eb => Cond::new(format!("{hi} < ?"), vec![qlo.into()]),
        Prefix::Ap => {
            const DAY: i64 = 86_400_000_000;
            let margin = (crate::time::now_micros().saturating_sub(qlo).abs() / 10).max(DAY);
            Cond::new(
                format!("{lo} <= ? AND {hi} >= ?"),
                vec![
                    qhi.saturating_add(margin).into(),
                    qlo.saturating_sub(margin).into(),
                ],
            )
        }
    })
}

/// A decimal search value and the range its written precision implies: `100` is
/// [99.5, 100.5), `100.0` is [99.95, 100.05).
fn parse_number(s: &str) -> Result<(f64, f64, f64)> {
    let well_formed = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && s.chars().any(|c| c.is_ascii_digit());
    let value: f64 = match s.parse() {
        Ok(v) if well_formed => v,
        _ => return invalid(format!("malformed number '{s}'")),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let decimals = mantissa.split_once('.').map_or(0, |(_, d)| d.len() as i32);
    let half = 0.5 * 10f64.powi(exponent - decimals);
    Ok((value, value - half, value + half))
}

/// A number condition on `column` (number and quantity parameters).
fn number_cond(column: &str, v: &str) -> Result<Cond> {
    let (prefix, n) = split_prefix(v)?;
    let (value, lo, hi) = parse_number(n)?;
    let c = |op: &str, x: f64| Cond::new(format!("{column} {op} ?"), vec![x.into()]);
    let range = || {
        Cond::new(
            format!("{column} >= ? AND {column} < ?"),
            vec![lo.into(), hi.into()],
        )
    };
    Ok(match prefix {
        Prefix::Eq => range(),
        Prefix::Ne => range().not(),
        Prefix::Gt | Prefix::Sa => c(">", value),
        Prefix::Lt | Prefix::Eb => c("<", value),
        Prefix::Ge => c(">=", value),
        Prefix::Le => c("<=", value),
        Prefix::Ap => {
            let margin = value.abs() / 10.0;
            Cond::new(
                format!("{column} >= ? AND {column} <= ?"),
                vec![(value - margin).into(), (value + margin).into()],
            )
        }
    })
}

/// `[prefix]value`, `[prefix]value|system|code`, or `[prefix]value||code` (the code
/// or the unit as written).
fn quantity_cond(v: &str) -> Result<Cond> {
    let parts = split_unescaped(v, '|');
    let mut conds = vec![number_cond("value", parts[0])?];
    match parts.as_slice() {
        [_] => {}
        [_, "", ""] => {}
        [_, "", code] => conds.push(Cond::new(
            "(code = ? OR unit = ?)",
            vec![unescape(code).into(), unescape(code).into()],
        )),
        [_, system, ""] => conds.push(Cond::new("system = ?", vec![unescape(system).into()])),
        [_, system, code] => conds.push(Cond::new(
            "code = ? AND system = ?",
            vec![unescape(code).into(), unescape(system).into()],
        )),
        _ => {
            return invalid(format!(
                "malformed quantity '{v}': expected value[|system|code]"
            ));
        }
    }
    Ok(Cond::all(conds))
}

/// `Type/id`, a plain `id` (of the type the `:Type` modifier names, if any), an absolute
/// URL on our own base (local), or any other URL (matched as written).
fn reference_cond(
    scope: &Scope,
    def: &SearchParamDef,
    modifier: Option<&str>,
    v: &str,
) -> Result<Cond> {
    let type_modifier = match modifier {
        None => None,
        Some(t) if fhir::Definitions::get().is_resource_type(t) => Some(t),
        Some(m) => {
            return invalid(format!(
                "unknown or unsupported modifier ':{m}' on reference parameter '{}'",
                def.name
            ));
        }
    };
    let v = unescape(v);
    let base = format!("{}/", scope.base_url.trim_end_matches('/'));
    let local = v.strip_prefix(&base).unwrap_or(&v);
    let local = local.split_once("/_history/").map_or(local, |(r, _)| r);
    if local.contains("://") || local.starts_with("urn:") {
        return Ok(Cond::new("url = ?", vec![v.into()]));
    }
    match local.split_once('/') {
        Some((t, id)) if !id.contains('/') && fhir::Definitions::get().is_resource_type(t) => {
            if type_modifier.is_some_and(|m| m != t) {
                return invalid(format!(
                    "reference '{v}' is not a {}",
                    type_modifier.unwrap_or_default()
                ));
            }
            Ok(Cond::new(
                "target_id = ? AND target_type = ?",
                vec![id.into(), t.into()],
            ))
        }
        Some(_) => Ok(Cond::new("url = ?", vec![v.into()])),
        None => Ok(match type_modifier {
            Some(t) => Cond::new(
                "target_id = ? AND target_type = ?",
                vec![local.into(), t.into()],
            ),
            None => Cond::new("target_id = ?", vec![local.into()]),
        }),
    }
}

fn uri_cond(name: &str, modifier: Option<&str>, v: &str) -> Result<Cond> {
    let v = unescape(v);
    Ok(match modifier {
        None => Cond::new("uri = ?", vec![v.into()]),
        Some("below") => prefix_match("uri", &v),
        Some("above") => {
            // Every ancestor path of the value (below its scheme and host), and the value.
            let path_start = v.find("://").map_or(0, |i| i + 3);
            let mut ancestors: Vec<SqlValue> = v[path_start..]
                .match_indices('/')
                .map(|(i, _)| SqlValue::from(&v[..path_start + i]))
                .filter(|a| a.as_str() != Some(""))
                .collect();
            ancestors.push(v.clone().into());
            Cond::new(
                format!("uri IN ({})", super::sql::placeholders(ancestors.len())),
                ancestors,
            )
        }
        Some(m) => return invalid(format!("unknown modifier ':{m}' on uri parameter '{name}'")),
    })
}

/// `ref[:Type].param=value`: resources whose reference `ref` points at a resource (of
/// `Type`, or of any target type that has `param`) matching `param=value`.
fn chained(
    scope: &Scope,
    alias: &str,
    name: &str,
    modifier: Option<&str>,
    chain: &str,
    value: &str,
) -> Result<Filter> {
    let def = lookup(scope.rtype, name)?;
    if def.kind != "reference" {
        return invalid(format!(
            "'{name}' is not a reference parameter, so it cannot be chained"
        ));
    }
    table_for(def)?;
    let chain_name = chain.split(':').next().unwrap_or(chain);
    if chain.contains('.') {
        return invalid(format!(
            "chains of more than one level are not supported ('{name}.{chain}')"
        ));
    }
    let targets: Vec<&str> = match modifier {
        Some(t) if def.target.iter().any(|x| x == t) => vec![t],
        Some(m) => return invalid(format!("'{m}' is not a target type of '{name}'")),
        None => def
            .target
            .iter()
            .map(String::as_str)
            .filter(|t| {
                chain_name.starts_with('_') || fhir::searchparams::lookup(t, chain_name).is_some()
            })
            .collect(),
    };
    if targets.is_empty() {
        return Err(ParamError::Unknown(format!(
            "no target type of '{name}' has a search parameter '{chain_name}'"
        )));
    }
    let mut drivers = Vec::new();
    let mut checks = Vec::new();
    for t in targets {
        let inner_scope = Scope {
            rtype: Some(t),
            ..*scope
        };
        let Some(inner) = compile(&inner_scope, "t", chain, value)? else {
            continue;
        };
        let mut base = vec![
            Cond::new("t.practice = ?", vec![scope.practice.into()]),
            Cond::new("t.rtype = ?", vec![t.into()]),
            Cond::new("NOT t.deleted", vec![]),
        ];
        if let Some(ctx) = scope.ctx {
            base.push(super::visibility::visibility(ctx, "t"));
        }
        let (from, filter) = super::sql::assemble("t", base, vec![inner]);
        let mut ids = Cond::new(
            format!("SELECT t.id FROM {} WHERE {}", from.sql, filter.sql),
            from.args,
        );
        ids.args.extend(filter.args);
        let mut args: Vec<SqlValue> = vec![scope.practice.into()];
        if let Some(rt) = scope.rtype {
            args.push(rt.into());
        }
        args.extend([SqlValue::from(name), t.into()]);
        args.extend(ids.args.iter().cloned());
        let by_type = if scope.rtype.is_some() {
            "x.rtype = ? AND "
        } else {
            ""
        };
        drivers.push(Cond::new(
            format!(
                "SELECT x.res_pk FROM idx_reference x WHERE x.practice = ? AND {by_type}x.param = ? AND x.target_type = ? AND x.target_id IN ({})",
                ids.sql
            ),
            args,
        ));
        let mut args = vec![SqlValue::from(name), t.into()];
        args.extend(ids.args);
        checks.push(Cond::new(
            format!(
                "EXISTS (SELECT 1 FROM idx_reference x WHERE x.practice = {alias}.practice \
                 AND x.res_pk = {alias}.pk AND x.param = ? \
                 AND x.target_type = ? AND x.target_id IN ({}))",
                ids.sql
            ),
            args,
        ));
    }
    let driver = Cond::new(
        drivers
            .iter()
            .map(|d| d.sql.as_str())
            .collect::<Vec<_>>()
            .join(" UNION "),
        drivers.into_iter().flat_map(|d| d.args).collect(),
    );
    Ok(Filter::Lookup {
        driver,
        exists: Cond::any(checks),
        negated: false,
        rank: 1,
    })
}

/// Splits on `sep` where not escaped by a backslash (FHIR search escaping).
pub(crate) fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Removes FHIR search escapes: `\,` `\|` `\$` `\\`.
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
