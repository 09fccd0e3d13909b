//! `sqlpact changelog` over a git history of the example contract: five tagged
//! versions that add and deprecate queries, rename one with `renamed_from`, expand then
//! contract the schema, and bump the wire version. Every matrix cell and deploy order
//! that matters is asserted on its own; the Markdown and JSON are snapshotted.

mod common;

use std::path::Path;
use std::process::Command;

use common::{git, root};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Rewrites the registry: `edit` gets the text without its `outputs:` section.
fn registry(dir: &Path, edit: impl Fn(String) -> String) {
    let text = std::fs::read_to_string(root().join("contracts/sqlpact.yaml")).unwrap();
    let text = text.split("\noutputs:").next().unwrap().to_owned() + "\n";
    std::fs::write(dir.join("sqlpact.yaml"), edit(text)).unwrap();
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

fn commit_tag(dir: &Path, tag: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", tag]);
    git(dir, &["tag", tag]);
}

/// The history: returns the repository (kept alive by the caller).
fn history() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    git(dir, &["init", "-q"]);
    copy_dir(
        &root().join("contracts/migrations"),
        &dir.join("migrations"),
    );
    copy_dir(&root().join("contracts/queries"), &dir.join("queries"));
    std::fs::copy(
        root().join("contracts/sqlpact.lock"),
        dir.join("sqlpact.lock"),
    )
    .unwrap();
    registry(dir, |t| t);
    commit_tag(dir, "v1.4.0");

    // v1.5.0: a legacy column and a query reading it (deprecated at once), and a new
    // count.
    write(
        dir,
        "migrations/0005_legacy.up.sql",
        "ALTER TABLE currencies ADD COLUMN legacy_code text;\n",
    );
    write(
        dir,
        "migrations/0005_legacy.down.sql",
        "ALTER TABLE currencies DROP COLUMN legacy_code;\n",
    );
    let extra = "-- name: GetLegacyCode :one\nSELECT legacy_code FROM currencies WHERE code = @code;\n\n-- name: CountCustomers :one\nSELECT count(*) AS n FROM currencies;\n";
    write(dir, "queries/extra.sql", extra);
    registry(dir, |t| {
        t.replace("version: 1.4.0", "version: 1.5.0")
            + "lifecycle:\n  GetLegacyCode: { deprecated: \"use GetNickname\", sunset: 2027-06-30 }\n"
    });
    commit_tag(dir, "v1.5.0");

    // v1.6.0, expand: a new column and the query that replaces the legacy one; the
    // count is renamed.
    write(
        dir,
        "migrations/0006_nickname.up.sql",
        "ALTER TABLE currencies ADD COLUMN nickname text;\n",
    );
    write(
        dir,
        "migrations/0006_nickname.down.sql",
        "ALTER TABLE currencies DROP COLUMN nickname;\n",
    );
    let extra16 = extra.replace("CountCustomers", "CountAllCustomers")
        + "\n-- name: GetNickname :one\nSELECT nickname FROM currencies WHERE code = @code;\n";
    write(dir, "queries/extra.sql", &extra16);
    registry(dir, |t| {
        t.replace("version: 1.4.0", "version: 1.6.0")
            + "lifecycle:\n  GetLegacyCode: { deprecated: \"use GetNickname\", sunset: 2027-06-30 }\nrenamed_from:\n  CountAllCustomers: CountCustomers\n"
    });
    commit_tag(dir, "v1.6.0");

    // v2.0.0, contract: the legacy column and its query are gone.
    write(
        dir,
        "migrations/0007_drop_legacy.up.sql",
        "ALTER TABLE currencies DROP COLUMN legacy_code;\n",
    );
    write(
        dir,
        "migrations/0007_drop_legacy.down.sql",
        "ALTER TABLE currencies ADD COLUMN legacy_code text;\n",
    );
    let extra20 = "-- name: CountAllCustomers :one\nSELECT count(*) AS n FROM currencies;\n\n-- name: GetNickname :one\nSELECT nickname FROM currencies WHERE code = @code;\n";
    write(dir, "queries/extra.sql", extra20);
    registry(dir, |t| t.replace("version: 1.4.0", "version: 2.0.0"));
    commit_tag(dir, "v2.0.0");

    // v3.0.0: a new wire version that no longer accepts the old ones.
    registry(dir, |t| {
        t.replace("version: 1.4.0", "version: 3.0.0").replace(
            "wire: { version: 3, min_compatible: 2",
            "wire: { version: 4, min_compatible: 4",
        )
    });
    commit_tag(dir, "v3.0.0");
    repo
}

fn changelog(dir: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sqlpact"))
        .args([
            "-c",
            &dir.join("sqlpact.yaml").display().to_string(),
            "changelog",
        ])
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn five_tagged_versions_give_the_expected_matrices_and_notes() {
    let repo = history();
    let (json, err) = changelog(repo.path(), &["--tags", "v*", "--format", "json"]);
    assert!(err.is_empty(), "{err}");
    let c: serde_json::Value = serde_json::from_str(&json).unwrap();
    let labels: Vec<&str> = c["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["v1.4.0", "v1.5.0", "v1.6.0", "v2.0.0", "v3.0.0"]);
    let at = |m: &str, row: &str, col: &str| -> serde_json::Value {
        let i = labels.iter().position(|l| *l == row).unwrap();
        let j = labels.iter().position(|l| *l == col).unwrap();
        c[m]["cells"][i][j].clone()
    };
    let ok = |m: &str, row: &str, col: &str| at(m, row, col)["ok"].as_bool().unwrap();
    let reasons = |m: &str, row: &str, col: &str| at(m, row, col)["reasons"].to_string();

    // Client × schema: additive migrations leave old clients running...
    assert!(ok("schema_matrix", "v1.4.0", "v1.5.0"));
    assert!(ok("schema_matrix", "v1.4.0", "v1.6.0"));
    assert!(ok("schema_matrix", "v1.5.0", "v1.6.0"));
    // ...new queries need their columns...
    assert!(!ok("schema_matrix", "v1.5.0", "v1.4.0"));
    assert!(reasons("schema_matrix", "v1.5.0", "v1.4.0").contains("GetLegacyCode"));
    assert!(!ok("schema_matrix", "v2.0.0", "v1.5.0"));
    assert!(reasons("schema_matrix", "v2.0.0", "v1.5.0").contains("GetNickname"));
    // ...and the contract step breaks the clients that still read the legacy column.
    assert!(!ok("schema_matrix", "v1.6.0", "v2.0.0"));
    assert!(reasons("schema_matrix", "v1.6.0", "v2.0.0").contains("GetLegacyCode"));
    // Clients that never read the legacy column survive its removal.
    assert!(ok("schema_matrix", "v1.4.0", "v2.0.0"));
    assert!(ok("schema_matrix", "v2.0.0", "v1.6.0"));
    assert!(ok("schema_matrix", "v3.0.0", "v2.0.0"));
    for l in &labels {
        assert!(ok("schema_matrix", l, l), "{l} on its own schema");
    }

    // Wire: v2 to v3 readers interoperate; v4 accepts only v4.
    assert!(ok("wire_matrix", "v1.4.0", "v2.0.0"));
    assert!(ok("wire_matrix", "v2.0.0", "v1.4.0"));
    assert!(!ok("wire_matrix", "v1.4.0", "v3.0.0"));
    assert!(reasons("wire_matrix", "v1.4.0", "v3.0.0").contains("accepts wire v4..v4"));
    assert!(!ok("wire_matrix", "v3.0.0", "v2.0.0"));
    assert!(ok("wire_matrix", "v3.0.0", "v3.0.0"));

    // Releases, newest first, with their deploy order.
    let releases = c["releases"].as_array().unwrap();
    let rel = |to: &str| releases.iter().find(|r| r["to"] == to).unwrap().clone();
    assert_eq!(rel("v1.5.0")["deploy_order"], "database first");
    assert_eq!(rel("v1.6.0")["deploy_order"], "database first");
    assert_eq!(rel("v2.0.0")["deploy_order"], "clients first");
    assert_eq!(rel("v3.0.0")["deploy_order"], "any order");
    let names = |r: &serde_json::Value, section: &str| -> Vec<String> {
        r[section]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["rule"].as_str().unwrap(),
                    e["entity"].as_str().unwrap()
                )
            })
            .collect()
    };
    let r15 = rel("v1.5.0");
    assert!(names(&r15, "added").contains(&"QRY-004 query CountCustomers".to_owned()));
    assert!(names(&r15, "added").contains(&"QRY-004 query GetLegacyCode".to_owned()));
    assert_eq!(names(&r15, "deprecated"), ["LIF-001 query GetLegacyCode"]);
    assert!(r15["deprecated"][0]["message"]
        .as_str()
        .unwrap()
        .contains("2027-06-30"));
    assert!(
        names(&r15, "breaking").is_empty(),
        "{:?}",
        names(&r15, "breaking")
    );
    assert_eq!(r15["declared_bump"], "minor");
    assert_eq!(r15["required_bump"], "minor");
    // A rename with renamed_from is no removal.
    let r16 = rel("v1.6.0");
    assert!(
        !names(&r16, "breaking")
            .iter()
            .any(|n| n.contains("CountCustomers")),
        "{:?}",
        names(&r16, "breaking")
    );
    let r20 = rel("v2.0.0");
    assert!(names(&r20, "breaking").contains(&"QRY-001 query GetLegacyCode".to_owned()));
    assert_eq!(r20["required_bump"], "major");
    let r30 = rel("v3.0.0");
    let wir = r30["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["rule"] == "WIR-013")
        .expect("the wire bump is listed");
    assert_eq!(wir["languages"], serde_json::json!(["wire"]));

    // Markdown: the same content, deterministic.
    let (md, err) = changelog(repo.path(), &["--tags", "v*"]);
    assert!(err.is_empty(), "{err}");
    assert!(md.contains("| **v1.6.0** |"));
    let (again, _) = changelog(repo.path(), &["--tags", "v*"]);
    assert_eq!(md, again, "the same history gives the same bytes");
    common::settings().bind(|| {
        insta::assert_snapshot!("changelog_markdown", md);
        insta::assert_snapshot!("changelog_json", json);
    });

    // --from/--to reads two revisions; a template renders the JSON data.
    let tpl = repo.path().join("t.hbs");
    std::fs::write(
        &tpl,
        "{{#each releases}}{{to}}: {{deploy_order}}\n{{/each}}",
    )
    .unwrap();
    let (t, err) = changelog(
        repo.path(),
        &[
            "--from",
            "v1.6.0",
            "--to",
            "v2.0.0",
            "--template",
            &tpl.display().to_string(),
        ],
    );
    assert!(err.is_empty(), "{err}");
    assert_eq!(t, "v2.0.0: clients first\n");
}

#[test]
fn missing_versions_are_clear_errors() {
    let repo = history();
    let (_, err) = changelog(repo.path(), &["--tags", "nothing-*"]);
    assert!(err.contains("at least two versions"), "{err}");
    let (_, err) = changelog(repo.path(), &["--from", "v9.9.9"]);
    assert!(err.contains("revision `v9.9.9` not found"), "{err}");
    let (_, err) = changelog(repo.path(), &[]);
    assert!(err.contains("no versions named"), "{err}");
}

/// A second history whose migrations change what old queries get: a column's type
/// (SCH-002), a NOT NULL column an INSERT omits (SCH-003), a renamed enum value
/// (ENM-001), and the five-version history's own changes.
fn schema_history() -> tempfile::TempDir {
    let repo = history();
    let dir = repo.path();
    let steps = [
        (
            "0008_names.up.sql",
            "ALTER TABLE accounts ALTER COLUMN version TYPE bigint;\n",
            "3.1.0",
        ),
        (
            "0009_symbol.up.sql",
            "ALTER TABLE currencies ADD COLUMN symbol text NOT NULL;\n",
            "3.2.0",
        ),
        (
            "0010_rejected.up.sql",
            "ALTER TYPE transfer_status RENAME VALUE 'failed' TO 'rejected';\n",
            "3.3.0",
        ),
    ];
    for (file, sql, version) in steps {
        write(dir, &format!("migrations/{file}"), sql);
        write(
            dir,
            &format!("migrations/{}", file.replace(".up.", ".down.")),
            "SELECT 1;\n",
        );
        registry(dir, |t| {
            t.replace("version: 1.4.0", &format!("version: {version}"))
                .replace(
                    "wire: { version: 3, min_compatible: 2",
                    "wire: { version: 4, min_compatible: 4",
                )
        });
        commit_tag(dir, &format!("v{version}"));
    }
    repo
}

/// The matrix reuses verdicts across cells; every cell must still say what replaying
/// that client's queries against that schema, alone and from scratch, says.
#[test]
fn every_matrix_cell_agrees_with_a_replay_from_scratch() {
    use sqlpact::compat::{self, rules, Category, Findings, Version};
    let repo = schema_history();
    let registry = repo.path().join("sqlpact.yaml");
    let (json, err) = changelog(repo.path(), &["--tags", "v*", "--format", "json"]);
    assert!(err.is_empty(), "{err}");
    let c: serde_json::Value = serde_json::from_str(&json).unwrap();
    let labels: Vec<String> = c["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["label"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(labels.len(), 8);

    let mut sources = sqlpact::source::SourceMap::default();
    let held: Vec<_> = labels
        .iter()
        .map(|l| compat::baseline::resolve(l, &registry).unwrap())
        .collect();
    let versions: Vec<_> = held
        .iter()
        .map(|b| compat::load(&b.registry, &b.label, &mut sources).unwrap())
        .collect();
    let mut seen_rules = std::collections::BTreeSet::new();
    for (i, (creg, client)) in versions.iter().enumerate() {
        for (j, (sreg, schema)) in versions.iter().enumerate() {
            let replayed = compat::replay(
                creg.clone(),
                &client.contract,
                sreg.schema.clone(),
                &sources,
            );
            let cx = compat::Cx::new(Version::of(client), Version::of(schema), &replayed);
            let mut found = Vec::new();
            for (rule, check) in rules::ALL
                .iter()
                .filter(|(r, _)| r.category == Category::Db)
            {
                check(&cx, &mut Findings::new(rule, &mut found));
            }
            let cell = &c["schema_matrix"]["cells"][i][j];
            let (row, col) = (&labels[i], &labels[j]);
            assert_eq!(
                cell["ok"].as_bool().unwrap(),
                found.is_empty(),
                "{row} on {col}: {cell} vs {found:?}"
            );
            let reasons = cell["reasons"].to_string();
            for f in &found {
                seen_rules.insert(f.rule);
                // Each finding names its query or enum between the first backticks.
                let named = f.message.split('`').nth(1).unwrap();
                assert!(
                    reasons.contains(&format!("`{named}`")),
                    "{row} on {col}: {} missing from {reasons}",
                    f.message
                );
            }
            let count = cell["reasons"].as_array().map_or(0, Vec::len);
            let mut distinct: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
            distinct.sort();
            distinct.dedup();
            assert_eq!(count, distinct.len(), "{row} on {col}: {reasons}");
            assert!(
                !reasons.contains("baseline") && !reasons.contains("new schema"),
                "a cell speaks of a client and a schema: {reasons}"
            );
        }
    }
    // The history exercises every database rule.
    assert_eq!(
        seen_rules.into_iter().collect::<Vec<_>>(),
        ["ENM-001", "SCH-001", "SCH-002", "SCH-003"]
    );
}

/// The HTML page opened in headless Chromium (tests/browser/changelog.mjs, driven by
/// playwright-core): the matrices are rendered, coloured and visible, a breaking
/// cell unfolds its reasons, the page holds on a phone, and nothing is fetched from
/// elsewhere. The screenshot of the matrices is the one docs/ and the README show.
#[test]
fn html_changelog_renders_in_chromium() {
    let repo = history();
    let (page, err) = changelog(repo.path(), &["--tags", "v*", "--format", "html"]);
    assert!(err.is_empty(), "{err}");
    assert!(page.starts_with("<!doctype html>"));
    for outside in [
        "<script", "<link", "src=", "url(", "@import", "http://", "https://",
    ] {
        assert!(
            !page.contains(outside),
            "the page is self-contained: {outside}"
        );
    }
    let (json, _) = changelog(repo.path(), &["--tags", "v*", "--format", "json"]);
    let c: serde_json::Value = serde_json::from_str(&json).unwrap();
    let cells: Vec<bool> = c["schema_matrix"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter())
        .map(|cell| cell["ok"].as_bool().unwrap())
        .collect();

    let file = repo.path().join("changelog.html");
    std::fs::write(&file, &page).unwrap();
    let browser = root().join("tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run `npm ci` in tests/browser (scripts/test.sh does)"
    );
    let shot = repo.path().join("matrix.png");
    let out = Command::new("node")
        .arg(browser.join("changelog.mjs"))
        .arg(&file)
        .arg(&shot)
        .output()
        .expect("node runs (scripts/test.sh installs Chromium and the browser test's packages)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(seen["rows"], 5);
    assert_eq!(seen["columns"], 5);
    assert_eq!(seen["releases"], 4);
    assert_eq!(seen["wire_matrix"], true);
    let ok = cells.iter().filter(|o| **o).count();
    assert_eq!(seen["ok_cells"], ok);
    assert_eq!(seen["bad_cells"], cells.len() - ok);
    assert!(seen["first_reason"]
        .as_str()
        .unwrap()
        .contains("does not exist"));

    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
    // Into docs/ in one step: a failed run leaves the last good screenshot.
    let docs = root().join("docs/changelog-matrix.png");
    let staged = root().join("docs/.changelog-matrix.png.tmp");
    std::fs::write(&staged, &png).unwrap();
    std::fs::rename(&staged, &docs).unwrap();
}
