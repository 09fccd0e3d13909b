//! The seam between generated code and whatever runs its statements: the contract's
//! statements and policies as static data, and the `Executor` trait. Generated
//! functions call only `Executor`; it is implemented for plain tokio-postgres
//! clients and transactions (each statement sent once, as is), for deadpool-postgres
//! pooled clients, and for the runtime's [`Db`](crate::Db) and [`Tx`](crate::Tx),
//! which apply the policies.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, TryStreamExt};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::backoff::BackoffPolicy;
use crate::classify::{Route, SendState};
use crate::error::{Context, Error};

/// A named retry policy of the contract.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub name: &'static str,
    pub backoff: BackoffPolicy,
}

/// A query whose writes are recorded under an idempotency key: the runtime stores the
/// key and the result in the same transaction, and a replay returns the stored
/// result without running the statement again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The parameter holding the key, 0-based.
    pub param: usize,
    /// The parameter's PostgreSQL type (`text`, `uuid`).
    pub param_type: &'static str,
    /// The result columns, to store and restore rows exactly.
    pub columns: &'static [ResultColumn],
}

/// One result column: its name and PostgreSQL type (`int8`, `text[]`, `public.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultColumn {
    pub name: &'static str,
    pub pg_type: &'static str,
}

/// One query of the contract and the policy it runs under.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statement {
    /// The query's name in the contract.
    pub name: &'static str,
    /// `one`, `many`, `exec`, `execrows`, `execresult`, `copyfrom`, `batchexec`,
    /// `batchone` or `batchmany`.
    pub command: &'static str,
    /// The SQL sent to the server, parameters as `$1..$n`.
    pub sql: &'static str,
    /// The statement changes no data.
    pub read_only: bool,
    /// Running it twice has the effect of running it once.
    pub idempotent: bool,
    pub route: Route,
    /// The deadline of one call, retries and waits included.
    pub timeout: Duration,
    pub retry: &'static RetryPolicy,
    /// Set when the contract records this write under an idempotency key.
    pub idempotency: Option<&'static IdempotencyKey>,
    /// Affecting no row is a [`Class::Conflict`](crate::Class::Conflict) error
    /// (optimistic concurrency).
    pub expect_one_row: bool,
}

impl Statement {
    /// Safe to send again after its reply was lost: idempotent, or keyed.
    pub fn replay_safe(&self) -> bool {
        self.idempotent || self.idempotency.is_some()
    }

    pub(crate) fn context(&self, in_transaction: bool) -> Context {
        Context {
            in_transaction,
            idempotent: self.replay_safe(),
            route: self.route,
        }
    }
}

/// Pool limits of the contract, per host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolPolicy {
    pub max_size: u32,
    pub min_idle: u32,
    /// How long a caller waits for a connection; never unbounded.
    pub acquire_timeout: Duration,
    /// Idle connections older than this are closed (down to `min_idle`).
    pub idle_timeout: Duration,
    /// Connections older than this plus a random share of `lifetime_jitter` are
    /// replaced.
    pub max_lifetime: Duration,
    pub lifetime_jitter: Duration,
}

/// Circuit breaker settings of the contract, per host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    pub failure_threshold: u32,
    pub open_for: Duration,
}

/// The contract's resolved policy table, as generated code embeds it.
#[derive(Debug, Clone, Copy)]
pub struct Policies {
    pub contract: &'static str,
    pub version: &'static str,
    pub pool: PoolPolicy,
    pub breaker: BreakerPolicy,
    /// Every named retry policy; `standard` among them.
    pub retry: &'static [&'static RetryPolicy],
    /// Every statement, in registry order.
    pub statements: &'static [&'static Statement],
}

impl Policies {
    /// The retry policy named `name`.
    pub fn retry_policy(&self, name: &str) -> Option<&'static RetryPolicy> {
        self.retry.iter().copied().find(|r| r.name == name)
    }
}

/// Rows of a query, decoded as they arrive.
pub type RowStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

/// Where every statement of the generated functions goes.
pub trait Executor: Sync {
    /// Runs `st`; all its rows.
    fn query(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;

    /// Runs `st`; its row if there is one.
    fn query_opt(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send;

    /// Runs `st`; the rows as they arrive.
    fn query_stream(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream<Row>, Error>> + Send;

    /// Runs `st`; the number of rows it affected.
    fn execute(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Loads `rows` with `copy` (a `COPY ... FROM STDIN BINARY`), typed by the
    /// parameters of `st`; the number of rows written.
    fn copy_in<'a, R: AsRef<[&'a (dyn ToSql + Sync)]> + Sync>(
        &self,
        st: &'static Statement,
        copy: &'static str,
        rows: &[R],
    ) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Runs `st`; its one row, or a [`Class::NotFound`](crate::Class::NotFound) error.
    fn query_one(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Row, Error>> + Send {
        async move {
            self.query_opt(st, params)
                .await?
                .ok_or_else(|| Error::not_found(st.name))
        }
    }
}

/// Checks a write declared to affect one row: none is a conflict.
pub fn expect_rows(st: &'static Statement, n: u64) -> Result<u64, Error> {
    if st.expect_one_row && n == 0 {
        Err(Error::conflict(st.name))
    } else {
        Ok(n)
    }
}

fn driver(st: &'static Statement, in_tx: bool) -> impl Fn(tokio_postgres::Error) -> Error {
    move |e| Error::from_driver(e, SendState::SentNoReply, &st.context(in_tx)).statement(st.name)
}

/// A domain's base type: a domain is copied as its base, the binary format is the same.
pub(crate) fn base_type(ty: &postgres_types::Type) -> &postgres_types::Type {
    match ty.kind() {
        postgres_types::Kind::Domain(base) => base_type(base),
        _ => ty,
    }
}

pub(crate) async fn copy_rows(
    c: &tokio_postgres::Client,
    stmt: &tokio_postgres::Statement,
    copy: &'static str,
    rows: &[&[&(dyn ToSql + Sync)]],
) -> Result<u64, tokio_postgres::Error> {
    let types: Vec<postgres_types::Type> =
        stmt.params().iter().map(|t| base_type(t).clone()).collect();
    let sink = c.copy_in(copy).await?;
    let writer = tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    for row in rows {
        writer.as_mut().write(row).await?;
    }
    writer.finish().await
}

/// `Executor` for a type that implements `tokio_postgres::GenericClient`: each
/// statement sent once, as is; `$in_tx` says whether it runs in a transaction.
macro_rules! executor_for_generic_client {
    ($($ty:ty => $in_tx:expr),*) => {$(
impl Executor for $ty {
    async fn query(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        tokio_postgres::GenericClient::query(self, st.sql, params)
            .await
            .map_err(driver(st, $in_tx))
    }

    async fn query_opt(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        tokio_postgres::GenericClient::query_opt(self, st.sql, params)
            .await
            .map_err(driver(st, $in_tx))
    }

    async fn query_stream(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<RowStream<Row>, Error> {
        let rows = tokio_postgres::GenericClient::query_raw(self, st.sql, params.iter().copied())
            .await
            .map_err(driver(st, $in_tx))?;
        Ok(Box::pin(rows.map_err(driver(st, $in_tx))))
    }

    async fn execute(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error> {
        let n = tokio_postgres::GenericClient::execute(self, st.sql, params)
            .await
            .map_err(driver(st, $in_tx))?;
        expect_rows(st, n)
    }

    async fn copy_in<'a, R: AsRef<[&'a (dyn ToSql + Sync)]> + Sync>(
        &self,
        st: &'static Statement,
        copy: &'static str,
        rows: &[R],
    ) -> Result<u64, Error> {
        let rows: Vec<&[&(dyn ToSql + Sync)]> = rows.iter().map(|r| r.as_ref()).collect();
        let copy_in = async {
            let stmt = tokio_postgres::GenericClient::prepare(self, st.sql).await?;
            copy_rows(tokio_postgres::GenericClient::client(self), &stmt, copy, &rows).await
        };
        copy_in.await.map_err(driver(st, $in_tx))
    }
}
    )*};
}

executor_for_generic_client!(
    tokio_postgres::Client => false,
    tokio_postgres::Transaction<'_> => true
);

/// `Executor` for a deadpool-postgres pooled client: the client's own.
impl Executor for deadpool_postgres::Object {
    async fn query(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        let c: &tokio_postgres::Client = self;
        Executor::query(c, st, params).await
    }

    async fn query_opt(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        let c: &tokio_postgres::Client = self;
        Executor::query_opt(c, st, params).await
    }

    async fn query_stream(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<RowStream<Row>, Error> {
        let c: &tokio_postgres::Client = self;
        Executor::query_stream(c, st, params).await
    }

    async fn execute(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error> {
        let c: &tokio_postgres::Client = self;
        Executor::execute(c, st, params).await
    }

    async fn copy_in<'a, R: AsRef<[&'a (dyn ToSql + Sync)]> + Sync>(
        &self,
        st: &'static Statement,
        copy: &'static str,
        rows: &[R],
    ) -> Result<u64, Error> {
        let c: &tokio_postgres::Client = self;
        Executor::copy_in(c, st, copy, rows).await
    }
}
