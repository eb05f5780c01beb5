//! SNOMED CT for coded entry: type words ("high blood", "t2 diab"), pick a concept.
//!
//! - A starter set of common primary-care concepts ships with OpenGP ([`Terminology::starter`]).
//! - A practice's licensed SNOMED CT UK RF2 release can be imported ([`rf2::import`]),
//!   saved in a compact file ([`Terminology::save`]) and loaded at start-up
//!   ([`Terminology::load`]) in place of the starter set.
//! - [`Terminology::search`] ranks exact and preferred terms first.
//! - [`Terminology::validate_code`] is how a form checks a posted code.

mod category;
mod index;
pub mod rf2;
mod sctid;
mod tokens;
mod tsv;

pub use category::{Category, semantic_tag};
pub use sctid::is_valid_sctid;
pub use tokens::tokenize;

use index::Index;
use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

/// One concept with its terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concept {
    /// The SNOMED CT concept id (SCTID).
    pub id: String,
    /// The fully specified name, with its semantic tag.
    pub fsn: String,
    /// The UK English preferred term.
    pub preferred: String,
    /// Other acceptable terms (synonyms).
    pub synonyms: Vec<String>,
    pub category: Category,
}

/// A search result: the concept and the term that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub id: String,
    /// The term that matched the query (a synonym or the preferred term).
    pub term: String,
    /// The concept's preferred term (shown when `term` is a synonym).
    pub preferred: String,
    pub category: Category,
}

#[derive(Debug, thiserror::Error)]
pub enum TerminologyError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Format(String),
}

/// Why a posted code cannot be recorded; the message is written for the person at the
/// form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownCode {
    #[error("Choose a coded term from the list")]
    Missing,
    #[error("{0} is not a SNOMED CT code: choose a term from the list")]
    NotSnomed(String),
    #[error("SNOMED CT code {0} is not known to OpenGP: choose a term from the list")]
    NotKnown(String),
    #[error("\"{term}\" ({found}) cannot be recorded here: choose a {wanted} term from the list")]
    WrongKind {
        term: String,
        found: &'static str,
        wanted: String,
    },
}

/// The concepts OpenGP knows, indexed for search.
pub struct Terminology {
    concepts: Vec<Concept>,
    by_id: HashMap<String, u32>,
    index: Index,
}

static STARTER_TSV: &str = include_str!("../data/starter.tsv");
static STARTER: LazyLock<Vec<Concept>> = LazyLock::new(|| {
    tsv::parse(STARTER_TSV).expect("the bundled starter terminology is well formed")
});

impl Terminology {
    /// The starter set shipped with OpenGP.
    pub fn starter() -> Terminology {
        Terminology::from_concepts(STARTER.clone())
    }

    /// An index over these concepts. A repeated id keeps its last entry.
    pub fn from_concepts(concepts: Vec<Concept>) -> Terminology {
        let mut by_id: HashMap<String, u32> = HashMap::with_capacity(concepts.len());
        let mut kept: Vec<Concept> = Vec::with_capacity(concepts.len());
        for mut concept in concepts {
            // A synonym spelled like the preferred term would only duplicate results.
            let preferred = concept.preferred.clone();
            concept.synonyms.retain(|s| *s != preferred);
            match by_id.get(&concept.id) {
                Some(&at) => kept[at as usize] = concept,
                None => {
                    by_id.insert(concept.id.clone(), kept.len() as u32);
                    kept.push(concept);
                }
            }
        }
        let index = Index::build(&kept);
        Terminology {
            concepts: kept,
            by_id,
            index,
        }
    }

    /// A terminology saved by [`Terminology::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Terminology, TerminologyError> {
        let text = std::fs::read_to_string(path)?;
        Ok(Terminology::from_concepts(tsv::parse(&text)?))
    }

    /// Writes every concept in the compact form [`Terminology::load`] reads.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), TerminologyError> {
        std::fs::write(path, tsv::write(&self.concepts))?;
        Ok(())
    }

    /// The best `limit` matches for what was typed, best first, one per concept,
    /// optionally only of these categories (empty: all). Every word typed must begin a
    /// word of the term, in any order.
    pub fn search(&self, query: &str, categories: &[Category], limit: usize) -> Vec<Match> {
        let mask = categories.iter().fold(0u8, |m, c| m | c.bit());
        self.index
            .search(query, mask, limit)
            .into_iter()
            .map(|(c, t)| {
                let concept = &self.concepts[c as usize];
                Match {
                    id: concept.id.clone(),
                    term: index::term_of(concept, t).to_string(),
                    preferred: concept.preferred.clone(),
                    category: concept.category,
                }
            })
            .collect()
    }

    /// The concept with this id, if known.
    pub fn concept(&self, id: &str) -> Option<&Concept> {
        self.by_id.get(id).map(|&at| &self.concepts[at as usize])
    }

    /// The concept a form posted, or why it cannot be recorded.
    pub fn validate_code(&self, id: &str) -> Result<&Concept, UnknownCode> {
        let id = id.trim();
        if id.is_empty() {
            return Err(UnknownCode::Missing);
        }
        if !is_valid_sctid(id) {
            return Err(UnknownCode::NotSnomed(id.to_string()));
        }
        self.concept(id)
            .ok_or_else(|| UnknownCode::NotKnown(id.to_string()))
    }

    /// As [`Terminology::validate_code`], and the concept must be of one of these
    /// categories (empty: any).
    pub fn validate_code_in(
        &self,
        id: &str,
        categories: &[Category],
    ) -> Result<&Concept, UnknownCode> {
        let concept = self.validate_code(id)?;
        if categories.is_empty() || categories.contains(&concept.category) {
            return Ok(concept);
        }
        Err(UnknownCode::WrongKind {
            term: concept.preferred.clone(),
            found: concept.category.name(),
            wanted: categories
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(" or "),
        })
    }

    /// Every concept, in the order given.
    pub fn concepts(&self) -> impl Iterator<Item = &Concept> {
        self.concepts.iter()
    }

    pub fn len(&self) -> usize {
        self.concepts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.concepts.is_empty()
    }
}

impl Default for Terminology {
    fn default() -> Terminology {
        Terminology::from_concepts(Vec::new())
    }
}

impl std::fmt::Debug for Terminology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminology")
            .field("concepts", &self.concepts.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
