//! Time-based one-time passwords (RFC 6238 with HMAC-SHA1, 6 digits, 30-second steps),
//! the form every authenticator app understands.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
const DIGITS: u32 = 6;

/// The step (time window) `unix_time` falls in.
pub fn step(unix_time: u64) -> u64 {
    unix_time / STEP_SECONDS
}

/// The code for `unix_time`.
pub fn code(secret: &[u8], unix_time: u64) -> String {
    code_at_step(secret, step(unix_time))
}

fn code_at_step(secret: &[u8], step: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3).
    let offset = (digest[digest.len() - 1] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The step `code` belongs to if it is valid at `unix_time` (one step of clock drift
/// either way is allowed) and newer than `last_used_step`: a code that was accepted
/// once is never accepted again, nor is any older one.
pub fn verify(
    secret: &[u8],
    code: &str,
    unix_time: u64,
    last_used_step: Option<u64>,
) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step(unix_time);
    let mut matched = None;
    // Every candidate is computed and compared in constant time, so timing does not
    // tell which window matched.
    for candidate in [now.saturating_sub(1), now, now + 1] {
        if crate::secrets::same(&code_at_step(secret, candidate), code) {
            matched = Some(candidate);
        }
    }
    matched.filter(|s| last_used_step.is_none_or(|last| *s > last))
}

/// RFC 4648 base32 (no padding), the form authenticator apps take secrets in.
pub fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(ALPHABET[((bits >> (35 - i * 5)) & 31) as usize] as char);
        }
    }
    out
}

/// Decodes base32 (case-insensitive, padding and spaces ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let value = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        acc = (acc << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app scans (as a QR code) to enrol.
pub fn otpauth_uri(username: &str, secret_base32: &str) -> String {
    let label: String = percent_encode(&format!("OpenGP:{username}"));
    format!(
        "otpauth://totp/{label}?secret={secret_base32}&issuer=OpenGP&algorithm=SHA1&digits=6&period=30"
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_sha1_vectors_truncated_to_six_digits() {
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code(RFC_SECRET, time), expected, "at {time}");
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted_and_no_more() {
        let now = 1_000_000_000;
        let previous = code(RFC_SECRET, now - 30);
        let next = code(RFC_SECRET, now + 30);
        let too_old = code(RFC_SECRET, now - 60);
        assert!(verify(RFC_SECRET, &previous, now, None).is_some());
        assert!(verify(RFC_SECRET, &next, now, None).is_some());
        assert!(verify(RFC_SECRET, &too_old, now, None).is_none());
        assert!(verify(RFC_SECRET, "12345", now, None).is_none());
    }

    #[test]
    fn a_used_code_and_older_ones_are_refused() {
        let now = 1_000_000_000;
        let current = code(RFC_SECRET, now);
        let used = verify(RFC_SECRET, &current, now, None).unwrap();
        assert_eq!(verify(RFC_SECRET, &current, now, Some(used)), None);
        let previous = code(RFC_SECRET, now - 30);
        assert_eq!(verify(RFC_SECRET, &previous, now, Some(used)), None);
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(
            base32_decode(&base32_encode(RFC_SECRET)).unwrap(),
            RFC_SECRET
        );
    }

    #[test]
    fn the_enrolment_uri_names_the_issuer_and_account() {
        assert_eq!(
            otpauth_uri("demo.gp", "ABC"),
            "otpauth://totp/OpenGP:demo.gp?secret=ABC&issuer=OpenGP&algorithm=SHA1&digits=6&period=30"
        );
    }
}
