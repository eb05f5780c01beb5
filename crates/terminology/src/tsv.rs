//! The compact file a terminology is kept in: one concept a line,
//! `id<TAB>fully specified name<TAB>preferred term[<TAB>synonym]...`, lines starting
//! with `#` are comments. The category comes from the semantic tag of the FSN.

use crate::{Category, Concept, TerminologyError, is_valid_sctid, semantic_tag};

pub(crate) fn parse(text: &str) -> Result<Vec<Concept>, TerminologyError> {
    let mut concepts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| TerminologyError::Format(format!("line {}: {why}", n + 1));
        let mut fields = line.split('\t');
        let id = fields.next().unwrap_or_default().trim();
        let fsn = fields
            .next()
            .ok_or_else(|| bad("no fully specified name"))?;
        let preferred = fields.next().ok_or_else(|| bad("no preferred term"))?;
        if !is_valid_sctid(id) {
            return Err(bad(&format!("{id} is not a valid SNOMED CT concept id")));
        }
        if fsn.is_empty() || preferred.is_empty() {
            return Err(bad("an empty term"));
        }
        concepts.push(Concept {
            id: id.to_string(),
            category: semantic_tag(fsn).map_or(Category::Other, Category::from_semantic_tag),
            fsn: fsn.to_string(),
            preferred: preferred.to_string(),
            synonyms: fields
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    Ok(concepts)
}

pub(crate) fn write(concepts: &[Concept]) -> String {
    let mut out = String::from(
        "# OpenGP terminology: id, fully specified name, preferred term, synonyms (tab-separated)\n",
    );
    for c in concepts {
        out.push_str(&c.id);
        for term in [&c.fsn, &c.preferred].into_iter().chain(&c.synonyms) {
            out.push('\t');
            // Terms never hold tabs or newlines in RF2; keep the file parseable anyway.
            out.extend(
                term.chars()
                    .map(|ch| if ch.is_control() { ' ' } else { ch }),
            );
        }
        out.push('\n');
    }
    out
}
