//! Scenario 14 of the fault suite (docs/runtime.md, "Under faults"): the seeded fault
//! script `runtime/testdata/faultscript.json` (written by `make_faultscript.py`), its
//! faults raised by PostgreSQL itself, gives the decision-and-delay trace committed
//! as `runtime/testdata/faulttrace.txt`, line for line; runtime/go/trace_test.go
//! reproduces the same file. `SQLPACT_UPDATE_TRACE=1` rewrites the file instead of
//! comparing with it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlpact_runtime::{
    BackoffPolicy, BreakerPolicy, BreakerState, BudgetConfig, Db, Error, Event, Executor,
    IdempotencyKey, Jitter, Observer, Policies, PoolPolicy, RetryPolicy, Route, Statement,
    TxOptions, IDEMPOTENCY_TABLE,
};

mod common;
use common::{connect, scratch};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/faultscript.json");
const TRACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/faulttrace.txt");

/// The committed trace's header; the comparison skips its `#` lines.
const HEADER: &str = "\
# Scenario 14 of the fault suite (docs/runtime.md, \"Under faults\"): the decisions and
# delays of runtime/testdata/faultscript.json, as the Rust runtime
# (runtime/rust/tests/trace.rs) and the Go runtime (runtime/go/trace_test.go) both
# trace it. Rewritten by either test run with SQLPACT_UPDATE_TRACE=1.
# `call` lines name each call (its kind and scripted SQLSTATEs); the indented lines are
# the observer's events (host `db`, delays in microseconds) and `=` the call's outcome.
";

/// Records the events that are decisions or delays, as trace lines; connections
/// opened and closed are left out (how many a runtime opens is its own business).
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
}

fn breaker_state(s: BreakerState) -> &'static str {
    match s {
        BreakerState::Closed => "closed",
        BreakerState::Open { .. } => "open",
        BreakerState::HalfOpen => "half_open",
    }
}

impl Observer for Recorder {
    fn on_event(&self, e: &Event<'_>) {
        let line = match *e {
            Event::Attempt {
                statement,
                host,
                attempt,
            } => format!("  attempt {attempt} {statement} {host}"),
            Event::Retry {
                statement,
                host,
                class,
                attempt,
                delay,
            } => format!(
                "  retry {attempt} {statement} {host} {} delay={}us",
                class.as_str(),
                delay.as_micros()
            ),
            Event::Failed {
                statement,
                class,
                attempts,
                ambiguous,
                budget_exhausted,
            } => format!(
                "  failed {statement} {} attempts={attempts} ambiguous={ambiguous} \
                 budget_exhausted={budget_exhausted}",
                class.as_str()
            ),
            Event::Replayed { statement } => format!("  replayed {statement}"),
            Event::Breaker { host, state } => format!("  breaker {host} {}", breaker_state(state)),
            Event::Role { host, role } => format!("  role {host} {}", role.as_str()),
            Event::AcquireTimeout { host } => format!("  acquire_timeout {host}"),
            _ => return,
        };
        self.push(line);
    }
}

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

fn u64_at(v: &Value, path: &[&str]) -> u64 {
    let mut v = v;
    for p in path {
        v = &v[p];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("{path:?} in the script"))
}

/// The script's statements, run under its policy.
struct Kinds {
    read: &'static Statement,
    write: &'static Statement,
    idempotent_write: &'static Statement,
    keyed_write: &'static Statement,
    in_transaction: &'static Statement,
}

fn policies(script: &Value) -> (&'static Policies, Kinds) {
    let ms = |path: &[&str]| Duration::from_millis(u64_at(script, path));
    let us = |path: &[&str]| Duration::from_micros(u64_at(script, path));
    let retry = leak(RetryPolicy {
        name: "standard",
        backoff: BackoffPolicy {
            base: us(&["policy", "retry", "base_us"]),
            cap: us(&["policy", "retry", "cap_us"]),
            max_attempts: u64_at(script, &["policy", "retry", "max_attempts"]) as u32,
            multiplier: script["policy"]["retry"]["multiplier"].as_f64().unwrap(),
            jitter: match script["policy"]["retry"]["jitter"].as_str().unwrap() {
                "full" => Jitter::Full,
                "equal" => Jitter::Equal,
                _ => Jitter::None,
            },
        },
    });
    let read = leak(Statement {
        name: "Read",
        command: "one",
        sql: "SELECT sqlpact_fault($1)",
        read_only: true,
        idempotent: true,
        route: Route::Primary,
        timeout: ms(&["policy", "timeout_ms"]),
        retry,
        idempotency: None,
        expect_one_row: false,
    });
    let write = leak(Statement {
        name: "Write",
        command: "exec",
        sql: "INSERT INTO fault_log (call, attempt) VALUES ($1, sqlpact_fault($1))",
        read_only: false,
        idempotent: false,
        ..*read
    });
    let kinds = Kinds {
        read,
        write,
        idempotent_write: leak(Statement {
            name: "IdempotentWrite",
            sql: "INSERT INTO fault_log (call, attempt) VALUES ($1, sqlpact_fault($1)) \
                  ON CONFLICT (call) DO NOTHING",
            idempotent: true,
            ..*write
        }),
        keyed_write: leak(Statement {
            name: "KeyedWrite",
            sql: "INSERT INTO fault_log (call, attempt, key) VALUES ($1, sqlpact_fault($1), $2)",
            idempotency: Some(leak(IdempotencyKey {
                param: 1,
                param_type: "text",
                columns: &[],
            })),
            ..*write
        }),
        in_transaction: leak(Statement {
            name: "TxWrite",
            ..*write
        }),
    };
    let policies = leak(Policies {
        contract: "fault-script",
        version: "0.0.0",
        pool: PoolPolicy {
            max_size: u64_at(script, &["policy", "pool", "max_size"]) as u32,
            min_idle: 0,
            acquire_timeout: ms(&["policy", "pool", "acquire_timeout_ms"]),
            idle_timeout: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(1800),
            lifetime_jitter: Duration::ZERO,
        },
        breaker: BreakerPolicy {
            failure_threshold: u64_at(script, &["policy", "breaker", "failure_threshold"]) as u32,
            open_for: ms(&["policy", "breaker", "open_for_ms"]),
        },
        retry: Box::leak(Box::new([retry])),
        statements: &[],
    });
    (policies, kinds)
}

/// The outcome line of a call, as the script's `expect` spells it.
fn outcome(r: Result<(), Error>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!(
            "err {} {} attempts={} ambiguous={} budget_exhausted={}",
            e.class().as_str(),
            e.action().as_str(),
            e.attempt_count(),
            e.is_ambiguous(),
            e.is_budget_exhausted()
        ),
    }
}

async fn run_call(db: &Db, kinds: &Kinds, call: &Value) -> Result<(), Error> {
    let i = u64_at(call, &["call"]) as i32;
    match call["kind"].as_str().unwrap() {
        "read" => db.query_one(kinds.read, &[&i]).await.map(drop),
        "write" => db.execute(kinds.write, &[&i]).await.map(drop),
        "idempotent_write" => db.execute(kinds.idempotent_write, &[&i]).await.map(drop),
        "keyed_write" => {
            let key = call["key"].as_str().unwrap();
            db.execute(kinds.keyed_write, &[&i, &key]).await.map(drop)
        }
        "transaction" => {
            let st = kinds.in_transaction;
            db.transaction(TxOptions::default(), async |tx| {
                tx.execute(st, &[&i]).await.map(drop)
            })
            .await
        }
        other => panic!("unknown kind {other}"),
    }
}

/// Fails at the first line where `got` departs from the committed trace, naming the
/// call it belongs to and the lines before it.
fn compare(committed: &str, got: &[String], whole: &std::path::Path) {
    let want: Vec<(usize, &str)> = committed
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'))
        .collect();
    let n = want.len().max(got.len());
    for k in 0..n {
        let w = want.get(k).map(|(_, l)| *l);
        let g = got.get(k).map(String::as_str);
        if w == g {
            continue;
        }
        let line_no = want
            .get(k)
            .map_or(committed.lines().count() + 1, |(n, _)| n + 1);
        let call = got[..k.min(got.len())]
            .iter()
            .rev()
            .find(|l| l.starts_with("call "))
            .map_or("before the first call", String::as_str);
        let before = got[k.saturating_sub(4)..k.min(got.len())].join("\n    ");
        panic!(
            "the trace departs from runtime/testdata/faulttrace.txt at its line {line_no} \
             ({call}):\n  want: {}\n  got:  {}\n  after:\n    {before}\n\
             The whole trace is in {}; SQLPACT_UPDATE_TRACE=1 rewrites the committed one.",
            w.unwrap_or("<end of trace>"),
            g.unwrap_or("<end of trace>"),
            whole.display()
        );
    }
}

/// What the script is there to exercise must be in the trace, so that a trace that
/// lost its faults cannot pass by matching a file that lost them too.
fn assert_covers(lines: &[String]) {
    let actions: BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("  = err "))
        .filter_map(|l| l.split(' ').nth(1))
        .collect();
    for a in [
        "retry_anywhere",
        "backoff_retry",
        "rerun_transaction",
        "reroute_primary",
        "ambiguous",
        "fatal",
    ] {
        assert!(actions.contains(a), "no call ends with action {a}");
    }
    let retried: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l.starts_with("  retry "))
        .filter_map(|l| l.split(' ').nth(6))
        .collect();
    for c in [
        "serialization",
        "deadlock",
        "lock_not_available",
        "server_shutdown",
        "too_many_connections",
        "read_only",
        "connection",
    ] {
        assert!(retried.contains(c), "no retry of class {c}: {retried:?}");
    }
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has("budget_exhausted=true"),
        "the retry budget never ran out"
    );
    assert!(has("  breaker db open"), "the breaker never opened");
    assert!(
        has("  failed Read breaker_open"),
        "no retry was refused by the open breaker"
    );
    assert!(has("  replayed KeyedWrite"), "no keyed write was replayed");
}

/// Scenario 14: the same seeded fault script run by the Go and the Rust runtime gives
/// identical decision-and-delay traces. PostgreSQL raises the scripted SQLSTATE of
/// each attempt (a PL/pgSQL function counting the attempts of each call in a sequence,
/// which no rollback undoes); the calls run one after another under policies no clock
/// can sway (deadlines and the breaker's open delay far beyond the test, a budget
/// window longer than it), so every decision and delay follows from the script and
/// the seed.
#[tokio::test]
async fn the_seeded_fault_script_gives_the_committed_trace() {
    let script: Value = serde_json::from_str(&std::fs::read_to_string(SCRIPT).unwrap()).unwrap();
    let (url, _admin) = scratch("trace", IDEMPOTENCY_TABLE).await;
    let setup = connect(&url).await;
    for sql in script["setup"].as_array().unwrap() {
        setup.batch_execute(sql.as_str().unwrap()).await.unwrap();
    }
    let (policies, kinds) = policies(&script);
    let budget = BudgetConfig {
        percent: u64_at(&script, &["policy", "budget", "percent"]),
        min_per_sec: u64_at(&script, &["policy", "budget", "min_per_sec"]),
        ttl_ms: u64_at(&script, &["policy", "budget", "ttl_ms"]),
    };

    let started = Instant::now();
    let rec = Arc::new(Recorder::default());
    rec.push("open".into());
    let db = Db::builder(policies)
        .seed(u64_at(&script, &["seed"]))
        .retry_budget(budget)
        .observer(rec.clone())
        .host(&url)
        .unwrap()
        .build()
        .await
        .unwrap();
    let mut unexpected = Vec::new();
    for call in script["calls"].as_array().unwrap() {
        let faults: Vec<&str> = call["faults"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let mut head = format!("call {} {}", call["call"], call["kind"].as_str().unwrap());
        for f in &faults {
            head.push(' ');
            head.push_str(f);
        }
        rec.push(head);
        let got = outcome(run_call(&db, &kinds, call).await);
        let want = call["expect"].as_str().unwrap();
        if got != want {
            unexpected.push(format!(
                "call {}: {got}, the rules give {want}",
                call["call"]
            ));
        }
        rec.push(format!("  = {got}"));
    }
    let took = started.elapsed();

    let host = db.stats().hosts[0].name.clone();
    let lines: Vec<String> = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|l| l.replace(&format!(" {host}"), " db"))
        .collect();
    let text = format!("{HEADER}{}\n", lines.join("\n"));
    let whole = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("faulttrace.rust.txt");
    std::fs::write(&whole, &text).unwrap();
    assert!(
        unexpected.is_empty(),
        "outcomes departing from the script's (docs/runtime.md's rules, \
         make_faultscript.py):\n  {}\nThe whole trace is in {}",
        unexpected.join("\n  "),
        whole.display()
    );
    assert_covers(&lines);
    if std::env::var_os("SQLPACT_UPDATE_TRACE").is_some_and(|v| v == "1") {
        std::fs::write(TRACE, &text).unwrap();
    } else {
        let committed = std::fs::read_to_string(TRACE).unwrap_or_default();
        compare(&committed, &lines, &whole);
    }
    let retries = lines.iter().filter(|l| l.starts_with("  retry ")).count();
    eprintln!(
        "scenario 14: {} calls, {retries} retries, {} trace lines in {took:?}",
        script["calls"].as_array().unwrap().len(),
        lines.len()
    );
}
