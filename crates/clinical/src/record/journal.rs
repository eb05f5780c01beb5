//! The journal: consultations newest first, each with its content grouped the GP
//! Connect way (topic → heading → entries). A page is read with two searches: the
//! encounters with their clinicians, consultation Lists and topic Lists; then the
//! topics' heading Lists with what they list. Consultations recorded without Lists
//! (imported ones, say) take a third search, for the entries that point at them.

use super::display::{concept_text, has_code, observation_value};
use crate::conventions::{
    CONSULTATION_LIST, HEADINGS, RELATED_PROBLEM_HEADER_EXT, TOPIC_LIST, reference_parts,
};
use crate::fetch;
use crate::problems::Problem;
use fhir::uk::{PersonName, fhir_date_time_text};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use store::{FhirResult, Repository, RequestContext};

/// Consultations per page.
pub const PAGE_SIZE: usize = 20;

/// Entry types found by their `encounter` reference (for consultations recorded
/// without the List structure, such as imported ones).
const ENTRY_REVINCLUDES: [&str; 5] = [
    "Observation:encounter",
    "Condition:encounter",
    "Procedure:encounter",
    "MedicationRequest:encounter",
    "DocumentReference:encounter",
];

/// Which consultations to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalQuery {
    /// SNOMED CT code of the consultation type (Encounter.type).
    pub type_code: Option<String>,
    /// Only consultations about this problem (Condition id).
    pub problem: Option<String>,
    /// Only consultations that started before this instant (the "older" link).
    pub before: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Journal {
    pub consultations: Vec<Consultation>,
    /// The `before` value of the next (older) page, if there is one.
    pub older: Option<String>,
    /// What the journal can be filtered by: every problem some consultation topic is
    /// about, active ones first, then past ones, each alphabetical.
    pub problems: Vec<FilterProblem>,
}

/// A problem the journal can be filtered by (one per problem, whatever its episodes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterProblem {
    /// A Condition id: filtering by any episode finds the consultations of them all.
    pub id: String,
    pub term: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consultation {
    pub id: String,
    /// `12-Mar-2024 09:30`.
    pub date: String,
    pub kind: String,
    pub clinician: String,
    pub topics: Vec<Topic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// The problem's term when the topic is about a problem, else its own title.
    pub title: String,
    pub problem_id: Option<String>,
    pub headings: Vec<Heading>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub title: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub reference: String,
    /// The coded term, `""` for free text under a heading.
    pub term: String,
    pub value: String,
    pub text: String,
}

/// One page of the journal, with the problems it can be filtered by. `problems` gives
/// the patient's problems (`None`: the role may not read them), for topic titles, the
/// filter's episodes and its choices; it is called once, when they are needed (the
/// record page reads them once for all its parts, side by side with this).
pub fn journal(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    query: &JournalQuery,
    problems: impl FnOnce() -> Option<Vec<Problem>>,
) -> FhirResult<Journal> {
    std::thread::scope(|s| {
        // Side by side with the page, so the filter's search adds no waiting.
        let about = s.spawn(|| problems_with_topics(repo, ctx, patient_id));
        let (mut page, problems) = if query.problem.is_some() {
            // Filtering by a problem needs its episodes first.
            let problems = problems().unwrap_or_default();
            (
                journal_page(repo, ctx, patient_id, query, &problems)?,
                problems,
            )
        } else {
            let page = journal_page(repo, ctx, patient_id, query, &[])?;
            (page, problems().unwrap_or_default())
        };
        name_topics(&mut page, &problems);
        page.problems = filter_choices(&problems, &join(about)?);
        Ok(page)
    })
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Topics about a problem take the problem's current term as their title.
fn name_topics(journal: &mut Journal, problems: &[Problem]) {
    let titles: HashMap<&str, &str> = problems
        .iter()
        .map(|p| (p.id.as_str(), p.term.as_str()))
        .collect();
    for topic in journal
        .consultations
        .iter_mut()
        .flat_map(|c| c.topics.iter_mut())
    {
        if let Some(title) = topic.problem_id.as_deref().and_then(|id| titles.get(id)) {
            topic.title = title.to_string();
        }
    }
}

/// The ids of the problems some consultation topic is about (none if the role may not
/// read Lists).
fn problems_with_topics(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
) -> FhirResult<HashSet<String>> {
    let subject = format!("Patient/{patient_id}");
    let topic_code = format!("http://snomed.info/sct|{}", TOPIC_LIST.0);
    // Only the extension (the problem a topic is about) is needed.
    let topics = fetch::search(
        repo,
        ctx,
        "List",
        &[
            ("subject", &subject),
            ("code", &topic_code),
            ("_count", "1000"),
            ("_elements", "extension"),
        ],
    );
    match topics {
        Ok(topics) => Ok(topics.iter().filter_map(problem_of_topic).collect()),
        Err(e) if e.status() == 403 => Ok(HashSet::new()),
        Err(e) => Err(e),
    }
}

/// Every problem that at least one consultation topic is `about` (the episodes of one
/// problem share one entry), active first, then past, each alphabetical. A minor past
/// problem is offered too: its consultations must be findable.
fn filter_choices(problems: &[Problem], about: &HashSet<String>) -> Vec<FilterProblem> {
    let chain = |p: &Problem| p.first_episode.clone().unwrap_or_else(|| p.id.clone());
    let mut chains: Vec<String> = problems
        .iter()
        .filter(|p| about.contains(&p.id))
        .map(chain)
        .collect();
    chains.sort();
    chains.dedup();
    let mut offered: Vec<FilterProblem> = chains
        .iter()
        .filter_map(|key| {
            let episodes: Vec<&Problem> = problems.iter().filter(|p| chain(p) == *key).collect();
            let shown = episodes.iter().find(|p| p.active).or(episodes.first())?;
            Some(FilterProblem {
                id: shown.id.clone(),
                term: shown.term.clone(),
                active: shown.active,
            })
        })
        .collect();
    offered.sort_by_cached_key(|p| (!p.active, p.term.to_lowercase(), p.id.clone()));
    offered
}

/// The consultations of one journal page.
fn journal_page(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    query: &JournalQuery,
    problems: &[Problem],
) -> FhirResult<Journal> {
    let encounter_ids = match &query.problem {
        Some(problem) => {
            let ids = encounters_about(repo, ctx, patient_id, problem, problems)?;
            if ids.is_empty() {
                return Ok(Journal::default());
            }
            Some(ids.join(","))
        }
        None => None,
    };
    let count = (PAGE_SIZE + 1).to_string();
    let kind = query
        .type_code
        .as_ref()
        .map(|c| format!("http://snomed.info/sct|{c}"));
    let before = query.before.as_ref().map(|b| format!("lt{b}"));
    let mut params: Vec<(&str, &str)> = vec![
        ("patient", patient_id),
        ("_sort", "-date"),
        ("_count", &count),
        ("_include", "Encounter:participant"),
        ("_revinclude", "List:encounter"),
        ("_include:iterate", "List:item"),
    ];
    for (name, value) in [("_id", &encounter_ids), ("type", &kind), ("date", &before)] {
        if let Some(value) = value {
            params.push((name, value));
        }
    }
    let searched = repo.find(ctx, "Encounter", &params)?;
    let store::Found {
        matches: mut encounters,
        included,
    } = searched;
    let mut found = Index::default();
    found.add(included);
    let older = (encounters.len() > PAGE_SIZE).then(|| {
        encounters.truncate(PAGE_SIZE);
        start_of(&encounters[PAGE_SIZE - 1]).to_string()
    });
    let listed: HashSet<String> = found
        .of_type("List")
        .filter(|l| has_code(&l["code"], CONSULTATION_LIST.0))
        .filter_map(|l| l["encounter"]["reference"].as_str().map(str::to_string))
        .collect();
    let unlisted: Vec<&str> = encounters
        .iter()
        .filter_map(|e| e["id"].as_str())
        .filter(|id| !listed.contains(&format!("Encounter/{id}")))
        .collect();
    if !unlisted.is_empty() {
        let ids = unlisted.join(",");
        let mut params = vec![("_id", ids.as_str()), ("_count", "100")];
        params.extend(ENTRY_REVINCLUDES.iter().map(|r| ("_revinclude", *r)));
        let more = repo.find(ctx, "Encounter", &params)?;
        found.add(more.included);
    }
    // Lists that name their encounter (as GP Connect's and ours do) came with it, and
    // their items with them. Fetch only what a List holds that has not come yet: a
    // topic's category Lists, then their entries.
    let mut asked = HashSet::new();
    for _level in 0..2 {
        let missing = found.missing_items(&asked);
        if missing.is_empty() {
            break;
        }
        for (rtype, ids) in missing {
            // Hidden or deleted items stay missing: they are not asked for again.
            asked.extend(ids.iter().map(|id| format!("{rtype}/{id}")));
            let ids = ids.join(",");
            let more = match fetch::search(repo, ctx, &rtype, &[("_id", &ids), ("_count", "1000")])
            {
                Ok(more) => more,
                // A type this role may not read is left out, as the search would have.
                Err(e) if e.status() == 403 => continue,
                Err(e) => return Err(e),
            };
            found.add(more);
        }
    }
    // Topic titles come from the problems afterwards (`name_topics`).
    let consultations = encounters.iter().map(|e| consultation(e, &found)).collect();
    Ok(Journal {
        consultations,
        older,
        problems: Vec::new(),
    })
}

/// The resources a journal page found, by `Type/id`.
#[derive(Default)]
struct Index {
    by_ref: HashMap<String, Value>,
}

impl Index {
    fn add(&mut self, resources: Vec<Value>) {
        for r in resources {
            let key = format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            );
            self.by_ref.entry(key).or_insert(r);
        }
    }

    /// What the Lists found hold that was neither found nor `asked` for already, by
    /// type (ids sorted, so the search is the same every time).
    fn missing_items(&self, asked: &HashSet<String>) -> BTreeMap<String, Vec<String>> {
        let mut missing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for list in self.of_type("List") {
            for reference in item_refs(list) {
                if self.by_ref.contains_key(reference) || asked.contains(reference) {
                    continue;
                }
                if let Some((rtype, id)) = reference_parts(reference) {
                    missing.entry(rtype.into()).or_default().insert(id.into());
                }
            }
        }
        missing
            .into_iter()
            .map(|(rtype, ids)| (rtype, ids.into_iter().collect()))
            .collect()
    }

    fn get(&self, reference: &str) -> Option<&Value> {
        self.by_ref.get(reference)
    }

    fn of_type<'a>(&'a self, rtype: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.by_ref
            .values()
            .filter(move |r| r["resourceType"] == rtype)
    }
}

fn start_of(encounter: &Value) -> &str {
    encounter["period"]["start"].as_str().unwrap_or("")
}

fn item_refs(list: &Value) -> Vec<&str> {
    list["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["deleted"] != true)
        .filter_map(|e| e["item"]["reference"].as_str())
        .collect()
}

fn consultation(enc: &Value, found: &Index) -> Consultation {
    let id = enc["id"].as_str().unwrap_or_default().to_string();
    let enc_ref = format!("Encounter/{id}");
    let start = start_of(enc);
    let date = fhir_date_time_text(Some(start));
    let clinician = enc["participant"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["individual"]["reference"].as_str())
        .find_map(|r| {
            found
                .get(r)
                .map(PersonName::plain_of)
                .or(Some(String::new()))
        })
        .unwrap_or_default();
    let mut listed = HashSet::new();
    let mut topics = Vec::new();
    let consultation_list = found.of_type("List").find(|l| {
        has_code(&l["code"], CONSULTATION_LIST.0) && l["encounter"]["reference"] == enc_ref.as_str()
    });
    if let Some(list) = consultation_list {
        for topic_ref in item_refs(list) {
            if let Some(topic) = found.get(topic_ref) {
                topics.push(topic_of(topic, found, &mut listed));
            }
        }
    }
    // Entries of this consultation that no heading lists (recorded without Lists).
    let loose: Vec<Entry> = found
        .by_ref
        .iter()
        .filter(|(key, r)| {
            !listed.contains(key.as_str()) && encounter_of(r) == Some(enc_ref.as_str())
        })
        .map(|(key, r)| entry(key, r))
        .collect();
    if !loose.is_empty() {
        let mut entries = loose;
        entries.sort_by(|a, b| a.term.cmp(&b.term));
        topics.push(Topic {
            title: if topics.is_empty() {
                String::new()
            } else {
                "Other entries".to_string()
            },
            problem_id: None,
            headings: vec![Heading {
                title: String::new(),
                entries,
            }],
        });
    }
    Consultation {
        id,
        date,
        kind: enc["type"]
            .get(0)
            .map(concept_text)
            .unwrap_or_else(|| "Consultation".to_string()),
        clinician,
        topics,
    }
}

fn topic_of<'a>(topic: &'a Value, found: &'a Index, listed: &mut HashSet<&'a str>) -> Topic {
    let problem_id = problem_of_topic(topic);
    let title = topic["title"].as_str().unwrap_or_default().to_string();
    let mut headings = Vec::new();
    for category_ref in item_refs(topic) {
        let Some(category) = found.get(category_ref) else {
            continue;
        };
        let mut entries = Vec::new();
        for entry_ref in item_refs(category) {
            if let Some((key, r)) = found.by_ref.get_key_value(entry_ref) {
                listed.insert(key.as_str());
                entries.push(entry(key, r));
            }
        }
        headings.push(Heading {
            title: category["title"].as_str().unwrap_or_default().to_string(),
            entries,
        });
    }
    Topic {
        title,
        problem_id,
        headings,
    }
}

/// The problem a topic List is about (RelatedProblemHeader `target`).
pub fn problem_of_topic(topic: &Value) -> Option<String> {
    topic["extension"]
        .as_array()?
        .iter()
        .filter(|e| e["url"] == RELATED_PROBLEM_HEADER_EXT)
        .flat_map(|e| e["extension"].as_array().into_iter().flatten())
        .find(|p| p["url"] == "target")
        .and_then(|p| p["valueReference"]["reference"].as_str())
        .and_then(reference_parts)
        .map(|(_, id)| id.to_string())
}

fn encounter_of(r: &Value) -> Option<&str> {
    if r["resourceType"] == "List" || r["resourceType"] == "Encounter" {
        return None;
    }
    r["encounter"]["reference"]
        .as_str()
        .or_else(|| r["context"]["encounter"][0]["reference"].as_str())
}

fn entry(reference: &str, r: &Value) -> Entry {
    let code = ["code", "vaccineCode", "medicationCodeableConcept", "type"]
        .iter()
        .map(|k| &r[*k])
        .find(|c| c.is_object());
    let free_text = code.is_some_and(|c| HEADINGS.iter().any(|(_, _, h)| has_code(c, h)));
    let value = match r["resourceType"].as_str() {
        Some("Observation") => observation_value(r),
        Some("MedicationRequest") => r["dosageInstruction"][0]["text"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    };
    let note = r["note"][0]["text"]
        .as_str()
        .or_else(|| r["description"].as_str())
        .unwrap_or("");
    if free_text {
        return Entry {
            reference: reference.to_string(),
            term: String::new(),
            value: String::new(),
            text: value,
        };
    }
    Entry {
        reference: reference.to_string(),
        term: code.map(concept_text).unwrap_or_default(),
        value,
        text: note.to_string(),
    }
}

/// The consultations about a problem (or any episode of it): where a topic names it,
/// where one of its linked entries was recorded, and where it was itself recorded.
fn encounters_about(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    problem_id: &str,
    problems: &[Problem],
) -> FhirResult<Vec<String>> {
    let first = problems
        .iter()
        .find(|p| p.id == problem_id)
        .and_then(|p| p.first_episode.clone())
        .unwrap_or_else(|| problem_id.to_string());
    let episodes: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.id == first || p.first_episode.as_deref() == Some(first.as_str()))
        .collect();
    let episode_ids: HashSet<&str> = episodes.iter().map(|p| p.id.as_str()).collect();
    let mut encounters: Vec<String> = Vec::new();
    // Topics about the problem, with the consultation Lists that hold them.
    let subject = format!("Patient/{patient_id}");
    let topic_code = format!("http://snomed.info/sct|{}", TOPIC_LIST.0);
    let topics = repo.find(
        ctx,
        "List",
        &[
            ("subject", &subject),
            ("code", &topic_code),
            ("_count", "1000"),
            ("_revinclude", "List:item"),
        ],
    )?;
    let store::Found {
        matches: mut lists,
        included: consultations,
    } = topics;
    lists.extend(consultations);
    let about: HashSet<String> = lists
        .iter()
        .filter(|l| problem_of_topic(l).is_some_and(|p| episode_ids.contains(p.as_str())))
        .map(|l| format!("List/{}", l["id"].as_str().unwrap_or_default()))
        .collect();
    for list in &lists {
        if item_refs(list).iter().any(|r| about.contains(*r))
            && let Some((_, id)) = list["encounter"]["reference"]
                .as_str()
                .and_then(reference_parts)
        {
            encounters.push(id.to_string());
        }
    }
    // Linked entries (and the problems themselves), by type: where they were recorded.
    let mut by_type: HashMap<&str, Vec<&str>> = HashMap::new();
    for p in &episodes {
        by_type.entry("Condition").or_default().push(&p.id);
        for r in &p.linked {
            if let Some((rtype, id)) = reference_parts(r) {
                by_type.entry(rtype).or_default().push(id);
            }
        }
    }
    for (rtype, ids) in by_type {
        let ids = ids.join(",");
        let found = match fetch::search(repo, ctx, rtype, &[("_id", &ids), ("_count", "1000")]) {
            Ok(found) => found,
            Err(e) if e.status() == 403 => continue,
            Err(e) => return Err(e),
        };
        for r in &found {
            if let Some((_, id)) = encounter_of(r).and_then(reference_parts) {
                encounters.push(id.to_string());
            }
        }
    }
    encounters.sort();
    encounters.dedup();
    Ok(encounters)
}
