//! Decoding PostgreSQL NUMERIC values, which arrive from aggregates such as `SUM` over a
//! BIGINT column. A whole number that fits is returned as an integer (as SQLite would),
//! anything else as a double.
//!
//! Binary layout: digit count, weight, sign and display scale (each 16 bits), then the
//! digits in base 10000, most significant first; the first digit is worth
//! 10000^weight.

use store::SqlValue;

const NEGATIVE: u16 = 0x4000;
const NAN: u16 = 0xC000;
const POSITIVE_INFINITY: u16 = 0xD000;
const NEGATIVE_INFINITY: u16 = 0xF000;

type DecodeError = Box<dyn std::error::Error + Sync + Send>;

pub fn decode(raw: &[u8]) -> Result<SqlValue, DecodeError> {
    let word = |i: usize| -> Result<u16, DecodeError> {
        raw.get(2 * i..2 * i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated NUMERIC".into())
    };
    let count = word(0)? as usize;
    let weight = word(1)? as i16 as i32;
    let sign = word(2)?;
    let scale = word(3)?;
    let digits = (0..count)
        .map(|i| word(4 + i))
        .collect::<Result<Vec<u16>, _>>()?;
    match sign {
        NAN => return Ok(SqlValue::Real(f64::NAN)),
        POSITIVE_INFINITY => return Ok(SqlValue::Real(f64::INFINITY)),
        NEGATIVE_INFINITY => return Ok(SqlValue::Real(f64::NEG_INFINITY)),
        _ => {}
    }
    let negative = sign == NEGATIVE;
    // The digit worth 10000^exponent, zero outside the stored digits.
    let digit = |exponent: i32| -> u16 {
        let index = weight - exponent;
        if (0..count as i32).contains(&index) {
            digits[index as usize]
        } else {
            0
        }
    };
    if scale == 0
        && let Some(whole) = whole_number(weight, &digit, negative)
    {
        return Ok(SqlValue::Int(whole));
    }
    // Through decimal text, so the nearest double is chosen exactly.
    let mut text = String::from(if negative { "-0" } else { "0" });
    for exponent in (0..=weight).rev() {
        text.push_str(&format!("{:04}", digit(exponent)));
    }
    text.push('.');
    let lowest = (weight - count as i32 + 1).min(0);
    for exponent in (lowest..0).rev() {
        text.push_str(&format!("{:04}", digit(exponent)));
    }
    text.push('0');
    Ok(SqlValue::Real(text.parse()?))
}

fn whole_number(weight: i32, digit: &dyn Fn(i32) -> u16, negative: bool) -> Option<i64> {
    let mut value: i128 = 0;
    for exponent in (0..=weight).rev() {
        value = value
            .checked_mul(10_000)?
            .checked_add(digit(exponent).into())?;
    }
    i64::try_from(if negative { -value } else { value }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for word in [digits.len() as u16, weight as u16, sign, scale]
            .iter()
            .chain(digits)
        {
            raw.extend_from_slice(&word.to_be_bytes());
        }
        raw
    }

    #[test]
    fn whole_numbers_become_integers() {
        // 123456789 = 1|2345|6789 in base 10000.
        assert_eq!(
            decode(&encode(2, 0, 0, &[1, 2345, 6789])).unwrap(),
            SqlValue::Int(123_456_789)
        );
        assert_eq!(
            decode(&encode(0, NEGATIVE, 0, &[42])).unwrap(),
            SqlValue::Int(-42)
        );
        // 20000: trailing zero digits are not stored.
        assert_eq!(
            decode(&encode(1, 0, 0, &[2])).unwrap(),
            SqlValue::Int(20_000)
        );
        assert_eq!(decode(&encode(0, 0, 0, &[])).unwrap(), SqlValue::Int(0));
    }

    #[test]
    fn fractions_and_huge_numbers_become_reals() {
        // 12.5 = 12 . 5000
        assert_eq!(
            decode(&encode(0, 0, 1, &[12, 5000])).unwrap(),
            SqlValue::Real(12.5)
        );
        // -0.0025 = 0 . 0025 (weight -1: the first stored digit is worth 10000^-1)
        assert_eq!(
            decode(&encode(-1, NEGATIVE, 4, &[25])).unwrap(),
            SqlValue::Real(-0.0025)
        );
        // 10^24 does not fit an i64.
        assert_eq!(
            decode(&encode(6, 0, 0, &[1])).unwrap(),
            SqlValue::Real(1e24)
        );
    }

    #[test]
    fn special_values() {
        assert!(
            matches!(decode(&encode(0, NAN, 0, &[])).unwrap(), SqlValue::Real(r) if r.is_nan())
        );
        assert_eq!(
            decode(&encode(0, POSITIVE_INFINITY, 0, &[])).unwrap(),
            SqlValue::Real(f64::INFINITY)
        );
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(decode(&[0, 1]).is_err());
        assert!(decode(&encode(0, 0, 0, &[1])[..9]).is_err());
    }
}
