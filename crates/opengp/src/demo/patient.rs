//! One synthetic patient: who they are (see `people`), then their GP record from
//! registration to today (or to their death), as a FHIR transaction Bundle whose
//! entries refer to each other by `urn:uuid:` fullUrls.
//!
//! Coherence rules: long-term conditions depend on age and sex (and on each other:
//! diabetics are more often hypertensive, COPD needs a smoking history, CKD follows
//! hypertension or diabetes); each brings its medicines, follow-up and yearly review;
//! a penicillin allergy means no amoxicillin; nothing happens after death.

use super::acute;
use super::care;
use super::codes::{self, Code};
use super::life;
use super::people::{self, Person, Profile};
use super::practice::Role;
use super::record::{Problem, Record, Sex, Smoking};
use super::rng::Rng;
use super::values::{add_years, record_end};
use chrono::Duration;
use clinical::conventions::RegistrationType;
use serde_json::Value;

/// The FHIR transaction Bundle of patient `index` in dataset `seed`, registered at the
/// practice `practice_ods`. Same arguments, same JSON.
pub fn patient_record(seed: u64, index: usize, practice_ods: &str) -> Value {
    build(seed, index as u64, practice_ods, &Profile::default(), None)
}

/// A patient with a long, dense record (for the record page's benchmark): a man of 72
/// registered for `years` years, with hypertension, type 2 diabetes, CKD, atrial
/// fibrillation, COPD, osteoarthritis and two episodes of depression, seen often, with
/// monthly repeat prescriptions.
#[allow(dead_code)]
pub fn long_record(seed: u64, ods: &str, years: u32) -> Value {
    let profile = Profile {
        age: Some(72),
        sex: Some(Sex::Male),
        registered_years: Some(years.clamp(1, 60) as i64),
    };
    build(seed, 0, ods, &profile, Some(&LONG))
}

/// How a long record differs from an ordinary one.
struct Dense {
    problems: &'static [(Code, i64)],
    acute_percent: u32,
    repeat_days: i64,
}

/// (problem, years before the end of the record it began)
const LONG: Dense = Dense {
    problems: &[
        (codes::HYPERTENSION, 19),
        (codes::TYPE_2_DIABETES, 17),
        (codes::DEPRESSION, 15),
        (codes::COPD, 14),
        (codes::KNEE_OSTEOARTHRITIS, 12),
        (codes::CKD, 9),
        (codes::ATRIAL_FIBRILLATION, 7),
    ],
    acute_percent: 300,
    repeat_days: 28,
};

fn build(seed: u64, index: u64, ods: &str, profile: &Profile, dense: Option<&Dense>) -> Value {
    let person = people::person(seed, index, profile);
    let mut rng = Rng::for_item(seed, index);
    let smoking = if person.age < 16 {
        Smoking::Never
    } else {
        match rng.below(100) {
            0..14 => Smoking::Current,
            14..38 => Smoking::Ex,
            _ => Smoking::Never,
        }
    };
    let smoking = if dense.is_some() {
        Smoking::Ex
    } else {
        smoking
    };
    let height_mm = match person.sex {
        Sex::Male => rng.normal(1760, 70),
        Sex::Female => rng.normal(1630, 65),
    };
    let bmi_tenths = rng.normal(272, 45).clamp(170, 450);
    let end = person.died.unwrap_or_else(record_end);
    let mut rec = Record::new(
        rng,
        ods,
        person.sex,
        person.birth,
        person.registered,
        end,
        smoking,
        height_mm,
        bmi_tenths,
    );
    rec.deceased = person.died.is_some();
    rec.egfr = (105 - rec.age_on(rec.start) * 7 / 10).clamp(40, 120);
    if let Some(dense) = dense {
        rec.repeat_days = dense.repeat_days;
    }

    let patient = people::patient_resource(&person, ods, &rec.usual_gp);
    let patient_urn = rec.patient_urn.clone();
    rec.add(patient_urn.clone(), patient);
    let registration_urn = rec.urn();
    let registration =
        people::registration_resource(&person, ods, &patient_urn, &rec.usual_gp.clone());
    rec.add(registration_urn, registration);

    if person.registration == RegistrationType::Temporary {
        // A temporary resident: seen once for something acute.
        acute::acute_consultations(&mut rec, 2_000);
        return rec.finish();
    }
    match dense {
        Some(dense) => fixed_problems(&mut rec, dense),
        None => choose_problems(&mut rec, &person),
    }
    life::choose_pregnancies(&mut rec);
    rec.problems.sort_by_key(|p| p.onset);
    registration_check(&mut rec, &person);
    care::long_term_care(&mut rec);
    life::pregnancies(&mut rec);
    life::immunisations(&mut rec);
    acute::acute_consultations(&mut rec, dense.map_or(100, |d| d.acute_percent));
    acute::alerts(&mut rec);
    care::issue_repeats(&mut rec);
    rec.finish()
}

fn add_problem(rec: &mut Record, code: Code, onset: chrono::NaiveDate) {
    let urn = rec.urn();
    let major = ![codes::KNEE_OSTEOARTHRITIS, codes::HYPOTHYROIDISM]
        .iter()
        .any(|c| c.code == code.code);
    rec.problems.push(Problem {
        code,
        onset,
        urn,
        major,
        ended: None,
        first_episode: None,
    });
    // Depression is an episode that ends; some have a second one years later.
    if code.code == codes::DEPRESSION.code {
        let ended = onset + Duration::days(rec.rng.range(270, 720));
        let last = rec.problems.len() - 1;
        if ended < rec.end {
            rec.problems[last].ended = Some(ended);
            let again = ended + Duration::days(rec.rng.range(400, 2500));
            if again < rec.end - Duration::days(60) && rec.rng.percent(40) {
                let first = rec.problems[last].urn.clone();
                let urn = rec.urn();
                let back = (again + Duration::days(rec.rng.range(270, 720)))
                    .min(rec.end + Duration::days(1));
                rec.problems.push(Problem {
                    code,
                    onset: again,
                    urn,
                    major: true,
                    ended: (back <= rec.end).then_some(back),
                    first_episode: Some(first),
                });
            }
        }
    }
}

fn fixed_problems(rec: &mut Record, dense: &Dense) {
    for (code, years_ago) in dense.problems {
        let onset = (record_end() - Duration::days(years_ago * 365 + rec.rng.range(0, 200)))
            .max(rec.start + Duration::days(30));
        add_problem(rec, *code, onset);
    }
}

/// Long-term conditions, by age (at the end of the record), sex and each other.
fn choose_problems(rec: &mut Record, person: &Person) {
    let age = rec.age_on(rec.end);
    let smoker = rec.smoking != Smoking::Never;
    let by_age = |bands: [(i64, u32); 4]| {
        bands
            .iter()
            .rev()
            .find(|(from, _)| age >= *from)
            .map_or(0, |(_, chance)| *chance)
    };
    // (condition, per-mille chance, youngest onset age)
    let candidates: [(Code, u32, i64); 9] = [
        (
            codes::HYPERTENSION,
            by_age([(30, 40), (45, 150), (60, 350), (75, 500)]),
            30,
        ),
        (
            codes::TYPE_2_DIABETES,
            by_age([(30, 20), (45, 70), (60, 120), (75, 130)]),
            30,
        ),
        (codes::ASTHMA, if age >= 3 { 100 } else { 0 }, 3),
        (codes::COPD, if age >= 45 && smoker { 150 } else { 0 }, 45),
        (codes::DEPRESSION, if age >= 16 { 100 } else { 0 }, 16),
        (
            codes::HYPOTHYROIDISM,
            match (person.sex, age >= 30) {
                (_, false) => 0,
                (Sex::Female, true) => 60,
                (Sex::Male, true) => 10,
            },
            30,
        ),
        (
            codes::ATRIAL_FIBRILLATION,
            if age >= 65 { 80 } else { 0 },
            65,
        ),
        (
            codes::KNEE_OSTEOARTHRITIS,
            if age >= 50 { 120 } else { 0 },
            50,
        ),
        (codes::CKD, if age >= 50 { 40 } else { 0 }, 50),
    ];
    for (code, mut chance, youngest) in candidates {
        // Diabetes and hypertension go together; CKD follows either.
        if code.code == codes::TYPE_2_DIABETES.code && rec.has(codes::HYPERTENSION) {
            chance *= 2;
        }
        if code.code == codes::CKD.code
            && (rec.has(codes::HYPERTENSION) || rec.has(codes::TYPE_2_DIABETES))
        {
            chance *= 5;
        }
        if chance == 0 || !rec.rng.per_mille(chance) {
            continue;
        }
        let onset_age = rec.rng.range(youngest, age.max(youngest));
        let mut onset = (add_years(rec.birth, onset_age) + Duration::days(rec.rng.range(0, 300)))
            .min(rec.end - Duration::days(30));
        if code.code == codes::CKD.code {
            // Found on the bloods of someone already followed up.
            let after = rec.problems.iter().map(|p| p.onset).min();
            onset = onset.max(after.unwrap_or(onset) + Duration::days(400));
            if onset > rec.end - Duration::days(30) {
                continue;
            }
        }
        add_problem(rec, code, onset);
    }
}

/// The first consultation: a new-patient check for adults (allergies, smoking,
/// measurements), and the summary of problems that came with the patient.
fn registration_check(rec: &mut Record, person: &Person) {
    let adult = rec.age_on(rec.start) >= 16;
    let existing = rec.problems.iter().any(|p| p.onset < rec.start);
    let allergy = allergy_choice(rec, person);
    if !adult && !existing && allergy.is_none() {
        return;
    }
    let day = rec.start;
    if adult {
        let role = if rec.rng.percent(50) {
            Role::Nurse
        } else {
            Role::Hca
        };
        let clinician = rec.staff(role);
        rec.open(day, &clinician, codes::FACE_TO_FACE);
        rec.topic("New patient registration", None);
        rec.heading("examination");
        rec.weight_and_bmi(true);
        rec.blood_pressure(0);
        rec.heading("history");
        rec.smoking_status();
    } else {
        let gp = rec.gp();
        rec.open(day, &gp, codes::INDIRECT);
        rec.topic("Records summarised", None);
    }
    if let Some((code, reaction, medication)) = allergy {
        rec.topic("Allergies", None);
        rec.heading("history");
        rec.allergy(code, reaction, medication);
    }
    care::summarise_existing(rec);
    rec.close();
}

/// An allergy to record at registration: (code, reaction, is a medicine).
fn allergy_choice(rec: &mut Record, person: &Person) -> Option<(Code, Option<Code>, bool)> {
    let roll = rec.rng.below(1000);
    match roll {
        0..80 => {
            rec.penicillin_allergy = true;
            Some((codes::PENICILLIN_ALLERGY, Some(codes::URTICARIA), true))
        }
        80..95 => Some((codes::PEANUT_ALLERGY, Some(codes::ANAPHYLAXIS), false)),
        95..105 => Some((codes::LATEX_ALLERGY, Some(codes::CONTACT_DERMATITIS), false)),
        105..400 if person.age >= 16 => Some((codes::NO_KNOWN_DRUG_ALLERGY, None, true)),
        400..600 if person.age >= 16 => Some((codes::NO_KNOWN_ALLERGY, None, false)),
        _ => None,
    }
}
