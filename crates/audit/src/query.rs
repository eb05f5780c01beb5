//! The search parameters of `AuditEvent?…`, turned into conditions on `audit_log`.
//!
//! - `patient` (`Patient/id` or `id`): through `audit_patients`.
//! - `agent`: a user id or an app's client id; `Practitioner/id` the practitioner.
//! - `entity` (`Type/id`): any version of that resource, or that patient.
//! - `date` (`eq`, `ge`, `gt`, `le`, `lt` prefixes): when it was recorded.
//! - `subtype` (the event: `read`, `search-type`, `login`, …) and `outcome` (0, 4, 8).
//! - `_count`, and `_cursor` (entries older than that seq) for the next links.
//!
//! Comma-separated values are alternatives; repeated parameters must all match.

use crate::backend::SqlValue;
use crate::error::{FhirError, FhirResult};
use fhir::Issue;

pub const DEFAULT_COUNT: usize = 20;
pub const MAX_COUNT: usize = 1000;
const IGNORED: &[&str] = &["_format", "_pretty"];

/// A parsed search: SQL conditions (with `?` placeholders) ANDed after the practice's.
#[derive(Debug, Default)]
pub struct AuditQuery {
    pub conditions: Vec<String>,
    pub params: Vec<SqlValue>,
    pub count: usize,
    /// Only entries with a seq below this (the next page).
    pub cursor: Option<i64>,
    /// Unknown parameters ignored under lenient handling.
    pub warnings: Vec<Issue>,
    /// The patients named by `patient` parameters.
    named_patients: Vec<String>,
    /// Whether an `entity` parameter was given.
    by_entity: bool,
}

impl AuditQuery {
    pub fn parse(
        practice: &str,
        params: &[(String, String)],
        lenient: bool,
    ) -> FhirResult<AuditQuery> {
        let mut q = AuditQuery {
            count: DEFAULT_COUNT,
            ..AuditQuery::default()
        };
        for (name, value) in params {
            let values: Vec<&str> = value.split(',').map(str::trim).collect();
            match name.as_str() {
                "patient" => {
                    let ids: Vec<&str> = values.iter().map(|v| strip_type(v, "Patient")).collect();
                    q.named_patients.extend(ids.iter().map(|id| id.to_string()));
                    q.patients_condition(practice, &ids);
                }
                "agent" => q.agent(&values),
                "entity" => {
                    q.by_entity = true;
                    q.entity(practice, &values)?;
                }
                "date" => q.date(&values)?,
                "subtype" => {
                    let events: Vec<&str> = values.iter().map(|v| strip_system(v)).collect();
                    q.any_of("event", &events);
                }
                "outcome" => q.outcome(&values)?,
                "_count" => q.count = number(name, value)?.min(MAX_COUNT as i64) as usize,
                "_cursor" => q.cursor = Some(number(name, value)?),
                n if IGNORED.contains(&n) => {}
                _ if lenient => q.warnings.push(
                    Issue::warning(
                        "not-supported",
                        format!("unknown search parameter {name} for AuditEvent: ignored"),
                    )
                    .at(name.clone()),
                ),
                _ => {
                    return Err(FhirError::BadRequest(vec![
                        Issue::error(
                            "not-supported",
                            format!("unknown search parameter {name} for AuditEvent"),
                        )
                        .at(name.clone()),
                    ]));
                }
            }
        }
        Ok(q)
    }

    /// A patient context: only entries about `patient`, and no way to learn through the
    /// parameters whether another patient was part of an entry too (a `patient`
    /// naming someone else matches nothing; `entity` matches only entries about this
    /// patient alone, since it searches every resource an entry names).
    pub fn restrict_to_patient(&mut self, practice: &str, patient: &str) {
        self.patients_condition(practice, &[patient]);
        if self.named_patients.iter().any(|p| p != patient) {
            self.conditions.push("1 = 0".into());
        }
        if self.by_entity {
            self.conditions.push(
                "NOT EXISTS (SELECT 1 FROM audit_patients o WHERE o.practice = ? \
                 AND o.seq = audit_log.seq AND o.patient_id <> ?)"
                    .into(),
            );
            self.params.push(SqlValue::from(practice));
            self.params.push(SqlValue::from(patient));
        }
    }

    /// Only entries about one of `ids`.
    pub fn patients_condition(&mut self, practice: &str, ids: &[&str]) {
        self.conditions.push(format!(
            "seq IN (SELECT seq FROM audit_patients WHERE practice = ? AND patient_id IN ({}))",
            placeholders(ids.len())
        ));
        self.params.push(SqlValue::from(practice));
        self.params.extend(ids.iter().map(|id| SqlValue::from(*id)));
    }

    fn any_of(&mut self, column: &str, values: &[&str]) {
        self.conditions
            .push(format!("{column} IN ({})", placeholders(values.len())));
        self.params
            .extend(values.iter().map(|v| SqlValue::from(*v)));
    }

    fn agent(&mut self, values: &[&str]) {
        let mut alternatives = Vec::new();
        for value in values {
            if let Some(practitioner) = value.strip_prefix("Practitioner/") {
                // The practitioner is the staff entry's last field.
                alternatives.push("entry LIKE ? ESCAPE '\\'".to_string());
                self.params.push(SqlValue::from(format!(
                    "%\"practitioner\":\"{}\"}}%",
                    like_escape(practitioner)
                )));
            } else {
                alternatives.push("actor = ? OR client_id = ?".to_string());
                self.params.push(SqlValue::from(*value));
                self.params.push(SqlValue::from(*value));
            }
        }
        self.conditions
            .push(format!("({})", alternatives.join(" OR ")));
    }

    /// `Type/id`: an entry naming that resource (any version), or, for a patient, an
    /// entry about them. The log has no index of entities: a scan of the practice's log.
    fn entity(&mut self, practice: &str, values: &[&str]) -> FhirResult<()> {
        let mut alternatives = Vec::new();
        for value in values {
            let (rtype, id) = value
                .split_once('/')
                .filter(|(t, id)| {
                    !t.is_empty()
                        && t.chars().all(|c| c.is_ascii_alphabetic())
                        && fhir::validate::is_valid_id(id)
                })
                .ok_or_else(|| {
                    FhirError::bad_request(format!("entity must be Type/id, not '{value}'"))
                })?;
            alternatives.push("entry LIKE ? ESCAPE '\\' OR entry LIKE ? ESCAPE '\\'");
            let reference = format!("{rtype}/{}", like_escape(id));
            self.params
                .push(SqlValue::from(format!("%\"{reference}\"%")));
            self.params
                .push(SqlValue::from(format!("%\"{reference}/\\_history/%")));
            if rtype == "Patient" {
                alternatives.push(
                    "seq IN (SELECT seq FROM audit_patients WHERE practice = ? AND patient_id = ?)",
                );
                self.params.push(SqlValue::from(practice));
                self.params.push(SqlValue::from(id));
            }
        }
        self.conditions
            .push(format!("({})", alternatives.join(" OR ")));
        Ok(())
    }

    fn date(&mut self, values: &[&str]) -> FhirResult<()> {
        let mut alternatives = Vec::new();
        for value in values {
            let (prefix, date) = match value.get(..2) {
                Some(p @ ("eq" | "ge" | "gt" | "le" | "lt")) => (p, &value[2..]),
                _ => ("eq", *value),
            };
            let (lo, hi) = fhir::datetime::parse_range(date).ok_or_else(|| {
                FhirError::bad_request(format!(
                    "date must be a FHIR date or dateTime, not '{value}'"
                ))
            })?;
            match prefix {
                "ge" => self.params.push(SqlValue::Int(lo)),
                "gt" => self.params.push(SqlValue::Int(hi)),
                "le" => self.params.push(SqlValue::Int(hi)),
                "lt" => self.params.push(SqlValue::Int(lo)),
                _ => {
                    self.params.push(SqlValue::Int(lo));
                    self.params.push(SqlValue::Int(hi));
                }
            }
            alternatives.push(match prefix {
                "ge" => "recorded >= ?",
                "gt" => "recorded > ?",
                "le" => "recorded <= ?",
                "lt" => "recorded < ?",
                _ => "recorded BETWEEN ? AND ?",
            });
        }
        self.conditions
            .push(format!("({})", alternatives.join(" OR ")));
        Ok(())
    }

    fn outcome(&mut self, values: &[&str]) -> FhirResult<()> {
        let outcomes = values
            .iter()
            .map(|v| match strip_system(v) {
                "0" => Ok("success"),
                "4" => Ok("refused"),
                "8" => Ok("failed"),
                other => Err(FhirError::bad_request(format!(
                    "outcome must be 0 (success), 4 (refused) or 8 (failed), not '{other}'"
                ))),
            })
            .collect::<FhirResult<Vec<_>>>()?;
        self.any_of("outcome", &outcomes);
        Ok(())
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `Patient/123` → `123`; a bare id is left as it is.
fn strip_type<'a>(value: &'a str, rtype: &str) -> &'a str {
    value
        .strip_prefix(rtype)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(value)
}

/// `system|code` → `code`.
fn strip_system(value: &str) -> &str {
    value.rsplit('|').next().unwrap_or(value)
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn number(name: &str, value: &str) -> FhirResult<i64> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            FhirError::bad_request(format!("{name} must be a whole number, not '{value}'"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(params: &[(&str, &str)]) -> FhirResult<AuditQuery> {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AuditQuery::parse("A81001", &params, false)
    }

    #[test]
    fn unknown_parameters_and_bad_values_are_bad_requests() {
        for params in [
            vec![("name", "smith")],
            vec![("patient:missing", "true")],
            vec![("entity", "not-a-reference")],
            vec![("date", "yesterday")],
            vec![("outcome", "12")],
            vec![("_count", "-1")],
        ] {
            let err = parse(&params).expect_err("a bad request");
            assert_eq!(err.status(), 400, "{params:?}");
        }
    }

    #[test]
    fn date_prefixes_compare_with_the_right_end_of_the_range() {
        let q = parse(&[("date", "ge2024-01-01"), ("date", "lt2024-02")]).unwrap();
        assert_eq!(q.conditions, ["(recorded >= ?)", "(recorded < ?)"]);
        let jan_1 = fhir::datetime::parse_range("2024-01-01").unwrap().0;
        let feb_1 = fhir::datetime::parse_range("2024-02").unwrap().0;
        assert_eq!(q.params, [SqlValue::Int(jan_1), SqlValue::Int(feb_1)]);
    }

    #[test]
    fn entity_matches_any_version_and_escapes_like_wildcards() {
        let q = parse(&[("entity", "Observation/o-1")]).unwrap();
        assert_eq!(
            q.params,
            [
                SqlValue::from("%\"Observation/o-1\"%"),
                SqlValue::from("%\"Observation/o-1/\\_history/%"),
            ]
        );
    }
}
