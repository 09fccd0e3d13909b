//! SplitMix64 (Steele, Lea and Flood, 2014): a small seeded generator, implemented the
//! same way in Rust and Go so that one seed gives the same backoff delays in both.

/// The generator. Not for cryptography: it spreads retries, nothing more.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// A number in `0..=max`: the high 64 bits of `next * (max + 1)`.
    pub fn uniform(&mut self, max: u64) -> u64 {
        ((u128::from(self.next_u64()) * (u128::from(max) + 1)) >> 64) as u64
    }
}

/// The same sequence as [`SplitMix64`], drawn by many callers without a lock: each draw
/// advances the state by one step atomically.
#[derive(Debug)]
pub(crate) struct SharedSplitMix64 {
    state: std::sync::atomic::AtomicU64,
}

impl SharedSplitMix64 {
    pub fn new(from: SplitMix64) -> Self {
        SharedSplitMix64 {
            state: std::sync::atomic::AtomicU64::new(from.state),
        }
    }

    pub fn next_u64(&self) -> u64 {
        let before = self
            .state
            .fetch_add(GAMMA, std::sync::atomic::Ordering::Relaxed);
        mix(before.wrapping_add(GAMMA))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_generator_draws_the_same_sequence() {
        let mut plain = SplitMix64::new(7);
        let shared = SharedSplitMix64::new(SplitMix64::new(7));
        for _ in 0..1000 {
            assert_eq!(shared.next_u64(), plain.next_u64());
        }
    }
}
