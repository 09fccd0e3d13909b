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
    /// Results in the window: (time, failed).
    window: VecDeque<(u64, bool)>,
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
                self.window.clear();
            }
            BreakerState::Closed => {
                self.consecutive = 0;
                self.prune(now_ms);
                self.window.push_back((now_ms, false));
            }
            BreakerState::Open { .. } => {}
        }
    }

    pub fn record_failure(&mut self, now_ms: u64) {
        match self.state {
            BreakerState::HalfOpen => self.trip(now_ms),
            BreakerState::Closed => {
                self.consecutive += 1;
                self.prune(now_ms);
                self.window.push_back((now_ms, true));
                let failed = self.window.iter().filter(|(_, f)| *f).count() as u64;
                let total = self.window.len() as u64;
                let ratio_trips = total >= u64::from(self.cfg.min_requests)
                    && failed * 100 >= u64::from(self.cfg.failure_percent) * total;
                if self.consecutive >= self.cfg.failure_threshold || ratio_trips {
                    self.trip(now_ms);
                }
            }
            BreakerState::Open { .. } => {}
        }
    }

    fn prune(&mut self, now_ms: u64) {
        while self
            .window
            .front()
            .is_some_and(|(t, _)| t + self.cfg.window_ms <= now_ms)
        {
            self.window.pop_front();
        }
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
        self.window.clear();
    }
}
