//! The runtime core generated sqlpact clients run on. Its semantics are stated once in
//! `docs/runtime.md`; the Go module under `runtime/go` follows the same text and passes
//! the same test vectors (`runtime/testdata/`).
//!
//! So far: the seeded random source and the full-jitter backoff schedule.

mod backoff;
mod rng;

pub use backoff::{Backoff, BackoffPolicy};
pub use rng::SplitMix64;
