//! Bad input: every fixture under tests/fixtures/bad/<CODE>_<case>/ must produce its
//! diagnostic code, exit 1 (0 for a warning, `W…`), never panic; the rendering is
//! snapshotted. Hostile
//! files too large to commit are generated here.

mod common;

use std::path::Path;

use sqlpact::diag::Code;

use common::sqlpact;

fn check(registry: &Path) -> (i32, String) {
    let out = sqlpact(&["-c", &registry.display().to_string(), "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "sqlpact panicked:\n{stderr}");
    (out.status.code().expect("exit code, not a signal"), stderr)
}

fn bad_cases() -> Vec<String> {
    let dir = common::root().join("tests/fixtures/bad");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn every_bad_fixture_reports_its_code_and_matches_its_snapshot() {
    let cases = bad_cases();
    assert!(cases.len() >= 25, "{} bad-input fixtures", cases.len());
    for case in cases {
        let code = case.split('_').next().unwrap();
        let registry = common::root()
            .join("tests/fixtures/bad")
            .join(&case)
            .join("sqlpact.yaml");
        let (rc, stderr) = check(&registry);
        // A warning is reported, and does not fail the check.
        let want = if code.starts_with('W') { 0 } else { 1 };
        assert_eq!(rc, want, "{case}: exit code\n{stderr}");
        assert!(
            stderr.contains(code),
            "{case}: expected {code} in\n{stderr}"
        );
        assert!(stderr.contains("help:"), "{case}: no help line\n{stderr}");
        common::settings().bind(|| insta::assert_snapshot!(format!("bad__{case}"), stderr));
    }
}

#[test]
fn every_code_has_a_fixture() {
    let cases = bad_cases();
    // E100 (unreadable file) is covered below; E5xx come from `verify` (tests/verify.rs).
    let exempt = [
        Code::Io,
        Code::FileTooLarge,
        Code::NotText,
        Code::TooManyQueries,
        Code::VerifyRejected,
        Code::VerifyMismatch,
    ];
    for code in Code::ALL {
        if exempt.contains(code) {
            continue;
        }
        assert!(
            cases.iter().any(|c| c.starts_with(code.id())),
            "no fixture for {} ({})",
            code.id(),
            code.name()
        );
    }
}

#[test]
fn json_format_carries_the_same_diagnostics() {
    let registry = common::root().join("tests/fixtures/bad/E401_unknown_column/sqlpact.yaml");
    let out = sqlpact(&[
        "-c",
        &registry.display().to_string(),
        "check",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0]["code"], "E401");
    assert_eq!(v[0]["location"]["file"], "queries.sql");
    assert_eq!(v[0]["location"]["line"], 2);
    assert_eq!(v[0]["location"]["column"], 12);
    assert_eq!(v[0]["help"], "did you mean `name`?");
}

#[test]
fn github_format_annotates_the_file() {
    let registry = common::root().join("tests/fixtures/bad/E400_unknown_table/sqlpact.yaml");
    let out = sqlpact(&[
        "-c",
        &registry.display().to_string(),
        "check",
        "--format",
        "github",
    ]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.starts_with("::error file=queries.sql,line=2,col=15,title=E400::"),
        "{s}"
    );
}

/// A scratch registry dir with the given query file bytes.
fn scratch(name: &str, query_bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sqlpact-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("schema.sql"),
        "CREATE TABLE t (id int PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(dir.join("queries.sql"), query_bytes).unwrap();
    std::fs::write(dir.join("sqlpact.yaml"), "version: 1\ncontract: { name: scratch, version: 0.1.0 }\nengine: postgresql\nschema: [schema.sql]\nqueries: [queries.sql]\n").unwrap();
    dir
}

#[test]
fn binary_query_file_is_refused() {
    let dir = scratch("binary", b"-- name: A :one\nSELECT \x00\x01\x02 FROM t;\n");
    let (rc, stderr) = check(&dir.join("sqlpact.yaml"));
    assert_eq!(rc, 1);
    assert!(
        stderr.contains("E107") && stderr.contains("binary"),
        "{stderr}"
    );
}

#[test]
fn non_utf8_query_file_is_refused() {
    let dir = scratch("latin1", b"-- name: A :one\nSELECT 'caf\xe9' AS x;\n");
    let (rc, stderr) = check(&dir.join("sqlpact.yaml"));
    assert_eq!(rc, 1);
    assert!(
        stderr.contains("E107") && stderr.contains("not UTF-8"),
        "{stderr}"
    );
}

#[test]
fn fifty_megabyte_file_is_refused_without_reading_it() {
    let mut big = b"-- name: A :one\nSELECT 1 AS x;\n".to_vec();
    big.resize(50 << 20, b' ');
    let dir = scratch("huge", &big);
    let start = std::time::Instant::now();
    let (rc, stderr) = check(&dir.join("sqlpact.yaml"));
    assert_eq!(rc, 1);
    assert!(stderr.contains("E106"), "{stderr}");
    assert!(start.elapsed().as_secs() < 10);
}

#[test]
fn nested_yaml_bomb_fails_fast() {
    let dir = scratch("bomb", b"-- name: A :one\nSELECT 1 AS x;\n");
    let mut y = String::from("version: 1\ncontract: { name: scratch, version: 0.1.0 }\nengine: postgresql\nschema: [schema.sql]\nqueries: [queries.sql]\nx0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..20 {
        let p = format!("*x{}", i - 1);
        y.push_str(&format!("x{i}: &x{i} [{}]\n", vec![p; 9].join(", ")));
    }
    std::fs::write(dir.join("sqlpact.yaml"), y).unwrap();
    let start = std::time::Instant::now();
    let (rc, stderr) = check(&dir.join("sqlpact.yaml"));
    assert_eq!(rc, 1, "{stderr}");
    assert!(
        stderr.contains("E102") || stderr.contains("E103"),
        "{stderr}"
    );
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn missing_registry_exits_2_with_help() {
    let out = sqlpact(&["-c", "no/such/sqlpact.yaml", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let s = String::from_utf8_lossy(&out.stderr);
    assert!(s.contains("no such file") && s.contains("help:"), "{s}");
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let out = sqlpact(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unreadable_path_is_an_io_error() {
    let mut diags = sqlpact::diag::Diagnostics::default();
    let r = sqlpact::registry::read_text(
        Path::new("/nonexistent/x.sql"),
        "x.sql",
        10,
        None,
        &mut diags,
    );
    assert!(r.is_none());
    assert_eq!(diags.items[0].code, Code::Io);
}

/// Enough queries to be analyzed on several threads: the queries keep the
/// registry's order and every bad query is reported, once, at its own line.
#[test]
fn many_queries_keep_their_order_and_every_diagnostic() {
    let mut sql = String::new();
    let mut bad_lines = Vec::new();
    let mut line = 1;
    for i in 0..600 {
        let table = if i % 97 == 5 { "missing_table" } else { "t" };
        if table != "t" {
            bad_lines.push(line + 1);
        }
        sql.push_str(&format!(
            "-- name: Q{i:04} :one\nSELECT id FROM {table} WHERE id = $1;\n\n"
        ));
        line += 3;
    }
    let dir = scratch("many", sql.as_bytes());
    let run = common::load(&dir.join("sqlpact.yaml"));
    let analysis = run.analysis.expect("analysis");
    let names: Vec<&str> = analysis
        .contract
        .queries
        .iter()
        .map(|q| q.name.as_str())
        .collect();
    let expected: Vec<String> = (0..600)
        .filter(|i| i % 97 != 5)
        .map(|i| format!("Q{i:04}"))
        .collect();
    assert_eq!(names, expected);
    let lines: Vec<u32> = run
        .diags
        .items
        .iter()
        .map(|d| {
            assert_eq!(d.code, Code::UnknownTable, "{}", d.message);
            let span = d.span.as_ref().expect("span");
            run.sources.get(span.file).line_col(span.range.start).line
        })
        .collect();
    assert_eq!(lines, bad_lines);
    let _ = std::fs::remove_dir_all(dir);
}

/// `n` copies of `term` joined by `op`, one per line.
fn chain(term: &str, op: &str, n: usize) -> String {
    vec![term; n].join(&format!("\n{op} "))
}

#[test]
fn operator_chains_too_deep_to_walk_are_refused_where_they_pass_the_limit() {
    // Each of these is 20,000 links long: walked recursively, any of them overflows the
    // stack. All must come back as E208, located, with no other diagnostic.
    let cases = [
        (
            "plus",
            format!("SELECT {} AS x FROM t", chain("id", "+", 20_000)),
        ),
        (
            "and",
            format!("SELECT id FROM t WHERE {}", chain("id = 1", "AND", 20_000)),
        ),
        (
            "cast",
            format!("SELECT id{} FROM t", "\n::int".repeat(20_000)),
        ),
        (
            "concat",
            format!("SELECT {} FROM t", chain("'a'", "||", 20_000)),
        ),
        (
            "json",
            format!("SELECT '{{}}'::jsonb{} FROM t", "\n-> 'k'".repeat(20_000)),
        ),
        ("union", chain("SELECT id FROM t", "UNION ALL", 20_000)),
        (
            "distinct",
            format!(
                "SELECT id FROM t WHERE {}",
                chain("id", "IS DISTINCT FROM", 20_000)
            ),
        ),
        (
            "case",
            format!(
                "SELECT {} FROM t",
                chain("CASE WHEN id = 1 THEN 1 END", "+", 20_000)
            ),
        ),
        (
            "call",
            format!("SELECT {} FROM t", chain("abs(id)", "*", 20_000)),
        ),
    ];
    for (name, body) in cases {
        let dir = scratch(
            &format!("deep-{name}"),
            format!("-- name: Deep :one\n{body};\n").as_bytes(),
        );
        let (rc, stderr) = check(&dir.join("sqlpact.yaml"));
        assert_eq!(rc, 1, "{name}: {stderr}");
        assert!(
            stderr.contains("E208") && stderr.contains("1 error(s)"),
            "{name}: {stderr}"
        );
        // The caret is on a line of the chain, not at the top of the file.
        assert!(
            stderr.contains("the limit is passed here"),
            "{name}: {stderr}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn expressions_just_inside_the_limit_are_analyzed() {
    // 999 operators on one path, in a query analyzed beside 300 others (so on a worker
    // thread) and in a view the schema analyzes, in this unoptimized build.
    let mut sql = String::new();
    for i in 0..300 {
        sql.push_str(&format!(
            "-- name: Q{i} :one\nSELECT id FROM t WHERE id = $1;\n"
        ));
    }
    sql.push_str(&format!(
        "-- name: Deep :one\nSELECT {} AS x FROM t;\n",
        chain("id", "+", 999)
    ));
    sql.push_str("-- name: FromView :many\nSELECT x FROM deep;\n");
    let dir = scratch("deep-ok", sql.as_bytes());
    std::fs::write(
        dir.join("schema.sql"),
        format!(
            "CREATE TABLE t (id int PRIMARY KEY);\nCREATE VIEW deep AS SELECT {} AS x FROM t;\n",
            chain("id", "-", 998)
        ),
    )
    .unwrap();
    let (rc, stderr) = check(&dir.join("sqlpact.yaml"));
    assert_eq!(rc, 0, "{stderr}");
    assert!(stderr.contains("302 queries"), "{stderr}");
    // One more operator, in the view this time, and the schema statement is refused.
    std::fs::write(
        dir.join("schema.sql"),
        format!(
            "CREATE TABLE t (id int PRIMARY KEY);\nCREATE VIEW deep AS SELECT {} AS x FROM t;\n",
            chain("id", "-", 20_000)
        ),
    )
    .unwrap();
    let (rc, stderr) = check(&dir.join("sqlpact.yaml"));
    assert_eq!(rc, 1, "{stderr}");
    assert!(
        stderr.contains("E208") && stderr.contains("schema statement"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn more_queries_than_one_registry_holds_are_refused_at_the_first_too_many() {
    // Two files: the limit is passed in the second, at the query that makes it one
    // more than allowed.
    let per = sqlpact::registry::MAX_QUERIES / 2 + 1;
    let file = |prefix: &str| {
        let mut s = String::with_capacity(per * 48);
        for i in 0..per {
            s.push_str(&format!("-- name: {prefix}{i} :one\nSELECT id FROM t;\n"));
        }
        s
    };
    let dir = scratch("too-many", file("A").as_bytes());
    std::fs::write(dir.join("more.sql"), file("B")).unwrap();
    std::fs::write(dir.join("sqlpact.yaml"), "version: 1\ncontract: { name: scratch, version: 0.1.0 }\nengine: postgresql\nschema: [schema.sql]\nqueries: [queries.sql, more.sql]\n").unwrap();
    let (rc, stderr) = check(&dir.join("sqlpact.yaml"));
    assert_eq!(rc, 1, "{stderr}");
    assert!(
        stderr.contains("E115") && stderr.contains("1 error(s)"),
        "{stderr}"
    );
    let line = 2 * (sqlpact::registry::MAX_QUERIES - per) + 1;
    assert!(stderr.contains(&format!("more.sql:{line}:10")), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
