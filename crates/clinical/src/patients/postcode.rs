//! UK postcodes: `LS6 1AB`, typed with or without the space, in any case.

/// Whether `s` is an outward code (the part before the space): `LS6`, `M1`, `SW1A`, `EC1V`.
pub fn is_outward(s: &str) -> bool {
    let b = s.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if !(1..=2).contains(&letters) || b.len() <= letters {
        return false;
    }
    let rest = &b[letters..];
    match rest {
        [d] => d.is_ascii_digit(),
        [d, x] => d.is_ascii_digit() && x.is_ascii_alphanumeric(),
        _ => false,
    }
}

/// Whether `s` is an inward code (the part after the space): `1AB`.
fn is_inward(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3
        && b[0].is_ascii_digit()
        && b[1].is_ascii_alphabetic()
        && b[2].is_ascii_alphabetic()
}

/// The postcode in its usual form (`LS6 1AB`), if `s` is one.
pub fn normalize(s: &str) -> Option<String> {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if compact.len() < 5 || !compact.is_ascii() {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    (is_outward(outward) && is_inward(inward)).then(|| format!("{outward} {inward}"))
}

/// The outward code of a postcode in its usual form.
pub fn outward(postcode: &str) -> &str {
    postcode.split(' ').next().unwrap_or(postcode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_postcodes_however_typed() {
        for s in [
            "LS6 1AB",
            "ls61ab",
            " ls6  1ab ",
            "SW1A 1AA",
            "m1 1ae",
            "EC1V 9HX",
        ] {
            assert!(normalize(s).is_some(), "{s}");
        }
        assert_eq!(normalize("ls61ab").as_deref(), Some("LS6 1AB"));
        for s in ["LS6", "smith", "123 456", "LS6 1A", "L 1AB"] {
            assert_eq!(normalize(s), None, "{s}");
        }
        assert!(is_outward("LS6") && is_outward("SW1A") && is_outward("M1"));
        assert!(!is_outward("SMITH") && !is_outward("6LS"));
    }
}
