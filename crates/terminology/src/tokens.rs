//! How terms and queries are cut into words: lowercase, split on anything that is not a
//! letter or digit, and also where letters meet digits, so "T2DM" and "type 2" line up
//! with "t2 diab". Apostrophes join ("Crohn's" is one word, "crohns").

/// The words of a term or query, lowercased, in order.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut word_is_digits = false;
    for ch in text.chars() {
        if ch == '\'' || ch == '\u{2019}' {
            continue;
        }
        if !ch.is_alphanumeric() {
            flush(&mut words, &mut word);
            continue;
        }
        let is_digit = ch.is_ascii_digit();
        if !word.is_empty() && is_digit != word_is_digits {
            flush(&mut words, &mut word);
        }
        word_is_digits = is_digit;
        word.extend(ch.to_lowercase());
    }
    flush(&mut words, &mut word);
    words
}

fn flush(words: &mut Vec<String>, word: &mut String) {
    if !word.is_empty() {
        words.push(std::mem::take(word));
    }
}

#[cfg(test)]
mod tests {
    use super::tokenize;

    #[test]
    fn lowercases_and_splits_on_punctuation() {
        assert_eq!(
            tokenize("Hypertensive disorder, systemic arterial"),
            ["hypertensive", "disorder", "systemic", "arterial"]
        );
        assert_eq!(
            tokenize("T2 - Type 2 diabetes mellitus"),
            ["t", "2", "type", "2", "diabetes", "mellitus"]
        );
    }

    #[test]
    fn splits_where_letters_meet_digits() {
        assert_eq!(tokenize("t2 diab"), ["t", "2", "diab"]);
        assert_eq!(tokenize("T2DM"), ["t", "2", "dm"]);
        assert_eq!(tokenize("COVID-19"), ["covid", "19"]);
        assert_eq!(tokenize("500mg"), ["500", "mg"]);
    }

    #[test]
    fn apostrophes_join_and_blank_input_has_no_words() {
        assert_eq!(tokenize("Crohn's disease"), ["crohns", "disease"]);
        assert_eq!(tokenize("Alzheimer\u{2019}s"), ["alzheimers"]);
        assert!(tokenize("  ,- ").is_empty());
    }
}
