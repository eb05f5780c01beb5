//! Checks a [`ConsultationForm`] and turns it into a [`ValidConsultation`]: every problem
//! is a [`FieldErrors`] entry on the input it is about; values that are possible but
//! unusual are warnings the clinician confirms before saving.

use super::attachments::{self, Attachment};
use super::facts::PatientFacts;
use super::form::{
    AllergyInput, ConsultationForm, EntryInput, ImmunisationInput, TaskInput, TopicInput,
};
use super::observations::{
    self, DIASTOLIC, HEIGHT, ObservationKind, Plausibility, SYSTOLIC, WEIGHT,
};
use crate::colleagues::Colleague;
use crate::conventions::{ENCOUNTER_TYPES, HEADINGS};
use crate::form::FieldErrors;
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};
use terminology::Terminology;

/// A consultation ready to save.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidConsultation {
    pub patient_id: String,
    /// SNOMED CT code and display of the encounter type.
    pub encounter_type: (&'static str, &'static str),
    pub when: DateTime<Local>,
    pub topics: Vec<ValidTopic>,
    pub measurements: Vec<Measurement>,
    /// Systolic and diastolic, mmHg.
    pub blood_pressure: Option<(f64, f64)>,
    pub allergies: Vec<ValidAllergy>,
    pub immunisations: Vec<ValidImmunisation>,
    pub task: Option<ValidTask>,
    pub attachments: Vec<Attachment>,
}

/// A SNOMED CT concept chosen from the terminology: code and preferred term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coded {
    pub code: String,
    pub display: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicProblem {
    None,
    /// An existing problem, at the version the clinician saw.
    Existing {
        id: String,
        version: i64,
    },
    New {
        concept: Coded,
        significance: Significance,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Significance {
    Major,
    Minor,
}

impl Significance {
    pub fn code(self) -> &'static str {
        match self {
            Significance::Major => "major",
            Significance::Minor => "minor",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTopic {
    pub title: String,
    pub problem: TopicProblem,
    pub entries: Vec<ValidEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEntry {
    /// A key of [`HEADINGS`].
    pub heading: &'static str,
    pub concept: Option<Coded>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub kind: &'static ObservationKind,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAllergy {
    pub substance: Coded,
    pub reaction: Option<String>,
    /// `mild`, `moderate` or `severe`.
    pub severity: Option<&'static str>,
    /// `allergy` or `intolerance`.
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidImmunisation {
    pub vaccine: Coded,
    pub dose: Option<u32>,
    pub site: Option<String>,
    pub batch: Option<String>,
    pub given: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTask {
    /// Practitioner id.
    pub owner: String,
    pub description: String,
    pub due: Option<NaiveDate>,
    /// `routine` or `urgent`.
    pub priority: &'static str,
}

/// A form that can be saved, and what the clinician should confirm first.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub consultation: ValidConsultation,
    pub warnings: FieldErrors,
}

impl Checked {
    /// Whether it may be saved now: no warnings, or the clinician confirmed them.
    pub fn confirmed(&self, form: &ConsultationForm) -> bool {
        self.warnings.is_empty() || form.confirm_warnings
    }
}

/// What the checks compare the form with.
pub struct Checks<'a> {
    pub terminology: &'a Terminology,
    pub patient: &'a PatientFacts,
    pub colleagues: &'a [Colleague],
    pub now: DateTime<Local>,
}

/// Free text longer than this is refused (a pasted letter belongs in an attachment).
pub const MAX_TEXT: usize = 10_000;
/// A consultation may be entered up to this long after it happened... but not ahead of
/// the clock by more than a few minutes (clocks differ).
const CLOCK_SKEW_MINUTES: i64 = 5;

const CHOOSE_TERM: &str = "Choose a term from the list";

pub fn validate(form: &ConsultationForm, checks: &Checks) -> Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut warnings = FieldErrors::new();

    let encounter_type = ENCOUNTER_TYPES
        .iter()
        .find(|(code, _)| *code == form.encounter_type)
        .copied();
    if encounter_type.is_none() {
        errors.add("encounter_type", "Choose the type of consultation");
    }
    let when = consultation_time(&form.date, checks, &mut errors);

    let mut topics = Vec::new();
    for (i, topic) in form.topics.iter().enumerate() {
        if let Some(valid) = check_topic(i, topic, checks, &mut errors) {
            topics.push(valid);
        }
    }

    let (measurements, blood_pressure) =
        check_measurements(form, checks, &mut errors, &mut warnings);

    let today = when
        .map(|w| w.date_naive())
        .unwrap_or(checks.now.date_naive());
    let allergies: Vec<ValidAllergy> = form
        .allergies
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.is_blank())
        .filter_map(|(i, a)| check_allergy(i, a, checks, &mut errors))
        .collect();
    let immunisations: Vec<ValidImmunisation> = form
        .immunisations
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_blank())
        .filter_map(|(i, v)| check_immunisation(i, v, today, checks, &mut errors))
        .collect();
    let task = check_task(&form.task, today, checks, &mut errors);

    let mut files = Vec::new();
    for input in form.attachments.iter().filter(|a| !a.bytes.is_empty()) {
        match attachments::check(input) {
            Ok(file) => files.push(file),
            Err(message) => errors.add("attachments", message),
        }
    }

    let nothing_else = measurements.is_empty()
        && blood_pressure.is_none()
        && allergies.is_empty()
        && immunisations.is_empty()
        && task.is_none()
        && files.is_empty();
    if topics.is_empty() {
        if nothing_else && errors.is_empty() {
            errors.add(
                "t0_title",
                "Enter something to record: a topic, an entry or a measurement",
            );
        } else {
            // Measurements alone still need a topic to sit under.
            topics.push(ValidTopic {
                title: "Consultation".into(),
                problem: TopicProblem::None,
                entries: Vec::new(),
            });
        }
    }

    let (Some(encounter_type), Some(when), true) = (encounter_type, when, errors.is_empty()) else {
        return Err(errors);
    };
    Ok(Checked {
        consultation: ValidConsultation {
            patient_id: checks.patient.id.clone(),
            encounter_type,
            when,
            topics,
            measurements,
            blood_pressure,
            allergies,
            immunisations,
            task,
            attachments: files,
        },
        warnings,
    })
}

fn consultation_time(
    typed: &str,
    checks: &Checks,
    errors: &mut FieldErrors,
) -> Option<DateTime<Local>> {
    let typed = typed.trim();
    if typed.is_empty() {
        errors.add("date", "Enter the date and time of the consultation");
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(typed, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(typed, "%Y-%m-%dT%H:%M:%S"));
    let Some(when) = naive
        .ok()
        .and_then(|n| Local.from_local_datetime(&n).earliest())
    else {
        errors.add("date", "Enter a real date and time, like 21/11/2026 09:30");
        return None;
    };
    if when > checks.now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) {
        errors.add("date", "The consultation cannot be in the future");
        return None;
    }
    if let Some(born) = checks.patient.birth_date
        && when.date_naive() < born
    {
        errors.add(
            "date",
            format!(
                "The consultation cannot be before the patient was born ({})",
                fhir::uk::date_text(born)
            ),
        );
        return None;
    }
    Some(when)
}

/// A SNOMED CT code chosen with the picker, checked against the terminology. The error
/// goes on the visible term input.
fn concept(
    code: &str,
    term: &str,
    field: &str,
    checks: &Checks,
    errors: &mut FieldErrors,
) -> Option<Coded> {
    let code = code.trim();
    if code.is_empty() && term.trim().is_empty() {
        return None;
    }
    match checks.terminology.concept(code) {
        Some(c) if !code.is_empty() => Some(Coded {
            code: c.id.clone(),
            display: c.preferred.clone(),
        }),
        _ => {
            errors.add(field, CHOOSE_TERM);
            None
        }
    }
}

fn check_text(text: &str, field: &str, errors: &mut FieldErrors) -> String {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT {
        errors.add(
            field,
            format!(
                "Keep this under {MAX_TEXT} characters (add a longer document as an attachment)"
            ),
        );
    }
    text.to_string()
}

fn check_topic(
    i: usize,
    topic: &TopicInput,
    checks: &Checks,
    errors: &mut FieldErrors,
) -> Option<ValidTopic> {
    if topic.is_blank() {
        return None;
    }
    let before = errors.0.len();
    let existing = topic.problem.trim();
    let wants_new = !topic.new_term.trim().is_empty() || !topic.new_code.trim().is_empty();
    let mut title = topic.title.trim().to_string();
    let problem = if !existing.is_empty() && wants_new {
        errors.add(
            format!("t{i}_problem"),
            "Choose an existing problem or add a new one, not both",
        );
        TopicProblem::None
    } else if !existing.is_empty() {
        match checks.patient.problems.iter().find(|p| p.id == existing) {
            Some(p) => {
                if title.is_empty() {
                    title = p.display.clone();
                }
                TopicProblem::Existing {
                    id: p.id.clone(),
                    version: p.version,
                }
            }
            None => {
                errors.add(
                    format!("t{i}_problem"),
                    "Choose one of the patient's problems",
                );
                TopicProblem::None
            }
        }
    } else if wants_new {
        let concept = concept(
            &topic.new_code,
            &topic.new_term,
            &format!("t{i}_new_term"),
            checks,
            errors,
        );
        let significance = match topic.significance.as_str() {
            "major" => Some(Significance::Major),
            "minor" => Some(Significance::Minor),
            _ => {
                errors.add(
                    format!("t{i}_significance"),
                    "Say whether the new problem is major or minor",
                );
                None
            }
        };
        match (concept, significance) {
            (Some(concept), Some(significance)) => {
                if title.is_empty() {
                    title = concept.display.clone();
                }
                TopicProblem::New {
                    concept,
                    significance,
                }
            }
            _ => TopicProblem::None,
        }
    } else {
        TopicProblem::None
    };
    let entries: Vec<ValidEntry> = topic
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.is_blank())
        .filter_map(|(j, e)| check_entry(&format!("t{i}_e{j}"), e, checks, errors))
        .collect();
    if title.is_empty() {
        title = entries
            .iter()
            .find_map(|e| e.concept.as_ref().map(|c| c.display.clone()))
            .unwrap_or_else(|| "Consultation".to_string());
    }
    if title.chars().count() > 200 {
        errors.add(
            format!("t{i}_title"),
            "Keep the topic title under 200 characters",
        );
    }
    (errors.0.len() == before).then_some(ValidTopic {
        title,
        problem,
        entries,
    })
}

fn check_entry(
    prefix: &str,
    entry: &EntryInput,
    checks: &Checks,
    errors: &mut FieldErrors,
) -> Option<ValidEntry> {
    let before = errors.0.len();
    let heading = HEADINGS
        .iter()
        .find(|(key, _, _)| *key == entry.heading)
        .map(|(key, _, _)| *key);
    if heading.is_none() {
        errors.add(format!("{prefix}_heading"), "Choose a heading");
    }
    let concept = concept(
        &entry.code,
        &entry.term,
        &format!("{prefix}_term"),
        checks,
        errors,
    );
    let text = check_text(&entry.text, &format!("{prefix}_text"), errors);
    (errors.0.len() == before).then(|| ValidEntry {
        heading: heading.unwrap_or("comment"),
        concept,
        text,
    })
}

/// Parses and checks every measurement typed, then the blood pressure pair and BMI.
fn check_measurements(
    form: &ConsultationForm,
    checks: &Checks,
    errors: &mut FieldErrors,
    warnings: &mut FieldErrors,
) -> (Vec<Measurement>, Option<(f64, f64)>) {
    let mut values = Vec::new();
    for kind in observations::CATALOGUE.iter() {
        let typed = form.observation(kind.key).trim();
        if typed.is_empty() {
            continue;
        }
        let field = format!("obs_{}", kind.key);
        let Some(value) = typed.parse::<f64>().ok().filter(|v| v.is_finite()) else {
            errors.add(
                field,
                format!(
                    "Enter the {} as a number, like {}",
                    kind.label.to_lowercase(),
                    example(kind)
                ),
            );
            continue;
        };
        match kind.check(value) {
            Plausibility::Implausible(message) => errors.add(field, message),
            Plausibility::Unusual(message) => {
                warnings.add(field, message);
                values.push(Measurement {
                    kind,
                    value: kind.round(value),
                });
            }
            Plausibility::Usual => values.push(Measurement {
                kind,
                value: kind.round(value),
            }),
        }
    }
    let value_of = |key: &str| values.iter().find(|m| m.kind.key == key).map(|m| m.value);

    let systolic_typed = !form.observation(SYSTOLIC.key).trim().is_empty();
    let diastolic_typed = !form.observation(DIASTOLIC.key).trim().is_empty();
    let blood_pressure = match (value_of(SYSTOLIC.key), value_of(DIASTOLIC.key)) {
        (Some(s), Some(d)) if s <= d => {
            errors.add(
                "obs_bp_systolic",
                "The systolic pressure (the first number) must be higher than the diastolic",
            );
            None
        }
        (Some(s), Some(d)) => Some((s, d)),
        _ => {
            if systolic_typed && !diastolic_typed {
                errors.add("obs_bp_diastolic", "Enter the diastolic pressure as well");
            }
            if diastolic_typed && !systolic_typed {
                errors.add("obs_bp_systolic", "Enter the systolic pressure as well");
            }
            None
        }
    };

    let mut measurements: Vec<Measurement> = values
        .into_iter()
        .filter(|m| m.kind.key != SYSTOLIC.key && m.kind.key != DIASTOLIC.key)
        .collect();
    if let Some(bmi) = computed_bmi(form, checks) {
        match observations::BMI.check(bmi) {
            Plausibility::Implausible(message) => errors.add(
                "obs_height",
                format!("These give a BMI that cannot be right: {message}"),
            ),
            Plausibility::Unusual(message) => {
                warnings.add("obs_weight", message);
                measurements.push(Measurement {
                    kind: &observations::BMI,
                    value: bmi,
                });
            }
            Plausibility::Usual => measurements.push(Measurement {
                kind: &observations::BMI,
                value: bmi,
            }),
        }
    }
    (measurements, blood_pressure)
}

/// BMI from the weight and height typed, or from the weight and the latest height on
/// record for an adult (children grow: their old height would mislead).
pub fn computed_bmi(form: &ConsultationForm, checks: &Checks) -> Option<f64> {
    let number = |key: &str| form.observation(key).trim().parse::<f64>().ok();
    let weight = number(WEIGHT.key)?;
    let height = number(HEIGHT.key).or_else(|| {
        let adult = checks
            .patient
            .birth_date
            .and_then(|born| checks.now.date_naive().years_since(born))
            .is_some_and(|age| age >= 18);
        checks.patient.latest_height_cm.filter(|_| adult)
    })?;
    if matches!(WEIGHT.check(weight), Plausibility::Implausible(_))
        || matches!(HEIGHT.check(height), Plausibility::Implausible(_))
    {
        return None;
    }
    observations::bmi(weight, height)
}

fn example(kind: &ObservationKind) -> String {
    let (low, high) = kind.limits.usual;
    observations::format_value(kind.round((low + high) / 2.0), kind.decimals)
}

fn check_allergy(
    i: usize,
    allergy: &AllergyInput,
    checks: &Checks,
    errors: &mut FieldErrors,
) -> Option<ValidAllergy> {
    let before = errors.0.len();
    let substance = concept(
        &allergy.code,
        &allergy.term,
        &format!("a{i}_term"),
        checks,
        errors,
    );
    if substance.is_none() && errors.0.len() == before {
        errors.add(format!("a{i}_term"), "Choose the substance from the list");
    }
    let reaction = check_text(&allergy.reaction, &format!("a{i}_reaction"), errors);
    let severity = match allergy.severity.as_str() {
        "" => None,
        "mild" => Some("mild"),
        "moderate" => Some("moderate"),
        "severe" => Some("severe"),
        _ => {
            errors.add(format!("a{i}_severity"), "Choose mild, moderate or severe");
            None
        }
    };
    if severity.is_some() && reaction.is_empty() {
        errors.add(
            format!("a{i}_reaction"),
            "Describe the reaction, or leave the severity blank",
        );
    }
    let kind = match allergy.kind.as_str() {
        "" | "allergy" => "allergy",
        "intolerance" => "intolerance",
        _ => {
            errors.add(format!("a{i}_type"), "Choose allergy or intolerance");
            "allergy"
        }
    };
    (errors.0.len() == before).then(|| ValidAllergy {
        substance: substance.expect("checked above"),
        reaction: (!reaction.is_empty()).then_some(reaction),
        severity,
        kind,
    })
}

fn check_immunisation(
    i: usize,
    vaccine: &ImmunisationInput,
    consultation_day: NaiveDate,
    checks: &Checks,
    errors: &mut FieldErrors,
) -> Option<ValidImmunisation> {
    let before = errors.0.len();
    let coded = concept(
        &vaccine.code,
        &vaccine.term,
        &format!("v{i}_term"),
        checks,
        errors,
    );
    if coded.is_none() && errors.0.len() == before {
        errors.add(format!("v{i}_term"), "Choose the vaccine from the list");
    }
    let dose = match vaccine.dose.trim() {
        "" => None,
        typed => match typed.parse::<u32>() {
            Ok(n) if (1..=20).contains(&n) => Some(n),
            _ => {
                errors.add(format!("v{i}_dose"), "Enter the dose number, like 1 or 2");
                None
            }
        },
    };
    let batch = vaccine.batch.trim();
    if batch.chars().count() > 40 {
        errors.add(
            format!("v{i}_batch"),
            "A batch number is at most 40 characters",
        );
    }
    let site = vaccine.site.trim();
    if site.chars().count() > 100 {
        errors.add(format!("v{i}_site"), "Keep the site under 100 characters");
    }
    let given = match vaccine.date.trim() {
        "" => Some(consultation_day),
        typed => check_day(typed, &format!("v{i}_date"), checks, errors),
    };
    if let Some(day) = given
        && day > checks.now.date_naive()
    {
        errors.add(
            format!("v{i}_date"),
            "The date given cannot be in the future",
        );
    }
    (errors.0.len() == before).then(|| ValidImmunisation {
        vaccine: coded.expect("checked above"),
        dose,
        site: (!site.is_empty()).then(|| site.to_string()),
        batch: (!batch.is_empty()).then(|| batch.to_string()),
        given: given.expect("checked above"),
    })
}

/// A `YYYY-MM-DD` date that is real and not before the patient was born.
fn check_day(
    typed: &str,
    field: &str,
    checks: &Checks,
    errors: &mut FieldErrors,
) -> Option<NaiveDate> {
    let Ok(day) = NaiveDate::parse_from_str(typed, "%Y-%m-%d") else {
        errors.add(field, "Enter a real date, like 21/11/2026");
        return None;
    };
    if let Some(born) = checks.patient.birth_date
        && day < born
    {
        errors.add(field, "The date cannot be before the patient was born");
        return None;
    }
    Some(day)
}

fn check_task(
    task: &TaskInput,
    consultation_day: NaiveDate,
    checks: &Checks,
    errors: &mut FieldErrors,
) -> Option<ValidTask> {
    if task.is_blank() {
        return None;
    }
    let before = errors.0.len();
    let owner = task.owner.trim();
    if !checks.colleagues.iter().any(|c| c.id == owner) {
        errors.add("task_owner", "Choose who the task is for");
    }
    let description = check_text(&task.description, "task_description", errors);
    if description.is_empty() {
        errors.add("task_description", "Say what needs doing");
    }
    let due = match task.due.trim() {
        "" => None,
        typed => match NaiveDate::parse_from_str(typed, "%Y-%m-%d") {
            Ok(day) if day < consultation_day => {
                errors.add("task_due", "The due date cannot be before the consultation");
                None
            }
            Ok(day) => Some(day),
            Err(_) => {
                errors.add("task_due", "Enter a real date, like 28/11/2026");
                None
            }
        },
    };
    let priority = match task.priority.as_str() {
        "" | "routine" => "routine",
        "urgent" => "urgent",
        _ => {
            errors.add("task_priority", "Choose routine or urgent");
            "routine"
        }
    };
    (errors.0.len() == before).then(|| ValidTask {
        owner: owner.to_string(),
        description,
        due,
        priority,
    })
}
