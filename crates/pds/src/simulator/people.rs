//! Deterministic synthetic people for the simulator: NHS numbers in the 999 test range,
//! UK names and addresses, ages 0 to 100, a few sensitive and a few deceased.

use chrono::{Days, NaiveDate};
use serde_json::{Value, json};

use crate::sensitive::CONFIDENTIALITY_SYSTEM;

const VERIFICATION_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
const VERIFICATION_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus";
const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const DEATH_NOTIFICATION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeathNotificationStatus";

/// Ages are counted back from this day, so the same seed gives the same people on any day.
const REFERENCE_DAY: (i32, u32, u32) = (2026, 1, 1);

const FEMALE_NAMES: &[&str] = &[
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Freya",
    "Emily",
    "Poppy",
    "Ella",
    "Evie",
    "Charlotte",
    "Florence",
    "Margaret",
    "Susan",
    "Patricia",
    "Elizabeth",
    "Jennifer",
    "Sarah",
    "Karen",
    "Helen",
    "Joan",
    "Dorothy",
    "Aisha",
    "Priya",
    "Fatima",
    "Zara",
    "Siobhan",
    "Niamh",
    "Rhiannon",
    "Eilidh",
];
const MALE_NAMES: &[&str] = &[
    "Oliver", "George", "Noah", "Arthur", "Leo", "Muhammad", "Harry", "Oscar", "Archie", "Henry",
    "Jack", "Freddie", "Charlie", "Thomas", "James", "William", "David", "John", "Robert",
    "Michael", "Peter", "Paul", "Stephen", "Andrew", "Kenneth", "Brian", "Ravi", "Arjun", "Tomasz",
    "Kwame", "Dylan", "Rhys", "Callum", "Ciaran", "Hamish", "Owen",
];
const FAMILY_NAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Thomas",
    "Clarke",
    "Jackson",
    "Wood",
    "Harris",
    "Edwards",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Hughes",
    "Moore",
    "Clark",
    "King",
    "Harrison",
    "Lewis",
    "Baker",
    "Lee",
    "Allen",
    "Morris",
    "Khan",
    "Scott",
    "Watson",
    "Davis",
    "Parker",
    "James",
    "Bennett",
    "Young",
    "Phillips",
    "Richardson",
    "Mitchell",
    "Bailey",
    "Carter",
    "Cook",
    "Singh",
    "Shaw",
    "Bell",
    "Collins",
    "Morgan",
    "Kelly",
    "Begum",
    "Miller",
    "Cox",
    "Hussain",
    "Marshall",
    "Simpson",
    "Price",
    "Anderson",
    "Adams",
    "Wilkinson",
    "Ali",
    "Ahmed",
    "Foster",
    "Ellis",
    "Murphy",
    "Chapman",
    "Mason",
    "Gray",
    "Richards",
    "Webb",
    "Griffiths",
    "Hunt",
    "Palmer",
    "Campbell",
    "Holmes",
    "Mills",
    "Rogers",
    "Barnes",
    "Knight",
    "Matthews",
    "Barker",
    "Powell",
    "Stevens",
    "Kaur",
    "Fisher",
    "Butler",
    "Dixon",
    "Russell",
    "Harvey",
    "Pearson",
    "Graham",
    "Smyth",
    "Smythe",
    "Nowak",
    "Okafor",
    "O'Brien",
];
const STREETS: &[&str] = &[
    "High Street",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Green Lane",
    "Manor Road",
    "Park Avenue",
    "Queens Road",
    "The Crescent",
    "Mill Lane",
    "Kings Road",
    "Grange Road",
    "Boar Lane",
    "Chapel Street",
    "Springfield Road",
    "Windsor Close",
    "Orchard Way",
    "Meadow View",
    "Albert Street",
    "York Road",
];
/// Towns with their postcode areas and a few real district numbers.
const TOWNS: &[(&str, &str, &[u8])] = &[
    ("Leeds", "LS", &[1, 2, 6, 7, 8, 11, 17]),
    ("Manchester", "M", &[1, 4, 14, 20, 21]),
    ("Birmingham", "B", &[5, 13, 15, 29]),
    ("Bristol", "BS", &[1, 3, 6, 8]),
    ("Sheffield", "S", &[1, 7, 10, 11]),
    ("Newcastle upon Tyne", "NE", &[1, 2, 4, 6]),
    ("Norwich", "NR", &[1, 2, 3, 4]),
    ("Exeter", "EX", &[1, 2, 4]),
    ("York", "YO", &[1, 10, 24, 31]),
    ("Cardiff", "CF", &[5, 10, 14, 23]),
    ("London", "SE", &[1, 5, 15, 22]),
    ("Oxford", "OX", &[1, 2, 3, 4]),
];
/// Letters used in the inward code of a postcode (never C, I, K, M, O or V).
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
/// GP practices people are registered with (the first is the demo practice).
const PRACTICES: &[&str] = &["A81001", "A81002", "B82005", "Y12345"];

/// SplitMix64: a small, fast, well-mixed generator; deterministic for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// The Modulus 11 check digit for nine digits, or `None` where no number is issued.
fn check_digit(nine: &str) -> Option<u32> {
    let sum: u32 = nine
        .bytes()
        .zip((2..=10).rev())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c),
    }
}

/// Distinct valid NHS numbers `999xxxxxxC`, in an order set by the seed.
fn nhs_numbers(seed: u64) -> impl Iterator<Item = String> {
    // Stepping by a number coprime to 10^6 visits each six-digit middle exactly once.
    const SPAN: u64 = 1_000_000;
    const STEP: u64 = 7_919;
    let start = seed % SPAN;
    (0..SPAN).filter_map(move |k| {
        let nine = format!("999{:06}", (start + k * STEP) % SPAN);
        check_digit(&nine).map(|c| format!("{nine}{c}"))
    })
}

fn postcode(rng: &mut Rng, area: &str, districts: &[u8]) -> String {
    let letter = |rng: &mut Rng| char::from(*rng.pick(INWARD_LETTERS));
    format!(
        "{area}{} {}{}{}",
        rng.pick(districts),
        rng.below(10),
        letter(rng),
        letter(rng)
    )
}

fn mobile(rng: &mut Rng) -> String {
    // Ofcom's range reserved for drama: never a real subscriber.
    format!("07700900{:03}", rng.below(1000))
}

fn person(rng: &mut Rng, nhs_number: String, today: NaiveDate) -> Value {
    let female = rng.chance(51);
    let given = *rng.pick(if female { FEMALE_NAMES } else { MALE_NAMES });
    let family = *rng.pick(FAMILY_NAMES);
    let age_days = rng.below(101 * 365) as u64;
    let born = today - Days::new(age_days);
    let adult = age_days >= 18 * 365;
    let sensitive = rng.chance(2);
    let deceased = age_days > 40 * 365 && rng.chance(6);
    let version = 1 + rng.below(3);

    let mut name = json!({ "id": format!("{:X}", rng.next() % 0xFFFF_FFFF), "use": "usual",
        "period": { "start": born.to_string() }, "given": [given], "family": family });
    if rng.chance(30) {
        let middle = *rng.pick(if female { FEMALE_NAMES } else { MALE_NAMES });
        name["given"]
            .as_array_mut()
            .into_iter()
            .for_each(|g| g.push(json!(middle)));
    }
    if adult {
        let prefix = if !female {
            "Mr"
        } else if rng.chance(50) {
            "Mrs"
        } else {
            "Ms"
        };
        name["prefix"] = json!([prefix]);
    }

    let (label, display) = if sensitive {
        ("R", "restricted")
    } else {
        ("U", "unrestricted")
    };
    let mut patient = json!({
        "resourceType": "Patient",
        "id": nhs_number,
        "identifier": [{
            "system": fhir::nhs_number::SYSTEM,
            "value": nhs_number,
            "extension": [{
                "url": VERIFICATION_EXTENSION,
                "valueCodeableConcept": { "coding": [{
                    "system": VERIFICATION_SYSTEM, "version": "1.0.0",
                    "code": "01", "display": "Number present and verified"
                }]}
            }]
        }],
        "meta": {
            "versionId": version.to_string(),
            "security": [{ "system": CONFIDENTIALITY_SYSTEM, "code": label, "display": display }]
        },
        "name": [name],
        "gender": if female { "female" } else { "male" },
        "birthDate": born.to_string(),
    });

    if deceased {
        let died = born + Days::new(40 * 365 + rng.below((age_days - 40 * 365) as usize) as u64);
        let when = format!("{died}T00:00:00+00:00");
        patient["deceasedDateTime"] = json!(when);
        patient["extension"] = json!([{
            "url": DEATH_NOTIFICATION,
            "extension": [
                { "url": "deathNotificationStatus", "valueCodeableConcept": { "coding": [{
                    "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-DeathNotificationStatus",
                    "version": "1.0.0", "code": "2",
                    "display": "Formal - death notice received from Registrar of Deaths" }]}},
                { "url": "systemEffectiveDate", "valueDateTime": when }
            ]
        }]);
    }
    // A sensitive patient's whereabouts are not on PDS's public face at all.
    if !sensitive {
        let (town, area, districts) = *rng.pick(TOWNS);
        let moved_in = born + Days::new(rng.below(age_days as usize + 1) as u64);
        patient["address"] = json!([{
            "id": format!("{:X}", rng.next() % 0xFFFF_FFFF),
            "period": { "start": moved_in.to_string() },
            "use": "home",
            "line": [format!("{} {}", 1 + rng.below(180), rng.pick(STREETS)), town],
            "postalCode": postcode(rng, area, districts),
        }]);
        let mut telecom = vec![
            json!({ "id": "T1", "period": { "start": moved_in.to_string() },
            "system": "phone", "value": mobile(rng), "use": "mobile" }),
        ];
        if adult && rng.chance(60) {
            let email = format!(
                "{}.{}{}@example.com",
                given.to_lowercase(),
                family.to_lowercase().replace('\'', ""),
                rng.below(100)
            );
            telecom.push(json!({ "id": "T2", "system": "email", "value": email, "use": "home" }));
        }
        patient["telecom"] = json!(telecom);
        patient["generalPractitioner"] = json!([{
            "id": format!("{:X}", rng.next() % 0xFFFF_FFFF),
            "type": "Organization",
            "identifier": { "system": ODS_SYSTEM, "value": rng.pick(PRACTICES),
                "period": { "start": moved_in.to_string() } }
        }]);
    }
    patient
}

/// `count` synthetic PDS Patients, the same for the same `seed`.
pub fn synthetic_people(seed: u64, count: usize) -> Vec<Value> {
    let (y, m, d) = REFERENCE_DAY;
    let today = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let mut rng = Rng(seed);
    nhs_numbers(seed)
        .take(count)
        .map(|nhs| person(&mut rng, nhs, today))
        .collect()
}
