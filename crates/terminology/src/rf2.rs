//! Import of a SNOMED CT UK Edition release in RF2 (the practice's licensed copy).
//!
//! Reads the Snapshot files under a release directory (searched recursively):
//! - `sct2_Concept_*Snapshot*.txt`: which concepts are active;
//! - `sct2_Description_*Snapshot-en*.txt`: their terms (FSN and synonyms);
//! - `der2_cRefset_Language*Snapshot*.txt`: which terms are preferred or acceptable in
//!   UK English. The UK clinical language refset wins over GB English.
//!
//! Inactive concepts, inactive descriptions, inactive refset rows and terms that are not
//! acceptable in UK English are left out.

use crate::{Category, Concept, TerminologyError, semantic_tag};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Language refsets whose preferred terms OpenGP shows, most preferred first.
pub const LANGUAGE_REFSETS: [u64; 2] = [
    999001261000000100, // UK clinical language reference set
    900000000000508004, // GB English language reference set
];
pub const PREFERRED: u64 = 900000000000548007;
pub const ACCEPTABLE: u64 = 900000000000549004;
pub const FSN_TYPE: u64 = 900000000000003001;
pub const SYNONYM_TYPE: u64 = 900000000000013009;

/// How a description is used in the best language refset that lists it.
#[derive(Clone, Copy)]
struct Acceptability {
    /// Position in [`LANGUAGE_REFSETS`].
    refset: usize,
    preferred: bool,
}

#[derive(Default)]
struct Terms {
    fsn: Option<String>,
    /// (term, acceptability) of each accepted synonym.
    synonyms: Vec<(String, Acceptability)>,
}

/// The active concepts of the release in `dir`, with their UK English terms, by id.
pub fn import(dir: impl AsRef<Path>) -> Result<Vec<Concept>, TerminologyError> {
    let dir = dir.as_ref();
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    let pick =
        |what: &str, test: &dyn Fn(&str) -> bool| -> Result<Vec<PathBuf>, TerminologyError> {
            let found: Vec<PathBuf> = files
                .iter()
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(test))
                .cloned()
                .collect();
            if found.is_empty() {
                return Err(TerminologyError::Format(format!(
                    "no {what} file in {}",
                    dir.display()
                )));
            }
            Ok(found)
        };
    let snapshot = |name: &str, prefix: &str| {
        name.starts_with(prefix) && name.contains("Snapshot") && name.ends_with(".txt")
    };
    let concept_files = pick("sct2_Concept_*Snapshot*.txt", &|n| {
        snapshot(n, "sct2_Concept_")
    })?;
    let description_files = pick("sct2_Description_*Snapshot-en*.txt", &|n| {
        snapshot(n, "sct2_Description_") && n.contains("-en")
    })?;
    let language_files = pick("der2_cRefset_Language*Snapshot*.txt", &|n| {
        snapshot(n, "der2_cRefset_Language")
    })?;

    let mut active: HashMap<u64, bool> = HashMap::new();
    for path in &concept_files {
        rows(path, 5, |f| {
            active.insert(number(f[0])?, f[2] == "1");
            Ok(())
        })?;
    }

    let mut acceptability: HashMap<u64, Acceptability> = HashMap::new();
    for path in &language_files {
        rows(path, 7, |f| {
            let Some(refset) = LANGUAGE_REFSETS
                .iter()
                .position(|&r| r == number(f[4]).unwrap_or(0))
            else {
                return Ok(());
            };
            if f[2] != "1" {
                return Ok(());
            }
            let preferred = match number(f[6])? {
                PREFERRED => true,
                ACCEPTABLE => false,
                _ => return Ok(()),
            };
            let entry = acceptability
                .entry(number(f[5])?)
                .or_insert(Acceptability { refset, preferred });
            if refset < entry.refset {
                *entry = Acceptability { refset, preferred };
            }
            Ok(())
        })?;
    }

    let mut terms: HashMap<u64, Terms> = HashMap::new();
    for path in &description_files {
        rows(path, 9, |f| {
            let concept = number(f[4])?;
            if f[2] != "1" || f[5] != "en" || active.get(&concept) != Some(&true) {
                return Ok(());
            }
            let term = f[7].to_string();
            match number(f[6])? {
                FSN_TYPE => terms.entry(concept).or_default().fsn = Some(term),
                SYNONYM_TYPE => {
                    if let Some(&a) = acceptability.get(&number(f[0])?) {
                        terms.entry(concept).or_default().synonyms.push((term, a));
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
    }

    let mut concepts: Vec<Concept> = terms
        .into_iter()
        .filter_map(|(id, terms)| concept(id, terms))
        .collect();
    concepts.sort_unstable_by_key(|c| c.id.parse::<u64>().unwrap_or(u64::MAX));
    Ok(concepts)
}

/// A concept from its terms: the preferred term of the best refset, the rest synonyms.
fn concept(id: u64, terms: Terms) -> Option<Concept> {
    let Terms { fsn, mut synonyms } = terms;
    synonyms.sort_by_key(|(term, a)| (!a.preferred, a.refset, term.len()));
    let preferred = match synonyms.first() {
        Some((_, a)) if a.preferred => synonyms.remove(0).0,
        _ => strip_tag(fsn.as_deref()?).to_string(),
    };
    let fsn = fsn.unwrap_or_else(|| format!("{preferred} (unknown)"));
    let mut others: Vec<String> = Vec::new();
    for (term, _) in synonyms {
        if term != preferred && !others.contains(&term) {
            others.push(term);
        }
    }
    Some(Concept {
        id: id.to_string(),
        category: semantic_tag(&fsn).map_or(Category::Other, Category::from_semantic_tag),
        fsn,
        preferred,
        synonyms: others,
    })
}

fn strip_tag(fsn: &str) -> &str {
    match semantic_tag(fsn) {
        Some(tag) => fsn.trim_end()[..fsn.trim_end().len() - tag.len() - 2].trim_end(),
        None => fsn,
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), TerminologyError> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Calls `each` with the fields of every data row (not the header) of an RF2 file.
fn rows(
    path: &Path,
    columns: usize,
    mut each: impl FnMut(&[&str]) -> Result<(), String>,
) -> Result<(), TerminologyError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    for (n, line) in BufReader::new(File::open(path)?).lines().enumerate() {
        let line = line?;
        let line = line.trim_end_matches('\r');
        if n == 0 && line.starts_with("id\t") || line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let bad = |why: String| TerminologyError::Format(format!("{name} line {}: {why}", n + 1));
        if fields.len() < columns {
            return Err(bad(format!("{} columns, expected {columns}", fields.len())));
        }
        each(&fields).map_err(bad)?;
    }
    Ok(())
}

fn number(field: &str) -> Result<u64, String> {
    field
        .parse()
        .map_err(|_| format!("{field:?} is not an identifier"))
}
