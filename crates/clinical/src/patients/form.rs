//! A new patient, typed ([`NewPatient`]: the web layer reads its form into this), and
//! the checks that need more than one value or today's date, each problem tied to a
//! [`PatientField`].

use super::contact;
use crate::conventions::RegistrationType;
use crate::form::FieldErrors;
use chrono::{Duration, NaiveDate};
use fhir::uk::{Gender, NhsNumber, Verification};

/// A new patient as entered, each value already read from its text (a value the reader
/// could not read is `None`, and the reader has said why at its field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPatient {
    pub title: Option<String>,
    /// First and middle names.
    pub given: Vec<String>,
    pub family: Option<String>,
    pub previous_surname: Option<String>,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub nhs_number: Option<NhsNumber>,
    pub nhs_verification: Option<Verification>,
    pub address: Address,
    pub telecom: Telecom,
    pub preferred_contact: Option<ContactMethod>,
    pub registration_type: Option<RegistrationType>,
    pub registration_date: Option<NaiveDate>,
    /// Practitioner ids.
    pub usual_gp: Option<String>,
    pub named_gp: Option<String>,
    /// A PDS trace confirmed the NHS number and demographics.
    pub pds_traced: bool,
    /// A PDS trace found a sensitive (restricted) patient.
    pub sensitive: bool,
}

/// A home address: its lines, town and postcode (as [`contact::uk_postcode`] reads it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub lines: Vec<String>,
    pub town: Option<String>,
    /// `LS6 1AB`.
    pub postcode: Option<String>,
}

/// Phone numbers (as [`contact::phone`] reads them) and email.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Telecom {
    pub mobile: Option<String>,
    pub home_phone: Option<String>,
    pub email: Option<String>,
}

/// The parts of a patient's details a user fills in, at registration and on the details
/// page. Problems name these; the web layer maps them to its inputs. Declared in the
/// order problems are listed in, so problems from the web layer and from here can be
/// put in one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PatientField {
    Title,
    Family,
    Given,
    PreviousSurname,
    Gender,
    BirthDate,
    RegistrationType,
    RegistrationDate,
    NhsNumber,
    NhsVerification,
    Postcode,
    AddressLine1,
    AddressLine2,
    Town,
    Mobile,
    HomePhone,
    Email,
    PreferredContact,
    UsualGp,
    NamedGp,
    /// The confirmation that a possible duplicate is not the same person.
    NotDuplicate,
}

impl std::fmt::Display for PatientField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// How the patient prefers to be contacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactMethod {
    Letter,
    Telephone,
    Email,
    Sms,
}

impl ContactMethod {
    pub const ALL: [ContactMethod; 4] = [
        ContactMethod::Letter,
        ContactMethod::Telephone,
        ContactMethod::Email,
        ContactMethod::Sms,
    ];

    /// The form value.
    pub fn key(self) -> &'static str {
        match self {
            ContactMethod::Letter => "letter",
            ContactMethod::Telephone => "telephone",
            ContactMethod::Email => "email",
            ContactMethod::Sms => "sms",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ContactMethod::Letter => "Letter",
            ContactMethod::Telephone => "Telephone",
            ContactMethod::Email => "Email",
            ContactMethod::Sms => "Text message (SMS)",
        }
    }

    /// The UK Core PreferredContactMethod code and display. It has no code for text
    /// messages: SMS is telephone contact, told apart by the text and the ranked
    /// `sms` ContactPoint.
    pub fn code(self) -> (&'static str, &'static str) {
        match self {
            ContactMethod::Letter => ("1", "Letter"),
            ContactMethod::Telephone | ContactMethod::Sms => ("3", "Telephone"),
            ContactMethod::Email => ("4", "E-mail"),
        }
    }

    pub fn from_key(key: &str) -> Option<ContactMethod> {
        Self::ALL.into_iter().find(|m| m.key() == key)
    }
}

/// A form that can be saved: every value checked and in its stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidForm {
    pub title: Option<String>,
    pub given: Vec<String>,
    pub family: String,
    pub previous_surname: Option<String>,
    pub gender: String,
    pub birth_date: NaiveDate,
    /// Ten digits.
    pub nhs_number: Option<String>,
    pub nhs_verification: String,
    pub address_lines: Vec<String>,
    pub town: Option<String>,
    /// `LS6 1AB`.
    pub postcode: Option<String>,
    pub mobile: Option<String>,
    pub home_phone: Option<String>,
    pub email: Option<String>,
    pub preferred_contact: Option<ContactMethod>,
    pub registration_type: RegistrationType,
    pub registration_date: NaiveDate,
    pub usual_gp: Option<String>,
    pub named_gp: Option<String>,
    pub sensitive: bool,
}

pub const GENDERS: [(&str, &str); 4] = [
    ("female", "Female"),
    ("male", "Male"),
    ("other", "Other"),
    ("unknown", "Unknown"),
];

/// The oldest anyone registering can be.
const MAX_AGE_YEARS: i64 = 130;

/// Checks a new patient: what is required, dates that fit today and each other, the NHS
/// number status that fits what is known, a contact preference with the details it
/// needs. `today` is the practice's date.
pub fn validate(
    new: &NewPatient,
    today: NaiveDate,
) -> Result<ValidForm, FieldErrors<PatientField>> {
    let mut errors = FieldErrors::new();
    let text = |s: &Option<String>| {
        s.as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };

    let family = text(&new.family);
    if family.is_none() {
        errors.add(PatientField::Family, "Enter the patient's last name");
    }
    let given: Vec<String> = new
        .given
        .iter()
        .flat_map(|g| g.split_whitespace())
        .map(str::to_string)
        .collect();
    if given.is_empty() {
        errors.add(PatientField::Given, "Enter the patient's first name");
    }
    if new.gender.is_none() {
        errors.add(PatientField::Gender, "Select the patient's gender");
    }
    let birth_date = birth_date(new.birth_date, today, &mut errors);
    if new.registration_type.is_none() {
        errors.add(
            PatientField::RegistrationType,
            "Select the type of registration",
        );
    }
    let registration_date =
        registration_date(new.registration_date, today, birth_date, &mut errors);
    verification(new, &mut errors);

    let address_lines: Vec<String> = new
        .address
        .lines
        .iter()
        .filter_map(|l| text(&Some(l.clone())))
        .collect();
    let Telecom {
        mobile,
        home_phone,
        email,
    } = new.telecom.clone();
    let given_details = contact::Given {
        address: !address_lines.is_empty() && new.address.postcode.is_some(),
        phone: mobile.is_some() || home_phone.is_some(),
        mobile: mobile.is_some(),
        email: email.is_some(),
    };
    let preferred_contact = contact::preference(new.preferred_contact, given_details, &mut errors);

    let (
        Some(family),
        Some(gender),
        Some(birth_date),
        Some(registration_type),
        Some(registration_date),
        Some(verification),
    ) = (
        family,
        new.gender,
        birth_date,
        new.registration_type,
        registration_date,
        new.nhs_verification,
    )
    else {
        return Err(errors);
    };
    errors.into_result(ValidForm {
        title: text(&new.title),
        given,
        family,
        previous_surname: text(&new.previous_surname),
        gender: gender.code().to_string(),
        birth_date,
        nhs_number: new.nhs_number.as_ref().map(|n| n.digits().to_string()),
        nhs_verification: verification.code().to_string(),
        address_lines,
        town: text(&new.address.town),
        postcode: new.address.postcode.clone(),
        mobile,
        home_phone,
        email,
        preferred_contact,
        registration_type,
        registration_date,
        usual_gp: text(&new.usual_gp),
        named_gp: text(&new.named_gp),
        sensitive: new.sensitive,
    })
}

fn birth_date(
    date: Option<NaiveDate>,
    today: NaiveDate,
    errors: &mut FieldErrors<PatientField>,
) -> Option<NaiveDate> {
    match date {
        None => errors.add(PatientField::BirthDate, "Enter the date of birth"),
        Some(d) if d > today => errors.add(
            PatientField::BirthDate,
            "Date of birth must be today or in the past",
        ),
        Some(d) if (today - d).num_days() > MAX_AGE_YEARS * 366 => errors.add(
            PatientField::BirthDate,
            format!("Date of birth must be within the last {MAX_AGE_YEARS} years"),
        ),
        Some(d) => return Some(d),
    }
    None
}

fn registration_date(
    date: Option<NaiveDate>,
    today: NaiveDate,
    birth: Option<NaiveDate>,
    errors: &mut FieldErrors<PatientField>,
) -> Option<NaiveDate> {
    match date {
        None => errors.add(
            PatientField::RegistrationDate,
            "Enter the registration date",
        ),
        Some(d) if d > today + Duration::days(1) => errors.add(
            PatientField::RegistrationDate,
            "Registration date cannot be more than 1 day in the future",
        ),
        Some(d) if birth.is_some_and(|b| d < b) => errors.add(
            PatientField::RegistrationDate,
            "Registration date must be on or after the date of birth",
        ),
        Some(d) => return Some(d),
    }
    None
}

/// The verification status must fit what is known: `01` only after a PDS trace, `02`
/// and `05` only with a number, and a permanent registration needs a number or a
/// reason there is none yet.
fn verification(new: &NewPatient, errors: &mut FieldErrors<PatientField>) {
    let Some(status) = new.nhs_verification else {
        errors.add(
            PatientField::NhsVerification,
            "Select the NHS number status",
        );
        return;
    };
    let has_number = new.nhs_number.is_some();
    let permanent = new.registration_type == Some(RegistrationType::Permanent);
    let problem = match status.code() {
        "01" if !has_number => {
            Some("Status 01 (verified) needs an NHS number: enter it, or choose another status")
        }
        "01" if !new.pds_traced => {
            Some("Status 01 (verified) needs a PDS trace: use Trace on PDS first")
        }
        "02" | "05" if !has_number => {
            Some("This status needs an NHS number: enter it, or choose another status")
        }
        "07" if !has_number && permanent => Some(
            "A permanent registration needs an NHS number or a trace: choose 03 Trace required",
        ),
        _ => None,
    };
    if let Some(problem) = problem {
        errors.add(PatientField::NhsVerification, problem);
    }
}
