//! Names and places for synthetic patients: common British names, and streets and
//! postcode districts around the demo practice (north-west Leeds). Telephone numbers use
//! Ofcom's ranges reserved for drama, so none can ring a real person.

pub const FAMILY: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Lewis",
    "James",
    "Phillips",
    "Mason",
    "Mitchell",
    "Rose",
    "Davis",
    "Rodgers",
    "Cooper",
    "Hughes",
    "Edwards",
    "Hill",
    "Moore",
    "Clark",
    "Harrison",
    "Scott",
    "Young",
    "Morris",
    "Ward",
    "Turner",
    "Hussain",
    "Begum",
    "Ali",
    "Ahmed",
    "O'Brien",
    "Kaur",
    "Singh",
    "Kowalski",
    "Nowak",
    "Murphy",
    "Kelly",
    "Baker",
    "Shaw",
    "Holmes",
    "Atkinson",
    "Lee",
    "Chen",
    "Okafor",
    "Mensah",
    "Nwosu",
    "Ferguson",
    "MacDonald",
    "Hargreaves",
    "Sutcliffe",
    "Barker",
    "Ackroyd",
    "Whitaker",
    "Bell",
];

pub const GIVEN_FEMALE: &[&str] = &[
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Freya",
    "Lily",
    "Emily",
    "Sophie",
    "Jessica",
    "Charlotte",
    "Hannah",
    "Chloe",
    "Lucy",
    "Ellie",
    "Megan",
    "Rebecca",
    "Laura",
    "Sarah",
    "Emma",
    "Claire",
    "Rachel",
    "Nicola",
    "Helen",
    "Joanne",
    "Susan",
    "Karen",
    "Julie",
    "Deborah",
    "Alison",
    "Margaret",
    "Patricia",
    "Barbara",
    "Jean",
    "Dorothy",
    "Maureen",
    "Christine",
    "Elizabeth",
    "Mary",
    "Aisha",
    "Fatima",
    "Priya",
    "Zainab",
    "Agnieszka",
    "Siobhan",
    "Ngozi",
    "Mei",
];

pub const GIVEN_MALE: &[&str] = &[
    "Oliver",
    "George",
    "Noah",
    "Arthur",
    "Harry",
    "Leo",
    "Jack",
    "Charlie",
    "Oscar",
    "Jacob",
    "Thomas",
    "James",
    "Daniel",
    "Joshua",
    "Samuel",
    "Matthew",
    "Ryan",
    "Luke",
    "Adam",
    "Michael",
    "David",
    "Paul",
    "Mark",
    "Andrew",
    "Richard",
    "Stephen",
    "Peter",
    "Ian",
    "Christopher",
    "John",
    "Robert",
    "William",
    "Brian",
    "Kenneth",
    "Derek",
    "Alan",
    "Colin",
    "Keith",
    "Mohammed",
    "Imran",
    "Arjun",
    "Tomasz",
    "Sean",
    "Chidi",
    "Kwame",
    "Wei",
    "Rhys",
    "Callum",
];

/// Streets near the practice.
pub const STREETS: &[&str] = &[
    "Otley Road",
    "Headingley Lane",
    "Cardigan Road",
    "Kirkstall Lane",
    "Spen Lane",
    "Moor Road",
    "Victoria Road",
    "Chapel Lane",
    "Hyde Park Road",
    "Meanwood Road",
    "Grove Lane",
    "Ash Road",
    "Becketts Park Drive",
    "Shaw Lane",
    "Far Headingley Lane",
    "St Anne's Road",
    "Weetwood Lane",
    "Alma Road",
    "Bainbrigge Road",
    "Wood Lane",
    "Broadway",
    "Queenswood Drive",
    "Moorland Avenue",
    "Hollin Lane",
    "Oakfield Terrace",
];

/// Postcode districts the practice's patients live in, with their locality.
pub const DISTRICTS: &[(&str, &str)] = &[
    ("LS6", "Headingley"),
    ("LS6", "Hyde Park"),
    ("LS5", "Kirkstall"),
    ("LS4", "Burley"),
    ("LS16", "Adel"),
    ("LS16", "Weetwood"),
    ("LS7", "Meanwood"),
    ("LS17", "Alwoodley"),
];

/// Letters used in the inward part of a postcode (C, I, K, M, O and V are never used).
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// An inward code such as `2AB` for a district.
pub fn inward_code(digit: u64, letter_a: u64, letter_b: u64) -> String {
    let n = INWARD_LETTERS.len() as u64;
    format!(
        "{}{}{}",
        digit % 10,
        INWARD_LETTERS[(letter_a % n) as usize] as char,
        INWARD_LETTERS[(letter_b % n) as usize] as char
    )
}

/// A UK mobile number in Ofcom's drama range 07700 900000 to 07700 900999.
pub fn drama_mobile(n: u64) -> String {
    format!("07700 900{:03}", n % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inward_codes_use_allowed_letters() {
        for i in 0..200 {
            let code = inward_code(i, i * 7, i * 13);
            assert_eq!(code.len(), 3);
            assert!(
                code.chars().skip(1).all(|c| !"CIKMOV".contains(c)),
                "{code}"
            );
        }
    }
}
