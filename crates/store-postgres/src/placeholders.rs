//! The store writes SQL with `?` placeholders (SQLite's style); PostgreSQL numbers them
//! (`$1`, `$2`, …). A `?` inside a string literal, a quoted identifier or a comment is
//! text, not a placeholder, and is left alone.

/// Rewrites each `?` placeholder in `sql` as `$n`, numbering from 1 in order.
pub fn number_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut next = 1;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '?' => {
                out.push('$');
                out.push_str(&next.to_string());
                next += 1;
            }
            // A doubled quote inside a literal ('it''s') closes and reopens it, which
            // copying up to each closing quote handles without special cases.
            '\'' | '"' => {
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                out.push(c);
                chars.next();
                out.push('*');
                // Starting from the char after "/*", so "/*/" does not close itself.
                let mut previous = '\0';
                for inner in chars.by_ref() {
                    out.push(inner);
                    if previous == '*' && inner == '/' {
                        break;
                    }
                    previous = inner;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::number_placeholders;

    #[test]
    fn numbers_placeholders_in_order() {
        assert_eq!(
            number_placeholders("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
        );
    }

    #[test]
    fn sql_without_placeholders_is_unchanged() {
        assert_eq!(number_placeholders("SELECT 1"), "SELECT 1");
        assert_eq!(number_placeholders(""), "");
    }

    #[test]
    fn question_marks_in_string_literals_are_text() {
        assert_eq!(
            number_placeholders("SELECT '?', ? WHERE x = 'what?' OR y = ?"),
            "SELECT '?', $1 WHERE x = 'what?' OR y = $2"
        );
    }

    #[test]
    fn doubled_quotes_keep_the_literal_open() {
        assert_eq!(
            number_placeholders("SELECT 'it''s ?', ?"),
            "SELECT 'it''s ?', $1"
        );
        assert_eq!(
            number_placeholders("SELECT '''?''', ?"),
            "SELECT '''?''', $1"
        );
    }

    #[test]
    fn question_marks_in_identifiers_and_comments_are_text() {
        assert_eq!(
            number_placeholders(r#"SELECT "odd?name", ?"#),
            r#"SELECT "odd?name", $1"#
        );
        assert_eq!(
            number_placeholders("SELECT ? -- why?\n, ?"),
            "SELECT $1 -- why?\n, $2"
        );
        assert_eq!(number_placeholders("SELECT /* ? */ ?"), "SELECT /* ? */ $1");
        assert_eq!(
            number_placeholders("SELECT /*/ ? */ ?"),
            "SELECT /*/ ? */ $1"
        );
    }

    #[test]
    fn numbers_beyond_nine() {
        let sql = ["?"; 12].join(",");
        let numbered = number_placeholders(&sql);
        assert!(numbered.ends_with("$11,$12"), "{numbered}");
    }

    #[test]
    fn unicode_text_survives() {
        assert_eq!(
            number_placeholders("SELECT 'Zoë ✓ ?', ?"),
            "SELECT 'Zoë ✓ ?', $1"
        );
    }
}
