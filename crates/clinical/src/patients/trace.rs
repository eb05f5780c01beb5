//! Tracing a patient on PDS before registering: confirm the NHS number that was given
//! (status 01 when the demographics agree, 05 when they do not), or find it from the
//! demographics (status 04 when nobody or too many match). A sensitive patient's
//! address and telephone never come from PDS, and their new record is marked
//! restricted.

use super::dates;
use super::form::RegistrationForm;
use chrono::{Datelike, NaiveDate};
use fhir::uk::{Gender, PersonName};
use pds::{Pds, PdsError, PdsPatient, SearchQuery};
use serde_json::Value;

/// The most candidates a trace lists.
const MAX_CANDIDATES: u32 = 10;

/// A patient PDS offered for the details entered.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Ten digits.
    pub nhs_number: String,
    /// "SMITH, John (Mr)".
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    /// "Female"...
    pub gender: String,
    /// `None` for a sensitive patient.
    pub postcode: Option<String>,
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TraceOutcome {
    /// The NHS number is on PDS and the details agree: status 01, the form filled in
    /// from PDS.
    Verified { form: Box<RegistrationForm> },
    /// The NHS number is on PDS but the details differ (each difference described):
    /// status 05.
    Mismatch { differences: Vec<String> },
    /// No patient on PDS has that NHS number: status 05.
    UnknownNumber,
    /// A search found exactly one patient: offer their NHS number.
    Found(Candidate),
    /// A search found several: choose one.
    Several(Vec<Candidate>),
    /// Nobody (or too many to list) matched: status 04.
    NoMatch { too_many: bool },
    /// Not enough entered to trace: say what to add.
    NeedsDetails(String),
    /// PDS could not be asked: register with status 02 or 03 and trace later.
    Unavailable,
}

impl TraceOutcome {
    /// The NHS number verification status this outcome sets, if it sets one.
    pub fn verification_status(&self) -> Option<&'static str> {
        match self {
            TraceOutcome::Verified { .. } => Some("01"),
            TraceOutcome::Mismatch { .. } | TraceOutcome::UnknownNumber => Some("05"),
            TraceOutcome::NoMatch { .. } => Some("04"),
            _ => None,
        }
    }

    /// The form after the trace: filled in from PDS when verified, with the status set.
    pub fn apply(&self, form: &RegistrationForm) -> RegistrationForm {
        let mut next = match self {
            TraceOutcome::Verified { form } => form.as_ref().clone(),
            _ => RegistrationForm {
                pds_traced: false,
                ..form.clone()
            },
        };
        if let Some(status) = self.verification_status() {
            next.nhs_verification = status.to_string();
        } else if matches!(self, TraceOutcome::Unavailable) {
            next.nhs_verification = if form.nhs_number.trim().is_empty() {
                "03"
            } else {
                "02"
            }
            .into();
        }
        next
    }
}

/// Traces the patient `form` describes.
pub fn trace(pds: &dyn Pds, form: &RegistrationForm) -> TraceOutcome {
    let entered = form.nhs_number.trim();
    if !entered.is_empty() {
        return match fhir::nhs_number::normalize(entered).filter(|n| fhir::nhs_number::is_valid(n))
        {
            Some(number) => confirm(pds, form, &number),
            None => TraceOutcome::NeedsDetails(
                "Correct the NHS number, or clear it to trace by name and date of birth".into(),
            ),
        };
    }
    search(pds, form)
}

fn confirm(pds: &dyn Pds, form: &RegistrationForm, number: &str) -> TraceOutcome {
    let found = match pds.retrieve(number) {
        Ok(found) => found,
        Err(PdsError::NotFound) => return TraceOutcome::UnknownNumber,
        Err(e) => return failed(&e),
    };
    let differences = differences(form, &found.resource);
    if !differences.is_empty() {
        return TraceOutcome::Mismatch { differences };
    }
    TraceOutcome::Verified {
        form: Box::new(filled_from(form, &found)),
    }
}

fn search(pds: &dyn Pds, form: &RegistrationForm) -> TraceOutcome {
    let birth_date = dates::from_parts(
        &form.birth_day,
        &form.birth_month,
        &form.birth_year,
        "Date of birth",
    )
    .ok();
    let (family, Some(birth_date)) = (form.family.trim(), birth_date) else {
        return TraceOutcome::NeedsDetails(
            "Enter the last name and date of birth (or the NHS number) to trace on PDS".into(),
        );
    };
    if family.is_empty() {
        return TraceOutcome::NeedsDetails(
            "Enter the last name and date of birth (or the NHS number) to trace on PDS".into(),
        );
    }
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let mut query = SearchQuery {
        family: Some(family.to_string()),
        given: form.given.split_whitespace().next().map(str::to_string),
        gender: text(&form.gender),
        birth_date: Some(birth_date.format("%Y-%m-%d").to_string()),
        postcode: text(&form.postcode),
        max_results: Some(MAX_CANDIDATES),
        ..SearchQuery::default()
    };
    let mut found = pds.search(&query);
    if matches!(&found, Ok(list) if list.is_empty()) {
        query.fuzzy = true;
        found = pds.search(&query);
    }
    match found {
        Ok(list) => match list.as_slice() {
            [] => TraceOutcome::NoMatch { too_many: false },
            [one] => TraceOutcome::Found(candidate(one)),
            many => TraceOutcome::Several(many.iter().map(candidate).collect()),
        },
        Err(PdsError::TooManyMatches) => TraceOutcome::NoMatch { too_many: true },
        Err(e) => failed(&e),
    }
}

fn failed(e: &PdsError) -> TraceOutcome {
    match e {
        PdsError::Invalid(_) => TraceOutcome::NeedsDetails(
            "PDS could not search with these details: check the name, date of birth and gender"
                .into(),
        ),
        PdsError::TooManyMatches => TraceOutcome::NoMatch { too_many: true },
        _ => {
            tracing::warn!("a PDS trace failed: PDS is unavailable");
            TraceOutcome::Unavailable
        }
    }
}

/// The PDS patient's current name: the `usual` one without an end, else the first.
fn pds_name(patient: &Value) -> Option<&Value> {
    let names = patient["name"].as_array()?;
    names
        .iter()
        .find(|n| n["use"] == "usual" && n["period"]["end"].is_null())
        .or_else(|| names.iter().find(|n| n["use"] == "usual"))
        .or_else(|| names.first())
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where what was entered disagrees with PDS (blank fields do not disagree).
fn differences(form: &RegistrationForm, patient: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let name = pds_name(patient);
    let family = name.and_then(|n| n["family"].as_str()).unwrap_or_default();
    if !form.family.trim().is_empty() && squash(&form.family) != squash(family) {
        out.push(format!("Last name on PDS is {family}"));
    }
    let given = name
        .and_then(|n| n["given"][0].as_str())
        .unwrap_or_default();
    let entered_given = form.given.split_whitespace().next().unwrap_or_default();
    if !entered_given.is_empty() && squash(entered_given) != squash(given) {
        out.push(format!("First name on PDS is {given}"));
    }
    let birth = patient["birthDate"].as_str().unwrap_or_default();
    if let Ok(entered) = dates::from_parts(
        &form.birth_day,
        &form.birth_month,
        &form.birth_year,
        "Date of birth",
    ) && entered.format("%Y-%m-%d").to_string() != birth
    {
        let shown = NaiveDate::parse_from_str(birth, "%Y-%m-%d")
            .map(fhir::uk::date_text)
            .unwrap_or_else(|_| "not recorded".into());
        out.push(format!("Date of birth on PDS is {shown}"));
    }
    let gender = patient["gender"].as_str().unwrap_or("unknown");
    if !form.gender.is_empty() && form.gender != gender {
        out.push(format!(
            "Gender on PDS is {}",
            Gender::text(Gender::from_code(gender)).to_lowercase()
        ));
    }
    out
}

fn is_sensitive(patient: &Value) -> bool {
    super::search::is_sensitive(patient)
}

/// The form with the demographics PDS holds (the NHS number confirmed, status 01).
fn filled_from(form: &RegistrationForm, found: &PdsPatient) -> RegistrationForm {
    let patient = &found.resource;
    let sensitive = is_sensitive(patient);
    let mut next = form.clone();
    next.nhs_number = fhir::uk::NhsNumber::spaced(&found.nhs_number);
    next.nhs_verification = "01".into();
    next.pds_traced = true;
    next.sensitive = sensitive;
    if let Some(name) = pds_name(patient) {
        let words = |key: &str| -> Vec<String> {
            name[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        if let Some(family) = name["family"].as_str() {
            next.family = family.to_string();
        }
        let given = words("given");
        if !given.is_empty() {
            next.given = given.join(" ");
        }
        if let Some(title) = words("prefix").first() {
            next.title = title.clone();
        }
    }
    if let Some(gender) = patient["gender"].as_str() {
        next.gender = gender.to_string();
    }
    if let Some(birth) = patient["birthDate"]
        .as_str()
        .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok())
    {
        next.birth_day = birth.day().to_string();
        next.birth_month = birth.month().to_string();
        next.birth_year = birth.year().to_string();
    }
    if !sensitive {
        fill_contact(&mut next, patient);
    }
    next
}

/// Address and telecom from PDS, where nothing was entered.
fn fill_contact(form: &mut RegistrationForm, patient: &Value) {
    let address = patient["address"].as_array().and_then(|a| {
        a.iter()
            .find(|x| x["use"] == "home" && x["period"]["end"].is_null())
            .or_else(|| a.first())
    });
    let nothing_entered = form.address_line1.trim().is_empty() && form.postcode.trim().is_empty();
    if let (Some(address), true) = (address, nothing_entered) {
        let lines: Vec<&str> = address["line"]
            .as_array()
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        form.address_line1 = lines.first().copied().unwrap_or_default().to_string();
        form.address_line2 = lines
            .get(1..)
            .map(|rest| rest.join(", "))
            .unwrap_or_default();
        form.town = address["city"].as_str().unwrap_or_default().to_string();
        form.postcode = address["postalCode"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    }
    for point in patient["telecom"].as_array().into_iter().flatten() {
        let value = point["value"].as_str().unwrap_or_default().to_string();
        match (point["system"].as_str(), point["use"].as_str()) {
            (Some("phone"), Some("mobile")) if form.mobile.is_empty() => form.mobile = value,
            (Some("phone"), _) if form.home_phone.is_empty() => form.home_phone = value,
            (Some("email"), _) if form.email.is_empty() => form.email = value,
            _ => {}
        }
    }
}

fn candidate(found: &PdsPatient) -> Candidate {
    let patient = &found.resource;
    let sensitive = is_sensitive(patient);
    let name = pds_name(patient)
        .map(|n| PersonName::from_json(n).banner())
        .unwrap_or_else(|| fhir::uk::NO_NAME.into());
    Candidate {
        nhs_number: found.nhs_number.clone(),
        name,
        birth_date: patient["birthDate"]
            .as_str()
            .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok()),
        gender: Gender::text(patient["gender"].as_str().and_then(Gender::from_code)).into(),
        postcode: if sensitive {
            None
        } else {
            super::search::home_postcode(patient)
        },
        sensitive,
    }
}
