//! The shared test vectors (runtime/testdata/backoff.json, computed by an independent
//! implementation in make_vectors.py); the Go module passes the same ones.

use std::time::Duration;

use serde_json::Value;
use sqlpact_runtime::{Backoff, BackoffPolicy, Jitter, SplitMix64};

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/backoff.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn splitmix64_matches_the_reference_outputs() {
    let v = vectors();
    let cases = v["splitmix64"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for c in cases {
        let mut g = SplitMix64::new(hex(&c["seed"]));
        let got: Vec<u64> = (0..5).map(|_| g.next_u64()).collect();
        let want: Vec<u64> = c["outputs"].as_array().unwrap().iter().map(hex).collect();
        assert_eq!(got, want, "seed {}", c["seed"]);
    }
}

#[test]
fn uniform_draws_match() {
    for c in vectors()["uniform"].as_array().unwrap() {
        let mut g = SplitMix64::new(hex(&c["seed"]));
        let max = hex(&c["max"]);
        for d in c["draws"].as_array().unwrap() {
            let got = g.uniform(max);
            assert!(got <= max);
            assert_eq!(got, hex(d), "seed {} max {max}", c["seed"]);
        }
    }
}

#[test]
fn backoff_schedules_match() {
    let v = vectors();
    let cases = v["backoff"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let policy = BackoffPolicy {
            base: Duration::from_micros(c["base_us"].as_u64().unwrap()),
            cap: Duration::from_micros(c["cap_us"].as_u64().unwrap()),
            max_attempts: c["max_attempts"].as_u64().unwrap() as u32,
            multiplier: c["multiplier"].as_f64().unwrap(),
            jitter: match c["jitter"].as_str().unwrap() {
                "full" => Jitter::Full,
                "equal" => Jitter::Equal,
                _ => Jitter::None,
            },
        };
        let remaining = c["remaining_us"].as_u64().map(Duration::from_micros);
        let mut b = Backoff::new(policy, c["seed"].as_u64().unwrap());
        let want = c["delays_us"].as_array().unwrap();
        for (n, w) in want.iter().enumerate() {
            let got = b.next_delay(remaining).map(|d| d.as_micros() as u64);
            assert_eq!(got, w.as_u64(), "{c}: retry {n}");
            if let Some(d) = got {
                assert!(
                    d <= policy.ceiling_us(n as u32),
                    "a wait stays under the ceiling"
                );
            }
        }
    }
}

#[test]
fn ceilings_double_then_stop_at_the_cap() {
    let p = BackoffPolicy::doubling(Duration::from_millis(50), Duration::from_secs(2), 10);
    let c: Vec<u64> = (0..8).map(|n| p.ceiling_us(n)).collect();
    assert_eq!(
        c,
        [50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000, 2_000_000, 2_000_000]
    );
}
