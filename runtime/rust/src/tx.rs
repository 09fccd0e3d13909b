//! Transactions: a closure run in a transaction at a given isolation level, re-run as
//! a whole on a serialization failure or a deadlock, within its retry policy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant as TokioInstant;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};

use crate::backoff::{Backoff, BackoffPolicy};
use crate::classify::{Action, SendState};
use crate::db::{run_op, Db, Op, Out};
use crate::error::{Class, Error};
use crate::exec::{expect_rows, Executor, RetryPolicy, RowStream, Statement};
use crate::host::Cancel;
use crate::keyed::{self, Keyed};
use crate::observe::{Counters, Event};
use crate::prepared::Prepared;

/// How [`Db::transaction`] runs.
#[derive(Debug, Clone, Copy)]
pub struct TxOptions {
    pub isolation: IsolationLevel,
    pub read_only: bool,
    /// How often and how soon to re-run; default: the contract's `standard` policy.
    pub retry: Option<&'static RetryPolicy>,
    /// A deadline for the whole transaction, re-runs included.
    pub timeout: Option<Duration>,
}

impl Default for TxOptions {
    fn default() -> Self {
        TxOptions {
            isolation: IsolationLevel::ReadCommitted,
            read_only: false,
            retry: None,
            timeout: None,
        }
    }
}

impl TxOptions {
    /// Serializable isolation, the contract's `standard` re-run policy.
    pub fn serializable() -> Self {
        TxOptions {
            isolation: IsolationLevel::Serializable,
            ..TxOptions::default()
        }
    }
}

/// An open transaction: generated functions run on it like on a client. Each
/// statement keeps its own deadline; nothing is retried inside, the whole
/// transaction is.
pub struct Tx<'a> {
    tx: tokio_postgres::Transaction<'a>,
    broken: &'a AtomicBool,
    cancel: Cancel,
    prepared: Prepared,
}

impl Tx<'_> {
    /// The transaction itself, for statements outside the contract.
    pub fn transaction(&self) -> &tokio_postgres::Transaction<'_> {
        &self.tx
    }

    fn error(&self, st: &'static Statement, e: tokio_postgres::Error) -> Error {
        let replied = e.as_db_error().is_some();
        if !replied {
            self.broken.store(true, Ordering::Relaxed);
        }
        let sent = if replied {
            SendState::Replied
        } else {
            SendState::SentNoReply
        };
        Error::from_driver(e, sent, &st.context(true)).statement(st.name)
    }

    async fn run(&self, st: &'static Statement, op: Op<'_>) -> Result<Out, Error> {
        let work = async {
            if let Some(key) = st.idempotency {
                let Some((params, rows)) = op.keyed_params().filter(|(p, _)| key.param < p.len())
                else {
                    return Err(Error::new(Class::Other, Action::Fatal)
                        .statement(st.name)
                        .message("the idempotency key is not among the statement's parameters"));
                };
                let client = tokio_postgres::GenericClient::client(&self.tx);
                return match keyed::run(client, st, key, params, rows).await {
                    Ok(Keyed::Rows(r, _)) => Ok(op.rows_out(r)),
                    Ok(Keyed::Count(n, _)) => Ok(Out::Count(n)),
                    Ok(Keyed::Reused(owner)) => Err(Error::new(Class::Conflict, Action::Fatal)
                        .statement(st.name)
                        .message(format!(
                            "the idempotency key is already recorded for `{owner}`"
                        ))),
                    Err(e) => Err(self.error(st, e)),
                };
            }
            run_op(&self.tx, &self.prepared, true, st, &op)
                .await
                .map_err(|e| self.error(st, e))
        };
        match tokio::time::timeout(st.timeout, work).await {
            Ok(r) => r,
            Err(_) => {
                self.broken.store(true, Ordering::Relaxed);
                tokio::spawn((self.cancel)(self.tx.cancel_token()));
                Err(Error::new(Class::Timeout, Action::Fatal)
                    .statement(st.name)
                    .message(format!("deadline of {:?} passed", st.timeout)))
            }
        }
    }
}

crate::db::executor_via_run!(Tx<'_>);

const TX_NAME: &str = "transaction";

impl Db {
    /// Runs `f` in a transaction on the primary and commits. On a serialization
    /// failure or a deadlock (from any statement or the commit) the transaction is
    /// rolled back and `f` runs again, after the policy's backoff, while attempts,
    /// the deadline and the host's retry budget allow. `f` must therefore start from
    /// scratch on every call. Any other error rolls back and is returned; a commit
    /// whose reply is lost is ambiguous.
    pub async fn transaction<T, F>(&self, opts: TxOptions, mut f: F) -> Result<T, Error>
    where
        F: AsyncFnMut(&Tx<'_>) -> Result<T, Error>,
    {
        let s = self.shared();
        let policy = opts
            .retry
            .or_else(|| self.policies().retry_policy("standard"))
            .map_or(
                BackoffPolicy::doubling(Duration::from_millis(50), Duration::from_secs(1), 3),
                |r| r.backoff,
            );
        let mut backoff = Backoff::new(policy, s.next_seed());
        let deadline = opts.timeout.map(|t| TokioInstant::now() + t);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            // The deadline covers the connection wait too.
            let acquired = match deadline {
                Some(d) => tokio::time::timeout_at(d, self.acquire_primary(attempt == 1))
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::new(Class::Timeout, Action::Fatal)
                            .message("the transaction's deadline passed"))
                    }),
                None => self.acquire_primary(attempt == 1).await,
            };
            let (host, mut g) = match acquired {
                Ok(a) => a,
                Err(e) => return Err(s.fail_name(TX_NAME, e.statement(TX_NAME).attempts(attempt))),
            };
            let permit = g.permit;
            if attempt == 1 {
                host.budget_request(s.now_ms());
            }
            let broken = AtomicBool::new(false);
            let committing = AtomicBool::new(false);
            let cancel = g.cancel();
            let prepared = g.prepared();
            let rollback_limit = self.policies().pool.acquire_timeout;
            g.start();
            let work = async {
                let client = g.client_mut();
                let tx = client
                    .build_transaction()
                    .isolation_level(opts.isolation)
                    .read_only(opts.read_only)
                    .start()
                    .await
                    .map_err(|e| begin_error(e, &broken))?;
                let tx = Tx {
                    tx,
                    broken: &broken,
                    cancel,
                    prepared,
                };
                match f(&tx).await {
                    Ok(v) => {
                        committing.store(true, Ordering::Relaxed);
                        match tx.tx.commit().await {
                            Ok(()) => Ok(v),
                            Err(e) => Err(commit_error(e, &broken)),
                        }
                    }
                    Err(e) => {
                        // A broken connection is closed, which rolls back; a live one
                        // rolls back within a bound, never hanging on a dead network.
                        let rolled_back = !broken.load(Ordering::Relaxed)
                            && matches!(
                                tokio::time::timeout(rollback_limit, tx.tx.rollback()).await,
                                Ok(Ok(()))
                            );
                        if !rolled_back {
                            broken.store(true, Ordering::Relaxed);
                        }
                        Err(e)
                    }
                }
            };
            let result = match deadline {
                Some(d) => match tokio::time::timeout_at(d, work).await {
                    Ok(r) => r,
                    Err(_) => {
                        drop(g);
                        // A commit sent without its reply may have applied.
                        let action = if committing.load(Ordering::Relaxed) {
                            Action::Ambiguous
                        } else {
                            Action::Fatal
                        };
                        return Err(s.fail_name(
                            TX_NAME,
                            Error::new(Class::Timeout, action)
                                .attempts(attempt)
                                .message("the transaction's deadline passed"),
                        ));
                    }
                },
                None => work.await,
            };
            g.done(broken.load(Ordering::Relaxed));
            drop(g);
            let e = match result {
                Ok(v) => {
                    if permit {
                        host.breaker_success(s.now_ms());
                    }
                    return Ok(v);
                }
                Err(e) => e.attempts(attempt),
            };
            if e.action() != Action::RerunTransaction {
                return Err(s.fail_name(TX_NAME, e));
            }
            let remaining = deadline.map(|d| d.saturating_duration_since(TokioInstant::now()));
            let Some(delay) = backoff.next_delay(remaining) else {
                return Err(s.fail_name(TX_NAME, e));
            };
            if !host.budget_try_retry(s.now_ms(), e.class().as_str()) {
                return Err(s.fail_name(TX_NAME, e.exhausted()));
            }
            Counters::bump(&s.counters.transaction_reruns);
            s.counters.retry(e.class());
            s.emit(&Event::Retry {
                statement: TX_NAME,
                host: host.name(),
                class: e.class(),
                attempt,
                delay,
            });
            tokio::time::sleep(delay).await;
        }
    }
}

fn tx_context() -> crate::error::Context {
    crate::error::Context {
        in_transaction: true,
        idempotent: false,
        route: crate::classify::Route::Primary,
    }
}

fn begin_error(e: tokio_postgres::Error, broken: &AtomicBool) -> Error {
    // Nothing was applied yet: a lost BEGIN is safe to re-run.
    let replied = e.as_db_error().is_some();
    if !replied {
        broken.store(true, Ordering::Relaxed);
    }
    Error::from_driver(
        e,
        if replied {
            SendState::Replied
        } else {
            SendState::NotSent
        },
        &tx_context(),
    )
}

/// A COMMIT that failed with the server's answer (a serialization failure, a lock
/// timeout) rolled back and is decided like any statement of the transaction; one whose
/// connection was lost or whose session ended under it may have applied: ambiguous.
fn commit_error(e: tokio_postgres::Error, broken: &AtomicBool) -> Error {
    let replied = e.as_db_error().is_some();
    if !replied {
        broken.store(true, Ordering::Relaxed);
    }
    let err = Error::from_driver(
        e,
        if replied {
            SendState::Replied
        } else {
            SendState::SentNoReply
        },
        &tx_context(),
    );
    if matches!(err.class(), Class::Connection | Class::ServerShutdown) {
        err.ambiguous()
    } else {
        err
    }
}
