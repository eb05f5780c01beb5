//! SNOMED CT identifiers: shape and Verhoeff check digit, so a mistyped or invented code
//! is refused before it is looked up.

const MULTIPLY: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

const PERMUTE: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Whether the digits (check digit last) pass the Verhoeff check.
fn verhoeff_ok(digits: &[u8]) -> bool {
    let mut check = 0u8;
    for (i, d) in digits.iter().rev().enumerate() {
        check = MULTIPLY[check as usize][PERMUTE[i % 8][(d - b'0') as usize] as usize];
    }
    check == 0
}

/// Whether `id` is a well-formed SNOMED CT concept id: 6 to 18 digits, no leading zero,
/// a concept partition (`00` or `10`, the second and third digits from the end) and a
/// valid Verhoeff check digit.
pub fn is_valid_sctid(id: &str) -> bool {
    let bytes = id.as_bytes();
    (6..=18).contains(&bytes.len())
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes[0] != b'0'
        && matches!(&bytes[bytes.len() - 3..bytes.len() - 1], b"00" | b"10")
        && verhoeff_ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_concept_ids_pass() {
        for id in [
            "38341003",
            "44054006",
            "195967001",
            "999791000000106",
            "325871000000103",
            "39113611000001102",
        ] {
            assert!(is_valid_sctid(id), "{id}");
        }
    }

    #[test]
    fn a_changed_or_swapped_digit_fails() {
        // One digit changed, two neighbours swapped: the errors Verhoeff catches.
        assert!(!is_valid_sctid("38341004"));
        assert!(!is_valid_sctid("38431003"));
        assert!(!is_valid_sctid("44045006"));
    }

    #[test]
    fn malformed_ids_fail() {
        for id in ["", "12345", "0038341003", "3834100a", "1234567890123456789"] {
            assert!(!is_valid_sctid(id), "{id}");
        }
        // A description id (partition 01) is not a concept id.
        assert!(!is_valid_sctid("64017013"));
    }
}
