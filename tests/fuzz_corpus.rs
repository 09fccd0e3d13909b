//! The fuzz corpus replayed on every test run: each committed input, and each crash
//! the fuzzers found (`fuzz/regressions/`), goes through the same body as its fuzz
//! target on the stable toolchain. A panic fails the test with the input's name.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod bodies;

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    for dir in [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            inputs.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    inputs.sort();
    assert!(
        inputs.len() >= 4,
        "the {target} corpus holds {} inputs: run fuzz/seed.py",
        inputs.len()
    );
    for input in &inputs {
        let data = std::fs::read(input).unwrap();
        if std::panic::catch_unwind(|| body(&data)).is_err() {
            panic!("the {target} target panics on {}", input.display());
        }
    }
    bodies::clean(target);
}

#[test]
fn the_registry_corpus_replays_without_a_panic() {
    replay("registry", bodies::registry);
}

#[test]
fn the_sql_corpus_replays_without_a_panic() {
    replay("sql", bodies::sql);
}

#[test]
fn the_proto_corpus_replays_without_a_panic() {
    replay("proto", bodies::proto);
}

#[test]
fn the_compat_corpus_replays_without_a_panic() {
    replay("compat", bodies::compat);
}
