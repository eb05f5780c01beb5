//! Contact details as registration and the details page both take them: UK phone
//! numbers, email addresses, postcodes, the preferred way to make contact (which must
//! have the details it needs), and their UK Core shapes (the home address, `telecom`
//! ranked by preference, the ContactPreference extension).

use crate::conventions::{CONTACT_PREFERENCE_EXT, PREFERRED_CONTACT_METHOD_SYSTEM};
use crate::form::FieldErrors;
use crate::patients::form::{ContactMethod, PatientField};
use crate::patients::postcode;
use serde_json::{Value, json};

/// A UK phone number as stored: digits with the usual spacing removed, `+44` as `0`;
/// `None` when nothing was entered, the message to show when it is not a number.
pub fn phone(entered: &str) -> Result<Option<String>, &'static str> {
    let entered = entered.trim();
    if entered.is_empty() {
        return Ok(None);
    }
    let digits: String = entered
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let national = match digits.strip_prefix("+44") {
        Some(rest) => format!("0{}", rest.trim_start_matches('0')),
        None => digits,
    };
    let ok = national.starts_with('0')
        && (10..=11).contains(&national.len())
        && national.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(Some(national))
    } else {
        Err("Enter a UK phone number, like 07700 900123 or 0113 496 0123")
    }
}

pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// The email address entered, if any; the message to show when it is not one.
pub fn email(entered: &str) -> Result<Option<String>, &'static str> {
    let entered = entered.trim();
    if entered.is_empty() {
        Ok(None)
    } else if is_email(entered) {
        Ok(Some(entered.to_string()))
    } else {
        Err("Enter an email address like name@example.com")
    }
}

/// The postcode entered in its usual form (`LS6 1AB`), if any; the message to show when
/// it is not a real one.
pub fn uk_postcode(entered: &str) -> Result<Option<String>, &'static str> {
    let entered = entered.trim();
    if entered.is_empty() {
        return Ok(None);
    }
    match postcode::normalize(entered) {
        Some(normalized) => Ok(Some(normalized)),
        None => Err("Enter a real postcode, like LS6 1AB"),
    }
}

/// Which contact details were given, for checking the preferred method.
#[derive(Debug, Clone, Copy, Default)]
pub struct Given {
    /// At least one address line and a postcode.
    pub address: bool,
    pub phone: bool,
    pub mobile: bool,
    pub email: bool,
}

/// The message when a preferred contact method is not one of [`ContactMethod::ALL`].
pub const UNKNOWN_METHOD: &str = "Select how the patient prefers to be contacted";

/// The preferred method, if any, which must have the details it needs; problems go on
/// [`PatientField::PreferredContact`].
pub fn preference(
    method: Option<ContactMethod>,
    given: Given,
    errors: &mut FieldErrors<PatientField>,
) -> Option<ContactMethod> {
    let method = method?;
    let missing = match method {
        ContactMethod::Letter if !given.address => {
            Some("Add the address and postcode, or choose another way to contact the patient")
        }
        ContactMethod::Telephone if !given.phone => {
            Some("Add a phone number, or choose another way to contact the patient")
        }
        ContactMethod::Sms if !given.mobile => {
            Some("Add a mobile number, or choose another way to contact the patient")
        }
        ContactMethod::Email if !given.email => {
            Some("Add an email address, or choose another way to contact the patient")
        }
        _ => None,
    };
    match missing {
        Some(message) => {
            errors.add(PatientField::PreferredContact, message);
            None
        }
        None => Some(method),
    }
}

/// Phone numbers and email as UK Core `telecom`, the preferred one ranked 1.
pub fn telecom(
    mobile: Option<&str>,
    home_phone: Option<&str>,
    email: Option<&str>,
    preferred: Option<ContactMethod>,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut add = |system: &str, value: Option<&str>, use_: &str, first: bool| {
        if let Some(value) = value {
            let mut point = json!({"system": system, "value": value, "use": use_});
            if first {
                point["rank"] = json!(1);
            }
            out.push(point);
        }
    };
    let phone_first = preferred == Some(ContactMethod::Telephone);
    add("phone", mobile, "mobile", phone_first && mobile.is_some());
    add(
        "sms",
        mobile,
        "mobile",
        preferred == Some(ContactMethod::Sms),
    );
    add("phone", home_phone, "home", phone_first && mobile.is_none());
    add(
        "email",
        email,
        "home",
        preferred == Some(ContactMethod::Email),
    );
    out
}

/// The home address, or `None` when nothing was given.
pub fn home_address(lines: &[String], town: Option<&str>, postcode: Option<&str>) -> Option<Value> {
    if lines.is_empty() && town.is_none() && postcode.is_none() {
        return None;
    }
    let mut a = json!({"use": "home"});
    if !lines.is_empty() {
        a["line"] = json!(lines);
    }
    if let Some(town) = town {
        a["city"] = json!(town);
    }
    if let Some(postcode) = postcode {
        a["postalCode"] = json!(postcode);
    }
    a["country"] = json!("GB");
    Some(a)
}

/// The UK Core ContactPreference extension for `method`.
pub fn preference_extension(method: ContactMethod) -> Value {
    let (code, display) = method.code();
    let mut concept = json!({"coding": [{
        "system": PREFERRED_CONTACT_METHOD_SYSTEM, "code": code, "display": display
    }]});
    if method == ContactMethod::Sms {
        concept["text"] = json!("Text message (SMS)");
    }
    json!({"url": CONTACT_PREFERENCE_EXT, "extension": [
        {"url": "PreferredContactMethod", "valueCodeableConcept": concept}
    ]})
}

/// The preferred method a Patient records, read back as [`preference_extension`] and
/// [`telecom`] write it (SMS is telephone with a ranked `sms` point).
pub fn preference_of(patient: &Value) -> Option<ContactMethod> {
    let extension = patient["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == CONTACT_PREFERENCE_EXT)?;
    let concept = &extension["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == "PreferredContactMethod")?["valueCodeableConcept"];
    let code = concept["coding"]
        .as_array()?
        .iter()
        .find(|c| c["system"] == PREFERRED_CONTACT_METHOD_SYSTEM)?["code"]
        .as_str()?;
    let sms_ranked = patient["telecom"]
        .as_array()
        .is_some_and(|t| t.iter().any(|p| p["system"] == "sms" && p["rank"] == 1));
    match code {
        "1" => Some(ContactMethod::Letter),
        "3" if sms_ranked || concept["text"] == "Text message (SMS)" => Some(ContactMethod::Sms),
        "3" => Some(ContactMethod::Telephone),
        "4" => Some(ContactMethod::Email),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_uk_numbers() {
        assert_eq!(phone("+44 7700 900123"), Ok(Some("07700900123".into())));
        assert_eq!(phone("(0113) 496-0123"), Ok(Some("01134960123".into())));
        assert_eq!(phone(" "), Ok(None));
        assert!(phone("12345").is_err());
    }

    #[test]
    fn emails_need_a_name_and_a_domain() {
        assert!(is_email("ann.smith@example.com"));
        for bad in [
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn the_preference_written_is_the_preference_read() {
        for method in ContactMethod::ALL {
            let patient = json!({
                "extension": [preference_extension(method)],
                "telecom": telecom(Some("07700900123"), None, Some("a@example.com"), Some(method)),
            });
            assert_eq!(preference_of(&patient), Some(method), "{method:?}");
        }
        assert_eq!(preference_of(&json!({})), None);
    }
}
