//! The NHS number: ten digits whose last is a Modulus 11 check digit.

/// The identifier system of NHS numbers.
pub const SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// Why a string is not an NHS number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not exactly ten ASCII digits.
    NotTenDigits,
    /// The Modulus 11 check fails (including numbers whose check would be 10, which are
    /// never issued).
    CheckDigit,
}

impl Invalid {
    /// Why, as a phrase for diagnostics.
    pub fn reason(self) -> &'static str {
        match self {
            Invalid::NotTenDigits => "it must be exactly ten digits",
            Invalid::CheckDigit => "the check digit does not match",
        }
    }
}

/// Checks `s` (ten digits, no spaces) and says why it is not an NHS number.
pub fn check(s: &str) -> Result<(), Invalid> {
    let b = s.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return Err(Invalid::NotTenDigits);
    }
    // Weights 10 down to 2 on the first nine digits.
    let sum: u32 = b[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return Err(Invalid::CheckDigit),
        c => c,
    };
    if u32::from(b[9] - b'0') == check {
        Ok(())
    } else {
        Err(Invalid::CheckDigit)
    }
}

/// Is `s` (ten digits, no spaces) a valid NHS number?
pub fn is_valid(s: &str) -> bool {
    check(s).is_ok()
}

/// `s` without the spaces and dashes people type, if what remains is ten digits
/// (the check digit is not checked here: see [`is_valid`]).
pub fn normalize(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The usual "3-3-4" display form, e.g. `943 476 5919`. Input that does not normalize
/// to ten digits is returned unchanged.
pub fn format(s: &str) -> String {
    match normalize(s) {
        Some(d) => format!("{} {} {}", &d[..3], &d[3..6], &d[6..]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_numbers() {
        for n in ["9434765919", "9000000009", "9449305552", "9449310157"] {
            assert!(is_valid(n), "{n}");
        }
    }

    #[test]
    fn rejects_wrong_check_digit() {
        assert_eq!(check("9434765918"), Err(Invalid::CheckDigit));
        assert_eq!(check("9000000008"), Err(Invalid::CheckDigit));
        assert!(!is_valid("9449305553"));
    }

    #[test]
    fn rejects_check_value_ten() {
        // 1000000010: sum = 10 * 1 + 2 * 1 = 12 -> 11 - 1 = 10, which is never issued.
        assert_eq!(check("1000000010"), Err(Invalid::CheckDigit));
        for last in b'0'..=b'9' {
            let s = format!("100000001{}", last as char);
            assert!(!is_valid(&s), "{s}");
        }
    }

    #[test]
    fn check_value_eleven_means_zero() {
        // 0000000000: sum 0 -> 11 -> 0.
        assert!(is_valid("0000000000"));
        // 1000000001: sum 10 -> 11 - 10 = 1.
        assert!(is_valid("1000000001"));
    }

    #[test]
    fn rejects_bad_shapes() {
        for s in [
            "",
            "943476591",
            "94347659190",
            "943 476 5919",
            "943476591x",
            "９434765919",
        ] {
            assert_eq!(check(s), Err(Invalid::NotTenDigits), "{s:?}");
        }
    }

    #[test]
    fn normalizes_and_formats() {
        assert_eq!(normalize("943 476 5919").as_deref(), Some("9434765919"));
        assert_eq!(normalize("943-476-5919").as_deref(), Some("9434765919"));
        assert_eq!(normalize("943 476 591"), None);
        assert_eq!(normalize("943a4765919"), None);
        assert_eq!(format("9434765919"), "943 476 5919");
        assert_eq!(format(" 943-476-5919 "), "943 476 5919");
        assert_eq!(format("12"), "12");
    }
}
