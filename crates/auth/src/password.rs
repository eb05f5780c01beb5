//! Password hashing (argon2id) and the password policy.
//!
//! Stored form: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (the PHC string format,
//! base64url fields), so the cost can be raised later without breaking old hashes.

use crate::error::{AuthError, ErrorKind};
use crate::secrets::{base64_decode, base64_encode, random_bytes};
use argon2::{Algorithm, Argon2, Params, Version};
use subtle::ConstantTimeEq;

/// The shortest password accepted (NCSC guidance favours length over complexity rules).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longer passwords are refused so hashing cannot be used to exhaust the server.
const MAX_PASSWORD_BYTES: usize = 1024;

/// The OWASP-recommended argon2id cost: 19 MiB, 2 passes, 1 lane.
const COST: (u32, u32, u32) = (19 * 1024, 2, 1);
const HASH_LEN: usize = 32;

/// Checks `password` against the policy.
pub fn check_policy(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::new(
            ErrorKind::Invalid,
            format!("a password must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::new(
            ErrorKind::Invalid,
            "a password may have at most 1024 bytes",
        ));
    }
    if password.trim().is_empty() {
        return Err(AuthError::new(
            ErrorKind::Invalid,
            "a password must not be only spaces",
        ));
    }
    Ok(())
}

/// The stored form of `password`, with a fresh random salt.
pub fn hash(password: &str) -> Result<String, AuthError> {
    let salt = random_bytes::<16>();
    let (m, t, p) = COST;
    let out = derive(password.as_bytes(), &salt, m, t, p)?;
    Ok(format!(
        "$argon2id$v=19$m={m},t={t},p={p}${}${}",
        base64_encode(&salt),
        base64_encode(&out)
    ))
}

/// Whether `password` matches `stored`. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Some((m, t, p, salt, expected)) = parse(stored) else {
        return false;
    };
    match derive(password.as_bytes(), &salt, m, t, p) {
        Ok(out) => out.ct_eq(&expected).into(),
        Err(_) => false,
    }
}

fn derive(password: &[u8], salt: &[u8], m: u32, t: u32, p: u32) -> Result<Vec<u8>, AuthError> {
    let failed = |e: argon2::Error| AuthError::new(ErrorKind::Internal, format!("argon2: {e}"));
    let params = Params::new(m, t, p, Some(HASH_LEN)).map_err(failed)?;
    let mut out = vec![0u8; HASH_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, salt, &mut out)
        .map_err(failed)?;
    Ok(out)
}

type Parsed = (u32, u32, u32, Vec<u8>, Vec<u8>);

fn parse(stored: &str) -> Option<Parsed> {
    let mut fields = stored.strip_prefix("$argon2id$v=19$")?.split('$');
    let (costs, salt, hash) = (fields.next()?, fields.next()?, fields.next()?);
    let cost = |name: &str| -> Option<u32> {
        costs
            .split(',')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    };
    Some((
        cost("m")?,
        cost("t")?,
        cost("p")?,
        base64_decode(salt)?,
        base64_decode(hash)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterY", &stored));
        assert!(!verify("correct horse battery", "not a hash"));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        assert_ne!(
            hash("same password!").unwrap(),
            hash("same password!").unwrap()
        );
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_policy("short-pass1").is_err());
        assert!(check_policy("            ").is_err());
        assert!(check_policy("twelve chars").is_ok());
    }
}
