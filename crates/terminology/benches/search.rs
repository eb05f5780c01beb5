//! Search latency: the starter set and a synthetic full-release-sized set (~350k
//! concepts, ~1M terms), against a naive linear scan of the same data in the same run.
//!
//! `cargo bench -p terminology` (release build). Prints p50/p95/p99 per data set.

use std::hint::black_box;
use std::time::{Duration, Instant};
use terminology::{Category, Concept, Terminology, tokenize};

const QUERIES: [&str; 12] = [
    "high blood",
    "t2 diab",
    "asth",
    "penic",
    "bp",
    "chest p",
    "a",
    "d",
    "s",
    "hypert",
    "diabetes mellitus type 2",
    "ckd 3",
];

fn main() {
    let starter = Terminology::starter();
    let started = Instant::now();
    let synthetic = Terminology::from_concepts(synthetic(&starter, 350_000));
    let build = started.elapsed();
    let terms: usize = synthetic.concepts().map(|c| 1 + c.synonyms.len()).sum();
    println!(
        "synthetic set: {} concepts, {terms} terms, index built in {:.2} s",
        synthetic.len(),
        build.as_secs_f64()
    );
    println!();
    println!("| data set | method | p50 | p95 | p99 | naive p50 / indexed p50 |");
    println!("|---|---|---|---|---|---|");
    for (name, t, naive_reps) in [("starter", &starter, 50), ("synthetic 350k", &synthetic, 3)] {
        let indexed = measure(200, |q| t.search(q, &[], 10).len());
        let naive = measure(naive_reps, |q| naive_search(t, q, 10).len());
        let ratio = naive.0.as_secs_f64() / indexed.0.as_secs_f64();
        println!(
            "| {name} | indexed | {} | {} | {} | {ratio:.0}x |",
            ms(indexed.0),
            ms(indexed.1),
            ms(indexed.2)
        );
        println!(
            "| {name} | naive scan | {} | {} | {} | |",
            ms(naive.0),
            ms(naive.1),
            ms(naive.2)
        );
    }
}

/// p50, p95 and p99 of every query run `reps` times.
fn measure(reps: usize, mut search: impl FnMut(&str) -> usize) -> (Duration, Duration, Duration) {
    let mut samples = Vec::with_capacity(reps * QUERIES.len());
    for _ in 0..reps {
        for q in QUERIES {
            let started = Instant::now();
            black_box(search(black_box(q)));
            samples.push(started.elapsed());
        }
    }
    samples.sort_unstable();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    (at(0.50), at(0.95), at(0.99))
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The obvious implementation: tokenise every term for every query.
fn naive_search(t: &Terminology, query: &str, limit: usize) -> Vec<String> {
    let words = tokenize(query);
    if words.is_empty() {
        return Vec::new();
    }
    let mut hits: Vec<(bool, bool, usize, &str, &str)> = Vec::new();
    for c in t.concepts() {
        for (n, term) in std::iter::once(&c.preferred).chain(&c.synonyms).enumerate() {
            let term_words = tokenize(term);
            if words
                .iter()
                .all(|w| term_words.iter().any(|t| t.starts_with(w.as_str())))
            {
                hits.push((term_words != words, n != 0, term.len(), term, &c.id));
            }
        }
    }
    hits.sort_unstable();
    let mut out: Vec<String> = Vec::new();
    for (.., id) in hits {
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
            if out.len() == limit {
                break;
            }
        }
    }
    out
}

/// xorshift64: the same "random" data on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Words {
    real: Vec<String>,
    invented: Vec<String>,
}

impl Words {
    fn word(&self, rng: &mut Rng) -> &str {
        let r = rng.next();
        if r.is_multiple_of(3) {
            &self.real[(r / 3 % self.real.len() as u64) as usize]
        } else {
            // Squared draw: a few invented words are common, most are rare.
            let x = (r >> 20) as f64 / (1u64 << 44) as f64;
            &self.invented[((x * x) * self.invented.len() as f64) as usize]
        }
    }

    fn term(&self, rng: &mut Rng, words: u64) -> String {
        (0..words)
            .map(|_| self.word(rng))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A deterministic release-sized set: the starter concepts plus made-up concepts whose
/// terms mix real clinical words with invented ones (a few common, most rare, as in a
/// real release), and ids with valid check digits.
fn synthetic(starter: &Terminology, count: usize) -> Vec<Concept> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut real: Vec<String> = starter
        .concepts()
        .flat_map(|c| tokenize(&c.preferred))
        .filter(|w| w.len() > 2)
        .collect();
    real.sort_unstable();
    real.dedup();
    const SYLLABLES: [&str; 24] = [
        "ab", "ca", "de", "fi", "gro", "hy", "id", "ki", "lo", "my", "ne", "os", "pa", "qui", "ro",
        "sta", "tri", "ul", "ve", "xa", "zo", "er", "an", "ith",
    ];
    let invented: Vec<String> = (0..40_000)
        .map(|_| {
            let syllables = 2 + rng.next() % 3;
            (0..syllables)
                .map(|_| SYLLABLES[(rng.next() % 24) as usize])
                .collect()
        })
        .collect();
    let words = Words { real, invented };
    let tags = [
        "disorder",
        "finding",
        "procedure",
        "observable entity",
        "substance",
        "situation",
    ];
    let mut concepts: Vec<Concept> = starter.concepts().cloned().collect();
    let mut serial = 100_000u64;
    while concepts.len() < count {
        serial += 1;
        let Some(id) = (0..10)
            .map(|d| format!("{serial}00{d}"))
            .find(|id| terminology::is_valid_sctid(id))
        else {
            continue;
        };
        let length = 2 + rng.next() % 4;
        let preferred = words.term(&mut rng, length);
        let synonyms: Vec<String> = (0..rng.next() % 5)
            .map(|_| {
                let length = 1 + rng.next() % 5;
                words.term(&mut rng, length)
            })
            .collect();
        let tag = tags[(rng.next() % tags.len() as u64) as usize];
        concepts.push(Concept {
            id,
            fsn: format!("{preferred} ({tag})"),
            preferred,
            synonyms,
            category: Category::from_semantic_tag(tag),
        });
    }
    concepts
}
