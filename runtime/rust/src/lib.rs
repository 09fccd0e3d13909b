//! The runtime core generated sqlpact clients run on. Its semantics are stated once in
//! `docs/runtime.md`; the Go module under `runtime/go` follows the same text and passes
//! the same test vectors (`runtime/testdata/`).
//!
//! Generated functions take `db: &impl Executor`. Pass a [`Db`] to run every statement
//! under the contract's policies (pool, deadline, retries with backoff, retry budget,
//! circuit breaker, routing, idempotency keys), a [`Tx`] inside
//! [`Db::transaction`], or a plain `tokio_postgres::Client` to send each statement
//! once, as is.
//!
//! ```no_run
//! # async fn demo(policies: &'static sqlpact_runtime::Policies) -> Result<(), sqlpact_runtime::Error> {
//! let db = sqlpact_runtime::Db::builder(policies)
//!     .host("host=db1 user=app dbname=app sslmode=verify-full sslrootcert=/etc/ssl/db-ca.pem")?
//!     .host("host=db2 user=app dbname=app sslmode=verify-full sslrootcert=/etc/ssl/db-ca.pem")?
//!     .build()
//!     .await?;
//! db.ready().await?;
//! # Ok(()) }
//! ```

mod backoff;
mod breaker;
mod budget;
mod classify;
mod db;
mod error;
mod exec;
mod host;
mod keyed;
mod lane;
mod observe;
mod prepared;
mod rng;
mod tally;
pub mod tls;
mod tx;
mod wire;

pub use backoff::{Backoff, BackoffPolicy, Jitter};
pub use breaker::{Breaker, BreakerConfig, BreakerState};
pub use budget::{is_contention, BudgetConfig, RetryBudget};
pub use classify::{classify, Action, Decision, Failure, FailureKind, Route, SendState};
pub use db::{Checkout, Db, DbBuilder, PooledClient};
pub use error::{error_chain, Class, Context, Error};
pub use exec::{
    expect_rows, BreakerPolicy, Executor, IdempotencyKey, Policies, PoolPolicy, ResultColumn,
    RetryPolicy, RowStream, Statement,
};
pub use keyed::IDEMPOTENCY_TABLE;
#[cfg(feature = "tracing")]
pub use observe::TracingObserver;
pub use observe::{Event, HostStats, Observer, Role, Stats};
pub use rng::SplitMix64;
pub use tokio_postgres::IsolationLevel;
pub use tx::{Tx, TxOptions};
pub use wire::{negotiate, NegotiationError, WireRange};
