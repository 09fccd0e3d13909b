//! Hostile names cannot break out of generated code. Seeded random registries put
//! quotes, backticks, comment ends, newlines, braces, look-alike letters, bidi controls
//! and keywords into enum, label, table, column, alias, doc, file and policy names.
//! Each either fails with errors that all point into a file, or generates Go and Rust
//! with exactly the shape (functions, types, fields, values) of the same registry with
//! plain names: nothing a name holds became code. The `hostile_names` fixture under
//! `tests/fixtures/generate` is such a registry, compiled and linted by the test command.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use sqlpact::diag::{Diagnostics, Severity};
use sqlpact::source::SourceMap;
use sqlpact::{analyze, generate, registry};

/// Pieces hostile names are made of.
const PIECES: &[&str] = &[
    "\"",
    "'",
    "`",
    "*/",
    "/*",
    "\n",
    "\r",
    "}",
    "{",
    "\\",
    "\u{430}",
    "²",
    "é",
    "type",
    "fn",
    "func",
    "self",
    "Self",
    "r#",
    "#",
    "\"#",
    "//go:generate rm",
    "```",
    "\u{202e}",
    "\u{2028}",
    "$1",
    ";",
    "--",
    "0",
    " ",
    "-",
    "_",
    "x",
    "init()",
    ")",
    "(",
    "\u{feff}",
    "\t",
    "𝔘",
    ",",
    ":",
    "ß",
    "İ",
    "\u{301}",
    "impl",
    "mod",
    "package",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// A hostile name of 1 to 5 pieces, never empty.
    fn name(&mut self) -> String {
        let n = 1 + self.below(5);
        (0..n).map(|_| PIECES[self.below(PIECES.len())]).collect()
    }
}

/// The names a registry is built from.
struct Names {
    enum_name: String,
    labels: Vec<String>,
    table: String,
    columns: Vec<String>,
    alias: String,
    doc: String,
    file: String,
    retry: String,
}

impl Names {
    fn hostile(rng: &mut Rng) -> Names {
        let mut columns: Vec<String> = Vec::new();
        while columns.len() < 3 {
            let c = rng.name();
            // PostgreSQL names are unique per table and cannot hold NUL; `id` is taken.
            if !columns.contains(&c) && c != "id" {
                columns.push(c);
            }
        }
        let mut labels: Vec<String> = Vec::new();
        while labels.len() < 2 {
            let l = rng.name();
            if !labels.contains(&l) {
                labels.push(l);
            }
        }
        // A file name holds neither `/` nor NUL, and the registry names it with a glob
        // pattern, so no pattern characters either.
        let file = rng
            .name()
            .replace(['/', '\n', '\r', '*', '?', '[', ']', '{', '}', '\\'], "_")
            + ".sql";
        Names {
            enum_name: rng.name(),
            labels,
            table: rng.name(),
            columns,
            alias: rng.name(),
            doc: rng.name().replace(['\n', '\r'], " "),
            file,
            retry: rng.name(),
        }
    }

    fn plain() -> Names {
        Names {
            enum_name: "e0".into(),
            labels: vec!["l0".into(), "l1".into()],
            table: "t0".into(),
            columns: vec!["c0".into(), "c1".into(), "c2".into()],
            alias: "a0".into(),
            doc: "plain".into(),
            file: "queries.sql".into(),
            retry: "r0".into(),
        }
    }
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A YAML double-quoted scalar: JSON's escapes are YAML's.
fn yaml(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Writes the registry of `n` into `dir`; returns its path.
fn write_registry(dir: &Path, n: &Names) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let [c0, c1, c2] = [&n.columns[0], &n.columns[1], &n.columns[2]].map(|c| ident(c));
    let (t, e) = (ident(&n.table), ident(&n.enum_name));
    let labels: Vec<String> = n.labels.iter().map(|l| literal(l)).collect();
    let schema = format!(
        "CREATE TYPE {e} AS ENUM ({});\nCREATE TABLE {t} (id bigint PRIMARY KEY, {c0} text NOT NULL, {c1} {e}, {c2} int);\n",
        labels.join(", ")
    );
    let queries = format!(
        "-- name: GetRow :one\n-- {doc}\nSELECT id, {c0}, {c1} AS {alias} FROM {t} WHERE id = $1;\n\n\
         -- name: ListRows :many\nSELECT * FROM {t} WHERE {c1} = $1 ORDER BY id;\n\n\
         -- name: InsertRows :copyfrom\nINSERT INTO {t} (id, {c0}, {c2}) VALUES ($1, $2, $3);\n\n\
         -- name: PutRow :one\nINSERT INTO {t} (id, {c0}) VALUES ($1, $2) RETURNING {c2};\n",
        doc = n.doc,
        alias = ident(&n.alias),
    );
    let reg = format!(
        "version: 1\ncontract: {{ name: hostile, version: 1.0.0 }}\nengine: postgresql\n\
         schema: [schema.sql]\nqueries: [{file}]\n\
         outputs:\n  go: {{ out: gen/go, package: hostile, json_tags: true }}\n  \
         rust: {{ out: gen/rust, crate: hostile-db, serde: true }}\n\
         policies:\n  retry:\n    {retry}: {{ max_attempts: 2 }}\n  \
         queries:\n    GetRow: {{ retry: {retry} }}\n    PutRow: {{ idempotency_key: {key} }}\n",
        file = yaml(&n.file),
        retry = yaml(&n.retry),
        key = yaml(&n.columns[0]),
    );
    std::fs::write(dir.join("schema.sql"), schema).unwrap();
    std::fs::write(dir.join(&n.file), queries).unwrap();
    std::fs::write(dir.join("sqlpact.yaml"), reg).unwrap();
    dir.join("sqlpact.yaml")
}

/// What generating `path` gave: the output files by language, or the errors.
enum Generated {
    Files(BTreeMap<&'static str, Vec<(String, String)>>),
    Errors(Vec<String>),
}

fn run(path: &Path) -> Generated {
    let mut sources = SourceMap::default();
    let mut diags = Diagnostics::default();
    let reg = registry::load(path, &mut sources, &mut diags);
    let analysis = reg.map(|reg| analyze::analyze(&reg, &sources, &mut diags));
    let errors: Vec<_> = diags
        .items
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if !errors.is_empty() {
        let unlocated: Vec<String> = errors
            .iter()
            .filter(|d| d.span.is_none())
            .map(|d| format!("{:?}: {}", d.code, d.message))
            .collect();
        assert!(
            unlocated.is_empty(),
            "{}: errors without a place: {unlocated:?}",
            path.display()
        );
        return Generated::Errors(
            errors
                .iter()
                .map(|d| sqlpact::render::text(d, &sources, false))
                .collect(),
        );
    }
    let a = analysis.unwrap();
    let root = path.parent().unwrap();
    let outs = match generate::plan(&a.contract, a.wire.as_ref(), root) {
        Ok(o) => o,
        Err(e) => panic!("{}: generation failed: {e}", path.display()),
    };
    let mut files = BTreeMap::new();
    for o in outs {
        files.insert(o.lang, o.files.into_iter().collect());
    }
    Generated::Files(files)
}

/// How many of each kind of item the Rust files declare.
fn rust_shape(files: &[(String, String)]) -> BTreeMap<&'static str, usize> {
    use syn::visit::Visit;
    #[derive(Default)]
    struct Count(BTreeMap<&'static str, usize>);
    impl<'a> Visit<'a> for Count {
        fn visit_item(&mut self, i: &'a syn::Item) {
            let kind = match i {
                syn::Item::Fn(_) => "fn",
                syn::Item::Struct(_) => "struct",
                syn::Item::Enum(_) => "enum",
                syn::Item::Const(_) => "const",
                syn::Item::Static(_) => "static",
                syn::Item::Impl(_) => "impl",
                syn::Item::Mod(_) => "mod",
                syn::Item::Use(_) => "use",
                syn::Item::Macro(_) => "macro",
                syn::Item::Trait(_) => "trait",
                syn::Item::Type(_) => "type",
                _ => "other",
            };
            *self.0.entry(kind).or_default() += 1;
            syn::visit::visit_item(self, i);
        }
        fn visit_impl_item_fn(&mut self, i: &'a syn::ImplItemFn) {
            *self.0.entry("method").or_default() += 1;
            syn::visit::visit_impl_item_fn(self, i);
        }
        fn visit_field(&mut self, i: &'a syn::Field) {
            *self.0.entry("field").or_default() += 1;
            syn::visit::visit_field(self, i);
        }
        fn visit_variant(&mut self, i: &'a syn::Variant) {
            *self.0.entry("variant").or_default() += 1;
            syn::visit::visit_variant(self, i);
        }
        fn visit_expr_match(&mut self, i: &'a syn::ExprMatch) {
            *self.0.entry("match-arm").or_default() += i.arms.len();
            syn::visit::visit_expr_match(self, i);
        }
    }
    let mut c = Count::default();
    for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".rs")) {
        let file = syn::parse_file(text)
            .unwrap_or_else(|e| panic!("{name} does not parse as Rust: {e}\n{text}"));
        c.visit_file(&file);
    }
    c.0
}

#[test]
fn hostile_names_become_errors_with_a_place_or_code_of_the_same_shape() {
    let seed: u64 = std::env::var("SQLPACT_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261123);
    const CASES: usize = 96;
    let tmp = tempfile::tempdir().unwrap();
    let plain = write_registry(&tmp.path().join("plain"), &Names::plain());
    let Generated::Files(plain_files) = run(&plain) else {
        panic!("the plain registry does not generate");
    };
    let plain_rust = rust_shape(&plain_files["rust"]);

    let mut rng = Rng(seed);
    let mut go_dirs = vec![write_go(&tmp.path().join("plain"), &plain_files["go"])];
    let mut generated = 0;
    for i in 0..CASES {
        let names = Names::hostile(&mut rng);
        let dir = tmp.path().join(format!("case{i}"));
        let path = write_registry(&dir, &names);
        match run(&path) {
            Generated::Errors(_) => {}
            Generated::Files(files) => {
                generated += 1;
                assert_eq!(
                    rust_shape(&files["rust"]),
                    plain_rust,
                    "case {i} (seed {seed}): the Rust code's shape differs from the plain registry's"
                );
                go_dirs.push(write_go(&dir, &files["go"]));
            }
        }
    }
    // Most hostile names are legal SQL names: they must generate, not just fail.
    assert!(
        generated * 4 >= CASES * 3,
        "only {generated} of {CASES} hostile registries generated (seed {seed})"
    );

    let out = Command::new("go")
        .arg("run")
        .arg(common::root().join("tests/tools/goshape.go"))
        .args(&go_dirs)
        .output()
        .expect("go runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shapes = String::from_utf8(out.stdout).unwrap();
    let mut lines = shapes.lines().map(|l| l.split_once('\t').unwrap());
    let (_, plain_go) = lines.next().unwrap();
    assert!(!plain_go.starts_with("error"), "plain Go: {plain_go}");
    let mut compared = 0;
    for (dir, shape) in lines {
        assert_eq!(
            shape, plain_go,
            "{dir} (seed {seed}): the Go code's shape differs from the plain registry's"
        );
        compared += 1;
    }
    assert_eq!(compared, generated);
}

/// Writes the Go files of one output into `dir/go`; returns that directory.
fn write_go(dir: &Path, files: &[(String, String)]) -> std::path::PathBuf {
    let go = dir.join("go");
    std::fs::create_dir_all(&go).unwrap();
    for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".go")) {
        std::fs::write(go.join(name), text).unwrap();
    }
    go
}

#[test]
fn a_query_name_that_is_no_identifier_is_an_error_at_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_registry(tmp.path(), &Names::plain());
    let q = tmp.path().join("queries.sql");
    let text = std::fs::read_to_string(&q)
        .unwrap()
        .replace("GetRow :one", "Get}Row\u{430} :one");
    std::fs::write(&q, text).unwrap();
    let Generated::Errors(errors) = run(&path) else {
        panic!("a hostile query name generated code");
    };
    assert!(
        errors.iter().any(|e| e.contains("queries.sql:1:")),
        "{errors:?}"
    );
}
