//! The circuit breaker against the shared vectors (runtime/testdata/breaker.json,
//! computed by make_breaker.py); Go passes the same.

use serde_json::Value;
use sqlpact_runtime::{Breaker, BreakerConfig, BreakerState};

#[test]
fn every_event_sequence_gives_the_same_states() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/breaker.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let c = &v["config"];
    let n = |k: &str| c[k].as_u64().unwrap();
    let cfg = BreakerConfig {
        failure_threshold: n("failure_threshold") as u32,
        open_for_ms: n("open_for_ms"),
        max_open_ms: n("max_open_ms"),
        window_ms: n("window_ms"),
        min_requests: n("min_requests") as u32,
        failure_percent: n("failure_percent") as u32,
    };
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    let mut seen = [0; 3];
    for case in cases {
        let mut b = Breaker::new(cfg, case["seed"].as_u64().unwrap());
        for s in case["steps"].as_array().unwrap() {
            let t = s["t"].as_u64().unwrap();
            let allowed = match s["event"].as_str().unwrap() {
                "allow" => Some(b.allow(t)),
                "success" => {
                    b.record_success(t);
                    None
                }
                _ => {
                    b.record_failure(t);
                    None
                }
            };
            assert_eq!(allowed, s["allowed"].as_bool(), "{}: {s}", case["name"]);
            let (state, until) = match b.state() {
                BreakerState::Closed => ("closed", None),
                BreakerState::Open { until_ms } => ("open", Some(until_ms)),
                BreakerState::HalfOpen => ("half_open", None),
            };
            seen[["closed", "open", "half_open"]
                .iter()
                .position(|x| *x == state)
                .unwrap()] += 1;
            assert_eq!(state, s["state"].as_str().unwrap(), "{}: {s}", case["name"]);
            assert_eq!(until, s["open_until"].as_u64(), "{}: {s}", case["name"]);
        }
    }
    assert!(
        seen.iter().all(|n| *n > 0),
        "every state is reached: {seen:?}"
    );
}
