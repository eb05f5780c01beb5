//! Life events: pregnancies (booking, antenatal checks, delivery, postnatal check; a
//! later pregnancy is a new episode of the same problem) and the UK routine
//! immunisation schedule, flu and COVID-19 vaccines for those eligible.

use super::codes::{self, Vaccine};
use super::practice::Role;
use super::record::{Problem, Record, Sex};
use super::values::add_years;
use chrono::{Datelike, Duration, NaiveDate};

/// Pregnancies for women aged 16 to 45 during the record: their problems are chosen
/// with the other problems, so every record knows them up front.
pub(super) fn choose_pregnancies(rec: &mut Record) {
    if rec.sex != Sex::Female {
        return;
    }
    let from = rec.start.max(add_years(rec.birth, 18));
    let to = rec.end.min(add_years(rec.birth, 44));
    if to <= from + Duration::days(300) {
        return;
    }
    let wanted = match rec.rng.below(100) {
        0..30 => 1,
        30..42 => 2,
        _ => 0,
    };
    let mut earliest = from;
    let mut first: Option<String> = None;
    for _ in 0..wanted {
        let span = (to - earliest).num_days();
        if span < 120 {
            break;
        }
        // Booking at about 8 weeks; delivery about 32 weeks later.
        let booked = earliest + Duration::days(rec.rng.range(0, span.min(3 * 365)));
        let delivered = booked + Duration::days(rec.rng.range(215, 230));
        let urn = rec.urn();
        rec.problems.push(Problem {
            code: codes::PREGNANCY,
            onset: booked,
            urn: urn.clone(),
            major: true,
            ended: (delivered <= rec.end).then_some(delivered),
            first_episode: first.clone(),
        });
        first.get_or_insert(urn);
        earliest = delivered + Duration::days(450);
        if earliest >= to {
            break;
        }
    }
}

pub(super) fn pregnancies(rec: &mut Record) {
    let pregnancies: Vec<Problem> = rec
        .problems
        .iter()
        .filter(|p| p.code.code == codes::PREGNANCY.code && p.onset >= rec.start)
        .cloned()
        .collect();
    for p in &pregnancies {
        let gp = rec.gp();
        rec.open(p.onset, &gp, codes::FACE_TO_FACE);
        let title = if p.first_episode.is_some() {
            "Pregnancy (new episode)"
        } else {
            "Pregnancy"
        };
        rec.topic(title, Some(&p.urn));
        rec.heading("history");
        rec.note(
            "Positive home pregnancy test. Last period about eight weeks ago. Taking folic acid.",
        );
        rec.heading("examination");
        rec.blood_pressure(0);
        rec.heading("diagnosis");
        rec.problem(p, p.onset);
        rec.heading("plan");
        rec.note("Referred to the community midwife for booking. Dating scan requested.");
        rec.close();

        for (weeks, text) in [
            (16, "Well. Fetal heart heard. Urine: no protein."),
            (
                28,
                "Fundal height matches dates. Anti-D not needed. Urine clear.",
            ),
            (34, "Fetal movements normal. Cephalic. Urine clear."),
        ] {
            let jitter = rec.rng.range(0, 6);
            let Some(day) = rec.within(p.onset, (weeks - 8) * 7 + jitter) else {
                break;
            };
            let nurse = rec.staff(Role::Nurse);
            rec.open(day, &nurse, codes::FACE_TO_FACE);
            rec.topic("Antenatal check", Some(&p.urn));
            rec.heading("examination");
            rec.blood_pressure(0);
            rec.note(text);
            rec.heading("procedure");
            rec.procedure(codes::ANTENATAL_CARE);
            rec.close();
        }
        let Some(delivered) = p.ended else { continue };
        // The discharge summary, then the six-week check.
        if let Some(day) = rec.within(delivered, 3) {
            let gp = rec.gp();
            rec.open(day, &gp, codes::INDIRECT);
            rec.topic("Discharge summary: delivery", Some(&p.urn));
            rec.heading("procedure");
            rec.procedure(codes::NORMAL_DELIVERY);
            rec.heading("comment");
            rec.note("Spontaneous vaginal delivery at term; healthy baby. Mother and baby discharged home.");
            rec.close();
        }
        let jitter = rec.rng.range(0, 14);
        if let Some(day) = rec.within(delivered, 42 + jitter) {
            let gp = rec.gp();
            rec.open(day, &gp, codes::FACE_TO_FACE);
            rec.topic("Postnatal check", Some(&p.urn));
            rec.heading("history");
            rec.note("Feeling well, mood good, feeding going well. Lochia settled.");
            rec.heading("examination");
            rec.blood_pressure(0);
            rec.heading("procedure");
            rec.procedure(codes::POSTNATAL_CARE);
            rec.heading("plan");
            rec.note("Contraception discussed. Cervical screening when due.");
            rec.close();
        }
    }
}

/// The UK routine childhood schedule: (days after birth, vaccines and their doses).
const CHILDHOOD: &[(i64, &[(Vaccine, u32)])] = &[
    (
        56,
        &[
            (codes::SIX_IN_ONE, 1),
            (codes::ROTAVIRUS, 1),
            (codes::MEN_B, 1),
        ],
    ),
    (
        84,
        &[
            (codes::SIX_IN_ONE, 2),
            (codes::PCV, 1),
            (codes::ROTAVIRUS, 2),
        ],
    ),
    (112, &[(codes::SIX_IN_ONE, 3), (codes::MEN_B, 2)]),
    (
        365,
        &[
            (codes::HIB_MENC, 1),
            (codes::MMR, 1),
            (codes::PCV, 2),
            (codes::MEN_B, 3),
        ],
    ),
    (
        3 * 365 + 122,
        &[(codes::PRE_SCHOOL_BOOSTER, 1), (codes::MMR, 2)],
    ),
    (12 * 365 + 200, &[(codes::HPV, 1)]),
    (14 * 365 + 100, &[(codes::TD_IPV, 1), (codes::MEN_ACWY, 1)]),
];

#[cfg(test)]
/// When a schedule vaccine is due, in days after birth: (earliest, latest) accepted.
pub fn schedule_window(name: &str) -> Option<(i64, i64)> {
    let days: Vec<i64> = CHILDHOOD
        .iter()
        .filter(|(_, vaccines)| vaccines.iter().any(|(v, _)| v.name == name))
        .map(|(d, _)| *d)
        .collect();
    Some((*days.iter().min()?, *days.iter().max()? + 60))
}

pub(super) fn immunisations(rec: &mut Record) {
    for (days, vaccines) in CHILDHOOD {
        let day = rec.birth + Duration::days(days + rec.rng.range(0, 45));
        if day > rec.end {
            break;
        }
        // Given elsewhere before registration: recorded from the previous record, for
        // those who joined as children.
        if day < rec.start {
            if rec.age_on(rec.start) >= 18 {
                continue;
            }
            for (vaccine, dose) in vaccines.iter() {
                rec.immunization(*vaccine, day, *dose);
            }
            continue;
        }
        let nurse = rec.staff(Role::Nurse);
        rec.open(day, &nurse, codes::FACE_TO_FACE);
        rec.topic("Childhood immunisations", None);
        rec.heading("procedure");
        for (vaccine, dose) in vaccines.iter() {
            rec.immunization(*vaccine, day, *dose);
        }
        rec.close();
    }
    seasonal_vaccines(rec);
}

fn flu_eligible(rec: &Record, day: NaiveDate) -> bool {
    let age = rec.age_on(day);
    let at_risk = [
        codes::TYPE_2_DIABETES,
        codes::COPD,
        codes::ASTHMA,
        codes::CKD,
        codes::PREGNANCY,
    ]
    .iter()
    .any(|c| rec.problem_active_on(*c, day));
    age >= 65 || (2..=10).contains(&age) || at_risk
}

/// Flu every autumn for those eligible; COVID-19 boosters for the over-75s from 2021;
/// pneumococcal once at 65.
fn seasonal_vaccines(rec: &mut Record) {
    for year in rec.start.year()..=rec.end.year() {
        let Some(autumn) = NaiveDate::from_ymd_opt(year, 10, 1) else {
            continue;
        };
        let day = autumn + Duration::days(rec.rng.range(0, 50));
        if day < rec.start || day > rec.end {
            continue;
        }
        let flu = flu_eligible(rec, day) && rec.rng.percent(75);
        let covid = year >= 2021 && rec.age_on(day) >= 75 && rec.rng.percent(80);
        if !flu && !covid {
            continue;
        }
        let role = if rec.rng.percent(50) {
            Role::Nurse
        } else {
            Role::Hca
        };
        let clinician = rec.staff(role);
        rec.open(day, &clinician, codes::FACE_TO_FACE);
        rec.topic("Seasonal vaccinations", None);
        rec.heading("procedure");
        if flu {
            rec.immunization(codes::FLU, day, 1);
        }
        if covid {
            rec.immunization(codes::COVID_19, day, (year - 2019) as u32);
        }
        rec.close();
    }
    let at_65 = add_years(rec.birth, 65) + Duration::days(rec.rng.range(20, 120));
    if at_65 >= rec.start && at_65 <= rec.end {
        let nurse = rec.staff(Role::Nurse);
        rec.open(at_65, &nurse, codes::FACE_TO_FACE);
        rec.topic("Pneumococcal vaccination", None);
        rec.heading("procedure");
        rec.immunization(codes::PPV, at_65, 1);
        rec.close();
    }
}
