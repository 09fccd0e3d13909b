//! The runtime's entry point: `Db`, a set of hosts with their pools, running every
//! statement under its contract policy (deadline, retries with backoff, budget,
//! breaker, routing). Semantics in `docs/runtime.md`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use tokio::time::Instant as TokioInstant;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Socket};

use crate::backoff::Backoff;
use crate::breaker::{BreakerConfig, BreakerState};
use crate::budget::BudgetConfig;
use crate::classify::{classify, Action, Failure, FailureKind, Route, SendState};
use crate::error::{driver_kind, Class, Error};
use crate::exec::{copy_rows, expect_rows, Executor, Policies, RowStream, Statement};
use crate::host::{
    transport, Cancel, ConnectError, Host, HostSettings, Object, Transport, CONNECT_PERMIT,
};
use crate::keyed::{self, Keyed};
use crate::lane::Pick;
use crate::observe::{Counters, Event, HostStats, Observer, Role, Stats};
use crate::prepared::{Prepared, Session};
use crate::rng::SplitMix64;

/// Builds a [`Db`] from the contract's policies and a list of hosts.
pub struct DbBuilder {
    policies: &'static Policies,
    hosts: Vec<(tokio_postgres::Config, crate::tls::TlsOptions)>,
    seed: u64,
    observer: Option<Arc<dyn Observer>>,
    budget: BudgetConfig,
    ping_after: Duration,
    maintenance_every: Duration,
    transport: Option<Transport>,
}

impl DbBuilder {
    /// Opens every host's connections through `tls` (for example `postgres-openssl`'s
    /// `MakeTlsConnector`), which then decides what to verify. Without it each host's
    /// connection string says, as in libpq (see [`crate::tls`]): `sslmode`
    /// (`disable`, `prefer` by default, `require`, `verify-ca`, `verify-full`),
    /// `sslrootcert`, `sslcert` and `sslkey`, served by rustls.
    pub fn tls<T>(mut self, tls: T) -> Self
    where
        T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
        T::Stream: Send + 'static,
        T::TlsConnect: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        self.transport = Some(transport(tls));
        self
    }

    /// Adds a host, as a libpq-style connection string (`host=db1 user=app dbname=app`
    /// or `postgresql://app@db1/app`). The first host given is tried first.
    pub fn host(mut self, conn: &str) -> Result<Self, Error> {
        let invalid = |e: String| {
            Error::new(Class::Other, Action::Fatal)
                .message(format!("invalid connection string: {e}"))
        };
        let (rest, tls) = crate::tls::split(conn).map_err(invalid)?;
        // The driver's message is "invalid connection string"; the reason is its source.
        let cfg: tokio_postgres::Config = rest.parse().map_err(|e: tokio_postgres::Error| {
            let chain = crate::error::error_chain(&e);
            invalid(
                chain
                    .strip_prefix("invalid connection string: ")
                    .unwrap_or(&chain)
                    .to_owned(),
            )
        })?;
        self.hosts.push((cfg, tls));
        Ok(self)
    }

    /// Adds a host from a parsed configuration (TLS as its `sslmode` says, without
    /// certificate checks; name a CA with [`DbBuilder::host`]'s `sslrootcert`).
    pub fn host_config(mut self, cfg: tokio_postgres::Config) -> Self {
        let tls = crate::tls::TlsOptions::of_config(&cfg);
        self.hosts.push((cfg, tls));
        self
    }

    /// Seeds the random source of backoff, breaker and lifetime jitter (default:
    /// from the clock). The same seed gives the same delays in Rust and Go.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Receives every runtime event.
    pub fn observer(mut self, o: Arc<dyn Observer>) -> Self {
        self.observer = Some(o);
        self
    }

    /// The retry budget per host (default: 20% of requests plus 10/s over 10 s).
    pub fn retry_budget(mut self, b: BudgetConfig) -> Self {
        self.budget = b;
        self
    }

    /// A connection idle this long is pinged before it is handed out (default 5 s).
    pub fn ping_after_idle(mut self, d: Duration) -> Self {
        self.ping_after = d;
        self
    }

    /// How often idle connections are checked and `min_idle` restored (default 1 s).
    pub fn maintenance_every(mut self, d: Duration) -> Self {
        self.maintenance_every = d;
        self
    }

    /// Creates the pools, learns the hosts' roles (without failing when none
    /// answers: [`Db::ready`] says when a primary is reachable) and starts the
    /// maintenance task. Must run inside a Tokio runtime.
    pub async fn build(self) -> Result<Db, Error> {
        if self.hosts.is_empty() {
            return Err(Error::new(Class::NoHost, Action::Fatal)
                .message("no host configured: call `host(...)` at least once"));
        }
        let p = self.policies;
        let breaker = BreakerConfig {
            failure_threshold: p.breaker.failure_threshold.max(1),
            open_for_ms: millis(p.breaker.open_for),
            max_open_ms: millis(p.breaker.open_for).saturating_mul(16),
            window_ms: 10_000,
            min_requests: 20,
            failure_percent: 50,
        };
        let mut seeds = SplitMix64::new(self.seed);
        let mut hosts = Vec::with_capacity(self.hosts.len());
        for (cfg, tls) in self.hosts {
            let transport = match &self.transport {
                Some(t) => t.clone(),
                None => match tls.connector() {
                    Ok(Some(c)) => transport(c),
                    Ok(None) => transport(NoTls),
                    Err(m) => {
                        return Err(Error::new(Class::Other, Action::Fatal)
                            .message(format!("host {}: {m}", crate::host::host_name(&cfg))))
                    }
                },
            };
            let settings = HostSettings {
                policy: p.pool,
                breaker,
                budget: self.budget,
                ping_after: self.ping_after,
                seed: seeds.next_u64(),
                observer: self.observer.clone(),
                transport,
            };
            let host = Host::new(cfg, &settings).map_err(|m| {
                Error::new(Class::Other, Action::Fatal).message(format!("pool: {m}"))
            })?;
            hosts.push(Arc::new(host));
        }
        let shared = Arc::new(Shared {
            policies: p,
            hosts,
            epoch: TokioInstant::now(),
            seeds: crate::rng::SharedSplitMix64::new(seeds),
            observer: self.observer,
            counters: Counters::default(),
            next_replica: AtomicUsize::new(0),
            refresh: tokio::sync::Mutex::new(()),
        });
        let weak = Arc::downgrade(&shared);
        let every = self.maintenance_every;
        let task = tokio::spawn(maintenance(weak, every));
        let db = Db {
            shared,
            _task: Arc::new(TaskGuard(task)),
        };
        db.shared.refresh_roles().await;
        Ok(db)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn maintenance(shared: Weak<Shared>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(s) = shared.upgrade() else { return };
        for h in &s.hosts {
            h.maintain().await;
        }
    }
}

struct TaskGuard(tokio::task::JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The runtime: pools over several hosts, every statement run under its policy.
/// Cheap to clone; clones share pools, breakers and budgets.
#[derive(Clone)]
pub struct Db {
    shared: Arc<Shared>,
    _task: Arc<TaskGuard>,
}

/// Shows the contract and each host's name, role and breaker: never a password.
impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct HostView<'a>(&'a Host);
        impl std::fmt::Debug for HostView<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("Host")
                    .field("name", &self.0.name())
                    .field("role", &self.0.role())
                    .field("breaker", &self.0.breaker_state())
                    .finish()
            }
        }
        let s = &self.shared;
        f.debug_struct("Db")
            .field("contract", &s.policies.contract)
            .field("version", &s.policies.version)
            .field(
                "hosts",
                &s.hosts.iter().map(|h| HostView(h)).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Shows each host's settings with the password masked, as `tokio_postgres::Config`'s
/// own `Debug` does.
impl std::fmt::Debug for DbBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbBuilder")
            .field("contract", &self.policies.contract)
            .field("hosts", &self.hosts)
            .field("seed", &self.seed)
            .field("observer", &self.observer.is_some())
            .field("custom_tls", &self.transport.is_some())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    policies: &'static Policies,
    hosts: Vec<Arc<Host>>,
    /// The origin of the breaker's and the budget's milliseconds, on tokio's clock like
    /// the deadlines (one clock, also when an application's tests pause it).
    epoch: TokioInstant,
    seeds: crate::rng::SharedSplitMix64,
    observer: Option<Arc<dyn Observer>>,
    pub counters: Counters,
    next_replica: AtomicUsize,
    refresh: tokio::sync::Mutex<()>,
}

/// What one attempt asks of a connection.
pub(crate) enum Op<'a> {
    Query(&'a [&'a (dyn ToSql + Sync)]),
    QueryOpt(&'a [&'a (dyn ToSql + Sync)]),
    Stream(&'a [&'a (dyn ToSql + Sync)]),
    Execute(&'a [&'a (dyn ToSql + Sync)]),
    Copy(&'static str, &'a [&'a [&'a (dyn ToSql + Sync)]]),
}

pub(crate) enum Out {
    Rows(Vec<Row>),
    Opt(Option<Row>),
    Stream(RowStream<Row>),
    Count(u64),
}

/// Why an attempt failed.
pub(crate) enum AttemptError {
    /// No connection: the pool's wait ran out.
    PoolTimeout,
    /// No connection: opening one failed.
    Connect(Option<tokio_postgres::Error>),
    /// No idle connection, and the host's breaker refuses to open one.
    BreakerOpen,
    /// The statement failed on its connection.
    Driver(tokio_postgres::Error, SendState),
    /// A keyed write's key belongs to another statement.
    KeyReused(String),
    /// The statement cannot run as described (a misdeclared key).
    Invalid(String),
}

impl AttemptError {
    /// A statement's failure on its connection; `replied`: the server answered it.
    fn driver(e: tokio_postgres::Error, replied: bool) -> Self {
        let sent = if replied {
            SendState::Replied
        } else {
            SendState::SentNoReply
        };
        AttemptError::Driver(e, sent)
    }
}

/// A pooled connection in use. Dropped before [`ConnGuard::done`] (a caller gave up,
/// a deadline passed mid-statement), it asks the server to cancel what runs and
/// closes the connection instead of returning it to the pool.
pub(crate) struct ConnGuard {
    obj: Option<Object>,
    in_flight: bool,
    /// The host's breaker let this acquire through: only such a request's success
    /// closes a half-open breaker (an idle connection proves nothing about connects).
    pub permit: bool,
}

impl ConnGuard {
    pub fn new(obj: Object) -> Self {
        ConnGuard {
            obj: Some(obj),
            in_flight: false,
            permit: false,
        }
    }

    pub fn client(&self) -> &tokio_postgres::Client {
        &self
            .obj
            .as_ref()
            .expect("connection present until drop")
            .client
    }

    pub fn client_mut(&mut self) -> &mut tokio_postgres::Client {
        &mut self
            .obj
            .as_mut()
            .expect("connection present until drop")
            .client
    }

    /// The pooled connection itself, to be shared by reads (`lane.rs`).
    pub fn into_object(mut self) -> Object {
        self.in_flight = false;
        self.obj.take().expect("connection present until drop")
    }

    /// The statements prepared on this connection.
    pub fn prepared(&self) -> Prepared {
        self.obj
            .as_ref()
            .expect("connection present until drop")
            .prepared
            .clone()
    }

    /// How to cancel this connection's running statement.
    pub fn cancel(&self) -> Cancel {
        self.obj
            .as_ref()
            .expect("connection present until drop")
            .cancel
            .clone()
    }

    /// Marks the start of a statement: from here, dropping the guard cancels it.
    pub fn start(&mut self) {
        self.in_flight = true;
    }

    /// Marks the statement finished; `broken` closes the connection on release.
    pub fn done(&mut self, broken: bool) {
        self.in_flight = false;
        if broken {
            if let Some(o) = self.obj.as_mut() {
                o.broken = true;
            }
        }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let Some(mut obj) = self.obj.take() else {
            return;
        };
        if !self.in_flight && !obj.broken {
            return;
        }
        obj.broken = true;
        if self.in_flight {
            let cancel = (obj.cancel)(obj.client.cancel_token());
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(cancel);
            }
        }
        // The connection's state is unknown: close it rather than reuse it.
        let _ = Object::take(obj);
    }
}

impl Shared {
    pub(crate) fn now_ms(&self) -> u64 {
        millis(TokioInstant::now().saturating_duration_since(self.epoch))
    }

    pub(crate) fn emit(&self, e: &Event<'_>) {
        if let Some(o) = &self.observer {
            o.on_event(e);
        }
    }

    pub(crate) fn next_seed(&self) -> u64 {
        self.seeds.next_u64()
    }

    /// Asks every host whether it is in recovery. One refresh at a time; callers
    /// arriving meanwhile wait for it instead of starting another.
    async fn refresh_roles(&self) {
        let Ok(_g) = self.refresh.try_lock() else {
            // With no breaker closed the refresh is some host's probe, whose dial may
            // hang on a dead network: the callers fail fast instead of waiting for it.
            if self
                .hosts
                .iter()
                .any(|h| h.breaker_state() == BreakerState::Closed)
            {
                let _wait = self.refresh.lock().await;
            }
            return;
        };
        // Bounded by the acquire timeout: a hung host must not hold up the callers
        // waiting for the refresh.
        let limit = self.policies.pool.acquire_timeout;
        let probes = self.hosts.iter().map(|h| async move {
            let probe = async {
                // A host whose breaker is not closed is asked on one of its idle
                // connections, pooled or shared by reads, if it has one.
                let permit = h.breaker_allow(self.now_ms());
                if !permit && h.pool.status().available == 0 {
                    if let Some(mut ride) = h.lane.ride_idle() {
                        ride.start();
                        let row = ride.client().query_one(crate::host::ROLE_SQL, &[]).await;
                        ride.done(row.is_err());
                        h.state.set_role(match row {
                            // An answer that does not decode: take no writes there.
                            Ok(r) => crate::host::role_of(r.try_get(0).unwrap_or(true)),
                            Err(_) => Role::Unknown,
                        });
                    }
                    return;
                }
                match CONNECT_PERMIT.scope(permit, h.pool.get()).await {
                    Ok(obj) => {
                        let mut g = ConnGuard::new(obj);
                        g.start();
                        match g.client().query_one(crate::host::ROLE_SQL, &[]).await {
                            Ok(row) => {
                                g.done(false);
                                if permit {
                                    h.breaker_success(self.now_ms());
                                }
                                // An answer that does not decode: take no writes there.
                                h.state
                                    .set_role(crate::host::role_of(row.try_get(0).unwrap_or(true)));
                            }
                            Err(_) => {
                                g.done(true);
                                h.state.set_role(Role::Unknown);
                            }
                        }
                    }
                    Err(deadpool::managed::PoolError::Backend(ConnectError::BreakerOpen)) => {}
                    Err(_) => {
                        h.breaker_failure(self.now_ms());
                        h.state.set_role(Role::Unknown);
                    }
                }
            };
            if tokio::time::timeout(limit, probe).await.is_err() {
                h.state.set_role(Role::Unknown);
            }
        });
        futures_util::future::join_all(probes).await;
    }

    /// A host for `route`, and whether its breaker let the request through (so it may
    /// open a connection). A first attempt may also go to a host whose breaker refuses
    /// it while that host has idle connections (or, for a `shared` read, a shared
    /// connection to ride on; for any other statement, a shared connection nobody
    /// reads on, given back to the pool): healthy connections keep serving.
    async fn pick(
        &self,
        route: Route,
        first: bool,
        shared: bool,
        mut now: u64,
    ) -> Result<(Arc<Host>, bool), Error> {
        for pass in 0..2 {
            // Replicas first for a read that may go to one, in turn; then the primary.
            let mut replicas: Vec<&Arc<Host>> = Vec::new();
            if route == Route::Replica {
                replicas = self
                    .hosts
                    .iter()
                    .filter(|h| h.role() == Role::Replica)
                    .collect();
                if !replicas.is_empty() {
                    let start = self.next_replica.fetch_add(1, Ordering::Relaxed);
                    let n = replicas.len();
                    replicas.rotate_left(start % n);
                }
            }
            let primaries = self.hosts.iter().filter(|h| h.role() == Role::Primary);
            if pass == 1 {
                now = self.now_ms();
            }
            let mut idle = None;
            let mut candidates = 0usize;
            for h in replicas.iter().copied().chain(primaries) {
                candidates += 1;
                if h.breaker_allow(now) {
                    return Ok((Arc::clone(h), true));
                }
                if first
                    && idle.is_none()
                    && (h.pool.status().available > 0
                        || if shared {
                            h.lane.has_usable()
                        } else {
                            h.lane.release_idle()
                        })
                {
                    idle = Some(Arc::clone(h));
                }
            }
            if let Some(h) = idle {
                return Ok((h, false));
            }
            let all_open = pass == 1
                && self
                    .hosts
                    .iter()
                    .all(|h| h.breaker_state() != BreakerState::Closed);
            if candidates > 0 || all_open {
                let mut m = "the circuit breaker of every host of the route is open".to_owned();
                for h in &self.hosts {
                    if let Some(e) = h.state.connect_error() {
                        m.push_str(&format!("; {} last failed to connect: {e}", h.name()));
                    }
                }
                return Err(Error::new(Class::BreakerOpen, Action::Fatal).message(m));
            }
            if pass == 0 {
                self.refresh_roles().await;
            }
        }
        Err(
            Error::new(Class::NoHost, Action::RetryAnywhere).message(match route {
                Route::Primary => "no primary reachable",
                Route::Replica => "no host reachable",
            }),
        )
    }

    /// A connection from `host`'s pool; a new one is opened only with `permit`, or
    /// while the host's breaker is closed.
    async fn acquire(&self, host: &Host, permit: bool) -> Result<ConnGuard, AttemptError> {
        let t = Instant::now();
        // Boxed: the pool's checkout (a connect, a recycle, their timeouts) is a future
        // of thousands of bytes that every statement's future, reads on shared
        // connections included, would otherwise hold room for and copy.
        let got = Box::pin(CONNECT_PERMIT.scope(permit, host.pool.get())).await;
        Counters::bump(&self.counters.acquires);
        if t.elapsed() >= Duration::from_millis(1) {
            Counters::bump(&self.counters.acquire_waits);
        }
        match got {
            Ok(obj) => {
                let mut g = ConnGuard::new(obj);
                g.permit = permit;
                Ok(g)
            }
            Err(deadpool::managed::PoolError::Timeout(deadpool::managed::TimeoutType::Wait)) => {
                Counters::bump(&self.counters.acquire_timeouts);
                self.emit(&Event::AcquireTimeout { host: host.name() });
                Err(AttemptError::PoolTimeout)
            }
            Err(deadpool::managed::PoolError::Backend(ConnectError::Pg(e))) => {
                Err(AttemptError::Connect(Some(e)))
            }
            Err(deadpool::managed::PoolError::Backend(ConnectError::BreakerOpen)) => {
                Err(AttemptError::BreakerOpen)
            }
            Err(_) => Err(AttemptError::Connect(None)),
        }
    }

    /// [`Shared::acquire`], refusing a connection that closed while it sat idle.
    async fn acquire_open(&self, host: &Host, permit: bool) -> Result<ConnGuard, AttemptError> {
        let mut g = self.acquire(host, permit).await?;
        if g.client().is_closed() {
            g.done(true);
            return Err(AttemptError::Connect(None));
        }
        Ok(g)
    }

    /// One attempt of `st` on `host`.
    async fn attempt(
        &self,
        host: &Host,
        permit: bool,
        st: &'static Statement,
        op: &Op<'_>,
        sent: &AtomicBool,
    ) -> Result<(Out, bool), AttemptError> {
        if op.shareable(st) && host.lane.max > 0 {
            return self.attempt_shared(host, permit, st, op, sent).await;
        }
        self.attempt_alone(host, permit, st, op, sent).await
    }

    /// One attempt of `st` on a pooled connection of its own.
    async fn attempt_alone(
        &self,
        host: &Host,
        permit: bool,
        st: &'static Statement,
        op: &Op<'_>,
        sent: &AtomicBool,
    ) -> Result<(Out, bool), AttemptError> {
        let mut g = self.acquire_open(host, permit).await?;
        sent.store(true, Ordering::Relaxed);
        if let Some(key) = st.idempotency {
            return Box::pin(run_keyed(&mut g, st, key, op, true)).await;
        }
        g.start();
        let res = run_op(g.client(), &g.prepared(), false, st, op).await;
        match res {
            Ok(Out::Stream(rows)) => {
                // The statement stays in flight until the stream ends: a stream dropped
                // early cancels it and closes the connection, instead of handing the
                // next caller a connection still draining rows.
                let mut held = Some(g);
                let end = futures_util::stream::poll_fn(move |_| {
                    if let Some(mut g) = held.take() {
                        g.done(false);
                    }
                    std::task::Poll::Ready(None)
                });
                Ok((
                    Out::Stream(Box::pin(futures_util::StreamExt::chain(rows, end))),
                    false,
                ))
            }
            Ok(out) => {
                g.done(false);
                Ok((out, false))
            }
            Err(e) => {
                let replied = e.as_db_error().is_some();
                g.done(!replied);
                Err(AttemptError::driver(e, replied))
            }
        }
    }

    /// One attempt of a read on a connection shared with other reads (`lane.rs`).
    async fn attempt_shared(
        &self,
        host: &Host,
        permit: bool,
        st: &'static Statement,
        op: &Op<'_>,
        sent: &AtomicBool,
    ) -> Result<(Out, bool), AttemptError> {
        let mut ride = loop {
            // Without the breaker's permit no connection opens: only an idle one counts.
            let pool_has_room = || {
                let status = host.pool.status();
                status.available > 0 || (permit && status.size < status.max_size)
            };
            match host.lane.pick(pool_has_room) {
                Pick::Ride(r) => break r,
                Pick::Grow(grow) => {
                    let g = self.acquire_open(host, permit).await?;
                    if let Some(ride) = host.lane.add(grow, g.into_object()) {
                        break ride;
                    }
                }
                // Without the permit no connection opens: the grower either takes an
                // idle pooled connection (quick) or is the breaker's probe, whose dial
                // may hang on a dead network. With none idle, fail fast instead of
                // queueing behind the probe.
                Pick::Wait if !permit && host.pool.status().available == 0 => {
                    return Err(AttemptError::BreakerOpen)
                }
                Pick::Wait => {
                    // Waits only for a grower still at work when the wait began: one
                    // that finished since the pick has notified already (a wait
                    // hears every notification sent after it was made).
                    let wait = host.lane.grown();
                    if host.lane.growing() > 0 {
                        wait.await;
                    }
                }
                // Boxed: the rare way out, not to be carried by every read's future.
                Pick::Alone => {
                    return Box::pin(self.attempt_alone(host, permit, st, op, sent)).await
                }
            }
        };
        sent.store(true, Ordering::Relaxed);
        ride.start();
        match run_op(ride.client(), ride.prepared(), false, st, op).await {
            Ok(out) => {
                ride.done(false);
                Ok((out, false))
            }
            Err(e) => {
                let replied = e.as_db_error().is_some();
                ride.done(!replied);
                Err(AttemptError::driver(e, replied))
            }
        }
    }

    pub(crate) async fn run(&self, st: &'static Statement, op: Op<'_>) -> Result<Out, Error> {
        Counters::bump(&self.counters.calls);
        // One reading of the clock serves the deadline, the first pick and the budget.
        let start = TokioInstant::now();
        let deadline = start + st.timeout;
        let start_ms = millis(start.saturating_duration_since(self.epoch));
        let mut backoff = Backoff::new(st.retry.backoff, self.next_seed());
        let mut route = st.route;
        let shared = op.shareable(st);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let now = if attempt == 1 {
                start_ms
            } else {
                self.now_ms()
            };
            let (host, permit) = match self.pick(route, attempt == 1, shared, now).await {
                Ok(h) => h,
                Err(e) => {
                    let e = e.statement(st.name).attempts(attempt);
                    // No host known for the route (a failover in progress): wait and
                    // look again, within the attempts and the deadline.
                    let remaining = deadline.saturating_duration_since(TokioInstant::now());
                    match backoff.next_delay(Some(remaining)) {
                        Some(delay) if e.class() == Class::NoHost => {
                            self.counters.retry(Class::NoHost);
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                        _ => return Err(self.fail(st, e)),
                    }
                }
            };
            if attempt == 1 {
                host.budget_request(start_ms);
            }
            Counters::bump(&self.counters.attempts);
            self.emit(&Event::Attempt {
                statement: st.name,
                host: host.name(),
                attempt,
            });
            let sent = AtomicBool::new(false);
            let res =
                tokio::time::timeout_at(deadline, self.attempt(&host, permit, st, &op, &sent))
                    .await;
            let (kind, send_state, source) = match res {
                Ok(Ok((out, replayed))) => {
                    if permit {
                        host.breaker_success(self.now_ms());
                    }
                    if replayed {
                        Counters::bump(&self.counters.replays);
                        self.emit(&Event::Replayed { statement: st.name });
                    }
                    return Ok(out);
                }
                Ok(Err(AttemptError::PoolTimeout)) => {
                    (OwnedKind::PoolTimeout, SendState::NotSent, None)
                }
                Ok(Err(AttemptError::Connect(e))) => {
                    let kind = match &e {
                        Some(e) if e.as_db_error().is_some() => own_kind(driver_kind(e)),
                        _ => OwnedKind::Io,
                    };
                    (kind, SendState::NotSent, e)
                }
                Ok(Err(AttemptError::Driver(e, s))) => (own_kind(driver_kind(&e)), s, Some(e)),
                Ok(Err(AttemptError::BreakerOpen)) => {
                    return Err(
                        self.fail(st, breaker_open(&host).statement(st.name).attempts(attempt))
                    );
                }
                Ok(Err(AttemptError::KeyReused(owner))) => {
                    let e = Error::new(Class::Conflict, Action::Fatal)
                        .statement(st.name)
                        .attempts(attempt)
                        .message(format!(
                            "the idempotency key is already recorded for `{owner}`; use a new key per write"
                        ));
                    return Err(self.fail(st, e));
                }
                Ok(Err(AttemptError::Invalid(m))) => {
                    let e = Error::new(Class::Other, Action::Fatal)
                        .statement(st.name)
                        .attempts(attempt)
                        .message(m);
                    return Err(self.fail(st, e));
                }
                Err(_elapsed) => (
                    OwnedKind::Timeout,
                    if sent.load(Ordering::Relaxed) {
                        SendState::SentNoReply
                    } else {
                        SendState::NotSent
                    },
                    None,
                ),
            };
            let decision = classify(&Failure {
                kind: kind.as_kind(),
                sent: send_state,
                in_transaction: false,
                idempotent: st.replay_safe(),
                route,
            });
            let now = self.now_ms();
            if decision.evict_generation {
                host.evict();
            }
            if decision.feeds_breaker {
                host.breaker_failure(now);
            } else if send_state == SendState::Replied && permit {
                host.breaker_success(now);
            } else if host.breaker_state() == BreakerState::HalfOpen {
                host.breaker_failure(now);
            }
            if matches!(decision.class, Class::Connection | Class::ServerShutdown) {
                host.state.set_role(Role::Unknown);
            }
            // The decision made above is the error's: classified once.
            let mut err = Error::new(decision.class, decision.action)
                .statement(st.name)
                .attempts(attempt);
            if let Some(e) = source {
                err = err.driver(e);
            }
            if matches!(kind, OwnedKind::Timeout) {
                err = err.message(format!("deadline of {:?} passed", st.timeout));
            }
            match decision.action {
                Action::Fatal | Action::Ambiguous => return Err(self.fail(st, err)),
                Action::ReroutePrimary => {
                    host.state.set_role(Role::Replica);
                    self.refresh_roles().await;
                    route = Route::Primary;
                }
                Action::RetryAnywhere | Action::RerunTransaction | Action::BackoffRetry => {}
            }
            let remaining = deadline.saturating_duration_since(TokioInstant::now());
            let Some(delay) = backoff.next_delay(Some(remaining)) else {
                return Err(self.fail(st, err));
            };
            if !host.budget_try_retry(self.now_ms(), decision.class.as_str()) {
                return Err(self.fail(st, err.exhausted()));
            }
            self.counters.retry(decision.class);
            self.emit(&Event::Retry {
                statement: st.name,
                host: host.name(),
                class: decision.class,
                attempt,
                delay,
            });
            tokio::time::sleep(delay).await;
        }
    }

    fn fail(&self, st: &'static Statement, e: Error) -> Error {
        self.fail_name(st.name, e)
    }

    pub(crate) fn fail_name(&self, name: &str, e: Error) -> Error {
        self.counters.failure(e.class());
        if e.is_ambiguous() {
            Counters::bump(&self.counters.ambiguous);
        }
        if e.is_budget_exhausted() {
            Counters::bump(&self.counters.budget_exhausted);
        }
        self.emit(&Event::Failed {
            statement: name,
            class: e.class(),
            attempts: e.attempt_count(),
            ambiguous: e.is_ambiguous(),
            budget_exhausted: e.is_budget_exhausted(),
        });
        e
    }
}

/// A failure kind that owns its SQLSTATE.
enum OwnedKind {
    SqlState(String),
    Io,
    Timeout,
    PoolTimeout,
}

fn own_kind(k: FailureKind<'_>) -> OwnedKind {
    match k {
        FailureKind::SqlState(s) => OwnedKind::SqlState(s.to_owned()),
        FailureKind::Io => OwnedKind::Io,
        FailureKind::Timeout => OwnedKind::Timeout,
        FailureKind::PoolTimeout => OwnedKind::PoolTimeout,
    }
}

impl OwnedKind {
    fn as_kind(&self) -> FailureKind<'_> {
        match self {
            OwnedKind::SqlState(s) => FailureKind::SqlState(s),
            OwnedKind::Io => FailureKind::Io,
            OwnedKind::Timeout => FailureKind::Timeout,
            OwnedKind::PoolTimeout => FailureKind::PoolTimeout,
        }
    }
}

/// Runs `op` on `client`, with its statement prepared once per connection. A prepared
/// statement a schema change made stale is prepared again and re-sent once, outside a
/// transaction (inside one the failure aborted the transaction: it is re-run whole).
pub(crate) async fn run_op<C: Session>(
    client: &C,
    prepared: &Prepared,
    in_tx: bool,
    st: &'static Statement,
    op: &Op<'_>,
) -> Result<Out, tokio_postgres::Error> {
    match run_prepared(client, prepared, st, op).await {
        Err(e) if crate::prepared::is_stale(&e) => {
            prepared.clear();
            if in_tx {
                return Err(e);
            }
            run_prepared(client, prepared, st, op).await
        }
        r => r,
    }
}

async fn run_prepared<C: Session>(
    client: &C,
    prepared: &Prepared,
    st: &'static Statement,
    op: &Op<'_>,
) -> Result<Out, tokio_postgres::Error> {
    let stmt = prepared.get(client, st.sql).await?;
    Ok(match op {
        Op::Query(p) => Out::Rows(client.query(&stmt, p).await?),
        Op::QueryOpt(p) => Out::Opt(client.query_opt(&stmt, p).await?),
        Op::Execute(p) => Out::Count(client.execute(&stmt, p).await?),
        Op::Stream(p) => {
            let rows = client.query_raw(&stmt, p).await?;
            let st_ctx = st.context(false);
            Out::Stream(Box::pin(rows.map_err(move |e| {
                Error::from_driver(e, SendState::SentNoReply, &st_ctx).statement(st.name)
            })))
        }
        // Boxed, as its future is large and rare beside the reads'.
        Op::Copy(copy, rows) => {
            Out::Count(Box::pin(copy_rows(client.client(), &stmt, copy, rows)).await?)
        }
    })
}

impl Op<'_> {
    /// Whether `st` run as this operation may share its connection with other reads:
    /// it changes nothing, may be sent again, and returns its rows at once (a stream
    /// would hold the connection's pipeline for as long as its reader takes).
    pub(crate) fn shareable(&self, st: &Statement) -> bool {
        st.read_only
            && st.replay_safe()
            && st.idempotency.is_none()
            && matches!(self, Op::Query(_) | Op::QueryOpt(_))
    }

    /// A keyed write's parameters, and whether it returns rows; `None` for a COPY.
    pub(crate) fn keyed_params(&self) -> Option<(&[&(dyn ToSql + Sync)], bool)> {
        match self {
            Op::Query(p) | Op::QueryOpt(p) | Op::Stream(p) => Some((p, true)),
            Op::Execute(p) => Some((p, false)),
            Op::Copy(..) => None,
        }
    }

    /// A keyed write's rows, shaped as this operation returns them.
    pub(crate) fn rows_out(&self, rows: Vec<Row>) -> Out {
        match self {
            Op::QueryOpt(_) => Out::Opt(rows.into_iter().next()),
            Op::Stream(_) => Out::Stream(Box::pin(futures_util::stream::iter(
                rows.into_iter().map(Ok),
            ))),
            _ => Out::Rows(rows),
        }
    }
}

/// Runs a keyed write in a transaction of its own (`own_tx`) or in the caller's.
pub(crate) async fn run_keyed(
    g: &mut ConnGuard,
    st: &'static Statement,
    key: &'static crate::exec::IdempotencyKey,
    op: &Op<'_>,
    own_tx: bool,
) -> Result<(Out, bool), AttemptError> {
    let Some((params, rows)) = op.keyed_params() else {
        return Err(AttemptError::Invalid(
            "a COPY cannot carry an idempotency key".into(),
        ));
    };
    if key.param >= params.len() {
        return Err(AttemptError::Invalid(format!(
            "the idempotency key is parameter {} of {}",
            key.param + 1,
            params.len()
        )));
    }
    g.start();
    let client = g.client_mut();
    let res = async {
        if own_tx {
            client.batch_execute("BEGIN").await?;
        }
        let out = keyed::run(client, st, key, params, rows).await?;
        if own_tx {
            if matches!(out, Keyed::Reused(_)) {
                client.batch_execute("ROLLBACK").await?;
            } else {
                client.batch_execute("COMMIT").await?;
            }
        }
        Ok::<Keyed, tokio_postgres::Error>(out)
    }
    .await;
    match res {
        Ok(k) => {
            g.done(false);
            let (out, replayed) = match k {
                Keyed::Rows(r, replayed) => (op.rows_out(r), replayed),
                Keyed::Count(n, replayed) => (Out::Count(n), replayed),
                Keyed::Reused(owner) => return Err(AttemptError::KeyReused(owner)),
            };
            Ok((out, replayed))
        }
        Err(e) => {
            let replied = e.as_db_error().is_some();
            if own_tx && replied {
                // The transaction is aborted; end it so the connection can be reused.
                let ok = g.client().batch_execute("ROLLBACK").await.is_ok();
                g.done(!ok);
            } else {
                g.done(true);
            }
            Err(AttemptError::driver(e, replied))
        }
    }
}

impl Db {
    /// Starts building a runtime for a contract (the generated crate's `POLICIES`).
    pub fn builder(policies: &'static Policies) -> DbBuilder {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        DbBuilder {
            policies,
            hosts: Vec::new(),
            seed,
            observer: None,
            budget: BudgetConfig::default(),
            ping_after: Duration::from_secs(5),
            maintenance_every: Duration::from_secs(1),
            transport: None,
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The contract's policies this runtime applies.
    pub fn policies(&self) -> &'static Policies {
        self.shared.policies
    }

    /// `Ok` when a primary answers within the acquire timeout; the roles of the
    /// hosts are refreshed when none is known.
    pub async fn ready(&self) -> Result<(), Error> {
        let s = &self.shared;
        let limit = s.policies.pool.acquire_timeout;
        let check = async {
            let (host, g) = self.acquire_primary(true).await?;
            // A read: a lost reply is a failed check, not an unknown outcome.
            let row = g
                .client()
                .query_one(crate::host::ROLE_SQL, &[])
                .await
                .map_err(|e| {
                    Error::from_driver(
                        e,
                        SendState::SentNoReply,
                        &crate::error::Context {
                            in_transaction: false,
                            idempotent: true,
                            route: Route::Primary,
                        },
                    )
                })?;
            if row.try_get::<_, bool>(0)? {
                host.state.set_role(Role::Replica);
                return Err(Error::new(Class::NoHost, Action::Fatal)
                    .message(format!("{} is in recovery: not a primary", host.name())));
            }
            if g.permit {
                host.breaker_success(s.now_ms());
            }
            Ok(())
        };
        match tokio::time::timeout(limit, check).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(Class::Timeout, Action::Fatal)
                .message(format!("no primary answered within {limit:?}"))),
        }
    }

    /// A snapshot of pools, breakers, roles and counters.
    pub fn stats(&self) -> Stats {
        let hosts = self
            .shared
            .hosts
            .iter()
            .map(|h| {
                let st = h.pool.status();
                HostStats {
                    name: h.name().to_owned(),
                    role: h.role(),
                    breaker: h.breaker_state(),
                    size: st.size,
                    idle: st.available,
                    waiting: st.waiting,
                    max_size: st.max_size,
                    shared: h.lane.len(),
                }
            })
            .collect();
        self.shared.counters.snapshot(hosts)
    }

    /// Creates the table keyed writes are recorded in, if missing.
    pub async fn install_idempotency_table(&self) -> Result<(), Error> {
        let (_, g) = self.acquire_primary(true).await?;
        g.client().batch_execute(keyed::IDEMPOTENCY_TABLE).await?;
        Ok(())
    }

    /// Acquires a connection to the primary for work the contract does not cover. Its
    /// state is unknown to the pool, so it is closed when dropped.
    pub async fn connection(&self) -> Result<PooledClient, Error> {
        let (_, g) = self.acquire_primary(true).await?;
        Ok(PooledClient(g))
    }

    /// A connection to the primary, outside a statement's run loop (readiness,
    /// transactions, ad-hoc work). A failed connect counts against the host's breaker.
    /// Only a `first` attempt may be served by a host whose breaker refuses it.
    pub(crate) async fn acquire_primary(
        &self,
        first: bool,
    ) -> Result<(Arc<Host>, ConnGuard), Error> {
        let s = &self.shared;
        let (host, permit) = s.pick(Route::Primary, first, false, s.now_ms()).await?;
        match s.acquire(&host, permit).await {
            Ok(g) => Ok((host, g)),
            Err(AttemptError::BreakerOpen) => Err(breaker_open(&host)),
            Err(AttemptError::PoolTimeout) => Err(Error::new(Class::PoolTimeout, Action::Fatal)),
            Err(AttemptError::Connect(e)) => {
                host.breaker_failure(s.now_ms());
                host.state.set_role(Role::Unknown);
                let err = Error::new(Class::Connection, Action::Fatal)
                    .message(format!("no connection to the primary {}", host.name()));
                Err(match e {
                    Some(e) => err.driver(e),
                    None => err,
                })
            }
            Err(AttemptError::Driver(e, _)) => Err(e.into()),
            Err(AttemptError::KeyReused(m) | AttemptError::Invalid(m)) => {
                Err(Error::new(Class::Other, Action::Fatal).message(m))
            }
        }
    }
}

/// A connection checked out of the pool the way a statement's attempt takes one
/// (routing, breaker, pool), returned to the pool when dropped. For the pool
/// benchmarks (`bench/runtime`), which time acquire and release alone.
#[doc(hidden)]
pub struct Checkout {
    _conn: ConnGuard,
}

impl Db {
    #[doc(hidden)]
    pub async fn checkout(&self) -> Result<Checkout, Error> {
        let (_, g) = self.acquire_primary(true).await?;
        Ok(Checkout { _conn: g })
    }
}

fn breaker_open(host: &Host) -> Error {
    let mut m = format!(
        "the circuit breaker of {} is open and none of its connections is idle",
        host.name()
    );
    if let Some(e) = host.state.connect_error() {
        m.push_str(&format!("; it last failed to connect: {e}"));
    }
    Error::new(Class::BreakerOpen, Action::Fatal).message(m)
}

/// A connection from the runtime's pool, for statements outside the contract. Its
/// state (an open transaction, session settings) is unknown to the pool, so it is
/// closed when dropped rather than reused.
pub struct PooledClient(ConnGuard);

impl Drop for PooledClient {
    fn drop(&mut self) {
        self.0.done(true);
    }
}

impl std::ops::Deref for PooledClient {
    type Target = tokio_postgres::Client;
    fn deref(&self) -> &tokio_postgres::Client {
        self.0.client()
    }
}

impl Db {
    async fn run(&self, st: &'static Statement, op: Op<'_>) -> Result<Out, Error> {
        self.shared.run(st, op).await
    }
}

/// `Executor` for a runtime type whose `run(st, op)` does the work: [`Db`] and
/// [`Tx`](crate::Tx).
macro_rules! executor_via_run {
    ($ty:ty) => {
        impl Executor for $ty {
            async fn query(
                &self,
                st: &'static Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Vec<Row>, Error> {
                match self.run(st, Op::Query(params)).await? {
                    Out::Rows(r) => Ok(r),
                    _ => unreachable!("a query returns rows"),
                }
            }

            async fn query_opt(
                &self,
                st: &'static Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Option<Row>, Error> {
                match self.run(st, Op::QueryOpt(params)).await? {
                    Out::Opt(r) => Ok(r),
                    _ => unreachable!("query_opt returns an optional row"),
                }
            }

            async fn query_stream(
                &self,
                st: &'static Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<RowStream<Row>, Error> {
                match self.run(st, Op::Stream(params)).await? {
                    Out::Stream(s) => Ok(s),
                    _ => unreachable!("query_stream returns a stream"),
                }
            }

            async fn execute(
                &self,
                st: &'static Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<u64, Error> {
                match self.run(st, Op::Execute(params)).await? {
                    Out::Count(n) => expect_rows(st, n),
                    _ => unreachable!("execute returns a count"),
                }
            }

            async fn copy_in<'a, R: AsRef<[&'a (dyn ToSql + Sync)]> + Sync>(
                &self,
                st: &'static Statement,
                copy: &'static str,
                rows: &[R],
            ) -> Result<u64, Error> {
                let rows: Vec<&[&(dyn ToSql + Sync)]> = rows.iter().map(|r| r.as_ref()).collect();
                match self.run(st, Op::Copy(copy, &rows)).await? {
                    Out::Count(n) => Ok(n),
                    _ => unreachable!("copy returns a count"),
                }
            }
        }
    };
}

pub(crate) use executor_via_run;

executor_via_run!(Db);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::{BackoffPolicy, Jitter};
    use crate::exec::{BreakerPolicy, PoolPolicy, RetryPolicy};

    static STANDARD: RetryPolicy = RetryPolicy {
        name: "standard",
        backoff: BackoffPolicy {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(100),
            max_attempts: 3,
            multiplier: 2.0,
            jitter: Jitter::Full,
        },
    };
    static READ: Statement = Statement {
        name: "Read",
        command: "one",
        sql: "SELECT 1",
        read_only: true,
        idempotent: true,
        route: Route::Primary,
        timeout: Duration::from_secs(1),
        retry: &STANDARD,
        idempotency: None,
        expect_one_row: false,
    };
    static POLICIES: Policies = Policies {
        contract: "sizes",
        version: "1.0.0",
        pool: PoolPolicy {
            max_size: 4,
            min_idle: 0,
            acquire_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(60),
            lifetime_jitter: Duration::ZERO,
        },
        breaker: BreakerPolicy {
            failure_threshold: 5,
            open_for: Duration::from_secs(1),
        },
        retry: &[&STANDARD],
        statements: &[&READ],
    };

    /// A statement's future is built and moved on every call: the pool's checkout,
    /// the keyed write and the rare ways out of a shared read are boxed so that it
    /// stays small (about 2.2 KB; it was 5.6 KB, most of it the pool's checkout).
    #[tokio::test]
    async fn a_statement_future_does_not_carry_the_rare_paths() {
        let db = Db::builder(&POLICIES)
            .host("postgres://nobody@127.0.0.1:1/none")
            .unwrap()
            .build()
            .await
            .unwrap();
        let params: [&(dyn ToSql + Sync); 0] = [];
        let size = std::mem::size_of_val(&db.shared().run(&READ, Op::QueryOpt(&params)));
        assert!(size < 3000, "a statement's future is {size} bytes");
    }
}
