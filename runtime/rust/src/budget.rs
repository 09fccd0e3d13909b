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
    requests: VecDeque<u64>,
    contention: VecDeque<u64>,
    outage: VecDeque<u64>,
}

/// Whether a retry of this class draws from the contention bucket.
pub fn is_contention(class: &str) -> bool {
    matches!(class, "serialization" | "deadlock" | "lock_not_available")
}

fn prune(q: &mut VecDeque<u64>, now_ms: u64, ttl_ms: u64) {
    while q.front().is_some_and(|t| t + ttl_ms <= now_ms) {
        q.pop_front();
    }
}

impl RetryBudget {
    pub fn new(cfg: BudgetConfig) -> Self {
        RetryBudget {
            cfg,
            requests: VecDeque::new(),
            contention: VecDeque::new(),
            outage: VecDeque::new(),
        }
    }

    /// Records a request (first attempts only).
    pub fn request(&mut self, now_ms: u64) {
        prune(&mut self.requests, now_ms, self.cfg.ttl_ms);
        self.requests.push_back(now_ms);
    }

    /// May a retry of an error of `class` go now? If so, it is counted. When not, the
    /// caller returns the original error marked as budget-exhausted.
    pub fn try_retry(&mut self, now_ms: u64, class: &str) -> bool {
        let ttl = self.cfg.ttl_ms;
        prune(&mut self.requests, now_ms, ttl);
        let requests = self.requests.len() as u64;
        let bucket = if is_contention(class) {
            &mut self.contention
        } else {
            &mut self.outage
        };
        prune(bucket, now_ms, ttl);
        let reserve = self.cfg.min_per_sec * ttl / 1000;
        let ok = (bucket.len() as u64 + 1) * 100 <= reserve * 100 + requests * self.cfg.percent;
        if ok {
            bucket.push_back(now_ms);
        }
        ok
    }
}
