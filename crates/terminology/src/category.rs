//! What kind of thing a concept is, read from its semantic tag.

/// What kind of thing a concept is, from its semantic tag, so a picker can offer only
/// problems, or only allergens, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Disorders and diagnoses: what goes on a problem list (`(disorder)`).
    Disorder,
    /// Findings and symptoms (`(finding)`).
    Finding,
    /// Procedures, including immunisation procedures and regimes (`(procedure)`,
    /// `(regime/therapy)`).
    Procedure,
    /// Things measured: blood pressure, HbA1c (`(observable entity)`).
    Observable,
    /// Substances and products people react to (`(substance)`, `(product)`).
    Substance,
    /// Situations: family history, history of (`(situation)`).
    Situation,
    /// Anything else (`(qualifier value)`, `(record artifact)`, ...).
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Disorder,
        Category::Finding,
        Category::Procedure,
        Category::Observable,
        Category::Substance,
        Category::Situation,
        Category::Other,
    ];

    /// The lowercase name used in URLs and JSON (`disorder`, `finding`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Category::Disorder => "disorder",
            Category::Finding => "finding",
            Category::Procedure => "procedure",
            Category::Observable => "observable",
            Category::Substance => "substance",
            Category::Situation => "situation",
            Category::Other => "other",
        }
    }

    /// The category with this [`name`](Category::name).
    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The category of a semantic tag, such as `disorder` or `observable entity`.
    pub fn from_semantic_tag(tag: &str) -> Category {
        match tag {
            "disorder" => Category::Disorder,
            "finding" => Category::Finding,
            "procedure" | "regime/therapy" => Category::Procedure,
            "observable entity" => Category::Observable,
            "situation" => Category::Situation,
            "substance" => Category::Substance,
            // Medicines and vaccines: the drug model's tags all name a product or drug.
            tag if tag.contains("product") || tag.contains("clinical drug") => Category::Substance,
            _ => Category::Other,
        }
    }

    /// This category as one bit, for filtering.
    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The semantic tag of a fully specified name: `Asthma (disorder)` → `disorder`.
pub fn semantic_tag(fsn: &str) -> Option<&str> {
    let open = fsn.trim_end().strip_suffix(')')?.rfind('(')?;
    Some(&fsn.trim_end()[open + 1..fsn.trim_end().len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_map_to_categories() {
        assert_eq!(semantic_tag("Asthma (disorder)"), Some("disorder"));
        assert_eq!(
            semantic_tag("Body mass index (observable entity)"),
            Some("observable entity")
        );
        assert_eq!(semantic_tag("No tag"), None);
        assert_eq!(
            Category::from_semantic_tag("regime/therapy"),
            Category::Procedure
        );
        assert_eq!(
            Category::from_semantic_tag("medicinal product"),
            Category::Substance
        );
        assert_eq!(
            Category::from_semantic_tag("record artifact"),
            Category::Other
        );
    }

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::from_name(c.name()), Some(c));
        }
        assert_eq!(Category::from_name("disorders"), None);
    }
}
