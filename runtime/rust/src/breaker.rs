//! The circuit breaker of one host. It counts connect failures and timeouts only (the
//! failures the taxonomy marks `feeds_breaker`) and gates new connections and retries;
//! connections already healthy keep serving. Rules in `docs/runtime.md`; the Go module
//! follows the same rules (shared vectors in `runtime/testdata/breaker.json`).

use std::collections::VecDeque;

use crate::rng::SplitMix64;

/// Breaker settings; times in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open it.
    pub failure_threshold: u32,
    /// The first open delay; it doubles with every reopening, up to `max_open_ms`.
    pub open_for_ms: u64,
    pub max_open_ms: u64,
    /// The failure ratio is measured over this window...
    pub window_ms: u64,
    /// ...once it holds this many results...
    pub min_requests: u32,
    /// ...and opens the breaker at this percentage of failures.
    pub failure_percent: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open { until_ms: u64 },
    HalfOpen,
}

#[derive(Debug, Clone)]
pub struct Breaker {
    cfg: BreakerConfig,
    rng: SplitMix64,
    state: BreakerState,
    consecutive: u32,
    /// Results in the window, tallied per millisecond: (time, results, failures), with
    /// running totals, so that recording costs the same at any rate.
    window: VecDeque<(u64, u32, u32)>,
    results: u64,
    failures: u64,
    openings: u32,
    /// When the current half-open probe went.
    probe_at_ms: u64,
}

impl Breaker {
    pub fn new(cfg: BreakerConfig, seed: u64) -> Self {
        Breaker {
            cfg,
            rng: SplitMix64::new(seed),
            state: BreakerState::Closed,
            consecutive: 0,
            window: VecDeque::new(),
            results: 0,
            failures: 0,
            openings: 0,
            probe_at_ms: 0,
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// May a new connection or a retry go to this host now? After the open delay the
    /// breaker half-opens and lets one probe through (another once `open_for` passed
    /// without its result).
    pub fn allow(&mut self, now_ms: u64) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open { until_ms } if now_ms >= until_ms => {
                self.state = BreakerState::HalfOpen;
                self.probe_at_ms = now_ms;
                true
            }
            // A probe whose result never came (its caller gave up) is presumed lost
            // after `open_for`: this request becomes the probe.
            BreakerState::HalfOpen
                if now_ms >= self.probe_at_ms.saturating_add(self.cfg.open_for_ms) =>
            {
                self.probe_at_ms = now_ms;
                true
            }
            _ => false,
        }
    }

    pub fn record_success(&mut self, now_ms: u64) {
        match self.state {
            BreakerState::HalfOpen => {
                self.state = BreakerState::Closed;
                self.openings = 0;
                self.consecutive = 0;
                self.clear_window();
            }
            BreakerState::Closed => {
                self.consecutive = 0;
                self.prune(now_ms);
                self.tally(now_ms, 1, 0);
            }
            BreakerState::Open { .. } => {}
        }
    }

    /// `n` successes at `now_ms`, as `n` calls of [`Breaker::record_success`] would
    /// record them.
    pub fn record_successes(&mut self, now_ms: u64, n: u32) {
        if n == 0 {
            return;
        }
        self.record_success(now_ms);
        if n > 1 && self.state == BreakerState::Closed {
            self.tally(now_ms, n - 1, 0);
        }
    }

    /// Closed with no failure since the last success: a success changes nothing but
    /// the window's tally.
    pub fn is_clean(&self) -> bool {
        self.state == BreakerState::Closed && self.consecutive == 0
    }

    pub fn record_failure(&mut self, now_ms: u64) {
        match self.state {
            BreakerState::HalfOpen => self.trip(now_ms),
            BreakerState::Closed => {
                self.consecutive += 1;
                self.prune(now_ms);
                self.tally(now_ms, 1, 1);
                let ratio_trips = self.results >= u64::from(self.cfg.min_requests)
                    && self.failures * 100 >= u64::from(self.cfg.failure_percent) * self.results;
                if self.consecutive >= self.cfg.failure_threshold || ratio_trips {
                    self.trip(now_ms);
                }
            }
            BreakerState::Open { .. } => {}
        }
    }

    fn prune(&mut self, now_ms: u64) {
        while let Some(&(t, results, failures)) = self.window.front() {
            if t + self.cfg.window_ms > now_ms {
                break;
            }
            self.window.pop_front();
            self.results -= u64::from(results);
            self.failures -= u64::from(failures);
        }
    }

    fn tally(&mut self, now_ms: u64, results: u32, failures: u32) {
        // A clock that went backwards tallies into the latest millisecond.
        match self.window.back_mut() {
            Some((t, r, f)) if *t >= now_ms => {
                *r += results;
                *f += failures;
            }
            _ => self.window.push_back((now_ms, results, failures)),
        }
        self.results += u64::from(results);
        self.failures += u64::from(failures);
    }

    fn clear_window(&mut self) {
        self.window.clear();
        self.results = 0;
        self.failures = 0;
    }

    /// Opens for `open_for·2^k` (k: reopenings since it last closed), capped, with equal
    /// jitter: half the delay, plus a uniform draw of the other half.
    fn trip(&mut self, now_ms: u64) {
        let (base, cap, k) = (self.cfg.open_for_ms, self.cfg.max_open_ms, self.openings);
        let d = if k >= 64 || base > cap >> k {
            cap
        } else {
            base << k
        }
        .min(cap);
        let delay = d - d / 2 + self.rng.uniform(d / 2);
        self.state = BreakerState::Open {
            until_ms: now_ms + delay,
        };
        self.openings += 1;
        self.consecutive = 0;
        self.clear_window();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed breaker's ratio rule as first written: every result kept in a list.
    #[derive(Default)]
    struct Listed(Vec<(u64, bool)>);

    impl Listed {
        fn trips(&mut self, cfg: &BreakerConfig, now_ms: u64, failed: bool) -> bool {
            while self
                .0
                .first()
                .is_some_and(|(t, _)| t + cfg.window_ms <= now_ms)
            {
                self.0.remove(0);
            }
            self.0.push((now_ms, failed));
            let failures = self.0.iter().filter(|(_, f)| *f).count() as u64;
            let total = self.0.len() as u64;
            failed
                && total >= u64::from(cfg.min_requests)
                && failures * 100 >= u64::from(cfg.failure_percent) * total
        }
    }

    #[test]
    fn per_millisecond_tallies_trip_as_a_list_of_every_result_would() {
        let cfg = BreakerConfig {
            failure_threshold: u32::MAX,
            open_for_ms: 10,
            max_open_ms: 160,
            window_ms: 40,
            min_requests: 8,
            failure_percent: 50,
        };
        let mut rng = SplitMix64::new(5);
        let mut breaker = Breaker::new(cfg, 1);
        let mut listed = Listed::default();
        let mut now = 1_000u64;
        let mut trips = 0;
        for step in 0..20_000 {
            now = match rng.uniform(9) {
                0 => now.saturating_sub(rng.uniform(3)),
                1..=4 => now,
                _ => now + rng.uniform(4),
            };
            // Failures now more, now less often than the threshold.
            let failed = rng.uniform(99) < if (step / 500) % 2 == 0 { 30 } else { 60 };
            if failed {
                breaker.record_failure(now);
            } else {
                breaker.record_success(now);
            }
            let tripped = matches!(breaker.state(), BreakerState::Open { .. });
            assert_eq!(
                tripped,
                listed.trips(&cfg, now, failed),
                "step {step} at {now} ms"
            );
            if tripped {
                trips += 1;
                // Closed again with an empty window on both sides.
                breaker = Breaker::new(cfg, 1);
                listed = Listed::default();
            }
        }
        assert!(trips > 10, "the ratio tripped the breaker: {trips}");
    }
}
