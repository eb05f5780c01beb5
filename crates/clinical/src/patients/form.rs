//! The registration form as entered (strings, so a page can show it again unchanged)
//! and its validation into [`ValidForm`], every problem tied to its field.

use super::{contact, dates};
use crate::conventions::{NHS_NUMBER_VERIFICATION, RegistrationType};
use crate::form::FieldErrors;
use chrono::{Duration, NaiveDate};

/// What was entered, field by field (the field names are the form's input names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationForm {
    pub title: String,
    pub given: String,
    pub family: String,
    pub previous_surname: String,
    /// `male`, `female`, `other`, `unknown`.
    pub gender: String,
    pub birth_day: String,
    pub birth_month: String,
    pub birth_year: String,
    pub nhs_number: String,
    /// `01` to `08`.
    pub nhs_verification: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub mobile: String,
    pub home_phone: String,
    pub email: String,
    /// `letter`, `telephone`, `email`, `sms` or empty.
    pub preferred_contact: String,
    /// `R`, `T` or `IN` ([`RegistrationType::code`]).
    pub registration_type: String,
    /// `YYYY-MM-DD` (a date input) or `DD/MM/YYYY`.
    pub registration_date: String,
    /// Practitioner ids.
    pub usual_gp: String,
    pub named_gp: String,
    /// Ticked "This is not the same person" after a duplicate warning.
    pub confirm_not_duplicate: bool,
    /// Set by a PDS trace that confirmed the NHS number and demographics.
    pub pds_traced: bool,
    /// Set by a PDS trace of a sensitive (restricted) patient.
    pub sensitive: bool,
}

/// The parts of a patient's details a user fills in, at registration and on the details
/// page. Problems name these; the web layer maps them to its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientField {
    Title,
    Given,
    Family,
    PreviousSurname,
    Gender,
    BirthDate,
    NhsNumber,
    NhsVerification,
    AddressLine1,
    AddressLine2,
    Town,
    Postcode,
    Mobile,
    HomePhone,
    Email,
    PreferredContact,
    RegistrationType,
    RegistrationDate,
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

/// Checks everything that can be checked without the record; `today` is the practice's
/// date.
pub fn validate(
    form: &RegistrationForm,
    today: NaiveDate,
) -> Result<ValidForm, FieldErrors<PatientField>> {
    let mut errors = FieldErrors::new();
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());

    let family = text(&form.family);
    if family.is_none() {
        errors.add(PatientField::Family, "Enter the patient's last name");
    }
    let given: Vec<String> = form.given.split_whitespace().map(str::to_string).collect();
    if given.is_empty() {
        errors.add(PatientField::Given, "Enter the patient's first name");
    }
    if !GENDERS.iter().any(|(code, _)| *code == form.gender) {
        errors.add(PatientField::Gender, "Select the patient's gender");
    }
    let birth_date = birth_date(form, today, &mut errors);
    let registration_type = RegistrationType::from_code(&form.registration_type);
    if registration_type.is_none() {
        errors.add(
            PatientField::RegistrationType,
            "Select the type of registration",
        );
    }
    let registration_date = registration_date(form, today, birth_date, &mut errors);
    let nhs_number = nhs_number(form, &mut errors);
    verification(form, nhs_number.as_deref(), registration_type, &mut errors);

    let postcode = contact::uk_postcode(&form.postcode, PatientField::Postcode, &mut errors);
    let mobile = contact::phone(&form.mobile, PatientField::Mobile, &mut errors);
    let home_phone = contact::phone(&form.home_phone, PatientField::HomePhone, &mut errors);
    let email = contact::email(&form.email, PatientField::Email, &mut errors);
    let address_lines: Vec<String> = [&form.address_line1, &form.address_line2]
        .into_iter()
        .filter_map(|l| text(l))
        .collect();
    let given_details = contact::Given {
        address: !address_lines.is_empty() && postcode.is_some(),
        phone: mobile.is_some() || home_phone.is_some(),
        mobile: mobile.is_some(),
        email: email.is_some(),
    };
    let preferred_contact =
        contact::preference(&form.preferred_contact, given_details, &mut errors);

    let (Some(family), Some(birth_date), Some(registration_type), Some(registration_date)) =
        (family, birth_date, registration_type, registration_date)
    else {
        return Err(errors);
    };
    errors.into_result(ValidForm {
        title: text(&form.title),
        given,
        family,
        previous_surname: text(&form.previous_surname),
        gender: form.gender.clone(),
        birth_date,
        nhs_number,
        nhs_verification: form.nhs_verification.clone(),
        address_lines,
        town: text(&form.town),
        postcode,
        mobile,
        home_phone,
        email,
        preferred_contact,
        registration_type,
        registration_date,
        usual_gp: text(&form.usual_gp),
        named_gp: text(&form.named_gp),
        sensitive: form.sensitive,
    })
}

fn birth_date(
    form: &RegistrationForm,
    today: NaiveDate,
    errors: &mut FieldErrors<PatientField>,
) -> Option<NaiveDate> {
    let date = dates::from_parts(
        &form.birth_day,
        &form.birth_month,
        &form.birth_year,
        "Date of birth",
    );
    match date {
        Err(message) => errors.add(PatientField::BirthDate, message),
        Ok(d) if d > today => errors.add(
            PatientField::BirthDate,
            "Date of birth must be today or in the past",
        ),
        Ok(d) if (today - d).num_days() > MAX_AGE_YEARS * 366 => errors.add(
            PatientField::BirthDate,
            format!("Date of birth must be within the last {MAX_AGE_YEARS} years"),
        ),
        Ok(d) => return Some(d),
    }
    None
}

fn registration_date(
    form: &RegistrationForm,
    today: NaiveDate,
    birth: Option<NaiveDate>,
    errors: &mut FieldErrors<PatientField>,
) -> Option<NaiveDate> {
    if form.registration_date.trim().is_empty() {
        errors.add(
            PatientField::RegistrationDate,
            "Enter the registration date",
        );
        return None;
    }
    match dates::parse_typed(&form.registration_date, today) {
        Err(message) => errors.add(PatientField::RegistrationDate, message),
        Ok(d) if d > today + Duration::days(1) => errors.add(
            PatientField::RegistrationDate,
            "Registration date cannot be more than 1 day in the future",
        ),
        Ok(d) if birth.is_some_and(|b| d < b) => errors.add(
            PatientField::RegistrationDate,
            "Registration date must be on or after the date of birth",
        ),
        Ok(d) => return Some(d),
    }
    None
}

fn nhs_number(form: &RegistrationForm, errors: &mut FieldErrors<PatientField>) -> Option<String> {
    let entered = form.nhs_number.trim();
    if entered.is_empty() {
        return None;
    }
    match fhir::nhs_number::normalize(entered) {
        None => errors.add(
            PatientField::NhsNumber,
            "Enter the NHS number as 10 digits, like 943 476 5919",
        ),
        Some(n) if !fhir::nhs_number::is_valid(&n) => errors.add(
            PatientField::NhsNumber,
            "This is not a valid NHS number: check the digits (the last one is a check digit)",
        ),
        Some(n) => return Some(n),
    }
    None
}

/// The verification status must fit what is known: `01` only after a PDS trace, `02`
/// and `05` only with a number, and a permanent registration needs a number or a
/// reason there is none yet.
fn verification(
    form: &RegistrationForm,
    nhs_number: Option<&str>,
    registration_type: Option<RegistrationType>,
    errors: &mut FieldErrors<PatientField>,
) {
    let code = form.nhs_verification.as_str();
    if !NHS_NUMBER_VERIFICATION.iter().any(|(c, _)| *c == code) {
        errors.add(
            PatientField::NhsVerification,
            "Select the NHS number status",
        );
        return;
    }
    let has_number = nhs_number.is_some() || !form.nhs_number.trim().is_empty();
    match code {
        "01" if !has_number => errors.add(
            PatientField::NhsVerification,
            "Status 01 (verified) needs an NHS number: enter it, or choose another status",
        ),
        "01" if !form.pds_traced => errors.add(
            PatientField::NhsVerification,
            "Status 01 (verified) needs a PDS trace: use Trace on PDS first",
        ),
        "02" | "05" if !has_number => errors.add(
            PatientField::NhsVerification,
            "This status needs an NHS number: enter it, or choose another status",
        ),
        "07" if !has_number && registration_type == Some(RegistrationType::Permanent) => errors
            .add(
                PatientField::NhsVerification,
                "A permanent registration needs an NHS number or a trace: choose 03 Trace required",
            ),
        _ => {}
    }
}
