//! `sqlpact compat`: every rule over every fixture pair, the catalog's bookkeeping, the
//! properties of the modes, and the command on a real git repository.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sqlpact::compat::{self, report, rules, Finding, Level, Mode};

fn fixtures() -> Vec<(String, PathBuf)> {
    let dir = common::root().join("tests/fixtures/compat");
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    v.sort();
    v
}

fn run(old: &Path, new: &Path, mode: Mode) -> Vec<Finding> {
    compat::run(
        &old.join("sqlpact.yaml"),
        &new.join("sqlpact.yaml"),
        "old",
        mode,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", new.display()))
}

fn keys(findings: &[Finding]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .filter(|f| f.rule != "VER-001")
        .map(|f| (f.rule.to_owned(), f.entity.clone()))
        .collect()
}

#[test]
fn every_rule_over_every_fixture_pair() {
    let mut all = String::new();
    for (id, dir) in fixtures() {
        let found = run(&dir.join("old"), &dir.join("new"), Mode::Backward);
        assert!(
            found.iter().any(|f| f.rule == id),
            "the fixture of {id} does not trigger it: {found:#?}"
        );
        all.push_str(&format!("== {id}\n"));
        for f in &found {
            all.push_str(&format!(
                "{} {} [{}] {}: {}\n",
                f.level.as_str(),
                f.rule,
                f.fingerprint,
                f.entity,
                f.message
            ));
        }
    }
    common::settings().bind(|| insta::assert_snapshot!("compat_every_fixture", all));
}

#[test]
fn every_rule_is_registered_documented_and_covered() {
    let catalog = rules::catalog();
    let files: BTreeSet<String> = std::fs::read_dir(common::root().join("src/compat/rules"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "mod.rs")
        .collect();
    let registered: BTreeSet<String> = rules::FILES.iter().map(|(_, f)| (*f).to_owned()).collect();
    assert_eq!(
        files, registered,
        "a rule file is not registered in rules::FILES"
    );
    assert_eq!(
        catalog.len(),
        rules::FILES.len(),
        "a registered file has no rule"
    );
    let fixtures: BTreeSet<String> = fixtures().into_iter().map(|(id, _)| id).collect();
    let bless = std::env::var_os("SQLPACT_BLESS").is_some();
    let mut ids = BTreeSet::new();
    for r in &catalog {
        assert!(ids.insert(r.id), "duplicate rule ID {}", r.id);
        let (area, num) = r.id.split_once('-').expect("AREA-NNN");
        assert!(
            area.len() == 3 && area.chars().all(|c| c.is_ascii_uppercase()),
            "{}",
            r.id
        );
        assert!(
            num.len() == 3 && num.chars().all(|c| c.is_ascii_digit()),
            "{}",
            r.id
        );
        assert!(
            r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{} is not kebab-case",
            r.name
        );
        let file = rules::FILES
            .iter()
            .find(|(id, _)| *id == r.id)
            .expect("file")
            .1;
        assert!(
            file.starts_with(&format!("{}_", r.id.to_lowercase().replace('-', "_"))),
            "{} lives in {file}",
            r.id
        );
        assert!(fixtures.contains(r.id), "no fixture for {}", r.id);
        assert!(
            !r.doc.is_empty() && !r.summary.is_empty(),
            "{} undocumented",
            r.id
        );
        let page = common::root().join(format!("docs/rules/{}.md", r.id));
        let want = report::rule_doc(r);
        if bless {
            std::fs::create_dir_all(page.parent().unwrap()).unwrap();
            std::fs::write(&page, &want).unwrap();
        }
        let have = std::fs::read_to_string(&page).unwrap_or_else(|_| {
            panic!("{} has no page (SQLPACT_BLESS=1 writes it)", page.display())
        });
        assert_eq!(
            have,
            want,
            "{} is stale (SQLPACT_BLESS=1 rewrites it)",
            page.display()
        );
    }
    for id in &fixtures {
        assert!(ids.contains(id.as_str()), "fixture {id} names no rule");
    }
}

#[test]
fn a_registry_compared_with_itself_finds_nothing() {
    let mut dirs = vec![common::root().join("contracts")];
    for (_, d) in fixtures() {
        dirs.push(d.join("old"));
        dirs.push(d.join("new"));
    }
    for d in dirs {
        let found = run(&d, &d, Mode::Full);
        assert!(found.is_empty(), "{}: {found:#?}", d.display());
    }
}

#[test]
fn forward_is_backward_reversed_and_full_is_both() {
    for (id, dir) in fixtures() {
        let (old, new) = (dir.join("old"), dir.join("new"));
        let backward = run(&old, &new, Mode::Backward);
        let forward = run(&old, &new, Mode::Forward);
        let reversed = run(&new, &old, Mode::Backward);
        let full = run(&old, &new, Mode::Full);
        // The database rules replay the baseline's queries against the new schema,
        // a backward-only question; the rest must mirror exactly.
        let mirror = |f: &[Finding]| -> BTreeSet<(String, String)> {
            keys(f)
                .into_iter()
                .filter(|(r, _)| !r.starts_with("SCH-"))
                .collect()
        };
        assert_eq!(mirror(&forward), mirror(&reversed), "{id}");
        let both: BTreeSet<_> = keys(&backward).union(&keys(&forward)).cloned().collect();
        assert_eq!(keys(&full), both, "{id}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Removes the test repository however the test ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn baselines_left() -> usize {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("sqlpact-baseline-")
            })
        })
        .count()
}

#[test]
fn the_command_on_a_git_repository_with_tags_and_a_subdirectory() {
    let scratch =
        Scratch(std::env::temp_dir().join(format!("sqlpact-compat-git-{}", std::process::id())));
    let repo = scratch.0.clone();
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(&repo).unwrap();
    let left_before = baselines_left();
    let fx = common::root().join("tests/fixtures/compat/COL-001");
    let reg = repo.join("services/ledger");
    common::git(&repo, &["init", "-q"]);
    copy_dir(&fx.join("old"), &reg);
    common::git(&repo, &["add", "."]);
    common::git(&repo, &["commit", "-qm", "v1"]);
    common::git(&repo, &["tag", "v1.0.0"]);
    copy_dir(&fx.join("new"), &reg);
    common::git(&repo, &["commit", "-qam", "v2"]);
    // The working tree is the new side, the tag the baseline.
    let cfg = "services/ledger/sqlpact.yaml";
    let run = |args: &[&str]| {
        let mut all = vec!["-c", cfg, "compat"];
        all.extend_from_slice(args);
        common::sqlpact_in(&all, Some(&repo))
    };
    let text = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();

    let o = run(&["--against", "v1.0.0"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("error[COL-001] column-removed"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("queries.sql:1:10 (in v1.0.0)"),
        "{}",
        text(&o)
    );

    for same in [
        "HEAD",
        "main",
        "HEAD:services/ledger",
        "HEAD:services/ledger/sqlpact.yaml",
    ] {
        let o = run(&["--against", same]);
        assert_eq!(o.status.code(), Some(0), "{same}: {}", text(&o));
        assert!(text(&o).starts_with("0 error(s)"), "{}", text(&o));
    }
    let o = run(&["--against", "HEAD~1:services/ledger", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["summary"]["errors"], 1, "{v:#}");
    assert_eq!(v["findings"][0]["rule"], "COL-001");
    assert_eq!(v["findings"][0]["new_location"]["file"], "queries.sql");

    let o = run(&["--against", "v1.0.0", "--format", "github"]);
    let out = text(&o);
    assert!(
        out.starts_with(
            "::error file=services/ledger/queries.sql,line=1,col=10,title=COL-001 column-removed::"
        ),
        "{out}"
    );
    let o = run(&["--against", "v1.0.0", "--format", "markdown"]);
    assert!(
        text(&o).contains("| error | [COL-001](docs/rules/COL-001.md)"),
        "{}",
        text(&o)
    );

    // Exit codes follow --fail-on: an info-only change passes at error, fails at info.
    let info = common::root().join("tests/fixtures/compat/COL-005");
    copy_dir(&info.join("old"), &reg);
    common::git(&repo, &["commit", "-qam", "v3"]);
    common::git(&repo, &["tag", "v3.0.0"]);
    copy_dir(&info.join("new"), &reg);
    assert_eq!(run(&["--against", "v3.0.0"]).status.code(), Some(0));
    assert_eq!(
        run(&["--against", "v3.0.0", "--fail-on", "warning"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["--against", "v3.0.0", "--fail-on", "info"])
            .status
            .code(),
        Some(1)
    );

    let o = run(&["--against", "v9.9.9"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("revision `v9.9.9` not found"), "{err}");
    assert!(err.contains("help: fetch it"), "{err}");
    // The schema outside the registry's directory comes from the revision too.
    std::fs::create_dir_all(repo.join("db")).unwrap();
    std::fs::rename(reg.join("schema.sql"), repo.join("db/schema.sql")).unwrap();
    let yaml = std::fs::read_to_string(reg.join("sqlpact.yaml")).unwrap();
    std::fs::write(
        reg.join("sqlpact.yaml"),
        yaml.replace("schema: [schema.sql]", "schema: [../../db/schema.sql]"),
    )
    .unwrap();
    common::git(&repo, &["add", "-A"]);
    common::git(&repo, &["commit", "-qm", "schema moved"]);
    let o = run(&["--against", "HEAD"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    // A revision with `:` in it is a revision, not `rev:path`.
    let o = run(&["--against", ":/schema moved"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o),
        String::from_utf8_lossy(&o.stderr)
    );

    let o = run(&["--against", "HEAD:nowhere"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("`nowhere` does not exist in revision `HEAD`")
    );

    let o = common::sqlpact_in(&["compat", "rules", "--format", "json"], Some(&repo));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v.as_array().unwrap().len(), rules::catalog().len());
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["level"] != Level::Info.as_str() || r["bump"] != "major"));
    assert!(
        baselines_left() <= left_before,
        "a revision's temporary directory was left behind"
    );
}

/// Deployed clients send a `SELECT *` with the columns the baseline schema had: a
/// column added to the table changes nothing for them, so the schema rules stay quiet
/// (the new query's own shape change is COL-005's, an info). Dropping a column the
/// star covered does break them.
#[test]
fn star_queries_are_replayed_as_deployed() {
    let fx = common::root().join("tests/fixtures/compat/QRY-004/old");
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    for d in [&old, &new] {
        copy_dir(&fx, d);
        std::fs::write(
            d.join("queries.sql"),
            "-- name: GetAccount :one\nSELECT * FROM accounts WHERE id = @id;\n",
        )
        .unwrap();
        std::fs::write(d.join("sqlpact.yaml"), "version: 1\ncontract: { name: star, version: 1.0.0 }\nengine: postgresql\nschema: [schema.sql]\nqueries: [queries.sql]\n").unwrap();
    }
    let schema = std::fs::read_to_string(fx.join("schema.sql")).unwrap();
    let added = schema.replace("balance numeric", "nickname text,\n    balance numeric");
    std::fs::write(new.join("schema.sql"), &added).unwrap();
    let found = run(&old, &new, Mode::Backward);
    let rules: Vec<&str> = found.iter().map(|f| f.rule).collect();
    assert!(rules.contains(&"COL-005"), "{rules:?}");
    assert!(!rules.iter().any(|r| r.starts_with("SCH")), "{rules:?}");

    let dropped = schema.replace("    name text,\n", "");
    assert_ne!(dropped, schema);
    std::fs::write(new.join("schema.sql"), &dropped).unwrap();
    let rules: Vec<&str> = run(&old, &new, Mode::Backward)
        .iter()
        .map(|f| f.rule)
        .collect();
    assert!(rules.contains(&"SCH-001"), "{rules:?}");
}
