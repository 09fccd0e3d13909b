//! Exponential backoff with jitter: the ceiling of retry `n` (from 0) is
//! `min(cap, base·multiplierⁿ)`; full jitter waits a uniform random time in
//! `0..=ceiling`, never past the caller's deadline.

use std::time::Duration;

use crate::rng::SplitMix64;

/// How a wait is drawn under its ceiling `c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// `uniform(c)`: spreads retries the most (the default).
    Full,
    /// `c - c/2 + uniform(c/2)`: at least half the ceiling.
    Equal,
    /// Exactly `c`, no draw.
    None,
}

/// One retry policy's backoff settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// Growth between ceilings, at least 1; 2 is computed exactly in integers.
    pub multiplier: f64,
    pub jitter: Jitter,
}

impl BackoffPolicy {
    /// Full jitter, doubling: the shape of the built-in `standard` policy.
    pub fn doubling(base: Duration, cap: Duration, max_attempts: u32) -> Self {
        BackoffPolicy {
            base,
            cap,
            max_attempts,
            multiplier: 2.0,
            jitter: Jitter::Full,
        }
    }

    /// The longest wait before retry `n` (from 0): `min(cap, base·multiplierⁿ)`, in
    /// microseconds. A multiplier other than 2 is applied `n` times in IEEE doubles
    /// (the same operations in Go), stopping at the cap.
    pub fn ceiling_us(&self, n: u32) -> u64 {
        let base = micros(self.base);
        let cap = micros(self.cap);
        if self.multiplier == 2.0 {
            return if n >= 64 || base > cap >> n {
                cap
            } else {
                base << n
            };
        }
        let mut c = base as f64;
        for _ in 0..n {
            c *= self.multiplier;
            if c >= cap as f64 {
                return cap;
            }
        }
        (c as u64).min(cap)
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

    /// Attempts counted so far (the first included).
    pub fn attempts(&self) -> u32 {
        self.attempts
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
        let c = self.policy.ceiling_us(n);
        let delay = match self.policy.jitter {
            Jitter::Full => self.rng.uniform(c),
            Jitter::Equal => c - c / 2 + self.rng.uniform(c / 2),
            Jitter::None => c,
        };
        match remaining {
            Some(r) if u128::from(delay) >= r.as_micros() => None,
            _ => Some(Duration::from_micros(delay)),
        }
    }
}
