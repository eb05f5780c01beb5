//! The contact-detail inputs registration and the details page share, labelled the same
//! on both.

use crate::ui::fields::{Choice, FieldSpec, TextField, choices, text_fields};
use clinical::FieldErrors;
use clinical::patients::form::{ContactMethod, PatientField};
use clinical::patients::practice::Gp;

const ADDRESS: [FieldSpec; 4] = [
    spec(
        "address_line1",
        "Address line 1",
        "",
        "text",
        "address-line1",
        "",
    ),
    spec(
        "address_line2",
        "Address line 2 (optional)",
        "",
        "text",
        "address-line2",
        "",
    ),
    spec(
        "town",
        "Town or city",
        "",
        "text",
        "address-level2",
        "medium",
    ),
    spec(
        "postcode",
        "Postcode",
        "For example LS6 1AB",
        "text",
        "postal-code",
        "short",
    ),
];

const PHONES: [FieldSpec; 3] = [
    spec(
        "mobile",
        "Mobile phone (optional)",
        "For example 07700 900123",
        "tel",
        "tel",
        "medium",
    ),
    spec(
        "home_phone",
        "Home phone (optional)",
        "",
        "tel",
        "tel",
        "medium",
    ),
    spec("email", "Email (optional)", "", "email", "email", ""),
];

pub(super) const fn spec(
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    width: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        label,
        hint,
        kind,
        autocomplete,
        width,
    }
}

/// Address lines, town and postcode: `values` in that order.
pub fn address_fields(values: [&str; 4], errors: &FieldErrors) -> Vec<TextField> {
    text_fields(&ADDRESS, &values, errors)
}

/// Mobile, home phone and email: `values` in that order.
pub fn phone_fields(values: [&str; 3], errors: &FieldErrors) -> Vec<TextField> {
    text_fields(&PHONES, &values, errors)
}

/// How the patient prefers to be contacted, "No preference" first.
pub fn contact_method_choices(selected: &str) -> Vec<Choice> {
    let methods = ContactMethod::ALL.iter().map(|m| (m.key(), m.label()));
    choices([("", "No preference")].into_iter().chain(methods), selected)
}

/// The practice's GPs, after a first choice of none (`none_label`).
pub fn gp_choices(gps: &[Gp], none_label: &str, selected: &str) -> Vec<Choice> {
    let gps = gps.iter().map(|g| (g.id.clone(), g.name.clone()));
    choices(
        [(String::new(), none_label.to_string())]
            .into_iter()
            .chain(gps),
        selected,
    )
}

/// The input registration and the details page have for each part of a patient's
/// details.
pub fn input_name(field: PatientField) -> &'static str {
    match field {
        PatientField::Title => "title",
        PatientField::Given => "given",
        PatientField::Family => "family",
        PatientField::PreviousSurname => "previous_surname",
        PatientField::Gender => "gender",
        PatientField::BirthDate => "birth_date",
        PatientField::NhsNumber => "nhs_number",
        PatientField::NhsVerification => "nhs_verification",
        PatientField::AddressLine1 => "address_line1",
        PatientField::AddressLine2 => "address_line2",
        PatientField::Town => "town",
        PatientField::Postcode => "postcode",
        PatientField::Mobile => "mobile",
        PatientField::HomePhone => "home_phone",
        PatientField::Email => "email",
        PatientField::PreferredContact => "preferred_contact",
        PatientField::RegistrationType => "registration_type",
        PatientField::RegistrationDate => "registration_date",
        PatientField::UsualGp => "usual_gp",
        PatientField::NamedGp => "named_gp",
        PatientField::NotDuplicate => "confirm_not_duplicate",
    }
}

/// The service's problems keyed by these pages' input names.
pub fn input_errors(errors: FieldErrors<PatientField>) -> FieldErrors {
    errors.map_fields(|f| input_name(f).to_string())
}
