//! Form pieces the pages share: a labelled text input with its hint and error, and the
//! choices of a select or radio group.

use clinical::FieldErrors;

/// How a text input is labelled and typed; its value and error come from the form.
pub struct FieldSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    /// `text`, `tel`, `email`.
    pub kind: &'static str,
    pub autocomplete: &'static str,
    /// A CSS width modifier (`short`, `medium`, or empty).
    pub width: &'static str,
}

/// A text input with its label, hint and what was typed.
#[derive(Debug, Clone)]
pub struct TextField {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub value: String,
    pub error: Option<String>,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub width: &'static str,
}

/// The inputs of `specs`, each with its value from `values` (in the same order) and its
/// error, if any.
pub fn text_fields(specs: &[FieldSpec], values: &[&str], errors: &FieldErrors) -> Vec<TextField> {
    specs
        .iter()
        .zip(values)
        .map(|(spec, value)| TextField {
            name: spec.name,
            label: spec.label,
            hint: spec.hint,
            value: value.to_string(),
            error: errors.get(spec.name).map(str::to_string),
            kind: spec.kind,
            autocomplete: spec.autocomplete,
            width: spec.width,
        })
        .collect()
}

/// One choice of a radio group or select.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// `(value, label)` options as choices, the one whose value is `selected` marked.
pub fn choices<V: Into<String>, L: Into<String>>(
    options: impl IntoIterator<Item = (V, L)>,
    selected: &str,
) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| {
            let value = value.into();
            Choice {
                selected: value == selected,
                value,
                label: label.into(),
            }
        })
        .collect()
}
