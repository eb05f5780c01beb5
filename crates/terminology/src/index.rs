//! The search index: every term cut into words, a sorted word list, and for each word
//! the terms that contain it (postings). A query word is a prefix, so it selects a
//! contiguous run of the sorted word list, and that run's postings are contiguous too.
//! A search walks the postings of its rarest query word and checks the other words
//! against each candidate term's own (few) words.

use crate::Concept;
use crate::tokens::tokenize;
use std::collections::HashMap;

/// One searchable term: a concept's preferred term (`term == 0`) or a synonym. Kept
/// small and self-contained: a search touches many of them.
struct Description {
    concept: u32,
    /// 0 for the preferred term, `n` for synonym `n - 1`.
    term: u32,
    /// Where its word ids start in [`Index::words`]; `word_count` of them.
    word_start: u32,
    word_count: u8,
    category: u8,
    /// Length in characters, for "shorter first".
    chars: u16,
    /// Position in case-insensitive alphabetical order of all terms.
    alphabetical: u32,
}

impl Description {
    /// The part of the rank known before any query: preferred first, fewer words
    /// (more of the term matched), shorter, alphabetical. See [`Index::rank`].
    fn static_key(&self) -> u64 {
        (u64::from(self.term != 0) << 62)
            | (u64::from(self.word_count.min(63)) << 56)
            | (u64::from(self.chars) << 40)
            | u64::from(self.alphabetical)
    }
}

/// The bits of a rank key that order groups in [`Index::by_rank`]: all but the query's
/// first-match position and the alphabetical tie-break.
const GROUP_BITS: u64 = !((1 << 40) - 1);

pub(crate) struct Index {
    descriptions: Vec<Description>,
    /// Each description's word ids, in term order.
    words: Vec<u32>,
    /// Every description, best static rank first (see [`Description::static_key`]).
    by_rank: Vec<u32>,
    /// Every distinct word, sorted; a word id is its position here.
    vocabulary: Vec<Box<str>>,
    /// Descriptions containing each word: `postings[posting_start[w]..posting_start[w+1]]`.
    postings: Vec<u32>,
    posting_start: Vec<u32>,
}

/// Above this many postings for the rarest query word, walking descriptions in static
/// rank order finds the best ones sooner than ranking every posting.
const MANY_POSTINGS: usize = 20_000;

/// A ranked candidate: lower `key` is better.
struct Candidate {
    key: u64,
    description: u32,
}

impl Index {
    pub(crate) fn build(concepts: &[Concept]) -> Index {
        let mut descriptions = Vec::new();
        let mut interim: HashMap<String, u32> = HashMap::new();
        let mut words = Vec::new();
        for (c, concept) in concepts.iter().enumerate() {
            for (t, text) in terms(concept).enumerate() {
                let word_start = words.len() as u32;
                // Words past 255 in one term are never needed to find it.
                for word in tokenize(text).into_iter().take(u8::MAX as usize) {
                    let next = interim.len() as u32;
                    words.push(*interim.entry(word).or_insert(next));
                }
                descriptions.push(Description {
                    concept: c as u32,
                    term: t as u32,
                    word_start,
                    word_count: (words.len() as u32 - word_start) as u8,
                    category: concept.category.bit(),
                    chars: text.chars().count().min(u16::MAX as usize) as u16,
                    alphabetical: 0,
                });
            }
        }

        // Renumber words in sorted order so a prefix is a contiguous run of ids.
        let mut vocabulary: Vec<(String, u32)> = interim.into_iter().collect();
        vocabulary.sort_unstable();
        let mut renumber = vec![0u32; vocabulary.len()];
        for (sorted, (_, old)) in vocabulary.iter().enumerate() {
            renumber[*old as usize] = sorted as u32;
        }
        for w in &mut words {
            *w = renumber[*w as usize];
        }
        let vocabulary: Vec<Box<str>> = vocabulary.into_iter().map(|(w, _)| w.into()).collect();

        // Postings by counting sort: each description once per distinct word.
        let mut counts = vec![0u32; vocabulary.len() + 1];
        let mut distinct = Vec::new();
        for desc in &descriptions {
            distinct_words(&words, desc, &mut distinct);
            for &w in &distinct {
                counts[w as usize + 1] += 1;
            }
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let posting_start = counts.clone();
        let mut fill = counts;
        let mut postings = vec![0u32; *posting_start.last().unwrap_or(&0) as usize];
        for (d, desc) in descriptions.iter().enumerate() {
            distinct_words(&words, desc, &mut distinct);
            for &w in &distinct {
                postings[fill[w as usize] as usize] = d as u32;
                fill[w as usize] += 1;
            }
        }

        let mut order: Vec<u32> = (0..descriptions.len() as u32).collect();
        order.sort_by_cached_key(|&d| {
            let desc = &descriptions[d as usize];
            term_of(&concepts[desc.concept as usize], desc.term).to_lowercase()
        });
        for (rank, d) in order.into_iter().enumerate() {
            descriptions[d as usize].alphabetical = rank as u32;
        }
        let mut by_rank: Vec<u32> = (0..descriptions.len() as u32).collect();
        by_rank.sort_unstable_by_key(|&d| descriptions[d as usize].static_key());

        Index {
            descriptions,
            words,
            by_rank,
            vocabulary,
            postings,
            posting_start,
        }
    }

    /// The best `limit` (concept index, term number) pairs, best first, one per concept.
    /// `categories` is a bit set of [`crate::Category::bit`]s; 0 means all.
    pub(crate) fn search(&self, query: &str, categories: u8, limit: usize) -> Vec<(u32, u32)> {
        let query = tokenize(query);
        if query.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut ranges = Vec::with_capacity(query.len());
        for word in &query {
            let range = self.prefix_range(word);
            if range.0 == range.1 {
                return Vec::new();
            }
            ranges.push(range);
        }
        // A query word that is itself a whole word of the vocabulary, for exact matches.
        let whole: Vec<Option<u32>> = query
            .iter()
            .zip(&ranges)
            .map(|(word, &(lo, _))| (*self.vocabulary[lo as usize] == **word).then_some(lo))
            .collect();
        let postings_of = |(lo, hi): (u32, u32)| {
            &self.postings
                [self.posting_start[lo as usize] as usize..self.posting_start[hi as usize] as usize]
        };
        let rarest = ranges
            .iter()
            .map(|&r| postings_of(r))
            .min_by_key(|p| p.len())
            .unwrap_or_default();
        let wanted = |d: u32| {
            let category = self.descriptions[d as usize].category;
            categories == 0 || categories & category != 0
        };
        if rarest.len() > MANY_POSTINGS
            && let Some(found) = self.search_by_rank(&ranges, &whole, &wanted, limit, rarest.len())
        {
            return found;
        }
        let mut candidates = Vec::new();
        for &d in rarest {
            if wanted(d)
                && let Some(key) = self.rank(d, &ranges, &whole)
            {
                candidates.push(Candidate {
                    key,
                    description: d,
                });
            }
        }
        self.best_per_concept(candidates, limit)
    }

    /// For very common query words: exact matches from the postings of the whole words,
    /// then descriptions in static rank order until `limit` concepts are found and the
    /// rest can only rank lower. `None` if that would take longer than the postings.
    fn search_by_rank(
        &self,
        ranges: &[(u32, u32)],
        whole: &[Option<u32>],
        wanted: &dyn Fn(u32) -> bool,
        limit: usize,
        budget: usize,
    ) -> Option<Vec<(u32, u32)>> {
        let mut candidates = Vec::new();
        if let Some(rarest_whole) = whole
            .iter()
            .map(|w| w.map(|w| (w, w + 1)))
            .collect::<Option<Vec<_>>>()
            .and_then(|words| {
                words.into_iter().min_by_key(|&(lo, hi)| {
                    self.posting_start[hi as usize] - self.posting_start[lo as usize]
                })
            })
        {
            let (lo, hi) = rarest_whole;
            for &d in &self.postings
                [self.posting_start[lo as usize] as usize..self.posting_start[hi as usize] as usize]
            {
                if wanted(d)
                    && let Some(key) = self.rank(d, ranges, whole)
                    && key >> 63 == 0
                {
                    candidates.push(Candidate {
                        key,
                        description: d,
                    });
                }
            }
        }
        let mut concepts: Vec<u32> = Vec::with_capacity(limit);
        let mut enough_at: Option<u64> = None;
        for (visited, &d) in self.by_rank.iter().enumerate() {
            let group = self.descriptions[d as usize].static_key() & GROUP_BITS;
            if enough_at.is_some_and(|at| group != at) {
                return Some(self.best_per_concept(candidates, limit));
            }
            if visited > budget * 2 {
                return None;
            }
            if !wanted(d) {
                continue;
            }
            let Some(key) = self.rank(d, ranges, whole) else {
                continue;
            };
            candidates.push(Candidate {
                key,
                description: d,
            });
            let concept = self.descriptions[d as usize].concept;
            if enough_at.is_none() && !concepts.contains(&concept) {
                concepts.push(concept);
                if concepts.len() == limit {
                    enough_at = Some(group);
                }
            }
        }
        Some(self.best_per_concept(candidates, limit))
    }

    /// The ids of the words starting with `prefix`, as a half-open range.
    fn prefix_range(&self, prefix: &str) -> (u32, u32) {
        let lo = self.vocabulary.partition_point(|w| &**w < prefix);
        let hi = lo + self.vocabulary[lo..].partition_point(|w| w.starts_with(prefix));
        (lo as u32, hi as u32)
    }

    /// The rank key of description `d` if every query word begins one of its words.
    /// Ordered by: exact whole term, preferred term, fewest words (the query covers
    /// more of it), shorter term, how early the first query word matches, alphabetical.
    fn rank(&self, d: u32, ranges: &[(u32, u32)], whole: &[Option<u32>]) -> Option<u64> {
        let desc = &self.descriptions[d as usize];
        let words = words_of(&self.words, desc);
        let in_range = |w: u32, (lo, hi): (u32, u32)| lo <= w && w < hi;
        if !ranges
            .iter()
            .all(|&r| words.iter().any(|&w| in_range(w, r)))
        {
            return None;
        }
        let exact =
            words.len() == whole.len() && words.iter().zip(whole).all(|(&w, &q)| q == Some(w));
        let first = words
            .iter()
            .position(|&w| in_range(w, ranges[0]))
            .unwrap_or(0)
            .min(255) as u64;
        Some((u64::from(!exact) << 63) | desc.static_key() | (first << 32))
    }

    /// The first `limit` distinct concepts in rank order, each with its best term.
    fn best_per_concept(&self, mut candidates: Vec<Candidate>, limit: usize) -> Vec<(u32, u32)> {
        // A concept has a handful of terms, so the best few times `limit` candidates
        // nearly always hold `limit` distinct concepts; sort everything only if not.
        let shortlist = limit.saturating_mul(8).max(64);
        if candidates.len() > shortlist {
            candidates.select_nth_unstable_by_key(shortlist - 1, |c| c.key);
            let mut head: Vec<&Candidate> = candidates[..shortlist].iter().collect();
            head.sort_unstable_by_key(|c| c.key);
            let found = self.distinct(head.into_iter(), limit);
            if found.len() == limit {
                return found;
            }
        }
        candidates.sort_unstable_by_key(|c| c.key);
        self.distinct(candidates.iter(), limit)
    }

    fn distinct<'a>(
        &self,
        ranked: impl Iterator<Item = &'a Candidate>,
        limit: usize,
    ) -> Vec<(u32, u32)> {
        let mut found: Vec<(u32, u32)> = Vec::with_capacity(limit);
        for candidate in ranked {
            let desc = &self.descriptions[candidate.description as usize];
            if found.iter().all(|&(c, _)| c != desc.concept) {
                found.push((desc.concept, desc.term));
                if found.len() == limit {
                    break;
                }
            }
        }
        found
    }
}

/// A concept's searchable terms: the preferred term, then synonyms.
pub(crate) fn terms(concept: &Concept) -> impl Iterator<Item = &str> {
    std::iter::once(concept.preferred.as_str()).chain(concept.synonyms.iter().map(String::as_str))
}

/// Term number `n` of a concept (0: preferred).
pub(crate) fn term_of(concept: &Concept, n: u32) -> &str {
    match n {
        0 => &concept.preferred,
        n => &concept.synonyms[n as usize - 1],
    }
}

fn distinct_words(words: &[u32], desc: &Description, out: &mut Vec<u32>) {
    out.clear();
    out.extend_from_slice(words_of(words, desc));
    out.sort_unstable();
    out.dedup();
}

fn words_of<'a>(words: &'a [u32], desc: &Description) -> &'a [u32] {
    &words[desc.word_start as usize..desc.word_start as usize + desc.word_count as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Category;

    /// Ranks every description: the answer both search paths must give.
    fn brute_force(index: &Index, query: &str, limit: usize) -> Vec<(u32, u32)> {
        let ranges: Vec<(u32, u32)> = tokenize(query)
            .iter()
            .map(|w| index.prefix_range(w))
            .collect();
        let whole: Vec<Option<u32>> = tokenize(query)
            .iter()
            .map(|w| {
                index
                    .vocabulary
                    .iter()
                    .position(|v| **v == **w)
                    .map(|p| p as u32)
            })
            .collect();
        let candidates = (0..index.descriptions.len() as u32)
            .filter_map(|d| {
                let key = index.rank(d, &ranges, &whole)?;
                Some(Candidate {
                    key,
                    description: d,
                })
            })
            .collect();
        index.best_per_concept(candidates, limit)
    }

    #[test]
    fn common_words_take_the_rank_order_path_with_the_same_answer() {
        let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"];
        let concepts: Vec<Concept> = (0..30_000u32)
            .map(|n| {
                let w = |k: u32| words[((n / 7u32.pow(k)) % 7) as usize];
                Concept {
                    id: n.to_string(),
                    fsn: String::new(),
                    preferred: format!("{} {} a{n}", w(0), w(1)),
                    synonyms: vec![format!("{} {}", w(2), w(0)), format!("a{}", n % 50)],
                    category: Category::Disorder,
                }
            })
            .collect();
        let index = Index::build(&concepts);
        for query in [
            "a",
            "a1",
            "al",
            "e",
            "eta",
            "alpha beta",
            "a alpha",
            "zeta a4",
            "b g",
        ] {
            for limit in [1, 10, 50] {
                assert_eq!(
                    index.search(query, 0, limit),
                    brute_force(&index, query, limit),
                    "{query} {limit}"
                );
            }
        }
    }
}
