//! Changing a registered patient's contact details (address, phones, email, contact
//! preference) and usual GP, and telling PDS ([`pds_push`]) through the outbox: the
//! save and its `pds.update-contact` message commit together, and the outbox worker
//! delivers it.
//!
//! Name, date of birth, gender and NHS number are the patient's identity, owned by PDS:
//! they are not changed here. A sensitive (restricted) patient's address and phone
//! numbers are never shown or written here: only their usual GP can change. A save is
//! one update of the Patient with `If-Match` on the version the form was filled from,
//! so a concurrent change is reported, never overwritten.

pub mod pds_push;

use super::contact::{self, Given};
use super::form::{Address, ContactMethod, PatientField, Telecom};
use super::practice;
use super::search::is_sensitive;
use crate::conventions::CONTACT_PREFERENCE_EXT;
use crate::fetch;
use crate::form::FieldErrors;
use fhir::uk::{NhsNumber, Verification};
use serde_json::{Value, json};
use store::{FhirError, Repository, RequestContext};

/// A change to a patient's contact details, typed: the web layer reads its form into
/// this (values it could not read are `None`, and it has said why).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactChange {
    pub address: Address,
    pub telecom: Telecom,
    pub preferred_contact: Option<ContactMethod>,
    /// A Practitioner id.
    pub usual_gp: Option<String>,
    /// The Patient version the change was made on (for `If-Match`); `None` if unknown.
    pub version: Option<i64>,
}

/// The stored details as the details form shows them (strings), also what a PDS update
/// is worked out from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetailsForm {
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub mobile: String,
    pub home_phone: String,
    pub email: String,
    /// `letter`, `telephone`, `email`, `sms` or empty.
    pub preferred_contact: String,
    /// A Practitioner id, or empty.
    pub usual_gp: String,
    /// The Patient version the form was filled from (for `If-Match`).
    pub version: String,
}

/// A form that can be saved: every value checked and in its stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidDetails {
    pub address_lines: Vec<String>,
    pub town: Option<String>,
    pub postcode: Option<String>,
    pub mobile: Option<String>,
    pub home_phone: Option<String>,
    pub email: Option<String>,
    pub preferred_contact: Option<ContactMethod>,
    pub usual_gp: Option<String>,
}

/// The patient's current details, as the form shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub patient_id: String,
    pub version: i64,
    /// Restricted: the address and phones are not shown and cannot be changed here.
    pub sensitive: bool,
    /// Ten digits.
    pub nhs_number: Option<String>,
    /// The NHS number verification status (`01` verified after a PDS trace).
    pub verification: Option<String>,
    /// Empty address and telecom fields for a sensitive patient.
    pub form: DetailsForm,
}

/// A detail PDS also holds, changed by a save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Address,
    Mobile,
    HomePhone,
    Email,
}

impl Field {
    pub const ALL: [Field; 4] = [
        Field::Address,
        Field::Mobile,
        Field::HomePhone,
        Field::Email,
    ];

    /// The form value (and the name of the field it comes from).
    pub fn key(self) -> &'static str {
        match self {
            Field::Address => "address",
            Field::Mobile => "mobile",
            Field::HomePhone => "home_phone",
            Field::Email => "email",
        }
    }

    pub fn from_key(key: &str) -> Option<Field> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The details as now stored.
    pub details: Details,
    /// Whether anything changed (nothing is written when nothing did).
    pub changed: bool,
    /// The changed details PDS also holds.
    pub for_pds: Vec<Field>,
    /// What happens on PDS.
    pub pds: ToPds,
}

/// Whether PDS is told about a save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToPds {
    /// Nothing PDS holds changed.
    NothingToSend,
    /// Queued: the outbox message (its id) committed with the save.
    Queued(String),
    /// Not to be sent, and why (a sensitive or unverified patient, PDS not set up).
    NotSent(String),
}

#[derive(Debug)]
pub enum SaveError {
    /// What was entered is wrong: nothing was written.
    Invalid(FieldErrors<PatientField>),
    /// Someone else changed the record since the form was filled: nothing was written;
    /// these are the current details.
    Conflict(Box<Details>),
    Store(FhirError),
}

impl From<FhirError> for SaveError {
    fn from(e: FhirError) -> Self {
        SaveError::Store(e)
    }
}

/// The patient's details now.
pub fn current(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
) -> Result<Details, FhirError> {
    let (patient, version) = fetch::read(repo, ctx, "Patient", patient_id)?;
    Ok(details_of(patient_id, &patient, version))
}

fn details_of(patient_id: &str, patient: &Value, version: i64) -> Details {
    let sensitive = is_sensitive(patient);
    let mut form = DetailsForm {
        usual_gp: usual_gp(patient).unwrap_or_default(),
        version: version.to_string(),
        ..DetailsForm::default()
    };
    if !sensitive {
        if let Some(a) = home_address_index(patient).map(|i| &patient["address"][i]) {
            let lines = strings(&a["line"]);
            form.address_line1 = lines.first().cloned().unwrap_or_default();
            form.address_line2 = lines.get(1..).map(|r| r.join(", ")).unwrap_or_default();
            form.town = a["city"].as_str().unwrap_or_default().to_string();
            form.postcode = a["postalCode"].as_str().unwrap_or_default().to_string();
        }
        let (mobile, home, email) = telecom_values(patient);
        form.mobile = mobile.unwrap_or_default();
        form.home_phone = home.unwrap_or_default();
        form.email = email.unwrap_or_default();
        form.preferred_contact = contact::preference_of(patient)
            .map(|m| m.key().to_string())
            .unwrap_or_default();
    }
    Details {
        patient_id: patient_id.to_string(),
        version,
        sensitive,
        nhs_number: NhsNumber::recorded(patient),
        verification: Verification::of(patient).map(|v| v.code().to_string()),
        form,
    }
}

/// Checks what can be checked without the record. For a sensitive patient only the
/// usual GP is read: anything else posted is ignored.
pub fn validate(
    change: &ContactChange,
    sensitive: bool,
) -> Result<ValidDetails, FieldErrors<PatientField>> {
    let mut errors = FieldErrors::new();
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let usual_gp = change.usual_gp.as_deref().and_then(text);
    if sensitive {
        return errors.into_result(ValidDetails {
            address_lines: Vec::new(),
            town: None,
            postcode: None,
            mobile: None,
            home_phone: None,
            email: None,
            preferred_contact: None,
            usual_gp,
        });
    }
    let address_lines: Vec<String> = change
        .address
        .lines
        .iter()
        .filter_map(|l| text(l))
        .collect();
    let town = change.address.town.as_deref().and_then(text);
    let postcode = change.address.postcode.clone();
    if !address_lines.is_empty() && postcode.is_none() {
        errors.add(PatientField::Postcode, "Enter the postcode, like LS6 1AB");
    }
    if address_lines.is_empty() && (postcode.is_some() || town.is_some()) {
        errors.add(
            PatientField::AddressLine1,
            "Enter the first line of the address",
        );
    }
    let Telecom {
        mobile,
        home_phone,
        email,
    } = change.telecom.clone();
    let given = Given {
        address: !address_lines.is_empty() && postcode.is_some(),
        phone: mobile.is_some() || home_phone.is_some(),
        mobile: mobile.is_some(),
        email: email.is_some(),
    };
    let preferred_contact = contact::preference(change.preferred_contact, given, &mut errors);
    errors.into_result(ValidDetails {
        address_lines,
        town,
        postcode,
        mobile,
        home_phone,
        email,
        preferred_contact,
        usual_gp,
    })
}

/// Saves the change over the version it was made on. When details PDS holds changed
/// and PDS may be told, a `pds.update-contact` message is queued in the same
/// transaction. `pds_today`: the date the change starts on PDS (today, in the UK), or
/// `None` when PDS is not set up on this server.
pub fn save(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    change: &ContactChange,
    pds_today: Option<&str>,
) -> Result<Saved, SaveError> {
    let (mut patient, version) = fetch::read(repo, ctx, "Patient", patient_id)?;
    let sensitive = is_sensitive(&patient);
    let valid = validate(change, sensitive);
    let mut errors = valid.as_ref().err().cloned().unwrap_or_default();
    let gp = change.usual_gp.as_deref().unwrap_or_default().trim();
    if !gp.is_empty() && !practice::gps(repo, ctx)?.iter().any(|g| g.id == gp) {
        errors.add(
            PatientField::UsualGp,
            "Choose a GP of this practice from the list",
        );
    }
    let valid = match valid {
        Ok(valid) if errors.is_empty() => valid,
        _ => return Err(SaveError::Invalid(errors)),
    };
    let conflict = |repo: &Repository| -> SaveError {
        match current(repo, ctx, patient_id) {
            Ok(now) => SaveError::Conflict(Box::new(now)),
            Err(e) => SaveError::Store(e),
        }
    };
    if change.version != Some(version) {
        return Err(conflict(repo));
    }
    let stored = patient.clone();
    let for_pds = apply(&mut patient, &valid, sensitive);
    if patient == stored {
        return Ok(Saved {
            details: details_of(patient_id, &stored, version),
            changed: false,
            for_pds,
            pds: ToPds::NothingToSend,
        });
    }
    let after = details_of(patient_id, &patient, version + 1);
    let message = match (
        for_pds.is_empty(),
        pds_push::why_not(&after, pds_today.is_some()),
    ) {
        (true, _) => None,
        (false, Some(reason)) => {
            return write(
                repo,
                ctx,
                patient,
                version,
                for_pds,
                ToPds::NotSent(reason),
                None,
            );
        }
        (false, None) => Some(pds_push::message(
            ctx,
            &after,
            &for_pds,
            pds_today.unwrap_or_default(),
        )),
    };
    write(
        repo,
        ctx,
        patient,
        version,
        for_pds,
        ToPds::NothingToSend,
        message,
    )
}

/// Writes the changed Patient over `version` and, in the same transaction, the PDS
/// message if there is one.
fn write(
    repo: &Repository,
    ctx: &RequestContext,
    mut patient: Value,
    version: i64,
    for_pds: Vec<Field>,
    mut pds: ToPds,
    message: Option<outbox::NewMessage>,
) -> Result<Saved, SaveError> {
    let patient_id = patient["id"].as_str().unwrap_or_default().to_string();
    crate::problems::strip_version(&mut patient);
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
        "resource": patient,
        "request": {"method": "PUT", "url": format!("Patient/{patient_id}"),
            "ifMatch": format!("W/\"{version}\"")}}]});
    // No base URL: nothing is read from the response Bundle.
    let written = repo.transaction_with(ctx, bundle, "", |tx, _| {
        if let Some(m) = &message {
            pds = ToPds::Queued(outbox::enqueue(tx, m)?);
        }
        Ok(())
    });
    match written {
        Ok(_) => {}
        Err(e) if matches!(e.status(), 409 | 412) => {
            return Err(match current(repo, ctx, &patient_id) {
                Ok(now) => SaveError::Conflict(Box::new(now)),
                Err(e) => SaveError::Store(e),
            });
        }
        Err(e) => return Err(SaveError::Store(e)),
    }
    Ok(Saved {
        details: current(repo, ctx, &patient_id)?,
        changed: true,
        for_pds,
        pds,
    })
}

/// Writes `valid` into the Patient, keeping everything else it holds (other addresses,
/// work numbers, other extensions, the practice in `generalPractitioner`). Returns the
/// changed details PDS also holds.
fn apply(patient: &mut Value, valid: &ValidDetails, sensitive: bool) -> Vec<Field> {
    let mut changed = Vec::new();
    set_usual_gp(patient, valid.usual_gp.as_deref());
    if sensitive {
        return changed;
    }
    if set_address(patient, valid) {
        changed.push(Field::Address);
    }
    let (mobile, home, email) = telecom_values(patient);
    for (field, old, new) in [
        (Field::Mobile, mobile, &valid.mobile),
        (Field::HomePhone, home, &valid.home_phone),
        (Field::Email, email, &valid.email),
    ] {
        if old.as_ref() != new.as_ref() {
            changed.push(field);
        }
    }
    let preference_changed = contact::preference_of(patient) != valid.preferred_contact;
    let telecom_changed = changed.iter().any(|f| *f != Field::Address);
    if telecom_changed || preference_changed {
        set_telecom(patient, valid);
        set_preference(patient, valid.preferred_contact);
    }
    changed
}

/// The index of the current home address (else of the first address).
pub(crate) fn home_address_index(patient: &Value) -> Option<usize> {
    let addresses = patient["address"].as_array()?;
    addresses
        .iter()
        .position(|a| a["use"] == "home" && a["period"]["end"].is_null())
        .or_else(|| (!addresses.is_empty()).then_some(0))
}

fn set_address(patient: &mut Value, valid: &ValidDetails) -> bool {
    let index = home_address_index(patient);
    let old = index.map(|i| patient["address"][i].clone());
    let new = contact::home_address(
        &valid.address_lines,
        valid.town.as_deref(),
        valid.postcode.as_deref(),
    );
    let same = match (&old, &new) {
        (None, None) => true,
        (Some(old), Some(new)) => {
            // As the form shows them: lines after the first are one field.
            strings(&old["line"]).join(", ") == strings(&new["line"]).join(", ")
                && old["city"] == new["city"]
                && old["postalCode"] == new["postalCode"]
        }
        _ => false,
    };
    if same {
        return false;
    }
    let object = patient.as_object_mut().expect("a Patient is an object");
    let addresses = object
        .entry("address")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("address is a list");
    match (index, new) {
        (Some(i), Some(new)) => addresses[i] = new,
        (Some(i), None) => {
            addresses.remove(i);
        }
        (None, Some(new)) => addresses.insert(0, new),
        (None, None) => {}
    }
    if addresses.is_empty() {
        object.remove("address");
    }
    true
}

/// Whether a `telecom` point is one the form edits (personal phones, SMS, email).
fn edited_here(point: &Value) -> bool {
    matches!(point["system"].as_str(), Some("phone" | "sms" | "email")) && point["use"] != "work"
}

/// The mobile, home phone and email a Patient records.
pub(crate) fn telecom_values(patient: &Value) -> (Option<String>, Option<String>, Option<String>) {
    let points: Vec<&Value> = patient["telecom"]
        .as_array()
        .map(|t| t.iter().filter(|p| edited_here(p)).collect())
        .unwrap_or_default();
    let value = |p: &&Value| p["value"].as_str().map(str::to_string);
    let mobile = points
        .iter()
        .find(|p| p["system"] == "phone" && p["use"] == "mobile")
        .and_then(value);
    let home = points
        .iter()
        .find(|p| p["system"] == "phone" && p["use"] != "mobile")
        .and_then(value);
    let email = points
        .iter()
        .find(|p| p["system"] == "email")
        .and_then(value);
    (mobile, home, email)
}

fn set_telecom(patient: &mut Value, valid: &ValidDetails) {
    let mut points = contact::telecom(
        valid.mobile.as_deref(),
        valid.home_phone.as_deref(),
        valid.email.as_deref(),
        valid.preferred_contact,
    );
    if let Some(kept) = patient["telecom"].as_array() {
        points.extend(kept.iter().filter(|p| !edited_here(p)).cloned());
    }
    let object = patient.as_object_mut().expect("a Patient is an object");
    if points.is_empty() {
        object.remove("telecom");
    } else {
        object.insert("telecom".into(), json!(points));
    }
}

fn set_preference(patient: &mut Value, method: Option<ContactMethod>) {
    let object = patient.as_object_mut().expect("a Patient is an object");
    let mut extensions: Vec<Value> = object
        .get("extension")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let at = extensions
        .iter()
        .position(|e| e["url"] == CONTACT_PREFERENCE_EXT);
    // Other parts of the preference (preferred times) stay.
    let others: Vec<Value> = at
        .and_then(|i| extensions[i]["extension"].as_array())
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p["url"] != "PreferredContactMethod")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut parts = method
        .map(|m| {
            contact::preference_extension(m)["extension"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .unwrap_or_default();
    parts.extend(others);
    let replacement =
        (!parts.is_empty()).then(|| json!({"url": CONTACT_PREFERENCE_EXT, "extension": parts}));
    match (at, replacement) {
        (Some(i), Some(r)) => extensions[i] = r,
        (Some(i), None) => {
            extensions.remove(i);
        }
        (None, Some(r)) => extensions.push(r),
        (None, None) => {}
    }
    if extensions.is_empty() {
        object.remove("extension");
    } else {
        object.insert("extension".into(), json!(extensions));
    }
}

/// The usual GP: the Practitioner in `generalPractitioner` (the practice follows it).
fn usual_gp(patient: &Value) -> Option<String> {
    patient["generalPractitioner"]
        .as_array()?
        .iter()
        .filter_map(|r| r["reference"].as_str())
        .find_map(|r| r.strip_prefix("Practitioner/"))
        .map(str::to_string)
}

fn set_usual_gp(patient: &mut Value, gp: Option<&str>) {
    if usual_gp(patient).as_deref() == gp {
        return;
    }
    let object = patient.as_object_mut().expect("a Patient is an object");
    let mut refs: Vec<Value> = object
        .get("generalPractitioner")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter(|r| {
                    !r["reference"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("Practitioner/"))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if let Some(gp) = gp {
        refs.insert(0, json!({"reference": format!("Practitioner/{gp}")}));
    }
    if refs.is_empty() {
        object.remove("generalPractitioner");
    } else {
        object.insert("generalPractitioner".into(), json!(refs));
    }
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
