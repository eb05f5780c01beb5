//! A tiny deterministic random number generator (SplitMix64), so the same seed always
//! produces the same demo practice on every machine. Only integer arithmetic is used
//! for values that end up in records, so results never depend on the platform's libm.

#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// A generator for one item of a stream (for example patient `index` of dataset
    /// `seed`), independent of how many numbers earlier items drew.
    pub fn for_item(seed: u64, index: u64) -> Self {
        let mut mixer = Rng::new(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
        Rng::new(mixer.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift: unbiased enough for synthetic data and branch-free.
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u32) -> bool {
        self.below(100) < percent as u64
    }

    /// True with probability `per_mille` / 1000.
    pub fn per_mille(&mut self, per_mille: u32) -> bool {
        self.below(1000) < per_mille as u64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Roughly normal around `mean` with standard deviation `sd` (sum of four uniforms),
    /// in integer units (e.g. tenths of a kilogram).
    pub fn normal(&mut self, mean: i64, sd: i64) -> i64 {
        // Four uniforms in [0, 1) sum to mean 2, variance 1/3; scale to the wanted sd.
        let sum: i64 = (0..4).map(|_| self.below(1_000_000) as i64).sum();
        let centred = sum - 2_000_000; // variance (1e6)^2 / 3
        mean + centred * sd * 1732 / 1_000_000_000
    }

    /// 16 random bytes as a version-4 UUID (for `urn:uuid:` fullUrls).
    pub fn uuid(&mut self) -> uuid::Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = Rng::new(7);
        assert_eq!(a, (0..5).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert_ne!(
            Rng::for_item(1, 0).next_u64(),
            Rng::for_item(1, 1).next_u64()
        );
    }

    #[test]
    fn normal_has_roughly_the_asked_mean_and_spread() {
        let mut r = Rng::new(42);
        let xs: Vec<i64> = (0..20_000).map(|_| r.normal(1000, 100)).collect();
        let mean = xs.iter().sum::<i64>() / xs.len() as i64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<i64>() / xs.len() as i64;
        assert!((mean - 1000).abs() < 5, "mean {mean}");
        assert!((var - 10_000).abs() < 1_000, "variance {var}");
    }

    #[test]
    fn range_stays_in_bounds() {
        let mut r = Rng::new(3);
        for _ in 0..10_000 {
            let x = r.range(-2, 2);
            assert!((-2..=2).contains(&x));
        }
    }
}
