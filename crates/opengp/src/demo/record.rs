//! The record under construction: one patient's clinical facts (age, sex, smoking,
//! problems) and the Bundle entries written so far.
//!
//! Clinical entries are written inside a consultation ([`Record::open`] …
//! [`Record::close`]): each entry carries the consultation's Encounter and is filed
//! under the current topic and heading, and closing the consultation writes the
//! GP Connect Lists (consultation → topics → categories → entries) that
//! `clinical::conventions` describes. Entries filed under a topic about a problem are
//! linked back from the problem (RelatedClinicalContent) when the record is finished.

use super::codes::{self, Code, concept};
use super::practice::{self, Role};
use super::rng::Rng;
use super::values::{date_time, years_between};
use chrono::{Duration, NaiveDate};
use clinical::conventions as gp;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sex {
    Female,
    Male,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Smoking {
    Never,
    Current,
    Ex,
}

/// A problem on the problem list.
#[derive(Debug, Clone)]
pub(super) struct Problem {
    pub(super) code: Code,
    pub(super) onset: NaiveDate,
    pub(super) urn: String,
    pub(super) major: bool,
    /// When it ended (a past problem), if it has.
    pub(super) ended: Option<NaiveDate>,
    /// The first episode's urn, when this is a later episode of the same problem.
    pub(super) first_episode: Option<String>,
}

/// A long-term medicine: authorised at a consultation, issued every `interval` days
/// from `from` until `to` (when it was stopped or changed) or the end of the record.
#[derive(Debug, Clone)]
pub(super) struct Course {
    pub(super) med: super::codes::Medicine,
    pub(super) plan: String,
    pub(super) problem: String,
    pub(super) prescriber: String,
    pub(super) from: NaiveDate,
    pub(super) to: Option<NaiveDate>,
}

/// The consultation being written.
pub(super) struct Visit {
    pub(super) encounter: String,
    pub(super) day: NaiveDate,
    pub(super) when: String,
    pub(super) clinician: String,
    kind: Code,
    topics: Vec<Topic>,
    /// Index into `gp::HEADINGS` of the heading entries are filed under.
    heading: usize,
}

struct Topic {
    title: String,
    problem: Option<String>,
    /// (heading index, entry urn), in the order written.
    filed: Vec<(usize, String)>,
}

/// Builds one patient's Bundle.
pub(super) struct Record<'a> {
    pub(super) rng: Rng,
    pub(super) ods: &'a str,
    pub(super) entries: Vec<Value>,
    pub(super) patient_urn: String,
    pub(super) sex: Sex,
    pub(super) birth: NaiveDate,
    pub(super) start: NaiveDate,
    /// The last day of the record: the end of the synthetic world, or the day of death.
    pub(super) end: NaiveDate,
    pub(super) smoking: Smoking,
    pub(super) height_mm: i64,
    pub(super) bmi_tenths: i64,
    pub(super) penicillin_allergy: bool,
    pub(super) problems: Vec<Problem>,
    pub(super) usual_gp: String,
    /// Long-term medicines: issued as repeats when the record is finished.
    pub(super) courses: Vec<Course>,
    /// Kidney function now (eGFR, mL/min/1.73m2): declines with age and in CKD.
    pub(super) egfr: i64,
    /// HbA1c now (mmol/mol), for diabetics.
    pub(super) hba1c: i64,
    /// How far above their age's systolic pressure this patient runs now (mmHg).
    pub(super) bp_excess: i64,
    /// Days between repeat issues.
    pub(super) repeat_days: i64,
    /// Whether the record ends with the patient's death.
    pub(super) deceased: bool,
    pub(super) visit: Option<Visit>,
    /// (problem urn, entry urn) pairs for RelatedClinicalContent.
    links: Vec<(String, String)>,
}

impl<'a> Record<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        rng: Rng,
        ods: &'a str,
        sex: Sex,
        birth: NaiveDate,
        start: NaiveDate,
        end: NaiveDate,
        smoking: Smoking,
        height_mm: i64,
        bmi_tenths: i64,
    ) -> Self {
        let mut rec = Record {
            rng,
            ods,
            entries: Vec::new(),
            patient_urn: String::new(),
            sex,
            birth,
            start,
            end,
            smoking,
            height_mm,
            bmi_tenths,
            penicillin_allergy: false,
            problems: Vec::new(),
            usual_gp: String::new(),
            courses: Vec::new(),
            egfr: 95,
            hba1c: 38,
            bp_excess: 0,
            repeat_days: 56,
            deceased: false,
            visit: None,
            links: Vec::new(),
        };
        rec.patient_urn = rec.urn();
        rec.usual_gp = rec.staff(Role::Gp);
        rec
    }

    pub(super) fn urn(&mut self) -> String {
        format!("urn:uuid:{}", self.rng.uuid())
    }

    pub(super) fn age_on(&self, day: NaiveDate) -> i64 {
        years_between(self.birth, day)
    }

    pub(super) fn has(&self, code: Code) -> bool {
        self.problems.iter().any(|p| p.code.code == code.code)
    }

    /// The problem with `code` that is active on `day`, if any.
    pub(super) fn active_problem(&self, code: Code, day: NaiveDate) -> Option<&Problem> {
        self.problems.iter().find(|p| {
            p.code.code == code.code && p.onset <= day && p.ended.is_none_or(|e| day <= e)
        })
    }

    pub(super) fn problem_active_on(&self, code: Code, day: NaiveDate) -> bool {
        self.active_problem(code, day).is_some()
    }

    pub(super) fn subject(&self) -> Value {
        json!({"reference": self.patient_urn})
    }

    /// A random member of staff with `role`.
    pub(super) fn staff(&mut self, role: Role) -> String {
        let people = practice::references(self.ods, role);
        self.rng.pick(&people).clone()
    }

    /// The usual GP most of the time, otherwise a colleague.
    pub(super) fn gp(&mut self) -> String {
        if self.rng.percent(60) {
            self.usual_gp.clone()
        } else {
            self.staff(Role::Gp)
        }
    }

    /// Adds a resource created by POST, with `urn` as its fullUrl.
    pub(super) fn add(&mut self, urn: String, resource: Value) {
        let rtype = resource["resourceType"]
            .as_str()
            .expect("resourceType")
            .to_string();
        self.entries.push(
            json!({"fullUrl": urn, "resource": resource, "request": {"method": "POST", "url": rtype}}),
        );
    }

    /// A random surgery appointment time: 08:30 to 17:50 in ten-minute slots.
    pub(super) fn appointment_minutes(&mut self) -> i64 {
        8 * 60 + 30 + 10 * self.rng.range(0, 56)
    }

    /// Starts a consultation: writes its Encounter. `kind` is one of the encounter
    /// types of `codes` (face to face, telephone, home visit, indirect).
    pub(super) fn open(&mut self, day: NaiveDate, clinician: &str, kind: Code) {
        debug_assert!(self.visit.is_none(), "a consultation is already open");
        let encounter = self.urn();
        let minutes = self.appointment_minutes();
        let class = match kind.code {
            c if c == codes::TELEPHONE.code => ("VR", "virtual"),
            c if c == codes::HOME_VISIT.code => ("HH", "home health"),
            _ => ("AMB", "ambulatory"),
        };
        let length = if kind.code == codes::TELEPHONE.code {
            10
        } else {
            15
        };
        let enc = json!({
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class.0, "display": class.1},
            "type": [concept(&[kind])],
            "subject": self.subject(),
            "participant": [{"individual": {"reference": clinician}}],
            "period": {"start": date_time(day, minutes), "end": date_time(day, minutes + length)},
            "serviceProvider": {"reference": format!("Organization/{}", self.ods)}
        });
        self.add(encounter.clone(), enc);
        self.visit = Some(Visit {
            encounter,
            day,
            when: date_time(day, minutes),
            clinician: clinician.to_string(),
            kind,
            topics: Vec::new(),
            heading: 0,
        });
    }

    fn visit_mut(&mut self) -> &mut Visit {
        self.visit.as_mut().expect("a consultation is open")
    }

    pub(super) fn visit(&self) -> &Visit {
        self.visit.as_ref().expect("a consultation is open")
    }

    /// Starts a topic of the open consultation, about `problem` (a Condition urn) if any.
    pub(super) fn topic(&mut self, title: &str, problem: Option<&str>) {
        self.visit_mut().topics.push(Topic {
            title: title.to_string(),
            problem: problem.map(str::to_string),
            filed: Vec::new(),
        });
    }

    /// Files the following entries under `key` (`history`, `examination`, …).
    pub(super) fn heading(&mut self, key: &str) {
        let index = gp::HEADINGS
            .iter()
            .position(|(k, _, _)| *k == key)
            .expect("a heading of clinical::conventions::HEADINGS");
        self.visit_mut().heading = index;
    }

    /// Writes a clinical entry: inside a consultation it carries the Encounter and is
    /// filed under the current topic and heading. Returns its urn.
    pub(super) fn entry(&mut self, resource: Value) -> String {
        let urn = self.urn();
        self.entry_with(urn.clone(), resource);
        urn
    }

    /// [`Record::entry`] with a fullUrl chosen beforehand (a problem's, say).
    pub(super) fn entry_with(&mut self, urn: String, mut resource: Value) {
        if let Some(visit) = self.visit.as_mut() {
            let reference = json!({"reference": visit.encounter});
            match resource["resourceType"].as_str() {
                Some("AllergyIntolerance") => {
                    resource["extension"] =
                        json!([{"url": gp::ASSOCIATED_ENCOUNTER_EXT, "valueReference": reference}]);
                }
                Some("DocumentReference") => resource["context"]["encounter"] = json!([reference]),
                _ => resource["encounter"] = reference,
            }
            if visit.topics.is_empty() {
                let title = visit.kind.display.to_string();
                visit.topics.push(Topic {
                    title,
                    problem: None,
                    filed: Vec::new(),
                });
            }
            let heading = visit.heading;
            let topic = visit.topics.last_mut().expect("a topic");
            topic.filed.push((heading, urn.clone()));
            if let Some(problem) = &topic.problem
                && *problem != urn
            {
                self.links.push((problem.clone(), urn.clone()));
            }
        }
        self.add(urn, resource);
    }

    /// Links an entry written outside a consultation (a repeat prescription) to a problem.
    pub(super) fn link(&mut self, problem: &str, entry: &str) {
        self.links.push((problem.to_string(), entry.to_string()));
    }

    /// Free text under the current heading: an Observation with the heading's code.
    pub(super) fn note(&mut self, text: &str) {
        let visit = self.visit();
        let (_, display, code) = gp::HEADINGS[visit.heading];
        let obs = json!({
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": gp::SNOMED, "code": code, "display": display}], "text": display},
            "subject": self.subject(),
            "effectiveDateTime": visit.when,
            "performer": [{"reference": visit.clinician}],
            "valueString": text
        });
        self.entry(obs);
    }

    /// Ends the consultation: writes its category, topic and consultation Lists.
    pub(super) fn close(&mut self) {
        let visit = self.visit.take().expect("a consultation is open");
        let mut topic_urns = Vec::new();
        for topic in &visit.topics {
            let mut categories = Vec::new();
            for (index, (_, title, _)) in gp::HEADINGS.iter().enumerate() {
                let items: Vec<&str> = topic
                    .filed
                    .iter()
                    .filter(|(h, _)| *h == index)
                    .map(|(_, urn)| urn.as_str())
                    .collect();
                if !items.is_empty() {
                    categories.push(self.list(&visit, gp::CATEGORY_LIST, title, &items, None));
                }
            }
            if categories.is_empty() {
                continue;
            }
            let header = topic.problem.as_ref().map(|p| {
                json!([{"url": gp::RELATED_PROBLEM_HEADER_EXT, "extension": [
                    {"url": "target", "valueReference": {"reference": p}}
                ]}])
            });
            let items: Vec<&str> = categories.iter().map(String::as_str).collect();
            topic_urns.push(self.list(&visit, gp::TOPIC_LIST, &topic.title, &items, header));
        }
        let items: Vec<&str> = topic_urns.iter().map(String::as_str).collect();
        self.list(
            &visit,
            gp::CONSULTATION_LIST,
            visit.kind.display,
            &items,
            None,
        );
    }

    fn list(
        &mut self,
        visit: &Visit,
        kind: (&str, &str),
        title: &str,
        items: &[&str],
        extension: Option<Value>,
    ) -> String {
        let urn = self.urn();
        let mut list = json!({
            "resourceType": "List",
            "status": "current",
            "mode": "snapshot",
            "title": title,
            "code": {"coding": [{"system": gp::SNOMED, "code": kind.0, "display": kind.1}]},
            "subject": self.subject(),
            "encounter": {"reference": visit.encounter},
            "date": visit.when,
            "entry": items.iter().map(|i| json!({"item": {"reference": i}})).collect::<Vec<_>>()
        });
        if let Some(extension) = extension {
            list["extension"] = extension;
        }
        self.add(urn.clone(), list);
        urn
    }

    /// The finished Bundle: problems get their RelatedClinicalContent links.
    pub(super) fn finish(mut self) -> Value {
        debug_assert!(self.visit.is_none(), "a consultation was left open");
        let links = std::mem::take(&mut self.links);
        for entry in &mut self.entries {
            let url = entry["fullUrl"].as_str().unwrap_or_default().to_string();
            let related: Vec<Value> = links
                .iter()
                .filter(|(problem, _)| *problem == url)
                .map(|(_, item)| {
                    json!({"url": gp::RELATED_CLINICAL_CONTENT_EXT, "valueReference": {"reference": item}})
                })
                .collect();
            if related.is_empty() {
                continue;
            }
            let extension = entry["resource"]["extension"]
                .as_array_mut()
                .expect("problems carry their significance");
            extension.extend(related);
        }
        json!({"resourceType": "Bundle", "type": "transaction", "entry": self.entries})
    }

    /// Date-time of the open consultation, or a surgery time on `day` outside one.
    pub(super) fn when_on(&mut self, day: NaiveDate) -> String {
        match &self.visit {
            Some(v) => v.when.clone(),
            None => {
                let minutes = self.appointment_minutes();
                date_time(day, minutes)
            }
        }
    }

    /// Days from `from` to the end of the record (negative once past it).
    pub(super) fn days_left(&self, from: NaiveDate) -> i64 {
        (self.end - from).num_days()
    }

    /// `day` plus `days`, if that is still within the record.
    pub(super) fn within(&self, day: NaiveDate, days: i64) -> Option<NaiveDate> {
        let d = day + Duration::days(days);
        (d >= self.start && d <= self.end).then_some(d)
    }
}
