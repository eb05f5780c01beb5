//! One synthetic patient: demographics, then a few years of coherent GP record, as a
//! FHIR transaction Bundle whose entries refer to each other by `urn:uuid:` fullUrls.
//!
//! Coherence rules: long-term conditions depend on age and sex (and on each other:
//! diabetics are more often hypertensive, COPD needs a smoking history); each condition
//! brings its repeat medicines, its annual review and its measurements (HbA1c for
//! diabetes, peak flow for asthma and COPD); flu vaccines go to over-65s and at-risk
//! groups; a penicillin allergy means no amoxicillin.

use super::codes::{self, Code, Medicine, concept, hl7_concept};
use super::names;
use super::nhs::nhs_number;
use super::practice;
use super::record::{Problem, Record, Sex, Smoking};
use super::rng::Rng;
use super::values::{add_years, date_time, record_end};
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Value, json};

/// The FHIR transaction Bundle of patient `index` in dataset `seed`, registered at the
/// practice `practice_ods`. Same arguments, same JSON.
pub fn patient_record(seed: u64, index: usize, practice_ods: &str) -> Value {
    let mut rng = Rng::for_item(seed, index as u64);
    let end = record_end();

    // Demographics: roughly the age structure of an English practice list.
    let sex = if rng.percent(50) {
        Sex::Female
    } else {
        Sex::Male
    };
    let band = rng.below(100);
    let age = match band {
        0..20 => rng.range(0, 17),
        20..75 => rng.range(18, 64),
        _ => rng.range(65, 96),
    };
    let birth = end - Duration::days(age * 365 + age / 4 + rng.range(0, 364));
    let registered_years = rng.range(2, 6);
    let start = (end - Duration::days(registered_years * 365 + rng.range(0, 364)))
        .max(birth + Duration::days(14));
    let smoking = if age < 16 {
        Smoking::Never
    } else {
        match rng.below(100) {
            0..14 => Smoking::Current,
            14..38 => Smoking::Ex,
            _ => Smoking::Never,
        }
    };
    let height_mm = match sex {
        Sex::Male => rng.normal(1760, 70),
        Sex::Female => rng.normal(1630, 65),
    };
    let bmi_tenths = rng.normal(272, 45).clamp(170, 450);

    let mut rec = Record {
        rng,
        ods: practice_ods,
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
    };
    rec.patient_urn = rec.urn();
    let patient = demographics(&mut rec, seed, index, age);
    let urn = rec.patient_urn.clone();
    rec.add(urn, patient);

    choose_problems(&mut rec, age);
    allergies(&mut rec, age);
    registration_check(&mut rec);
    record_problems(&mut rec);
    repeat_medicines(&mut rec);
    annual_reviews(&mut rec);
    acute_consultations(&mut rec);
    immunisations(&mut rec);

    json!({"resourceType": "Bundle", "type": "transaction", "entry": rec.entries})
}

fn demographics(rec: &mut Record, seed: u64, index: usize, age: i64) -> Value {
    let rng = &mut rec.rng;
    let (given, prefix) = match rec.sex {
        Sex::Female => (
            *rng.pick(names::GIVEN_FEMALE),
            if rng.percent(60) { "Mrs" } else { "Ms" },
        ),
        Sex::Male => (*rng.pick(names::GIVEN_MALE), "Mr"),
    };
    let family = *rng.pick(names::FAMILY);
    let mut name = json!({"use": "official", "family": family, "given": [given]});
    if rng.percent(30) {
        let middle = match rec.sex {
            Sex::Female => *rng.pick(names::GIVEN_FEMALE),
            Sex::Male => *rng.pick(names::GIVEN_MALE),
        };
        if middle != given {
            name["given"]
                .as_array_mut()
                .expect("given")
                .push(json!(middle));
        }
    }
    if age >= 18 {
        name["prefix"] = json!([prefix]);
    }
    let (district, locality) = *rng.pick(names::DISTRICTS);
    let street = *rng.pick(names::STREETS);
    let house = rng.range(1, 180);
    let postcode = format!(
        "{district} {}",
        names::inward_code(rng.below(10), rng.next_u64(), rng.next_u64())
    );
    let nhs = nhs_number(seed, index as u64);

    let mut patient = json!({
        "resourceType": "Patient",
        "identifier": [{
            "extension": [{
                "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
                "valueCodeableConcept": {"coding": [{
                    "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus",
                    "code": "01",
                    "display": "Number present and verified"
                }]}
            }],
            "system": codes::NHS_NUMBER,
            "value": nhs
        }],
        "active": true,
        "name": [name],
        "gender": if rec.sex == Sex::Female { "female" } else { "male" },
        "birthDate": rec.birth.format("%Y-%m-%d").to_string(),
        "address": [{
            "use": "home",
            "line": [format!("{house} {street}"), locality],
            "city": "Leeds",
            "district": "West Yorkshire",
            "postalCode": postcode,
            "country": "GB"
        }],
        "generalPractitioner": [{
            "reference": format!("Organization/{}", rec.ods),
            "identifier": {"system": codes::ODS_CODE, "value": rec.ods}
        }],
        "managingOrganization": {"reference": format!("Organization/{}", rec.ods)}
    });
    let mut telecom = Vec::new();
    if age >= 16 && rec.rng.percent(90) {
        telecom.push(json!({"system": "phone", "value": names::drama_mobile(rec.rng.next_u64()), "use": "mobile"}));
        if rec.rng.percent(40) {
            let local: String = format!("{given}.{family}")
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            telecom.push(json!({"system": "email", "value": format!("{}{}@example.com", local.to_lowercase(), rec.rng.below(100)), "use": "home"}));
        }
    }
    if !telecom.is_empty() {
        // After the name, where FHIR lists it.
        let map = patient.as_object_mut().expect("a JSON object");
        let at = map
            .keys()
            .position(|k| k == "gender")
            .expect("gender is set");
        map.shift_insert(at, "telecom".into(), json!(telecom));
    }
    patient
}

/// Long-term conditions, by age (at the end of the record), sex and each other.
fn choose_problems(rec: &mut Record, age: i64) {
    // (condition, per-mille chance, youngest onset age)
    let hypertension = match age {
        0..30 => 0,
        30..45 => 40,
        45..60 => 150,
        60..75 => 350,
        _ => 500,
    };
    let mut candidates = vec![(codes::HYPERTENSION, hypertension, 30)];
    let diabetes = match age {
        0..30 => 0,
        30..45 => 20,
        45..60 => 70,
        _ => 120,
    };
    candidates.push((codes::TYPE_2_DIABETES, diabetes, 30));
    candidates.push((codes::ASTHMA, if age >= 3 { 100 } else { 0 }, 3));
    let smoker = rec.smoking != Smoking::Never;
    candidates.push((codes::COPD, if age >= 45 && smoker { 150 } else { 0 }, 45));
    candidates.push((codes::DEPRESSION, if age >= 16 { 100 } else { 0 }, 16));
    let thyroid = match (rec.sex, age >= 30) {
        (_, false) => 0,
        (Sex::Female, true) => 60,
        (Sex::Male, true) => 10,
    };
    candidates.push((codes::HYPOTHYROIDISM, thyroid, 30));
    candidates.push((
        codes::ATRIAL_FIBRILLATION,
        if age >= 65 { 80 } else { 0 },
        65,
    ));
    candidates.push((
        codes::KNEE_OSTEOARTHRITIS,
        if age >= 50 { 120 } else { 0 },
        50,
    ));

    for (code, mut chance, youngest) in candidates {
        // Diabetes doubles the chance of hypertension (listed after it, so re-check).
        if code.code == codes::TYPE_2_DIABETES.code && rec.has(codes::HYPERTENSION) {
            chance *= 2;
        }
        if chance == 0 || !rec.rng.per_mille(chance) {
            continue;
        }
        let onset_age = rec.rng.range(youngest, age.max(youngest));
        let onset = (add_years(rec.birth, onset_age) + Duration::days(rec.rng.range(0, 300)))
            .min(rec.end - Duration::days(30));
        let urn = rec.urn();
        rec.problems.push(Problem { code, onset, urn });
    }
}

fn allergies(rec: &mut Record, age: i64) {
    let nurse = practice::nurse_reference(rec.ods);
    let recorded = rec.start.format("%Y-%m-%d").to_string();
    if rec.rng.percent(8) {
        rec.penicillin_allergy = true;
        let urn = rec.urn();
        let subject = rec.subject();
        rec.add(urn, json!({
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": hl7_concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
            "verificationStatus": hl7_concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed"),
            "type": "allergy",
            "category": ["medication"],
            "criticality": "high",
            "code": concept(&[codes::PENICILLIN_ALLERGY]),
            "patient": subject,
            "recordedDate": recorded,
            "recorder": {"reference": nurse},
            "reaction": [{"manifestation": [concept(&[codes::URTICARIA])], "severity": "moderate"}]
        }));
    } else if age >= 16 && rec.rng.percent(50) {
        let urn = rec.urn();
        let subject = rec.subject();
        rec.add(urn, json!({
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": hl7_concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
            "verificationStatus": hl7_concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed"),
            "code": concept(&[codes::NO_KNOWN_DRUG_ALLERGY]),
            "patient": subject,
            "recordedDate": recorded,
            "recorder": {"reference": nurse}
        }));
    }
}

/// The new-patient check with the practice nurse when an adult registers.
fn registration_check(rec: &mut Record) {
    if rec.age_on(rec.start) < 16 {
        return;
    }
    let nurse = practice::nurse_reference(rec.ods);
    let day = rec.start;
    let (enc, minutes) = rec.encounter(day, &nurse, false, &[]);
    let when = date_time(day, minutes);
    rec.weight_and_bmi(&enc, &when, &nurse, true);
    rec.blood_pressure(&enc, &when, &nurse, day);
    rec.smoking_status(&enc, &when, &nurse);
}

/// Problems diagnosed before registration arrive with the record (recorded on the day of
/// registration); the others are diagnosed at a consultation.
fn record_problems(rec: &mut Record) {
    for i in 0..rec.problems.len() {
        let (code, onset, urn) = (
            rec.problems[i].code,
            rec.problems[i].onset,
            rec.problems[i].urn.clone(),
        );
        if onset < rec.start {
            rec.condition(urn, code, onset, rec.start, None, None);
        } else {
            let gp = rec.random_gp();
            let (enc, minutes) = rec.encounter(onset, &gp, false, &[code]);
            if code.code == codes::HYPERTENSION.code {
                let when = date_time(onset, minutes);
                rec.blood_pressure(&enc, &when, &gp, onset);
            }
            rec.condition(urn, code, onset, onset, Some(&enc), None);
        }
    }
}

/// The repeat medicines each long-term condition brings.
fn medicines_for(rec: &Record, code: Code) -> Vec<Medicine> {
    let diabetic = rec.has(codes::TYPE_2_DIABETES);
    match code.code {
        c if c == codes::HYPERTENSION.code => vec![if diabetic {
            codes::RAMIPRIL
        } else {
            codes::AMLODIPINE
        }],
        c if c == codes::TYPE_2_DIABETES.code => vec![codes::METFORMIN, codes::ATORVASTATIN],
        c if c == codes::ASTHMA.code => vec![codes::SALBUTAMOL, codes::BECLOMETASONE],
        c if c == codes::COPD.code => vec![codes::SALBUTAMOL],
        c if c == codes::DEPRESSION.code => vec![codes::CITALOPRAM],
        c if c == codes::HYPOTHYROIDISM.code => vec![codes::LEVOTHYROXINE],
        c if c == codes::ATRIAL_FIBRILLATION.code => vec![codes::DIGOXIN],
        c if c == codes::KNEE_OSTEOARTHRITIS.code => vec![codes::PARACETAMOL],
        _ => Vec::new(),
    }
}

/// An authorisation (intent plan) per repeat medicine, then an issue (intent order,
/// based on it) every eight weeks until the end of the record.
fn repeat_medicines(rec: &mut Record) {
    let mut seen: Vec<&str> = Vec::new();
    for i in 0..rec.problems.len() {
        let (code, onset, reason) = (
            rec.problems[i].code,
            rec.problems[i].onset,
            rec.problems[i].urn.clone(),
        );
        for med in medicines_for(rec, code) {
            if seen.contains(&med.code.code) {
                continue;
            }
            seen.push(med.code.code);
            let gp = rec.random_gp();
            let first = onset.max(rec.start);
            let plan =
                rec.medication_request(&med, first, &gp, "plan", Some(&reason), None, 56, true);
            let mut day = first;
            while day <= rec.end {
                let next = day + Duration::days(56);
                let active = next > rec.end;
                rec.medication_request(&med, day, &gp, "order", None, Some(&plan), 56, active);
                day = next + Duration::days(rec.rng.range(-3, 7));
            }
        }
    }
}

/// A yearly review of the long-term conditions with the practice nurse.
fn annual_reviews(rec: &mut Record) {
    let reviewed = [
        codes::HYPERTENSION,
        codes::TYPE_2_DIABETES,
        codes::ASTHMA,
        codes::COPD,
        codes::ATRIAL_FIBRILLATION,
    ];
    let nurse = practice::nurse_reference(rec.ods);
    let mut day = rec.start + Duration::days(rec.rng.range(200, 400));
    while day <= rec.end {
        let due: Vec<Code> = reviewed
            .iter()
            .copied()
            .filter(|c| rec.problem_active_on(*c, day))
            .collect();
        if !due.is_empty() {
            let (enc, minutes) = rec.encounter(day, &nurse, false, &due);
            let when = date_time(day, minutes);
            rec.blood_pressure(&enc, &when, &nurse, day);
            if rec.age_on(day) >= 16 {
                rec.weight_and_bmi(&enc, &when, &nurse, false);
            }
            if due.iter().any(|c| c.code == codes::TYPE_2_DIABETES.code) {
                rec.hba1c(&enc, &when, &nurse);
            }
            let cardiovascular = [
                codes::HYPERTENSION,
                codes::TYPE_2_DIABETES,
                codes::ATRIAL_FIBRILLATION,
            ];
            if due
                .iter()
                .any(|c| cardiovascular.iter().any(|v| v.code == c.code))
            {
                rec.yearly_bloods(&enc, &when, &nurse);
            }
            if due
                .iter()
                .any(|c| c.code == codes::ASTHMA.code || c.code == codes::COPD.code)
            {
                rec.peak_flow(&enc, &when, &nurse, day);
            }
        }
        day += Duration::days(365 + rec.rng.range(-20, 20));
    }
}

/// Acute consultations with a GP: a couple a year, more for the young and the old.
fn acute_consultations(rec: &mut Record) {
    let mut month = rec.start;
    while month <= rec.end {
        let age = rec.age_on(month);
        let per_month_mille = match age {
            0..5 => 250,
            5..16 => 150,
            16..65 => 150,
            _ => 300,
        };
        if rec.rng.per_mille(per_month_mille) {
            let day = (month + Duration::days(rec.rng.range(0, 27))).min(rec.end);
            acute_consultation(rec, day, age);
        }
        month += Duration::days(30);
    }
}

fn acute_consultation(rec: &mut Record, day: NaiveDate, age: i64) {
    let mut problems = vec![codes::URTI, codes::COUGH, codes::CHEST_INFECTION];
    if age < 16 {
        problems.push(codes::TONSILLITIS);
    } else {
        problems.extend([codes::BACK_PAIN, codes::FATIGUE]);
        if rec.sex == Sex::Female {
            problems.push(codes::UTI);
        }
    }
    let problem = *rec.rng.pick(&problems);
    let gp = rec.random_gp();
    let telephone = rec.rng.percent(25);
    let (enc, minutes) = rec.encounter(day, &gp, telephone, &[problem]);
    let when = date_time(day, minutes);
    let infection = [
        codes::URTI,
        codes::COUGH,
        codes::CHEST_INFECTION,
        codes::TONSILLITIS,
        codes::UTI,
    ]
    .iter()
    .any(|c| c.code == problem.code);
    if !telephone && infection {
        rec.infection_vitals(
            &enc,
            &when,
            &gp,
            problem.code == codes::CHEST_INFECTION.code,
        );
    }
    if !telephone && age >= 16 && rec.rng.percent(30) {
        rec.blood_pressure(&enc, &when, &gp, day);
    }
    if problem.code == codes::CHEST_INFECTION.code
        || problem.code == codes::BACK_PAIN.code
        || rec.rng.percent(20)
    {
        let urn = rec.urn();
        rec.condition(urn.clone(), problem, day, day, Some(&enc), Some(14));
        // Antibiotics for a chest infection unless allergic to penicillin.
        if problem.code == codes::CHEST_INFECTION.code && !rec.penicillin_allergy {
            rec.medication_request(
                &codes::AMOXICILLIN,
                day,
                &gp,
                "order",
                Some(&urn),
                None,
                5,
                false,
            );
        }
        if problem.code == codes::BACK_PAIN.code {
            rec.medication_request(
                &codes::PARACETAMOL,
                day,
                &gp,
                "order",
                Some(&urn),
                None,
                7,
                false,
            );
        }
    }
}

fn immunisations(rec: &mut Record) {
    let at_risk = rec.has(codes::TYPE_2_DIABETES) || rec.has(codes::COPD) || rec.has(codes::ASTHMA);
    // Flu: each autumn, for over-65s and adults in an at-risk group.
    for year in rec.start.year()..=rec.end.year() {
        let Some(day) =
            NaiveDate::from_ymd_opt(year, 10, 1).map(|d| d + Duration::days(rec.rng.range(0, 50)))
        else {
            continue;
        };
        if day < rec.start || day > rec.end {
            continue;
        }
        let age = rec.age_on(day);
        if (age >= 65 || (at_risk && age >= 18)) && rec.rng.percent(80) {
            rec.immunization(codes::FLU_VACCINE, day, 1);
        }
    }
    // Pneumococcal: once, soon after the 65th birthday.
    let at_65 = add_years(rec.birth, 65) + Duration::days(rec.rng.range(20, 120));
    if at_65 >= rec.start && at_65 <= rec.end {
        rec.immunization(codes::PNEUMOCOCCAL_VACCINE, at_65, 1);
    }
    // MMR: at one year and at three years four months.
    for (dose, days) in [(1, 365 + 10), (2, 3 * 365 + 122)] {
        let day = rec.birth + Duration::days(days + rec.rng.range(0, 30));
        if day >= rec.start && day <= rec.end {
            rec.immunization(codes::MMR_VACCINE, day, dose);
        }
    }
}
