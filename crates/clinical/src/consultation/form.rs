//! What the clinician typed, as typed: every value a string, so a form with mistakes can
//! be shown again exactly as it was, and kept as a draft. [`super::validate`] turns it
//! into a [`super::ValidConsultation`].
//!
//! Field names are the HTML inputs' names (and ids), so an error can sit next to its
//! input: `encounter_type`, `date`; per topic `t{i}_problem`, `t{i}_new_term`,
//! `t{i}_new_code`, `t{i}_significance`, `t{i}_title`; per entry `t{i}_e{j}_heading`,
//! `t{i}_e{j}_term`, `t{i}_e{j}_code`, `t{i}_e{j}_text`; `obs_{key}` for each
//! measurement; per allergy `a{i}_term`, `a{i}_code`, `a{i}_reaction`, `a{i}_severity`,
//! `a{i}_type`; per immunisation `v{i}_term`, `v{i}_code`, `v{i}_dose`, `v{i}_site`,
//! `v{i}_batch`, `v{i}_date`; `task_owner`, `task_description`, `task_due`,
//! `task_priority`; `attachments`; `confirm_warnings`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsultationForm {
    pub encounter_type: String,
    /// `YYYY-MM-DDTHH:MM`, local time (an HTML `datetime-local` value).
    pub date: String,
    pub topics: Vec<TopicInput>,
    /// Measurement key ([`super::observations`]) → the number as typed.
    pub observations: BTreeMap<String, String>,
    pub allergies: Vec<AllergyInput>,
    pub immunisations: Vec<ImmunisationInput>,
    pub task: TaskInput,
    /// The clinician ticked "these unusual values are right".
    pub confirm_warnings: bool,
    /// Files are never kept in a draft: a draft holds only what was typed.
    #[serde(skip)]
    pub attachments: Vec<AttachmentInput>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicInput {
    /// Id of an existing problem (Condition) this topic is about.
    pub problem: String,
    /// A new problem: its term as typed, and the SNOMED CT code the picker chose.
    pub new_term: String,
    pub new_code: String,
    /// `major` or `minor`.
    pub significance: String,
    /// A topic about no problem: its title.
    pub title: String,
    pub entries: Vec<EntryInput>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EntryInput {
    /// One of [`crate::conventions::HEADINGS`]' keys.
    pub heading: String,
    pub term: String,
    pub code: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AllergyInput {
    pub term: String,
    pub code: String,
    pub reaction: String,
    /// `mild`, `moderate`, `severe` or empty.
    pub severity: String,
    /// `allergy` or `intolerance`.
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImmunisationInput {
    pub term: String,
    pub code: String,
    pub dose: String,
    pub site: String,
    pub batch: String,
    /// `YYYY-MM-DD`; empty means the consultation's date.
    pub date: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskInput {
    /// Practitioner id of the colleague.
    pub owner: String,
    pub description: String,
    /// `YYYY-MM-DD`.
    pub due: String,
    /// `routine` or `urgent`.
    pub priority: String,
}

/// An uploaded file, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentInput {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl TopicInput {
    pub fn is_blank(&self) -> bool {
        self.problem.trim().is_empty()
            && self.new_term.trim().is_empty()
            && self.new_code.trim().is_empty()
            && self.title.trim().is_empty()
            && self.entries.iter().all(EntryInput::is_blank)
    }
}

impl EntryInput {
    pub fn is_blank(&self) -> bool {
        self.term.trim().is_empty() && self.code.trim().is_empty() && self.text.trim().is_empty()
    }
}

impl AllergyInput {
    pub fn is_blank(&self) -> bool {
        self.term.trim().is_empty()
            && self.code.trim().is_empty()
            && self.reaction.trim().is_empty()
    }
}

impl ImmunisationInput {
    pub fn is_blank(&self) -> bool {
        [&self.term, &self.code, &self.dose, &self.site, &self.batch]
            .iter()
            .all(|v| v.trim().is_empty())
    }
}

impl TaskInput {
    pub fn is_blank(&self) -> bool {
        self.owner.trim().is_empty()
            && self.description.trim().is_empty()
            && self.due.trim().is_empty()
    }
}

impl ConsultationForm {
    /// Reads a posted form's fields (`name`, `value` in the order posted). Rows may come
    /// with gaps in their numbering (a row removed in the browser): they keep their order.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut form = ConsultationForm::default();
        let mut topics: BTreeMap<usize, TopicInput> = BTreeMap::new();
        let mut entries: BTreeMap<(usize, usize), EntryInput> = BTreeMap::new();
        let mut allergies: BTreeMap<usize, AllergyInput> = BTreeMap::new();
        let mut vaccines: BTreeMap<usize, ImmunisationInput> = BTreeMap::new();
        for (name, value) in pairs {
            let value = value.to_string();
            match name {
                "encounter_type" => form.encounter_type = value,
                "date" => form.date = value,
                "task_owner" => form.task.owner = value,
                "task_description" => form.task.description = value,
                "task_due" => form.task.due = value,
                "task_priority" => form.task.priority = value,
                "confirm_warnings" => form.confirm_warnings = !value.is_empty(),
                _ => {
                    if let Some(key) = name.strip_prefix("obs_") {
                        if !value.trim().is_empty() {
                            form.observations.insert(key.to_string(), value);
                        }
                    } else if let Some((t, e, field)) = entry_field(name) {
                        let entry = entries.entry((t, e)).or_default();
                        match field {
                            "heading" => entry.heading = value,
                            "term" => entry.term = value,
                            "code" => entry.code = value,
                            "text" => entry.text = value,
                            _ => {}
                        }
                        topics.entry(t).or_default();
                    } else if let Some((t, field)) = row_field(name, 't') {
                        let topic = topics.entry(t).or_default();
                        match field {
                            "problem" => topic.problem = value,
                            "new_term" => topic.new_term = value,
                            "new_code" => topic.new_code = value,
                            "significance" => topic.significance = value,
                            "title" => topic.title = value,
                            _ => {}
                        }
                    } else if let Some((a, field)) = row_field(name, 'a') {
                        let allergy = allergies.entry(a).or_default();
                        match field {
                            "term" => allergy.term = value,
                            "code" => allergy.code = value,
                            "reaction" => allergy.reaction = value,
                            "severity" => allergy.severity = value,
                            "type" => allergy.kind = value,
                            _ => {}
                        }
                    } else if let Some((v, field)) = row_field(name, 'v') {
                        let vaccine = vaccines.entry(v).or_default();
                        match field {
                            "term" => vaccine.term = value,
                            "code" => vaccine.code = value,
                            "dose" => vaccine.dose = value,
                            "site" => vaccine.site = value,
                            "batch" => vaccine.batch = value,
                            "date" => vaccine.date = value,
                            _ => {}
                        }
                    }
                }
            }
        }
        for ((t, _), entry) in entries.into_iter().filter(|(_, e)| !e.is_blank()) {
            topics.entry(t).or_default().entries.push(entry);
        }
        // Rows left empty (the page always offers a spare one) are not part of the form.
        form.topics = topics.into_values().filter(|t| !t.is_blank()).collect();
        form.allergies = allergies.into_values().filter(|a| !a.is_blank()).collect();
        form.immunisations = vaccines.into_values().filter(|v| !v.is_blank()).collect();
        form
    }

    /// The typed value of a measurement.
    pub fn observation(&self, key: &str) -> &str {
        self.observations.get(key).map(String::as_str).unwrap_or("")
    }
}

/// `t3_e1_text` → (3, 1, "text").
fn entry_field(name: &str) -> Option<(usize, usize, &str)> {
    let (t, rest) = row_field(name, 't')?;
    let (e, field) = row_field(rest, 'e')?;
    Some((t, e, field))
}

/// `a2_code` with prefix `a` → (2, "code").
fn row_field(name: &str, prefix: char) -> Option<(usize, &str)> {
    let rest = name.strip_prefix(prefix)?;
    let (index, field) = rest.split_once('_')?;
    let index = index.parse().ok()?;
    Some((index, field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_in_order_with_gaps() {
        let form = ConsultationForm::from_pairs([
            ("encounter_type", "11429006"),
            ("t0_title", "Cough"),
            ("t0_e3_heading", "plan"),
            ("t0_e3_text", "Fluids"),
            ("t0_e0_heading", "history"),
            ("t0_e0_text", "Three days"),
            ("t2_problem", "abc"),
            ("obs_bp_systolic", "150"),
            ("obs_pulse", ""),
            ("a0_term", "Penicillin"),
            ("v1_batch", "X1"),
            ("t5_e0_heading", "history"),
            ("a1_type", "allergy"),
            ("task_owner", "p1"),
        ]);
        assert_eq!(form.topics.len(), 2, "an untouched spare topic is left out");
        assert_eq!(form.topics[0].entries[0].text, "Three days");
        assert_eq!(form.topics[0].entries[1].heading, "plan");
        assert_eq!(form.topics[1].problem, "abc");
        assert_eq!(form.observation("bp_systolic"), "150");
        assert!(!form.observations.contains_key("pulse"));
        assert_eq!(
            form.allergies.len(),
            1,
            "an untouched spare row is left out"
        );
        assert_eq!(form.allergies[0].term, "Penicillin");
        assert_eq!(form.immunisations[0].batch, "X1");
        assert_eq!(form.task.owner, "p1");
    }
}
