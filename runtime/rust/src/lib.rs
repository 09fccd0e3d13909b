//! The runtime core generated sqlpact clients run on. Its semantics are stated once in
//! `docs/runtime.md`; the Go module under `runtime/go` follows the same text and passes
//! the same test vectors (`runtime/testdata/`).
//!
//! So far: the seeded random source, the full-jitter backoff schedule, the error
//! taxonomy, the circuit breaker and the retry budget.

mod backoff;
mod breaker;
mod budget;
mod classify;
mod rng;

pub use backoff::{Backoff, BackoffPolicy};
pub use breaker::{Breaker, BreakerConfig, BreakerState};
pub use budget::{is_contention, BudgetConfig, RetryBudget};
pub use classify::{classify, Action, Decision, Failure, FailureKind, Route, SendState};
pub use rng::SplitMix64;
