//! The runtime against a real PostgreSQL (DATABASE_URL, set by scripts/test.sh): each
//! behaviour of docs/runtime.md, with a scratch database per test. Outages are made
//! with a TCP proxy in front of the server that the test switches off and on.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlpact_runtime::{
    BackoffPolicy, BreakerPolicy, BreakerState, Class, Db, Event, Executor, IdempotencyKey, Jitter,
    Observer, Policies, PoolPolicy, ResultColumn, RetryPolicy, Role, Route, Statement, TxOptions,
};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio_postgres::Client;

mod common;
use common::{base_url, connect, target_of};

static FAST: RetryPolicy = RetryPolicy {
    name: "standard",
    backoff: BackoffPolicy {
        base: Duration::from_millis(5),
        cap: Duration::from_millis(40),
        max_attempts: 4,
        multiplier: 2.0,
        jitter: Jitter::Full,
    },
};

static POLICIES: Policies = Policies {
    contract: "runtime-test",
    version: "0.0.0",
    pool: PoolPolicy {
        max_size: 4,
        min_idle: 0,
        acquire_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(60),
        max_lifetime: Duration::from_secs(1800),
        lifetime_jitter: Duration::from_secs(0),
    },
    breaker: BreakerPolicy {
        failure_threshold: 3,
        open_for: Duration::from_millis(300),
    },
    retry: &[&FAST],
    statements: &[],
};

static ONE_CONN: Policies = Policies {
    pool: PoolPolicy {
        max_size: 1,
        acquire_timeout: Duration::from_millis(200),
        ..POLICIES.pool
    },
    ..POLICIES
};

const fn st(name: &'static str, sql: &'static str) -> Statement {
    Statement {
        name,
        command: "exec",
        sql,
        read_only: false,
        idempotent: false,
        route: Route::Primary,
        timeout: Duration::from_secs(5),
        retry: &FAST,
        idempotency: None,
        expect_one_row: false,
    }
}

static READ_N: Statement = Statement {
    command: "one",
    read_only: true,
    idempotent: true,
    ..st("ReadN", "SELECT n FROM counter WHERE id = 1")
};
static BUMP_N: Statement = st("BumpN", "UPDATE counter SET n = n + 1 WHERE id = 1");
static SLOW_INSERT: Statement = st(
    "SlowInsert",
    "INSERT INTO log (v) SELECT $1::text FROM pg_sleep(0.6)",
);
static SLOW_INSERT_IDEMPOTENT: Statement = Statement {
    idempotent: true,
    ..st(
        "SlowInsertIdempotent",
        "INSERT INTO log (v) SELECT $1::text FROM pg_sleep(0.6)",
    )
};
static SLEEP: Statement = Statement {
    command: "one",
    timeout: Duration::from_millis(300),
    ..st("Sleep", "SELECT pg_sleep(5)")
};
static TRANSFER_COLUMNS: [ResultColumn; 3] = [
    ResultColumn {
        name: "id",
        pg_type: "int4",
    },
    ResultColumn {
        name: "amount",
        pg_type: "numeric",
    },
    ResultColumn {
        name: "tags",
        pg_type: "text[]",
    },
];
static TRANSFER_KEY: IdempotencyKey = IdempotencyKey {
    param: 0,
    param_type: "text",
    columns: &TRANSFER_COLUMNS,
};
static CREATE_TRANSFER: Statement = Statement {
    command: "one",
    idempotency: Some(&TRANSFER_KEY),
    ..st(
        "CreateTransfer",
        "INSERT INTO transfers (key, amount, tags) VALUES ($1, $2::text::numeric, $3) RETURNING id, amount, tags",
    )
};
static EXEC_KEY: IdempotencyKey = IdempotencyKey {
    param: 0,
    param_type: "text",
    columns: &[],
};
static ADD_LOG_KEYED: Statement = Statement {
    command: "execrows",
    idempotency: Some(&EXEC_KEY),
    ..st(
        "AddLogKeyed",
        "INSERT INTO log (v) VALUES ($1), ($1 || '-2')",
    )
};
static OTHER_KEYED: Statement = Statement {
    command: "execrows",
    idempotency: Some(&EXEC_KEY),
    ..st("OtherKeyed", "INSERT INTO log (v) VALUES ($1)")
};
static UPDATE_VERSIONED: Statement = Statement {
    command: "execrows",
    expect_one_row: true,
    ..st(
        "UpdateVersioned",
        "UPDATE counter SET n = n + 1, version = version + 1 WHERE id = 1 AND version = $1",
    )
};
static WHERE_AM_I: Statement = Statement {
    command: "one",
    read_only: true,
    idempotent: true,
    ..st("WhereAmI", "SELECT current_database()::text")
};
static WHERE_AM_I_REPLICA: Statement = Statement {
    route: Route::Replica,
    ..WHERE_AM_I
};
static UPSERT_MARK: Statement = Statement {
    idempotent: true,
    ..st(
        "UpsertMark",
        "INSERT INTO log (v) VALUES ($1) ON CONFLICT DO NOTHING",
    )
};

const SCHEMA: &str = "
CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL, version int NOT NULL DEFAULT 1);
INSERT INTO counter (id, n) VALUES (1, 0);
CREATE TABLE log (v text PRIMARY KEY);
CREATE TABLE transfers (id serial PRIMARY KEY, key text UNIQUE, amount numeric NOT NULL, tags text[]);
";

/// A fresh database with SCHEMA applied; returns its URL and an admin client.
async fn scratch(name: &str) -> (String, Client) {
    common::scratch(name, SCHEMA).await
}

async fn db(policies: &'static Policies, urls: &[&str]) -> Db {
    let mut b = Db::builder(policies).seed(7);
    for u in urls {
        b = b.host(u).unwrap();
    }
    b.build().await.unwrap()
}

async fn count(url: &str, sql: &str) -> i64 {
    connect(url)
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get::<_, i64>(0)
}

/// Terminates the backend running a statement that contains `needle` while it sleeps
/// in `pg_sleep`: never as it finishes, when the reply may already be sent.
async fn kill_when_running(admin: &Client, db: &str, needle: &str) -> usize {
    for _ in 0..200 {
        let n = admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND query LIKE $2 AND pid <> pg_backend_pid() \
                 AND state = 'active' AND wait_event = 'PgSleep'",
                &[&db, &format!("%{needle}%")],
            )
            .await
            .unwrap();
        if n > 0 {
            return n as usize;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    0
}

fn db_name(url: &str) -> String {
    url.rsplit_once('/').unwrap().1.to_owned()
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Observer for Recorder {
    fn on_event(&self, e: &Event<'_>) {
        let line = match e {
            Event::Retry { class, .. } => format!("retry {class}"),
            Event::Failed { class, .. } => format!("failed {class}"),
            Event::Breaker { state, .. } => format!("breaker {state:?}"),
            Event::Replayed { statement } => format!("replayed {statement}"),
            _ => return,
        };
        self.0.lock().unwrap().push(line);
    }
}

#[tokio::test]
async fn a_serialization_failure_reruns_the_transaction() {
    let (url, _admin) = scratch("serial").await;
    let db = db(&POLICIES, &[&url]).await;
    let outsider = connect(&url).await;
    let calls = AtomicU32::new(0);
    let n = db
        .transaction(TxOptions::serializable(), async |tx| {
            let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
            let n: i32 = tx.query_one(&READ_N, &[]).await?.get(0);
            if call == 1 {
                // Another session changes the row after this snapshot was taken.
                outsider
                    .execute("UPDATE counter SET n = n + 100 WHERE id = 1", &[])
                    .await
                    .unwrap();
            }
            tx.execute(&BUMP_N, &[]).await?;
            Ok(n)
        })
        .await
        .expect("the transaction commits on its second run");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "re-run exactly once");
    assert_eq!(n, 100, "the second run saw the other session's write");
    let row = outsider
        .query_one("SELECT n FROM counter", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 101);
    let stats = db.stats();
    assert_eq!(stats.transaction_reruns, 1);
    assert_eq!(stats.retries.get("serialization"), Some(&1));
}

#[tokio::test]
async fn a_transaction_returns_other_errors_without_rerunning() {
    let (url, _admin) = scratch("txfatal").await;
    let db = db(&POLICIES, &[&url]).await;
    db.install_idempotency_table().await.unwrap();
    let calls = AtomicU32::new(0);
    let err = db
        .transaction(TxOptions::default(), async |tx| {
            calls.fetch_add(1, Ordering::SeqCst);
            tx.execute(&BUMP_N, &[]).await?;
            tx.execute(&ADD_LOG_KEYED, &[&"x"]).await?;
            tx.execute(&ADD_LOG_KEYED, &[&"x"]).await?; // replayed inside: fine
            tx.execute(&UPDATE_VERSIONED, &[&99i32]).await?; // stale: conflict
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.class(), Class::Conflict);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Rolled back: neither the bump nor the keyed write stayed.
    assert_eq!(count(&url, "SELECT n::int8 FROM counter").await, 0);
    assert_eq!(count(&url, "SELECT count(*) FROM log").await, 0);
}

#[tokio::test]
async fn a_non_idempotent_write_is_not_retried_after_send() {
    let (url, admin) = scratch("ambig").await;
    let name = db_name(&url);
    let db = db(&POLICIES, &[&url]).await;
    let (res, killed) = tokio::join!(
        db.execute(&SLOW_INSERT, &[&"once"]),
        kill_when_running(&admin, &name, "pg_sleep(0.6)")
    );
    assert_eq!(killed, 1);
    let err = res.unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    assert_eq!(err.class(), Class::ServerShutdown, "{err}");
    assert_eq!(err.attempt_count(), 1, "not retried: {err}");
    assert_eq!(db.stats().ambiguous, 1);

    // The same statement declared idempotent is retried on a new connection.
    let (res, killed) = tokio::join!(
        db.execute(&SLOW_INSERT_IDEMPOTENT, &[&"twice"]),
        kill_when_running(&admin, &name, "pg_sleep(0.6)")
    );
    assert_eq!(killed, 1);
    assert_eq!(res.expect("retried after the kill"), 1);
    assert_eq!(count(&url, "SELECT count(*) FROM log").await, 1);
    assert_eq!(db.stats().retries.get("server_shutdown"), Some(&1));
}

#[tokio::test]
async fn an_idempotency_key_replays_the_stored_result() {
    let (url, _admin) = scratch("keyed").await;
    let db = db(&POLICIES, &[&url]).await;
    db.install_idempotency_table().await.unwrap();
    let tags = vec!["a".to_owned(), "b é".to_owned()];
    let first = db
        .query_one(
            &CREATE_TRANSFER,
            &[&"k-1", &"12345678901234567890.5", &tags],
        )
        .await
        .unwrap();
    let again = db
        .query_one(&CREATE_TRANSFER, &[&"k-1", &"99", &Vec::<String>::new()])
        .await
        .unwrap();
    let id: i32 = first.get("id");
    assert_eq!(
        again.get::<_, i32>("id"),
        id,
        "the replay returns the first id"
    );
    assert_eq!(again.get::<_, Vec<String>>("tags"), tags);
    assert_eq!(
        count(&url, "SELECT count(*) FROM transfers").await,
        1,
        "applied once"
    );
    // The numeric survives exactly, as text from the server.
    let exact = connect(&url)
        .await
        .query_one("SELECT amount::text FROM transfers", &[])
        .await
        .unwrap()
        .get::<_, String>(0);
    assert_eq!(exact, "12345678901234567890.5");
    let other = db
        .query_one(&CREATE_TRANSFER, &[&"k-2", &"1", &tags])
        .await
        .unwrap();
    assert_ne!(other.get::<_, i32>("id"), id);

    assert_eq!(db.execute(&ADD_LOG_KEYED, &[&"e-1"]).await.unwrap(), 2);
    assert_eq!(db.execute(&ADD_LOG_KEYED, &[&"e-1"]).await.unwrap(), 2);
    assert_eq!(count(&url, "SELECT count(*) FROM log").await, 2);
    assert_eq!(db.stats().replays, 2);

    let err = db.execute(&OTHER_KEYED, &[&"e-1"]).await.unwrap_err();
    assert_eq!(err.class(), Class::Conflict, "{err}");
}

#[tokio::test]
async fn a_zero_row_optimistic_update_is_a_conflict() {
    let (url, _admin) = scratch("occ").await;
    let db = db(&POLICIES, &[&url]).await;
    assert_eq!(db.execute(&UPDATE_VERSIONED, &[&1i32]).await.unwrap(), 1);
    let err = db.execute(&UPDATE_VERSIONED, &[&1i32]).await.unwrap_err();
    assert_eq!(err.class(), Class::Conflict);
    assert_eq!(err.code(), "conflict");
    assert_eq!(err.statement_name(), Some("UpdateVersioned"));
    // A plain client applies the same rule.
    let plain = connect(&url).await;
    let err = Executor::execute(&plain, &UPDATE_VERSIONED, &[&1i32])
        .await
        .unwrap_err();
    assert_eq!(err.class(), Class::Conflict);
}

#[tokio::test]
async fn the_acquire_timeout_fires() {
    let (url, _admin) = scratch("acquire").await;
    let db = db(&ONE_CONN, &[&url]).await;
    let held = db.connection().await.unwrap();
    let t = Instant::now();
    let err = db.query_one(&READ_N, &[]).await.unwrap_err();
    let waited = t.elapsed();
    assert_eq!(err.class(), Class::PoolTimeout, "{err}");
    assert!(waited >= Duration::from_millis(190), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(db.stats().acquire_timeouts, 1);
    drop(held);
    db.query_one(&READ_N, &[]).await.unwrap();
}

#[tokio::test]
async fn a_deadline_cancels_the_statement_on_the_server() {
    let (url, admin) = scratch("deadline").await;
    let name = db_name(&url);
    let db = db(&POLICIES, &[&url]).await;
    let t = Instant::now();
    let err = db.query_one(&SLEEP, &[]).await.unwrap_err();
    assert_eq!(err.class(), Class::Timeout, "{err}");
    assert!(t.elapsed() < Duration::from_secs(2));
    // The CancelRequest reached the server: the sleep is gone long before 5 s.
    let mut gone = false;
    for _ in 0..100 {
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
                 AND query LIKE '%pg_sleep(5)%' AND state = 'active'",
                &[&name],
            )
            .await
            .unwrap()
            .get(0);
        if n == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "the server still runs the canceled statement");
    // No capacity leaked: the pool still serves.
    db.query_one(&READ_N, &[]).await.unwrap();
}

#[tokio::test]
async fn a_caller_giving_up_leaks_no_capacity() {
    let (url, _admin) = scratch("cancel").await;
    let db = db(&ONE_CONN, &[&url]).await;
    for _ in 0..5 {
        let r = tokio::time::timeout(Duration::from_millis(50), db.query_one(&SLEEP, &[])).await;
        assert!(r.is_err(), "the caller gave up first");
    }
    // With one connection in all, a leak would make this wait out the acquire timeout.
    db.query_one(&READ_N, &[]).await.unwrap();
    assert_eq!(
        db.stats().acquire_timeouts,
        0,
        "never waited for a leaked slot"
    );
}

/// A TCP proxy in front of the server that the test switches off (refusing and
/// cutting connections) and on.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    /// Connections the proxy was asked for, refused or not.
    accepted: Arc<AtomicUsize>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let accepted = Arc::new(AtomicUsize::new(0));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (u, a, c) = (up.clone(), accepted.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                a.fetch_add(1, Ordering::SeqCst);
                if !u.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let h = tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(&target).await {
                        let _ = copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                c.lock().unwrap().push(h);
            }
        });
        Proxy {
            port,
            up,
            accepted,
            conns,
        }
    }

    /// Refuses new connections; the open ones keep working.
    fn refuse(&self) {
        self.up.store(false, Ordering::SeqCst);
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// `url` with its host and port replaced by the proxy's.
    fn url(&self, url: &str) -> String {
        let (scheme_user, rest) = url.rsplit_once('@').unwrap();
        let (_, path) = rest.split_once('/').unwrap();
        format!("{scheme_user}@127.0.0.1:{}/{path}", self.port)
    }
}

#[tokio::test]
async fn the_breaker_opens_and_recovers_and_ready_tracks_the_server() {
    let (url, _admin) = scratch("breaker").await;
    let proxy = Proxy::start(target_of(&url)).await;
    let rec = Arc::new(Recorder::default());
    let db = Db::builder(&POLICIES)
        .seed(3)
        .observer(rec.clone())
        .host(&proxy.url(&url))
        .unwrap()
        .build()
        .await
        .unwrap();
    db.ready().await.expect("ready while the server answers");
    db.query_one(&READ_N, &[]).await.unwrap();

    proxy.down();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        db.ready().await.is_err(),
        "not ready while the server is cut off"
    );
    let mut classes = Vec::new();
    for _ in 0..6 {
        classes.push(db.query_one(&READ_N, &[]).await.unwrap_err().class());
    }
    assert_eq!(
        classes.last(),
        Some(&Class::BreakerOpen),
        "the breaker opened: {classes:?}"
    );
    let t = Instant::now();
    let err = db.query_one(&READ_N, &[]).await.unwrap_err();
    assert_eq!(err.class(), Class::BreakerOpen);
    assert!(
        t.elapsed() < Duration::from_millis(50),
        "an open breaker fails fast"
    );
    assert!(matches!(
        db.stats().hosts[0].breaker,
        BreakerState::Open { .. }
    ));

    proxy.up();
    let mut recovered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if db.ready().await.is_ok() {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "ready again once the server answers");
    db.query_one(&READ_N, &[]).await.unwrap();
    assert_eq!(db.stats().hosts[0].breaker, BreakerState::Closed);
    let events = rec.0.lock().unwrap().clone();
    assert!(
        events.iter().any(|e| e.starts_with("breaker Open")),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e == "breaker Closed"), "{events:?}");
}

static LONG_OPEN: Policies = Policies {
    breaker: BreakerPolicy {
        failure_threshold: 1,
        open_for: Duration::from_secs(30),
    },
    ..POLICIES
};
static SLOW_READ: Statement = Statement {
    command: "one",
    read_only: true,
    idempotent: true,
    ..st(
        "SlowRead",
        "SELECT n FROM counter, pg_sleep(0.8) WHERE id = 1",
    )
};

#[tokio::test]
async fn an_open_breaker_gates_new_connections_while_pooled_ones_keep_serving() {
    let (url, _admin) = scratch("breaker_idle").await;
    let proxy = Proxy::start(target_of(&url)).await;
    let db = db(&LONG_OPEN, &[&proxy.url(&url)]).await;
    db.query_one(&READ_N, &[]).await.unwrap();
    assert_eq!(db.stats().hosts[0].size, 1, "one pooled connection");

    // New connections fail from now on; the pooled one stays healthy.
    proxy.refuse();
    let busy = {
        let db = db.clone();
        tokio::spawn(async move { db.query_one(&SLOW_READ, &[]).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = db.query_one(&READ_N, &[]).await.unwrap_err();
    assert_eq!(err.class(), Class::BreakerOpen, "{err}");
    assert!(matches!(
        db.stats().hosts[0].breaker,
        BreakerState::Open { .. }
    ));
    let asked = proxy.accepted.load(Ordering::SeqCst);

    // The statement already running on the pooled connection completes, and that
    // connection serves the next calls while the breaker stays open.
    busy.await
        .unwrap()
        .expect("the running statement completes");
    for _ in 0..3 {
        db.query_one(&READ_N, &[])
            .await
            .expect("served by the pooled connection");
    }
    assert!(matches!(
        db.stats().hosts[0].breaker,
        BreakerState::Open { .. }
    ));

    // With that connection busy, a write finds no idle connection and fails fast
    // without opening one; a read queues behind the running read on the pooled
    // connection (reads share connections) and is served, still without a new one.
    let busy = {
        let db = db.clone();
        tokio::spawn(async move { db.query_one(&SLOW_READ, &[]).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    let err = db.execute(&BUMP_N, &[]).await.unwrap_err();
    assert_eq!(err.class(), Class::BreakerOpen, "{err}");
    assert!(t.elapsed() < Duration::from_millis(50), "fails fast");
    db.query_one(&READ_N, &[])
        .await
        .expect("a read rides on the busy pooled connection");
    assert!(
        t.elapsed() >= Duration::from_millis(500),
        "the read waited for the slow one ahead of it: {:?}",
        t.elapsed()
    );
    busy.await.unwrap().unwrap();
    assert_eq!(
        proxy.accepted.load(Ordering::SeqCst),
        asked,
        "no connection attempted while the breaker is open"
    );
    assert_eq!(db.stats().hosts[0].size, 1);
}

#[tokio::test]
async fn reads_go_to_the_replica_and_writes_follow_a_promotion() {
    // Two databases play two hosts: `old` is the primary, `new` a standby (its
    // sessions are read-only, as a fenced or recovering server's are).
    let (old, admin) = scratch("old").await;
    let (new, _) = scratch("new").await;
    let (old_name, new_name) = (db_name(&old), db_name(&new));
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {new_name} SET default_transaction_read_only = on"
        ))
        .await
        .unwrap();
    let db = db(&POLICIES, &[&old, &new]).await;
    let roles: Vec<Role> = db.stats().hosts.iter().map(|h| h.role).collect();
    assert_eq!(roles, [Role::Primary, Role::Replica]);
    let on = |r: tokio_postgres::Row| r.get::<_, String>(0);
    assert_eq!(on(db.query_one(&WHERE_AM_I, &[]).await.unwrap()), old_name);
    assert_eq!(
        on(db.query_one(&WHERE_AM_I_REPLICA, &[]).await.unwrap()),
        new_name
    );
    db.execute(&UPSERT_MARK, &[&"before"]).await.unwrap();

    // Failover: the old primary is fenced, the standby promoted, sessions cut.
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {old_name} SET default_transaction_read_only = on;
             ALTER DATABASE {new_name} RESET default_transaction_read_only;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname IN ('{old_name}', '{new_name}');"
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    db.execute(&UPSERT_MARK, &[&"after"]).await.unwrap();
    assert_eq!(
        count(&new, "SELECT count(*) FROM log WHERE v = 'after'").await,
        1,
        "the write reached the new primary"
    );
    assert_eq!(
        count(&old, "SELECT count(*) FROM log WHERE v = 'after'").await,
        0
    );
    let roles: Vec<Role> = db.stats().hosts.iter().map(|h| h.role).collect();
    assert_eq!(roles, [Role::Replica, Role::Primary]);
    assert_eq!(on(db.query_one(&WHERE_AM_I, &[]).await.unwrap()), new_name);
}

static ON_TLS: Statement = Statement {
    command: "one",
    read_only: true,
    idempotent: true,
    ..st(
        "OnTls",
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
};

#[tokio::test]
async fn connections_go_through_a_tls_connector() {
    let (url, admin) = scratch("tls").await;
    let ssl: String = admin.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    assert_eq!(
        ssl, "on",
        "the test server runs without SSL (scripts/test.sh configures it with certificates of its own)"
    );
    let name = db_name(&url);
    let url = format!("{url}?sslmode=require");

    // Without a connector of the caller's, the runtime's own (rustls) serves `require`.
    let db = Db::builder(&POLICIES)
        .host(&url)
        .unwrap()
        .build()
        .await
        .unwrap();
    let row = db.query_one(&ON_TLS, &[]).await.unwrap();
    assert!(row.get::<_, bool>(0), "sslmode=require is encrypted");
    drop(db);
    // A connector of the caller's replaces the runtime's: this one checks the server
    // against the test authority, which `sslmode=require` alone would not.
    let checked = sqlpact_runtime::tls::TlsOptions {
        mode: sqlpact_runtime::tls::SslMode::VerifyFull,
        root_cert: Some(tls_dir().join("ca.pem")),
        ..Default::default()
    }
    .connector()
    .unwrap()
    .expect("a connector");
    let db = Db::builder(&POLICIES)
        .tls(checked)
        .host(&url)
        .unwrap()
        .build()
        .await
        .unwrap();
    db.ready().await.expect("ready over TLS");
    let row = db.query_one(&ON_TLS, &[]).await.unwrap();
    assert!(row.get::<_, bool>(0), "the connection is encrypted");
    let n = db
        .transaction(TxOptions::default(), async |tx| {
            Ok(tx.query_one(&READ_N, &[]).await?.get::<_, i32>(0))
        })
        .await
        .unwrap();
    assert_eq!(n, 0);

    // A deadline's CancelRequest goes over TLS too (tokio-postgres refuses to send a
    // plain one for an `sslmode=require` host, so the sleep would run on).
    let err = db.query_one(&SLEEP, &[]).await.unwrap_err();
    assert_eq!(err.class(), Class::Timeout, "{err}");
    let mut gone = false;
    for _ in 0..100 {
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
                 AND query LIKE '%pg_sleep(5)%' AND state = 'active'",
                &[&name],
            )
            .await
            .unwrap()
            .get(0);
        if n == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "the server still runs the canceled statement");
}

/// The test certificates' directory (scripts/tls-certs.sh, configured into the server
/// by scripts/test.sh).
fn tls_dir() -> std::path::PathBuf {
    std::env::var_os("SQLPACT_TEST_TLS_DIR")
        .expect("SQLPACT_TEST_TLS_DIR is not set: run the tests through scripts/test.sh")
        .into()
}

static WHO: Statement = Statement {
    command: "one",
    read_only: true,
    idempotent: true,
    ..st(
        "Who",
        "SELECT current_user::text, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
};

/// Connects with `conn` and asks who and how; the error's text when it cannot.
async fn who(conn: &str) -> Result<(String, bool), String> {
    let db = Db::builder(&POLICIES)
        .host(conn)
        .map_err(|e| e.to_string())?
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let row = db
        .query_one(&WHO, &[])
        .await
        .map_err(|e| sqlpact_runtime::error_chain(&e))?;
    Ok((row.get(0), row.get(1)))
}

#[tokio::test]
async fn sslmode_checks_what_libpq_checks() {
    let dir = tls_dir();
    let file = |f: &str| dir.join(f).display().to_string();
    let (ca, other, cert, key) = (
        file("ca.pem"),
        file("other-ca.pem"),
        file("client.pem"),
        file("client.key"),
    );
    let base = base_url();
    let (creds, rest) = base
        .strip_prefix("postgresql://")
        .unwrap()
        .rsplit_once('@')
        .unwrap();
    let (user, password) = creds.split_once(':').unwrap();
    let (addr, db) = rest.split_once('/').unwrap();
    let port = addr.rsplit_once(':').unwrap().1;
    let words = |host: &str, extra: &str| {
        format!("host={host} port={port} user={user} password={password} dbname={db} {extra}")
    };

    // verify-full: the right authority and name.
    let ok = who(&words(
        "localhost",
        &format!("sslmode=verify-full sslrootcert={ca}"),
    ))
    .await;
    assert_eq!(ok, Ok((user.to_owned(), true)));
    // ... a URL says the same.
    let url = format!(
        "postgresql://{user}:{password}@localhost:{port}/{db}?sslmode=verify-full&sslrootcert={ca}"
    );
    assert_eq!(who(&url).await, Ok((user.to_owned(), true)));
    // An authority that did not sign the server's certificate.
    let err = who(&words(
        "localhost",
        &format!("sslmode=verify-full sslrootcert={other}"),
    ))
    .await
    .unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    // The right authority but an address the certificate does not name: verify-full
    // refuses, verify-ca does not.
    let err = who(&words(
        "127.0.0.1",
        &format!("sslmode=verify-full sslrootcert={ca}"),
    ))
    .await
    .unwrap_err();
    assert!(err.contains("not valid for name \"127.0.0.1\""), "{err}");
    let ok = who(&words(
        "127.0.0.1",
        &format!("sslmode=verify-ca sslrootcert={ca}"),
    ))
    .await;
    assert_eq!(ok, Ok((user.to_owned(), true)));
    let err = who(&words(
        "127.0.0.1",
        &format!("sslmode=verify-ca sslrootcert={other}"),
    ))
    .await
    .unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    // require with a root certificate checks the chain, as libpq does.
    let err = who(&words(
        "localhost",
        &format!("sslmode=require sslrootcert={other}"),
    ))
    .await
    .unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    // disable: plain.
    assert_eq!(
        who(&words("localhost", "sslmode=disable")).await,
        Ok((user.to_owned(), false))
    );
    // A client certificate: the role tls_client may only log in with one.
    let client = |extra: &str| {
        format!("host=localhost port={port} user=tls_client dbname={db} sslmode=verify-full sslrootcert={ca} {extra}")
    };
    assert_eq!(
        who(&client(&format!("sslcert={cert} sslkey={key}"))).await,
        Ok(("tls_client".to_owned(), true))
    );
    let err = who(&client("")).await.unwrap_err();
    assert!(err.contains("requires a valid client certificate"), "{err}");
    // A configuration error is fatal at build, by host, before any connection.
    let err = who(&words("localhost", "sslmode=verify-full"))
        .await
        .unwrap_err();
    assert!(err.contains("add sslrootcert="), "{err}");
    assert!(!err.contains(password), "{err}");

    // require refuses a server that offers no TLS.
    let plain = std::env::var("SQLPACT_TEST_NOTLS_URL")
        .expect("SQLPACT_TEST_NOTLS_URL is not set: run the tests through scripts/test.sh");
    let (_, ssl) = who(&format!("{plain}?sslmode=prefer")).await.unwrap();
    assert!(!ssl, "the server without TLS offers none");
    let err = who(&format!("{plain}?sslmode=require")).await.unwrap_err();
    assert!(err.contains("TLS"), "{err}");
}

/// A password no error, log line, `Debug` output or stats snapshot may show.
const PLANTED: &str = "Pl4nted-s3cret-7a91";

/// Every event, formatted with `Debug`.
#[derive(Default)]
struct DebugLog(Mutex<Vec<String>>);

impl Observer for DebugLog {
    fn on_event(&self, e: &Event<'_>) {
        self.0.lock().unwrap().push(format!("{e:?}"));
    }
}

/// Hands every event to each observer.
struct Both(Vec<Arc<dyn Observer>>);

impl Observer for Both {
    fn on_event(&self, e: &Event<'_>) {
        for o in &self.0 {
            o.on_event(e);
        }
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `url` with its password replaced.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, host) = rest.split_once('@').unwrap();
    let user = userinfo.split(':').next().unwrap();
    format!("{scheme}://{user}:{password}@{host}")
}

#[tokio::test]
async fn no_password_reaches_errors_logs_debug_output_or_stats() {
    let logs = Captured::default();
    #[cfg(feature = "tracing")]
    let _subscriber = {
        let logs = logs.clone();
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || logs.clone())
                .finish(),
        )
    };
    let url = base_url();
    let target = target_of(&url);
    let (host, port) = target.rsplit_once(':').unwrap();
    let user = url.split_once("://").unwrap().1.split(':').next().unwrap();
    let dbname = db_name(&url);
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut shown: Vec<String> = Vec::new();
    let mut chains = Vec::new();

    // A wrong password for the real server (as URL and as keywords), and a port
    // nobody listens on: every failure path of opening a connection, through retries
    // until the breaker opens.
    for conn in [
        with_password(&url, PLANTED),
        format!("host={host} port={port} user={user} password={PLANTED} dbname={dbname}"),
        format!("postgresql://{user}:{PLANTED}@127.0.0.1:{closed_port}/{dbname}"),
    ] {
        let events = Arc::new(DebugLog::default());
        #[allow(unused_mut)]
        let mut observers: Vec<Arc<dyn Observer>> = vec![events.clone()];
        #[cfg(feature = "tracing")]
        observers.push(Arc::new(sqlpact_runtime::TracingObserver));
        let builder = Db::builder(&POLICIES)
            .seed(11)
            .observer(Arc::new(Both(observers)))
            .host(&conn)
            .unwrap();
        shown.push(format!("{builder:?}"));
        let db = builder.build().await.unwrap();
        let mut classes = Vec::new();
        for _ in 0..6 {
            let e = db.query_one(&READ_N, &[]).await.unwrap_err();
            classes.push(e.class());
            chains.push(sqlpact_runtime::error_chain(&e));
            shown.extend([e.to_string(), format!("{e:?}"), format!("{e:#?}")]);
        }
        assert_eq!(classes.last(), Some(&Class::BreakerOpen), "{classes:?}");
        shown.push(format!("{:?}", db.ready().await));
        shown.push(format!("{db:?}"));
        shown.push(format!("{:#?}", db.stats()));
        shown.extend(events.0.lock().unwrap().iter().cloned());
    }
    // Connection strings that do not parse or do not build.
    for conn in [
        format!("postgresql://{user}:{PLANTED}@127.0.0.1:notaport/{dbname}"),
        format!("host=127.0.0.1 port=notaport password={PLANTED}"),
        format!("host=127.0.0.1 password='{PLANTED}"),
        format!("host=127.0.0.1 password={PLANTED} sslmode=bogus"),
        format!("host=127.0.0.1 password={PLANTED} {PLANTED}"),
        format!("host=127.0.0.1 password={PLANTED} {PLANTED}=x"),
        format!("postgresql://{user}:{PLANTED}@127.0.0.1/{dbname}?bogus=1"),
        format!("postgresql://{user}:{PLANTED}@127.0.0.1/{dbname}?sslmode=verify-full"),
    ] {
        let e = match Db::builder(&POLICIES).host(&conn) {
            Err(e) => e,
            Ok(b) => b.build().await.expect_err(&conn),
        };
        chains.push(sqlpact_runtime::error_chain(&e));
        shown.extend([e.to_string(), format!("{e:?}")]);
    }
    shown.extend(chains.iter().cloned());
    shown.push(String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned());

    // The scan means something only if the failures were described.
    let all = shown.join("\n");
    for expected in [
        "password authentication failed",
        "Connection refused",
        "breaker_open",
        "invalid value for option `port`",
        "closing quote",
        "quote it",
        "unknown sslmode `bogus`",
        "add sslrootcert=",
    ] {
        assert!(all.contains(expected), "`{expected}` in:\n{all}");
    }
    #[cfg(feature = "tracing")]
    assert!(
        String::from_utf8_lossy(&logs.0.lock().unwrap()).contains("sqlpact: breaker"),
        "the log holds the runtime's events"
    );
    for s in &shown {
        assert!(!s.contains(PLANTED), "the password is shown:\n{s}");
    }
}

static SLOW_SHARED_READ: Statement = Statement {
    command: "one",
    read_only: true,
    idempotent: true,
    ..st(
        "SlowSharedRead",
        "SELECT n FROM counter, pg_sleep(0.3) WHERE id = 1",
    )
};

/// Backends of `db` other than the caller's, by what they last ran.
async fn backends(admin: &Client, db: &str) -> Vec<String> {
    admin
        .query(
            "SELECT query FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() \
             AND backend_type = 'client backend'",
            &[&db],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn reads_share_connections_and_writes_keep_room() {
    let (url, admin) = scratch("lane").await;
    let db = db(&POLICIES, &[&url]).await;
    assert_eq!(POLICIES.pool.max_size, 4);

    // Eight concurrent reads on a pool of 4: they ride on half the pool, four
    // pipelined on each connection, and all come back right.
    let reads: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.query_one(&SLOW_SHARED_READ, &[]).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let during = db.stats().hosts[0].clone();
    assert_eq!(during.shared, 2, "reads share two connections: {during:?}");

    // Meanwhile a write finds a connection of its own at once, not behind the reads.
    let t = Instant::now();
    db.execute(&BUMP_N, &[]).await.unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(250),
        "the write waited {:?}",
        t.elapsed()
    );
    for r in reads {
        r.await.unwrap().expect("a shared read");
    }
    let after = db.stats();
    assert_eq!(after.failures.values().sum::<u64>(), 0, "{after:?}");
    assert!(after.hosts[0].size <= 4, "{after:?}");
    // Only the shared connections and the write's ever opened: at most the pool.
    assert!(backends(&admin, &db_name(&url)).await.len() <= 4);

    // A read dropped while in flight retires its shared connection: it is closed, not
    // handed to the next read still running the abandoned statement.
    let before = db.stats().hosts[0].shared;
    assert!(before >= 1);
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        db.query_one(&SLOW_SHARED_READ, &[]),
    )
    .await;
    assert!(gave_up.is_err(), "the caller gave up");
    assert!(db.stats().hosts[0].shared < before, "{:?}", db.stats());
    // Reads go on, on another connection.
    assert_eq!(
        db.query_one(&READ_N, &[]).await.unwrap().get::<_, i32>(0),
        1
    );
}

static READ_V: Statement = Statement {
    command: "one",
    read_only: true,
    idempotent: true,
    ..st("ReadV", "SELECT v FROM plans WHERE id = 1")
};
static BUMP_V: Statement = Statement {
    command: "one",
    ..st(
        "BumpV",
        "UPDATE plans SET v = v + 1 WHERE id = 1 RETURNING v",
    )
};

static PREPARED_HERE: Statement = Statement {
    command: "one",
    read_only: true,
    idempotent: true,
    ..st(
        "PreparedHere",
        "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT v FROM plans WHERE id = 1'",
    )
};

#[tokio::test]
async fn statements_are_prepared_once_per_connection_and_again_after_a_schema_change() {
    let (url, _admin) = scratch("prepared").await;
    let owner = connect(&url).await;
    owner
        .batch_execute("CREATE TABLE plans (id int PRIMARY KEY, v int NOT NULL); INSERT INTO plans VALUES (1, 1)")
        .await
        .unwrap();
    let db = db(&POLICIES, &[&url]).await;
    for _ in 0..3 {
        assert_eq!(
            db.query_one(&READ_V, &[]).await.unwrap().get::<_, i32>(0),
            1
        );
    }
    // Prepared once on the connection the reads share: the server lists it among that
    // session's prepared statements (an unprepared statement would not be listed).
    let listed = db
        .query_one(&PREPARED_HERE, &[])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(listed, 1, "READ_V prepared once on its connection");

    // The column's type changes under the prepared statements: the server refuses
    // them (cached plan must not change result type); the runtime prepares again and
    // the calls succeed with the new type, the write applied once.
    owner
        .batch_execute("ALTER TABLE plans ALTER COLUMN v TYPE bigint")
        .await
        .unwrap();
    assert_eq!(
        db.query_one(&READ_V, &[]).await.unwrap().get::<_, i64>(0),
        1
    );
    assert_eq!(
        db.query_one(&BUMP_V, &[]).await.unwrap().get::<_, i64>(0),
        2
    );
    owner
        .batch_execute("ALTER TABLE plans ALTER COLUMN v TYPE int")
        .await
        .unwrap();
    assert_eq!(
        db.query_one(&BUMP_V, &[]).await.unwrap().get::<_, i32>(0),
        3
    );
    assert_eq!(
        db.query_one(&READ_V, &[]).await.unwrap().get::<_, i32>(0),
        3
    );
    let s = db.stats();
    assert_eq!(s.failures.values().sum::<u64>(), 0, "{s:?}");
}
