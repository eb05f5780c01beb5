//! The registration form as entered (text, so the page can show it again unchanged),
//! read into the clinical service's typed [`NewPatient`] and [`TraceQuery`]. What
//! cannot be read (a date that is not a date, an NHS number with a wrong check digit)
//! is reported here, at its input; the service checks the rest.

use super::contact::input_name;
use chrono::{Datelike, NaiveDate};
use clinical::FieldErrors;
use clinical::conventions::RegistrationType;
use clinical::patients::contact;
use clinical::patients::dates;
use clinical::patients::form::{Address, ContactMethod, NewPatient, PatientField, Telecom};
use clinical::patients::trace::{PdsDetails, TraceOutcome, TraceQuery};
use fhir::nhs_number::Invalid;
use fhir::uk::{Gender, NhsNumber, Verification};

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

/// Reads one value: `None` with its problem noted at `field` when it cannot be read.
fn read<T>(
    parsed: Result<Option<T>, String>,
    field: PatientField,
    problems: &mut FieldErrors<PatientField>,
) -> Option<T> {
    parsed.unwrap_or_else(|message| {
        problems.add(field, message);
        None
    })
}

fn text(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

fn owned(parsed: Result<Option<String>, &str>) -> Result<Option<String>, String> {
    parsed.map_err(str::to_string)
}

/// The NHS number entered, if any, or why it is not one.
fn nhs_number(entered: &str) -> Result<Option<NhsNumber>, String> {
    if entered.trim().is_empty() {
        return Ok(None);
    }
    NhsNumber::parse(entered).map(Some).map_err(|e| {
        match e {
            Invalid::NotTenDigits => "Enter the NHS number as 10 digits, like 943 476 5919",
            Invalid::CheckDigit => {
                "This is not a valid NHS number: check the digits (the last one is a check digit)"
            }
        }
        .to_string()
    })
}

impl RegistrationForm {
    /// The new patient this form describes, and the problems of the values that could
    /// not be read. `today` reads two-digit years.
    pub fn new_patient(&self, today: NaiveDate) -> (NewPatient, FieldErrors<PatientField>) {
        let mut problems = FieldErrors::new();
        let blank_birth_date = [&self.birth_day, &self.birth_month, &self.birth_year]
            .iter()
            .all(|p| p.trim().is_empty());
        let birth_date = if blank_birth_date {
            None // the service says it is needed
        } else {
            let parsed = dates::from_parts(
                &self.birth_day,
                &self.birth_month,
                &self.birth_year,
                "Date of birth",
            );
            read(parsed.map(Some), PatientField::BirthDate, &mut problems)
        };
        let registration_date = match self.registration_date.trim() {
            "" => None,
            entered => read(
                dates::parse_typed(entered, today).map(Some),
                PatientField::RegistrationDate,
                &mut problems,
            ),
        };
        let nhs_number = read(
            nhs_number(&self.nhs_number),
            PatientField::NhsNumber,
            &mut problems,
        );
        let address = Address {
            lines: [&self.address_line1, &self.address_line2]
                .into_iter()
                .filter_map(|l| text(l))
                .collect(),
            town: text(&self.town),
            postcode: read(
                owned(contact::uk_postcode(&self.postcode)),
                PatientField::Postcode,
                &mut problems,
            ),
        };
        let telecom = Telecom {
            mobile: read(
                owned(contact::phone(&self.mobile)),
                PatientField::Mobile,
                &mut problems,
            ),
            home_phone: read(
                owned(contact::phone(&self.home_phone)),
                PatientField::HomePhone,
                &mut problems,
            ),
            email: read(
                owned(contact::email(&self.email)),
                PatientField::Email,
                &mut problems,
            ),
        };
        let preferred_contact = match self.preferred_contact.as_str() {
            "" => None,
            key => read(
                ContactMethod::from_key(key)
                    .map(Some)
                    .ok_or_else(|| contact::UNKNOWN_METHOD.to_string()),
                PatientField::PreferredContact,
                &mut problems,
            ),
        };
        let new = NewPatient {
            title: text(&self.title),
            given: self.given.split_whitespace().map(str::to_string).collect(),
            family: text(&self.family),
            previous_surname: text(&self.previous_surname),
            gender: Gender::from_code(&self.gender),
            birth_date,
            nhs_number,
            nhs_verification: Verification::from_code(&self.nhs_verification),
            address,
            telecom,
            preferred_contact,
            registration_type: RegistrationType::from_code(&self.registration_type),
            registration_date,
            usual_gp: text(&self.usual_gp),
            named_gp: text(&self.named_gp),
            pds_traced: self.pds_traced,
            sensitive: self.sensitive,
        };
        (new, problems)
    }

    /// Who to trace on PDS, or why not: an NHS number that is not one must be corrected
    /// (or cleared to trace by name) first.
    pub fn trace_query(&self, today: NaiveDate) -> Result<TraceQuery, TraceOutcome> {
        let (new, _) = self.new_patient(today);
        if new.nhs_number.is_none() && !self.nhs_number.trim().is_empty() {
            return Err(TraceOutcome::NeedsDetails(
                "Correct the NHS number, or clear it to trace by name and date of birth".into(),
            ));
        }
        Ok(TraceQuery {
            nhs_number: new.nhs_number,
            family: new.family,
            given: new.given,
            birth_date: new.birth_date,
            gender: new.gender,
            postcode: new.address.postcode,
        })
    }

    /// The form after a trace: filled in from PDS when verified, with the status the
    /// outcome sets.
    pub fn after_trace(&self, outcome: &TraceOutcome) -> RegistrationForm {
        let mut next = match outcome {
            TraceOutcome::Verified(details) => self.filled_from(details),
            _ => RegistrationForm {
                pds_traced: false,
                ..self.clone()
            },
        };
        if let Some(status) = outcome.verification_status() {
            next.nhs_verification = status.to_string();
        } else if matches!(outcome, TraceOutcome::Unavailable) {
            next.nhs_verification = if self.nhs_number.trim().is_empty() {
                "03"
            } else {
                "02"
            }
            .into();
        }
        next
    }

    /// The form with the demographics PDS holds; address and phones only where nothing
    /// was entered.
    fn filled_from(&self, pds: &PdsDetails) -> RegistrationForm {
        let mut next = self.clone();
        next.nhs_number = pds.nhs_number.to_string();
        next.pds_traced = true;
        next.sensitive = pds.sensitive;
        if let Some(family) = &pds.family {
            next.family = family.clone();
        }
        if !pds.given.is_empty() {
            next.given = pds.given.join(" ");
        }
        if let Some(title) = &pds.title {
            next.title = title.clone();
        }
        if let Some(gender) = pds.gender {
            next.gender = gender.code().to_string();
        }
        if let Some(birth) = pds.birth_date {
            next.birth_day = birth.day().to_string();
            next.birth_month = birth.month().to_string();
            next.birth_year = birth.year().to_string();
        }
        let nothing_entered =
            next.address_line1.trim().is_empty() && next.postcode.trim().is_empty();
        if let (Some(address), true) = (&pds.address, nothing_entered) {
            next.address_line1 = address.lines.first().cloned().unwrap_or_default();
            next.address_line2 = address
                .lines
                .get(1..)
                .map(|rest| rest.join(", "))
                .unwrap_or_default();
            next.town = address.town.clone().unwrap_or_default();
            next.postcode = address.postcode.clone().unwrap_or_default();
        }
        let fill = |entered: &mut String, found: &Option<String>| {
            if entered.is_empty()
                && let Some(found) = found
            {
                *entered = found.clone();
            }
        };
        fill(&mut next.mobile, &pds.telecom.mobile);
        fill(&mut next.home_phone, &pds.telecom.home_phone);
        fill(&mut next.email, &pds.telecom.email);
        next
    }
}

/// The problems of reading the form and of checking what was read, in one list keyed by
/// input names. Where reading failed, the service's problem at the same input (that it
/// is missing) is not repeated; the NHS number status is checked against the number,
/// so while the number itself is wrong only that is shown.
pub fn merged(read: FieldErrors<PatientField>, checked: FieldErrors<PatientField>) -> FieldErrors {
    let unreadable: Vec<PatientField> = read.0.iter().map(|e| e.field).collect();
    let mut all = read;
    for problem in checked.0 {
        let about_bad_number = problem.field == PatientField::NhsVerification
            && unreadable.contains(&PatientField::NhsNumber);
        if !unreadable.contains(&problem.field) && !about_bad_number {
            all.0.push(problem);
        }
    }
    all.0.sort_by_key(|e| e.field);
    all.map_fields(|f| input_name(f).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clinical::patients::form::validate;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 2).unwrap()
    }

    fn good_form() -> RegistrationForm {
        RegistrationForm {
            given: "Ada".into(),
            family: "Lovelace".into(),
            gender: "female".into(),
            birth_day: "10".into(),
            birth_month: "12".into(),
            birth_year: "1985".into(),
            nhs_verification: "03".into(),
            address_line1: "1 Park Row".into(),
            postcode: "ls6 2aa".into(),
            mobile: "07700 900123".into(),
            preferred_contact: "sms".into(),
            registration_type: "R".into(),
            registration_date: "2026-05-01".into(),
            ..RegistrationForm::default()
        }
    }

    /// The message at `input` after reading and checking the form, as the page shows it.
    fn error_at(form: &RegistrationForm, input: &str) -> Option<String> {
        let (new, read) = form.new_patient(today());
        let checked = validate(&new, today()).err().unwrap_or_default();
        merged(read, checked).get(input).map(str::to_string)
    }

    #[test]
    fn a_good_form_reads_into_a_valid_patient() {
        let (new, read) = good_form().new_patient(today());
        assert!(read.is_empty(), "{read}");
        let valid = validate(&new, today()).expect("valid");
        assert_eq!(valid.postcode.as_deref(), Some("LS6 2AA"));
        assert_eq!(valid.mobile.as_deref(), Some("07700900123"));
        assert_eq!(
            valid.birth_date,
            NaiveDate::from_ymd_opt(1985, 12, 10).unwrap()
        );
    }

    #[test]
    fn what_cannot_be_read_is_reported_at_its_input_once() {
        let mut form = good_form();
        form.birth_day = "31".into();
        form.birth_month = "2".into();
        form.birth_year = "2020".into();
        assert_eq!(
            error_at(&form, "birth_date").as_deref(),
            Some("31/02/2020 is not a real date")
        );
        form.birth_day = String::new();
        form.birth_month = String::new();
        form.birth_year = String::new();
        assert_eq!(
            error_at(&form, "birth_date").as_deref(),
            Some("Enter the date of birth")
        );

        let mut form = good_form();
        form.nhs_number = "943 476 5918".into();
        form.nhs_verification = "02".into();
        assert!(
            error_at(&form, "nhs_number")
                .unwrap()
                .starts_with("This is not a valid NHS number")
        );
        assert_eq!(error_at(&form, "nhs_verification"), None);
        form.nhs_number = "12345".into();
        assert!(
            error_at(&form, "nhs_number")
                .unwrap()
                .starts_with("Enter the NHS number as 10 digits")
        );

        let mut form = good_form();
        form.postcode = "LS6".into();
        form.registration_date = "31/02/2026".into();
        form.preferred_contact = "pigeon".into();
        assert_eq!(
            error_at(&form, "postcode").as_deref(),
            Some("Enter a real postcode, like LS6 1AB")
        );
        assert_eq!(
            error_at(&form, "registration_date").as_deref(),
            Some("31/02/2026 is not a real date")
        );
        assert_eq!(
            error_at(&form, "preferred_contact").as_deref(),
            Some("Select how the patient prefers to be contacted")
        );
    }

    #[test]
    fn problems_are_listed_in_the_order_of_the_form() {
        let mut form = good_form();
        form.email = "ada@".into();
        form.family = String::new();
        form.birth_year = "85".into();
        let (new, read) = form.new_patient(today());
        let checked = validate(&new, today()).unwrap_err();
        let inputs: Vec<String> = merged(read, checked)
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(inputs, ["family", "birth_date", "email"]);
    }

    #[test]
    fn a_verified_trace_fills_only_what_was_not_entered() {
        let mut form = good_form();
        form.mobile = String::new();
        let pds = PdsDetails {
            nhs_number: NhsNumber::parse("9434765919").unwrap(),
            title: Some("Mrs".into()),
            given: vec!["Ada".into(), "Augusta".into()],
            family: Some("Lovelace".into()),
            gender: Some(Gender::Female),
            birth_date: NaiveDate::from_ymd_opt(1985, 12, 10),
            address: Some(Address {
                lines: vec!["9 Other Street".into()],
                town: Some("Leeds".into()),
                postcode: Some("LS1 1AA".into()),
            }),
            telecom: Telecom {
                mobile: Some("07700900999".into()),
                home_phone: None,
                email: Some("ada@example.com".into()),
            },
            sensitive: false,
        };
        let next = form.after_trace(&TraceOutcome::Verified(Box::new(pds)));
        assert_eq!(next.nhs_number, "943 476 5919");
        assert_eq!(next.nhs_verification, "01");
        assert!(next.pds_traced);
        assert_eq!(next.given, "Ada Augusta");
        assert_eq!(next.title, "Mrs");
        // The address entered stays; the empty mobile and email are filled.
        assert_eq!(next.address_line1, "1 Park Row");
        assert_eq!(next.mobile, "07700900999");
        assert_eq!(next.email, "ada@example.com");
    }
}
