//! The cross-language wire vectors (`tests/wire-vectors`): for every message of the
//! example, the generated Rust types read the committed bytes and write them again
//! unchanged, and where the message is a row, the conversions carry it through the row
//! struct and back without changing a byte. The Go client's tests check the same
//! bytes against the Go types.

use ledger_db as db;
use ledger_db::wire;
use prost::Message;

include!(concat!(env!("OUT_DIR"), "/vectors_dispatch.rs"));

fn reencode_as<M: Message + Default>(bytes: &[u8]) -> Result<Vec<u8>, String> {
    Ok(M::decode(bytes).map_err(|e| e.to_string())?.encode_to_vec())
}

fn row_trip_as<M, R>(bytes: &[u8]) -> Result<Vec<u8>, String>
where
    M: Message + Default + for<'a> From<&'a R>,
    R: TryFrom<M, Error = db::WireError>,
{
    let m = M::decode(bytes).map_err(|e| e.to_string())?;
    let row = R::try_from(m).map_err(|e| e.to_string())?;
    Ok(M::from(&row).encode_to_vec())
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn wire_vectors_are_byte_identical_from_rust() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../wire-vectors");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/wire-vectors")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 100, "only {} vector files", files.len());
    let (mut samples, mut rows, mut wrong) = (0, 0, Vec::new());
    for f in &files {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let full = v["message"].as_str().unwrap();
        let name = full.rsplit('.').next().unwrap();
        for s in v["samples"].as_array().unwrap() {
            let what = format!("{name} {}", s["name"].as_str().unwrap());
            let want = unhex(s["hex"].as_str().unwrap());
            match reencode(name, &want) {
                None => panic!("{full} is not a message of the generated crate"),
                Some(Ok(got)) if got == want => {}
                Some(got) => wrong.push(format!("{what}: re-encoded as {got:?}")),
            }
            samples += 1;
            match row_trip(name, &want) {
                None => {}
                Some(Ok(got)) if got == want => rows += 1,
                Some(got) => wrong.push(format!("{what}: through the row struct: {got:x?}")),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(samples, files.len() * 3);
    assert!(rows >= 100, "only {rows} samples went through a row struct");
}
