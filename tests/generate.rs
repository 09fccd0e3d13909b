//! `sqlpact generate`, `generate --check` and `diff`: snapshots of the generated code,
//! determinism, stale-file removal, template overrides and errors.

mod common;

use std::path::{Path, PathBuf};

use common::sqlpact;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every registry whose generated code is committed: the example and the fixtures.
fn committed_registries() -> Vec<PathBuf> {
    let mut v = vec![common::root().join("contracts/sqlpact.yaml")];
    let dir = common::root().join("tests/fixtures/generate");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("sqlpact.yaml"))
        .filter(|p| p.is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    v.extend(cases);
    v
}

#[test]
fn committed_generated_code_is_up_to_date() {
    for reg in committed_registries() {
        let out = sqlpact(&["-c", reg.to_str().unwrap(), "generate", "--check"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: run `sqlpact -c {} generate`\n{}{}",
            reg.display(),
            reg.display(),
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}

#[test]
fn kitchen_sink_snapshots() {
    let reg = common::root().join("tests/fixtures/generate/kitchen_sink/sqlpact.yaml");
    let a = common::clean(&reg);
    let outs =
        sqlpact::generate::plan(&a.contract, a.wire.as_ref(), reg.parent().unwrap()).unwrap();
    let mut names = Vec::new();
    for o in &outs {
        for (name, body) in &o.files {
            let snap = format!(
                "generate_kitchen_sink_{}_{}",
                o.lang,
                name.replace('/', "_")
            );
            names.push(snap.clone());
            common::settings().bind(|| insta::assert_snapshot!(snap, body));
        }
    }
    assert_eq!(names.len(), 14, "{names:?}");
}

fn copy_fixture(name: &str) -> PathBuf {
    let src = common::root().join("tests/fixtures/generate/kitchen_sink");
    let dir = std::env::temp_dir().join(format!("sqlpact-gen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["schema.sql", "queries.sql", "sqlpact.yaml"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    dir
}

/// Points the fixture copy's Go output at a template directory holding one file.
fn with_go_template(dir: &Path, file: &str, text: &str) -> PathBuf {
    let cfg = dir.join("sqlpact.yaml");
    std::fs::create_dir_all(dir.join("tpl")).unwrap();
    std::fs::write(dir.join("tpl").join(file), text).unwrap();
    let yaml = std::fs::read_to_string(&cfg).unwrap().replace(
        "emit_interface: true }",
        "emit_interface: true, templates: tpl }",
    );
    std::fs::write(&cfg, yaml).unwrap();
    cfg
}

fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn generate_is_deterministic_removes_only_its_stale_files_and_check_fails_on_drift() {
    let dir = copy_fixture("lifecycle");
    let cfg = dir.join("sqlpact.yaml");
    let c = cfg.to_str().unwrap();

    let first = sqlpact(&["-c", c, "generate"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert!(text(&first.stderr).contains("created gen/go/kitchen/db.go"));
    let snapshot = files_under(&dir.join("gen"));
    assert_eq!(snapshot.len(), 13);

    // Regenerating without changes is a no-op, byte for byte.
    let again = sqlpact(&["-c", c, "generate"]);
    assert!(
        text(&again.stderr).contains("14 file(s) generated, 0 changed"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(files_under(&dir.join("gen")), snapshot);
    let check = sqlpact(&["-c", c, "generate", "--check"]);
    assert_eq!(check.status.code(), Some(0));
    assert!(check.stdout.is_empty());

    // A hand-written file next to the generated ones is never touched.
    let mine = dir.join("gen/go/kitchen/helpers.go");
    std::fs::write(&mine, "package kitchen\n").unwrap();

    // Drift: a query changes and the query file is renamed.
    let q = std::fs::read_to_string(dir.join("queries.sql")).unwrap();
    let q = q.replace(
        "SELECT count(*) FROM samples;",
        "SELECT count(*) FROM notes;",
    );
    std::fs::write(dir.join("more.sql"), q).unwrap();
    std::fs::remove_file(dir.join("queries.sql")).unwrap();
    let yaml = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("[queries.sql]", "[more.sql]");
    std::fs::write(&cfg, yaml).unwrap();

    let check = sqlpact(&["-c", c, "generate", "--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));
    let diff = text(&check.stdout);
    assert!(
        diff.contains("--- a/gen/go/kitchen/queries.sql.go\n+++ /dev/null"),
        "{diff}"
    );
    assert!(
        diff.contains("--- /dev/null\n+++ b/gen/go/kitchen/more.sql.go"),
        "{diff}"
    );
    assert!(diff.contains("+//\tSELECT count(*) FROM notes"), "{diff}");
    assert!(diff.contains("-//\tSELECT count(*) FROM samples"), "{diff}");
    assert!(text(&check.stderr).contains("out of date"));
    // --check and diff write nothing.
    assert_eq!(files_under(&dir.join("gen")).len(), 14);
    let shown = sqlpact(&["-c", c, "diff"]);
    assert_eq!(shown.status.code(), Some(0));
    assert_eq!(text(&shown.stdout), diff);

    let apply = sqlpact(&["-c", c, "generate"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    let log = text(&apply.stderr);
    assert!(
        log.contains("removed gen/go/kitchen/queries.sql.go"),
        "{log}"
    );
    assert!(log.contains("created gen/go/kitchen/more.sql.go"), "{log}");
    assert!(
        log.contains("removed gen/rust/kitchen/src/queries.rs"),
        "{log}"
    );
    assert!(!dir.join("gen/go/kitchen/queries.sql.go").exists());
    assert!(mine.exists(), "a file sqlpact did not generate was removed");
    let leftovers: Vec<String> = files_under(&dir.join("gen"))
        .into_iter()
        .map(|f| f.0)
        .filter(|n| n.contains("sqlpact-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_template_directory_overrides_templates_by_name() {
    let dir = copy_fixture("override");
    let cfg = with_go_template(
        &dir,
        "db.go.hbs",
        "{{header}}\n\npackage {{package}}\n\n// Overridden.\n",
    );
    let out = sqlpact(&["-c", cfg.to_str().unwrap(), "generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let db = std::fs::read_to_string(dir.join("gen/go/kitchen/db.go")).unwrap();
    assert!(db.contains("// Overridden."), "{db}");
    assert!(db.starts_with("// Code generated by sqlpact from contract kitchen 0.3.1."));
    // The other templates are the built-in ones.
    let models = std::fs::read_to_string(dir.join("gen/go/kitchen/models.go")).unwrap();
    assert!(models.contains("type Mood string"), "{models}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_template_naming_a_missing_field_fails_and_writes_nothing() {
    let dir = copy_fixture("strict");
    let cfg = dir.join("sqlpact.yaml");
    std::fs::create_dir_all(dir.join("tpl")).unwrap();
    std::fs::write(
        dir.join("tpl/models.go.hbs"),
        "{{header}}\n{{no_such_field}}\n",
    )
    .unwrap();
    let yaml = std::fs::read_to_string(&cfg).unwrap().replace(
        "emit_interface: true }",
        "emit_interface: true, templates: tpl }",
    );
    std::fs::write(&cfg, yaml).unwrap();
    let out = sqlpact(&["-c", cfg.to_str().unwrap(), "generate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("template `go/models.go`"), "{err}");
    assert!(err.contains("no_such_field"), "{err}");
    assert!(!dir.join("gen").exists(), "something was written");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_registry_without_outputs_says_how_to_add_them() {
    let dir = copy_fixture("no-outputs");
    let cfg = dir.join("sqlpact.yaml");
    let yaml = std::fs::read_to_string(&cfg).unwrap();
    let yaml: String = yaml[..yaml.find("outputs:").unwrap()]
        .lines()
        .filter(|l| !l.starts_with("wire:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&cfg, yaml).unwrap();
    let out = sqlpact(&["-c", cfg.to_str().unwrap(), "generate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("add `outputs:"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_contract_with_errors_generates_nothing() {
    let dir = copy_fixture("errors");
    let q = std::fs::read_to_string(dir.join("queries.sql")).unwrap();
    std::fs::write(
        dir.join("queries.sql"),
        q.replace(
            "FROM samples WHERE id = @id;",
            "FROM sample WHERE id = @id;",
        ),
    )
    .unwrap();
    let out = sqlpact(&["-c", dir.join("sqlpact.yaml").to_str().unwrap(), "generate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("nothing generated"));
    assert!(!dir.join("gen").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_hand_written_file_in_the_way_is_not_overwritten() {
    let dir = copy_fixture("not-ours");
    let cfg = dir.join("sqlpact.yaml");
    std::fs::create_dir_all(dir.join("gen/go/kitchen")).unwrap();
    let mine = "package kitchen\n\n// Hand-written.\n";
    std::fs::write(dir.join("gen/go/kitchen/db.go"), mine).unwrap();
    let out = sqlpact(&["-c", cfg.to_str().unwrap(), "generate"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("gen/go/kitchen/db.go` exists and was not generated by sqlpact"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("gen/go/kitchen/db.go")).unwrap(),
        mine
    );
    assert!(
        !dir.join("gen/go/kitchen/models.go").exists(),
        "nothing else was written"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn go_wire_messages_without_their_plugin_or_import_path_fail_clearly_and_write_nothing() {
    let dir = copy_fixture("no-plugin");
    let cfg = dir.join("sqlpact.yaml");
    let empty = dir.join("empty-home");
    std::fs::create_dir_all(&empty).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sqlpact"))
        .args(["-c", cfg.to_str().unwrap(), "generate"])
        .env("NO_COLOR", "1")
        .env("PATH", &empty)
        .env("HOME", &empty)
        .env_remove("GOPATH")
        .env_remove("GOBIN")
        .env_remove("SQLPACT_PROTOC_GEN_GO")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("protoc-gen-go is not installed"), "{err}");
    assert!(
        err.contains("go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12"),
        "{err}"
    );
    assert!(!dir.join("gen").exists(), "something was written");

    // Without `import_path` and without a go.mod, the subpackage has no import path.
    let yaml = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(", import_path: example.com/kitchen/kitchen", "");
    std::fs::write(&cfg, yaml).unwrap();
    let out = sqlpact(&["-c", cfg.to_str().unwrap(), "generate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("no `go.mod` above it"), "{err}");
    assert!(err.contains("outputs.go.import_path"), "{err}");
    assert!(!dir.join("gen").exists(), "something was written");

    // With a go.mod, the import path is the module's path and the directory.
    std::fs::write(dir.join("go.mod"), "module example.org/svc\n\ngo 1.22\n").unwrap();
    let out = sqlpact(&["-c", cfg.to_str().unwrap(), "generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = std::fs::read_to_string(dir.join("gen/go/kitchen/wire_rows.go")).unwrap();
    assert!(
        rows.contains("\"example.org/svc/gen/go/kitchen/wire\""),
        "{rows}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A scratch directory holding the kitchen-sink registry in repo/db/, repo a git work
/// tree.
fn kitchen_in_a_work_tree(name: &str) -> PathBuf {
    let base = std::env::temp_dir().join(format!("sqlpact-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let db = base.join("repo/db");
    std::fs::create_dir_all(base.join("repo/.git")).unwrap();
    std::fs::create_dir_all(&db).unwrap();
    let src = common::root().join("tests/fixtures/generate/kitchen_sink");
    for f in ["schema.sql", "queries.sql", "sqlpact.yaml"] {
        std::fs::copy(src.join(f), db.join(f)).unwrap();
    }
    base
}

#[test]
fn outputs_stay_inside_the_project() {
    let base = kitchen_in_a_work_tree("confine");
    let (repo, db) = (base.join("repo"), base.join("repo/db"));
    let cfg = db.join("sqlpact.yaml");
    let yaml = std::fs::read_to_string(&cfg).unwrap();
    let generate = |from: &str, to: &str| {
        std::fs::write(&cfg, yaml.replace(from, to)).unwrap();
        let out = sqlpact(&["-c", cfg.to_str().unwrap(), "generate"]);
        // One line per message, however the report wraps it.
        let err = text(&out.stderr).replace("\n  │ ", " ");
        (out.status.code(), err)
    };
    let go = "out: gen/go/kitchen";

    // Climbing out of the registry's directory is fine while it stays in the work tree.
    let (code, err) = generate(go, "out: ../gen/go");
    assert_eq!(code, Some(0), "{err}");
    assert!(repo.join("gen/go/db.go").is_file());
    std::fs::remove_dir_all(repo.join("gen")).unwrap();
    std::fs::remove_dir_all(db.join("gen")).unwrap();

    let refused = |code: Option<i32>, err: &str, what: &str| {
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("E113"), "{err}");
        assert!(err.contains(what), "{err}");
        assert!(err.contains("nothing generated"), "{err}");
        assert!(!db.join("gen").exists() && !repo.join("gen").exists());
    };
    // `..` chains that leave it, located at the value.
    let (code, err) = generate(go, "out: ../../outside/go");
    refused(code, &err, "`outputs.go.out: ../../outside/go` resolves to");
    assert!(
        err.contains("outside the project, the git work tree"),
        "{err}"
    );
    assert!(err.contains("sqlpact.yaml:10:"), "{err}");
    assert!(!base.join("outside").exists());
    // A symbolic link inside the project that points out of it.
    std::fs::create_dir_all(base.join("elsewhere")).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(base.join("elsewhere"), db.join("link")).unwrap();
        let (code, err) = generate(go, "out: link/go");
        refused(code, &err, "`outputs.go.out: link/go` resolves to");
        assert_eq!(
            std::fs::read_dir(base.join("elsewhere")).unwrap().count(),
            0
        );
        std::os::unix::fs::symlink(base.join("gone"), db.join("dangling")).unwrap();
        let (code, err) = generate(go, "out: dangling/go");
        refused(code, &err, "a symbolic link to a missing target");
        assert!(!base.join("gone").exists());
    }
    // An absolute path, even one inside the project.
    let abs = repo.join("gen/go");
    let (code, err) = generate(go, &format!("out: {}", abs.display()));
    refused(code, &err, "is an absolute path");
    // The Rust and wire outputs alike.
    let (code, err) = generate("out: gen/rust/kitchen", "out: ../../rust");
    refused(code, &err, "`outputs.rust.out: ../../rust` resolves to");
    let (code, err) = generate("out: gen/proto", "out: ../../proto");
    refused(code, &err, "`wire.out: ../../proto` resolves to");

    // A link where a generated file goes is replaced, not written through.
    #[cfg(unix)]
    {
        let target = base.join("target.go");
        let theirs = "// Code generated by sqlpact. Not this file, though.\n";
        std::fs::write(&target, theirs).unwrap();
        std::fs::create_dir_all(db.join("gen/go/kitchen")).unwrap();
        std::os::unix::fs::symlink(&target, db.join("gen/go/kitchen/db.go")).unwrap();
        let (code, err) = generate(go, go);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), theirs);
        let written = db.join("gen/go/kitchen/db.go");
        assert!(written.symlink_metadata().unwrap().file_type().is_file());
        std::fs::remove_dir_all(db.join("gen")).unwrap();
    }
    // Without a work tree, the project is the registry's directory.
    std::fs::remove_dir_all(repo.join(".git")).unwrap();
    let (code, err) = generate(go, "out: ../gen/go");
    refused(
        code,
        &err,
        "the registry's directory (it is in no git work tree)",
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_crate_written_outside_the_registry_reaches_its_path_dependencies() {
    // Its Rust crate in repo/gen/rust, beside the registry's directory.
    let base = kitchen_in_a_work_tree("paths");
    let cfg = base.join("repo/db/sqlpact.yaml");
    let yaml = std::fs::read_to_string(&cfg).unwrap().replace(
        "rust: { out: gen/rust/kitchen, crate: kitchen-db, serde: true, runtime_path: ../../../../runtime/rust }",
        "rust: { out: ../gen/./rust/, crate: kitchen-db, runtime_path: ../runtime/rust, dependencies: { \
         rust-decimal: { version: \"1.36\", features: [db-tokio-postgres] }, units: { path: crates/units } } }",
    );
    std::fs::write(&cfg, yaml).unwrap();
    let out = sqlpact(&["-c", cfg.to_str().unwrap(), "generate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let toml = std::fs::read_to_string(base.join("repo/gen/rust/Cargo.toml")).unwrap();
    // Paths are relative to the crate, which sits beside the registry's directory.
    assert!(
        toml.contains("sqlpact-runtime = { path = \"../../runtime/rust\" }"),
        "{toml}"
    );
    assert!(
        toml.contains("units = { path = \"../../db/crates/units\" }"),
        "{toml}"
    );
    // The declared `rust-decimal` replaces the built-in `rust_decimal`: Cargo reads
    // them as one crate, and two lines for it would not build.
    let decimal: Vec<&str> = toml
        .lines()
        .filter(|l| l.starts_with("rust-decimal") || l.starts_with("rust_decimal"))
        .collect();
    assert_eq!(
        decimal,
        ["rust-decimal = { version = \"1.36\", features = [\"db-tokio-postgres\"] }"],
        "{toml}"
    );
    let _ = std::fs::remove_dir_all(base);
}
