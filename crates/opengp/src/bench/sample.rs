//! A uniform random sample of a stream too long to keep (reservoir sampling), so reads
//! can pick any resource written without holding a million ids in memory.

use crate::demo::rng::Rng;

pub struct Reservoir<T> {
    items: Vec<T>,
    capacity: usize,
    seen: u64,
    rng: Rng,
}

impl<T> Reservoir<T> {
    pub fn new(capacity: usize, seed: u64) -> Self {
        Reservoir {
            items: Vec::with_capacity(capacity.min(1 << 20)),
            capacity: capacity.max(1),
            seen: 0,
            rng: Rng::new(seed),
        }
    }

    pub fn offer(&mut self, item: T) {
        self.seen += 1;
        if self.items.len() < self.capacity {
            self.items.push(item);
        } else {
            let slot = self.rng.below(self.seen) as usize;
            if slot < self.capacity {
                self.items[slot] = item;
            }
        }
    }

    pub fn into_items(self) -> Vec<T> {
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_capacity_and_samples_the_whole_stream() {
        let mut r = Reservoir::new(1_000, 1);
        for i in 0..100_000u32 {
            r.offer(i);
        }
        let items = r.into_items();
        assert_eq!(items.len(), 1_000);
        // A uniform sample of 0..100,000 has about half its items in the upper half.
        let upper = items.iter().filter(|i| **i >= 50_000).count();
        assert!((400..600).contains(&upper), "{upper}");
    }
}
