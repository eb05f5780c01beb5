//! Dates as people type them: `22/10/1970`, `22-10-1970`, `2/3/70`, `1970-10-22`, or
//! three boxes (day, month, year). Every failure says what was wrong.

use chrono::{Datelike, NaiveDate};

/// Whether `text` is shaped like a date (digits split by `/`, `-` or `.`), whether or
/// not it is a real one.
pub fn looks_like_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split(['/', '-', '.']).collect();
    let digits = |p: &&str| p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() != 3 || !parts.iter().all(digits) {
        return false;
    }
    let lengths: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    matches!(
        lengths.as_slice(),
        [1 | 2, 1 | 2, 2 | 4] | [4, 1 | 2, 1 | 2]
    )
}

/// A typed date: day first (UK), or ISO `YYYY-MM-DD`. Two-digit years are the latest
/// year not after `today` (`2/3/70` is 1970, `2/3/05` is 2005): these are birth dates.
pub fn parse_typed(text: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let text = text.trim();
    if !looks_like_date(text) {
        return Err(format!(
            "'{text}' is not a date: enter it as day/month/year, like 22/10/1970"
        ));
    }
    let parts: Vec<&str> = text.split(['/', '-', '.']).collect();
    let (day, month, year) = if parts[0].len() == 4 {
        (parts[2], parts[1], parts[0])
    } else {
        (parts[0], parts[1], parts[2])
    };
    let year_number: i32 = year.parse().map_err(|_| not_real(text))?;
    let year_number = match year.len() {
        2 => {
            let this_century = today.year() / 100 * 100;
            if this_century + year_number <= today.year() {
                this_century + year_number
            } else {
                this_century - 100 + year_number
            }
        }
        4 => year_number,
        _ => return Err(format!("'{text}' needs a year of 4 digits, like 1970")),
    };
    let day: u32 = day.parse().map_err(|_| not_real(text))?;
    let month: u32 = month.parse().map_err(|_| not_real(text))?;
    NaiveDate::from_ymd_opt(year_number, month, day).ok_or_else(|| not_real(text))
}

fn not_real(text: &str) -> String {
    format!("{text} is not a real date")
}

/// A date from three boxes. `what` names it in messages ("Date of birth").
pub fn from_parts(day: &str, month: &str, year: &str, what: &str) -> Result<NaiveDate, String> {
    let (day, month, year) = (day.trim(), month.trim(), year.trim());
    if day.is_empty() && month.is_empty() && year.is_empty() {
        return Err(format!("Enter the {}", what.to_lowercase()));
    }
    let missing: Vec<&str> = [("day", day), ("month", month), ("year", year)]
        .into_iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(name, _)| name)
        .collect();
    if !missing.is_empty() {
        return Err(format!("{what} must include a {}", missing.join(" and a ")));
    }
    let number = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
    };
    let (Some(d), Some(m), Some(y)) = (number(day), number(month), number(year)) else {
        return Err(format!("{what} must be numbers, like 22 10 1970"));
    };
    if year.len() != 4 {
        return Err(format!("{what}: the year must have 4 digits, like 1970"));
    }
    NaiveDate::from_ymd_opt(y as i32, m, d)
        .ok_or_else(|| format!("{day:0>2}/{month:0>2}/{year} is not a real date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()
    }

    #[test]
    fn reads_the_ways_people_type_dates() {
        let oct22 = NaiveDate::from_ymd_opt(1970, 10, 22).unwrap();
        for text in [
            "22/10/1970",
            "22-10-1970",
            "22.10.1970",
            "1970-10-22",
            "22/10/70",
        ] {
            assert_eq!(parse_typed(text, today()), Ok(oct22), "{text}");
        }
        assert_eq!(
            parse_typed("2/3/05", today()),
            Ok(NaiveDate::from_ymd_opt(2005, 3, 2).unwrap())
        );
        assert_eq!(
            parse_typed("31/02/2020", today()).unwrap_err(),
            "31/02/2020 is not a real date"
        );
    }

    #[test]
    fn three_boxes_say_what_is_missing_or_impossible() {
        assert_eq!(
            from_parts("31", "2", "2020", "Date of birth").unwrap_err(),
            "31/02/2020 is not a real date"
        );
        assert_eq!(
            from_parts("", "2", "", "Date of birth").unwrap_err(),
            "Date of birth must include a day and a year"
        );
        assert_eq!(
            from_parts("", "", "", "Date of birth").unwrap_err(),
            "Enter the date of birth"
        );
        assert!(from_parts("1", "2", "70", "Date of birth").is_err());
    }
}
