//! Full-jitter exponential backoff: retry `n` (from 0) waits a uniform random time in
//! `0..=min(cap, base·2ⁿ)`, never past the caller's deadline.

use std::time::Duration;

use crate::rng::SplitMix64;

/// One retry class's backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
}

impl BackoffPolicy {
    /// The longest wait before retry `n` (from 0): `min(cap, base·2ⁿ)`, in microseconds.
    pub fn ceiling_us(&self, n: u32) -> u64 {
        let base = micros(self.base);
        let cap = micros(self.cap);
        if n >= 64 || base > cap >> n {
            cap
        } else {
            base << n
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The delays of one call's retries.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    rng: SplitMix64,
    attempts: u32,
}

impl Backoff {
    pub fn new(policy: BackoffPolicy, seed: u64) -> Self {
        Backoff {
            policy,
            rng: SplitMix64::new(seed),
            attempts: 1,
        }
    }

    /// Called after a failed attempt: how long to wait before the next one, or `None`
    /// when the attempts are used up or the wait would not end before the caller's
    /// deadline (`remaining`). The random draw happens either way, so a schedule does
    /// not depend on the deadlines seen along the way.
    pub fn next_delay(&mut self, remaining: Option<Duration>) -> Option<Duration> {
        if self.attempts >= self.policy.max_attempts {
            return None;
        }
        let n = self.attempts - 1;
        self.attempts += 1;
        let delay = self.rng.uniform(self.policy.ceiling_us(n));
        match remaining {
            Some(r) if u128::from(delay) >= r.as_micros() => None,
            _ => Some(Duration::from_micros(delay)),
        }
    }
}
