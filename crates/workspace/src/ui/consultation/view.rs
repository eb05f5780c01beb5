//! The consultation page's view model: every input with its value as typed, and its
//! error or warning, so the page shows a rejected form exactly as it was sent.

use super::super::layout::Chrome;
use crate::ui::fields::{Choice, choices};
use askama::Template;
use clinical::FieldErrors;
use clinical::consultation::observations::{self, ObservationKind};
use clinical::consultation::{Colleague, ConsultationForm, PatientFacts};
use clinical::conventions::{ENCOUNTER_TYPES, HEADINGS};

/// One input.
#[derive(Debug, Clone, Default)]
pub struct FieldView {
    pub name: String,
    pub value: String,
    pub error: Option<String>,
    pub warning: Option<String>,
}

impl FieldView {
    pub fn class(&self) -> &'static str {
        if self.error.is_some() {
            "field field--error"
        } else if self.warning.is_some() {
            "field field--warning"
        } else {
            "field"
        }
    }

    /// `aria-invalid` and `aria-describedby` for the input (names are ours: no escaping
    /// needed beyond what they are made of).
    pub fn aria(&self) -> String {
        if self.error.is_some() {
            format!(
                " aria-invalid=\"true\" aria-describedby=\"{}-error\"",
                self.name
            )
        } else if self.warning.is_some() {
            format!(" aria-describedby=\"{}-warning\"", self.name)
        } else {
            String::new()
        }
    }
}

#[derive(Debug, Clone)]
pub struct EntryRow {
    pub prefix: String,
    pub heading: FieldView,
    pub headings: Vec<Choice>,
    pub term: FieldView,
    pub code: String,
    pub text: FieldView,
}

#[derive(Debug, Clone)]
pub struct TopicView {
    pub index: usize,
    /// `t{index}`: the start of this topic's field names.
    pub prefix: String,
    /// Shown to people: "Topic 1".
    pub number: usize,
    pub problem: FieldView,
    pub problems: Vec<Choice>,
    pub new_term: FieldView,
    pub new_code: String,
    pub significance: FieldView,
    pub major: bool,
    pub minor: bool,
    pub title: FieldView,
    pub entries: Vec<EntryRow>,
    /// The index the next added entry row gets.
    pub next_entry: usize,
}

#[derive(Debug, Clone)]
pub struct ObservationView {
    pub field: FieldView,
    pub label: &'static str,
    pub unit: &'static str,
    /// The usual range, for the script's out-of-range hint (the server decides).
    pub low: String,
    pub high: String,
}

#[derive(Debug, Clone)]
pub struct AllergyRow {
    pub prefix: String,
    pub number: usize,
    pub term: FieldView,
    pub code: String,
    pub reaction: FieldView,
    pub severity: FieldView,
    pub severities: Vec<Choice>,
    pub kind: FieldView,
    pub intolerance: bool,
}

#[derive(Debug, Clone)]
pub struct ImmunisationRow {
    pub prefix: String,
    pub number: usize,
    pub term: FieldView,
    pub code: String,
    pub dose: FieldView,
    pub site: FieldView,
    pub batch: FieldView,
    pub date: FieldView,
}

#[derive(Template)]
#[template(path = "consultation/new.html")]
pub struct ConsultationPage {
    pub chrome: Chrome,
    /// The shared patient banner (`templates/record/banner.html`).
    pub banner: clinical::record::Banner,
    pub patient_id: String,
    pub errors: Vec<clinical::FieldError>,
    pub warnings: Vec<clinical::FieldError>,
    /// "Restored your unsaved draft from 14:32".
    pub restored: Option<String>,
    pub encounter_type: FieldView,
    pub encounter_types: Vec<Choice>,
    pub date: FieldView,
    pub max_date: String,
    pub topics: Vec<TopicView>,
    pub next_topic: usize,
    pub blood_pressure: (FieldView, FieldView),
    pub observations: Vec<ObservationView>,
    pub bmi: String,
    pub allergies: Vec<AllergyRow>,
    pub immunisations: Vec<ImmunisationRow>,
    pub task_owner: FieldView,
    pub colleagues: Vec<Choice>,
    pub task_description: FieldView,
    pub task_due: FieldView,
    pub task_urgent: bool,
    pub attachments: FieldView,
    pub confirm: bool,
    /// Blank rows to copy when "Add" is pressed (indices `__T__`, `__E__`, `__N__`).
    pub entry_template: EntryRow,
    pub topic_template: TopicView,
    pub allergy_template: AllergyRow,
    pub immunisation_template: ImmunisationRow,
}

/// Everything the page is built from.
pub struct PageInput<'a> {
    pub chrome: Chrome,
    pub banner: clinical::record::Banner,
    pub facts: &'a PatientFacts,
    pub colleagues: &'a [Colleague],
    pub form: &'a ConsultationForm,
    pub errors: &'a FieldErrors,
    pub warnings: &'a FieldErrors,
    pub restored: Option<String>,
    pub max_date: String,
}

struct Messages<'a> {
    errors: &'a FieldErrors,
    warnings: &'a FieldErrors,
}

impl Messages<'_> {
    fn field(&self, name: &str, value: &str) -> FieldView {
        FieldView {
            name: name.to_string(),
            value: value.to_string(),
            error: self.errors.get(name).map(str::to_string),
            warning: self.warnings.get(name).map(str::to_string),
        }
    }
}

fn heading_choices(selected: &str) -> Vec<Choice> {
    choices(HEADINGS.iter().map(|(k, t, _)| (*k, *t)), selected)
}

fn entry_row(
    m: &Messages,
    prefix: String,
    e: &clinical::consultation::form::EntryInput,
) -> EntryRow {
    let heading = if e.heading.is_empty() {
        "history"
    } else {
        e.heading.as_str()
    };
    EntryRow {
        heading: m.field(&format!("{prefix}_heading"), heading),
        headings: heading_choices(heading),
        term: m.field(&format!("{prefix}_term"), &e.term),
        code: e.code.clone(),
        text: m.field(&format!("{prefix}_text"), &e.text),
        prefix,
    }
}

fn topic_view(
    m: &Messages,
    facts: &PatientFacts,
    index: &str,
    number: usize,
    topic: &clinical::consultation::form::TopicInput,
) -> TopicView {
    let p = format!("t{index}");
    let mut entries: Vec<EntryRow> = topic
        .entries
        .iter()
        .enumerate()
        .map(|(j, e)| entry_row(m, format!("{p}_e{j}"), e))
        .collect();
    // A spare row, so a page without JavaScript can still add an entry.
    let spare = entries.len();
    entries.push(entry_row(m, format!("{p}_e{spare}"), &Default::default()));
    let problems: Vec<(&str, &str)> = facts
        .problems
        .iter()
        .map(|pr| (pr.id.as_str(), pr.display.as_str()))
        .collect();
    TopicView {
        index: index.parse().unwrap_or(0),
        prefix: p.clone(),
        number,
        problem: m.field(&format!("{p}_problem"), &topic.problem),
        problems: choices(problems, &topic.problem),
        new_term: m.field(&format!("{p}_new_term"), &topic.new_term),
        new_code: topic.new_code.clone(),
        significance: m.field(&format!("{p}_significance"), &topic.significance),
        major: topic.significance == "major",
        minor: topic.significance == "minor",
        title: m.field(&format!("{p}_title"), &topic.title),
        next_entry: entries.len(),
        entries,
    }
}

fn allergy_row(
    m: &Messages,
    index: &str,
    number: usize,
    a: &clinical::consultation::form::AllergyInput,
) -> AllergyRow {
    let p = format!("a{index}");
    AllergyRow {
        number,
        term: m.field(&format!("{p}_term"), &a.term),
        code: a.code.clone(),
        reaction: m.field(&format!("{p}_reaction"), &a.reaction),
        severity: m.field(&format!("{p}_severity"), &a.severity),
        severities: choices(
            [
                ("", "Not recorded"),
                ("mild", "Mild"),
                ("moderate", "Moderate"),
                ("severe", "Severe"),
            ],
            &a.severity,
        ),
        kind: m.field(&format!("{p}_type"), &a.kind),
        intolerance: a.kind == "intolerance",
        prefix: p,
    }
}

fn immunisation_row(
    m: &Messages,
    index: &str,
    number: usize,
    v: &clinical::consultation::form::ImmunisationInput,
) -> ImmunisationRow {
    let p = format!("v{index}");
    ImmunisationRow {
        number,
        term: m.field(&format!("{p}_term"), &v.term),
        code: v.code.clone(),
        dose: m.field(&format!("{p}_dose"), &v.dose),
        site: m.field(&format!("{p}_site"), &v.site),
        batch: m.field(&format!("{p}_batch"), &v.batch),
        date: m.field(&format!("{p}_date"), &v.date),
        prefix: p,
    }
}

fn observation_view(
    m: &Messages,
    form: &ConsultationForm,
    kind: &ObservationKind,
) -> ObservationView {
    let (low, high) = kind.limits.usual;
    ObservationView {
        field: m.field(&format!("obs_{}", kind.key), form.observation(kind.key)),
        label: kind.label,
        unit: kind.unit,
        low: observations::format_value(low, kind.decimals),
        high: observations::format_value(high, kind.decimals),
    }
}

pub fn page(input: PageInput) -> ConsultationPage {
    let m = Messages {
        errors: input.errors,
        warnings: input.warnings,
    };
    let form = input.form;
    let facts = input.facts;
    let mut topics: Vec<TopicView> = form
        .topics
        .iter()
        .enumerate()
        .map(|(i, t)| topic_view(&m, facts, &i.to_string(), i + 1, t))
        .collect();
    if topics.is_empty() {
        topics.push(topic_view(&m, facts, "0", 1, &Default::default()));
    }
    let mut allergies: Vec<AllergyRow> = form
        .allergies
        .iter()
        .enumerate()
        .map(|(i, a)| allergy_row(&m, &i.to_string(), i + 1, a))
        .collect();
    let n = allergies.len();
    allergies.push(allergy_row(&m, &n.to_string(), n + 1, &Default::default()));
    let mut immunisations: Vec<ImmunisationRow> = form
        .immunisations
        .iter()
        .enumerate()
        .map(|(i, v)| immunisation_row(&m, &i.to_string(), i + 1, v))
        .collect();
    let n = immunisations.len();
    immunisations.push(immunisation_row(
        &m,
        &n.to_string(),
        n + 1,
        &Default::default(),
    ));

    let colleagues: Vec<(&str, &str)> = input
        .colleagues
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let number = |key: &str| form.observation(key).trim().parse::<f64>().ok();
    let bmi = match (number("weight"), number("height")) {
        (Some(w), Some(h)) => observations::bmi(w, h)
            .map(|b| observations::format_value(b, 1))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let blank = Messages {
        errors: &FieldErrors::new(),
        warnings: &FieldErrors::new(),
    };
    let mut topic_template = topic_view(&blank, facts, "0", 0, &Default::default());
    for (j, row) in topic_template.entries.iter_mut().enumerate() {
        *row = entry_row(&blank, format!("t__T___e{j}"), &Default::default());
    }
    rename_topic(&mut topic_template);
    ConsultationPage {
        banner: input.banner,
        patient_id: facts.id.clone(),
        errors: input.errors.0.clone(),
        warnings: input.warnings.0.clone(),
        restored: input.restored,
        encounter_type: m.field("encounter_type", &form.encounter_type),
        encounter_types: choices(ENCOUNTER_TYPES, &form.encounter_type),
        date: m.field("date", &form.date),
        max_date: input.max_date,
        next_topic: topics.len(),
        topics,
        blood_pressure: (
            m.field("obs_bp_systolic", form.observation("bp_systolic")),
            m.field("obs_bp_diastolic", form.observation("bp_diastolic")),
        ),
        observations: observations::CATALOGUE
            .iter()
            .filter(|k| !k.key.starts_with("bp_"))
            .map(|k| observation_view(&m, form, k))
            .collect(),
        bmi,
        allergies,
        immunisations,
        task_owner: m.field("task_owner", &form.task.owner),
        colleagues: choices(colleagues, &form.task.owner),
        task_description: m.field("task_description", &form.task.description),
        task_due: m.field("task_due", &form.task.due),
        task_urgent: form.task.priority == "urgent",
        attachments: m.field("attachments", ""),
        confirm: form.confirm_warnings,
        entry_template: entry_row(&blank, "t__T___e__E__".into(), &Default::default()),
        topic_template,
        allergy_template: allergy_row(&blank, "__N__", 0, &Default::default()),
        immunisation_template: immunisation_row(&blank, "__N__", 0, &Default::default()),
        chrome: input.chrome,
    }
}

/// The blank topic's fields named with the `__T__` placeholder the script replaces.
fn rename_topic(topic: &mut TopicView) {
    topic.prefix = "t__T__".into();
    for field in [
        &mut topic.problem,
        &mut topic.new_term,
        &mut topic.significance,
        &mut topic.title,
    ] {
        field.name = field.name.replacen("t0_", "t__T___", 1);
    }
}
