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
        // Suppressions that match nothing (IGN-*) concern the registry, not a change.
        let found: Vec<Finding> = run(&d, &d, Mode::Full)
            .into_iter()
            .filter(|f| !f.rule.starts_with("IGN-"))
            .collect();
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
        // Suppressions (IGN-*) are the new registry's, whichever side it is on.
        let mirror = |f: &[Finding]| -> BTreeSet<(String, String)> {
            keys(f)
                .into_iter()
                .filter(|(r, _)| !r.starts_with("SCH-") && !r.starts_with("IGN-"))
                .collect()
        };
        assert_eq!(mirror(&forward), mirror(&reversed), "{id}");
        // A suppression used in one direction is unused in the other (IGN-002).
        let changes = |f: &[Finding]| -> BTreeSet<(String, String)> {
            keys(f)
                .into_iter()
                .filter(|(r, _)| !r.starts_with("IGN-"))
                .collect()
        };
        let both: BTreeSet<_> = changes(&backward)
            .union(&changes(&forward))
            .cloned()
            .collect();
        assert_eq!(changes(&full), both, "{id}");
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

fn baselines_left(dir: &Path) -> usize {
    std::fs::read_dir(dir)
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

/// Runs sqlpact in `dir` with its temporary files under `tmp`.
fn sqlpact_in_tmp(
    tmp: &tempfile::TempDir,
    args: &[&str],
    dir: Option<&Path>,
) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sqlpact"));
    c.args(args).env("NO_COLOR", "1").env("TMPDIR", tmp.path());
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c.output().expect("run sqlpact")
}

#[test]
fn the_command_on_a_git_repository_with_tags_and_a_subdirectory() {
    let scratch =
        Scratch(std::env::temp_dir().join(format!("sqlpact-compat-git-{}", std::process::id())));
    let repo = scratch.0.clone();
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(&repo).unwrap();
    // The commands' temporary directories go to a directory of this test's own, so
    // that tests running alongside do not count.
    let tmp = tempfile::tempdir().unwrap();
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
        sqlpact_in_tmp(&tmp, &all, Some(&repo))
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

    let o = sqlpact_in_tmp(&tmp, &["compat", "rules", "--format", "json"], Some(&repo));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v.as_array().unwrap().len(), rules::catalog().len());
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["level"] != Level::Info.as_str() || r["bump"] != "major"));
    assert!(
        baselines_left(tmp.path()) == 0,
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

/// A copy of fixture `id`'s pair, its `side` registry edited by `edit`.
fn edited(id: &str, side: &str, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let fx = common::root().join("tests/fixtures/compat").join(id);
    let dir = tempfile::tempdir().unwrap();
    for s in ["old", "new"] {
        copy_dir(&fx.join(s), &dir.path().join(s));
    }
    let reg = dir.path().join(side).join("sqlpact.yaml");
    let text = std::fs::read_to_string(&reg).unwrap();
    std::fs::write(&reg, edit(text)).unwrap();
    dir
}

fn gate(dir: &Path) -> compat::Outcome {
    compat::run_gate(
        &dir.join("old/sqlpact.yaml"),
        &dir.join("new/sqlpact.yaml"),
        "old",
        None,
    )
    .unwrap()
    .0
}

#[test]
fn suppressions_accept_what_they_name_and_nothing_else() {
    let dir = common::root().join("tests/fixtures/compat/IGN-002");
    let out = gate(&dir);
    let suppressed: Vec<(&str, &str)> = out
        .suppressed
        .iter()
        .map(|x| (x.finding.rule, x.finding.entity.as_str()))
        .collect();
    assert_eq!(suppressed, [("COL-001", "query ListAccounts column email")]);
    assert_eq!(
        out.suppressed[0].reason,
        "the listing page reads the email from GetAccount"
    );
    assert!(
        !out.findings.iter().any(|f| f.rule == "COL-001"),
        "{:#?}",
        out.findings
    );
    let unused: Vec<&Finding> = out
        .findings
        .iter()
        .filter(|f| f.rule == "IGN-002")
        .collect();
    assert_eq!(unused.len(), 1, "{:#?}", out.findings);
    assert!(unused[0]
        .message
        .contains("query GetAccount column nickname"));
    let at = unused[0].new_location.as_ref().unwrap();
    assert_eq!((at.file.as_str(), at.line), ("sqlpact.yaml", 17));
    // A suppressed breaking change needs no major version: 1.0.1 is enough.
    let patch = edited("IGN-002", "new", |t| {
        t.replace("version: 2.0.0", "version: 1.0.1")
    });
    let out = gate(patch.path());
    assert!(
        !out.findings.iter().any(|f| f.rule == "VER-001"),
        "{:#?}",
        out.findings
    );

    // A fingerprint narrows the entry to that finding: a wrong one suppresses nothing.
    let wrong = edited("IGN-002", "new", |t| {
        t.replace(
            "      reason: \"the listing page",
            "      fingerprint: \"0000000000000000\"\n      reason: \"the listing page",
        )
    });
    let out = gate(wrong.path());
    assert!(out.suppressed.is_empty());
    assert!(out.findings.iter().any(|f| f.rule == "COL-001"));
    let fp = out
        .findings
        .iter()
        .find(|f| f.rule == "COL-001")
        .unwrap()
        .fingerprint
        .clone();
    let right = edited("IGN-002", "new", |t| {
        t.replace(
            "      reason: \"the listing page",
            &format!("      fingerprint: \"{fp}\"\n      reason: \"the listing page"),
        )
    });
    assert_eq!(gate(right.path()).suppressed.len(), 1);

    // An expired entry suppresses nothing and says so; the finding is back.
    let out = gate(&common::root().join("tests/fixtures/compat/IGN-001"));
    assert!(out.suppressed.is_empty());
    assert!(out
        .findings
        .iter()
        .any(|f| f.rule == "QRY-001" && f.level == Level::Error));
    let expired = out.findings.iter().find(|f| f.rule == "IGN-001").unwrap();
    assert!(
        expired
            .message
            .contains("expired on 2000-01-31 (1 finding(s)"),
        "{}",
        expired.message
    );
    // Not yet expired: it suppresses.
    let later = edited("IGN-001", "new", |t| t.replace("2000-01-31", "2999-01-31"));
    let out = gate(later.path());
    assert_eq!(out.suppressed.len(), 1);
    assert!(!out
        .findings
        .iter()
        .any(|f| f.rule == "QRY-001" || f.rule.starts_with("IGN-")));
}

#[test]
fn a_suppression_naming_an_unknown_rule_is_a_located_error() {
    // An unknown rule, and VER-001 (it runs after suppression: an entry for it could
    // never match).
    let cases: [(&str, &[&str]); 2] = [
        (
            "COL-01",
            &[
                "`COL-01` is not a compat rule",
                "sqlpact.yaml:17:13",
                "did you mean `COL-001`",
            ],
        ),
        ("VER-001", &["`VER-001` cannot be suppressed"]),
    ];
    for (rule, expected) in cases {
        let dir = edited("IGN-002", "new", |t| {
            t.replace(
                "rule: COL-001\n      entity: query GetAccount",
                &format!("rule: {rule}\n      entity: query GetAccount"),
            )
        });
        let err = compat::run_gate(
            &dir.path().join("old/sqlpact.yaml"),
            &dir.path().join("new/sqlpact.yaml"),
            "old",
            None,
        )
        .err()
        .unwrap_or_else(|| panic!("`{rule}` in compat.ignore is not an error"));
        for e in expected {
            assert!(err.contains(e), "{rule}: {err}");
        }
    }
}

#[test]
fn alpha_and_beta_queries_are_exempt_unless_the_registry_says_otherwise() {
    let beta = |t: String| format!("{t}lifecycle:\n  RenameAccount: {{ stability: beta }}\n");
    let dir = edited("QRY-001", "old", beta);
    let out = gate(dir.path());
    let f = out.findings.iter().find(|f| f.rule == "QRY-001").unwrap();
    assert_eq!(f.level, Level::Info, "{f:#?}");
    assert!(
        f.message.ends_with("(exempt: `RenameAccount` is beta)"),
        "{}",
        f.message
    );
    // The exempt removal needs no major version (the fixture declares one anyway).
    assert!(
        !out.findings.iter().any(|f| f.level == Level::Error),
        "{:#?}",
        out.findings
    );

    let strict = edited("QRY-001", "old", beta);
    let reg = strict.path().join("new/sqlpact.yaml");
    let text = std::fs::read_to_string(&reg).unwrap();
    std::fs::write(
        &reg,
        format!("{text}compat: {{ exempt_unstable: false }}\n"),
    )
    .unwrap();
    let out = gate(strict.path());
    let f = out.findings.iter().find(|f| f.rule == "QRY-001").unwrap();
    assert_eq!(f.level, Level::Error);
}

#[test]
fn a_query_may_go_once_its_sunset_date_has_passed() {
    let with = |sunset: &str| {
        let line = format!(
            "lifecycle:\n  RenameAccount: {{ deprecated: \"use UpdateAccount\", sunset: {sunset} }}\n"
        );
        edited("QRY-001", "old", move |t| format!("{t}{line}"))
    };
    let past = gate(with("2001-01-31").path());
    let f = past.findings.iter().find(|f| f.rule == "QRY-001").unwrap();
    assert_eq!(f.level, Level::Info);
    assert!(
        f.message.contains("after its sunset date 2001-01-31"),
        "{}",
        f.message
    );
    let future = gate(with("2999-01-31").path());
    let f = future
        .findings
        .iter()
        .find(|f| f.rule == "QRY-001")
        .unwrap();
    assert_eq!(f.level, Level::Error);
    assert!(
        f.message.contains("before its sunset date 2999-01-31"),
        "{}",
        f.message
    );
    let plain = gate(&common::root().join("tests/fixtures/compat/QRY-001"));
    let f = plain.findings.iter().find(|f| f.rule == "QRY-001").unwrap();
    assert!(
        f.message.contains("without being deprecated first"),
        "{}",
        f.message
    );
    // The date is the clock's, or SOURCE_DATE_EPOCH's: 2999-02-01 is past the sunset.
    let dir = with("2999-01-31");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_sqlpact"))
        .args([
            "-c",
            "new/sqlpact.yaml",
            "compat",
            "--against",
            "old",
            "--format",
            "json",
        ])
        .current_dir(dir.path())
        .env("SOURCE_DATE_EPOCH", "32474822400")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "QRY-001")
        .unwrap()
        .clone();
    assert_eq!(f["level"], "info", "{f:#}");
}

#[test]
fn renames_are_not_removals_and_keep_being_compared() {
    // The rules fixture `id` gives once `from` becomes `to` in its new queries.
    let rules_with = |id: &str, from: &str, to: &str| -> BTreeSet<String> {
        let dir = edited(id, "new", |t| t);
        let q = dir.path().join("new/queries.sql");
        let sql = std::fs::read_to_string(&q).unwrap();
        assert!(sql.contains(from), "{id}: {sql}");
        std::fs::write(&q, sql.replace(from, to)).unwrap();
        gate(dir.path())
            .findings
            .iter()
            .map(|f| f.rule.to_owned())
            .collect()
    };
    // A renamed column whose type also changed: COL-006 and COL-002, no COL-001.
    let rules = rules_with(
        "COL-006",
        "name AS display_name",
        "length(name) AS display_name",
    );
    for (id, found) in [
        ("COL-006", true),
        ("COL-002", true),
        ("COL-001", false),
        ("COL-005", false),
    ] {
        assert_eq!(rules.contains(id), found, "{id}: {rules:?}");
    }
    // A renamed query is compared with the query it was: its removed parameter shows.
    let rules = rules_with(
        "QRY-005",
        "SET name = @name WHERE id = @id",
        "SET name = 'x' WHERE id = @id",
    );
    for (id, found) in [
        ("QRY-005", true),
        ("PRM-001", true),
        ("QRY-001", false),
        ("QRY-004", false),
    ] {
        assert_eq!(rules.contains(id), found, "{id}: {rules:?}");
    }
}

#[test]
fn transitive_sarif_and_junit_on_a_git_repository() {
    let scratch =
        Scratch(std::env::temp_dir().join(format!("sqlpact-compat-tr-{}", std::process::id())));
    let repo = scratch.0.clone();
    let _ = std::fs::remove_dir_all(&repo);
    let fx = common::root().join("tests/fixtures/compat/COL-001");
    let reg = repo.join("services/ledger");
    std::fs::create_dir_all(&repo).unwrap();
    common::git(&repo, &["init", "-q"]);
    copy_dir(&fx.join("old"), &reg);
    common::git(&repo, &["add", "."]);
    common::git(&repo, &["commit", "-qm", "v1"]);
    common::git(&repo, &["tag", "v1.0.0"]);
    copy_dir(&fx.join("new"), &reg);
    common::git(&repo, &["commit", "-qam", "v2"]);
    common::git(&repo, &["tag", "v2.0.0"]);
    common::git(&repo, &["tag", "nightly"]);
    let run = |args: &[&str]| {
        let mut all = vec!["-c", "services/ledger/sqlpact.yaml", "compat"];
        all.extend_from_slice(args);
        common::sqlpact_in(&all, Some(&repo))
    };
    let json = |o: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| {
            panic!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
    };
    // Against the latest tag nothing changed; against every v* tag, v1.0.0 breaks.
    let latest = run(&["--against", "v2.0.0", "--format", "json"]);
    assert_eq!(latest.status.code(), Some(0));
    let all = run(&["--transitive", "v*", "--format", "json"]);
    assert_eq!(all.status.code(), Some(1));
    let (latest, all) = (json(&latest), json(&all));
    assert_eq!(all["baseline"], "2 tags matching `v*`");
    let found = all["findings"].as_array().unwrap();
    let col = found
        .iter()
        .find(|f| f["rule"] == "COL-001")
        .expect("COL-001");
    assert_eq!(col["against"], serde_json::json!(["v1.0.0"]));
    // Transitive is at least as strict as latest-only.
    for f in latest["findings"].as_array().unwrap() {
        assert!(
            found.iter().any(|g| g["fingerprint"] == f["fingerprint"]),
            "{f:#}"
        );
    }
    let none = run(&["--transitive", "release-*"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no tag matches `release-*`"));

    // SARIF: one result per finding, located as the repository names the file.
    let o = run(&["--against", "v1.0.0", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["version"], "2.1.0");
    let run0 = &v["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "sqlpact");
    let results = run0["results"].as_array().unwrap();
    let r = results.iter().find(|r| r["ruleId"] == "COL-001").unwrap();
    assert_eq!(r["level"], "error");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "services/ledger/queries.sql"
    );
    assert_eq!(loc["region"]["startLine"], 1);
    let i = r["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(run0["tool"]["driver"]["rules"][i]["id"], "COL-001");
    assert_eq!(
        run0["tool"]["driver"]["rules"][i]["helpUri"],
        "docs/rules/COL-001.md"
    );
    assert!(r["partialFingerprints"]["sqlpact/v1"].is_string());

    // JUnit: a test case per rule; the one that found an error fails.
    let o = run(&["--against", "v1.0.0", "--format", "junit"]);
    assert_eq!(o.status.code(), Some(1));
    let x = String::from_utf8_lossy(&o.stdout).into_owned();
    let n = rules::catalog().len();
    assert!(
        x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{x}"
    );
    assert!(
        x.contains(&format!(
            "<testsuites name=\"sqlpact compat\" tests=\"{n}\" failures=\"1\">"
        )),
        "{x}"
    );
    assert_eq!(x.matches("<testcase ").count(), n);
    assert_eq!(x.matches("</testcase>").count(), n);
    let case = x
        .split("<testcase ")
        .find(|c| c.contains("name=\"COL-001 column-removed\""))
        .unwrap();
    assert!(
        case.contains(
            "<failure message=\"1 finding(s): query `GetAccount` no longer returns column"
        ),
        "{case}"
    );
    assert!(!x
        .split("<testcase ")
        .any(|c| c.contains("QRY-001 ") && c.contains("<failure")));
    // At --fail-on info the info-level findings fail their cases too.
    let o = run(&[
        "--against",
        "v1.0.0",
        "--format",
        "junit",
        "--fail-on",
        "info",
    ]);
    let y = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(y.matches("<failure ").count() >= x.matches("<failure ").count());
}

/// The gate replays only the baseline queries that reach a changed schema object: on
/// every fixture pair that finds what replaying every query finds, and replays fewer
/// queries wherever the schema changes somewhere they do not reach.
#[test]
fn replaying_the_affected_queries_finds_what_replaying_all_does() {
    let mut skipped = 0;
    for (id, dir) in fixtures() {
        let mut sources = sqlpact::source::SourceMap::default();
        let (new_reg, new) = compat::load(&dir.join("new/sqlpact.yaml"), "new", &mut sources)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let (old_reg, old) = compat::load(&dir.join("old/sqlpact.yaml"), "old", &mut sources)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let all = compat::replay(
            old_reg.clone(),
            &old.contract,
            new_reg.schema.clone(),
            &sources,
        );
        let names = compat::affected(&old_reg, &old, &new);
        skipped += all.len() - names.len();
        let some = compat::replay(
            compat::subset(&old_reg, &names),
            &old.contract,
            new_reg.schema.clone(),
            &sources,
        );
        let findings = |replayed| {
            compat::compare(
                compat::Version::of(&old),
                compat::Version::of(&new),
                replayed,
                Mode::Full,
            )
            .into_iter()
            .map(|f| (f.rule, f.fingerprint, f.message))
            .collect::<Vec<_>>()
        };
        assert_eq!(findings(&all), findings(&some), "{id}");
    }
    assert!(skipped > 0, "no fixture replays fewer queries");
}

#[test]
fn a_hostile_revision_costs_bounded_work_and_fails_clearly() {
    let scratch = Scratch(
        std::env::temp_dir().join(format!("sqlpact-compat-hostile-{}", std::process::id())),
    );
    let repo = scratch.0.clone();
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(&repo).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let fx = common::root().join("tests/fixtures/compat/COL-001");
    common::git(&repo, &["init", "-q"]);
    copy_dir(&fx.join("old"), &repo);
    // A 20 MiB SQL file the registry does not name: not read, no error.
    let dump = "INSERT INTO t VALUES (1);\n".repeat(20 << 20 >> 5);
    std::fs::create_dir_all(repo.join("dumps")).unwrap();
    std::fs::write(repo.join("dumps/big.sql"), &dump).unwrap();
    common::git(&repo, &["add", "."]);
    common::git(&repo, &["commit", "-qm", "v1"]);
    common::git(&repo, &["tag", "v1"]);
    let compat = |against: &str| {
        let out = sqlpact_in_tmp(&tmp, &["compat", "--against", against], Some(&repo));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        (out.status.code(), stderr)
    };
    let (rc, stderr) = compat("v1");
    assert_eq!(rc, Some(0), "{stderr}");
    // Named by the registry, the same file is refused as too large, by its place.
    let reg = std::fs::read_to_string(repo.join("sqlpact.yaml")).unwrap();
    let named = reg.replace("queries: [", "queries: [dumps/big.sql, ");
    assert_ne!(
        named, reg,
        "the fixture's registry lists its queries inline"
    );
    std::fs::write(repo.join("sqlpact.yaml"), &named).unwrap();
    common::git(&repo, &["commit", "-qam", "v2"]);
    common::git(&repo, &["tag", "v2"]);
    let (rc, stderr) = compat("v2");
    assert_eq!(rc, Some(2), "{stderr}");
    assert!(
        stderr.contains("E106") && stderr.contains("big.sql"),
        "{stderr}"
    );
    // Directories nested past the limit: a clear error, not a walk to the bottom.
    std::fs::write(repo.join("sqlpact.yaml"), &reg).unwrap();
    let deep: PathBuf = (0..80).map(|i| format!("d{i}")).collect();
    std::fs::create_dir_all(repo.join(&deep)).unwrap();
    std::fs::write(repo.join(&deep).join("x.sql"), "SELECT 1;\n").unwrap();
    common::git(&repo, &["add", "-A"]);
    common::git(&repo, &["commit", "-qm", "v3"]);
    let (rc, stderr) = compat("HEAD");
    assert_eq!(rc, Some(2), "{stderr}");
    assert!(stderr.contains("nest more than 64 deep"), "{stderr}");
    // More release tags than one run compares: refused before any is read.
    let mut refs = String::new();
    for i in 0..=sqlpact::changelog::MAX_VERSIONS {
        refs.push_str(&format!("create refs/tags/r{i} HEAD\n"));
    }
    let mut child = std::process::Command::new("git")
        .args(["update-ref", "--stdin"])
        .current_dir(&repo)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), refs.as_bytes()).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    for cmd in [
        vec!["compat", "--transitive", "r*"],
        vec!["changelog", "--tags", "r*"],
    ] {
        let out = sqlpact_in_tmp(&tmp, &cmd, Some(&repo));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
        assert!(
            stderr.contains("matches 501 tags") && stderr.contains("at most 500"),
            "{cmd:?}: {stderr}"
        );
    }
    assert_eq!(baselines_left(tmp.path()), 0);
}
