//! The retry budget of one host: retries may use `percent` of the requests of the last
//! `ttl_ms`, plus a reserve of `min_per_sec` per second of that window. Contention
//! retries (serialization, deadlock, lock) and outage retries (everything else) draw
//! from separate buckets, so an outage cannot starve contention retries or the other
//! way round. Rules in `docs/runtime.md`; the Go module follows them (shared vectors in
//! `runtime/testdata/budget.json`).

use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetConfig {
    pub percent: u64,
    pub min_per_sec: u64,
    pub ttl_ms: u64,
}

impl Default for BudgetConfig {
    /// 20% of requests plus 10 per second, over 10 s.
    fn default() -> Self {
        BudgetConfig {
            percent: 20,
            min_per_sec: 10,
            ttl_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RetryBudget {
    cfg: BudgetConfig,
    requests: Tally,
    contention: Tally,
    outage: Tally,
}

/// Events of the last `ttl_ms`, counted per millisecond with a running total, so that
/// recording costs the same at any rate.
#[derive(Debug, Clone, Default)]
struct Tally {
    per_ms: VecDeque<(u64, u64)>,
    total: u64,
}

impl Tally {
    fn prune(&mut self, now_ms: u64, ttl_ms: u64) {
        while let Some(&(t, n)) = self.per_ms.front() {
            if t + ttl_ms > now_ms {
                break;
            }
            self.per_ms.pop_front();
            self.total -= n;
        }
    }

    fn add(&mut self, now_ms: u64, n: u64) {
        // A clock that went backwards counts into the latest millisecond.
        match self.per_ms.back_mut() {
            Some((t, c)) if *t >= now_ms => *c += n,
            _ => self.per_ms.push_back((now_ms, n)),
        }
        self.total += n;
    }
}

/// Whether a retry of this class draws from the contention bucket.
pub fn is_contention(class: &str) -> bool {
    matches!(class, "serialization" | "deadlock" | "lock_not_available")
}

impl RetryBudget {
    pub fn new(cfg: BudgetConfig) -> Self {
        RetryBudget {
            cfg,
            requests: Tally::default(),
            contention: Tally::default(),
            outage: Tally::default(),
        }
    }

    /// Records a request (first attempts only).
    pub fn request(&mut self, now_ms: u64) {
        self.requests_n(now_ms, 1);
    }

    /// Records `n` requests at `now_ms`.
    pub fn requests_n(&mut self, now_ms: u64, n: u32) {
        self.requests.prune(now_ms, self.cfg.ttl_ms);
        self.requests.add(now_ms, u64::from(n));
    }

    /// May a retry of an error of `class` go now? If so, it is counted. When not, the
    /// caller returns the original error marked as budget-exhausted.
    pub fn try_retry(&mut self, now_ms: u64, class: &str) -> bool {
        let ttl = self.cfg.ttl_ms;
        self.requests.prune(now_ms, ttl);
        let requests = self.requests.total;
        let bucket = if is_contention(class) {
            &mut self.contention
        } else {
            &mut self.outage
        };
        bucket.prune(now_ms, ttl);
        let reserve = self.cfg.min_per_sec * ttl / 1000;
        let ok = (bucket.total + 1) * 100 <= reserve * 100 + requests * self.cfg.percent;
        if ok {
            bucket.add(now_ms, 1);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// The budget as first written: every event kept in a list.
    struct Listed {
        cfg: BudgetConfig,
        requests: Vec<u64>,
        buckets: [Vec<u64>; 2],
    }

    impl Listed {
        fn prune(q: &mut Vec<u64>, now_ms: u64, ttl: u64) {
            while q.first().is_some_and(|t| t + ttl <= now_ms) {
                q.remove(0);
            }
        }

        fn request(&mut self, now_ms: u64) {
            Self::prune(&mut self.requests, now_ms, self.cfg.ttl_ms);
            self.requests.push(now_ms);
        }

        fn try_retry(&mut self, now_ms: u64, class: &str) -> bool {
            let ttl = self.cfg.ttl_ms;
            Self::prune(&mut self.requests, now_ms, ttl);
            let requests = self.requests.len() as u64;
            let bucket = &mut self.buckets[usize::from(is_contention(class))];
            Self::prune(bucket, now_ms, ttl);
            let reserve = self.cfg.min_per_sec * ttl / 1000;
            let ok = (bucket.len() as u64 + 1) * 100 <= reserve * 100 + requests * self.cfg.percent;
            if ok {
                bucket.push(now_ms);
            }
            ok
        }
    }

    #[test]
    fn per_millisecond_tallies_decide_as_a_list_of_every_event_would() {
        let cfg = BudgetConfig {
            percent: 20,
            min_per_sec: 1,
            ttl_ms: 50,
        };
        let mut rng = SplitMix64::new(3);
        let (mut tallied, mut listed) = (
            RetryBudget::new(cfg),
            Listed {
                cfg,
                requests: Vec::new(),
                buckets: [Vec::new(), Vec::new()],
            },
        );
        let mut now = 1_000u64;
        for step in 0..20_000 {
            // Mostly forward, several events per millisecond, now and then backwards.
            now = match rng.uniform(9) {
                0 => now.saturating_sub(rng.uniform(3)),
                1..=4 => now,
                _ => now + rng.uniform(4),
            };
            if rng.uniform(2) == 0 {
                tallied.request(now);
                listed.request(now);
            } else {
                let class = ["serialization", "connection"][rng.uniform(1) as usize];
                assert_eq!(
                    tallied.try_retry(now, class),
                    listed.try_retry(now, class),
                    "step {step} at {now} ms"
                );
            }
        }
    }
}
