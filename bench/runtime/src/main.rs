//! What the runtime costs, measured side by side with the raw driver and other pools in
//! one process, variants interleaved round by round so a noisy neighbour hurts them
//! alike. `bench/runtime.sh` starts a server, applies the example's migrations and runs
//! this; see docs/benchmarks.md for the figures.
//!
//! Usage: runtime-bench [overhead|concurrent|acquire|all] [HEADING-SUFFIX]
//! (DATABASE_URL names the database, with the example contract's schema applied).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use ledger_db as db;
use tokio_postgres::{Client, NoTls, Row, Statement};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The accounts the point reads select, seeded once.
const ACCOUNTS: usize = 64;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("runtime-bench: {e}");
        std::process::exit(1);
    }
}

/// The per-query overhead runs on a single-threaded runtime: the caller and the
/// connection's I/O task then share a thread whichever client runs, so the figure is
/// the client's own cost, not where the scheduler happened to place two tasks (on a
/// multi-threaded runtime that placement moves a round trip between 15 and 80 µs on
/// loopback). The concurrent benchmarks run on a multi-threaded runtime, one worker per
/// core.
fn run() -> Res<()> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "DATABASE_URL is not set: run bench/runtime.sh, which starts a server")?;
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    // Where the client and the server run, for the headings (bench/runtime.sh pins them).
    let placement = std::env::args().nth(2).unwrap_or_default();
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let multi = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let ids = single.block_on(seed(&url))?;
    match what.as_str() {
        "overhead" => single.block_on(overhead(&url, &ids, &placement)),
        "concurrent" => multi.block_on(concurrent(&url, &ids)),
        "acquire" => multi.block_on(acquire(&url)),
        "all" => {
            single.block_on(overhead(&url, &ids, &placement))?;
            multi.block_on(concurrent(&url, &ids))?;
            multi.block_on(acquire(&url))
        }
        other => Err(format!(
            "unknown benchmark `{other}`: use overhead, concurrent, acquire or all"
        )
        .into()),
    }
}

async fn connect(url: &str) -> Res<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// Inserts the accounts once; returns their ids.
async fn seed(url: &str) -> Res<Vec<uuid::Uuid>> {
    let c = connect(url).await?;
    c.batch_execute(
        "INSERT INTO currencies (code, name, minor_units) VALUES ('EUR', 'Euro', 2)
           ON CONFLICT DO NOTHING;
         INSERT INTO customers (email, full_name, country) VALUES ('bench@example.com', 'Bench', 'DE')
           ON CONFLICT DO NOTHING;",
    )
    .await?;
    let have: i64 = c
        .query_one("SELECT count(*) FROM accounts", &[])
        .await?
        .get(0);
    if (have as usize) < ACCOUNTS {
        c.execute(
            "INSERT INTO accounts (customer_id, currency, display_name, tags)
             SELECT (SELECT id FROM customers WHERE email = 'bench@example.com'), 'EUR',
                    'account ' || g, ARRAY['bench', 'x' || g]
             FROM generate_series(1, $1::int) g",
            &[&((ACCOUNTS - have as usize) as i32)],
        )
        .await?;
    }
    let rows = c
        .query(
            "SELECT id FROM accounts ORDER BY id LIMIT $1",
            &[&(ACCOUNTS as i64)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The row the generated `get_account` returns, decoded the same way from a raw row,
/// so both sides do the same work.
type Account = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    Option<String>,
    db::AccountStatus,
    rust_decimal::Decimal,
    serde_json::Value,
    Vec<String>,
    i32,
    chrono::DateTime<chrono::Utc>,
    Option<chrono::DateTime<chrono::Utc>>,
    rust_decimal::Decimal,
    chrono::DateTime<chrono::Utc>,
);

fn decode(r: &Row) -> Res<Account> {
    Ok((
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
        r.try_get(6)?,
        r.try_get(7)?,
        r.try_get(8)?,
        r.try_get(9)?,
        r.try_get(10)?,
        r.try_get(11)?,
        r.try_get(12)?,
    ))
}

async fn raw_read(c: &Client, stmt: &Statement, id: uuid::Uuid) -> Res<()> {
    let row = c.query_opt(stmt, &[&id]).await?.ok_or("no such account")?;
    let a = decode(&row)?;
    assert_eq!(a.0, id);
    Ok(())
}

async fn runtime_read(rt: &sqlpact_runtime::Db, id: uuid::Uuid) -> Res<()> {
    let a = db::get_account(rt, id).await?;
    assert_eq!(a.id, id);
    Ok(())
}

async fn deadpool_read(p: &deadpool_postgres::Pool, id: uuid::Uuid) -> Res<()> {
    let c = p.get().await?;
    let stmt = c.prepare_cached(db::GET_ACCOUNT.sql).await?;
    let row = c.query_opt(&stmt, &[&id]).await?.ok_or("no such account")?;
    let a = decode(&row)?;
    assert_eq!(a.0, id);
    Ok(())
}

/// The contract's policies with another pool size.
fn policies(max_size: u32) -> &'static sqlpact_runtime::Policies {
    let mut p = db::POLICIES;
    p.pool.max_size = max_size;
    p.pool.min_idle = 0;
    Box::leak(Box::new(p))
}

async fn runtime_db(url: &str, max_size: u32) -> Res<sqlpact_runtime::Db> {
    let rt = sqlpact_runtime::Db::builder(policies(max_size))
        .seed(7)
        .host(url)?
        .build()
        .await?;
    rt.ready().await?;
    Ok(rt)
}

fn deadpool(url: &str, max_size: usize) -> Res<deadpool_postgres::Pool> {
    let cfg: tokio_postgres::Config = url.parse()?;
    let mgr = deadpool_postgres::Manager::from_config(
        cfg,
        NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    Ok(deadpool_postgres::Pool::builder(mgr)
        .max_size(max_size)
        .build()?)
}

async fn bb8_pool(
    url: &str,
    max_size: u32,
) -> Res<bb8::Pool<bb8_postgres::PostgresConnectionManager<NoTls>>> {
    let mgr = bb8_postgres::PostgresConnectionManager::new(url.parse()?, NoTls);
    Ok(bb8::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(max_size))
        .test_on_check_out(false)
        .build(mgr)
        .await?)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The three clients a point read runs through: the raw driver on one connection
/// (statement prepared once), the runtime under the generated `get_account`, and
/// deadpool-postgres checked out per read.
#[derive(Clone)]
struct Readers {
    raw: Arc<Client>,
    stmt: Statement,
    rt: Arc<sqlpact_runtime::Db>,
    dp: deadpool_postgres::Pool,
    ids: Arc<Vec<uuid::Uuid>>,
}

const RAW: usize = 0;
const RUNTIME: usize = 1;
const DEADPOOL: usize = 2;

impl Readers {
    /// The runtime with a pool of `rt_pool`, deadpool with `dp_pool` connections.
    async fn new(url: &str, ids: &[uuid::Uuid], rt_pool: u32, dp_pool: usize) -> Res<Readers> {
        let raw = Arc::new(connect(url).await?);
        let stmt = raw.prepare(db::GET_ACCOUNT.sql).await?;
        Ok(Readers {
            raw,
            stmt,
            rt: Arc::new(runtime_db(url, rt_pool).await?),
            dp: deadpool(url, dp_pool)?,
            ids: Arc::new(ids.to_vec()),
        })
    }

    /// `tasks` tasks of `per_task` point reads each through client `v`; reads per
    /// second.
    async fn flood(&self, v: usize, tasks: usize, per_task: usize) -> Res<f64> {
        let r = self.clone();
        flood(tasks, per_task, move |i| {
            let (r, id) = (r.clone(), r.ids[i % r.ids.len()]);
            async move {
                match v {
                    RAW => raw_read(&r.raw, &r.stmt, id).await,
                    RUNTIME => runtime_read(&r.rt, id).await,
                    _ => deadpool_read(&r.dp, id).await,
                }
            }
        })
        .await
    }
}

/// Per-query overhead: one task, one point read at a time.
async fn overhead(url: &str, ids: &[uuid::Uuid], placement: &str) -> Res<()> {
    let rounds = env_usize("BENCH_ROUNDS", 15);
    let n = env_usize("BENCH_QUERIES", 2000);
    // The contract's pool for the runtime; deadpool with one connection, as one task
    // uses.
    let readers = Readers::new(url, ids, db::POLICIES.pool.max_size, 1).await?;
    let mut names = [""; 3];
    names[RAW] = "tokio-postgres (one connection)";
    names[RUNTIME] = "sqlpact runtime";
    names[DEADPOOL] = "deadpool-postgres";
    // One task runs `n` reads in a row, as a request handler would; µs per read.
    let us_per_read = |v: usize, n: usize| {
        let readers = readers.clone();
        async move {
            Ok::<f64, Box<dyn std::error::Error + Send + Sync>>(1e6 / readers.flood(v, 1, n).await?)
        }
    };
    // Warm every side: connections open, statements prepared.
    for v in 0..3 {
        us_per_read(v, 200).await?;
    }
    // For a profiler: one client alone (0 raw, 1 runtime, 2 deadpool).
    if let Some(v) = std::env::var("BENCH_PROFILE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        let us = us_per_read(v, n * rounds).await?;
        println!("{}: {us:.1} µs per query", names[v]);
        return Ok(());
    }
    let mut per: [Vec<f64>; 3] = Default::default();
    let mut ratios: [Vec<f64>; 3] = Default::default();
    for r in 0..rounds {
        let mut this = [0.0; 3];
        for k in 0..3 {
            let v = (r + k) % 3;
            this[v] = us_per_read(v, n).await?;
        }
        for v in 0..3 {
            per[v].push(this[v]);
            ratios[v].push(this[RAW] / this[v]);
        }
    }
    println!("## Per-query overhead: point read by primary key, one task{placement}\n");
    println!("{rounds} rounds × {n} queries, variants interleaved; µs per query (median of rounds); throughput relative to the raw driver (median of per-round ratios)\n");
    println!("| client | median µs/query | min | max | throughput vs raw |");
    println!("|---|---:|---:|---:|---:|");
    for v in 0..3 {
        let mut s = per[v].clone();
        let med = median(&mut s);
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.3}× |",
            names[v],
            med,
            s[0],
            s[s.len() - 1],
            median(&mut ratios[v])
        );
    }
    println!();
    Ok(())
}

/// Runs `tasks` tasks of `per_task` calls of `f` each; calls per second.
async fn flood<F, Fut>(tasks: usize, per_task: usize, f: F) -> Res<f64>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Res<()>> + Send,
{
    let f = Arc::new(f);
    let t = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for k in 0..tasks {
        let f = Arc::clone(&f);
        handles.push(tokio::spawn(async move {
            for i in 0..per_task {
                f(k * per_task + i).await?;
            }
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    for h in handles {
        h.await??;
    }
    Ok((tasks * per_task) as f64 / t.elapsed().as_secs_f64())
}

/// Sixteen tasks of point reads: the runtime against a pool of 8 and against one
/// connection that pipelines them.
async fn concurrent(url: &str, ids: &[uuid::Uuid]) -> Res<()> {
    let rounds = env_usize("BENCH_ROUNDS", 15);
    let per_task = env_usize("BENCH_QUERIES", 2000) / 4;
    let tasks = 16;
    let readers = Readers::new(url, ids, 8, 8).await?;
    let mut names = [""; 3];
    names[RAW] = "tokio-postgres, one connection, pipelined";
    names[RUNTIME] = "sqlpact runtime, pool of 8";
    names[DEADPOOL] = "deadpool-postgres, 8 connections";
    for v in 0..3 {
        readers.flood(v, tasks, per_task).await?;
    }
    let mut per: [Vec<f64>; 3] = Default::default();
    for r in 0..rounds {
        for k in 0..3 {
            let v = (r + k) % 3;
            per[v].push(readers.flood(v, tasks, per_task).await?);
        }
    }
    println!("## Concurrent point reads: {tasks} tasks\n");
    println!(
        "{rounds} rounds × {} queries, variants interleaved; queries per second (median of rounds)\n",
        tasks * per_task
    );
    println!("| client | median q/s | min | max |");
    println!("|---|---:|---:|---:|");
    for v in 0..3 {
        let mut s = per[v].clone();
        let med = median(&mut s);
        println!(
            "| {} | {:.0} | {:.0} | {:.0} |",
            names[v],
            med,
            s[0],
            s[s.len() - 1]
        );
    }
    println!();
    Ok(())
}

/// `waiters` tasks each acquiring and releasing `per_task` times, holding the
/// connection across one yield; every acquire's latency in microseconds.
async fn contend<F, Fut>(waiters: usize, per_task: usize, get: F) -> Res<Vec<f64>>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Res<Box<dyn Send>>> + Send,
{
    let get = Arc::new(get);
    let mut handles = Vec::with_capacity(waiters);
    for _ in 0..waiters {
        let get = Arc::clone(&get);
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_task);
            for _ in 0..per_task {
                let t = Instant::now();
                let held = get().await?;
                lat.push(t.elapsed().as_secs_f64() * 1e6);
                tokio::task::yield_now().await;
                drop(held);
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(lat)
        }));
    }
    let mut all = Vec::with_capacity(waiters * per_task);
    for h in handles {
        all.extend(h.await??);
    }
    Ok(all)
}

/// Pool acquire and release alone, under 4 to 256 waiters over 4 and 16 connections.
async fn acquire(url: &str) -> Res<()> {
    let rounds = env_usize("BENCH_ROUNDS", 15).min(7);
    let total = env_usize("BENCH_ACQUIRES", 20_000);
    println!("## Pool acquire and release\n");
    println!("Each waiter acquires, yields once, releases, {total} acquires per run in all; {rounds} runs per pool, interleaved; latency of one acquire in µs (median of runs' median and p99), runs' median throughput\n");
    println!("| connections | waiters | pool | p50 µs | p99 µs | acquires/s |");
    println!("|---:|---:|---|---:|---:|---:|");
    for conns in [4usize, 16] {
        let dp = deadpool(url, conns)?;
        let b8 = bb8_pool(url, conns as u32).await?;
        let rt = Arc::new(runtime_db(url, conns as u32).await?);
        // Open every connection before timing.
        {
            let mut held = Vec::new();
            for _ in 0..conns {
                held.push(dp.get().await?);
            }
        }
        {
            let mut held = Vec::new();
            for _ in 0..conns {
                held.push(rt.checkout().await?);
            }
        }
        let names = ["deadpool", "bb8", "sqlpact runtime"];
        for waiters in [4usize, 16, 64, 256] {
            let per_task = (total / waiters).max(1);
            let mut p50: [Vec<f64>; 3] = Default::default();
            let mut p99: [Vec<f64>; 3] = Default::default();
            let mut rate: [Vec<f64>; 3] = Default::default();
            for r in 0..rounds {
                for k in 0..3 {
                    let v = (r + k) % 3;
                    let t = Instant::now();
                    let mut lat = match v {
                        0 => {
                            let dp = dp.clone();
                            contend(waiters, per_task, move || {
                                let dp = dp.clone();
                                async move {
                                    let c = dp.get().await?;
                                    Ok(Box::new(c) as Box<dyn Send>)
                                }
                            })
                            .await?
                        }
                        1 => {
                            let b8 = b8.clone();
                            contend(waiters, per_task, move || {
                                let b8 = b8.clone();
                                async move {
                                    let c = b8.get_owned().await?;
                                    Ok(Box::new(c) as Box<dyn Send>)
                                }
                            })
                            .await?
                        }
                        _ => {
                            let rt = Arc::clone(&rt);
                            contend(waiters, per_task, move || {
                                let rt = Arc::clone(&rt);
                                async move {
                                    let c = rt.checkout().await?;
                                    Ok(Box::new(c) as Box<dyn Send>)
                                }
                            })
                            .await?
                        }
                    };
                    let secs = t.elapsed().as_secs_f64();
                    rate[v].push(lat.len() as f64 / secs);
                    lat.sort_by(|a, b| a.total_cmp(b));
                    p50[v].push(percentile(&lat, 0.5));
                    p99[v].push(percentile(&lat, 0.99));
                }
            }
            for v in 0..3 {
                println!(
                    "| {conns} | {waiters} | {} | {:.2} | {:.1} | {:.0} |",
                    names[v],
                    median(&mut p50[v]),
                    median(&mut p99[v]),
                    median(&mut rate[v])
                );
            }
        }
        // Nothing leaked: every connection is back.
        let s = rt.stats();
        if s.hosts[0].idle != s.hosts[0].size {
            return Err(format!(
                "the runtime's pool has {} of {} connections idle after the run",
                s.hosts[0].idle, s.hosts[0].size
            )
            .into());
        }
    }
    println!();
    Ok(())
}
