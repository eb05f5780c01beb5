//! Problems with what a user entered, each tied to the part of the input it is about, so
//! a page can show the message next to its field and in the error summary.
//!
//! Services name the parts with their own enums (`PatientField`, `ProblemField`, ...);
//! the web layer maps those to its input names. `String` keys remain for the services
//! not converted yet (consultation).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError<F = String> {
    /// Which part of the input this is about.
    pub field: F,
    /// What is wrong and how to put it right, in plain English.
    pub message: String,
}

/// The problems found in one submitted form; empty means it can be saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors<F = String>(pub Vec<FieldError<F>>);

impl<F> Default for FieldErrors<F> {
    fn default() -> Self {
        FieldErrors(Vec::new())
    }
}

impl<F> FieldErrors<F> {
    pub fn new() -> Self {
        FieldErrors(Vec::new())
    }

    pub fn add(&mut self, field: impl Into<F>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for `field`, if it has one.
    pub fn get<Q: ?Sized>(&self, field: &Q) -> Option<&str>
    where
        F: PartialEq<Q>,
    {
        self.0
            .iter()
            .find(|e| e.field == *field)
            .map(|e| e.message.as_str())
    }

    /// The same problems with their fields renamed, e.g. to a page's input names.
    pub fn map_fields<G>(self, mut rename: impl FnMut(F) -> G) -> FieldErrors<G> {
        FieldErrors(
            self.0
                .into_iter()
                .map(|e| FieldError {
                    field: rename(e.field),
                    message: e.message,
                })
                .collect(),
        )
    }

    /// Adds all of `other`'s problems after these.
    pub fn extend(&mut self, other: FieldErrors<F>) {
        self.0.extend(other.0);
    }

    /// `Ok(value)` when there are no problems.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors<F>> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl<F: fmt::Display> fmt::Display for FieldErrors<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl<F: fmt::Debug + fmt::Display> std::error::Error for FieldErrors<F> {}
