//! Tracing a patient on PDS before registering: confirm the NHS number that was given
//! (status 01 when the demographics agree, 05 when they do not), or find it from the
//! demographics (status 04 when nobody or too many match). A sensitive patient's
//! address and telephone never come from PDS, and their new record is marked
//! restricted.

use super::form::{Address, Telecom};
use chrono::NaiveDate;
use fhir::uk::{Gender, NhsNumber, PersonName};
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

/// Who to trace: what was entered so far (blank parts are `None` or empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceQuery {
    /// With a number, PDS is asked for it and the rest is compared; without, PDS is
    /// searched by the rest.
    pub nhs_number: Option<NhsNumber>,
    pub family: Option<String>,
    /// First and middle names.
    pub given: Vec<String>,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<Gender>,
    /// `LS6 1AB`.
    pub postcode: Option<String>,
}

/// The demographics PDS holds for a confirmed NHS number. A sensitive patient's
/// address and phones are never taken from PDS, so they are empty here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdsDetails {
    pub nhs_number: NhsNumber,
    pub title: Option<String>,
    pub given: Vec<String>,
    pub family: Option<String>,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    /// The current home address (else the first).
    pub address: Option<Address>,
    /// The first mobile, other phone and email.
    pub telecom: Telecom,
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TraceOutcome {
    /// The NHS number is on PDS and the details agree: status 01, with what PDS holds.
    Verified(Box<PdsDetails>),
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
}

/// Traces the patient `query` describes.
pub fn trace(pds: &dyn Pds, query: &TraceQuery) -> TraceOutcome {
    match &query.nhs_number {
        Some(number) => confirm(pds, query, number),
        None => search(pds, query),
    }
}

fn confirm(pds: &dyn Pds, query: &TraceQuery, number: &NhsNumber) -> TraceOutcome {
    let found = match pds.retrieve(number.digits()) {
        Ok(found) => found,
        Err(PdsError::NotFound) => return TraceOutcome::UnknownNumber,
        Err(e) => return failed(&e),
    };
    let differences = differences(query, &found.resource);
    if !differences.is_empty() {
        return TraceOutcome::Mismatch { differences };
    }
    TraceOutcome::Verified(Box::new(details_of(number, &found)))
}

fn search(pds: &dyn Pds, query: &TraceQuery) -> TraceOutcome {
    let family = query.family.as_deref().unwrap_or_default().trim();
    let Some(birth_date) = query.birth_date else {
        return TraceOutcome::NeedsDetails(
            "Enter the last name and date of birth (or the NHS number) to trace on PDS".into(),
        );
    };
    if family.is_empty() {
        return TraceOutcome::NeedsDetails(
            "Enter the last name and date of birth (or the NHS number) to trace on PDS".into(),
        );
    }
    let mut search = SearchQuery {
        family: Some(family.to_string()),
        given: first_given(query).map(str::to_string),
        gender: query.gender.map(|g| g.code().to_string()),
        birth_date: Some(birth_date.format("%Y-%m-%d").to_string()),
        postcode: query.postcode.clone(),
        max_results: Some(MAX_CANDIDATES),
        ..SearchQuery::default()
    };
    let mut found = pds.search(&search);
    if matches!(&found, Ok(list) if list.is_empty()) {
        search.fuzzy = true;
        found = pds.search(&search);
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

fn first_given(query: &TraceQuery) -> Option<&str> {
    query.given.iter().flat_map(|g| g.split_whitespace()).next()
}

/// Where what was entered disagrees with PDS (blank fields do not disagree).
fn differences(query: &TraceQuery, patient: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let name = pds_name(patient);
    let family = name.and_then(|n| n["family"].as_str()).unwrap_or_default();
    let entered_family = query.family.as_deref().unwrap_or_default();
    if !entered_family.trim().is_empty() && squash(entered_family) != squash(family) {
        out.push(format!("Last name on PDS is {family}"));
    }
    let given = name
        .and_then(|n| n["given"][0].as_str())
        .unwrap_or_default();
    let entered_given = first_given(query).unwrap_or_default();
    if !entered_given.is_empty() && squash(entered_given) != squash(given) {
        out.push(format!("First name on PDS is {given}"));
    }
    let birth = patient["birthDate"].as_str().unwrap_or_default();
    if let Some(entered) = query.birth_date
        && entered.format("%Y-%m-%d").to_string() != birth
    {
        let shown = NaiveDate::parse_from_str(birth, "%Y-%m-%d")
            .map(fhir::uk::date_text)
            .unwrap_or_else(|_| "not recorded".into());
        out.push(format!("Date of birth on PDS is {shown}"));
    }
    let gender = patient["gender"].as_str().unwrap_or("unknown");
    if let Some(entered) = query.gender
        && entered.code() != gender
    {
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

/// What PDS holds for the confirmed `number`.
fn details_of(number: &NhsNumber, found: &PdsPatient) -> PdsDetails {
    let patient = &found.resource;
    let sensitive = is_sensitive(patient);
    let mut details = PdsDetails {
        nhs_number: number.clone(),
        title: None,
        given: Vec::new(),
        family: None,
        gender: patient["gender"].as_str().and_then(Gender::from_code),
        birth_date: patient["birthDate"]
            .as_str()
            .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok()),
        address: None,
        telecom: Telecom::default(),
        sensitive,
    };
    if let Some(name) = pds_name(patient) {
        details.family = name["family"].as_str().map(str::to_string);
        details.given = strings(&name["given"]);
        details.title = strings(&name["prefix"]).into_iter().next();
    }
    if !sensitive {
        details.address = home_address(patient);
        details.telecom = telecom(patient);
    }
    details
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The current home address PDS holds, else its first.
fn home_address(patient: &Value) -> Option<Address> {
    let addresses = patient["address"].as_array()?;
    let address = addresses
        .iter()
        .find(|x| x["use"] == "home" && x["period"]["end"].is_null())
        .or_else(|| addresses.first())?;
    Some(Address {
        lines: strings(&address["line"]),
        town: address["city"].as_str().map(str::to_string),
        postcode: address["postalCode"].as_str().map(str::to_string),
    })
}

/// The first mobile, other phone and email PDS holds.
fn telecom(patient: &Value) -> Telecom {
    let mut out = Telecom::default();
    for point in patient["telecom"].as_array().into_iter().flatten() {
        let value = point["value"].as_str().map(str::to_string);
        let slot = match (point["system"].as_str(), point["use"].as_str()) {
            (Some("phone"), Some("mobile")) => &mut out.mobile,
            (Some("phone"), _) => &mut out.home_phone,
            (Some("email"), _) => &mut out.email,
            _ => continue,
        };
        if slot.is_none() {
            *slot = value;
        }
    }
    out
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
