//! Who each demo patient is: demographics, registration and (for a few) death, drawn
//! from a random stream of their own, so PDS's view of the population can be made
//! without generating anyone's clinical record.

use super::codes::{NHS_NUMBER, ODS_CODE};
use super::names;
use super::nhs::nhs_number;
use super::record::Sex;
use super::rng::Rng;
use super::values::record_end;
use chrono::{Duration, NaiveDate};
use clinical::conventions::{self as gp, RegistrationType};
use serde_json::{Value, json};

/// Mixed into the seed for the demographic stream.
const PEOPLE_STREAM: u64 = 0x5045_4f50_4c45;
/// Index offset of the people PDS knows who are not registered at the practice.
const UNREGISTERED_FROM: u64 = 800_000;

/// What the generator may be told to fix about a patient (the long record's patient).
#[derive(Debug, Clone, Default)]
pub(super) struct Profile {
    pub(super) age: Option<i64>,
    pub(super) sex: Option<Sex>,
    pub(super) registered_years: Option<i64>,
}

#[derive(Debug, Clone)]
pub(super) struct Person {
    pub(super) nhs_number: String,
    pub(super) sex: Sex,
    pub(super) age: i64,
    pub(super) birth: NaiveDate,
    pub(super) given: Vec<&'static str>,
    pub(super) family: &'static str,
    pub(super) prefix: Option<&'static str>,
    pub(super) address: Value,
    pub(super) telecom: Vec<Value>,
    /// Index into `gp::NHS_NUMBER_VERIFICATION`.
    pub(super) verification: usize,
    pub(super) sensitive: bool,
    pub(super) registration: RegistrationType,
    pub(super) registered: NaiveDate,
    pub(super) died: Option<NaiveDate>,
}

pub(super) fn person(seed: u64, index: u64, profile: &Profile) -> Person {
    let mut rng = Rng::for_item(seed ^ PEOPLE_STREAM, index);
    let end = record_end();
    let sex = profile.sex.unwrap_or(if rng.percent(50) {
        Sex::Female
    } else {
        Sex::Male
    });
    // Roughly the age structure of an English practice list.
    let drawn = match rng.below(100) {
        0..20 => rng.range(0, 17),
        20..75 => rng.range(18, 64),
        _ => rng.range(65, 96),
    };
    let age = profile.age.unwrap_or(drawn);
    let birth = end - Duration::days(age * 365 + age / 4 + rng.range(0, 364));
    let (given, family, prefix) = name(&mut rng, sex, age);
    let (district, locality) = *rng.pick(names::DISTRICTS);
    let street = *rng.pick(names::STREETS);
    let house = rng.range(1, 180);
    let postcode = format!(
        "{district} {}",
        names::inward_code(rng.below(10), rng.next_u64(), rng.next_u64())
    );
    let address = json!({
        "use": "home",
        "line": [format!("{house} {street}"), locality],
        "city": "Leeds",
        "district": "West Yorkshire",
        "postalCode": postcode,
        "country": "GB"
    });
    let mut telecom = Vec::new();
    if age >= 16 && rng.percent(90) {
        telecom.push(json!({"system": "phone", "value": names::drama_mobile(rng.next_u64()), "use": "mobile"}));
        if rng.percent(40) {
            let local: String = format!("{}.{family}", given[0])
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            telecom.push(json!({"system": "email", "value": format!("{}{}@example.com", local.to_lowercase(), rng.below(100)), "use": "home"}));
        }
    }
    // Registration: most children since birth, adults for 1 to 25 years, and a few
    // temporary residents who arrived in the last few weeks.
    let temporary = profile.registered_years.is_none() && age >= 16 && rng.per_mille(15);
    let registered = if temporary {
        end - Duration::days(rng.range(5, 60))
    } else if let Some(years) = profile.registered_years {
        end - Duration::days(years * 365 + years / 4)
    } else if age < 16 && rng.percent(70) {
        birth + Duration::days(rng.range(14, 40))
    } else {
        // Most lists turn over within a decade; a fifth have been here for decades.
        let years = if rng.percent(80) {
            rng.range(1, 9)
        } else {
            rng.range(10, 30)
        }
        .min(age.max(1));
        end - Duration::days(years * 365 + rng.range(0, 364))
    }
    .max(birth + Duration::days(14))
    .min(end);
    let registration = if temporary {
        RegistrationType::Temporary
    } else {
        RegistrationType::Permanent
    };
    // Some of the elderly have died during their registration.
    let died = (profile.age.is_none() && age >= 70 && rng.per_mille((age as u32 - 60) * 4))
        .then(|| {
            let span = (end - registered).num_days();
            (span > 400).then(|| registered + Duration::days(rng.range(300, span)))
        })
        .flatten();
    let verification = if (end - birth).num_days() < 42 {
        7 // trace postponed: baby under six weeks
    } else {
        match rng.below(100) {
            0..95 => 0,
            95..98 => 1,
            _ => 2,
        }
    };
    // A couple of patients in every thousand are sensitive (PDS `R`).
    let sensitive = profile.age.is_none() && (index % 1000 == 7 || index % 1000 == 611);
    Person {
        nhs_number: nhs_number(seed, index),
        sex,
        age,
        birth,
        given,
        family,
        prefix,
        address,
        telecom,
        verification,
        sensitive,
        registration,
        registered,
        died,
    }
}

fn name(
    rng: &mut Rng,
    sex: Sex,
    age: i64,
) -> (Vec<&'static str>, &'static str, Option<&'static str>) {
    let pool = match sex {
        Sex::Female => names::GIVEN_FEMALE,
        Sex::Male => names::GIVEN_MALE,
    };
    let first = *rng.pick(pool);
    let prefix = match sex {
        Sex::Female if rng.percent(60) => "Mrs",
        Sex::Female => "Ms",
        Sex::Male => "Mr",
    };
    let family = *rng.pick(names::FAMILY);
    let mut given = vec![first];
    if rng.percent(30) {
        let middle = *rng.pick(pool);
        if middle != first {
            given.push(middle);
        }
    }
    (given, family, (age >= 18).then_some(prefix))
}

fn gender(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "female",
        Sex::Male => "male",
    }
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn official_name(p: &Person) -> Value {
    let mut name = json!({"use": "official", "family": p.family, "given": p.given});
    if let Some(prefix) = p.prefix {
        name["prefix"] = json!([prefix]);
    }
    name
}

/// The practice's Patient resource (UK Core), with `usual_gp` a Practitioner reference.
pub(super) fn patient_resource(p: &Person, ods: &str, usual_gp: &str) -> Value {
    let (code, display) = gp::NHS_NUMBER_VERIFICATION[p.verification];
    let mut patient = json!({
        "resourceType": "Patient",
        "identifier": [{
            "extension": [{
                "url": gp::NHS_NUMBER_VERIFICATION_EXT,
                "valueCodeableConcept": {"coding": [{
                    "system": gp::NHS_NUMBER_VERIFICATION_SYSTEM,
                    "code": code,
                    "display": display
                }]}
            }],
            "system": NHS_NUMBER,
            "value": p.nhs_number
        }],
        "active": true,
        "name": [official_name(p)],
        "gender": gender(p.sex),
        "birthDate": day_text(p.birth),
        "address": [p.address],
        "generalPractitioner": [
            {"reference": usual_gp},
            {"reference": format!("Organization/{ods}"), "identifier": {"system": ODS_CODE, "value": ods}}
        ],
        "managingOrganization": {"reference": format!("Organization/{ods}")}
    });
    if !p.telecom.is_empty() {
        let mut telecom = p.telecom.clone();
        // The mobile is the preferred way to reach them.
        telecom[0]["rank"] = json!(1);
        patient["telecom"] = json!(telecom);
        patient["extension"] = json!([{"url": gp::CONTACT_PREFERENCE_EXT, "extension": [{
            "url": "PreferredContactMethod",
            "valueCodeableConcept": {"coding": [{
                "system": gp::PREFERRED_CONTACT_METHOD_SYSTEM,
                "code": "3",
                "display": "Telephone"
            }]}
        }]}]);
    }
    if let Some(died) = p.died {
        patient["deceasedDateTime"] = json!(format!("{}T09:00:00Z", day_text(died)));
    }
    if p.sensitive {
        patient["meta"] = json!({"security": [{
            "system": gp::CONFIDENTIALITY_SYSTEM, "code": "R", "display": "restricted"
        }]});
    }
    patient
}

/// The registration: an EpisodeOfCare, finished at death.
pub(super) fn registration_resource(p: &Person, ods: &str, patient: &str, gp_ref: &str) -> Value {
    let mut period = json!({"start": day_text(p.registered)});
    let mut status = "active";
    if let Some(died) = p.died {
        period["end"] = json!(day_text(died));
        status = "finished";
    }
    json!({
        "resourceType": "EpisodeOfCare",
        "status": status,
        "type": [{"coding": [{
            "system": gp::REGISTRATION_TYPE_SYSTEM,
            "code": p.registration.code(),
            "display": p.registration.display()
        }]}],
        "patient": {"reference": patient},
        "managingOrganization": {"reference": format!("Organization/{ods}")},
        "period": period,
        "careManager": {"reference": gp_ref}
    })
}

/// PDS's view of a person registered at `ods` (or elsewhere, or nowhere).
fn pds_resource(p: &Person, gp_ods: Option<&str>) -> Value {
    let from = day_text(
        p.registered
            .min(p.birth + Duration::days(365 * 18))
            .max(p.birth),
    );
    let mut name = official_name(p);
    name["use"] = json!("usual");
    name["period"] = json!({"start": from});
    let (code, display) = gp::NHS_NUMBER_VERIFICATION[p.verification];
    let mut patient = json!({
        "resourceType": "Patient",
        "id": p.nhs_number,
        "meta": {"versionId": "1", "security": [{
            "system": gp::CONFIDENTIALITY_SYSTEM,
            "code": if p.sensitive { "R" } else { "U" },
            "display": if p.sensitive { "restricted" } else { "unrestricted" }
        }]},
        "identifier": [{
            "system": NHS_NUMBER,
            "value": p.nhs_number,
            "extension": [{
                "url": gp::NHS_NUMBER_VERIFICATION_EXT,
                "valueCodeableConcept": {"coding": [{
                    "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus",
                    "code": code,
                    "display": display
                }]}
            }]
        }],
        "name": [name],
        "gender": gender(p.sex),
        "birthDate": day_text(p.birth)
    });
    if let Some(died) = p.died {
        patient["deceasedDateTime"] = json!(format!("{}T09:00:00+00:00", day_text(died)));
    }
    if p.sensitive {
        // PDS withholds a sensitive patient's address, telecom and GP.
        return patient;
    }
    let mut address = p.address.clone();
    address["period"] = json!({"start": from});
    patient["address"] = json!([address]);
    if !p.telecom.is_empty() {
        patient["telecom"] = json!(
            p.telecom
                .iter()
                .map(|t| {
                    let mut t = t.clone();
                    t["period"] = json!({"start": from});
                    t
                })
                .collect::<Vec<_>>()
        );
    }
    if let Some(ods) = gp_ods {
        patient["generalPractitioner"] = json!([{
            "type": "Organization",
            "identifier": {"system": ODS_CODE, "value": ods, "period": {"start": day_text(p.registered)}}
        }]);
    }
    patient
}

/// Other practices nearby, where PDS has the people not registered with the demo.
const NEIGHBOURS: [&str; 3] = ["B86001", "B86016", "B86042"];

/// PDS's view of the demo population: every demo patient (of a `patients`-strong
/// practice generated from `seed`) registered at `ods`, then 50 people who are not
/// registered there (for tracing a new registration). Deterministic.
#[allow(dead_code)]
pub fn pds_people_at(seed: u64, patients: usize, ods: &str) -> Vec<Value> {
    let mut people: Vec<Value> = (0..patients as u64)
        .map(|i| {
            let p = person(seed, i, &Profile::default());
            pds_resource(&p, Some(ods))
        })
        .collect();
    for i in 0..50u64 {
        let index = UNREGISTERED_FROM + i;
        let mut p = person(seed, index, &Profile::default());
        p.sensitive = false;
        p.died = None;
        let gp_ods = (i % 5 != 0).then(|| NEIGHBOURS[i as usize % NEIGHBOURS.len()]);
        people.push(pds_resource(&p, gp_ods));
    }
    people
}
