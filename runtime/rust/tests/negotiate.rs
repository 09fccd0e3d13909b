//! Wire version negotiation against the shared cases (runtime/testdata/negotiate.json,
//! decided by brute force in make_negotiate.py); the Go module passes the same ones.

use serde_json::Value;
use sqlpact_runtime::{negotiate, NegotiationError, WireRange};

fn range(v: &Value) -> WireRange {
    let a = v.as_array().unwrap();
    WireRange::new(a[0].as_u64().unwrap() as u32, a[1].as_u64().unwrap() as u32)
}

#[test]
fn every_case_is_decided_like_the_reference() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/negotiate.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() > 200);
    let mut refused = 0;
    for c in cases {
        let (local, remote) = (range(&c["local"]), range(&c["remote"]));
        let got = negotiate(local, remote);
        match c["want"].as_u64() {
            Some(want) => assert_eq!(got, Ok(want as u32), "{local} vs {remote}"),
            None => {
                refused += 1;
                let err = got.expect_err("no common version");
                let invalid = c["invalid"].as_bool().unwrap_or(false);
                assert_eq!(
                    matches!(err, NegotiationError::InvalidRange { .. }),
                    invalid,
                    "{local} vs {remote}: {err}"
                );
            }
        }
    }
    assert!(refused > 10);
}

#[test]
fn the_error_names_both_ranges() {
    let err = negotiate(WireRange::new(3, 4), WireRange::new(1, 2)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no common wire version: this side accepts v3..=v4, the other side accepts v1..=v2"
    );
}
