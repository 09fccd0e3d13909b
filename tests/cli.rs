//! The command line: init, schema, explain, inspect.

mod common;

use common::sqlpact_in as sqlpact;

#[test]
fn init_from_sqlc_v2_and_v1() {
    let v2 = std::fs::read_to_string(common::root().join("tests/fixtures/sqlc/sqlc.yaml")).unwrap();
    let out = sqlpact::init::convert_sqlc(&v2, "ledger").unwrap().text;
    assert!(
        out.contains("go_nullable: github.com/shopspring/decimal.NullDecimal"),
        "{out}"
    );
    common::settings().bind(|| insta::assert_snapshot!("init_from_sqlc_v2", out));
    let v1 =
        std::fs::read_to_string(common::root().join("tests/fixtures/sqlc/sqlc_v1.json")).unwrap();
    let out = sqlpact::init::convert_sqlc(&v1, "billing").unwrap().text;
    // A nullable-only pointer override collapses to one override of the base type.
    assert!(
        out.contains("{ db_type: timestamptz, go: time.Time }"),
        "{out}"
    );
    common::settings().bind(|| insta::assert_snapshot!("init_from_sqlc_v1", out));
    // The converted registry parses.
    let mut diags = sqlpact::diag::Diagnostics::default();
    let parsed: Result<sqlpact::registry::RegistryFile, _> = serde_saphyr::from_str(&out);
    assert!(parsed.is_ok(), "{:?}", parsed.err());
    assert!(diags.items.is_empty());
    diags.items.clear();
}

#[test]
fn init_from_sqlc_merges_entries_of_one_package_and_notes_the_others() {
    let raw = std::fs::read_to_string(common::root().join("tests/fixtures/sqlc/sqlc_entries.yaml"))
        .unwrap();
    let c = sqlpact::init::convert_sqlc(&raw, "store").unwrap();
    // The entries generating package `store` are one registry, their queries once each.
    assert!(
        c.text.contains("queries: [accounts.sql, transfers.sql]"),
        "{}",
        c.text
    );
    // Version 2's top-level overrides, by language, and an entry's own.
    assert!(
        c.text
            .contains("{ db_type: jsonb, go: encoding/json.RawMessage }"),
        "{}",
        c.text
    );
    assert!(c
        .text
        .contains("{ db_type: uuid, go: github.com/google/uuid.UUID }"));
    assert!(c
        .text
        .contains("go: { out: internal/store, package: store, json_tags: true }"));
    assert_eq!(c.notes.len(), 3, "{:?}", c.notes);
    // The second entry's settings differ from the first's: merging says so.
    assert!(
        c.notes[0].starts_with("sql[1] (`transfers`) is merged")
            && c.notes[0].contains("json tags, its type overrides now apply"),
        "{}",
        c.notes[0]
    );
    let c = sqlpact::init::Converted {
        text: c.text,
        notes: c.notes[1..].to_vec(),
    };
    assert!(
        c.notes[0].starts_with("sql[2] (`reports`) is left out: it generates Go package `reports`")
            && c.notes[0].contains("`queries: [reports.sql]`")
            && c.notes[0].contains("`outputs.go: { out: internal/reports, package: reports }`"),
        "{}",
        c.notes[0]
    );
    assert!(
        c.notes[1].contains("sql[3] is left out: its engine is `mysql`"),
        "{}",
        c.notes[1]
    );
    let parsed: Result<sqlpact::registry::RegistryFile, _> = serde_saphyr::from_str(&c.text);
    assert!(parsed.is_ok(), "{:?}", parsed.err());
}

#[test]
fn init_scaffold_checks_clean_and_refuses_to_overwrite() {
    let dir = std::env::temp_dir().join(format!("sqlpact-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = sqlpact(&["init"], Some(&dir));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = sqlpact(&["check"], Some(&dir));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = sqlpact(&["init"], Some(&dir));
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn published_json_schema_is_current() {
    let published = std::fs::read_to_string(common::root().join("docs/sqlpact.schema.json"))
        .expect("docs/sqlpact.schema.json");
    assert_eq!(
        published.trim_end(),
        sqlpact::registry::json_schema().trim_end(),
        "regenerate with `sqlpact schema > docs/sqlpact.schema.json`"
    );
}

#[test]
fn explain_names_reasons_and_suggests_names() {
    let reg = common::root().join("contracts/sqlpact.yaml");
    let reg = reg.display().to_string();
    let out = sqlpact(&["-c", &reg, "explain", "GetLedgerTotals"], None);
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("net_amount: numeric NULL") && s.contains("[aggregate]"),
        "{s}"
    );
    let out = sqlpact(&["-c", &reg, "explain", "GetLedgerTotal"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `GetLedgerTotals`?"));
}

#[test]
fn inspect_formats() {
    let reg = common::root()
        .join("contracts/sqlpact.yaml")
        .display()
        .to_string();
    let json = sqlpact(&["-c", &reg, "inspect"], None);
    assert!(json.status.success());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["model_version"], 1);
    let q = &v["queries"][0];
    for key in ["name", "command", "sql", "source", "params", "columns"] {
        assert!(!q[key].is_null(), "missing {key}");
    }
    let text = sqlpact(&["-c", &reg, "inspect", "--format", "text"], None);
    assert!(String::from_utf8_lossy(&text.stdout).starts_with("contract ledger 1.4.0"));
}
