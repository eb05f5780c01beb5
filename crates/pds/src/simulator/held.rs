//! The simulator's patients, indexed by birth date: every PDS search names one, so a
//! search looks only at the patients born in its date range.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use serde_json::Value;

#[derive(Default)]
pub(crate) struct Held {
    by_nhs_number: BTreeMap<String, Value>,
    /// `YYYY-MM-DD` (which sorts as dates do) to NHS numbers.
    by_birth_date: BTreeMap<String, BTreeSet<String>>,
}

fn birth_date(patient: &Value) -> String {
    patient
        .get("birthDate")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl Held {
    pub(crate) fn get(&self, nhs_number: &str) -> Option<&Value> {
        self.by_nhs_number.get(nhs_number)
    }

    pub(crate) fn len(&self) -> usize {
        self.by_nhs_number.len()
    }

    /// Holds `patient` under `nhs_number`, replacing any earlier version.
    pub(crate) fn insert(&mut self, nhs_number: String, patient: Value) {
        if let Some(old) = self.by_nhs_number.get(&nhs_number) {
            let old_date = birth_date(old);
            if let Some(numbers) = self.by_birth_date.get_mut(&old_date) {
                numbers.remove(&nhs_number);
                if numbers.is_empty() {
                    self.by_birth_date.remove(&old_date);
                }
            }
        }
        self.by_birth_date
            .entry(birth_date(&patient))
            .or_default()
            .insert(nhs_number.clone());
        self.by_nhs_number.insert(nhs_number, patient);
    }

    /// The patients born within `range` (inclusive `YYYY-MM-DD` bounds).
    pub(crate) fn born_within(
        &self,
        range: (Bound<String>, Bound<String>),
    ) -> impl Iterator<Item = &Value> {
        let empty =
            matches!((&range.0, &range.1), (Bound::Included(lo), Bound::Included(hi)) if lo > hi);
        let dates = (!empty).then(|| self.by_birth_date.range(range));
        dates
            .into_iter()
            .flatten()
            .flat_map(|(_, numbers)| numbers.iter())
            .filter_map(|nhs| self.by_nhs_number.get(nhs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn held() -> Held {
        let mut held = Held::default();
        for (nhs, born) in [("9000000009", "2010-10-22"), ("9000000017", "1950-01-01")] {
            held.insert(nhs.into(), json!({"id": nhs, "birthDate": born}));
        }
        held
    }

    fn ids(held: &Held, lo: &str, hi: &str) -> Vec<String> {
        let range = (
            Bound::Included(lo.to_string()),
            Bound::Included(hi.to_string()),
        );
        held.born_within(range)
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn finds_by_birth_date_range_and_follows_changes() {
        let mut held = held();
        assert_eq!(ids(&held, "2010-01-01", "2010-12-31"), ["9000000009"]);
        assert!(
            ids(&held, "2011-01-01", "2010-01-01").is_empty(),
            "an impossible range"
        );
        held.insert(
            "9000000009".into(),
            json!({"id": "9000000009", "birthDate": "1950-06-01"}),
        );
        assert!(ids(&held, "2010-01-01", "2010-12-31").is_empty());
        assert_eq!(
            ids(&held, "1950-01-01", "1950-12-31"),
            ["9000000017", "9000000009"]
        );
        assert_eq!(held.len(), 2);
    }
}
