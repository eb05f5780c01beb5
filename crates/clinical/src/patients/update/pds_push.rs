//! Telling PDS about contact details changed in the practice record, so letters and
//! other services do not go to the old address: retrieve the PDS record (for its ETag
//! and what it holds now), build a JSON Patch of the differences only, and update with
//! `If-Match` (if PDS's record changed meanwhile, 412: fetch it again and retry). Never
//! for a sensitive patient or one whose NHS number is not verified. Only additions and
//! changes are sent: a detail cleared here is not removed from PDS.
//!
//! A save queues a [`KIND`] message ([`message`]); the outbox worker hands it to
//! [`PdsDestination`], which pushes. A message sent twice is harmless: the second finds
//! PDS already holding the details and sends nothing.

use super::{Details, DetailsForm, Field, home_address_index};
use outbox::{Delivery, Destination, Message, NewMessage};
use pds::{Pds, PdsError};
use serde_json::{Value, json};
use std::sync::Arc;
use store::RequestContext;

/// The outbox destination of PDS messages.
pub const DESTINATION: &str = "pds";
/// A contact details update.
pub const KIND: &str = "pds.update-contact";

/// How many times a 412 (PDS's record changed under us) is answered by fetching again
/// before the message waits for the worker's next attempt.
const VERSION_RETRIES: usize = 3;

/// What happened on PDS after a save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdsOutcome {
    /// PDS now holds the changed details.
    Updated,
    /// PDS already held them: nothing was sent.
    AlreadyCurrent,
    /// Not sent, and why (a sensitive or unverified patient, PDS not set up).
    NotSent(String),
    /// PDS refused (why, in Spine's words): sending it again will not help.
    Failed(String),
    /// PDS could not be asked now (unavailable, or its record kept changing): try later.
    Retry(String),
}

/// Why PDS must not be (or cannot be) updated for this patient, if so.
pub fn why_not(details: &Details, pds_configured: bool) -> Option<String> {
    if details.sensitive {
        return Some(
            "This is a sensitive record: its address and phone numbers are never sent to PDS."
                .into(),
        );
    }
    if details.nhs_number.is_none() {
        return Some("The patient has no NHS number, so PDS cannot be told.".into());
    }
    if details.verification.as_deref() != Some("01") {
        return Some(
            "The NHS number is not verified (status 01): PDS is only told about patients whose number it has confirmed."
                .into(),
        );
    }
    if !pds_configured {
        return Some("PDS is not set up on this server.".into());
    }
    None
}

/// Sends `fields` of the practice record's `details` to PDS. Blocking (HTTP).
pub fn push(pds: &dyn Pds, details: &Details, fields: &[Field], today: &str) -> PdsOutcome {
    if let Some(reason) = why_not(details, true) {
        return PdsOutcome::NotSent(reason);
    }
    let Some(nhs_number) = details.nhs_number.as_deref() else {
        return PdsOutcome::NotSent("The patient has no NHS number.".into());
    };
    let mut outcome = PdsOutcome::Retry(String::new());
    for _ in 0..VERSION_RETRIES {
        outcome = push_once(pds, nhs_number, details, fields, today);
        if !matches!(&outcome, PdsOutcome::Retry(r) if r == VERSION_CHANGED) {
            break;
        }
    }
    outcome
}

const VERSION_CHANGED: &str = "the PDS record changed while it was being updated";

/// Retrieve, compare, patch: one round.
fn push_once(
    pds: &dyn Pds,
    nhs_number: &str,
    details: &Details,
    fields: &[Field],
    today: &str,
) -> PdsOutcome {
    let found = match pds.retrieve(nhs_number) {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    if pds::sensitive::is_sensitive(&found.resource) {
        return PdsOutcome::NotSent(
            "PDS marks this patient as sensitive: their address and phone numbers are never sent to PDS."
                .into(),
        );
    }
    let ops = patch(&found.resource, &details.form, fields, today);
    if ops.is_empty() {
        return PdsOutcome::AlreadyCurrent;
    }
    let Some(etag) = found.etag.as_deref() else {
        return PdsOutcome::Failed("PDS did not say which version of the record it sent".into());
    };
    match pds.update(nhs_number, etag, &Value::Array(ops)) {
        Ok(_) => PdsOutcome::Updated,
        Err(e) => failed(&e),
    }
}

fn failed(e: &PdsError) -> PdsOutcome {
    tracing::warn!("a PDS update failed");
    match e {
        PdsError::NotFound => {
            PdsOutcome::Failed("PDS has no patient with this NHS number".to_string())
        }
        PdsError::VersionConflict => PdsOutcome::Retry(VERSION_CHANGED.to_string()),
        PdsError::Invalid(text) => PdsOutcome::Failed(format!("PDS refused the change: {text}")),
        PdsError::TooManyMatches => PdsOutcome::Failed(e.to_string()),
        PdsError::Unavailable(_) => PdsOutcome::Retry(e.to_string()),
    }
}

/// The outbox message that tells PDS about `fields` of `details` (as saved), starting
/// `today`. Its payload holds the details: it is never logged.
pub fn message(
    ctx: &RequestContext,
    details: &Details,
    fields: &[Field],
    today: &str,
) -> NewMessage {
    let f = &details.form;
    let payload = json!({
        "nhs_number": details.nhs_number,
        "fields": fields.iter().map(|f| f.key()).collect::<Vec<_>>(),
        "today": today,
        "details": {
            "address_line1": f.address_line1, "address_line2": f.address_line2,
            "town": f.town, "postcode": f.postcode, "mobile": f.mobile,
            "home_phone": f.home_phone, "email": f.email,
        },
    });
    NewMessage {
        practice: ctx.practice.clone(),
        destination: DESTINATION.into(),
        kind: KIND.into(),
        subject: Some(format!("Patient/{}", details.patient_id)),
        payload: payload.to_string(),
    }
}

/// Delivers [`KIND`] messages to PDS.
pub struct PdsDestination {
    pds: Arc<dyn Pds>,
}

impl PdsDestination {
    pub fn new(pds: Arc<dyn Pds>) -> PdsDestination {
        PdsDestination { pds }
    }
}

impl Destination for PdsDestination {
    fn deliver(&self, message: &Message) -> Delivery {
        if message.kind != KIND {
            return Delivery::Permanent(format!(
                "PDS messages of kind '{}' are not known",
                message.kind
            ));
        }
        let Some((details, fields, today)) = read_payload(message) else {
            return Delivery::Permanent("the message could not be read".into());
        };
        match push(self.pds.as_ref(), &details, &fields, &today) {
            PdsOutcome::Updated => Delivery::Sent("PDS updated".into()),
            PdsOutcome::AlreadyCurrent => Delivery::Sent("PDS already had these details".into()),
            PdsOutcome::NotSent(reason) | PdsOutcome::Failed(reason) => Delivery::Permanent(reason),
            PdsOutcome::Retry(reason) => Delivery::Retry(reason),
        }
    }
}

/// The details a message carries, as checked when it was queued (verified, not
/// sensitive in the practice record; PDS's own flag is checked again on sending).
fn read_payload(message: &Message) -> Option<(Details, Vec<Field>, String)> {
    let payload: Value = serde_json::from_str(&message.payload).ok()?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let d = &payload["details"];
    let fields = payload["fields"]
        .as_array()?
        .iter()
        .filter_map(|k| k.as_str().and_then(Field::from_key))
        .collect();
    let details = Details {
        patient_id: message
            .subject
            .as_deref()
            .and_then(|s| s.strip_prefix("Patient/"))
            .unwrap_or_default()
            .to_string(),
        version: 0,
        sensitive: false,
        nhs_number: Some(payload["nhs_number"].as_str()?.to_string()),
        verification: Some("01".into()),
        form: DetailsForm {
            address_line1: text(&d["address_line1"]),
            address_line2: text(&d["address_line2"]),
            town: text(&d["town"]),
            postcode: text(&d["postcode"]),
            mobile: text(&d["mobile"]),
            home_phone: text(&d["home_phone"]),
            email: text(&d["email"]),
            ..DetailsForm::default()
        },
    };
    Some((details, fields, text(&payload["today"])))
}

/// The JSON Patch (RFC 6902) that brings `fields` of `pds_patient` in line with `wanted`:
/// each changed address or telecom point replaced in place (its `id` kept and tested
/// first, as PDS asks), each missing one added, with `period.start` today.
pub fn patch(
    pds_patient: &Value,
    wanted: &DetailsForm,
    fields: &[Field],
    today: &str,
) -> Vec<Value> {
    let mut ops = Vec::new();
    if fields.contains(&Field::Address) {
        address_ops(pds_patient, wanted, today, &mut ops);
    }
    let mut telecom = Listed::new(pds_patient, "telecom");
    for (field, system, use_, entered) in [
        (Field::Mobile, "phone", "mobile", &wanted.mobile),
        (Field::HomePhone, "phone", "home", &wanted.home_phone),
        (Field::Email, "email", "home", &wanted.email),
    ] {
        let entered = entered.trim();
        if !fields.contains(&field) || entered.is_empty() {
            continue;
        }
        let at = pds_patient["telecom"].as_array().and_then(|points| {
            points
                .iter()
                .position(|p| p["system"] == system && (system == "email" || p["use"] == use_))
        });
        let held = at.map(|i| &pds_patient["telecom"][i]);
        let same = held
            .and_then(|p| p["value"].as_str())
            .is_some_and(|v| comparable(system, v) == comparable(system, entered));
        if same {
            continue;
        }
        let point =
            json!({"system": system, "value": entered, "use": use_, "period": {"start": today}});
        telecom.set(at, held, point, &mut ops);
    }
    ops
}

fn address_ops(pds_patient: &Value, wanted: &DetailsForm, today: &str, ops: &mut Vec<Value>) {
    // PDS keeps the town as an address line.
    let lines: Vec<String> = [&wanted.address_line1, &wanted.address_line2, &wanted.town]
        .into_iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let postcode = wanted.postcode.trim();
    if lines.is_empty() || postcode.is_empty() {
        return;
    }
    let at = home_address_index(pds_patient);
    let held = at.map(|i| &pds_patient["address"][i]);
    let same = held.is_some_and(|a| {
        let mut held_lines: Vec<String> = a["line"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(city) = a["city"].as_str() {
            held_lines.push(city.to_string());
        }
        squash(&held_lines.join(" ")) == squash(&lines.join(" "))
            && squash(a["postalCode"].as_str().unwrap_or_default()) == squash(postcode)
    });
    if same {
        return;
    }
    let address =
        json!({"use": "home", "period": {"start": today}, "line": lines, "postalCode": postcode});
    Listed::new(pds_patient, "address").set(at, held, address, ops);
}

/// A list element of the PDS record being patched (`address`, `telecom`).
struct Listed {
    name: &'static str,
    exists: bool,
}

impl Listed {
    fn new(patient: &Value, name: &'static str) -> Listed {
        Listed {
            name,
            exists: patient[name].is_array(),
        }
    }

    /// Replaces the element at `at` (testing its `id` first, and keeping it), or adds one.
    fn set(
        &mut self,
        at: Option<usize>,
        held: Option<&Value>,
        mut value: Value,
        ops: &mut Vec<Value>,
    ) {
        let name = self.name;
        match at {
            Some(i) => {
                if let Some(id) = held.and_then(|h| h.get("id")) {
                    ops.push(json!({"op": "test", "path": format!("/{name}/{i}/id"), "value": id}));
                    value["id"] = id.clone();
                }
                ops.push(json!({"op": "replace", "path": format!("/{name}/{i}"), "value": value}));
            }
            None if self.exists => {
                ops.push(json!({"op": "add", "path": format!("/{name}/-"), "value": value}));
            }
            None => {
                ops.push(json!({"op": "add", "path": format!("/{name}"), "value": [value]}));
                self.exists = true;
            }
        }
    }
}

/// Letters and digits only, lower case: "LS6 1AB" and "ls61ab" agree.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A phone number as digits (`+44` as `0`), an email address in lower case.
fn comparable(system: &str, value: &str) -> String {
    if system == "email" {
        return value.trim().to_lowercase();
    }
    let digits: String = value
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    match digits.strip_prefix("+44") {
        Some(rest) => format!("0{}", rest.trim_start_matches('0')),
        None => digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pds_record() -> Value {
        json!({"resourceType": "Patient", "id": "9000000009",
            "address": [{"id": "456", "use": "home", "period": {"start": "2020-01-01"},
                "line": ["1 Trevelyan Square", "Boar Lane", "Leeds"], "postalCode": "LS1 6AE"}],
            "telecom": [{"id": "789", "system": "phone", "value": "01632960587", "use": "home"}]})
    }

    fn wanted() -> DetailsForm {
        DetailsForm {
            address_line1: "1 Trevelyan Square".into(),
            address_line2: "Boar Lane".into(),
            town: "Leeds".into(),
            postcode: "ls1 6ae".into(),
            home_phone: "01632 960587".into(),
            ..DetailsForm::default()
        }
    }

    #[test]
    fn what_pds_already_holds_is_not_sent() {
        assert!(patch(&pds_record(), &wanted(), &Field::ALL, "2026-05-01").is_empty());
    }

    #[test]
    fn a_new_address_replaces_the_home_one_keeping_its_id() {
        let mut form = wanted();
        form.address_line1 = "7 Otley Road".into();
        form.address_line2 = String::new();
        form.postcode = "LS6 2AA".into();
        form.mobile = "07700900123".into();
        let ops = patch(
            &pds_record(),
            &form,
            &[Field::Address, Field::Mobile],
            "2026-05-01",
        );
        assert_eq!(
            ops[0],
            json!({"op": "test", "path": "/address/0/id", "value": "456"})
        );
        assert_eq!(ops[1]["op"], "replace");
        assert_eq!(ops[1]["value"]["id"], "456");
        assert_eq!(ops[1]["value"]["line"], json!(["7 Otley Road", "Leeds"]));
        assert_eq!(ops[1]["value"]["period"]["start"], "2026-05-01");
        assert_eq!(
            ops[2],
            json!({"op": "add", "path": "/telecom/-", "value": {"system": "phone",
                "value": "07700900123", "use": "mobile", "period": {"start": "2026-05-01"}}})
        );
        assert_eq!(
            ops.len(),
            3,
            "the unchanged home phone is not sent: {ops:?}"
        );
    }
}
