//! One database host: its connection pool (deadpool), its role, its circuit breaker
//! and its retry budget.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use std::future::Future;
use std::pin::Pin;

use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{CancelToken, Client, Socket};

use crate::breaker::{Breaker, BreakerConfig, BreakerState};
use crate::budget::{BudgetConfig, RetryBudget};
use crate::exec::PoolPolicy;
use crate::observe::{Event, Observer, Role};
use crate::rng::SplitMix64;
use crate::tally::SameMs;

/// Whether a host takes writes: a standby in recovery does not, nor does a server
/// whose sessions default to read-only (how failover managers fence an old primary).
pub(crate) const ROLE_SQL: &str = "SELECT pg_catalog.pg_is_in_recovery() \
     OR pg_catalog.current_setting('transaction_read_only') = 'on'";

/// The role [`ROLE_SQL`]'s answer gives a host.
pub(crate) fn role_of(in_recovery: bool) -> Role {
    if in_recovery {
        Role::Replica
    } else {
        Role::Primary
    }
}

/// A pooled connection.
pub(crate) struct Conn {
    pub client: Client,
    /// Cancels the connection's running statement.
    pub cancel: Cancel,
    /// When it is replaced: `max_lifetime` plus its share of the jitter.
    pub lifetime: Duration,
    /// Set when the connection's state is unknown (a dropped or timed-out call, a
    /// broken transaction): it is closed instead of being reused.
    pub broken: bool,
    /// The statements prepared on it.
    pub prepared: crate::prepared::Prepared,
}

pub(crate) type Pool = managed::Pool<Manager>;
pub(crate) type Object = managed::Object<Manager>;

tokio::task_local! {
    /// Set around a pool acquire the host's breaker let through: only such an acquire
    /// may open a new connection while the breaker is not closed.
    pub(crate) static CONNECT_PERMIT: bool;
}

/// Why the pool could not open a connection.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The breaker is not closed and this acquire holds no permit.
    BreakerOpen,
    Pg(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for ConnectError {
    fn from(e: tokio_postgres::Error) -> Self {
        ConnectError::Pg(e)
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::BreakerOpen => f.write_str("the circuit breaker is open"),
            ConnectError::Pg(e) => e.fmt(f),
        }
    }
}

/// What the pool's manager shares with the host.
pub(crate) struct HostState {
    pub name: String,
    role: AtomicU8,
    /// Connections created before this instant are closed (the server restarted).
    evicted_before: Mutex<Option<Instant>>,
    /// Mirrors the breaker: closed, so any acquire may open a connection.
    breaker_closed: AtomicBool,
    pub observer: Option<Arc<dyn Observer>>,
    /// Why the last attempt to open a connection failed, until one succeeds: what an
    /// open breaker's error says about the cause.
    last_connect_error: Mutex<Option<String>>,
}

impl HostState {
    fn set_connect_error(&self, e: Option<String>) {
        *self
            .last_connect_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = e;
    }

    /// Why the last attempt to open a connection failed, unless one has succeeded since.
    pub fn connect_error(&self) -> Option<String> {
        self.last_connect_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn role(&self) -> Role {
        match self.role.load(Ordering::Acquire) {
            1 => Role::Primary,
            2 => Role::Replica,
            _ => Role::Unknown,
        }
    }

    pub fn set_role(&self, role: Role) {
        let v = match role {
            Role::Unknown => 0,
            Role::Primary => 1,
            Role::Replica => 2,
        };
        if self.role.swap(v, Ordering::AcqRel) != v {
            self.emit(&Event::Role {
                host: &self.name,
                role,
            });
        }
    }

    pub fn emit(&self, e: &Event<'_>) {
        if let Some(o) = &self.observer {
            o.on_event(e);
        }
    }

    fn evicted(&self, created: Instant) -> bool {
        let g = self
            .evicted_before
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        g.is_some_and(|t| created <= t)
    }

    /// Marks every connection opened until now evicted: each is closed when next
    /// taken or maintained.
    pub fn evict_before_now(&self) {
        *self
            .evicted_before
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
}

/// Told how a connection's I/O task ended when it ended with an error.
pub(crate) type ConnectionEnd = Box<dyn FnOnce(tokio_postgres::Error) + Send>;

/// Opens one connection (plain or through a TLS connector) and spawns its I/O task.
pub(crate) type Connect = Arc<
    dyn Fn(
            &tokio_postgres::Config,
            ConnectionEnd,
        ) -> Pin<Box<dyn Future<Output = Result<Client, tokio_postgres::Error>> + Send>>
        + Send
        + Sync,
>;

/// Sends a CancelRequest for a connection's running statement, over the same transport
/// (tokio-postgres refuses to send a plain one for a host configured `sslmode=require`).
pub(crate) type Cancel =
    Arc<dyn Fn(CancelToken) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// How connections are opened and their statements canceled.
#[derive(Clone)]
pub(crate) struct Transport {
    pub connect: Connect,
    pub cancel: Cancel,
}

pub(crate) fn transport<T>(tls: T) -> Transport
where
    T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let for_cancel = tls.clone();
    Transport {
        connect: Arc::new(move |config: &tokio_postgres::Config, end: ConnectionEnd| {
            let (config, tls) = (config.clone(), tls.clone());
            Box::pin(async move {
                let (client, connection) = config.connect(tls).await?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        end(e);
                    }
                });
                Ok(client)
            })
        }),
        cancel: Arc::new(move |token: CancelToken| {
            let tls = for_cancel.clone();
            Box::pin(async move {
                let _ = token.cancel_query(tls).await;
            })
        }),
    }
}

pub(crate) struct Manager {
    config: tokio_postgres::Config,
    transport: Transport,
    state: Arc<HostState>,
    policy: PoolPolicy,
    ping_after: Duration,
    rng: Mutex<SplitMix64>,
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = ConnectError;

    async fn create(&self) -> Result<Conn, ConnectError> {
        // The breaker gates new connections, not the pooled ones: without its permit
        // an acquire is served from idle connections only.
        let permit = CONNECT_PERMIT.try_with(|p| *p).unwrap_or(false);
        if !permit && !self.state.breaker_closed.load(Ordering::Acquire) {
            return Err(ConnectError::BreakerOpen);
        }
        // A server shutting down tells each idle session so (57P01, 57P02) as it ends
        // it: every connection opened before is as dead, so the generation is evicted
        // at once instead of costing each its own failed attempt.
        let state = Arc::downgrade(&self.state);
        let end: ConnectionEnd = Box::new(move |e| {
            let shutdown = e
                .as_db_error()
                .is_some_and(|d| matches!(d.code().code(), "57P01" | "57P02"));
            if let (true, Some(state)) = (shutdown, state.upgrade()) {
                state.evict_before_now();
            }
        });
        let client = match (self.transport.connect)(&self.config, end).await {
            Ok(c) => {
                self.state.set_connect_error(None);
                c
            }
            Err(e) => {
                self.state
                    .set_connect_error(Some(crate::error::error_chain(&e)));
                return Err(e.into());
            }
        };
        // The role comes with every new connection: a promoted standby is seen as
        // soon as a connection to it opens.
        let row = client.query_one(crate::host::ROLE_SQL, &[]).await?;
        self.state.set_role(role_of(row.try_get(0)?));
        let jitter_us = u64::try_from(self.policy.lifetime_jitter.as_micros()).unwrap_or(0);
        let extra = self
            .rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .uniform(jitter_us);
        self.state.emit(&Event::ConnectionOpened {
            host: &self.state.name,
        });
        Ok(Conn {
            client,
            cancel: self.transport.cancel.clone(),
            lifetime: self.policy.max_lifetime + Duration::from_micros(extra),
            broken: false,
            prepared: Default::default(),
        })
    }

    async fn recycle(&self, conn: &mut Conn, metrics: &Metrics) -> RecycleResult<ConnectError> {
        let reason = if conn.broken || conn.client.is_closed() {
            Some("broken")
        } else if self.state.evicted(metrics.created) {
            Some("evicted")
        } else if metrics.age() >= conn.lifetime {
            Some("expired")
        } else if metrics.last_used() >= self.policy.idle_timeout {
            Some("idle")
        } else {
            None
        };
        if let Some(reason) = reason {
            self.closed(reason);
            return Err(RecycleError::message(reason));
        }
        // A connection idle for a while may have been cut by a proxy or a restart.
        if metrics.last_used() >= self.ping_after {
            if let Err(e) = conn.client.simple_query("").await {
                self.closed("broken");
                return Err(RecycleError::Backend(e.into()));
            }
        }
        Ok(())
    }
}

impl Manager {
    fn closed(&self, reason: &str) {
        self.state.emit(&Event::ConnectionClosed {
            host: &self.state.name,
            reason,
        });
    }
}

/// One host of the runtime.
pub(crate) struct Host {
    pub state: Arc<HostState>,
    pub pool: Pool,
    /// Pooled connections shared by reads.
    pub lane: crate::lane::Lane,
    breaker: Mutex<Breaker>,
    /// Successes counted without the breaker's lock while it is clean (closed, no
    /// failure since the last success); set when it is, under the lock.
    successes: SameMs,
    budget: Mutex<RetryBudget>,
    /// Requests counted without the budget's lock.
    requests: SameMs,
    policy: PoolPolicy,
}

pub(crate) struct HostSettings {
    pub policy: PoolPolicy,
    pub breaker: BreakerConfig,
    pub budget: BudgetConfig,
    pub ping_after: Duration,
    pub seed: u64,
    pub observer: Option<Arc<dyn Observer>>,
    pub transport: Transport,
}

impl Host {
    pub fn new(config: tokio_postgres::Config, s: &HostSettings) -> Result<Host, String> {
        let name = host_name(&config);
        let state = Arc::new(HostState {
            name,
            role: AtomicU8::new(0),
            evicted_before: Mutex::new(None),
            breaker_closed: AtomicBool::new(true),
            last_connect_error: Mutex::new(None),
            observer: s.observer.clone(),
        });
        let manager = Manager {
            config,
            transport: s.transport.clone(),
            state: state.clone(),
            policy: s.policy,
            ping_after: s.ping_after,
            rng: Mutex::new(SplitMix64::new(s.seed ^ 0x5eed_11fe)),
        };
        let pool = managed::Pool::builder(manager)
            .max_size(s.policy.max_size.max(1) as usize)
            .wait_timeout(Some(s.policy.acquire_timeout))
            .create_timeout(Some(s.policy.acquire_timeout))
            .recycle_timeout(Some(s.policy.acquire_timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Host {
            state,
            pool,
            lane: crate::lane::Lane::new(s.policy.max_size as usize),
            breaker: Mutex::new(Breaker::new(s.breaker, s.seed)),
            successes: SameMs::default(),
            budget: Mutex::new(RetryBudget::new(s.budget)),
            requests: SameMs::default(),
            policy: s.policy,
        })
    }

    pub fn name(&self) -> &str {
        &self.state.name
    }

    pub fn role(&self) -> Role {
        self.state.role()
    }

    /// Runs `f` on the breaker at `now_ms`, the successes counted without its lock
    /// recorded first.
    fn with_breaker<T>(&self, now_ms: u64, f: impl FnOnce(&mut Breaker) -> T) -> T {
        let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((ms, n)) = self.successes.take() {
            b.record_successes(ms, n);
        }
        let before = b.state();
        let out = f(&mut b);
        let after = b.state();
        // Under the lock, so that the mirrors follow the breaker's changes in order.
        self.state
            .breaker_closed
            .store(after == BreakerState::Closed, Ordering::Release);
        if b.is_clean() {
            self.successes.start(now_ms);
        } else {
            self.successes.stop();
        }
        drop(b);
        if std::mem::discriminant(&before) != std::mem::discriminant(&after) {
            self.state.emit(&Event::Breaker {
                host: self.name(),
                state: after,
            });
        }
        out
    }

    pub fn breaker_allow(&self, now_ms: u64) -> bool {
        // A closed breaker lets everything through and stays closed doing so: no lock.
        if self.state.breaker_closed.load(Ordering::Acquire) {
            return true;
        }
        self.with_breaker(now_ms, |b| b.allow(now_ms))
    }

    pub fn breaker_success(&self, now_ms: u64) {
        // Counted without the lock only while the breaker is clean: a success then
        // changes nothing but the tally (the word is counting only then).
        if !self.successes.try_add(now_ms) {
            self.with_breaker(now_ms, |b| b.record_success(now_ms));
        }
    }

    pub fn breaker_failure(&self, now_ms: u64) {
        self.with_breaker(now_ms, |b| b.record_failure(now_ms));
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .state()
    }

    /// The retry budget, the requests counted without its lock recorded first.
    fn with_budget<T>(&self, now_ms: u64, f: impl FnOnce(&mut RetryBudget) -> T) -> T {
        let mut b = self.budget.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((ms, n)) = self.requests.take() {
            b.requests_n(ms, n);
        }
        let out = f(&mut b);
        self.requests.start(now_ms);
        out
    }

    pub fn budget_request(&self, now_ms: u64) {
        if !self.requests.try_add(now_ms) {
            self.with_budget(now_ms, |b| b.request(now_ms));
        }
    }

    pub fn budget_try_retry(&self, now_ms: u64, class: &str) -> bool {
        self.with_budget(now_ms, |b| b.try_retry(now_ms, class))
    }

    /// Closes every connection opened until now: the server behind them restarted.
    pub fn evict(&self) {
        self.state.evict_before_now();
        let state = self.state.clone();
        self.lane.close_all();
        let removed = self.pool.retain(|_, m| !state.evicted(m.created)).removed;
        for _ in removed {
            self.state.emit(&Event::ConnectionClosed {
                host: self.name(),
                reason: "evicted",
            });
        }
    }

    /// Closes idle connections past their lifetime or idle timeout (keeping
    /// `min_idle`), and opens connections up to `min_idle`.
    pub async fn maintain(&self) {
        let min_idle = self.policy.min_idle as usize;
        let idle_timeout = self.policy.idle_timeout;
        let state = self.state.clone();
        self.lane.maintain(|o| {
            let m = Object::metrics(o);
            state.evicted(m.created) || m.age() >= o.lifetime
        });
        let mut kept = 0usize;
        let removed = self
            .pool
            .retain(|c, m| {
                let keep = !c.broken
                    && !c.client.is_closed()
                    && !state.evicted(m.created)
                    && m.age() < c.lifetime
                    && (m.last_used() < idle_timeout || kept < min_idle);
                kept += usize::from(keep);
                keep
            })
            .removed;
        for _ in removed {
            self.state.emit(&Event::ConnectionClosed {
                host: self.name(),
                reason: "expired",
            });
        }
        let status = self.pool.status();
        if status.size < min_idle && self.role() != Role::Unknown {
            let missing = min_idle - status.size;
            let mut held = Vec::with_capacity(missing);
            for _ in 0..missing {
                match self.pool.get().await {
                    Ok(o) => held.push(o),
                    Err(_) => break,
                }
            }
        }
    }
}

pub(crate) fn host_name(config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host as H;
    let host = match config.get_hosts().first() {
        Some(H::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(H::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}
