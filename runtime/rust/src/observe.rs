//! What the runtime tells the outside: events for an observer hook, and a stats
//! snapshot. The Go module has the same events and the same snapshot fields.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::breaker::BreakerState;
use crate::error::Class;

/// The role of a host, as `pg_is_in_recovery()` last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Not known yet, or unreachable since.
    Unknown,
    Primary,
    Replica,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Unknown => "unknown",
            Role::Primary => "primary",
            Role::Replica => "replica",
        }
    }
}

/// Something the runtime did.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An attempt of a statement starts on a host (`attempt` from 1).
    Attempt {
        statement: &'a str,
        host: &'a str,
        attempt: u32,
    },
    /// An attempt failed and the statement will run again after `delay`.
    Retry {
        statement: &'a str,
        host: &'a str,
        class: Class,
        attempt: u32,
        delay: Duration,
    },
    /// A call failed for good.
    Failed {
        statement: &'a str,
        class: Class,
        attempts: u32,
        ambiguous: bool,
        budget_exhausted: bool,
    },
    /// A keyed write was replayed: its stored result was returned.
    Replayed { statement: &'a str },
    /// A host's circuit breaker changed state.
    Breaker { host: &'a str, state: BreakerState },
    /// A host's role changed.
    Role { host: &'a str, role: Role },
    /// A connection was opened.
    ConnectionOpened { host: &'a str },
    /// A connection was closed by the runtime (`reason`: `expired`, `idle`,
    /// `evicted`, `broken`, `canceled`).
    ConnectionClosed { host: &'a str, reason: &'a str },
    /// A caller waited longer than the acquire timeout for a connection.
    AcquireTimeout { host: &'a str },
}

/// Receives every runtime event. Called inline: keep it quick and never block.
pub trait Observer: Send + Sync + 'static {
    fn on_event(&self, event: &Event<'_>);
}

/// Writes every event as a `tracing` event (target `sqlpact`): retries, failures and
/// breaker changes at `WARN`, the rest at `DEBUG`.
#[cfg(feature = "tracing")]
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingObserver;

#[cfg(feature = "tracing")]
impl Observer for TracingObserver {
    fn on_event(&self, event: &Event<'_>) {
        match *event {
            Event::Attempt {
                statement,
                host,
                attempt,
            } => tracing::debug!(target: "sqlpact", statement, host, attempt, "attempt"),
            Event::Retry {
                statement,
                host,
                class,
                attempt,
                delay,
            } => tracing::warn!(
                target: "sqlpact",
                statement,
                host,
                class = class.as_str(),
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retry"
            ),
            Event::Failed {
                statement,
                class,
                attempts,
                ambiguous,
                budget_exhausted,
            } => tracing::warn!(
                target: "sqlpact",
                statement,
                class = class.as_str(),
                attempts,
                ambiguous,
                budget_exhausted,
                "failed"
            ),
            Event::Replayed { statement } => {
                tracing::debug!(target: "sqlpact", statement, "replayed")
            }
            Event::Breaker { host, state } => {
                tracing::warn!(target: "sqlpact", host, state = ?state, "breaker")
            }
            Event::Role { host, role } => {
                tracing::info!(target: "sqlpact", host, role = role.as_str(), "role")
            }
            Event::ConnectionOpened { host } => {
                tracing::debug!(target: "sqlpact", host, "connection opened")
            }
            Event::ConnectionClosed { host, reason } => {
                tracing::debug!(target: "sqlpact", host, reason, "connection closed")
            }
            Event::AcquireTimeout { host } => {
                tracing::warn!(target: "sqlpact", host, "acquire timeout")
            }
        }
    }
}

/// A snapshot of the runtime's state and counters since it started.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub hosts: Vec<HostStats>,
    /// Calls of statements (not attempts).
    pub calls: u64,
    /// Attempts, first ones included.
    pub attempts: u64,
    /// Retries by class code.
    pub retries: BTreeMap<&'static str, u64>,
    /// Calls that failed for good, by class code.
    pub failures: BTreeMap<&'static str, u64>,
    /// Failures whose outcome is unknown.
    pub ambiguous: u64,
    /// Failures returned early because the retry budget was empty.
    pub budget_exhausted: u64,
    /// Keyed writes answered from their stored result.
    pub replays: u64,
    /// Transactions re-run after a serialization failure or deadlock.
    pub transaction_reruns: u64,
    /// Connections handed out, and those that had to wait for one.
    pub acquires: u64,
    pub acquire_waits: u64,
    pub acquire_timeouts: u64,
}

/// One host in a [`Stats`] snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct HostStats {
    pub name: String,
    pub role: Role,
    pub breaker: BreakerState,
    /// Connections open, idle, and callers waiting for one.
    pub size: usize,
    pub idle: usize,
    pub waiting: usize,
    pub max_size: usize,
    /// Open connections held out of the pool for reads to share (counted in `size`,
    /// not in `idle`).
    pub shared: usize,
}

type ByClass = BTreeMap<&'static str, u64>;

#[derive(Default)]
pub(crate) struct Counters {
    pub calls: AtomicU64,
    pub attempts: AtomicU64,
    pub ambiguous: AtomicU64,
    pub budget_exhausted: AtomicU64,
    pub replays: AtomicU64,
    pub transaction_reruns: AtomicU64,
    pub acquires: AtomicU64,
    pub acquire_waits: AtomicU64,
    pub acquire_timeouts: AtomicU64,
    /// Retries and failures by class code.
    pub by_class: Mutex<(ByClass, ByClass)>,
}

impl Counters {
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn retry(&self, class: Class) {
        let mut g = self.by_class.lock().unwrap_or_else(|p| p.into_inner());
        *g.0.entry(class.as_str()).or_default() += 1;
    }

    pub fn failure(&self, class: Class) {
        let mut g = self.by_class.lock().unwrap_or_else(|p| p.into_inner());
        *g.1.entry(class.as_str()).or_default() += 1;
    }

    pub fn snapshot(&self, hosts: Vec<HostStats>) -> Stats {
        let g = self.by_class.lock().unwrap_or_else(|p| p.into_inner());
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            hosts,
            calls: l(&self.calls),
            attempts: l(&self.attempts),
            retries: g.0.clone(),
            failures: g.1.clone(),
            ambiguous: l(&self.ambiguous),
            budget_exhausted: l(&self.budget_exhausted),
            replays: l(&self.replays),
            transaction_reruns: l(&self.transaction_reruns),
            acquires: l(&self.acquires),
            acquire_waits: l(&self.acquire_waits),
            acquire_timeouts: l(&self.acquire_timeouts),
        }
    }
}
