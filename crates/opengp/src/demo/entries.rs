//! Builders for the clinical entries of a record: observations (with UCUM units),
//! problems and diagnoses, prescriptions, immunisations, allergies, procedures, tasks
//! and alerts. Each goes through [`Record::entry`], so inside a consultation it is
//! filed there and carries the Encounter.

use super::codes::{self, Code, Medicine, Vaccine, concept, hl7_concept};
use super::record::{Problem, Record, Sex};
use super::values::{blood_pressure_observation, date_time, decimal, quantity};
use chrono::{Duration, NaiveDate};
use clinical::conventions as gp;
use serde_json::{Value, json};

const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

impl Record<'_> {
    fn observation(&mut self, category: (&str, &str), code: &[Code], value: (&str, Value)) {
        let visit = self.visit();
        let mut obs = json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [hl7_concept(OBSERVATION_CATEGORY, category.0, category.1)],
            "code": concept(code),
            "subject": self.subject(),
            "effectiveDateTime": visit.when,
            "performer": [{"reference": visit.clinician}]
        });
        obs[value.0] = value.1;
        self.entry(obs);
    }

    fn vital(&mut self, code: &[Code], q: Value) {
        self.observation(("vital-signs", "Vital Signs"), code, ("valueQuantity", q));
    }

    /// A laboratory result: `value` in 10^-`places` units of `unit` (UCUM `ucum`).
    pub(super) fn lab(&mut self, code: &[Code], value: i64, places: u32, unit: &str, ucum: &str) {
        let q = quantity(decimal(value, places), unit, ucum);
        self.observation(("laboratory", "Laboratory"), code, ("valueQuantity", q));
    }

    /// A blood pressure reading: `extra_systolic` above what age alone gives (an
    /// untreated or poorly controlled hypertensive has a positive one).
    pub(super) fn blood_pressure(&mut self, extra_systolic: i64) -> (i64, i64) {
        let day = self.visit().day;
        let age = self.age_on(day).max(18);
        let systolic =
            (112 + (age - 20) / 2 + extra_systolic + self.rng.normal(0, 8)).clamp(90, 200);
        let diastolic = (72 + extra_systolic / 2 + self.rng.normal(0, 6)).clamp(50, systolic - 25);
        let visit = self.visit();
        let mut obs =
            blood_pressure_observation(&self.patient_urn.clone(), &visit.when, systolic, diastolic);
        obs["performer"] = json!([{"reference": visit.clinician}]);
        self.entry(obs);
        (systolic, diastolic)
    }

    /// Weight and BMI (and height when `with_height`), drifting a little over time.
    pub(super) fn weight_and_bmi(&mut self, with_height: bool) {
        self.bmi_tenths = (self.bmi_tenths + self.rng.normal(0, 6)).clamp(160, 480);
        let h = self.height_mm;
        let weight_tenths = self.bmi_tenths * h * h / 1_000_000;
        let bmi_tenths = weight_tenths * 1_000_000 / (h * h);
        if with_height {
            self.vital(&codes::BODY_HEIGHT, quantity(decimal(h, 1), "cm", "cm"));
        }
        self.vital(
            &codes::BODY_WEIGHT,
            quantity(decimal(weight_tenths, 1), "kg", "kg"),
        );
        self.vital(
            &codes::BMI,
            quantity(decimal(bmi_tenths, 1), "kg/m2", "kg/m2"),
        );
    }

    pub(super) fn smoking_status(&mut self) {
        let status = match self.smoking {
            super::record::Smoking::Never => codes::NEVER_SMOKED,
            super::record::Smoking::Current => codes::SMOKER,
            super::record::Smoking::Ex => codes::EX_SMOKER,
        };
        self.observation(
            ("social-history", "Social History"),
            &codes::SMOKING_STATUS,
            ("valueCodeableConcept", concept(&[status])),
        );
    }

    /// Urea and electrolytes and cholesterol, as taken at a yearly review.
    pub(super) fn yearly_bloods(&mut self, egfr: i64) {
        let sodium = self.rng.normal(140, 2).clamp(130, 148);
        let potassium = self.rng.normal(43, 4).clamp(33, 58);
        // Creatinine follows kidney function: roughly inverse to eGFR.
        let base = if self.sex == Sex::Male { 85 } else { 68 };
        let creatinine = (base * 90 / egfr.max(10) + self.rng.normal(0, 5)).clamp(45, 400);
        let cholesterol = self.rng.normal(48, 9).clamp(28, 80);
        self.lab(&codes::SERUM_SODIUM, sodium, 0, "mmol/L", "mmol/L");
        self.lab(&codes::SERUM_POTASSIUM, potassium, 1, "mmol/L", "mmol/L");
        self.lab(&codes::SERUM_CREATININE, creatinine, 0, "umol/L", "umol/L");
        self.lab(&codes::EGFR, egfr, 0, "mL/min/1.73m2", "mL/min/{1.73_m2}");
        self.lab(
            &codes::SERUM_CHOLESTEROL,
            cholesterol,
            1,
            "mmol/L",
            "mmol/L",
        );
    }

    /// Temperature and pulse (and oxygen saturation for a chest) at an infection.
    pub(super) fn infection_vitals(&mut self, chest: bool) {
        let temperature = self.rng.normal(375, 6).clamp(360, 397);
        let pulse = self.rng.normal(84, 12).clamp(55, 130);
        self.vital(
            &codes::BODY_TEMPERATURE,
            quantity(decimal(temperature, 1), "Cel", "Cel"),
        );
        self.vital(
            &codes::HEART_RATE,
            quantity(decimal(pulse, 0), "beats/minute", "/min"),
        );
        if chest {
            let saturation = self.rng.normal(96, 2).clamp(89, 100);
            self.vital(
                &codes::OXYGEN_SATURATION,
                quantity(decimal(saturation, 0), "%", "%"),
            );
        }
    }

    pub(super) fn hba1c(&mut self, value: i64) {
        self.lab(
            &codes::HBA1C,
            value.clamp(40, 110),
            0,
            "mmol/mol",
            "mmol/mol",
        );
    }

    pub(super) fn peak_flow(&mut self, copd: bool) {
        let age = self.age_on(self.visit().day);
        let predicted = if age < 16 {
            150 + 20 * age
        } else {
            let base = if self.sex == Sex::Male { 580 } else { 440 };
            base - 3 * (age - 40).max(0)
        };
        let percent = if copd {
            self.rng.range(45, 75)
        } else {
            self.rng.range(65, 100)
        };
        let value = (predicted * percent / 100 / 10 * 10).max(100);
        self.observation(
            ("exam", "Exam"),
            &codes::PEAK_FLOW,
            (
                "valueQuantity",
                quantity(decimal(value, 0), "L/min", "L/min"),
            ),
        );
    }

    /// A problem on the problem list (a Condition with category problem-list-item).
    pub(super) fn problem(&mut self, p: &Problem, recorded: NaiveDate) {
        let (status, display) = match p.ended {
            Some(_) if p.code.code == codes::PREGNANCY.code => ("resolved", "Resolved"),
            Some(_) => ("inactive", "Inactive"),
            None => ("active", "Active"),
        };
        let mut extension = vec![
            json!({"url": gp::PROBLEM_SIGNIFICANCE_EXT, "valueCode": if p.major { "major" } else { "minor" }}),
        ];
        match &p.first_episode {
            Some(first) => {
                extension.push(json!({"url": gp::PROBLEM_EPISODE_EXT, "valueCode": "new"}));
                extension.push(json!({"url": gp::RELATED_PROBLEM_HEADER_EXT, "extension": [
                    {"url": "type", "valueCode": "child"},
                    {"url": "target", "valueReference": {"reference": first}}
                ]}));
            }
            None => extension.push(json!({"url": gp::PROBLEM_EPISODE_EXT, "valueCode": "first"})),
        }
        let recorder = match &self.visit {
            Some(v) => v.clinician.clone(),
            None => self.usual_gp.clone(),
        };
        let mut cond = json!({
            "resourceType": "Condition",
            "extension": extension,
            "clinicalStatus": hl7_concept(gp::CONDITION_CLINICAL_SYSTEM, status, display),
            "verificationStatus": hl7_concept(gp::CONDITION_VERIFICATION_SYSTEM, "confirmed", "Confirmed"),
            "category": [hl7_concept(gp::CONDITION_CATEGORY_SYSTEM, gp::PROBLEM_LIST_ITEM, "Problem List Item")],
            "code": concept(&[p.code]),
            "subject": self.subject(),
            "onsetDateTime": day_text(p.onset),
            "recordedDate": day_text(recorded),
            "recorder": {"reference": recorder},
            "asserter": {"reference": recorder}
        });
        if let Some(ended) = p.ended {
            cond["abatementDateTime"] = json!(day_text(ended));
        }
        // Written with the problem's own urn, so topics and links can point at it.
        self.entry_with(p.urn.clone(), cond);
    }

    /// A diagnosis made at a consultation that is not a problem: resolved after `days`.
    pub(super) fn diagnosis(&mut self, code: Code, days: i64) -> String {
        let visit = self.visit();
        let day = visit.day;
        let clinician = visit.clinician.clone();
        self.entry(json!({
            "resourceType": "Condition",
            "clinicalStatus": hl7_concept(gp::CONDITION_CLINICAL_SYSTEM, "resolved", "Resolved"),
            "verificationStatus": hl7_concept(gp::CONDITION_VERIFICATION_SYSTEM, "confirmed", "Confirmed"),
            "category": [hl7_concept(gp::CONDITION_CATEGORY_SYSTEM, gp::ENCOUNTER_DIAGNOSIS, "Encounter Diagnosis")],
            "code": concept(&[code]),
            "subject": self.subject(),
            "onsetDateTime": day_text(day),
            "abatementDateTime": day_text(day + Duration::days(days)),
            "recordedDate": day_text(day),
            "recorder": {"reference": clinician},
            "asserter": {"reference": clinician}
        }))
    }

    /// A prescription: an authorisation (`plan`) or an issue (`order`, based on one).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn medication_request(
        &mut self,
        med: &Medicine,
        day: NaiveDate,
        requester: &str,
        intent: &str,
        plan: Option<&str>,
        supply_days: i64,
        status: &str,
    ) -> String {
        let quantity_units = if med.per_day == 0 {
            1
        } else {
            med.per_day as i64 * supply_days
        };
        let long_term = supply_days >= 28;
        let mut req = json!({
            "resourceType": "MedicationRequest",
            "status": status,
            "intent": intent,
            "category": [hl7_concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "community", "Community")],
            "medicationCodeableConcept": concept(&[med.code]),
            "subject": self.subject(),
            "authoredOn": day_text(day),
            "requester": {"reference": requester},
            "courseOfTherapyType": hl7_concept(
                "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy",
                if long_term { "continuous" } else { "acute" },
                if long_term { "Continuous long term therapy" } else { "Short course (acute) therapy" }
            ),
            "dosageInstruction": [{"text": med.dose}],
            "dispenseRequest": {
                "quantity": {"value": decimal(quantity_units, 0), "unit": med.unit},
                "expectedSupplyDuration": quantity(decimal(supply_days, 0), "days", "d")
            }
        });
        if let Some(plan) = plan {
            req["basedOn"] = json!([{"reference": plan}]);
        }
        self.entry(req)
    }

    /// An immunisation. Inside a consultation it was given here; outside, it is history
    /// from another provider (not a primary source).
    pub(super) fn immunization(&mut self, vaccine: Vaccine, day: NaiveDate, dose: u32) {
        let given_here = self.visit.is_some();
        let when = self.when_on(day);
        let batch = format!(
            "{}{:04}",
            ["FL", "PN", "MR", "HX"][(vaccine.name.len() + dose as usize) % 4],
            self.rng.below(10_000)
        );
        let mut imm = json!({
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"coding": [vaccine.code.coding()], "text": vaccine.name},
            "patient": self.subject(),
            "occurrenceDateTime": when,
            "recorded": when,
            "primarySource": given_here,
            "protocolApplied": [{"doseNumberPositiveInt": dose}]
        });
        if let Some(visit) = &self.visit {
            imm["lotNumber"] = json!(batch);
            imm["performer"] = json!([{"actor": {"reference": visit.clinician}}]);
        }
        self.entry(imm);
    }

    /// An allergy (or "no known allergy") recorded in the open consultation.
    pub(super) fn allergy(&mut self, code: Code, reaction: Option<Code>, medication: bool) {
        let visit = self.visit();
        let clinician = visit.clinician.clone();
        let day = visit.day;
        let mut allergy = json!({
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": hl7_concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
            "verificationStatus": hl7_concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed"),
            "code": concept(&[code]),
            "patient": self.subject(),
            "recordedDate": day_text(day),
            "recorder": {"reference": clinician}
        });
        if let Some(reaction) = reaction {
            allergy["type"] = json!("allergy");
            allergy["category"] = json!([if medication {
                "medication"
            } else {
                "environment"
            }]);
            allergy["criticality"] = json!(if reaction.code == codes::ANAPHYLAXIS.code {
                "high"
            } else {
                "low"
            });
            allergy["reaction"] = json!([{"manifestation": [concept(&[reaction])], "severity": if reaction.code == codes::ANAPHYLAXIS.code { "severe" } else { "moderate" }}]);
        }
        self.entry(allergy);
    }

    /// A procedure done (or a result received) at the open consultation.
    pub(super) fn procedure(&mut self, code: Code) -> String {
        let visit = self.visit();
        let (when, clinician) = (visit.when.clone(), visit.clinician.clone());
        self.entry(json!({
            "resourceType": "Procedure",
            "status": "completed",
            "code": concept(&[code]),
            "subject": self.subject(),
            "performedDateTime": when,
            "recorder": {"reference": clinician},
            "performer": [{"actor": {"reference": clinician}}]
        }))
    }

    /// A task from the consultation's clinician to `owner`, due in `due_days`.
    pub(super) fn task(&mut self, owner: &str, description: &str, due_days: i64, urgent: bool) {
        let visit = self.visit();
        let (day, when, requester) = (visit.day, visit.when.clone(), visit.clinician.clone());
        let due = day + Duration::days(due_days);
        // Old tasks were done; recent ones are still waiting (or being worked on).
        let status = match self.days_left(due) {
            d if d > 14 => {
                if self.rng.percent(95) {
                    "completed"
                } else {
                    "cancelled"
                }
            }
            _ if self.rng.percent(30) => "in-progress",
            _ => "requested",
        };
        let mut task = json!({
            "resourceType": "Task",
            "status": status,
            "intent": "order",
            "priority": if urgent { "urgent" } else { "routine" },
            "description": description,
            "for": self.subject(),
            "authoredOn": when,
            "requester": {"reference": requester},
            "owner": {"reference": owner},
            "restriction": {"period": {"end": date_time(due, 17 * 60)}}
        });
        if status == "completed" {
            task["lastModified"] = json!(date_time(due, 12 * 60));
        }
        self.entry(task);
    }

    /// A patient alert: `text` (with a SNOMED CT code when there is one).
    pub(super) fn alert(
        &mut self,
        category: (&str, &str),
        text: &str,
        code: Option<Code>,
        day: NaiveDate,
    ) {
        let author = self.usual_gp.clone();
        let mut code_value = json!({"text": text});
        if let Some(code) = code {
            code_value["coding"] = json!([code.coding()]);
        }
        let urn = self.urn();
        let subject = self.subject();
        // A dead patient's alerts end with them.
        let (status, period) = if self.deceased {
            (
                "inactive",
                json!({"start": day_text(day), "end": day_text(self.end)}),
            )
        } else {
            ("active", json!({"start": day_text(day)}))
        };
        self.add(
            urn,
            json!({
                "resourceType": "Flag",
                "status": status,
                "category": [hl7_concept(gp::FLAG_CATEGORY_SYSTEM, category.0, category.1)],
                "code": code_value,
                "subject": subject,
                "period": period,
                "author": {"reference": author}
            }),
        );
    }
}
