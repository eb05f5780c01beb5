//! A long, deterministic record in the shape the workspace writes (GP Connect
//! consultations: Encounter → consultation List → topic List → heading List → entries),
//! for tests and the record page's benchmark: `years` of history, a dozen consultations
//! a year, each with about nine entries.

use crate::conventions::{
    BLOOD_PRESSURE, CATEGORY_LIST, CONDITION_CATEGORY_SYSTEM, CONDITION_CLINICAL_SYSTEM,
    CONSULTATION_LIST, DIASTOLIC, FLAG_CATEGORY_SYSTEM, HEADINGS, NHS_NUMBER_SYSTEM,
    PROBLEM_LIST_ITEM, PROBLEM_SIGNIFICANCE_EXT, RELATED_PROBLEM_HEADER_EXT, SNOMED, SYSTOLIC,
    TOPIC_LIST, UCUM,
};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

/// Consultations a year in the sample record.
pub const CONSULTATIONS_PER_YEAR: i64 = 12;

/// A transaction Bundle of one patient (NHS number `nhs_number`, which must pass the
/// Modulus 11 check) with `years` of history ending today.
pub fn long_record(nhs_number: &str, years: i64) -> Value {
    let mut b = Builder::default();
    let today = Utc::now().date_naive();
    let start = today - Duration::days(365 * years);
    let patient = b.add(json!({
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs_number}],
        "name": [{"use": "official", "family": "Longhistory", "given": ["Margaret", "Ann"], "prefix": ["Mrs"]}],
        "gender": "female",
        "birthDate": "1950-06-15"
    }));
    let gp = b.add(json!({
        "resourceType": "Practitioner",
        "name": [{"family": "Patel", "given": ["Asha"], "prefix": ["Dr"]}]
    }));
    let subject = json!({"reference": patient});
    let hypertension = b.add(problem(
        &subject,
        ("38341003", "Hypertensive disorder, systemic arterial"),
        start,
        true,
    ));
    let diabetes = b.add(problem(
        &subject,
        ("44054006", "Diabetes mellitus type 2"),
        start + Duration::days(400),
        true,
    ));
    b.add(json!({
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": "91936005", "display": "Allergy to penicillin"}]},
        "patient": subject,
        "reaction": [{"manifestation": [{"coding": [{"system": SNOMED, "code": "64305001", "display": "Urticaria"}]}], "severity": "moderate"}]
    }));
    b.add(json!({
        "resourceType": "Flag",
        "status": "active",
        "category": [{"coding": [{"system": FLAG_CATEGORY_SYSTEM, "code": "safety", "display": "Safety"}]}],
        "code": {"text": "Hard of hearing: face the patient when speaking"},
        "subject": subject
    }));
    b.add(json!({
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": SNOMED, "code": "319283006", "display": "Amlodipine 5mg tablets"}]},
        "subject": subject,
        "authoredOn": (today - Duration::days(20)).format("%Y-%m-%d").to_string(),
        "dosageInstruction": [{"text": "One tablet once a day"}]
    }));
    let mut day = start;
    let step = Duration::days(365 / CONSULTATIONS_PER_YEAR);
    let mut n: i64 = 0;
    while day < today {
        let about = if n % 2 == 0 { &hypertension } else { &diabetes };
        b.consultation(&subject, &gp, about, day, n);
        if day.month() == 10 && day.day() <= 31 && n % CONSULTATIONS_PER_YEAR == 9 {
            b.add(json!({
                "resourceType": "Immunization",
                "status": "completed",
                "vaccineCode": {"coding": [{"system": SNOMED, "code": "1181000221105", "display": "Influenza vaccine"}]},
                "patient": subject,
                "occurrenceDateTime": day.format("%Y-%m-%d").to_string(),
                "primarySource": true
            }));
        }
        day += step;
        n += 1;
    }
    json!({"resourceType": "Bundle", "type": "transaction", "entry": b.entries})
}

#[derive(Default)]
struct Builder {
    entries: Vec<Value>,
    next: u64,
}

impl Builder {
    /// Adds a resource to create; returns its `urn:uuid:` for references.
    fn add(&mut self, resource: Value) -> String {
        self.next += 1;
        let urn = format!("urn:uuid:00000000-0000-4000-8000-{:012}", self.next);
        let rtype = resource["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.entries.push(json!({"fullUrl": urn, "resource": resource, "request": {"method": "POST", "url": rtype}}));
        urn
    }

    fn consultation(&mut self, subject: &Value, gp: &str, problem: &str, day: NaiveDate, n: i64) {
        let when = format!("{}T09:{:02}:00Z", day.format("%Y-%m-%d"), n % 60);
        let telephone = n % 3 == 0;
        let (code, display) = if telephone {
            ("185317003", "Telephone encounter")
        } else {
            ("11429006", "Consultation")
        };
        let enc = self.add(json!({
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": if telephone { "VR" } else { "AMB" }},
            "type": [{"coding": [{"system": SNOMED, "code": code, "display": display}]}],
            "subject": subject,
            "participant": [{"individual": {"reference": gp}}],
            "period": {"start": when, "end": when}
        }));
        let link = |r: &str| json!({"reference": r});
        let observation = |code: (&str, &str), value: (&str, Value)| {
            let mut o = json!({
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": SNOMED, "code": code.0, "display": code.1}]},
                "subject": subject,
                "encounter": link(&enc),
                "effectiveDateTime": when,
                "performer": [link(gp)]
            });
            o[value.0] = value.1;
            o
        };
        let history = HEADINGS[0];
        let examination = HEADINGS[1];
        let plan = HEADINGS[4];
        let mut history_entries = vec![self.add(observation(
            (history.2, history.1),
            (
                "valueString",
                json!(format!("Review {n}: feeling well, no new symptoms")),
            ),
        ))];
        history_entries.push(self.add(observation(
            ("72166-2", "Tobacco smoking status"),
            ("valueCodeableConcept", json!({"coding": [{"system": SNOMED, "code": "266919005", "display": "Never smoked tobacco"}]})),
        )));
        let systolic = 128 + (n * 7) % 25;
        let diastolic = 76 + (n * 3) % 12;
        let mut bp = observation(BLOOD_PRESSURE, ("valueString", Value::Null));
        bp.as_object_mut().expect("object").remove("valueString");
        bp["component"] = json!([
            {"code": {"coding": [{"system": SNOMED, "code": SYSTOLIC.0, "display": SYSTOLIC.1}]}, "valueQuantity": {"value": systolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": SNOMED, "code": DIASTOLIC.0, "display": DIASTOLIC.1}]}, "valueQuantity": {"value": diastolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}
        ]);
        let quantity = |value: f64, unit: &str, ucum: &str| json!({"value": value, "unit": unit, "system": UCUM, "code": ucum});
        let weight = 70.0 + ((n * 13) % 40) as f64 / 10.0;
        let exam_entries = vec![
            self.add(bp),
            self.add(observation(
                ("364075005", "Heart rate"),
                (
                    "valueQuantity",
                    quantity((64 + n % 20) as f64, "beats/minute", "/min"),
                ),
            )),
            self.add(observation(
                ("27113001", "Body weight"),
                ("valueQuantity", quantity(weight, "kg", "kg")),
            )),
            self.add(observation(
                ("60621009", "Body mass index"),
                (
                    "valueQuantity",
                    quantity((weight / 2.72 * 10.0).round() / 10.0, "kg/m2", "kg/m2"),
                ),
            )),
            self.add(observation(
                (
                    "999791000000106",
                    "Haemoglobin A1c level - IFCC standardised",
                ),
                (
                    "valueQuantity",
                    quantity((48 + n % 15) as f64, "mmol/mol", "mmol/mol"),
                ),
            )),
            self.add(observation(
                ("1005671000000105", "Serum cholesterol level"),
                (
                    "valueQuantity",
                    quantity(4.0 + (n % 20) as f64 / 10.0, "mmol/L", "mmol/L"),
                ),
            )),
            self.add(observation(
                (examination.2, examination.1),
                ("valueString", json!("Heart sounds normal, chest clear")),
            )),
        ];
        let plan_entries = vec![self.add(observation(
            (plan.2, plan.1),
            (
                "valueString",
                json!("Continue current treatment; review in a month"),
            ),
        ))];
        let mut headings = Vec::new();
        for ((_, title, _), items) in [
            (history, history_entries),
            (examination, exam_entries),
            (plan, plan_entries),
        ] {
            headings.push(self.add(list(
                CATEGORY_LIST,
                title,
                subject,
                &enc,
                &when,
                &items,
                None,
            )));
        }
        let topic = self.add(list(
            TOPIC_LIST,
            "Review",
            subject,
            &enc,
            &when,
            &headings,
            Some(problem),
        ));
        self.add(list(
            CONSULTATION_LIST,
            display,
            subject,
            &enc,
            &when,
            &[topic],
            None,
        ));
    }
}

fn problem(subject: &Value, code: (&str, &str), onset: NaiveDate, major: bool) -> Value {
    json!({
        "resourceType": "Condition",
        "extension": [{"url": PROBLEM_SIGNIFICANCE_EXT, "valueCode": if major { "major" } else { "minor" }}],
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL_SYSTEM, "code": "active"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY_SYSTEM, "code": PROBLEM_LIST_ITEM}]}],
        "code": {"coding": [{"system": SNOMED, "code": code.0, "display": code.1}]},
        "subject": subject,
        "onsetDateTime": onset.format("%Y-%m-%d").to_string()
    })
}

fn list(
    kind: (&str, &str),
    title: &str,
    subject: &Value,
    encounter: &str,
    when: &str,
    items: &[String],
    problem: Option<&str>,
) -> Value {
    let mut l = json!({
        "resourceType": "List",
        "status": "current",
        "mode": "snapshot",
        "title": title,
        "code": {"coding": [{"system": SNOMED, "code": kind.0, "display": kind.1}]},
        "subject": subject,
        "date": when,
        "entry": items.iter().map(|i| json!({"item": {"reference": i}})).collect::<Vec<_>>()
    });
    if kind == CONSULTATION_LIST {
        l["encounter"] = json!({"reference": encounter});
    }
    if let Some(problem) = problem {
        l["extension"] = json!([{"url": RELATED_PROBLEM_HEADER_EXT, "extension": [
            {"url": "target", "valueReference": {"reference": problem}}
        ]}]);
    }
    l
}
