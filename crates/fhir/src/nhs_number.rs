//! The NHS number: ten digits whose last is a Modulus 11 check digit.

/// The identifier system of NHS numbers.
pub const SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// Is `s` (ten digits, no spaces) a valid NHS number? (Being written.)
pub fn is_valid(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit())
}
