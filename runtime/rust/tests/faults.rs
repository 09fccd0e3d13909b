//! The fault suite (docs/runtime.md, "Under faults"): the runtime against real
//! failures. A primary with a streaming standby (scripts/pg-extra.sh) for failover,
//! toxiproxy between client and server for network faults, `pg_terminate_backend` for
//! killed sessions. runtime/go/faults_test.go runs the same scenarios in Go.

use std::time::{Duration, Instant};

use std::sync::{Arc, Mutex};

use sqlpact_runtime::{
    BackoffPolicy, BreakerPolicy, BreakerState, BudgetConfig, Class, Db, Event, Executor, Jitter,
    Observer, Policies, PoolPolicy, RetryPolicy, Role, Route, Statement,
};

mod common;
use common::{connect, env, scratch, target_of, via, Toxiproxy};

static RETRY: RetryPolicy = RetryPolicy {
    name: "standard",
    backoff: BackoffPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(200),
        max_attempts: 4,
        multiplier: 2.0,
        jitter: Jitter::Full,
    },
};

static POLICIES: Policies = Policies {
    contract: "fault-suite",
    version: "0.0.0",
    pool: PoolPolicy {
        max_size: 4,
        min_idle: 0,
        acquire_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(60),
        max_lifetime: Duration::from_secs(1800),
        lifetime_jitter: Duration::from_secs(0),
    },
    breaker: BreakerPolicy {
        failure_threshold: 3,
        open_for: Duration::from_millis(200),
    },
    retry: &[&RETRY],
    statements: &[],
};

static ONE_CONN: Policies = Policies {
    pool: PoolPolicy {
        max_size: 1,
        ..POLICIES.pool
    },
    ..POLICIES
};

const fn read(name: &'static str, sql: &'static str) -> Statement {
    Statement {
        name,
        command: "many",
        sql,
        read_only: true,
        idempotent: true,
        route: Route::Primary,
        timeout: Duration::from_secs(10),
        retry: &RETRY,
        idempotency: None,
        expect_one_row: false,
    }
}

const fn write(name: &'static str, sql: &'static str) -> Statement {
    Statement {
        command: "exec",
        read_only: false,
        idempotent: false,
        ..read(name, sql)
    }
}

static READ_N: Statement = read("ReadN", "SELECT n FROM counter WHERE id = 1");
static BACKEND: Statement = read("Backend", "SELECT pg_backend_pid()");
static BIG: Statement = read(
    "Big",
    "SELECT i, repeat('x', 500) FROM generate_series(1, 20000) i",
);
static MARK: Statement = Statement {
    idempotent: true,
    ..write(
        "Mark",
        "INSERT INTO marks (v) VALUES ($1) ON CONFLICT DO NOTHING",
    )
};
static SLOW_MARK: Statement = write(
    "SlowMark",
    "INSERT INTO marks (v) SELECT $1::text FROM pg_sleep(3)",
);
static IN_RECOVERY: Statement = Statement {
    route: Route::Replica,
    ..read("InRecovery", "SELECT pg_is_in_recovery()")
};

static QUICK_READ: Statement = Statement {
    timeout: Duration::from_millis(500),
    ..read("QuickRead", "SELECT n FROM counter WHERE id = 1")
};
static BUMP: Statement = write("Bump", "UPDATE counter SET n = n + 1 WHERE id = 1");
static SLOW_BUMP: Statement = write(
    "SlowBump",
    "UPDATE counter SET n = n + 1 FROM pg_sleep(1) WHERE id = 1",
);

const SCHEMA: &str = "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL);
INSERT INTO counter VALUES (1, 41);";

async fn db(policies: &'static Policies, urls: &[&str]) -> Db {
    let mut b = Db::builder(policies).seed(11);
    for u in urls {
        b = b.host(u).unwrap();
    }
    b.build().await.unwrap()
}

/// Scenario 1: the server kills every pooled connection while it is idle; the next
/// idempotent reads all succeed, on new connections.
#[tokio::test]
async fn idle_connections_killed_by_the_server_cost_no_read() {
    let (url, admin) = scratch("fault_idle", SCHEMA).await;
    let name = url.rsplit_once('/').unwrap().1.to_owned();
    let db = db(&POLICIES, &[&url]).await;
    // Four connections in the pool.
    let warm: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.query(&BACKEND, &[]).await })
        })
        .collect();
    let mut before = Vec::new();
    for w in warm {
        before.push(w.await.unwrap().unwrap()[0].get::<_, i32>(0));
    }
    before.sort();
    before.dedup();
    assert!(
        before.len() >= 2,
        "the pool opened several connections: {before:?}"
    );

    let killed = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    assert!(killed as usize >= before.len(), "{killed} sessions killed");
    tokio::time::sleep(Duration::from_millis(100)).await;

    let reads: Vec<_> = (0..40)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.query(&READ_N, &[]).await })
        })
        .collect();
    for r in reads {
        let rows = r.await.unwrap().expect("no read fails after the kill");
        assert_eq!(rows[0].get::<_, i32>(0), 41);
    }
    let after = db.query(&BACKEND, &[]).await.unwrap()[0].get::<_, i32>(0);
    assert!(!before.contains(&after), "a new connection serves: {after}");
    let stats = db.stats();
    assert!(stats.failures.is_empty(), "{:?}", stats.failures);
}

/// Scenario 9: the connection is cut in the middle of a large result. The call fails
/// (never a partial result as success), and the connection is not reused.
#[tokio::test]
async fn a_connection_cut_mid_result_fails_the_call_and_is_destroyed() {
    let (url, _admin) = scratch("fault_cut", SCHEMA).await;
    let proxy = Toxiproxy::from_env()
        .proxy("rust_cut", &target_of(&url))
        .await;
    let db = db(&ONE_CONN, &[&via(&url, &proxy.listen)]).await;
    let full = db.query(&BIG, &[]).await.unwrap();
    assert_eq!(full.len(), 20000);
    let first = db.query(&BACKEND, &[]).await.unwrap()[0].get::<_, i32>(0);

    // The server's reply is cut after 200 kB of the ~10 MB result, on this and every
    // new connection, so each retry of the read is cut too.
    proxy
        .toxic("limit_data", serde_json::json!({ "bytes": 200_000 }))
        .await;
    let err = db
        .query(&BIG, &[])
        .await
        .expect_err("a cut result is an error, not fewer rows");
    assert!(
        matches!(err.class(), Class::Connection | Class::Timeout),
        "{err}"
    );

    proxy.remove_toxic("limit_data").await;
    let rows = db.query(&BIG, &[]).await.unwrap();
    assert_eq!(rows.len(), 20000, "the whole result once the link is sound");
    let now = db.query(&BACKEND, &[]).await.unwrap()[0].get::<_, i32>(0);
    assert_ne!(first, now, "the cut connection was not reused");
}

/// Scenario 6: the primary stops, its streaming standby is promoted. A write in flight
/// when the primary died is reported ambiguous and not retried; writes reach the new
/// primary within 5 s of the stop.
#[tokio::test]
async fn writes_reach_the_promoted_standby_within_five_seconds() {
    let primary = env("SQLPACT_TEST_FAILOVER_RUST_PRIMARY");
    let standby = env("SQLPACT_TEST_FAILOVER_RUST_STANDBY");
    let primary_dir = env("SQLPACT_TEST_FAILOVER_RUST_PRIMARY_DIR");
    connect(&primary)
        .await
        .batch_execute("CREATE TABLE marks (v text PRIMARY KEY)")
        .await
        .unwrap();
    let replica = connect(&standby).await;
    let t = Instant::now();
    while replica
        .query_opt("SELECT 1 FROM pg_class WHERE relname = 'marks'", &[])
        .await
        .unwrap()
        .is_none()
    {
        assert!(t.elapsed() < Duration::from_secs(10), "the standby replays");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let db = db(&POLICIES, &[&primary, &standby]).await;
    let roles: Vec<Role> = db.stats().hosts.iter().map(|h| h.role).collect();
    assert_eq!(roles, [Role::Primary, Role::Replica]);
    db.execute(&MARK, &[&"before"]).await.unwrap();
    let on_replica = db.query(&IN_RECOVERY, &[]).await.unwrap();
    assert!(
        on_replica[0].get::<_, bool>(0),
        "replica reads go to the standby"
    );

    let slow = {
        let db = db.clone();
        tokio::spawn(async move { db.execute(&SLOW_MARK, &[&"in-flight"]).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = Instant::now();
    let out = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/pg-extra.sh"
    ))
    .args(["halt", &primary_dir])
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = slow.await.unwrap().expect_err("the primary died under it");
    assert!(err.is_ambiguous(), "{err}");
    assert_eq!(db.stats().ambiguous, 1);

    replica
        .query_one("SELECT pg_promote(true, 30)", &[])
        .await
        .unwrap();
    let mut tries = 0;
    loop {
        tries += 1;
        match db.execute(&MARK, &[&"after"]).await {
            Ok(_) => break,
            Err(e) => assert!(
                stopped.elapsed() < Duration::from_secs(5),
                "no write reached the new primary within 5 s ({tries} tries): {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = stopped.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    let marks: Vec<String> = replica
        .query("SELECT v FROM marks ORDER BY v", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        marks,
        ["after", "before"],
        "the write landed on the new primary; the ambiguous one was not re-run"
    );
    let roles: Vec<Role> = db.stats().hosts.iter().map(|h| h.role).collect();
    assert_eq!(roles[1], Role::Primary, "{roles:?}");
    eprintln!("failover: writes on the new primary {took:?} after the stop ({tries} tries)");
}

/// Scenario 8: resets and a blackhole (toxiproxy). A reset after the statement was
/// sent makes a write ambiguous, applied at most once; a reset before anything is sent
/// is a plain connection error; a blackholed connection is given up at the statement's
/// deadline instead of hanging.
#[tokio::test]
async fn resets_are_classified_by_when_they_come_and_a_blackhole_meets_the_deadline() {
    let (url, _admin) = scratch("fault_reset", SCHEMA).await;
    let proxy = Toxiproxy::from_env()
        .proxy("rust_reset", &target_of(&url))
        .await;
    let db = db(&POLICIES, &[&via(&url, &proxy.listen)]).await;
    db.query(&READ_N, &[]).await.unwrap();

    let slow = {
        let db = db.clone();
        tokio::spawn(async move { db.execute(&SLOW_BUMP, &[]).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy
        .toxic("reset_peer", serde_json::json!({ "timeout": 0 }))
        .await;
    let err = slow.await.unwrap().expect_err("reset under the statement");
    assert!(err.is_ambiguous(), "after send: {err}");
    // Before send: the connection attempts are reset, and after three of them the
    // breaker opens; never ambiguous, since nothing reached the server.
    let err = db.execute(&BUMP, &[]).await.expect_err("every link resets");
    assert!(
        matches!(err.class(), Class::Connection | Class::BreakerOpen),
        "{err}"
    );
    assert!(!err.is_ambiguous(), "before send: {err}");
    assert!(
        err.to_string().contains("reset"),
        "the cause is named: {err}"
    );
    proxy.remove_toxic("reset_peer").await;

    // The ambiguous update ran at most once; the one refused before send not at all.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let n = connect(&url)
        .await
        .query_one("SELECT n FROM counter WHERE id = 1", &[])
        .await
        .unwrap()
        .get::<_, i32>(0);
    assert!((41..=42).contains(&n), "n = {n}");

    db.query(&READ_N, &[]).await.unwrap();
    proxy
        .toxic("timeout", serde_json::json!({ "timeout": 0 }))
        .await;
    let t = Instant::now();
    let err = db.query(&QUICK_READ, &[]).await.expect_err("blackholed");
    let took = t.elapsed();
    assert_eq!(err.class(), Class::Timeout, "{err}");
    assert!(
        took < Duration::from_millis(1500),
        "given up at the 500 ms deadline, not later: {took:?}"
    );
    proxy.remove_toxic("timeout").await;
}

#[derive(Default)]
struct BreakerLog(Mutex<Vec<BreakerState>>);

impl Observer for BreakerLog {
    fn on_event(&self, e: &Event<'_>) {
        if let Event::Breaker { state, .. } = e {
            self.0.lock().unwrap().push(*state);
        }
    }
}

/// Scenario 13: every connection fails, from the start. Retries stay within the retry
/// budget, the breaker opens, and every call fails with a connection or breaker error,
/// most of them fast.
#[tokio::test]
async fn under_total_failure_retries_stay_within_the_budget_and_the_breaker_opens() {
    let (url, _admin) = scratch("fault_total", SCHEMA).await;
    let proxy = Toxiproxy::from_env()
        .proxy("rust_total", &target_of(&url))
        .await;
    proxy
        .toxic("reset_peer", serde_json::json!({ "timeout": 0 }))
        .await;
    let stats = fail_every_call(
        &POLICIES,
        &via(&url, &proxy.listen),
        &READ_N,
        Class::Connection,
    )
    .await;
    assert!(
        stats.failures.get("breaker_open").copied().unwrap_or(0) > 100,
        "most of the 200 calls failed fast: {:?}",
        stats.failures
    );
}

/// The small retry budget scenario 13 runs with: 10% of the calls plus 10.
const SMALL_BUDGET: BudgetConfig = BudgetConfig {
    percent: 10,
    min_per_sec: 1,
    ttl_ms: 10_000,
};

/// Scenario 13's run: 200 calls of `st`, each failing with `class` or `breaker_open`,
/// under [`SMALL_BUDGET`]. Retries stay within the budget and the breaker opens; the
/// stats.
async fn fail_every_call(
    policies: &'static Policies,
    url: &str,
    st: &'static Statement,
    class: Class,
) -> sqlpact_runtime::Stats {
    let log = Arc::new(BreakerLog::default());
    let db = Db::builder(policies)
        .seed(13)
        .retry_budget(SMALL_BUDGET)
        .observer(log.clone())
        .host(url)
        .unwrap()
        .build()
        .await
        .unwrap();
    let calls = 200u64;
    for _ in 0..calls {
        let err = db.query(st, &[]).await.expect_err("nothing gets through");
        assert!(
            err.class() == class || err.class() == Class::BreakerOpen,
            "{err}"
        );
    }
    let stats = db.stats();
    let retries: u64 = stats.retries.values().sum();
    let b = SMALL_BUDGET;
    let allowed = b.min_per_sec * b.ttl_ms / 1000 + b.percent * calls / 100;
    assert!(
        retries <= allowed,
        "{retries} retries for {calls} calls, the budget allows {allowed}"
    );
    let states = log.0.lock().unwrap().clone();
    assert!(
        states
            .iter()
            .any(|s| matches!(s, BreakerState::Open { .. })),
        "the breaker opened: {states:?}"
    );
    stats
}

/// Every call refused by the server as if at its connection limit (`53300`, which
/// feeds the breaker and is retried after a backoff).
const REFUSING: &str = "CREATE FUNCTION refuse() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'too many' USING ERRCODE = '53300';
END $$;";
static REFUSED: Statement = read("Refused", "SELECT refuse()");

/// Scenario 13 again, with every statement refused by the server (so the host keeps its
/// role and every retry asks the budget) and a breaker that opens only on the failure
/// ratio (20 results, half failed): the retry budget binds first. Retries stay within
/// it, calls fail marked budget-exhausted, and the breaker still opens.
#[tokio::test]
async fn under_total_failure_the_budget_binds_before_a_slow_breaker_opens() {
    let (url, _admin) = scratch("fault_total_budget", REFUSING).await;
    let stats = fail_every_call(&LENIENT, &url, &REFUSED, Class::TooManyConnections).await;
    assert!(stats.budget_exhausted > 0, "the budget bound: {stats:?}");
    eprintln!(
        "total failure, slow breaker: {:?} retries, {} calls failed budget-exhausted, \
         failures {:?}",
        stats.retries, stats.budget_exhausted, stats.failures
    );
}

static SLOW_READ: Statement = read(
    "SlowRead",
    "SELECT n FROM counter, pg_sleep(0.05) WHERE id = 1",
);

/// Long enough a wait for a connection that the queue of calls never runs out of it.
static PATIENT: Policies = Policies {
    pool: PoolPolicy {
        acquire_timeout: Duration::from_secs(3),
        ..POLICIES.pool
    },
    ..POLICIES
};

/// Scenario 5: the server refuses connections beyond a limit (`53300`, the role may
/// open two). Calls back off within the retry budget, the connections already open
/// keep serving, and no call fails with anything but `too_many_connections` or an
/// open breaker.
#[tokio::test]
async fn too_many_connections_backs_off_while_open_connections_serve() {
    let (url, admin) = scratch("fault_limit", SCHEMA).await;
    let role = format!("limited_{}", std::process::id());
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'limited' CONNECTION LIMIT 2;
             GRANT ALL ON DATABASE {} TO {role}",
            url.rsplit_once('/').unwrap().1
        ))
        .await
        .unwrap();
    connect(&url)
        .await
        .batch_execute(&format!("GRANT SELECT ON counter TO {role}"))
        .await
        .unwrap();
    let (_, rest) = url.rsplit_once('@').unwrap();
    let limited = format!("postgresql://{role}:limited@{rest}");
    let db = db(&PATIENT, &[&limited]).await;
    let calls: Vec<_> = (0..24)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.query(&SLOW_READ, &[]).await })
        })
        .collect();
    let mut served = 0;
    for c in calls {
        match c.await.unwrap() {
            Ok(rows) => {
                assert_eq!(rows[0].get::<_, i32>(0), 41);
                served += 1;
            }
            Err(e) => assert!(
                matches!(e.class(), Class::TooManyConnections | Class::BreakerOpen),
                "{e}"
            ),
        }
    }
    let stats = db.stats();
    assert!(
        stats.hosts[0].size <= 2,
        "never more than the server allows: {stats:?}"
    );
    // Each pooled connection served, and serves on: a call after the burst is answered
    // by an idle one, whatever the breaker's state.
    assert!(
        served >= 2,
        "the open connections kept serving: {served} of 24"
    );
    db.query(&READ_N, &[]).await.expect("after the burst");
    assert!(
        stats
            .retries
            .get("too_many_connections")
            .copied()
            .unwrap_or(0)
            > 0,
        "the server refused connections: {stats:?}"
    );
    let retries: u64 = stats.retries.values().sum();
    let budget = BudgetConfig::default();
    assert!(
        retries <= budget.min_per_sec * budget.ttl_ms / 1000 + budget.percent * 24 / 100,
        "{stats:?}"
    );
    eprintln!(
        "53300: {served} of 24 served, {retries} retries, breaker {:?}",
        stats.hosts[0].breaker
    );
}

/// Deadlocks are found after `deadlock_timeout` (1 s by default): 100 ms here.
const LEDGER: &str = "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 6) g;
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET deadlock_timeout = ''100ms''', current_database());
END $$;";
static DEBIT: Statement = write(
    "Debit",
    "UPDATE accounts SET balance = balance - $2 WHERE id = $1",
);
static CREDIT: Statement = write(
    "Credit",
    "UPDATE accounts SET balance = balance + $2 WHERE id = $1",
);

/// Scenario 11: concurrent SERIALIZABLE transfers between a few accounts, each debiting
/// then crediting (so two transfers in opposite directions lock in opposite orders).
/// Serialization failures and deadlocks re-run whole transactions within the policy's
/// attempts; every balance is what the committed transfers make it, and the total
/// never changes.
#[tokio::test]
async fn serializable_transfers_keep_the_sum_and_rerun_within_the_policy() {
    let (url, _admin) = scratch("transfers", LEDGER).await;
    let db = db(&PATIENT, &[&url]).await;
    let committed = Arc::new(Mutex::new(Vec::<(i32, i32, i64)>::new()));
    let max_calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let tasks: Vec<_> = (0..12u64)
        .map(|t| {
            let (db, committed, max_calls) = (db.clone(), committed.clone(), max_calls.clone());
            async move {
                let mut rng = sqlpact_runtime::SplitMix64::new(t);
                let mut failed = Vec::new();
                for _ in 0..8 {
                    // Accounts 1..=6; `to` differs from `from`.
                    let from = 1 + rng.uniform(5) as i32;
                    let to = (from + rng.uniform(4) as i32) % 6 + 1;
                    let amount = 1 + rng.uniform(49) as i64;
                    let calls = std::sync::atomic::AtomicU32::new(0);
                    let res = db
                        .transaction(sqlpact_runtime::TxOptions::serializable(), async |tx| {
                            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            tx.execute(&DEBIT, &[&from, &amount]).await?;
                            // Widen the window in which the other direction's locks are
                            // taken.
                            tokio::time::sleep(Duration::from_millis(3)).await;
                            tx.execute(&CREDIT, &[&to, &amount]).await?;
                            Ok(())
                        })
                        .await;
                    let n = calls.load(std::sync::atomic::Ordering::SeqCst);
                    max_calls.fetch_max(n, std::sync::atomic::Ordering::SeqCst);
                    match res {
                        Ok(()) => committed.lock().unwrap().push((from, to, amount)),
                        Err(e) => failed.push(e),
                    }
                }
                failed
            }
        })
        .collect();
    // Run side by side on this task (a transaction's closure borrows from its caller).
    let failed: Vec<_> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .flatten()
        .collect();
    for e in &failed {
        assert!(
            matches!(e.class(), Class::Serialization | Class::Deadlock),
            "a transfer failed otherwise: {e}"
        );
    }
    let mut expect = [1000i64; 7];
    let committed = std::mem::take(&mut *committed.lock().unwrap());
    for &(from, to, amount) in committed.iter() {
        expect[from as usize] -= amount;
        expect[to as usize] += amount;
    }
    let rows = connect(&url)
        .await
        .query("SELECT id, balance FROM accounts ORDER BY id", &[])
        .await
        .unwrap();
    let mut total = 0;
    for r in &rows {
        let (id, balance): (i32, i64) = (r.get(0), r.get(1));
        assert_eq!(balance, expect[id as usize], "account {id}");
        total += balance;
    }
    assert_eq!(total, 6000, "the sum of the balances");
    let s = db.stats();
    assert!(
        s.transaction_reruns > 0,
        "the transfers conflicted (the scenario's point): {s:?}"
    );
    assert!(
        max_calls.load(std::sync::atomic::Ordering::SeqCst) <= RETRY.backoff.max_attempts,
        "a transaction ran more often than its policy allows"
    );
    eprintln!(
        "transfers: {} committed, {} failed, {} re-runs, {:?} retries",
        committed.len(),
        failed.len(),
        s.transaction_reruns,
        s.retries
    );
    assert_eq!(committed.len() + failed.len(), 96);
    assert!(
        committed.len() >= 48,
        "most transfers commit: {}",
        committed.len()
    );
}

/// What the runtime did, and when: the events the scenarios below read.
#[derive(Debug, Clone)]
enum Seen {
    Retry {
        statement: String,
        class: Class,
        delay: Duration,
    },
    Failed {
        class: Class,
    },
    Breaker(BreakerState),
    Closed(String),
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(Instant, Seen)>>);

impl Recorder {
    fn events(&self) -> Vec<(Instant, Seen)> {
        self.0.lock().unwrap().clone()
    }
}

impl Observer for Recorder {
    fn on_event(&self, e: &Event<'_>) {
        let seen = match *e {
            Event::Retry {
                statement,
                class,
                delay,
                ..
            } => Seen::Retry {
                statement: statement.to_owned(),
                class,
                delay,
            },
            Event::Failed { class, .. } => Seen::Failed { class },
            Event::Breaker { state, .. } => Seen::Breaker(state),
            Event::ConnectionClosed { reason, .. } => Seen::Closed(reason.to_owned()),
            _ => return,
        };
        self.0.lock().unwrap().push((Instant::now(), seen));
    }
}

async fn recorded_db(policies: &'static Policies, url: &str, seed: u64) -> (Db, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let db = Db::builder(policies)
        .seed(seed)
        .observer(rec.clone())
        .host(url)
        .unwrap()
        .build()
        .await
        .unwrap();
    (db, rec)
}

fn pg_extra(args: &[&str]) {
    let out = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/pg-extra.sh"
    ))
    .args(args)
    .output()
    .unwrap();
    assert!(out.status.success(), "pg-extra.sh {args:?}: {out:?}");
}

/// The `connection received` lines of a server's log (`log_connections`): its dials.
fn dials_logged(dir: &str) -> usize {
    std::fs::read_to_string(format!("{dir}/log"))
        .unwrap()
        .matches("connection received")
        .count()
}

static RESTART_PID: Statement = Statement {
    timeout: Duration::from_secs(2),
    ..read("RestartPid", "SELECT pg_backend_pid()")
};

/// One call's outcome: when it started and ended, and the backend pid or the class.
type Outcome = (Instant, Instant, Result<i32, Class>);

/// Scenario 3: the server stops at once and starts again, refusing connections with
/// `57P03` while it recovers (1.5 s). Dead pooled connections cost at most one failed
/// attempt each, the breaker bounds the dials while the server refuses, and reads are
/// served again at the breaker's first probe after the server takes connections.
#[tokio::test]
async fn a_fast_restart_costs_few_attempts_bounds_dials_and_recovers_at_the_next_probe() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let url = env("SQLPACT_TEST_RESTART_RUST_URL");
    let dir = env("SQLPACT_TEST_RESTART_RUST_DIR");
    let (db, rec) = recorded_db(&POLICIES, &url, 3).await;
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (db, stop) = (db.clone(), stop.clone());
            tokio::spawn(async move {
                let mut out: Vec<Outcome> = Vec::new();
                while !stop.load(Relaxed) {
                    let t = Instant::now();
                    let r = db.query(&RESTART_PID, &[]).await;
                    let r = r.map(|rows| rows[0].get(0)).map_err(|e| e.class());
                    out.push((t, Instant::now(), r));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                out
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dials_before = dials_logged(&dir);
    let restart = Instant::now();
    tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || pg_extra(&["restart", &dir, "1.5"])
    })
    .await
    .unwrap();
    let serving = Instant::now();
    let dials = dials_logged(&dir) - dials_before;
    // Long enough for the breaker's longest open delay (16 × open_for) and then some.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    stop.store(true, Relaxed);
    let mut outcomes: Vec<Outcome> = Vec::new();
    for w in workers {
        let out = w.await.unwrap();
        assert!(
            matches!(out.last(), Some((_, _, Ok(_)))),
            "every worker is served again"
        );
        outcomes.extend(out);
    }
    let before: std::collections::HashSet<i32> = outcomes
        .iter()
        .filter(|(_, end, _)| *end < restart)
        .filter_map(|(_, _, r)| r.ok())
        .collect();
    assert!(!before.is_empty(), "reads were served before the restart");
    let mut by_class = std::collections::BTreeMap::<&str, usize>::new();
    let mut first_served: Option<Instant> = None;
    for (_, end, r) in &outcomes {
        match r {
            // Served by the old server in the moments before it stopped.
            Ok(pid) if before.contains(pid) => {
                assert!(*end < serving, "a read after the restart on an old session");
            }
            Ok(_) => first_served = Some(first_served.map_or(*end, |f| f.min(*end))),
            Err(c) => {
                assert!(
                    matches!(
                        c,
                        Class::ServerShutdown
                            | Class::Connection
                            | Class::BreakerOpen
                            | Class::Timeout
                    ),
                    "{c:?}"
                );
                *by_class.entry(c.as_str()).or_default() += 1;
            }
        }
    }
    let first_served = first_served.expect("a read was served after the restart");
    // Every call started after the first success on the new server is served.
    for (start, _, r) in &outcomes {
        assert!(
            *start < first_served || r.is_ok(),
            "once served again, reads keep being served: {r:?}"
        );
    }
    let events = rec.events();
    // An attempt that failed without reaching the server is a refused dial or a pooled
    // connection the restart killed: at most one per pooled connection.
    let failed_attempts = events
        .iter()
        .filter(|(t, e)| {
            *t > restart
                && match e {
                    Seen::Retry { class, .. } | Seen::Failed { class, .. } => {
                        *class != Class::BreakerOpen
                    }
                    _ => false,
                }
        })
        .count();
    assert!(
        failed_attempts <= dials + POLICIES.pool.max_size as usize,
        "{failed_attempts} failed attempts for {dials} dials"
    );
    // Four callers retrying every 10 ms would dial well over a hundred times in 1.5 s.
    assert!(dials <= 20, "{dials} dials while the server refused");
    // The first probe after the server serves succeeds and closes the breaker.
    let probes_after: Vec<&Seen> = events
        .iter()
        .filter(|(t, e)| *t > serving && matches!(e, Seen::Breaker(_)))
        .map(|(_, e)| e)
        .collect();
    assert!(
        matches!(
            probes_after.as_slice(),
            [
                Seen::Breaker(BreakerState::HalfOpen),
                Seen::Breaker(BreakerState::Closed),
                ..
            ] | [Seen::Breaker(BreakerState::Closed), ..]
        ),
        "{probes_after:?}"
    );
    let lag = first_served.saturating_duration_since(serving);
    let max_open = POLICIES.breaker.open_for * 16;
    assert!(lag <= max_open, "served again {lag:?} after the server was");
    eprintln!(
        "restart: down {:?}, {dials} dials, {failed_attempts} failed attempts, served again \
         {lag:?} after the server was, failed calls {by_class:?}",
        serving - restart
    );
}

/// A read that the server refuses now and then with `55P03` (lock not available), which
/// the runtime retries after a backoff.
const FLAKY: &str = "CREATE FUNCTION flaky() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  IF random() < 0.3 THEN
    RAISE EXCEPTION 'busy' USING ERRCODE = '55P03';
  END IF;
  RETURN 1;
END $$;";

const fn lagged(name: &'static str, sql: &'static str) -> Statement {
    Statement {
        timeout: Duration::from_millis(250),
        ..read(name, sql)
    }
}

/// Timeouts feed the breaker; this scenario is about deadlines, so it stays closed.
static LENIENT: Policies = Policies {
    breaker: BreakerPolicy {
        failure_threshold: 1000,
        open_for: Duration::from_millis(200),
    },
    ..POLICIES
};

/// One statement per caller, so that the runtime's events name the call they belong to;
/// one of them slow enough that the latency often makes it miss its deadline.
static LAGGED: [Statement; 8] = [
    lagged("Lagged0", "SELECT flaky()"),
    lagged("Lagged1", "SELECT flaky()"),
    lagged("Lagged2", "SELECT flaky()"),
    lagged("Lagged3", "SELECT flaky()"),
    lagged("Lagged4", "SELECT flaky()"),
    lagged("Lagged5", "SELECT flaky()"),
    lagged("Lagged6", "SELECT flaky()"),
    lagged("Slow7", "SELECT flaky() FROM pg_sleep(0.2)"),
];

/// Scenario 7: every reply comes 0–50 ms late (toxiproxy latency with jitter) against a
/// 250 ms deadline, and the server refuses some calls with a retryable error. No call
/// outlives its deadline, and no backoff sleeps past it.
#[tokio::test]
async fn under_jittered_latency_no_call_or_backoff_outlives_its_deadline() {
    let (url, _admin) = scratch("fault_latency", FLAKY).await;
    let proxy = Toxiproxy::from_env()
        .proxy("rust_latency", &target_of(&url))
        .await;
    proxy
        .toxic(
            "latency",
            serde_json::json!({ "latency": 25, "jitter": 25 }),
        )
        .await;
    let (db, rec) = recorded_db(&LENIENT, &via(&url, &proxy.listen), 7).await;
    let workers: Vec<_> = LAGGED
        .iter()
        .map(|st| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut calls = Vec::new();
                for _ in 0..20 {
                    let t = Instant::now();
                    let r = db.query(st, &[]).await.map(|_| ()).map_err(|e| e.class());
                    calls.push((st, t, Instant::now(), r));
                }
                calls
            })
        })
        .collect();
    let mut calls = Vec::new();
    for w in workers {
        calls.extend(w.await.unwrap());
    }
    // Scheduling noise on a busy machine; a backoff past the deadline is checked closely
    // below.
    let slack = Duration::from_millis(100);
    let (mut served, mut timed_out, mut refused, mut fast) = (0, 0, 0, 0);
    let mut slowest = Duration::ZERO;
    for (st, start, end, r) in &calls {
        let took = *end - *start;
        slowest = slowest.max(took);
        assert!(
            took <= st.timeout + slack,
            "a call took {took:?} with a deadline of {:?}",
            st.timeout
        );
        match r {
            Ok(()) => served += 1,
            Err(Class::Timeout) => timed_out += 1,
            // Its retries ran out within the deadline.
            Err(Class::LockNotAvailable) => refused += 1,
            // Timeouts feed the breaker: half the calls of the last 10 s open it.
            Err(Class::BreakerOpen) => fast += 1,
            Err(c) => assert_eq!(*c, Class::PoolTimeout),
        }
    }
    let mut retries = 0;
    for (at, e) in rec.events() {
        let Seen::Retry {
            statement, delay, ..
        } = e
        else {
            continue;
        };
        retries += 1;
        let (st, start, _, _) = calls
            .iter()
            .find(|(st, start, end, _)| st.name == statement && *start <= at && at <= *end)
            .expect("a retry belongs to a call");
        let (wakes, deadline) = (at + delay, *start + st.timeout);
        // The test's clock starts before the runtime's, and the event comes a moment
        // after the delay was drawn: a few milliseconds, where a backoff ignoring the
        // deadline would overshoot by most of itself.
        assert!(
            wakes <= deadline + Duration::from_millis(5),
            "a backoff of {delay:?} sleeps {:?} past the deadline",
            wakes - deadline
        );
    }
    // Both outcomes, and retries: the deadline and the backoff were exercised.
    assert!(
        served > 0 && timed_out > 0 && retries > 0,
        "{served} served, {timed_out} timed out, {refused} refused, {retries} retries"
    );
    eprintln!(
        "latency: {served} served, {timed_out} timed out, {refused} refused to the end, \
         {fast} failed fast (breaker) of {} calls; {retries} retries; slowest call {slowest:?}",
        calls.len()
    );
}

/// Every connection lives 2 s plus a random share of 2 s; all are replaced in the
/// background to keep eight open.
static EXPIRING: Policies = Policies {
    pool: PoolPolicy {
        max_size: 8,
        min_idle: 8,
        max_lifetime: Duration::from_secs(2),
        lifetime_jitter: Duration::from_secs(2),
        ..POLICIES.pool
    },
    ..POLICIES
};

/// The `q`-quantile of sorted `xs`.
fn quantile(xs: &[Duration], q: f64) -> Duration {
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

/// Scenario 12: eight connections opened together all reach their lifetime during a
/// steady load. With lifetime jitter their replacements spread out, and acquiring a
/// connection stays quick throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifetime_jitter_spreads_reconnects_and_acquire_stays_quick() {
    let (url, _admin) = scratch("fault_lifetime", SCHEMA).await;
    let rec = Arc::new(Recorder::default());
    let db = Db::builder(&EXPIRING)
        .seed(12)
        .observer(rec.clone())
        .maintenance_every(Duration::from_millis(100))
        .host(&url)
        .unwrap()
        .build()
        .await
        .unwrap();
    // Opened together, so that without jitter they would expire together.
    let held = futures_util::future::join_all((0..8).map(|_| db.checkout())).await;
    let opened = Instant::now();
    drop(held);
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut waits = Vec::new();
                while opened.elapsed() < Duration::from_secs(6) {
                    let t = Instant::now();
                    let c = db.checkout().await.expect("a connection");
                    waits.push(t.elapsed());
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    drop(c);
                }
                waits
            })
        })
        .collect();
    let mut waits = Vec::new();
    for w in workers {
        waits.extend(w.await.unwrap());
    }
    waits.sort();
    let expired: Vec<Duration> = rec
        .events()
        .into_iter()
        .filter(|(_, e)| matches!(e, Seen::Closed(r) if r == "expired"))
        .map(|(t, _)| t.saturating_duration_since(opened))
        .collect();
    assert!(
        expired.len() >= 8,
        "every connection was replaced: {expired:?}"
    );
    let first = &expired[..8];
    let span = first[7] - first[0];
    assert!(
        span >= Duration::from_secs(1),
        "replaced together: {first:?}"
    );
    let crowded = first
        .iter()
        .map(|&t| {
            first
                .iter()
                .filter(|&&u| u >= t && u - t < Duration::from_millis(250))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        crowded <= 4,
        "{crowded} of 8 replaced within 250 ms: {first:?}"
    );
    let (p50, p99, max) = (
        quantile(&waits, 0.5),
        quantile(&waits, 0.99),
        waits[waits.len() - 1],
    );
    assert!(p99 < Duration::from_millis(5), "acquire p99 {p99:?}");
    eprintln!(
        "lifetime: {} acquires, p50 {p50:?}, p99 {p99:?}, max {max:?}; the first 8 replaced \
         at {first:?} ({} in all)",
        waits.len(),
        expired.len()
    );
}

/// A TCP gate in front of a server: open, it forwards; shut, it cuts every forwarded
/// connection and holds each new one without answering (a dial that hangs until the
/// client gives up). It counts the dials it holds at once.
struct Gate {
    addr: String,
    open: tokio::sync::watch::Sender<bool>,
    held: Arc<std::sync::atomic::AtomicUsize>,
    most_held: Arc<std::sync::atomic::AtomicUsize>,
    dials: Arc<std::sync::atomic::AtomicUsize>,
}

impl Gate {
    async fn new(upstream: String) -> Gate {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (open, state) = tokio::sync::watch::channel(true);
        let held = Arc::new(AtomicUsize::new(0));
        let most_held = Arc::new(AtomicUsize::new(0));
        let dials = Arc::new(AtomicUsize::new(0));
        let (h, m, d) = (held.clone(), most_held.clone(), dials.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                d.fetch_add(1, SeqCst);
                let (mut state, upstream, h, m) =
                    (state.clone(), upstream.clone(), h.clone(), m.clone());
                tokio::spawn(async move {
                    if *state.borrow_and_update() {
                        let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = state.wait_for(|open| !open) => {}
                        }
                        return;
                    }
                    m.fetch_max(h.fetch_add(1, SeqCst) + 1, SeqCst);
                    let mut buf = [0u8; 1024];
                    loop {
                        tokio::select! {
                            n = tokio::io::AsyncReadExt::read(&mut client, &mut buf) => {
                                if !matches!(n, Ok(n) if n > 0) { break; }
                            }
                            _ = state.wait_for(|open| *open) => break,
                        }
                    }
                    h.fetch_sub(1, SeqCst);
                });
            }
        });
        Gate {
            addr,
            open,
            held,
            most_held,
            dials,
        }
    }

    fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }

    /// Starts counting the most dials held at once afresh.
    fn reset_most_held(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.most_held.store(self.held.load(SeqCst), SeqCst);
    }
}

static OUTAGE_READ: Statement = Statement {
    timeout: Duration::from_secs(1),
    ..read("OutageRead", "SELECT n FROM counter WHERE id = 1")
};

/// Scenario 4: the server is unreachable for 30 s (`SQLPACT_TEST_OUTAGE_SECS`; longer
/// for a soak): connections cut, new dials hang. The breaker opens, calls fail fast
/// (p99 under 5 ms), at most one dial is in flight, and service comes back after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_opens_the_breaker_fails_fast_with_one_dial_and_recovers() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let outage = Duration::from_secs(
        std::env::var("SQLPACT_TEST_OUTAGE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30u64)
            .max(3),
    );
    let (url, _admin) = scratch("fault_outage", SCHEMA).await;
    let gate = Gate::new(target_of(&url)).await;
    let (db, rec) = recorded_db(&POLICIES, &via(&url, &gate.addr), 4).await;
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (db, stop) = (db.clone(), stop.clone());
            tokio::spawn(async move {
                let mut out: Vec<(Instant, Duration, Result<(), Class>)> = Vec::new();
                while !stop.load(SeqCst) {
                    let t = Instant::now();
                    let r = db.query(&OUTAGE_READ, &[]).await;
                    out.push((t, t.elapsed(), r.map(|_| ()).map_err(|e| e.class())));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                out
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let down = Instant::now();
    gate.set_open(false);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = Instant::now();
    gate.reset_most_held();
    let dials_before = gate.dials.load(SeqCst);
    tokio::time::sleep(outage - Duration::from_secs(2)).await;
    let most_held = gate.most_held.load(SeqCst);
    let dials = gate.dials.load(SeqCst) - dials_before;
    let up = Instant::now();
    gate.set_open(true);
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, SeqCst);
    let mut calls = Vec::new();
    for w in workers {
        let out = w.await.unwrap();
        // Served before the outage; served again within 4 s of its end, and from then on.
        assert!(out.iter().any(|(t, _, r)| *t < down && r.is_ok()));
        let back = out
            .iter()
            .find(|(t, _, r)| *t >= up && r.is_ok())
            .map(|(t, _, _)| *t)
            .expect("served after the outage");
        assert!(
            back - up <= Duration::from_secs(4),
            "served again {:?} after",
            back - up
        );
        for (t, _, r) in &out {
            assert!(*t < back || r.is_ok(), "failed after recovery: {r:?}");
        }
        calls.extend(out);
    }
    let mut during: Vec<Duration> = calls
        .iter()
        .filter(|(t, took, _)| *t >= settled && *t + *took <= up)
        .map(|(_, took, _)| *took)
        .collect();
    during.sort();
    assert!(
        during.len() > 100,
        "{} calls during the outage",
        during.len()
    );
    let (p50, p99) = (quantile(&during, 0.5), quantile(&during, 0.99));
    assert!(p99 < Duration::from_millis(5), "fail-fast p99 {p99:?}");
    assert!(most_held <= 1, "{most_held} dials in flight at once");
    assert!(
        rec.events()
            .iter()
            .any(|(_, e)| matches!(e, Seen::Breaker(BreakerState::Open { .. }))),
        "the breaker opened"
    );
    eprintln!(
        "outage of {outage:?}: {} calls after the first 2 s, p50 {p50:?}, p99 {p99:?}; {dials} \
         dials, at most {most_held} at once",
        during.len()
    );
}

/// Every change of the counter is recorded, committed with it.
const AUDITED: &str = "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL);
INSERT INTO counter VALUES (1, 41);
CREATE TABLE audit (n int NOT NULL);
CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit VALUES (NEW.n);
  RETURN NEW;
END $$;
CREATE TRIGGER audit AFTER UPDATE ON counter FOR EACH ROW EXECUTE FUNCTION audit();";

static KILLED_READ: Statement = read(
    "KilledRead",
    "SELECT n FROM counter, pg_sleep(0.6) WHERE id = 1",
);
static KILLED_BUMP: Statement = write(
    "KilledBump",
    "UPDATE counter SET n = n + 1 FROM pg_sleep(0.6) WHERE id = 1",
);
static TX_BUMP: Statement = write("TxBump", "UPDATE counter SET n = n + 1 WHERE id = 1");
/// Killed inside a transaction: a write, so that only the transaction's re-run may
/// repeat it.
static TX_SLOW_BUMP: Statement = write(
    "TxSlowBump",
    "UPDATE counter SET n = n + 1 FROM pg_sleep(0.6) WHERE id = 1 AND 'in a transaction' <> ''",
);

/// Terminates, once, the session of this database running a statement that contains
/// `marker`, while it sleeps (other tests run beside this one); its pid.
async fn kill_running(admin: &tokio_postgres::Client, marker: &str) -> i32 {
    let t = Instant::now();
    loop {
        let row = admin
            .query_opt(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND state = 'active'
                   AND wait_event = 'PgSleep' AND query LIKE '%' || $1 || '%'
                   AND pid <> pg_backend_pid()",
                &[&marker],
            )
            .await
            .unwrap();
        if let Some(row) = row {
            return row.get(0);
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "nothing runs {marker}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn audited(url: &str) -> (i32, i64) {
    let c = connect(url).await;
    let n = c
        .query_one("SELECT n FROM counter WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    let audits = c
        .query_one("SELECT count(*) FROM audit", &[])
        .await
        .unwrap()
        .get(0);
    (n, audits)
}

/// Scenario 2: the server kills the session running a statement. An idempotent read
/// is retried transparently; an UPDATE is reported ambiguous and applied at most once
/// (the audit table says); an explicit transaction is re-run whole and commits once.
#[tokio::test]
async fn a_statement_killed_mid_flight_is_retried_reported_or_rerun_as_it_allows() {
    let (url, admin) = scratch("fault_killed", AUDITED).await;
    let admin_db = connect(&url).await;
    drop(admin);
    let db = db(&PATIENT, &[&url]).await;

    let read = {
        let db = db.clone();
        tokio::spawn(async move { db.query(&KILLED_READ, &[]).await })
    };
    let killed = kill_running(&admin_db, "pg_sleep(0.6) WHERE id").await;
    let rows = read.await.unwrap().expect("the read is retried");
    assert_eq!(rows[0].get::<_, i32>(0), 41);
    assert_eq!(db.stats().retries.get("server_shutdown"), Some(&1));
    assert_ne!(
        db.query(&BACKEND, &[]).await.unwrap()[0].get::<_, i32>(0),
        killed
    );

    let bump = {
        let db = db.clone();
        tokio::spawn(async move { db.execute(&KILLED_BUMP, &[]).await })
    };
    kill_running(&admin_db, "UPDATE counter SET n = n + 1 FROM pg_sleep").await;
    let err = bump.await.unwrap().expect_err("killed under it");
    assert!(err.is_ambiguous(), "{err}");
    assert_eq!(err.attempt_count(), 1, "never re-sent: {err}");
    let (n, audits) = audited(&url).await;
    assert!(
        n <= 42 && audits <= 1 && i64::from(n - 41) == audits,
        "n {n}, {audits} audits"
    );

    let runs = std::sync::atomic::AtomicU32::new(0);
    let tx = db.transaction(sqlpact_runtime::TxOptions::default(), async |tx| {
        let run = runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tx.execute(&TX_BUMP, &[]).await?;
        tx.execute(&TX_SLOW_BUMP, &[]).await?;
        Ok(run)
    });
    let kill = async {
        kill_running(&admin_db, "'in a transaction'").await;
    };
    let (committed_on, ()) = tokio::join!(tx, kill);
    assert_eq!(
        committed_on.expect("the transaction is re-run"),
        1,
        "re-run once"
    );
    let (n2, audits2) = audited(&url).await;
    assert_eq!(
        (n2 - n, audits2 - audits),
        (2, 2),
        "the killed run left nothing, the re-run committed its two updates once"
    );
    eprintln!(
        "killed mid-flight: the read retried, the update ambiguous (applied {audits} times), \
         the transaction re-run and committed once; retries {:?}",
        db.stats().retries
    );
}

static PAUSED_READ: Statement = read(
    "PausedRead",
    "SELECT n FROM counter, pg_sleep($1::float8) WHERE id = 1",
);
static PAUSED_BUMP: Statement = write(
    "PausedBump",
    "UPDATE counter SET n = n + 1 FROM pg_sleep($1::float8) WHERE id = 1",
);
static LONG_READ: Statement = read("LongRead", "SELECT 'long read', pg_sleep(5)");
static LONG_WRITE: Statement = write(
    "LongWrite",
    "UPDATE counter SET n = n FROM pg_sleep(5) WHERE id = 1 AND 'long write' <> ''",
);

/// How many sessions run a statement containing `marker`.
async fn active(admin: &tokio_postgres::Client, marker: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND state = 'active'
               AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()",
            &[&marker],
        )
        .await
        .unwrap()
        .get(0)
}

/// Whether a session runs a statement containing `marker` within 250 ms.
async fn running(admin: &tokio_postgres::Client, marker: &str) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(250) {
        if active(admin, marker).await > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// Waits until no session runs a statement containing `marker`; how long that took.
async fn gone(admin: &tokio_postgres::Client, marker: &str) -> Duration {
    let t = Instant::now();
    while active(admin, marker).await > 0 {
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "the server still runs `{marker}` 1 s after its caller gave up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.elapsed()
}

/// Scenario 10: 16 callers give up on reads, writes and transactions at random moments
/// (a timeout of 0–60 ms drops the call wherever it waits). Nobody waits past their
/// limit, the pool's capacity is all there afterwards, and a statement given up on
/// stops running on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_given_up_at_random_points_leak_nothing_and_the_server_sees_the_cancel() {
    let (url, _admin) = scratch("fault_cancel", SCHEMA).await;
    let admin = connect(&url).await;
    let db = Db::builder(&POLICIES)
        .seed(10)
        .maintenance_every(Duration::from_millis(100))
        .host(&url)
        .unwrap()
        .build()
        .await
        .unwrap();
    let start = Instant::now();
    let tasks: Vec<_> = (0..16u64)
        .map(|task| {
            let db = db.clone();
            async move {
                let mut rng = sqlpact_runtime::SplitMix64::new(task);
                let (mut ok, mut gave_up) = (0, 0);
                while start.elapsed() < Duration::from_secs(3) {
                    let op = rng.uniform(3);
                    let pause = rng.uniform(10) as f64 / 1000.0;
                    let limit = Duration::from_millis(rng.uniform(60));
                    let call = async {
                        match op {
                            0 => db.query(&PAUSED_READ, &[&pause]).await.map(|_| ()),
                            1 => db.execute(&PAUSED_BUMP, &[&pause]).await.map(|_| ()),
                            _ => {
                                db.transaction(Default::default(), async |tx| {
                                    tx.execute(&TX_BUMP, &[]).await?;
                                    tx.query(&PAUSED_READ, &[&pause]).await?;
                                    Ok(())
                                })
                                .await
                            }
                        }
                    };
                    let t = Instant::now();
                    let r = tokio::time::timeout(limit, call).await;
                    let took = t.elapsed();
                    // A stuck waiter would wait out the pool (500 ms) or its
                    // statement; the margin is for a busy machine's scheduling.
                    assert!(
                        took <= limit + Duration::from_millis(250),
                        "a call given {limit:?} took {took:?}"
                    );
                    match r {
                        Ok(Ok(())) => ok += 1,
                        Err(_) => gave_up += 1,
                        // A cancel that hit another caller's statement would show here.
                        Ok(Err(e)) => panic!("a call failed: {e}"),
                    }
                }
                (ok, gave_up)
            }
        })
        .collect();
    // Side by side on this task: a transaction's closure borrows from its caller.
    let (mut ok, mut gave_up) = (0, 0);
    for (o, g) in futures_util::future::join_all(tasks).await {
        (ok, gave_up) = (ok + o, gave_up + g);
    }
    assert!(ok > 0 && gave_up > 0, "{ok} served, {gave_up} given up");

    // The whole pool can be held at once again: nothing leaked.
    let t = Instant::now();
    loop {
        let held = futures_util::future::join_all((0..4).map(|_| db.checkout())).await;
        if held.iter().all(|c| c.is_ok()) {
            break;
        }
        drop(held);
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "the pool's capacity came back: {:?}",
            db.stats()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = t.elapsed();
    let host = &db.stats().hosts[0];
    assert!(host.waiting == 0 && host.size <= 4, "{host:?}");

    // A read and a write given up on stop running on the server.
    let mut stopped = Vec::new();
    for (st, marker) in [(&LONG_READ, "'long read'"), (&LONG_WRITE, "'long write'")] {
        let call = tokio::time::timeout(Duration::from_millis(100), db.query(st, &[]));
        // The statement must reach the server before its caller gives up, or its
        // absence afterwards would prove nothing.
        let (r, ran) = tokio::join!(call, running(&admin, marker));
        assert!(r.is_err() && ran, "given up while the server ran it");
        stopped.push(gone(&admin, marker).await);
    }
    db.query(&READ_N, &[]).await.expect("still serving");
    eprintln!(
        "cancellation: {ok} served, {gave_up} given up, none failed otherwise; the pool \
         whole again after {recovered:?}; the server stopped the abandoned read and write \
         after {stopped:?}"
    );
}
