//! Spine error codes and the OperationOutcome shape PDS answers errors with.

use serde_json::{Value, json};

use crate::PdsError;

/// The code system of PDS (Spine) error codes, in `issue[].details.coding[]`.
pub const ERROR_CODE_SYSTEM: &str = "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode";

/// One PDS error: its Spine code, FHIR issue type and display text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpineCode {
    pub code: &'static str,
    pub issue_type: &'static str,
    pub display: &'static str,
}

pub const RESOURCE_NOT_FOUND: SpineCode = SpineCode {
    code: "RESOURCE_NOT_FOUND",
    issue_type: "not-found",
    display: "Resource not found",
};
pub const INVALID_RESOURCE_ID: SpineCode = SpineCode {
    code: "INVALID_RESOURCE_ID",
    issue_type: "value",
    display: "Resource Id is invalid",
};
pub const INVALID_SEARCH_DATA: SpineCode = SpineCode {
    code: "INVALID_SEARCH_DATA",
    issue_type: "value",
    display: "Search data is invalid",
};
pub const INVALID_VALUE: SpineCode = SpineCode {
    code: "INVALID_VALUE",
    issue_type: "value",
    display: "Provided value is invalid",
};
pub const MISSING_VALUE: SpineCode = SpineCode {
    code: "MISSING_VALUE",
    issue_type: "required",
    display: "Required value is missing",
};
pub const TOO_MANY_MATCHES: SpineCode = SpineCode {
    code: "TOO_MANY_MATCHES",
    issue_type: "multiple-matches",
    display: "Too Many Matches",
};
pub const PRECONDITION_FAILED: SpineCode = SpineCode {
    code: "PRECONDITION_FAILED",
    issue_type: "structure",
    display: "Required condition was not fulfilled",
};
pub const INVALID_UPDATE: SpineCode = SpineCode {
    code: "INVALID_UPDATE",
    issue_type: "structure",
    display: "Update is invalid",
};
pub const UNSUPPORTED_SERVICE: SpineCode = SpineCode {
    code: "UNSUPPORTED_SERVICE",
    issue_type: "processing",
    display: "Unsupported Service",
};

/// An error OperationOutcome as PDS sends it: one issue whose details carry the Spine
/// code; `diagnostics` only when there is more to say than the display.
pub fn outcome(code: SpineCode, diagnostics: Option<&str>) -> Value {
    // PDS reports "too many matches" as information, not as an error.
    let severity = if code == TOO_MANY_MATCHES {
        "information"
    } else {
        "error"
    };
    let mut issue = json!({
        "severity": severity,
        "code": code.issue_type,
        "details": {
            "coding": [{
                "system": ERROR_CODE_SYSTEM,
                "version": "1",
                "code": code.code,
                "display": code.display,
            }]
        }
    });
    if let Some(d) = diagnostics {
        issue["diagnostics"] = json!(d);
    }
    json!({ "resourceType": "OperationOutcome", "issue": [issue] })
}

/// The first Spine code in an OperationOutcome, with the most useful text to show.
fn first_code(body: &Value) -> Option<(String, String)> {
    let issues = body.get("issue")?.as_array()?;
    issues.iter().find_map(|issue| {
        let coding = issue.pointer("/details/coding")?.as_array()?;
        let code = coding
            .iter()
            .find(|c| c.get("system").and_then(Value::as_str) == Some(ERROR_CODE_SYSTEM))?;
        let code_str = code.get("code")?.as_str()?.to_string();
        let text = issue
            .get("diagnostics")
            .and_then(Value::as_str)
            .or_else(|| code.get("display").and_then(Value::as_str))
            .unwrap_or(&code_str)
            .to_string();
        Some((code_str, text))
    })
}

/// The [`PdsError`] for an unsuccessful PDS response: by Spine code when the body is an
/// OperationOutcome that has one, else by HTTP status.
pub fn error_for(status: u16, body: Option<&Value>) -> PdsError {
    if status >= 500 {
        return PdsError::Unavailable(format!("PDS answered HTTP {status}"));
    }
    if let Some((code, text)) = body.and_then(first_code) {
        match code.as_str() {
            "RESOURCE_NOT_FOUND" | "INVALIDATED_RESOURCE" => return PdsError::NotFound,
            "TOO_MANY_MATCHES" => return PdsError::TooManyMatches,
            "PRECONDITION_FAILED" | "RESOURCE_VERSION_MISMATCH" => {
                return PdsError::VersionConflict;
            }
            "INVALID_VALUE"
            | "INVALID_SEARCH_DATA"
            | "MISSING_VALUE"
            | "INVALID_RESOURCE_ID"
            | "INVALID_UPDATE"
            | "UNSUPPORTED_SERVICE" => return PdsError::Invalid(text),
            _ => {}
        }
    }
    match status {
        404 | 410 => PdsError::NotFound,
        409 | 412 => PdsError::VersionConflict,
        401 | 403 => PdsError::Unavailable(format!("PDS refused our credentials (HTTP {status})")),
        429 => PdsError::Unavailable("PDS is rate limiting requests (HTTP 429)".into()),
        _ => PdsError::Invalid(format!("PDS refused the request (HTTP {status})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_spine_codes_before_status() {
        let gone = outcome(
            SpineCode {
                code: "INVALIDATED_RESOURCE",
                ..RESOURCE_NOT_FOUND
            },
            None,
        );
        assert_eq!(error_for(404, Some(&gone)), PdsError::NotFound);
        assert_eq!(
            error_for(400, Some(&outcome(TOO_MANY_MATCHES, None))),
            PdsError::TooManyMatches
        );
        let mismatch = outcome(
            SpineCode {
                code: "RESOURCE_VERSION_MISMATCH",
                ..PRECONDITION_FAILED
            },
            None,
        );
        assert_eq!(error_for(409, Some(&mismatch)), PdsError::VersionConflict);
        assert_eq!(
            error_for(
                400,
                Some(&outcome(
                    INVALID_SEARCH_DATA,
                    Some("Invalid value - 'x' in field 'birthdate'")
                ))
            ),
            PdsError::Invalid("Invalid value - 'x' in field 'birthdate'".into())
        );
        assert_eq!(
            error_for(400, Some(&outcome(MISSING_VALUE, None))),
            PdsError::Invalid("Required value is missing".into())
        );
    }

    #[test]
    fn falls_back_to_status() {
        assert!(matches!(
            error_for(503, Some(&outcome(INVALID_VALUE, None))),
            PdsError::Unavailable(_)
        ));
        assert_eq!(error_for(404, None), PdsError::NotFound);
        assert_eq!(error_for(412, None), PdsError::VersionConflict);
        assert!(matches!(error_for(401, None), PdsError::Unavailable(_)));
        assert!(matches!(error_for(418, None), PdsError::Invalid(_)));
    }
}
