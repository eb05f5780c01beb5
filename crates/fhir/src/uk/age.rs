//! A person's age as UK clinical systems show it.

use chrono::{Datelike, NaiveDate};
use std::fmt;

/// The unit an [`Age`] is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeUnit {
    Days,
    Weeks,
    Months,
    Years,
}

/// An age, in the one unit the rule picks. The rule (the same on every screen):
///
/// | age                          | shown as         |
/// |------------------------------|------------------|
/// | under 4 weeks (0 to 27 days) | days: `12 days`  |
/// | 4 weeks to under 3 months    | whole weeks: `5 weeks` |
/// | 3 months to under 2 years    | whole months: `14 months` |
/// | 2 years and over             | whole years: `54 years` |
///
/// Months and years are completed calendar months: the count goes up on the day of the
/// month of birth, or, when a month has no such day (born on the 31st, or on 29 February),
/// on the first day of the next month. So a leap-day baby turns one on 1 March in a
/// common year, as the law in England and Wales counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age {
    pub count: u32,
    pub unit: AgeUnit,
}

impl Age {
    /// The age on `on` of someone born on `birth`; `None` if `on` is before the birth.
    pub fn on(birth: NaiveDate, on: NaiveDate) -> Option<Age> {
        if on < birth {
            return None;
        }
        let days = (on - birth).num_days();
        let months = completed_months(birth, on);
        let (count, unit) = if months >= 24 {
            (months / 12, AgeUnit::Years)
        } else if months >= 3 {
            (months, AgeUnit::Months)
        } else if days >= 28 {
            (days / 7, AgeUnit::Weeks)
        } else {
            (days, AgeUnit::Days)
        };
        Some(Age {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            unit,
        })
    }

    /// The age as text (`12 days`), or `""` when either date is unknown or the birth is
    /// after `on`.
    pub fn text(birth: Option<NaiveDate>, on: NaiveDate) -> String {
        birth
            .and_then(|b| Age::on(b, on))
            .map(|a| a.to_string())
            .unwrap_or_default()
    }
}

/// Whole calendar months from `birth` to `on` (`on` not before `birth`).
fn completed_months(birth: NaiveDate, on: NaiveDate) -> i64 {
    let mut months =
        i64::from(on.year() - birth.year()) * 12 + i64::from(on.month()) - i64::from(birth.month());
    if on.day() < birth.day() {
        months -= 1;
    }
    months
}

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            AgeUnit::Days => "day",
            AgeUnit::Weeks => "week",
            AgeUnit::Months => "month",
            AgeUnit::Years => "year",
        };
        let plural = if self.count == 1 { "" } else { "s" };
        write!(f, "{} {unit}{plural}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn age(birth: &str, on: &str) -> String {
        Age::on(d(birth), d(on)).unwrap().to_string()
    }

    #[test]
    fn days_from_birth_to_the_day_before_four_weeks() {
        assert_eq!(age("2026-03-01", "2026-03-01"), "0 days");
        assert_eq!(age("2026-03-01", "2026-03-02"), "1 day");
        assert_eq!(age("2026-03-01", "2026-03-13"), "12 days");
        // 27 days: the day before 4 weeks.
        assert_eq!(age("2026-03-01", "2026-03-28"), "27 days");
    }

    #[test]
    fn weeks_from_four_weeks() {
        // 28 days: the day of the switch, and the day after.
        assert_eq!(age("2026-03-01", "2026-03-29"), "4 weeks");
        assert_eq!(age("2026-03-01", "2026-03-30"), "4 weeks");
        assert_eq!(age("2026-03-01", "2026-04-05"), "5 weeks");
    }

    #[test]
    fn months_from_three_months() {
        // The day before 3 months is still weeks (12 weeks 6 days after 1 March).
        assert_eq!(age("2026-03-01", "2026-05-31"), "13 weeks");
        assert_eq!(age("2026-03-01", "2026-06-01"), "3 months");
        assert_eq!(age("2026-03-01", "2026-06-02"), "3 months");
        // Born on the 31st: June has no 31st, so 3 months are complete on 1 July.
        assert_eq!(age("2026-03-31", "2026-06-30"), "13 weeks");
        assert_eq!(age("2026-03-31", "2026-07-01"), "3 months");
    }

    #[test]
    fn years_from_two_years() {
        assert_eq!(age("2024-06-15", "2026-06-14"), "23 months");
        assert_eq!(age("2024-06-15", "2026-06-15"), "2 years");
        assert_eq!(age("2024-06-15", "2026-06-16"), "2 years");
        assert_eq!(age("1970-03-12", "2024-03-11"), "53 years");
        assert_eq!(age("1970-03-12", "2024-03-12"), "54 years");
        assert_eq!(age("1925-01-01", "2026-12-07"), "101 years");
    }

    #[test]
    fn leap_day_births_count_from_the_first_of_march_in_common_years() {
        // Three months after 29 Feb 2024 is 29 May; the day before is still weeks.
        assert_eq!(age("2024-02-29", "2024-05-28"), "12 weeks");
        assert_eq!(age("2024-02-29", "2024-05-29"), "3 months");
        // Two years: 28 Feb 2026 is the day before, 1 March the day of the switch.
        assert_eq!(age("2024-02-29", "2026-02-28"), "23 months");
        assert_eq!(age("2024-02-29", "2026-03-01"), "2 years");
        assert_eq!(age("2024-02-29", "2026-03-02"), "2 years");
        // In a leap year the birthday itself is the day.
        assert_eq!(age("2024-02-29", "2028-02-28"), "3 years");
        assert_eq!(age("2024-02-29", "2028-02-29"), "4 years");
    }

    #[test]
    fn no_age_before_birth_or_without_a_birth_date() {
        assert_eq!(Age::on(d("2026-03-02"), d("2026-03-01")), None);
        assert_eq!(Age::text(None, d("2026-03-01")), "");
        assert_eq!(Age::text(Some(d("2026-01-01")), d("2026-03-01")), "8 weeks");
    }

    proptest! {
        // The unit never goes down as a person gets older, and the count never goes
        // down within a unit.
        #[test]
        fn age_only_grows(birth_days in 0i64..60_000, offset in 0i64..40_000) {
            let birth = d("1900-01-01") + Duration::days(birth_days);
            let on = birth + Duration::days(offset);
            let (a, b) = (Age::on(birth, on).unwrap(), Age::on(birth, on + Duration::days(1)).unwrap());
            let rank = |u: AgeUnit| u as u8;
            prop_assert!(rank(b.unit) > rank(a.unit) || (b.unit == a.unit && b.count >= a.count));
        }

        // Each unit covers exactly its range of the rule.
        #[test]
        fn units_cover_their_ranges(birth_days in 0i64..60_000, offset in 0i64..40_000) {
            let birth = d("1900-01-01") + Duration::days(birth_days);
            let on = birth + Duration::days(offset);
            let a = Age::on(birth, on).unwrap();
            match a.unit {
                AgeUnit::Days => prop_assert!(offset < 28 && i64::from(a.count) == offset),
                AgeUnit::Weeks => prop_assert!((28..93).contains(&offset) && (4..=13).contains(&a.count)),
                AgeUnit::Months => prop_assert!((3..24).contains(&a.count) && offset >= 89),
                AgeUnit::Years => prop_assert!(a.count >= 2 && offset >= 730),
            }
        }
    }
}
