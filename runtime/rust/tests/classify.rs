//! The error taxonomy against the shared vectors (runtime/testdata/classify.json,
//! computed from docs/runtime.md's table by make_classify.py); Go passes the same.

use serde_json::Value;
use sqlpact_runtime::{classify, Failure, FailureKind, Route, SendState};

#[test]
fn every_case_of_the_decision_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/classify.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() > 500, "{} cases", cases.len());
    for c in cases {
        let kind = match c["kind"].as_str().unwrap() {
            "sqlstate" => FailureKind::SqlState(c["sqlstate"].as_str().unwrap()),
            "io" => FailureKind::Io,
            "timeout" => FailureKind::Timeout,
            "pool_timeout" => FailureKind::PoolTimeout,
            other => panic!("unknown kind {other}"),
        };
        let sent = match c["sent"].as_str().unwrap() {
            "not_sent" => SendState::NotSent,
            "sent_no_reply" => SendState::SentNoReply,
            "replied" => SendState::Replied,
            other => panic!("unknown send state {other}"),
        };
        let route = match c["route"].as_str().unwrap() {
            "primary" => Route::Primary,
            _ => Route::Replica,
        };
        let d = classify(&Failure {
            kind,
            sent,
            in_transaction: c["in_tx"].as_bool().unwrap(),
            idempotent: c["idempotent"].as_bool().unwrap(),
            route,
        });
        let got = (
            d.class.as_str(),
            d.action.as_str(),
            d.evict_generation,
            d.feeds_breaker,
        );
        let want = (
            c["class"].as_str().unwrap(),
            c["action"].as_str().unwrap(),
            c["evict_generation"].as_bool().unwrap(),
            c["feeds_breaker"].as_bool().unwrap(),
        );
        assert_eq!(got, want, "{c}");
    }
}
