#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sqlpact::analyze::{self, Analysis};
use sqlpact::diag::Diagnostics;
use sqlpact::model::{Column, Param, Query};
use sqlpact::registry;
use sqlpact::source::SourceMap;

/// Runs the sqlpact binary with colors off, in `dir` when given.
pub fn sqlpact_in(args: &[&str], dir: Option<&Path>) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sqlpact"));
    c.args(args).env("NO_COLOR", "1");
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c.output().expect("run sqlpact")
}

/// Runs the sqlpact binary with colors off.
pub fn sqlpact(args: &[&str]) -> std::process::Output {
    sqlpact_in(args, None)
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Run {
    pub sources: SourceMap,
    pub diags: Diagnostics,
    pub analysis: Option<Analysis>,
}

/// A registry in a temporary directory: `schema.sql` and `queries.sql` with the texts
/// given, and the `sqlpact.yaml` that lists them.
pub fn registry(schema: &str, queries: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schema.sql"), schema).unwrap();
    std::fs::write(dir.path().join("queries.sql"), queries).unwrap();
    std::fs::write(
        dir.path().join("sqlpact.yaml"),
        "version: 1\ncontract: { name: scratch, version: 1.0.0 }\nengine: postgresql\nschema: [schema.sql]\nqueries: [queries.sql]\n",
    )
    .unwrap();
    dir
}

pub fn load(registry_file: &Path) -> Run {
    let mut sources = SourceMap::default();
    let mut diags = Diagnostics::default();
    let analysis = registry::load(registry_file, &mut sources, &mut diags)
        .map(|r| analyze::analyze(&r, &sources, &mut diags));
    diags.sort();
    Run {
        sources,
        diags,
        analysis,
    }
}

/// Loads a registry that must analyze without any diagnostic.
pub fn clean(registry_file: &Path) -> Analysis {
    let run = load(registry_file);
    let rendered: Vec<String> = run
        .diags
        .items
        .iter()
        .map(|d| sqlpact::render::text(d, &run.sources, false))
        .collect();
    assert!(
        run.diags.items.is_empty(),
        "{} has diagnostics:\n{}",
        registry_file.display(),
        rendered.join("\n")
    );
    run.analysis.expect("analysis")
}

pub fn query<'a>(a: &'a Analysis, name: &str) -> &'a Query {
    a.contract
        .queries
        .iter()
        .find(|q| q.name == name)
        .unwrap_or_else(|| panic!("no query {name}"))
}

pub fn col<'a>(q: &'a Query, name: &str) -> &'a Column {
    q.columns
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{} has no column {name}", q.name))
}

pub fn param<'a>(q: &'a Query, name: &str) -> &'a Param {
    q.params
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{} has no param {name}", q.name))
}

/// insta settings shared by every snapshot: snapshots in tests/snapshots, machine
/// paths filtered out.
pub fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("tests/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(&regex_escape(&root().display().to_string()), "[ROOT]");
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

/// Runs git in `dir` with a fixed identity and branch name; panics with its stderr.
pub fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
