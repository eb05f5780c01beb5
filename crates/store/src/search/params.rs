//! Parses a search's parameters: the result parameters (`_count`, `_sort`, `_include`,
//! `_summary`...) and the filters, which are compiled to SQL as they are read.

use super::filter::{self, ParamError, Scope};
use super::sql::{Cond, Filter, Selection};
use crate::backend::SqlValue;
use crate::error::{FhirError, FhirResult};
use fhir::Issue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Summary {
    False,
    True,
    Text,
    Data,
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Total {
    /// Not asked: given when it costs nothing (one page, or a snapshot was made).
    Default,
    None,
    Estimate,
    Accurate,
}

/// `_include` / `_revinclude`: `Source:param[:Target]`, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Include {
    /// The type holding the reference; None for `*` (any).
    pub source: Option<String>,
    /// The reference parameter; None for any.
    pub param: Option<String>,
    pub target: Option<String>,
    /// `:iterate`: also applies to the included resources (one more level here).
    pub iterate: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub selection: Selection,
    pub count: usize,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
    pub summary: Summary,
    pub elements: Option<Vec<String>>,
    pub total: Total,
    /// Ignored parameters (lenient handling), reported in the Bundle.
    pub warnings: Vec<Issue>,
    /// The names (as sent, with modifiers) of the parameters ignored: they are left out
    /// of the self link, which shows the search actually run.
    pub ignored: Vec<String>,
}

/// Page-size and snapshot limits from the repository's configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub default_count: usize,
    pub max_count: usize,
}

/// Parameters that only shape the response format, handled elsewhere or not at all.
const IGNORED: &[&str] = &["_format", "_pretty"];

pub(crate) fn parse(
    scope: &Scope,
    params: &[(String, String)],
    limits: Limits,
    lenient: bool,
) -> FhirResult<Query> {
    let rtype = scope.rtype;
    if let Some(t) = rtype
        && !fhir::Definitions::get().is_resource_type(t)
    {
        return Err(FhirError::bad_request(format!(
            "unknown resource type '{t}'"
        )));
    }
    let mut base = vec![Cond::new("r.practice = ?", vec![scope.practice.into()])];
    if let Some(t) = rtype {
        base.push(Cond::new("r.rtype = ?", vec![t.into()]));
    }
    base.push(Cond::new("NOT r.deleted", vec![]));
    let mut filters = Vec::new();
    let mut q = Query {
        selection: Selection {
            from: Cond::all(vec![]),
            filter: Cond::all(vec![]),
            order: Cond::new("r.pk", vec![]),
        },
        count: limits.default_count,
        includes: vec![],
        revincludes: vec![],
        summary: Summary::False,
        elements: None,
        total: Total::Default,
        warnings: vec![],
        ignored: vec![],
    };
    let mut sort: Option<&str> = None;
    for (key, value) in params {
        let name = key.split([':', '.']).next().unwrap_or(key);
        match name {
            "_count" => {
                no_modifier(key, name)?;
                let n: usize = value
                    .parse()
                    .map_err(|_| bad(format!("_count must be a whole number, not '{value}'")))?;
                q.count = n.min(limits.max_count);
            }
            "_sort" => {
                no_modifier(key, name)?;
                sort = Some(value);
            }
            "_include" | "_revinclude" => {
                let iterate = match &key[name.len()..] {
                    "" => false,
                    ":iterate" | ":recurse" => true,
                    m => return Err(bad(format!("unknown modifier '{m}' on {name}"))),
                };
                let inc = parse_include(value, iterate, name)?;
                if name == "_include" {
                    q.includes.push(inc)
                } else {
                    q.revincludes.push(inc)
                }
            }
            "_summary" => {
                no_modifier(key, name)?;
                q.summary = match value.as_str() {
                    "true" => Summary::True,
                    "false" => Summary::False,
                    "text" => Summary::Text,
                    "data" => Summary::Data,
                    "count" => Summary::Count,
                    _ => {
                        return Err(bad(format!(
                            "_summary must be true, false, text, data or count, not '{value}'"
                        )));
                    }
                };
            }
            "_elements" => {
                no_modifier(key, name)?;
                let list = value.split(',').map(str::trim).filter(|e| !e.is_empty());
                q.elements
                    .get_or_insert_with(Vec::new)
                    .extend(list.map(str::to_string));
            }
            "_total" => {
                no_modifier(key, name)?;
                q.total = match value.as_str() {
                    "none" => Total::None,
                    "estimate" => Total::Estimate,
                    "accurate" => Total::Accurate,
                    _ => {
                        return Err(bad(format!(
                            "_total must be none, estimate or accurate, not '{value}'"
                        )));
                    }
                };
            }
            "_type" if rtype.is_none() => filters.push(Filter::Row(type_filter(value)?)),
            n if IGNORED.contains(&n) => {}
            _ => match filter::compile(scope, "r", key, value) {
                Ok(Some(c)) => filters.push(c),
                Ok(None) => {}
                Err(ParamError::Unknown(msg)) if lenient => {
                    q.warnings.push(
                        Issue::warning("not-supported", format!("{msg}: ignored")).at(key.clone()),
                    );
                    q.ignored.push(key.clone());
                }
                Err(ParamError::Unknown(msg)) => {
                    return Err(FhirError::BadRequest(vec![
                        Issue::error("not-supported", msg).at(key.clone()),
                    ]));
                }
                Err(ParamError::Invalid(msg)) => {
                    return Err(FhirError::BadRequest(vec![
                        Issue::error("invalid", msg).at(key.clone()),
                    ]));
                }
            },
        }
    }
    (q.selection.from, q.selection.filter) = super::sql::assemble("r", base, filters);
    if let Some(s) = sort {
        q.selection.order = parse_sort(rtype, s)?;
    }
    Ok(q)
}

fn bad(msg: String) -> FhirError {
    FhirError::bad_request(msg)
}

fn no_modifier(key: &str, name: &str) -> FhirResult<()> {
    if key == name {
        Ok(())
    } else {
        Err(bad(format!("{name} takes no modifier ('{key}')")))
    }
}

/// `_type=Patient,Observation` on a search across all types.
pub(crate) fn type_filter(value: &str) -> FhirResult<Cond> {
    let types: Vec<&str> = value.split(',').collect();
    if let Some(t) = types
        .iter()
        .find(|t| !fhir::Definitions::get().is_resource_type(t))
    {
        return Err(bad(format!("unknown resource type '{t}' in _type")));
    }
    let args = types.iter().map(|t| SqlValue::from(*t)).collect::<Vec<_>>();
    Ok(Cond::new(
        format!("r.rtype IN ({})", super::sql::placeholders(args.len())),
        args,
    ))
}

fn parse_include(value: &str, iterate: bool, name: &str) -> FhirResult<Include> {
    if value == "*" {
        return Ok(Include {
            source: None,
            param: None,
            target: None,
            iterate,
        });
    }
    let parts: Vec<&str> = value.split(':').collect();
    let (source, param, target) = match parts.as_slice() {
        [s, p] => (*s, *p, None),
        [s, p, t] => (*s, *p, Some(*t)),
        _ => {
            return Err(bad(format!(
                "{name} must be Type:parameter[:TargetType] or *, not '{value}'"
            )));
        }
    };
    let defs = fhir::Definitions::get();
    if !defs.is_resource_type(source) {
        return Err(bad(format!("unknown resource type '{source}' in {name}")));
    }
    if let Some(t) = target
        && !defs.is_resource_type(t)
    {
        return Err(bad(format!("unknown resource type '{t}' in {name}")));
    }
    let param = match param {
        "*" => None,
        p => match fhir::searchparams::lookup(source, p) {
            Some(d) if d.kind == "reference" => Some(p.to_string()),
            _ => {
                return Err(bad(format!(
                    "'{p}' is not a reference parameter of {source} (in {name})"
                )));
            }
        },
    };
    Ok(Include {
        source: Some(source.to_string()),
        param,
        target: target.map(str::to_string),
        iterate,
    })
}

/// `_sort=a,-b`: `ORDER BY` terms, each missing value last, ending with the `r.pk`
/// tie-break so pages never shuffle rows of equal keys.
fn parse_sort(rtype: Option<&str>, value: &str) -> FhirResult<Cond> {
    let mut terms = Vec::new();
    let mut args = Vec::new();
    for key in value.split(',').filter(|k| !k.is_empty()) {
        let (name, desc) = match key.strip_prefix('-') {
            Some(n) => (n, true),
            None => (key, false),
        };
        let dir = if desc { "DESC" } else { "ASC" };
        match name {
            "_id" => terms.push(format!("r.id {dir}")),
            "_lastUpdated" => terms.push(format!("r.last_updated {dir}")),
            _ => {
                let def = filter::lookup(rtype, name)
                    .map_err(|_| bad(format!("cannot sort by unknown parameter '{name}'")))?;
                let table = filter::table_for(def)
                    .map_err(|_| bad(format!("cannot sort by parameter '{name}'")))?;
                let column = match (def.kind.as_str(), desc) {
                    ("string", _) => "norm",
                    ("token", _) => "code",
                    ("date", false) => "lo",
                    ("date", true) => "hi",
                    ("reference", _) => "url",
                    ("uri", _) => "uri",
                    _ => "value",
                };
                // Ascending sorts by a resource's smallest value, descending by its largest.
                let agg = if desc { "MAX" } else { "MIN" };
                // By the resource alone, so the planner uses the (practice, res_pk) index.
                let sub = format!(
                    "(SELECT {agg}(s.{column}) FROM {table} s \
                     WHERE s.practice = r.practice AND s.res_pk = r.pk AND s.param = ?)"
                );
                terms.push(format!("{sub} IS NULL, {sub} {dir}"));
                args.extend([SqlValue::from(name), SqlValue::from(name)]);
            }
        }
    }
    terms.push("r.pk".into());
    Ok(Cond::new(terms.join(", "), args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope<'static> {
        Scope {
            rtype: Some("Patient"),
            practice: "A1",
            base_url: "http://x/fhir",
            ctx: None,
        }
    }
    const LIMITS: Limits = Limits {
        default_count: 20,
        max_count: 100,
    };

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn err_text(e: FhirError) -> String {
        e.issues()
            .iter()
            .map(|i| i.diagnostics.clone())
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn result_parameters() {
        let q = parse(
            &scope(),
            &p(&[
                ("_count", "500"),
                ("_summary", "count"),
                ("_total", "accurate"),
                ("_elements", "name,birthDate"),
            ]),
            LIMITS,
            false,
        )
        .unwrap();
        assert_eq!(q.count, 100, "capped at max_count");
        assert_eq!(q.summary, Summary::Count);
        assert_eq!(q.total, Total::Accurate);
        assert_eq!(
            q.elements,
            Some(vec!["name".to_string(), "birthDate".to_string()])
        );
    }

    #[test]
    fn malformed_result_parameters_name_the_problem() {
        for (k, v, want) in [
            ("_count", "abc", "_count"),
            ("_sort", "colour", "colour"),
            ("_summary", "maybe", "_summary"),
            ("_include", "Patient:name", "name"),
            ("_include", "Nope:subject", "Nope"),
            ("birthdate", "xx2020", "xx"),
            ("birthdate", "2020-13", "2020-13"),
            ("name:sounds", "x", "sounds"),
        ] {
            let e = parse(&scope(), &p(&[(k, v)]), LIMITS, false).unwrap_err();
            assert_eq!(e.status(), 400);
            assert!(err_text(e).contains(want), "{k}={v} should mention {want}");
        }
    }

    #[test]
    fn unknown_parameters_fail_unless_lenient() {
        let e = parse(&scope(), &p(&[("colour", "red")]), LIMITS, false).unwrap_err();
        assert!(err_text(e).contains("colour"));
        let q = parse(
            &scope(),
            &p(&[("colour", "red"), ("name", "smith")]),
            LIMITS,
            true,
        )
        .unwrap();
        assert_eq!(q.warnings.len(), 1);
        assert!(q.warnings[0].diagnostics.contains("colour"));
        assert!(
            q.selection.from.sql.contains("idx_string"),
            "the known parameter still filters"
        );
    }

    #[test]
    fn includes() {
        let q = parse(
            &Scope {
                rtype: Some("Observation"),
                ..scope()
            },
            &p(&[
                ("_include", "Observation:subject:Patient"),
                ("_revinclude:iterate", "Provenance:target"),
                ("_include", "*"),
            ]),
            LIMITS,
            false,
        )
        .unwrap();
        assert_eq!(q.includes[0].param.as_deref(), Some("subject"));
        assert_eq!(q.includes[0].target.as_deref(), Some("Patient"));
        assert!(q.revincludes[0].iterate);
        assert_eq!(q.includes[1].source, None);
    }

    #[test]
    fn sort_keys_in_order_with_tie_break() {
        let q = parse(&scope(), &p(&[("_sort", "-birthdate,_id")]), LIMITS, false).unwrap();
        let o = &q.selection.order.sql;
        assert!(o.contains("MAX(s.hi)") && o.contains("DESC"), "{o}");
        assert!(o.ends_with("r.id ASC, r.pk"), "{o}");
        assert_eq!(q.selection.order.args.len(), o.matches('?').count());
    }

    #[test]
    fn system_search_takes_only_common_parameters() {
        let all = Scope {
            rtype: None,
            ..scope()
        };
        assert!(
            parse(
                &all,
                &p(&[("_id", "1"), ("_type", "Patient,Observation")]),
                LIMITS,
                false
            )
            .is_ok()
        );
        assert_eq!(
            parse(&all, &p(&[("birthdate", "2000")]), LIMITS, false)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse(&all, &p(&[("_type", "Nope")]), LIMITS, false)
                .unwrap_err()
                .status(),
            400
        );
    }
}

#[cfg(test)]
mod plan_shape {
    use super::*;

    /// A patient-compartment search must be driven by the reference index (then fetch
    /// resources by primary key), whatever other parameters it has: SQLite would
    /// otherwise scan every resource of the type.
    #[test]
    fn compartment_searches_are_driven_by_the_reference_lookup() {
        let s = Scope {
            rtype: Some("Observation"),
            practice: "A1",
            base_url: "http://x/fhir",
            ctx: None,
        };
        let params: Vec<(String, String)> = [
            ("date", "ge2020"),
            ("code", "http://loinc.org|3-1"),
            ("subject", "Patient/p1"),
            ("_sort", "-date"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let q = parse(
            &s,
            &params,
            Limits {
                default_count: 20,
                max_count: 100,
            },
            false,
        )
        .unwrap();
        let from = &q.selection.from.sql;
        assert!(
            from.contains("FROM idx_reference") && from.ends_with("CROSS JOIN resources r"),
            "{from}"
        );
        let filter = &q.selection.filter.sql;
        assert!(
            filter.contains(
                "EXISTS (SELECT 1 FROM idx_token i WHERE i.practice = r.practice AND i.res_pk = r.pk"
            ),
            "{filter}"
        );
        assert!(
            filter.contains(
                "EXISTS (SELECT 1 FROM idx_date i WHERE i.practice = r.practice AND i.res_pk = r.pk"
            ),
            "{filter}"
        );
        let (sql, args) = q.selection.page_query(21);
        assert_eq!(sql.matches('?').count(), args.len());
        let (sql, args) = q.selection.snapshot_insert("s", 10);
        assert_eq!(sql.matches('?').count(), args.len());
    }
}
