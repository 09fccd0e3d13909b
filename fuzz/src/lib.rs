//! The fuzz targets' bodies: bytes in, the path the CLI takes, and nothing may panic.
//! The libFuzzer targets in `fuzz_targets/` call them; `tests/fuzz_corpus.rs` replays
//! the committed corpus through them on every test run.
//!
//! Each body writes its input into a scratch project (one directory per process) and
//! runs the stages `sqlpact check`, `generate` and `compat` run on it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sqlpact::diag::Diagnostics;
use sqlpact::source::SourceMap;
use sqlpact::{analyze, compat, generate, registry, render};

/// Where one input's parts are separated: `-- @@ <part>` on a line of its own.
pub const MARK: &str = "\n-- @@ ";

const SCHEMA: &str = "CREATE TYPE mood AS ENUM ('ok', 'sad');\n\
CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, mood mood, tags text[]);\n";
const QUERIES: &str = "-- name: GetAccount :one\n\
SELECT id, owner, mood, tags FROM accounts WHERE id = $1;\n\
-- name: ListAccounts :many\n\
SELECT id, owner FROM accounts WHERE owner = sqlc.arg(owner) ORDER BY id;\n";
const PROTO: &str =
    "syntax = \"proto3\";\npackage fuzz.extra;\nmessage Extra { string note = 1; }\n";
const REGISTRY: &str = "version: 1\n\
contract: { name: fuzz, version: 1.0.0 }\n\
engine: postgresql\n\
schema: [schema.sql]\n\
queries: [queries.sql]\n\
outputs:\n  go: { out: gen/go, package: db }\n  rust: { out: gen/rust, crate: fuzz-db }\n";

/// This process's scratch directory, created once.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sqlpact-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
}

/// Removes what `target`'s body left in this process's scratch directory, and the
/// directory once no target's part is left.
pub fn clean(target: &str) {
    let _ = std::fs::remove_dir_all(scratch().join(target));
    let _ = std::fs::remove_dir(scratch());
}

/// Writes `files` (name, content) under `dir`, replacing what an earlier input left.
fn project(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("a project directory");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("a project file");
    }
    dir.join("sqlpact.yaml")
}

/// The parts of `data` split at [`MARK`] lines, missing ones empty.
fn parts<const N: usize>(data: &[u8]) -> [Vec<u8>; N] {
    let text = String::from_utf8_lossy(data);
    let mut out: [Vec<u8>; N] = std::array::from_fn(|_| Vec::new());
    for (i, part) in text.splitn(N, MARK).enumerate() {
        // The part's own name follows the mark on its line.
        let body = if i == 0 {
            part
        } else {
            part.split_once('\n').map_or("", |(_, b)| b)
        };
        out[i] = body.as_bytes().to_vec();
    }
    out
}

/// `sqlpact check` and, when the contract is valid, `sqlpact generate` in memory.
fn check_and_generate(path: &Path) {
    let mut sources = SourceMap::default();
    let mut diags = Diagnostics::default();
    let reg = registry::load(path, &mut sources, &mut diags);
    if let Some((id, _)) = sources.files().next() {
        registry::secrets::check(id, &sources, &mut diags);
    }
    let analysis = reg.as_ref().map(|reg| {
        registry::confine::check_outputs(reg, &mut diags);
        analyze::analyze(reg, &sources, &mut diags)
    });
    diags.sort();
    for d in &diags.items {
        let _ = render::text(d, &sources, false);
        let _ = render::json(d, &sources);
        let _ = render::github(d, &sources);
    }
    if let (Some(a), false) = (&analysis, diags.has_errors()) {
        let root = path.parent().unwrap_or(Path::new("."));
        if let Ok(outs) = generate::plan(&a.contract, a.wire.as_ref(), root) {
            let _ = generate::compare(outs);
        }
    }
}

/// The registry file: `data` is `sqlpact.yaml`, next to a small valid schema, queries
/// and a `.proto` file it may name.
pub fn registry(data: &[u8]) {
    let dir = scratch().join("registry");
    let path = project(
        &dir,
        &[
            ("sqlpact.yaml", data),
            ("schema.sql", SCHEMA.as_bytes()),
            ("queries.sql", QUERIES.as_bytes()),
            ("extra.proto", PROTO.as_bytes()),
        ],
    );
    check_and_generate(&path);
}

/// The SQL analyzer: `data` is the schema, then after `-- @@ queries` the queries, of
/// a registry generating Go and Rust.
pub fn sql(data: &[u8]) {
    let [schema, queries] = parts::<2>(data);
    let dir = scratch().join("sql");
    let path = project(
        &dir,
        &[
            ("sqlpact.yaml", REGISTRY.as_bytes()),
            ("schema.sql", &schema),
            ("queries.sql", &queries),
        ],
    );
    check_and_generate(&path);
}

/// The `.proto` path: `data` is a hand-written `.proto` file of a registry with a wire
/// format.
pub fn proto(data: &[u8]) {
    let dir = scratch().join("proto");
    let yaml = format!("{REGISTRY}wire: {{ version: 1, protos: [extra.proto] }}\n");
    let path = project(
        &dir,
        &[
            ("sqlpact.yaml", yaml.as_bytes()),
            ("schema.sql", SCHEMA.as_bytes()),
            ("queries.sql", QUERIES.as_bytes()),
            ("extra.proto", data),
        ],
    );
    check_and_generate(&path);
}

/// The compat differ: `data` is the old schema, then after `-- @@ <name>` lines the
/// old queries, the new schema and the new queries.
pub fn compat(data: &[u8]) {
    let [old_schema, old_queries, new_schema, new_queries] = parts::<4>(data);
    let base = scratch().join("compat");
    let _ = std::fs::remove_dir_all(&base);
    let version = |v: &str| REGISTRY.replace("1.0.0", v);
    let (v_old, v_new) = (version("1.0.0"), version("1.1.0"));
    let old = project(
        &base.join("old"),
        &[
            ("sqlpact.yaml", v_old.as_bytes()),
            ("schema.sql", &old_schema),
            ("queries.sql", &old_queries),
        ],
    );
    let new = project(
        &base.join("new"),
        &[
            ("sqlpact.yaml", v_new.as_bytes()),
            ("schema.sql", &new_schema),
            ("queries.sql", &new_queries),
        ],
    );
    let _ = compat::run_gate(&old, &new, "old", None);
}
