//! The problem list: problem-list Conditions, active or past, major or minor, with
//! their later episodes and the entries linked to them (GP Connect's problem headers;
//! see [`crate::conventions`]). Every change is written with `If-Match` on the version
//! the user saw, so two people changing one problem cannot overwrite each other.

use crate::conventions::{
    CONDITION_CATEGORY_SYSTEM, CONDITION_CLINICAL_SYSTEM, CONDITION_VERIFICATION_SYSTEM,
    PROBLEM_EPISODE_EXT, PROBLEM_LIST_ITEM, PROBLEM_SIGNIFICANCE_EXT, RELATED_CLINICAL_CONTENT_EXT,
    RELATED_PROBLEM_HEADER_EXT, SNOMED, reference_parts,
};
use crate::fetch;
use crate::form::FieldErrors;
use crate::record::display::{concept_text, has_code, observation_value};
use chrono::{NaiveDate, Utc};
use fhir::uk::{fhir_date_text, parse_date};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use store::{FhirError, FhirResult, Repository, RequestContext};

/// One problem (one episode of it), ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub id: String,
    /// The version read, for `If-Match` when it is changed.
    pub version: i64,
    pub term: String,
    pub code: String,
    /// `12-Mar-2020`, or `""` if unknown.
    pub onset: String,
    /// When it became past (`abatementDateTime`), `""` while active.
    pub ended: String,
    pub active: bool,
    pub major: bool,
    /// `first`, `new`, `review` or `end` (PROBLEM_EPISODE_EXT), `""` if not given.
    pub episode: String,
    /// The first episode's id, for a later episode.
    pub first_episode: Option<String>,
    /// `Type/id` of each linked entry (RELATED_CLINICAL_CONTENT_EXT).
    pub linked: Vec<String>,
}

impl Problem {
    pub fn from_condition(c: &Value) -> Problem {
        let version = c["meta"]["versionId"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Problem {
            id: str_of(&c["id"]),
            version,
            term: concept_text(&c["code"]),
            code: crate::record::display::snomed_code(&c["code"])
                .unwrap_or_default()
                .to_string(),
            onset: fhir_date_text(c["onsetDateTime"].as_str()),
            ended: fhir_date_text(c["abatementDateTime"].as_str()),
            active: is_active(c),
            major: extension(c, PROBLEM_SIGNIFICANCE_EXT)
                .is_some_and(|e| e["valueCode"] == "major"),
            episode: extension(c, PROBLEM_EPISODE_EXT)
                .and_then(|e| e["valueCode"].as_str())
                .unwrap_or("")
                .to_string(),
            first_episode: first_episode_of(c),
            linked: linked_refs(c),
        }
    }

    pub fn significance(&self) -> &'static str {
        if self.major { "Major" } else { "Minor" }
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Active unless its clinical status says inactive, resolved or remission.
fn is_active(c: &Value) -> bool {
    let status = &c["clinicalStatus"];
    status.is_null()
        || has_code(status, "active")
        || has_code(status, "recurrence")
        || has_code(status, "relapse")
}

fn extension<'a>(c: &'a Value, url: &str) -> Option<&'a Value> {
    c["extension"].as_array()?.iter().find(|e| e["url"] == url)
}

fn first_episode_of(c: &Value) -> Option<String> {
    let header = extension(c, RELATED_PROBLEM_HEADER_EXT)?;
    let parts = header["extension"].as_array()?;
    let is_child = parts
        .iter()
        .any(|p| p["url"] == "type" && p["valueCode"] == "child");
    let target = parts
        .iter()
        .find(|p| p["url"] == "target")
        .and_then(|p| p["valueReference"]["reference"].as_str())?;
    let (_, id) = reference_parts(target)?;
    is_child.then(|| id.to_string())
}

fn linked_refs(c: &Value) -> Vec<String> {
    c["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["url"] == RELATED_CLINICAL_CONTENT_EXT)
        .filter_map(|e| {
            e["valueReference"]["reference"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// The Condition with a RelatedClinicalContent reference added for each of
/// `entry_refs` (`Type/id`) it does not already list. The consultation uses this to
/// link what it records to the problem it was about.
pub fn link_entries(problem: &Value, entry_refs: &[String]) -> Value {
    let mut out = problem.clone();
    let mut have = linked_refs(problem);
    if !out["extension"].is_array() {
        out["extension"] = json!([]);
    }
    let extensions = out["extension"].as_array_mut().expect("an array");
    for r in entry_refs {
        if !have.contains(r) {
            extensions.push(
                json!({"url": RELATED_CLINICAL_CONTENT_EXT, "valueReference": {"reference": r}}),
            );
            have.push(r.clone());
        }
    }
    out
}

/// Every problem-list Condition of the patient, newest onset first.
pub fn search_problems(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
) -> FhirResult<Vec<Problem>> {
    let category = format!("{CONDITION_CATEGORY_SYSTEM}|{PROBLEM_LIST_ITEM}");
    let found = fetch::search(
        repo,
        ctx,
        "Condition",
        &[
            ("patient", patient_id),
            ("category", &category),
            ("_sort", "-onset-date"),
            ("_count", "500"),
        ],
    )?;
    Ok(found
        .iter()
        .filter(|c| {
            c["verificationStatus"].is_null()
                || !has_code(&c["verificationStatus"], "entered-in-error")
        })
        .map(Problem::from_condition)
        .collect())
}

/// Active problems, and the significant (major) past ones: the summary's two lists.
pub fn split_active_and_significant_past(problems: Vec<Problem>) -> (Vec<Problem>, Vec<Problem>) {
    let (active, past): (Vec<Problem>, Vec<Problem>) = problems.into_iter().partition(|p| p.active);
    (active, past.into_iter().filter(|p| p.major).collect())
}

/// A problem with its later episodes and the entries linked to any of them.
#[derive(Debug, Clone)]
pub struct ProblemGroup {
    pub problem: Problem,
    pub episodes: Vec<Problem>,
    pub linked: Vec<LinkedEntry>,
}

impl ProblemGroup {
    /// The latest episode (the problem itself if it has no later one): the one whose
    /// status is the problem's, and the one changes apply to.
    pub fn latest(&self) -> &Problem {
        self.episodes.last().unwrap_or(&self.problem)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedEntry {
    pub reference: String,
    pub date: String,
    pub term: String,
    pub value: String,
}

/// The problems page: active and past problems (by their first episode's status),
/// each with its episodes and linked entries.
#[derive(Debug, Clone, Default)]
pub struct ProblemList {
    pub active: Vec<ProblemGroup>,
    pub past: Vec<ProblemGroup>,
}

/// The whole problem list of a patient: one search for the problems, and one per type
/// of linked entry.
pub fn problem_list(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
) -> FhirResult<ProblemList> {
    let problems = search_problems(repo, ctx, patient_id)?;
    let linked = linked_entries(repo, ctx, &problems)?;
    let (firsts, laters): (Vec<Problem>, Vec<Problem>) = problems
        .into_iter()
        .partition(|p| p.first_episode.is_none());
    let ids: Vec<String> = firsts.iter().map(|p| p.id.clone()).collect();
    let mut groups: Vec<ProblemGroup> = firsts
        .into_iter()
        .map(|p| ProblemGroup {
            problem: p,
            episodes: vec![],
            linked: vec![],
        })
        .collect();
    for later in laters {
        let first = later.first_episode.clone().unwrap_or_default();
        match ids.iter().position(|id| *id == first) {
            Some(i) => groups[i].episodes.push(later),
            // Its first episode is not visible (or gone): show it on its own.
            None => groups.push(ProblemGroup {
                problem: later,
                episodes: vec![],
                linked: vec![],
            }),
        }
    }
    let mut list = ProblemList::default();
    for mut g in groups {
        let refs = g
            .problem
            .linked
            .iter()
            .chain(g.episodes.iter().flat_map(|e| e.linked.iter()));
        g.linked = refs.filter_map(|r| linked.get(r).cloned()).collect();
        g.linked.sort_by(|a, b| b.date.cmp(&a.date));
        // The current status is the latest episode's.
        let active = g.episodes.last().map_or(g.problem.active, |e| e.active);
        if active {
            list.active.push(g)
        } else {
            list.past.push(g)
        }
    }
    Ok(list)
}

/// The linked entries that exist and are visible, by `Type/id`.
fn linked_entries(
    repo: &Repository,
    ctx: &RequestContext,
    problems: &[Problem],
) -> FhirResult<BTreeMap<String, LinkedEntry>> {
    let mut by_type: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in problems.iter().flat_map(|p| p.linked.iter()) {
        if let Some((rtype, id)) = reference_parts(r) {
            by_type.entry(rtype).or_default().push(id);
        }
    }
    let mut out = BTreeMap::new();
    for (rtype, ids) in by_type {
        let ids = ids.join(",");
        let found = match fetch::search(repo, ctx, rtype, &[("_id", &ids), ("_count", "500")]) {
            Ok(found) => found,
            Err(e) if e.status() == 403 || e.status() == 400 => continue,
            Err(e) => return Err(e),
        };
        for r in found {
            let reference = format!("{rtype}/{}", str_of(&r["id"]));
            out.insert(reference.clone(), linked_entry(reference, &r));
        }
    }
    Ok(out)
}

fn linked_entry(reference: String, r: &Value) -> LinkedEntry {
    let when = [
        "effectiveDateTime",
        "occurrenceDateTime",
        "performedDateTime",
        "onsetDateTime",
        "recordedDate",
        "authoredOn",
        "date",
    ]
    .iter()
    .find_map(|k| r[*k].as_str());
    let code = ["code", "vaccineCode", "medicationCodeableConcept", "type"]
        .iter()
        .map(|k| &r[*k])
        .find(|c| c.is_object())
        .map(concept_text)
        .unwrap_or_else(|| r["resourceType"].as_str().unwrap_or("Entry").to_string());
    LinkedEntry {
        reference,
        date: when.map(|d| fhir_date_text(Some(d))).unwrap_or_default(),
        term: code,
        value: if r["resourceType"] == "Observation" {
            observation_value(r)
        } else {
            String::new()
        },
    }
}

/// The parts of a problem or alert change a user fills in. Problems with the input name
/// these; the web layer maps them to its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeField {
    /// The problem's SNOMED CT concept.
    Code,
    /// When the problem (or this episode of it) started.
    Onset,
    /// When the problem became past.
    Ended,
    /// The entry to link to a problem.
    Entry,
    AlertCategory,
    AlertText,
    AlertEnds,
}

impl std::fmt::Display for ChangeField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Why a change to a problem (or an alert) was not made.
#[derive(Debug)]
pub enum ChangeError {
    /// What the user entered is wrong: nothing was written.
    Invalid(FieldErrors<ChangeField>),
    /// Someone else changed the record since it was read (`If-Match` failed).
    Conflict,
    Store(FhirError),
}

impl From<FhirError> for ChangeError {
    fn from(e: FhirError) -> Self {
        if e.status() == 412 || e.status() == 409 {
            ChangeError::Conflict
        } else {
            ChangeError::Store(e)
        }
    }
}

impl From<FieldErrors<ChangeField>> for ChangeError {
    fn from(e: FieldErrors<ChangeField>) -> Self {
        ChangeError::Invalid(e)
    }
}

/// A new problem, typed: the SNOMED CT code (already checked against the terminology
/// by the caller, who knows the term), onset date, significance.
#[derive(Debug, Clone, Default)]
pub struct NewProblem {
    pub code: String,
    /// The concept's preferred term; empty if the code is unknown.
    pub term: String,
    pub onset: Option<NaiveDate>,
    pub major: bool,
}

/// Checks a date: there when `required`, not in the future. `what` names it in
/// messages ("onset date"). Returns it when it passes.
pub fn checked_date(
    errors: &mut FieldErrors<ChangeField>,
    field: ChangeField,
    what: &str,
    date: Option<NaiveDate>,
    required: bool,
) -> Option<NaiveDate> {
    match date {
        None if required => {
            errors.add(field, format!("Enter the {what}"));
            None
        }
        Some(d) if d > Utc::now().date_naive() => {
            errors.add(field, format!("The {what} cannot be in the future"));
            None
        }
        date => date,
    }
}

/// The problems with a new problem as entered; empty means it can be added.
pub fn check_problem(new: &NewProblem) -> FieldErrors<ChangeField> {
    let mut errors = FieldErrors::new();
    if new.code.trim().is_empty() {
        errors.add(
            ChangeField::Code,
            "Choose the problem from the list of SNOMED CT terms",
        );
    } else if new.term.is_empty() {
        errors.add(
            ChangeField::Code,
            "That is not a SNOMED CT concept OpenGP knows: choose the problem from the list",
        );
    }
    checked_date(
        &mut errors,
        ChangeField::Onset,
        "onset date",
        new.onset,
        false,
    );
    errors
}

/// Adds a problem to the list; returns its id.
pub fn add_problem(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    new: &NewProblem,
    author: Option<&str>,
) -> Result<String, ChangeError> {
    let errors = check_problem(new);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let mut condition = json!({
        "resourceType": "Condition",
        "extension": [
            {"url": PROBLEM_SIGNIFICANCE_EXT, "valueCode": if new.major { "major" } else { "minor" }},
            {"url": PROBLEM_EPISODE_EXT, "valueCode": "first"}
        ],
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL_SYSTEM, "code": "active", "display": "Active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION_SYSTEM, "code": "confirmed", "display": "Confirmed"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY_SYSTEM, "code": PROBLEM_LIST_ITEM, "display": "Problem List Item"}]}],
        "code": {"coding": [{"system": SNOMED, "code": new.code.trim(), "display": new.term}]},
        "subject": {"reference": format!("Patient/{patient_id}")},
        "recordedDate": Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
    });
    if let Some(onset) = new.onset {
        condition["onsetDateTime"] = json!(onset.format("%Y-%m-%d").to_string());
    }
    if let Some(author) = author {
        condition["recorder"] = json!({"reference": author});
    }
    let written = repo.create(ctx, "Condition", condition, None)?;
    Ok(written.resource.id)
}

/// Makes a problem active again, or past from `ended` (required for past).
pub fn set_status(
    repo: &Repository,
    ctx: &RequestContext,
    problem_id: &str,
    version: i64,
    active: bool,
    ended: Option<NaiveDate>,
) -> Result<(), ChangeError> {
    let (mut c, _) = fetch::read(repo, ctx, "Condition", problem_id)?;
    let mut errors = FieldErrors::new();
    let end = if active {
        None
    } else {
        checked_date(&mut errors, ChangeField::Ended, "end date", ended, true)
    };
    if let (Some(end), Some(onset)) = (end, c["onsetDateTime"].as_str().and_then(parse_date))
        && end < onset
    {
        errors.add(
            ChangeField::Ended,
            "The end date cannot be before the problem started",
        );
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let obj = c.as_object_mut().expect("a resource");
    let (code, display) = if active {
        ("active", "Active")
    } else {
        ("inactive", "Inactive")
    };
    obj.insert("clinicalStatus".into(), json!({"coding": [{"system": CONDITION_CLINICAL_SYSTEM, "code": code, "display": display}]}));
    match end {
        Some(end) => obj.insert(
            "abatementDateTime".into(),
            json!(end.format("%Y-%m-%d").to_string()),
        ),
        None => obj.remove("abatementDateTime"),
    };
    update(repo, ctx, problem_id, c, version)
}

/// Marks a problem major or minor.
pub fn set_significance(
    repo: &Repository,
    ctx: &RequestContext,
    problem_id: &str,
    version: i64,
    major: bool,
) -> Result<(), ChangeError> {
    let (c, _) = fetch::read(repo, ctx, "Condition", problem_id)?;
    let c = with_extension(
        c,
        json!({"url": PROBLEM_SIGNIFICANCE_EXT, "valueCode": if major { "major" } else { "minor" }}),
    );
    update(repo, ctx, problem_id, c, version)
}

/// Records a new episode of a problem (from `onset`): a new Condition pointing at the
/// first episode. Returns its id.
pub fn new_episode(
    repo: &Repository,
    ctx: &RequestContext,
    problem_id: &str,
    onset: Option<NaiveDate>,
    author: Option<&str>,
) -> Result<String, ChangeError> {
    let mut errors = FieldErrors::new();
    let onset = checked_date(
        &mut errors,
        ChangeField::Onset,
        "date this episode started",
        onset,
        true,
    );
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let (c, _) = fetch::read(repo, ctx, "Condition", problem_id)?;
    let first = first_episode_of(&c).unwrap_or_else(|| problem_id.to_string());
    let mut episode = json!({
        "resourceType": "Condition",
        "extension": [
            extension(&c, PROBLEM_SIGNIFICANCE_EXT).cloned().unwrap_or(json!({"url": PROBLEM_SIGNIFICANCE_EXT, "valueCode": "minor"})),
            {"url": PROBLEM_EPISODE_EXT, "valueCode": "new"},
            {"url": RELATED_PROBLEM_HEADER_EXT, "extension": [
                {"url": "type", "valueCode": "child"},
                {"url": "target", "valueReference": {"reference": format!("Condition/{first}")}}
            ]}
        ],
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL_SYSTEM, "code": "active", "display": "Active"}]},
        "verificationStatus": c["verificationStatus"].clone(),
        "category": c["category"].clone(),
        "code": c["code"].clone(),
        "subject": c["subject"].clone(),
        "recordedDate": Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
    });
    if episode["verificationStatus"].is_null() {
        episode
            .as_object_mut()
            .expect("object")
            .remove("verificationStatus");
    }
    if let Some(onset) = onset {
        episode["onsetDateTime"] = json!(onset.format("%Y-%m-%d").to_string());
    }
    if let Some(author) = author {
        episode["recorder"] = json!({"reference": author});
    }
    Ok(repo.create(ctx, "Condition", episode, None)?.resource.id)
}

/// Links an existing entry (`Type/id`, of the same patient) to a problem.
pub fn link_entry(
    repo: &Repository,
    ctx: &RequestContext,
    problem_id: &str,
    version: i64,
    entry_ref: &str,
) -> Result<(), ChangeError> {
    let invalid = |message: &str| {
        let mut errors = FieldErrors::new();
        errors.add(ChangeField::Entry, message);
        ChangeError::Invalid(errors)
    };
    let Some((rtype, id)) = reference_parts(entry_ref.trim()) else {
        return Err(invalid("Choose an entry to link"));
    };
    let (c, _) = fetch::read(repo, ctx, "Condition", problem_id)?;
    let entry = match fetch::read(repo, ctx, rtype, id) {
        Ok((entry, _)) => entry,
        Err(e) if matches!(e.status(), 400 | 404 | 410) => {
            return Err(invalid("That entry is not in this record"));
        }
        Err(e) => return Err(e.into()),
    };
    let subject = ["subject", "patient"]
        .iter()
        .find_map(|k| entry[*k]["reference"].as_str());
    if subject != c["subject"]["reference"].as_str() {
        return Err(invalid("That entry belongs to a different patient"));
    }
    let c = link_entries(&c, &[format!("{rtype}/{id}")]);
    update(repo, ctx, problem_id, c, version)
}

/// The Condition with `ext` replacing any extension of the same URL.
fn with_extension(mut c: Value, ext: Value) -> Value {
    let url = ext["url"].clone();
    let mut extensions: Vec<Value> = c["extension"].as_array().cloned().unwrap_or_default();
    extensions.retain(|e| e["url"] != url);
    extensions.push(ext);
    c["extension"] = Value::Array(extensions);
    c
}

/// Drops `meta.versionId` and `meta.lastUpdated` of a resource read for update (the
/// store sets them afresh); security labels and tags stay.
pub(crate) fn strip_version(body: &mut Value) {
    let Some(meta) = body["meta"].as_object_mut() else {
        return;
    };
    meta.remove("versionId");
    meta.remove("lastUpdated");
    if meta.is_empty() {
        body.as_object_mut().expect("a resource").remove("meta");
    }
}

fn update(
    repo: &Repository,
    ctx: &RequestContext,
    id: &str,
    mut body: Value,
    version: i64,
) -> Result<(), ChangeError> {
    strip_version(&mut body);
    repo.update(ctx, "Condition", id, body, Some(version))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linking_adds_each_entry_once() {
        let c = json!({"resourceType": "Condition", "extension": [
            {"url": RELATED_CLINICAL_CONTENT_EXT, "valueReference": {"reference": "Observation/a"}}
        ]});
        let linked = link_entries(
            &c,
            &[
                "Observation/a".into(),
                "Observation/b".into(),
                "Observation/b".into(),
            ],
        );
        assert_eq!(linked_refs(&linked), vec!["Observation/a", "Observation/b"]);
        let bare = link_entries(
            &json!({"resourceType": "Condition"}),
            &["Procedure/p".into()],
        );
        assert_eq!(linked_refs(&bare), vec!["Procedure/p"]);
    }
}
