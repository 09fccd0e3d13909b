//! Writes the dispatch of the wire-vector test: a `match` from message name to the
//! generated message type, and to its row struct where the crate converts one. Read
//! from the generated crate's `src/wire.rs` and `src/wire_rows.rs`, so a new message
//! or conversion is covered without editing the test.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../contracts/gen/rust/ledger/src");
    let wire = src.join("wire.rs");
    let rows = src.join("wire_rows.rs");
    println!("cargo:rerun-if-changed={}", wire.display());
    println!("cargo:rerun-if-changed={}", rows.display());
    let wire = std::fs::read_to_string(&wire).expect("the generated crate's src/wire.rs");
    let rows = std::fs::read_to_string(&rows).expect("the generated crate's src/wire_rows.rs");
    let messages: Vec<&str> = wire
        .lines()
        .filter_map(|l| l.strip_prefix("pub struct ")?.strip_suffix(" {"))
        .collect();
    let conversions: Vec<(&str, &str)> = rows
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("impl TryFrom<wire::")?.strip_suffix(" {")?;
            let (msg, row) = rest.split_once("> for ")?;
            Some((msg, row))
        })
        .collect();
    let mut out = String::new();
    out.push_str("/// Decodes `bytes` as the named message and encodes it again.\n");
    out.push_str("fn reencode(name: &str, bytes: &[u8]) -> Option<Result<Vec<u8>, String>> {\n    Some(match name {\n");
    for m in &messages {
        let _ = writeln!(out, "        {m:?} => reencode_as::<wire::{m}>(bytes),");
    }
    out.push_str("        _ => return None,\n    })\n}\n\n");
    out.push_str("/// Decodes `bytes` as the named message, converts it to its row struct and back,\n/// and encodes it again.\n");
    out.push_str("fn row_trip(name: &str, bytes: &[u8]) -> Option<Result<Vec<u8>, String>> {\n    Some(match name {\n");
    for (m, r) in &conversions {
        let _ = writeln!(
            out,
            "        {m:?} => row_trip_as::<wire::{m}, db::{r}>(bytes),"
        );
    }
    out.push_str("        _ => return None,\n    })\n}\n");
    let dst = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("vectors_dispatch.rs");
    std::fs::write(dst, out).expect("write the dispatch");
}
