//! Long-term conditions over the years: the consultation where each was diagnosed (or
//! the summary of one that arrived with the patient), the treatment it brings, its
//! follow-up (blood pressures trending down on treatment, HbA1c every six months with
//! gliclazide added when it climbs, eGFR falling in CKD, depression reviewed and
//! ending), yearly reviews with the practice nurse, and repeat prescriptions.

use super::codes::{self, Code, Medicine};
use super::practice::Role;
use super::record::{Course, Problem, Record};
use chrono::{Duration, NaiveDate};

/// Conditions the practice nurse reviews every year.
const REVIEWED: [Code; 6] = [
    codes::HYPERTENSION,
    codes::TYPE_2_DIABETES,
    codes::ASTHMA,
    codes::COPD,
    codes::ATRIAL_FIBRILLATION,
    codes::CKD,
];

pub(super) fn long_term_care(rec: &mut Record) {
    let problems = rec.problems.clone();
    let start = rec.start;
    for p in problems.iter().filter(|p| p.onset >= start) {
        if p.code.code != codes::PREGNANCY.code {
            diagnose(rec, p);
        }
    }
    annual_reviews(rec);
    diabetes_checks(rec);
}

/// The history, examination and plan of the consultation that diagnosed `code`.
fn presentation(code: Code) -> (&'static str, &'static str, &'static str) {
    match code.code {
        c if c == codes::HYPERTENSION.code => (
            "Raised readings at a routine check; home readings average 152/94. No headaches, chest pain or visual disturbance.",
            "Heart sounds normal. No ankle oedema.",
            "Lifestyle advice: salt, alcohol, exercise. Start treatment. Blood pressure check with the HCA in 4 weeks.",
        ),
        c if c == codes::TYPE_2_DIABETES.code => (
            "Tired and thirsty for two months, passing urine more often.",
            "Feet: pulses present, monofilament sensation normal.",
            "Type 2 diabetes confirmed on repeat HbA1c. Start metformin and a statin. Referred for structured education and retinal screening.",
        ),
        c if c == codes::ASTHMA.code => (
            "Wheeze and night-time cough, worse with colds and exercise.",
            "Scattered expiratory wheeze. Peak flow reduced.",
            "Start a reliever and a preventer inhaler; technique checked. Review in 6 weeks.",
        ),
        c if c == codes::COPD.code => (
            "Breathless on exertion for a year, productive cough every winter.",
            "Hyperinflated chest, prolonged expiration. Spirometry shows obstruction.",
            "Smoking cessation advice. Start a reliever inhaler. Pulmonary rehabilitation offered.",
        ),
        c if c == codes::DEPRESSION.code => (
            "Low mood for two months, poor sleep, loss of interest. No thoughts of self-harm.",
            "Flat affect, good eye contact. PHQ-9 score 16.",
            "Start an antidepressant; self-referral details for talking therapies given. Review in 2 weeks; safety-netting advice given.",
        ),
        c if c == codes::HYPOTHYROIDISM.code => (
            "Tired, feeling the cold, gaining weight.",
            "Dry skin. Pulse 58 and regular.",
            "TSH raised, free T4 low. Start levothyroxine; thyroid function again in 6 weeks.",
        ),
        c if c == codes::ATRIAL_FIBRILLATION.code => (
            "Palpitations on and off for a month.",
            "Pulse irregularly irregular, rate 110. ECG shows atrial fibrillation.",
            "Rate control started. Stroke risk discussed; anticoagulation clinic referral.",
        ),
        c if c == codes::KNEE_OSTEOARTHRITIS.code => (
            "Knee pain on walking, morning stiffness for 20 minutes.",
            "Crepitus and bony swelling, no effusion.",
            "Weight and exercise advice, physiotherapy referral, paracetamol when needed.",
        ),
        c if c == codes::CKD.code => (
            "Reduced eGFR found on routine bloods. No symptoms.",
            "No oedema.",
            "eGFR below 60 for over three months: chronic kidney disease. Blood pressure target discussed; yearly kidney function and urine ACR.",
        ),
        _ => ("", "", "Added to the problem list."),
    }
}

/// The medicines a condition starts with.
fn first_medicines(rec: &Record, p: &Problem) -> Vec<Medicine> {
    let young = rec.age_on(p.onset) < 25;
    match p.code.code {
        c if c == codes::HYPERTENSION.code => vec![if rec.has(codes::TYPE_2_DIABETES) {
            codes::RAMIPRIL
        } else {
            codes::AMLODIPINE
        }],
        c if c == codes::TYPE_2_DIABETES.code => vec![codes::METFORMIN, codes::ATORVASTATIN],
        c if c == codes::ASTHMA.code => vec![codes::SALBUTAMOL, codes::BECLOMETASONE],
        c if c == codes::COPD.code => vec![codes::SALBUTAMOL],
        c if c == codes::DEPRESSION.code => vec![if young {
            codes::FLUOXETINE
        } else {
            codes::CITALOPRAM
        }],
        c if c == codes::HYPOTHYROIDISM.code => vec![codes::LEVOTHYROXINE],
        c if c == codes::ATRIAL_FIBRILLATION.code => vec![codes::DIGOXIN],
        c if c == codes::KNEE_OSTEOARTHRITIS.code => vec![codes::PARACETAMOL],
        _ => Vec::new(),
    }
}

/// Authorises a repeat medicine at the open consultation, stopping on `to` if given.
pub(super) fn start_course(rec: &mut Record, med: Medicine, problem: &str, to: Option<NaiveDate>) {
    let visit = rec.visit();
    let (day, prescriber) = (visit.day, visit.clinician.clone());
    let status = match to {
        Some(_) => "stopped",
        None if rec.deceased => "completed",
        None => "active",
    };
    let days = rec.repeat_days;
    let plan = rec.medication_request(&med, day, &prescriber, "plan", None, days, status);
    rec.courses.push(Course {
        med,
        plan,
        problem: problem.to_string(),
        prescriber,
        from: day,
        to,
    });
}

/// Problems that arrived with the patient: summarised at registration, their
/// medicines continued.
pub(super) fn summarise_existing(rec: &mut Record) {
    let problems: Vec<Problem> = rec
        .problems
        .iter()
        .filter(|p| p.onset < rec.start)
        .cloned()
        .collect();
    for p in &problems {
        rec.topic(p.code.display, Some(&p.urn));
        rec.heading("diagnosis");
        let recorded = rec.visit().day;
        rec.problem(p, recorded);
        if p.code.code == codes::TYPE_2_DIABETES.code {
            rec.heading("examination");
            rec.hba1c = rec.rng.range(48, 66);
            let value = rec.hba1c;
            rec.hba1c(value);
        }
        let continuing = p.ended.is_none_or(|e| e > recorded);
        if continuing {
            rec.heading("plan");
            for med in first_medicines(rec, p) {
                let to = p.ended;
                start_course(rec, med, &p.urn, to);
            }
        }
    }
}

fn diagnose(rec: &mut Record, p: &Problem) {
    let gp = rec.gp();
    rec.open(p.onset, &gp, codes::FACE_TO_FACE);
    let (history, examination, plan) = presentation(p.code);
    let title = if p.first_episode.is_some() {
        format!("{} (new episode)", p.code.display)
    } else {
        p.code.display.to_string()
    };
    rec.topic(&title, Some(&p.urn));
    rec.heading("history");
    if !history.is_empty() {
        rec.note(history);
    }
    rec.heading("examination");
    if !examination.is_empty() {
        rec.note(examination);
    }
    if p.code.code == codes::HYPERTENSION.code {
        rec.bp_excess = 38;
        rec.blood_pressure(rec.bp_excess);
    }
    if p.code.code == codes::TYPE_2_DIABETES.code {
        rec.hba1c = rec.rng.range(52, 78);
        let value = rec.hba1c;
        rec.hba1c(value);
        rec.weight_and_bmi(false);
    }
    if p.code.code == codes::ASTHMA.code || p.code.code == codes::COPD.code {
        rec.peak_flow(p.code.code == codes::COPD.code);
    }
    if p.code.code == codes::CKD.code {
        rec.egfr = rec.egfr.min(rec.rng.range(48, 58));
        let egfr = rec.egfr;
        rec.yearly_bloods(egfr);
    }
    rec.heading("diagnosis");
    rec.problem(p, p.onset);
    rec.heading("plan");
    rec.note(plan);
    // Hypertension: a third need a higher dose (or a second drug) at six months.
    let step_up = p.code.code == codes::HYPERTENSION.code && rec.rng.percent(35);
    let step_day = p.onset + Duration::days(rec.rng.range(170, 200));
    for med in first_medicines(rec, p) {
        let to = match (step_up, med.code.code == codes::AMLODIPINE.code.code) {
            (true, true) if step_day <= rec.end => Some(step_day),
            _ => p.ended,
        };
        start_course(rec, med, &p.urn, to);
    }
    if p.code.code == codes::DEPRESSION.code {
        let owner = rec.gp();
        rec.task(
            &owner,
            "Please call in 2 weeks to review mood and the new medicine.",
            14,
            false,
        );
    }
    rec.close();
    follow_up(rec, p, step_up.then_some(step_day));
}

/// The first weeks after a diagnosis.
fn follow_up(rec: &mut Record, p: &Problem, step_up: Option<NaiveDate>) {
    if p.code.code == codes::HYPERTENSION.code {
        for weeks in [4, 12] {
            let jitter = rec.rng.range(0, 6);
            let Some(day) = rec.within(p.onset, weeks * 7 + jitter) else {
                return;
            };
            let hca = rec.staff(Role::Hca);
            rec.open(day, &hca, codes::FACE_TO_FACE);
            rec.topic("Blood pressure check", Some(&p.urn));
            rec.heading("examination");
            rec.bp_excess = (rec.bp_excess - 10).max(8);
            let excess = rec.bp_excess + if step_up.is_some() { 10 } else { 0 };
            rec.blood_pressure(excess);
            rec.close();
        }
        if let Some(day) = step_up {
            let gp = rec.gp();
            rec.open(day, &gp, codes::FACE_TO_FACE);
            rec.topic("Hypertension medication review", Some(&p.urn));
            rec.heading("examination");
            rec.blood_pressure(rec.bp_excess + 14);
            rec.heading("plan");
            rec.note(
                "Still above target on amlodipine 5mg: increased to 10mg. Recheck in a month.",
            );
            start_course(rec, codes::AMLODIPINE_10, &p.urn, None);
            rec.close();
            rec.bp_excess = 6;
        }
    }
    if p.code.code == codes::DEPRESSION.code {
        for (days, text) in [
            (
                14,
                "Mood a little better, sleeping more. Tolerating the medicine; mild nausea settling.",
            ),
            (
                60,
                "Mood much improved; back at work. Continue for at least six months after feeling well.",
            ),
        ] {
            let jitter = rec.rng.range(0, 5);
            let Some(day) = rec.within(p.onset, days + jitter) else {
                return;
            };
            if p.ended.is_some_and(|e| day > e) {
                return;
            }
            let gp = rec.gp();
            rec.open(day, &gp, codes::TELEPHONE);
            rec.topic("Depression review", Some(&p.urn));
            rec.heading("history");
            rec.note(text);
            rec.close();
        }
    }
}

/// A yearly review of the conditions that need one, with the practice nurse.
fn annual_reviews(rec: &mut Record) {
    let mut day = rec.start + Duration::days(rec.rng.range(200, 400));
    while day <= rec.end {
        let due: Vec<Problem> = REVIEWED
            .iter()
            .filter_map(|c| rec.active_problem(*c, day).cloned())
            .collect();
        if !due.is_empty() {
            annual_review(rec, day, &due);
        }
        // Kidneys age: faster in CKD.
        let decline = if rec.has(codes::CKD) { 3 } else { 1 };
        rec.egfr = (rec.egfr - decline + rec.rng.range(-1, 1)).clamp(15, 120);
        day += Duration::days(365 + rec.rng.range(-20, 20));
    }
}

fn annual_review(rec: &mut Record, day: NaiveDate, due: &[Problem]) {
    let nurse = rec.staff(Role::Nurse);
    rec.open(day, &nurse, codes::FACE_TO_FACE);
    let mut bloods_taken = false;
    let mut weighed = false;
    for p in due {
        rec.topic(&format!("{} review", p.code.display), Some(&p.urn));
        rec.heading("examination");
        let cardiovascular = [
            codes::HYPERTENSION,
            codes::TYPE_2_DIABETES,
            codes::ATRIAL_FIBRILLATION,
            codes::CKD,
        ]
        .iter()
        .any(|c| c.code == p.code.code);
        if cardiovascular && !bloods_taken {
            let excess = if rec.has(codes::HYPERTENSION) {
                rec.bp_excess
            } else {
                0
            };
            rec.blood_pressure(excess);
            if !weighed && rec.age_on(day) >= 16 {
                rec.weight_and_bmi(false);
                weighed = true;
            }
            let egfr = rec.egfr;
            rec.yearly_bloods(egfr);
            bloods_taken = true;
        }
        match p.code.code {
            c if c == codes::TYPE_2_DIABETES.code => {
                let value = rec.hba1c + rec.rng.range(-3, 3);
                rec.hba1c(value);
                rec.heading("procedure");
                rec.procedure(codes::DIABETIC_FOOT_EXAM);
                rec.heading("examination");
                rec.note("Feet: pulses present, sensation intact to monofilament. Low risk.");
            }
            c if c == codes::ASTHMA.code || c == codes::COPD.code => {
                rec.peak_flow(c == codes::COPD.code);
                if c == codes::ASTHMA.code {
                    rec.heading("procedure");
                    rec.procedure(codes::ASTHMA_REVIEW);
                }
                rec.heading("history");
                rec.note(
                    "Inhaler technique good. No night waking; reliever used twice a week or less.",
                );
            }
            c if c == codes::ATRIAL_FIBRILLATION.code => {
                rec.note("Pulse irregular, rate 78. No palpitations or breathlessness.");
            }
            _ => {}
        }
    }
    rec.heading("plan");
    rec.procedure(codes::MEDICATION_REVIEW);
    rec.note("Medicines reviewed and continued. Next review in a year.");
    rec.close();
    let delay = rec.rng.range(30, 90);
    if due
        .iter()
        .any(|p| p.code.code == codes::TYPE_2_DIABETES.code)
        && let Some(screened) = rec.within(day, delay)
    {
        let gp = rec.gp();
        rec.open(screened, &gp, codes::INDIRECT);
        let diabetes = due
            .iter()
            .find(|p| p.code.code == codes::TYPE_2_DIABETES.code)
            .expect("a diabetic");
        rec.topic("Diabetic eye screening result", Some(&diabetes.urn));
        rec.heading("procedure");
        rec.procedure(codes::RETINAL_SCREENING);
        rec.heading("comment");
        let finding = if rec.rng.percent(80) {
            "No diabetic retinopathy. Routine recall in a year."
        } else {
            "Background retinopathy in both eyes. Recall in a year."
        };
        rec.note(finding);
        rec.close();
    }
}

/// HbA1c six months after each review, drifting up over the years, and gliclazide
/// added once it has stayed above target.
fn diabetes_checks(rec: &mut Record) {
    let Some(diabetes) = rec
        .problems
        .iter()
        .find(|p| p.code.code == codes::TYPE_2_DIABETES.code)
        .cloned()
    else {
        return;
    };
    let first = diabetes.onset.max(rec.start);
    let mut day = first + Duration::days(rec.rng.range(170, 190));
    let mut on_gliclazide = false;
    let mut high = 0;
    // After metformin starts, HbA1c falls towards target, then creeps up.
    rec.hba1c = (rec.hba1c - 12).max(46);
    while day <= rec.end {
        let hca = rec.staff(Role::Hca);
        rec.open(day, &hca, codes::FACE_TO_FACE);
        rec.topic("Diabetes blood test", Some(&diabetes.urn));
        rec.heading("examination");
        rec.hba1c = (rec.hba1c + rec.rng.range(-1, 3)).clamp(42, 95);
        let value = rec.hba1c;
        rec.hba1c(value);
        rec.close();
        high = if value > 58 { high + 1 } else { 0 };
        if high >= 2 && !on_gliclazide && (day - first).num_days() > 700 {
            let gp = rec.gp();
            if let Some(seen) = rec.within(day, 10) {
                rec.open(seen, &gp, codes::FACE_TO_FACE);
                rec.topic("Diabetes medication review", Some(&diabetes.urn));
                rec.heading("plan");
                rec.note("HbA1c above target twice on metformin alone: add gliclazide. Hypoglycaemia advice given.");
                start_course(rec, codes::GLICLAZIDE, &diabetes.urn, None);
                rec.close();
                on_gliclazide = true;
                rec.hba1c -= 9;
            }
        }
        day += Duration::days(365 + rec.rng.range(-15, 15));
    }
}

/// Issues of every repeat medicine, from its authorisation until it stopped or the
/// record ends. Issues are not part of a consultation; each is linked to its problem.
pub(super) fn issue_repeats(rec: &mut Record) {
    let courses = std::mem::take(&mut rec.courses);
    for course in &courses {
        rec.link(&course.problem, &course.plan);
        let last = course.to.unwrap_or(rec.end).min(rec.end);
        let mut day = course.from;
        while day <= last {
            let next = day + Duration::days(rec.repeat_days);
            let current = course.to.is_none() && !rec.deceased && next > rec.end;
            let status = if current { "active" } else { "completed" };
            let days = rec.repeat_days;
            rec.medication_request(
                &course.med,
                day,
                &course.prescriber,
                "order",
                Some(&course.plan),
                days,
                status,
            );
            day = next + Duration::days(rec.rng.range(-3, 5));
        }
    }
    rec.courses = courses;
}
