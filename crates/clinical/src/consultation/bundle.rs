//! A [`ValidConsultation`] as ONE FHIR transaction Bundle, in the shape
//! [`crate::conventions`] fixes: Encounter; consultation List → topic Lists → category
//! Lists (by heading) → the clinical entries, each carrying the encounter and its author.
//!
//! Where the items that are not typed under a heading go (all in the first topic):
//! measurements under Examination, allergies under History, immunisations under
//! Procedure, the follow-up task under Plan, attachments under Comment. A new problem
//! sits under Diagnosis in its topic.

use super::attachments::base64;
use super::observations::{self, DIASTOLIC, ObservationKind, SYSTOLIC};
use super::validate::{
    Coded, Measurement, TopicProblem, ValidAllergy, ValidConsultation, ValidEntry,
    ValidImmunisation, ValidTask,
};
use crate::conventions::{
    ASSOCIATED_ENCOUNTER_EXT, BLOOD_PRESSURE, CATEGORY_LIST, CONDITION_CATEGORY_SYSTEM,
    CONDITION_CLINICAL_SYSTEM, CONDITION_VERIFICATION_SYSTEM, CONSULTATION_LIST,
    ENCOUNTER_DIAGNOSIS, HEADINGS, PROBLEM_LIST_ITEM, PROBLEM_SIGNIFICANCE_EXT,
    RELATED_PROBLEM_HEADER_EXT, SNOMED, TOPIC_LIST, UCUM,
};
use crate::problems::link_entries;
use chrono::SecondsFormat;
use serde_json::{Value, json};

const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const LOINC: &str = "http://loinc.org";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
const ALLERGY_VERIFICATION: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";

/// An existing problem a topic is about: its current body, and the version the clinician
/// saw (the update is refused if it has changed since).
#[derive(Debug, Clone)]
pub struct ExistingProblem {
    pub id: String,
    pub body: Value,
    pub version: i64,
}

/// Who and where: the clinician, the practice, and the draft to delete.
#[derive(Debug, Clone, Copy)]
pub struct Authorship<'a> {
    /// `Practitioner/{id}`.
    pub practitioner: &'a str,
    /// `Organization/{id}` of the practice, if it has one on record.
    pub organization: Option<&'a str>,
    /// Id of the clinician's draft of this consultation, deleted in the same transaction.
    pub draft: Option<&'a str>,
}

/// The transaction Bundle that records `c`.
pub fn transaction(c: &ValidConsultation, problems: &[ExistingProblem], who: Authorship) -> Value {
    let mut b = Builder::new(c, who);
    let encounter = b.add("Encounter", b.encounter());
    b.encounter_ref = encounter.clone();

    let mut topic_urns = Vec::new();
    for (t, topic) in c.topics.iter().enumerate() {
        // Entries of this topic by heading key.
        let mut by_heading: Vec<(&str, Vec<String>)> = HEADINGS
            .iter()
            .map(|(key, _, _)| (*key, Vec::new()))
            .collect();
        for entry in &topic.entries {
            let (rtype, resource) = b.entry(entry);
            file_under(&mut by_heading, entry.heading, b.add(rtype, resource));
        }
        if t == 0 {
            if let Some((systolic, diastolic)) = c.blood_pressure {
                file_under(
                    &mut by_heading,
                    "examination",
                    b.add("Observation", b.blood_pressure(systolic, diastolic)),
                );
            }
            for m in &c.measurements {
                file_under(
                    &mut by_heading,
                    "examination",
                    b.add("Observation", b.measurement(m)),
                );
            }
            for allergy in &c.allergies {
                file_under(
                    &mut by_heading,
                    "history",
                    b.add("AllergyIntolerance", b.allergy(allergy)),
                );
            }
            for vaccine in &c.immunisations {
                file_under(
                    &mut by_heading,
                    "procedure",
                    b.add("Immunization", b.immunisation(vaccine)),
                );
            }
            if let Some(task) = &c.task {
                file_under(&mut by_heading, "plan", b.add("Task", b.task(task)));
            }
            for file in &c.attachments {
                file_under(
                    &mut by_heading,
                    "comment",
                    b.add("DocumentReference", b.document(file)),
                );
            }
        }
        let related: Vec<String> = by_heading.iter().flat_map(|(_, l)| l.clone()).collect();
        let problem_ref = match &topic.problem {
            TopicProblem::None => None,
            TopicProblem::New {
                concept,
                significance,
            } => {
                let condition = b.new_problem(concept, significance.code(), &related);
                let urn = b.add("Condition", condition);
                file_under(&mut by_heading, "diagnosis", urn.clone());
                Some(urn)
            }
            TopicProblem::Existing { id, version } => {
                let reference = format!("Condition/{id}");
                if let Some(problem) = problems.iter().find(|p| &p.id == id) {
                    let body = link_entries(&problem.body, &related);
                    b.entries.push(json!({
                        "resource": body,
                        "request": {"method": "PUT", "url": reference, "ifMatch": format!("W/\"{version}\"")}
                    }));
                }
                Some(reference)
            }
        };
        let mut categories = Vec::new();
        for (key, urns) in by_heading.iter().filter(|(_, l)| !l.is_empty()) {
            let title = HEADINGS
                .iter()
                .find(|(k, _, _)| k == key)
                .map(|(_, title, _)| *title)
                .unwrap_or("Comment");
            let list = b.list(CATEGORY_LIST, title, urns);
            categories.push(b.add("List", list));
        }
        let mut topic_list = b.list(TOPIC_LIST, &topic.title, &categories);
        if let Some(problem) = problem_ref {
            topic_list["extension"] = json!([{
                "url": RELATED_PROBLEM_HEADER_EXT,
                "extension": [{"url": "target", "valueReference": {"reference": problem}}]
            }]);
        }
        topic_urns.push(b.add("List", topic_list));
    }
    let consultation = b.list(CONSULTATION_LIST, c.encounter_type.1, &topic_urns);
    b.add("List", consultation);

    if let Some(draft) = who.draft {
        b.entries.push(json!({
            "request": {"method": "DELETE", "url": format!("QuestionnaireResponse/{draft}")}
        }));
    }
    json!({"resourceType": "Bundle", "type": "transaction", "entry": b.entries})
}

/// Files an entry's urn under its heading in the topic being built.
fn file_under(by_heading: &mut [(&str, Vec<String>)], heading: &str, urn: String) {
    if let Some((_, list)) = by_heading.iter_mut().find(|(k, _)| *k == heading) {
        list.push(urn);
    }
}

struct Builder<'a> {
    c: &'a ValidConsultation,
    who: Authorship<'a>,
    subject: Value,
    when: String,
    encounter_ref: String,
    entries: Vec<Value>,
}

impl<'a> Builder<'a> {
    fn new(c: &'a ValidConsultation, who: Authorship<'a>) -> Self {
        Builder {
            c,
            who,
            subject: json!({"reference": format!("Patient/{}", c.patient_id)}),
            when: c.when.to_rfc3339_opts(SecondsFormat::Secs, false),
            encounter_ref: String::new(),
            entries: Vec::new(),
        }
    }

    /// Adds a resource to be created; returns its `urn:uuid:` (references to it are
    /// resolved by the store).
    fn add(&mut self, rtype: &str, resource: Value) -> String {
        let urn = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        self.entries.push(json!({
            "fullUrl": urn,
            "resource": resource,
            "request": {"method": "POST", "url": rtype}
        }));
        urn
    }

    fn encounter_link(&self) -> Value {
        json!({"reference": self.encounter_ref})
    }

    fn author(&self) -> Value {
        json!({"reference": self.who.practitioner})
    }

    fn encounter(&self) -> Value {
        let (code, display) = self.c.encounter_type;
        let class = match code {
            "439708006" => ("HH", "home health"),
            "185317003" | "185316007" | "325871000000103" | "386472008" => ("VR", "virtual"),
            _ => ("AMB", "ambulatory"),
        };
        let mut encounter = json!({
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": ACT_CODE, "code": class.0, "display": class.1},
            "type": [snomed_concept(code, display)],
            "subject": self.subject,
            "participant": [{"individual": self.author()}],
            "period": {"start": self.when, "end": self.when}
        });
        if let Some(organization) = self.who.organization {
            encounter["serviceProvider"] = json!({"reference": organization});
        }
        encounter
    }

    fn list(&self, kind: (&str, &str), title: &str, urns: &[String]) -> Value {
        json!({
            "resourceType": "List",
            "status": "current",
            "mode": "snapshot",
            "title": title,
            "code": snomed_concept(kind.0, kind.1),
            "subject": self.subject,
            "encounter": self.encounter_link(),
            "date": self.when,
            "source": self.author(),
            "entry": urns.iter().map(|u| json!({"item": {"reference": u}})).collect::<Vec<_>>()
        })
    }

    /// A typed entry: a diagnosis is a Condition, a procedure a Procedure, anything else
    /// an Observation (free text under the heading's own code).
    fn entry(&self, entry: &ValidEntry) -> (&'static str, Value) {
        let note =
            || -> Option<Value> { (!entry.text.is_empty()).then(|| json!([{"text": entry.text}])) };
        match (&entry.concept, entry.heading) {
            (Some(concept), "diagnosis") => {
                let mut condition =
                    self.condition(concept, ENCOUNTER_DIAGNOSIS, "Encounter Diagnosis");
                if let Some(note) = note() {
                    condition["note"] = note;
                }
                ("Condition", condition)
            }
            (Some(concept), "procedure") => {
                let mut procedure = json!({
                    "resourceType": "Procedure",
                    "status": "completed",
                    "code": coded(concept),
                    "subject": self.subject,
                    "encounter": self.encounter_link(),
                    "performedDateTime": self.when,
                    "recorder": self.author(),
                    "performer": [{"actor": self.author()}]
                });
                if let Some(note) = note() {
                    procedure["note"] = note;
                }
                ("Procedure", procedure)
            }
            (Some(concept), _) => {
                let mut observation = self.observation(coded(concept));
                if let Some(note) = note() {
                    observation["note"] = note;
                }
                ("Observation", observation)
            }
            (None, heading) => {
                let (_, title, code) = HEADINGS
                    .iter()
                    .find(|(k, _, _)| *k == heading)
                    .copied()
                    .unwrap_or(HEADINGS[5]);
                let mut observation = self.observation(snomed_concept(code, title));
                observation["valueString"] = json!(entry.text);
                ("Observation", observation)
            }
        }
    }

    fn observation(&self, code: Value) -> Value {
        json!({
            "resourceType": "Observation",
            "status": "final",
            "code": code,
            "subject": self.subject,
            "encounter": self.encounter_link(),
            "effectiveDateTime": self.when,
            "performer": [self.author()]
        })
    }

    fn measurement(&self, m: &Measurement) -> Value {
        let mut observation = self.observation(kind_concept(m.kind));
        observation["category"] = category(m.kind.category);
        observation["valueQuantity"] = quantity(m.kind, m.value);
        observation
    }

    fn blood_pressure(&self, systolic: f64, diastolic: f64) -> Value {
        let mut observation = self.observation(json!({
            "coding": [
                {"system": LOINC, "code": "85354-9", "display": "Blood pressure panel with all children optional"},
                {"system": SNOMED, "code": BLOOD_PRESSURE.0, "display": BLOOD_PRESSURE.1}
            ],
            "text": BLOOD_PRESSURE.1
        }));
        observation["category"] = category("vital-signs");
        observation["component"] = json!([
            {"code": kind_concept(&SYSTOLIC), "valueQuantity": quantity(&SYSTOLIC, systolic)},
            {"code": kind_concept(&DIASTOLIC), "valueQuantity": quantity(&DIASTOLIC, diastolic)}
        ]);
        observation
    }

    fn condition(&self, concept: &Coded, category: &str, category_display: &str) -> Value {
        json!({
            "resourceType": "Condition",
            "clinicalStatus": hl7(CONDITION_CLINICAL_SYSTEM, "active", "Active"),
            "verificationStatus": hl7(CONDITION_VERIFICATION_SYSTEM, "confirmed", "Confirmed"),
            "category": [hl7(CONDITION_CATEGORY_SYSTEM, category, category_display)],
            "code": coded(concept),
            "subject": self.subject,
            "encounter": self.encounter_link(),
            "onsetDateTime": self.when,
            "recordedDate": self.when,
            "recorder": self.author(),
            "asserter": self.author()
        })
    }

    fn new_problem(&self, concept: &Coded, significance: &str, related: &[String]) -> Value {
        let mut problem = self.condition(concept, PROBLEM_LIST_ITEM, "Problem List Item");
        problem["extension"] =
            json!([{"url": PROBLEM_SIGNIFICANCE_EXT, "valueCode": significance}]);
        link_entries(&problem, related)
    }

    fn allergy(&self, a: &ValidAllergy) -> Value {
        let mut allergy = json!({
            "resourceType": "AllergyIntolerance",
            "extension": [{"url": ASSOCIATED_ENCOUNTER_EXT, "valueReference": self.encounter_link()}],
            "clinicalStatus": hl7(ALLERGY_CLINICAL, "active", "Active"),
            "verificationStatus": hl7(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
            "type": a.kind,
            "code": coded(&a.substance),
            "patient": self.subject,
            "recordedDate": self.when,
            "recorder": self.author(),
            "asserter": self.author()
        });
        if let Some(reaction) = &a.reaction {
            let mut r = json!({"manifestation": [{"text": reaction}]});
            if let Some(severity) = a.severity {
                r["severity"] = json!(severity);
            }
            allergy["reaction"] = json!([r]);
        }
        allergy
    }

    fn immunisation(&self, v: &ValidImmunisation) -> Value {
        let mut immunisation = json!({
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": coded(&v.vaccine),
            "patient": self.subject,
            "encounter": self.encounter_link(),
            "occurrenceDateTime": v.given.format("%Y-%m-%d").to_string(),
            "recorded": self.when,
            "primarySource": true,
            "performer": [{"actor": self.author()}]
        });
        if let Some(batch) = &v.batch {
            immunisation["lotNumber"] = json!(batch);
        }
        if let Some(site) = &v.site {
            immunisation["site"] = json!({"text": site});
        }
        if let Some(dose) = v.dose {
            immunisation["protocolApplied"] = json!([{"doseNumberPositiveInt": dose}]);
        }
        immunisation
    }

    fn task(&self, t: &ValidTask) -> Value {
        let mut task = json!({
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "priority": t.priority,
            "description": t.description,
            "for": self.subject,
            "encounter": self.encounter_link(),
            "authoredOn": self.when,
            "requester": self.author(),
            "owner": {"reference": format!("Practitioner/{}", t.owner)}
        });
        if let Some(due) = t.due {
            task["restriction"] = json!({"period": {"end": due.format("%Y-%m-%d").to_string()}});
        }
        task
    }

    fn document(&self, file: &super::attachments::Attachment) -> Value {
        json!({
            "resourceType": "DocumentReference",
            "status": "current",
            "type": {"text": "Consultation attachment"},
            "subject": self.subject,
            "date": self.c.when.to_rfc3339_opts(SecondsFormat::Secs, false),
            "author": [self.author()],
            "description": file.title,
            "content": [{"attachment": {
                "contentType": file.content_type,
                "data": base64(&file.bytes),
                "size": file.bytes.len(),
                "title": file.title,
                "creation": self.when
            }}],
            "context": {"encounter": [self.encounter_link()]}
        })
    }
}

fn snomed_concept(code: &str, display: &str) -> Value {
    json!({"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display})
}

fn coded(concept: &Coded) -> Value {
    snomed_concept(&concept.code, &concept.display)
}

fn hl7(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [{"system": system, "code": code, "display": display}]})
}

fn category(code: &str) -> Value {
    let display = match code {
        "vital-signs" => "Vital Signs",
        "laboratory" => "Laboratory",
        _ => "Exam",
    };
    json!([hl7(OBSERVATION_CATEGORY, code, display)])
}

/// SNOMED CT (and LOINC, as the demo records and the vital-signs profile have it).
fn kind_concept(kind: &ObservationKind) -> Value {
    let mut coding = Vec::new();
    if let Some((code, display)) = kind.loinc {
        coding.push(json!({"system": LOINC, "code": code, "display": display}));
    }
    coding.push(json!({"system": SNOMED, "code": kind.snomed.0, "display": kind.snomed.1}));
    json!({"coding": coding, "text": kind.label})
}

fn quantity(kind: &ObservationKind, value: f64) -> Value {
    // The number as written, so 37.5 is stored as 37.5 and 150 as 150.
    let number: Value = serde_json::from_str(&observations::format_value(value, kind.decimals))
        .unwrap_or(json!(value));
    json!({"value": number, "unit": kind.unit, "system": UCUM, "code": kind.ucum})
}
