//! Acute consultations (coughs and colds, urine infections, back pain, ear infections,
//! rashes), each with history, examination and plan, and patient alerts.

use super::codes::{self, Code, Medicine};
use super::practice::Role;
use super::record::{Record, Sex};
use chrono::{Duration, NaiveDate};

/// An acute presentation: what it is, and the notes a GP writes for it.
struct Presentation {
    code: Code,
    history: &'static str,
    examination: &'static str,
    plan: &'static str,
    /// Worth a diagnosis entry (with a resolution after this many days).
    diagnosis_days: Option<i64>,
    infection: bool,
    chest: bool,
}

const fn presentation(
    code: Code,
    history: &'static str,
    examination: &'static str,
    plan: &'static str,
    diagnosis_days: Option<i64>,
    infection: bool,
) -> Presentation {
    Presentation {
        code,
        history,
        examination,
        plan,
        diagnosis_days,
        infection,
        chest: false,
    }
}

const URTI: Presentation = presentation(
    codes::URTI,
    "Sore throat, runny nose and cough for four days. Eating and drinking.",
    "Throat mildly red, no exudate. Chest clear.",
    "Viral illness: fluids, paracetamol. Return if worse or not better in a week.",
    None,
    true,
);
const CHEST: Presentation = Presentation {
    chest: true,
    ..presentation(
        codes::CHEST_INFECTION,
        "Productive cough and fever for a week, breathless on stairs.",
        "Crackles at the right base. No signs of sepsis.",
        "Chest infection: antibiotics for five days. Safety-netting advice given.",
        Some(14),
        true,
    )
};
const UTI: Presentation = presentation(
    codes::UTI,
    "Burning when passing urine and frequency for two days. No loin pain, no fever.",
    "Abdomen soft, no renal angle tenderness. Urine dip: leucocytes and nitrites.",
    "Urine sample sent. Antibiotics if the culture confirms; fluids. Return if fever or loin pain.",
    Some(7),
    true,
);
const BACK_PAIN: Presentation = presentation(
    codes::BACK_PAIN,
    "Low back pain after lifting, two weeks. No leg weakness, no bladder or bowel change.",
    "Paraspinal tenderness; straight leg raise normal. Neurology normal.",
    "Keep active; simple analgesia; physiotherapy self-referral. Red flags explained.",
    Some(42),
    false,
);
const OTITIS_MEDIA: Presentation = presentation(
    codes::OTITIS_MEDIA,
    "Earache and fever since yesterday, pulling at the ear.",
    "Left drum red and bulging. Throat and chest normal.",
    "Otitis media: paracetamol and ibuprofen; no antibiotics for now. Return if not better in three days.",
    Some(7),
    true,
);
const RASH: Presentation = presentation(
    codes::RASH,
    "Itchy red rash on the arms for a week. No new soaps or medicines.",
    "Blanching papular rash on both forearms. Well in themselves.",
    "Antihistamine and emollient. Return if spreading or not settling in two weeks.",
    Some(21),
    false,
);
const ECZEMA: Presentation = presentation(
    codes::ECZEMA,
    "Dry itchy skin in the elbow creases, worse in winter.",
    "Dry, excoriated patches in both antecubital fossae. No infection.",
    "Emollients generously and often; soap substitute. Review if flaring.",
    Some(60),
    false,
);
const TONSILLITIS: Presentation = presentation(
    codes::TONSILLITIS,
    "Very sore throat and fever for three days, off food.",
    "Tonsils enlarged with exudate, tender neck glands. No cough.",
    "Tonsillitis: fluids and paracetamol; back-up antibiotic prescription discussed.",
    Some(10),
    true,
);
const FATIGUE: Presentation = presentation(
    codes::FATIGUE,
    "Tired all the time for two months. Sleeping poorly. No weight loss.",
    "Looks well. No pallor, no lymphadenopathy.",
    "Bloods requested: full blood count, thyroid, ferritin. Review with results.",
    None,
    false,
);

/// Acute consultations: a few a year, more for the very young and the old; `busy`
/// scales how many (percent).
pub(super) fn acute_consultations(rec: &mut Record, busy: u32) {
    let mut month = rec.start;
    while month <= rec.end {
        let age = rec.age_on(month);
        let per_month_mille = match age {
            0..5 => 200,
            5..16 => 80,
            16..65 => 90,
            _ => 180,
        } * busy
            / 100;
        if rec.rng.per_mille(per_month_mille) {
            let day = (month + Duration::days(rec.rng.range(0, 27))).min(rec.end);
            acute_consultation(rec, day, age);
        }
        month += Duration::days(30);
    }
}

fn acute_consultation(rec: &mut Record, day: NaiveDate, age: i64) {
    let mut choices = vec![&URTI, &CHEST, &RASH];
    if age < 16 {
        choices.extend([&OTITIS_MEDIA, &TONSILLITIS, &ECZEMA]);
    } else {
        choices.extend([&BACK_PAIN, &FATIGUE]);
        if rec.sex == Sex::Female {
            choices.extend([&UTI, &UTI]);
        }
    }
    let p = *rec.rng.pick(&choices);
    let gp = rec.gp();
    let kind = match rec.rng.below(100) {
        0..25 => codes::TELEPHONE,
        25..28 if age >= 75 => codes::HOME_VISIT,
        _ => codes::FACE_TO_FACE,
    };
    let telephone = kind.code == codes::TELEPHONE.code;
    rec.open(day, &gp, kind);
    rec.topic(p.code.display, None);
    rec.heading("history");
    rec.note(p.history);
    rec.heading("examination");
    if telephone {
        rec.note("Telephone consultation: not examined.");
    } else {
        rec.note(p.examination);
        if p.infection {
            rec.infection_vitals(p.chest);
        }
        if age >= 40 && rec.rng.percent(25) {
            let excess = if rec.has(codes::HYPERTENSION) {
                rec.bp_excess
            } else {
                0
            };
            rec.blood_pressure(excess);
        }
    }
    if let Some(days) = p.diagnosis_days {
        rec.heading("diagnosis");
        rec.diagnosis(p.code, days);
    }
    rec.heading("plan");
    rec.note(p.plan);
    if let Some(med) = acute_medicine(rec, p.code) {
        rec.medication_request(&med, day, &gp, "order", None, 5, "completed");
    }
    if p.code.code == codes::FATIGUE.code {
        let hca = rec.staff(Role::Hca);
        rec.task(
            &hca,
            "Please book fasting bloods: FBC, TFTs, ferritin.",
            7,
            false,
        );
    } else if rec.rng.percent(4) {
        let admin = rec.staff(Role::Nurse);
        let urgent = rec.rng.percent(30);
        rec.task(
            &admin,
            "Please call the patient to check they are improving.",
            3,
            urgent,
        );
    }
    rec.close();
}

/// The medicine an acute problem gets: amoxicillin for a chest infection unless the
/// patient is allergic to penicillin (doxycycline then), cetirizine for a rash.
fn acute_medicine(rec: &Record, code: Code) -> Option<Medicine> {
    match code.code {
        c if c == codes::CHEST_INFECTION.code && rec.penicillin_allergy => Some(codes::DOXYCYCLINE),
        c if c == codes::CHEST_INFECTION.code => Some(codes::AMOXICILLIN),
        c if c == codes::RASH.code && rec.age_on(rec.visit().day) >= 12 => Some(codes::CETIRIZINE),
        c if c == codes::BACK_PAIN.code => Some(codes::PARACETAMOL),
        _ => None,
    }
}

/// Alerts: hearing impaired for some older patients, a violent-patient marker for a
/// very few adults.
pub(super) fn alerts(rec: &mut Record) {
    let age = rec.age_on(rec.end);
    let hearing = age >= 60 && rec.rng.percent(6);
    if hearing {
        let day = rec.start + Duration::days(rec.rng.range(0, rec.days_left(rec.start).max(0)));
        rec.alert(
            ("clinical", "Clinical"),
            "Hearing impaired: face the patient and speak clearly; offer a hearing loop.",
            Some(codes::HEARING_LOSS),
            day,
        );
    }
    if age >= 18 && rec.rng.per_mille(5) {
        let day = rec.start + Duration::days(rec.rng.range(0, rec.days_left(rec.start).max(0)));
        rec.alert(
            ("safety", "Safety"),
            "Violent patient: see with a chaperone, never alone.",
            None,
            day,
        );
    }
}
