//! Synthetic NHS numbers: 999 followed by six digits and a valid Modulus 11 check digit.
//! NHS England reserves the 999 range for test data, so these can never be real people.

/// The Modulus 11 check digit of the first nine digits, or None when it would be 10
/// (such a number is never issued).
pub fn check_digit(first_nine: &[u8; 9]) -> Option<u8> {
    let sum: u32 = first_nine
        .iter()
        .enumerate()
        .map(|(i, d)| *d as u32 * (10 - i as u32))
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c as u8),
    }
}

/// Blocks of ten numbers share their first eight digits (`999` + five); at most one of a
/// block's ten ninth digits gives check digit 10, so every block holds at least nine
/// valid numbers.
const PER_BLOCK: u64 = 9;
const BLOCKS: u64 = 100_000;

/// The NHS number of patient `index` in dataset `seed`: distinct for every index below
/// 900,000 within one seed. The seed shuffles which blocks are used.
pub fn nhs_number(seed: u64, index: u64) -> String {
    let block = (index / PER_BLOCK) % BLOCKS;
    let slot = (index % PER_BLOCK) as usize;
    // 7919 is coprime with 100,000, so this permutes the blocks.
    let shuffled = (block * 7919 + seed % BLOCKS) % BLOCKS;
    let mut digits = [9u8, 9, 9, 0, 0, 0, 0, 0, 0];
    let mut b = shuffled;
    for d in digits[3..8].iter_mut().rev() {
        *d = (b % 10) as u8;
        b /= 10;
    }
    let (ninth, check) = (0..10u8)
        .filter_map(|ninth| {
            digits[8] = ninth;
            check_digit(&digits).map(|c| (ninth, c))
        })
        .nth(slot)
        .expect("every block has nine valid numbers");
    digits[8] = ninth;
    digits
        .iter()
        .chain([check].iter())
        .map(|d| char::from(b'0' + d))
        .collect()
}

/// Is `s` ten digits whose last is the Modulus 11 check digit of the others? (The
/// tests' own check, independent of `fhir::nhs_number`.)
#[cfg(test)]
pub fn is_valid(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() != 10 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut first = [0u8; 9];
    for (d, b) in first.iter_mut().zip(bytes) {
        *d = b - b'0';
    }
    check_digit(&first) == Some(bytes[9] - b'0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn known_numbers() {
        // Published NHS test numbers (PDS sandbox) and a one-digit typo of one.
        assert!(is_valid("9000000009"));
        assert!(is_valid("9449306087"));
        assert!(!is_valid("9000000008"));
        assert!(!is_valid("900000000"));
    }

    #[test]
    fn generated_numbers_are_valid_distinct_and_in_the_test_range() {
        let mut seen = HashSet::new();
        for i in 0..50_000 {
            let n = nhs_number(42, i);
            assert!(n.starts_with("999"), "{n}");
            assert!(is_valid(&n), "{n}");
            assert!(seen.insert(n.clone()), "duplicate {n} at {i}");
        }
    }
}
