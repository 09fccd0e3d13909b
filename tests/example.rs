//! The shipped example (contracts/): clean, complete, and stable.

mod common;

use std::collections::BTreeSet;

use common::{clean, settings};

#[test]
fn example_is_clean_and_covers_the_product() {
    let a = clean(&common::root().join("contracts/sqlpact.yaml"));
    let c = &a.contract;
    assert!(c.queries.len() >= 30, "{} queries", c.queries.len());
    assert!(c.schema.tables.iter().filter(|t| t.kind == "table").count() >= 8);
    assert!(!c.schema.enums.is_empty());
    let commands: BTreeSet<&str> = c.queries.iter().map(|q| q.command.as_str()).collect();
    for cmd in sqlpact::registry::sqlfile::COMMANDS {
        assert!(commands.contains(cmd), "no :{cmd} query in the example");
    }
    let types: BTreeSet<&str> = c
        .schema
        .tables
        .iter()
        .flat_map(|t| t.columns.iter().map(|c| c.ty.as_str()))
        .collect();
    for t in ["uuid", "numeric", "timestamptz", "jsonb", "text[]"] {
        assert!(types.contains(t), "the example has no {t} column");
    }
    assert!(c
        .queries
        .iter()
        .any(|q| q.params.iter().any(|p| p.optional)));
    assert!(c
        .queries
        .iter()
        .any(|q| q.embeds.iter().any(|e| e.nullable)));
    assert_eq!(c.row_types.len(), 1);
}

#[test]
fn example_inspect_snapshot() {
    let a = clean(&common::root().join("contracts/sqlpact.yaml"));
    settings().bind(|| insta::assert_json_snapshot!("example_inspect", a.contract));
}

#[test]
fn inspect_json_round_trips() {
    let a = clean(&common::root().join("contracts/sqlpact.yaml"));
    let json = serde_json::to_string(&a.contract).unwrap();
    let back: sqlpact::model::Contract = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a.contract);
}
