//! The retry budget against the shared vectors (runtime/testdata/budget.json, computed
//! by make_budget.py); Go passes the same.

use serde_json::Value;
use sqlpact_runtime::{BudgetConfig, RetryBudget};

#[test]
fn every_retry_is_allowed_or_refused_as_specified() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/budget.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let c = &v["config"];
    let cfg = BudgetConfig {
        percent: c["percent"].as_u64().unwrap(),
        min_per_sec: c["min_per_sec"].as_u64().unwrap(),
        ttl_ms: c["ttl_ms"].as_u64().unwrap(),
    };
    let (mut allowed, mut refused) = (0, 0);
    for case in v["cases"].as_array().unwrap() {
        let mut b = RetryBudget::new(cfg);
        for s in case["steps"].as_array().unwrap() {
            let t = s["t"].as_u64().unwrap();
            let ev = s["event"].as_str().unwrap();
            let got = match ev.strip_prefix("retry:") {
                Some(class) => Some(b.try_retry(t, class)),
                None => {
                    b.request(t);
                    None
                }
            };
            assert_eq!(got, s["allowed"].as_bool(), "{}: {s}", case["name"]);
            match got {
                Some(true) => allowed += 1,
                Some(false) => refused += 1,
                None => {}
            }
        }
    }
    assert!(
        allowed > 100 && refused > 10,
        "{allowed} allowed, {refused} refused"
    );
}

#[test]
fn the_default_is_twenty_percent_plus_ten_per_second_over_ten_seconds() {
    let d = BudgetConfig::default();
    assert_eq!((d.percent, d.min_per_sec, d.ttl_ms), (20, 10, 10_000));
}
