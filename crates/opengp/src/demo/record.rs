//! The record under construction: one patient's clinical facts (age, sex, smoking,
//! problems) and the Bundle entries written so far, with a builder per resource type.

use super::codes::{self, Code, Medicine, concept, hl7_concept};
use super::practice;
use super::rng::Rng;
use super::values::{blood_pressure_observation, date_time, decimal, quantity, years_between};
use chrono::{Duration, NaiveDate};
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

/// A long-term condition on the problem list.
pub(super) struct Problem {
    pub(super) code: Code,
    pub(super) onset: NaiveDate,
    pub(super) urn: String,
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
    pub(super) end: NaiveDate,
    pub(super) smoking: Smoking,
    pub(super) height_mm: i64,
    pub(super) bmi_tenths: i64,
    pub(super) penicillin_allergy: bool,
    pub(super) problems: Vec<Problem>,
}

impl<'a> Record<'a> {
    pub(super) fn urn(&mut self) -> String {
        format!("urn:uuid:{}", self.rng.uuid())
    }

    pub(super) fn age_on(&self, day: NaiveDate) -> i64 {
        years_between(self.birth, day)
    }

    pub(super) fn has(&self, code: Code) -> bool {
        self.problems.iter().any(|p| p.code.code == code.code)
    }

    pub(super) fn problem_active_on(&self, code: Code, day: NaiveDate) -> bool {
        self.problems
            .iter()
            .any(|p| p.code.code == code.code && p.onset <= day)
    }

    pub(super) fn subject(&self) -> Value {
        json!({"reference": self.patient_urn})
    }

    /// Adds a resource created by POST, with `urn` as its fullUrl.
    pub(super) fn add(&mut self, urn: String, resource: Value) {
        let rtype = resource["resourceType"]
            .as_str()
            .expect("resourceType")
            .to_string();
        self.entries.push(json!({"fullUrl": urn, "resource": resource, "request": {"method": "POST", "url": rtype}}));
    }

    pub(super) fn random_gp(&mut self) -> String {
        let gps = practice::gp_references(self.ods);
        self.rng.pick(&gps).clone()
    }

    /// A random surgery appointment time: 08:30 to 17:50 in ten-minute slots.
    pub(super) fn appointment_minutes(&mut self) -> i64 {
        8 * 60 + 30 + 10 * self.rng.range(0, 56)
    }

    pub(super) fn encounter(
        &mut self,
        day: NaiveDate,
        clinician: &str,
        telephone: bool,
        reasons: &[Code],
    ) -> (String, i64) {
        let urn = self.urn();
        let minutes = self.appointment_minutes();
        let (class, class_display, kind) = if telephone {
            ("VR", "virtual", codes::TELEPHONE_ENCOUNTER)
        } else {
            ("AMB", "ambulatory", codes::CONSULTATION)
        };
        let mut enc = json!({
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class, "display": class_display},
            "type": [concept(&[kind])],
            "subject": self.subject(),
            "participant": [{"individual": {"reference": clinician}}],
            "period": {"start": date_time(day, minutes), "end": date_time(day, minutes + 10)},
            "serviceProvider": {"reference": format!("Organization/{}", self.ods)}
        });
        if !reasons.is_empty() {
            enc["reasonCode"] = json!(reasons.iter().map(|c| concept(&[*c])).collect::<Vec<_>>());
        }
        self.add(urn.clone(), enc);
        (urn, minutes)
    }

    pub(super) fn observation(
        &mut self,
        encounter: &str,
        when: &str,
        performer: &str,
        category: (&str, &str),
        code: &[Code],
        value: (&str, Value),
    ) {
        let urn = self.urn();
        let mut obs = json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [hl7_concept("http://terminology.hl7.org/CodeSystem/observation-category", category.0, category.1)],
            "code": concept(code),
            "subject": self.subject(),
            "encounter": {"reference": encounter},
            "effectiveDateTime": when,
            "performer": [{"reference": performer}]
        });
        obs[value.0] = value.1;
        self.add(urn, obs);
    }

    pub(super) fn vital(
        &mut self,
        encounter: &str,
        when: &str,
        performer: &str,
        code: &[Code],
        q: Value,
    ) {
        self.observation(
            encounter,
            when,
            performer,
            ("vital-signs", "Vital Signs"),
            code,
            ("valueQuantity", q),
        );
    }

    pub(super) fn blood_pressure(
        &mut self,
        encounter: &str,
        when: &str,
        performer: &str,
        day: NaiveDate,
    ) {
        let age = self.age_on(day).max(18);
        let hypertensive = self.problem_active_on(codes::HYPERTENSION, day);
        let mut systolic = 112 + (age - 20) / 2 + self.rng.normal(0, 9);
        let mut diastolic = 72 + self.rng.normal(0, 7);
        if hypertensive {
            // Treated hypertension: above average, but mostly controlled.
            systolic += 10;
            diastolic += 5;
        }
        let systolic = systolic.clamp(90, 200);
        let diastolic = diastolic.clamp(50, systolic - 25);
        let urn = self.urn();
        let subject = self.patient_urn.clone();
        let mut obs = blood_pressure_observation(&subject, when, systolic, diastolic);
        obs["encounter"] = json!({"reference": encounter});
        obs["performer"] = json!([{"reference": performer}]);
        self.add(urn, obs);
    }

    /// Weight and BMI (and height when `with_height`), drifting a little over time.
    pub(super) fn weight_and_bmi(
        &mut self,
        encounter: &str,
        when: &str,
        performer: &str,
        with_height: bool,
    ) {
        self.bmi_tenths = (self.bmi_tenths + self.rng.normal(0, 6)).clamp(160, 480);
        let h = self.height_mm;
        let weight_tenths = self.bmi_tenths * h * h / 1_000_000;
        let bmi_tenths = weight_tenths * 1_000_000 / (h * h);
        if with_height {
            self.vital(
                encounter,
                when,
                performer,
                &codes::BODY_HEIGHT,
                quantity(decimal(h, 1), "cm", "cm"),
            );
        }
        self.vital(
            encounter,
            when,
            performer,
            &codes::BODY_WEIGHT,
            quantity(decimal(weight_tenths, 1), "kg", "kg"),
        );
        self.vital(
            encounter,
            when,
            performer,
            &codes::BMI,
            quantity(decimal(bmi_tenths, 1), "kg/m2", "kg/m2"),
        );
    }

    pub(super) fn smoking_status(&mut self, encounter: &str, when: &str, performer: &str) {
        let status = match self.smoking {
            Smoking::Never => codes::NEVER_SMOKED,
            Smoking::Current => codes::SMOKER,
            Smoking::Ex => codes::EX_SMOKER,
        };
        self.observation(
            encounter,
            when,
            performer,
            ("social-history", "Social History"),
            &codes::SMOKING_STATUS,
            ("valueCodeableConcept", concept(&[status])),
        );
    }

    /// A laboratory result: `value` in 10^-`places` units of `unit` (UCUM `ucum`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn lab(
        &mut self,
        encounter: &str,
        when: &str,
        performer: &str,
        code: &[Code],
        value: i64,
        places: u32,
        unit: &str,
        ucum: &str,
    ) {
        let q = quantity(decimal(value, places), unit, ucum);
        self.observation(
            encounter,
            when,
            performer,
            ("laboratory", "Laboratory"),
            code,
            ("valueQuantity", q),
        );
    }

    /// Urea and electrolytes and cholesterol, as taken at a yearly review.
    pub(super) fn yearly_bloods(&mut self, encounter: &str, when: &str, performer: &str) {
        let sodium = self.rng.normal(140, 2).clamp(130, 148);
        let potassium = self.rng.normal(43, 4).clamp(33, 58);
        let creatinine = match self.sex {
            Sex::Male => self.rng.normal(88, 15),
            Sex::Female => self.rng.normal(70, 12),
        }
        .clamp(45, 180);
        let cholesterol = self.rng.normal(48, 9).clamp(28, 80);
        let umol = ("umol/L", "umol/L");
        self.lab(
            encounter,
            when,
            performer,
            &codes::SERUM_SODIUM,
            sodium,
            0,
            "mmol/L",
            "mmol/L",
        );
        self.lab(
            encounter,
            when,
            performer,
            &codes::SERUM_POTASSIUM,
            potassium,
            1,
            "mmol/L",
            "mmol/L",
        );
        self.lab(
            encounter,
            when,
            performer,
            &codes::SERUM_CREATININE,
            creatinine,
            0,
            umol.0,
            umol.1,
        );
        self.lab(
            encounter,
            when,
            performer,
            &codes::SERUM_CHOLESTEROL,
            cholesterol,
            1,
            "mmol/L",
            "mmol/L",
        );
    }

    /// Temperature and pulse (and oxygen saturation for a chest infection) at an acute
    /// consultation for an infection.
    pub(super) fn infection_vitals(
        &mut self,
        encounter: &str,
        when: &str,
        performer: &str,
        chest: bool,
    ) {
        let temperature = self.rng.normal(375, 6).clamp(360, 397);
        let pulse = self.rng.normal(84, 12).clamp(55, 130);
        self.vital(
            encounter,
            when,
            performer,
            &codes::BODY_TEMPERATURE,
            quantity(decimal(temperature, 1), "Cel", "Cel"),
        );
        self.vital(
            encounter,
            when,
            performer,
            &codes::HEART_RATE,
            quantity(decimal(pulse, 0), "beats/minute", "/min"),
        );
        if chest {
            let saturation = self.rng.normal(96, 2).clamp(89, 100);
            self.vital(
                encounter,
                when,
                performer,
                &codes::OXYGEN_SATURATION,
                quantity(decimal(saturation, 0), "%", "%"),
            );
        }
    }

    pub(super) fn hba1c(&mut self, encounter: &str, when: &str, performer: &str) {
        let value = self.rng.normal(56, 9).clamp(40, 110);
        self.observation(
            encounter,
            when,
            performer,
            ("laboratory", "Laboratory"),
            &codes::HBA1C,
            (
                "valueQuantity",
                quantity(decimal(value, 0), "mmol/mol", "mmol/mol"),
            ),
        );
    }

    pub(super) fn peak_flow(
        &mut self,
        encounter: &str,
        when: &str,
        performer: &str,
        day: NaiveDate,
    ) {
        let age = self.age_on(day);
        let predicted = if age < 16 {
            150 + 20 * age
        } else {
            let base = if self.sex == Sex::Male { 580 } else { 440 };
            base - 3 * (age - 40).max(0)
        };
        let percent = if self.problem_active_on(codes::COPD, day) {
            self.rng.range(45, 75)
        } else {
            self.rng.range(65, 100)
        };
        let value = (predicted * percent / 100 / 10 * 10).max(100);
        self.observation(
            encounter,
            when,
            performer,
            ("exam", "Exam"),
            &codes::PEAK_FLOW,
            (
                "valueQuantity",
                quantity(decimal(value, 0), "L/min", "L/min"),
            ),
        );
    }

    pub(super) fn condition(
        &mut self,
        urn: String,
        code: Code,
        onset: NaiveDate,
        recorded: NaiveDate,
        encounter: Option<&str>,
        resolved_after_days: Option<i64>,
    ) {
        let (status, category, category_display) = if resolved_after_days.is_some() {
            ("resolved", "encounter-diagnosis", "Encounter Diagnosis")
        } else {
            ("active", "problem-list-item", "Problem List Item")
        };
        let recorder = self.random_gp();
        let mut cond = json!({
            "resourceType": "Condition",
            "clinicalStatus": hl7_concept("http://terminology.hl7.org/CodeSystem/condition-clinical", status, if status == "active" { "Active" } else { "Resolved" }),
            "verificationStatus": hl7_concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
            "category": [hl7_concept("http://terminology.hl7.org/CodeSystem/condition-category", category, category_display)],
            "code": concept(&[code]),
            "subject": self.subject(),
            "onsetDateTime": onset.format("%Y-%m-%d").to_string(),
            "recordedDate": recorded.format("%Y-%m-%d").to_string(),
            "recorder": {"reference": recorder}
        });
        if let Some(enc) = encounter {
            cond["encounter"] = json!({"reference": enc});
        }
        if let Some(days) = resolved_after_days {
            cond["abatementDateTime"] = json!(
                (onset + Duration::days(days))
                    .format("%Y-%m-%d")
                    .to_string()
            );
        }
        self.add(urn, cond);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn medication_request(
        &mut self,
        med: &Medicine,
        day: NaiveDate,
        requester: &str,
        intent: &str,
        reason: Option<&str>,
        plan: Option<&str>,
        supply_days: i64,
        active: bool,
    ) -> String {
        let urn = self.urn();
        let quantity_units = if med.per_day == 0 {
            1
        } else {
            med.per_day as i64 * supply_days
        };
        let mut req = json!({
            "resourceType": "MedicationRequest",
            "status": if active { "active" } else { "completed" },
            "intent": intent,
            "category": [hl7_concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "community", "Community")],
            "medicationCodeableConcept": concept(&[med.code]),
            "subject": self.subject(),
            "authoredOn": day.format("%Y-%m-%d").to_string(),
            "requester": {"reference": requester},
            "courseOfTherapyType": hl7_concept(
                "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy",
                if supply_days >= 28 { "continuous" } else { "acute" },
                if supply_days >= 28 { "Continuous long term therapy" } else { "Short course (acute) therapy" }
            ),
            "dosageInstruction": [{"text": med.dose}],
            "dispenseRequest": {
                "quantity": {"value": decimal(quantity_units, 0), "unit": med.unit},
                "expectedSupplyDuration": quantity(decimal(supply_days, 0), "days", "d")
            }
        });
        if let Some(reason) = reason {
            req["reasonReference"] = json!([{"reference": reason}]);
        }
        if let Some(plan) = plan {
            req["basedOn"] = json!([{"reference": plan}]);
        }
        self.add(urn.clone(), req);
        urn
    }

    pub(super) fn immunization(&mut self, vaccine: Code, day: NaiveDate, dose: u32) {
        let urn = self.urn();
        let nurse = practice::nurse_reference(self.ods);
        let minutes = self.appointment_minutes();
        let batch = format!(
            "{}{:04}",
            ["FL", "PN", "MR"][(vaccine.code.len() + dose as usize) % 3],
            self.rng.below(10_000)
        );
        self.add(
            urn,
            json!({
                "resourceType": "Immunization",
                "status": "completed",
                "vaccineCode": concept(&[vaccine]),
                "patient": self.subject(),
                "occurrenceDateTime": date_time(day, minutes),
                "recorded": date_time(day, minutes + 5),
                "primarySource": true,
                "lotNumber": batch,
                "performer": [{"actor": {"reference": nurse}}],
                "protocolApplied": [{"doseNumberPositiveInt": dose}]
            }),
        );
    }
}
