//! A person's name (FHIR HumanName) as UK clinical systems show it.

use super::strings;
use serde_json::Value;

/// What is shown when a person has no usable name.
pub const NO_NAME: &str = "Name not recorded";

/// One HumanName, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonName {
    /// `official`, `usual`, … as recorded.
    pub use_: Option<String>,
    pub text: Option<String>,
    pub family: Option<String>,
    pub given: Vec<String>,
    /// Titles: `Mrs`, `Dr`.
    pub prefix: Vec<String>,
    /// `OBE`, `Jr`.
    pub suffix: Vec<String>,
}

impl PersonName {
    /// One HumanName element.
    pub fn from_json(name: &Value) -> PersonName {
        let text = |key: &str| {
            name[key]
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        PersonName {
            use_: text("use"),
            text: text("text"),
            family: text("family"),
            given: strings(&name["given"]),
            prefix: strings(&name["prefix"]),
            suffix: strings(&name["suffix"]),
        }
    }

    /// The name a person (Patient, Practitioner, RelatedPerson) is known by: the
    /// `official` name, else the `usual` one, else the first recorded.
    pub fn of(resource: &Value) -> Option<PersonName> {
        Self::preferred(&resource["name"])
    }

    /// The preferred name of a `name` array (see [`PersonName::of`]).
    pub fn preferred(names: &Value) -> Option<PersonName> {
        let names = names.as_array()?;
        names
            .iter()
            .find(|n| n["use"] == "official")
            .or_else(|| names.iter().find(|n| n["use"] == "usual"))
            .or_else(|| names.first())
            .map(Self::from_json)
            .filter(|n| !n.is_empty())
    }

    fn is_empty(&self) -> bool {
        self.text.is_none() && self.family.is_none() && self.given.is_empty()
    }

    /// `SMITH, Ann Marie (Mrs)`: surname first in capitals, as patient banners and lists
    /// show it; the text when there is no surname or given name.
    pub fn banner(&self) -> String {
        let family = self.family.as_deref().unwrap_or("").to_uppercase();
        let given = self.given.join(" ");
        let mut out = match (family.is_empty(), given.is_empty()) {
            (false, false) => format!("{family}, {given}"),
            (false, true) => family,
            (true, false) => given,
            (true, true) => self.text.clone().unwrap_or_else(|| NO_NAME.to_string()),
        };
        if !self.prefix.is_empty() {
            out.push_str(&format!(" ({})", self.prefix.join(" ")));
        }
        out
    }

    /// `Dr Sarah Lindqvist`: title, given names, surname and suffix in reading order, as
    /// a colleague is named; the text when there is no surname or given name.
    pub fn plain(&self) -> String {
        if self.family.is_none() && self.given.is_empty() {
            return self.text.clone().unwrap_or_else(|| NO_NAME.to_string());
        }
        let words: Vec<&str> = self
            .prefix
            .iter()
            .chain(&self.given)
            .map(String::as_str)
            .chain(self.family.as_deref())
            .chain(self.suffix.iter().map(String::as_str))
            .collect();
        words.join(" ")
    }

    /// The first given name, if any (for matching and greetings).
    pub fn first_given(&self) -> Option<&str> {
        self.given.first().map(String::as_str)
    }

    /// [`PersonName::banner`] of a resource's preferred name, or [`NO_NAME`].
    pub fn banner_of(resource: &Value) -> String {
        Self::of(resource)
            .map(|n| n.banner())
            .unwrap_or_else(|| NO_NAME.to_string())
    }

    /// How a resource's person is named in lists: a Patient surname first
    /// ([`PersonName::banner`]), anyone else (colleagues) in reading order
    /// ([`PersonName::plain`]).
    pub fn display_of(resource: &Value) -> String {
        if resource["resourceType"] == "Patient" {
            Self::banner_of(resource)
        } else {
            Self::plain_of(resource)
        }
    }

    /// [`PersonName::plain`] of a resource's preferred name, or [`NO_NAME`].
    pub fn plain_of(resource: &Value) -> String {
        Self::of(resource)
            .map(|n| n.plain())
            .unwrap_or_else(|| NO_NAME.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_official_name_then_the_usual_then_the_first() {
        let p = json!({"name": [
            {"use": "maiden", "family": "Jones", "given": ["Ann"]},
            {"use": "usual", "family": "Smith", "given": ["Annie"]},
            {"use": "official", "family": "Smith", "given": ["Ann", "Marie"], "prefix": ["Mrs"]}
        ]});
        assert_eq!(PersonName::banner_of(&p), "SMITH, Ann Marie (Mrs)");
        let p = json!({"name": [
            {"use": "maiden", "family": "Jones", "given": ["Ann"]},
            {"use": "usual", "family": "Smith", "given": ["Annie"]}
        ]});
        assert_eq!(PersonName::banner_of(&p), "SMITH, Annie");
        let p = json!({"name": [{"family": "Jones", "given": ["Ann"]}]});
        assert_eq!(PersonName::banner_of(&p), "JONES, Ann");
    }

    #[test]
    fn banner_form_with_parts_missing() {
        let banner = |n: Value| PersonName::from_json(&n).banner();
        assert_eq!(banner(json!({"family": "Smith"})), "SMITH");
        assert_eq!(banner(json!({"given": ["Ann"]})), "Ann");
        assert_eq!(banner(json!({"text": "Baby Smith"})), "Baby Smith");
        assert_eq!(banner(json!({})), NO_NAME);
        assert_eq!(PersonName::banner_of(&json!({})), NO_NAME);
        assert_eq!(PersonName::banner_of(&json!({"name": [{}]})), NO_NAME);
    }

    #[test]
    fn plain_form_reads_in_order_with_title_and_suffix() {
        let n = json!({"name": [{"use": "official", "family": "Lindqvist",
            "given": ["Sarah", "Jane"], "prefix": ["Dr"], "suffix": ["OBE"]}]});
        assert_eq!(PersonName::plain_of(&n), "Dr Sarah Jane Lindqvist OBE");
        assert_eq!(
            PersonName::plain_of(&json!({"name": [{"text": "Practice Nurse"}]})),
            "Practice Nurse"
        );
        assert_eq!(PersonName::plain_of(&json!({"name": []})), NO_NAME);
        let patient =
            json!({"resourceType": "Patient", "name": [{"family": "Smith", "given": ["Ann"]}]});
        assert_eq!(PersonName::display_of(&patient), "SMITH, Ann");
        let gp = json!({"resourceType": "Practitioner", "name": [{"family": "Smith", "given": ["Ann"]}]});
        assert_eq!(PersonName::display_of(&gp), "Ann Smith");
    }

    #[test]
    fn blank_parts_are_ignored() {
        let n = PersonName::from_json(&json!({"family": " ", "given": ["", "Ann"]}));
        assert_eq!(n.family, None);
        assert_eq!(n.given, vec!["Ann".to_string()]);
        assert_eq!(n.first_given(), Some("Ann"));
    }
}
