//! The loader: `sqlpact.yaml` and the files it names, read into a [`Registry`].
//!
//! Loading never stops at the first problem: it returns what it could read plus every
//! diagnostic, so `sqlpact check` reports all errors at once.

pub mod config;
pub mod confine;
pub mod migrations;
pub mod secrets;
pub mod sqlfile;
pub(crate) mod validate;

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, SourceFile, SourceMap, Span};
pub use config::{Located, RegistryFile};
pub use sqlfile::RawQuery;
pub use validate::{parse_duration_ms, parse_semver, PartialPolicy, ValidatedPolicies};

/// Largest registry file read, in bytes.
pub const MAX_REGISTRY_BYTES: u64 = 1 << 20;
/// Largest schema or query file read, in bytes.
pub const MAX_SQL_BYTES: u64 = 16 << 20;
/// Most query files one glob may match.
pub const MAX_FILES_PER_GLOB: usize = 10_000;
/// Most queries one registry may hold: each is analyzed and kept in memory, and the
/// largest registries measured hold tens of thousands.
pub const MAX_QUERIES: usize = 100_000;

/// Reports the query that passes [`MAX_QUERIES`], if `queries` holds one.
fn too_many_queries(queries: &[RawQuery], diags: &mut Diagnostics) -> bool {
    let Some(first_over) = queries.get(MAX_QUERIES) else {
        return false;
    };
    diags.push(
        Diagnostic::error(
            Code::TooManyQueries,
            format!(
                "the registry holds more than {MAX_QUERIES} queries; sqlpact analyzes none of them"
            ),
        )
        .at(first_over.name_span.clone())
        .label("this query is one too many")
        .help("split the service's queries into registries of their own, one `sqlpact.yaml` each"),
    );
    true
}

/// One schema source: a file, or the up section of a migration.
#[derive(Clone, Debug)]
pub struct SchemaSource {
    pub file: FileId,
    pub range: Range<usize>,
}

/// A registry as read from disk, before analysis.
#[derive(Clone, Debug)]
pub struct Registry {
    /// Directory of the registry file; relative paths start here.
    pub root: PathBuf,
    pub file: FileId,
    pub config: RegistryFile,
    pub schema: Vec<SchemaSource>,
    pub queries: Vec<RawQuery>,
    pub policies: ValidatedPolicies,
    /// The wire lock (`sqlpact.lock` next to the registry), when wire is configured and
    /// the file exists.
    pub wire_lock: Option<FileId>,
    /// Hand-written `.proto` files named by `wire.protos`.
    pub wire_protos: Vec<FileId>,
}

/// The wire lock's file name, next to the registry file.
pub const LOCK_FILE: &str = "sqlpact.lock";

/// Loads the registry at `path`. Returns `None` only when the registry file itself could
/// not be read or parsed; every other problem is a diagnostic next to a usable registry.
pub fn load(path: &Path, sources: &mut SourceMap, diags: &mut Diagnostics) -> Option<Registry> {
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let display = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let text = read_text(path, &display, MAX_REGISTRY_BYTES, None, diags)?;
    let file = sources.add(SourceFile::new(display, path.to_path_buf(), text));
    let config = parse_yaml(file, sources.get(file), diags)?;

    validate::check_header(&config, file, diags);
    let policies = validate::check_policies(&config, file, diags);
    validate::check_outputs(&config, file, diags);

    let schema = load_schema(&config, &root, file, sources, diags);
    let queries = load_queries(&config, &root, file, sources, diags);
    validate::check_query_refs(&config, &queries, file, diags);
    let (wire_lock, wire_protos) = load_wire(&config, &root, file, sources, diags);

    Some(Registry {
        root,
        file,
        config,
        schema,
        queries,
        policies,
        wire_lock,
        wire_protos,
    })
}

fn parse_yaml(file: FileId, src: &SourceFile, diags: &mut Diagnostics) -> Option<RegistryFile> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 200_000,
            max_aliases: 100,
            max_anchors: 100,
            max_depth: 32,
            max_nodes: 100_000,
            max_total_scalar_bytes: 4 << 20,
            max_documents: 1,
            max_recorded_anchor_events: 10_000,
        },
    };
    match serde_saphyr::from_str_with_options::<RegistryFile>(&src.text, options) {
        Ok(c) => Some(c),
        Err(e) => {
            use serde_saphyr::Error as E;
            let mut inner = e.without_snippet();
            while let E::AliasError { error, .. } = inner {
                inner = error.without_snippet();
            }
            let code = match inner {
                E::Budget { .. }
                | E::AliasReplayLimitExceeded { .. }
                | E::AliasExpansionLimitExceeded { .. }
                | E::AliasReplayStackDepthExceeded { .. }
                | E::AliasReplayCounterOverflow { .. } => Code::YamlLimit,
                E::SerdeInvalidType { .. }
                | E::SerdeInvalidValue { .. }
                | E::SerdeInvalidLength { .. }
                | E::SerdeUnknownVariant { .. }
                | E::SerdeUnknownField { .. }
                | E::SerdeMissingField { .. }
                | E::Message { .. }
                | E::NullIntoString { .. }
                | E::InvalidScalar { .. }
                | E::DuplicateMappingKey { .. } => Code::RegistryShape,
                _ => Code::YamlSyntax,
            };
            let mut message = inner.to_string();
            // The crate appends its own location; ours is in the rendered caret.
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            let help = match code {
                Code::YamlLimit => "the registry is limited to 100 aliases, 32 levels of nesting and 100,000 nodes; write the values out instead of expanding anchors",
                Code::RegistryShape => "see docs/registry.md for the keys and their types; editors validate against docs/sqlpact.schema.json",
                _ => "fix the YAML syntax at the caret",
            };
            let span = e.location().and_then(|loc| {
                (loc.line() > 0).then(|| {
                    let at = src.offset_of(loc.line() as u32, loc.column() as u32);
                    Span::point(file, at)
                })
            });
            diags.push(Diagnostic::error(code, message).at_opt(span).help(help));
            None
        }
    }
}

/// Reads a text file, refusing large, binary and non-UTF-8 files with a diagnostic.
pub fn read_text(
    path: &Path,
    display: &str,
    limit: u64,
    cause: Option<Span>,
    diags: &mut Diagnostics,
) -> Option<String> {
    let io_error = |e: std::io::Error, diags: &mut Diagnostics| {
        diags.push(
            Diagnostic::error(Code::Io, format!("cannot read `{display}`: {e}"))
                .at_opt(cause.clone())
                .help("check that the path exists and is readable"),
        );
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            io_error(e, diags);
            return None;
        }
    };
    if meta.len() > limit {
        diags.push(
            Diagnostic::error(
                Code::FileTooLarge,
                format!(
                    "`{display}` is {} bytes; sqlpact reads files of at most {} bytes",
                    meta.len(),
                    limit
                ),
            )
            .at_opt(cause)
            .help("split the file, or check that the path names the file you meant"),
        );
        return None;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            io_error(e, diags);
            return None;
        }
    };
    if bytes.contains(&0) {
        diags.push(
            Diagnostic::error(Code::NotText, format!("`{display}` is a binary file"))
                .at_opt(cause)
                .help("point the registry at SQL text files"),
        );
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(s) => Some(s),
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    Code::NotText,
                    format!(
                        "`{display}` is not UTF-8 (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                )
                .at_opt(cause)
                .help("save the file as UTF-8"),
            );
            None
        }
    }
}

fn located_span<T>(file: FileId, src: &SourceFile, l: &Located<T>) -> Option<Span> {
    if let Some((o, len)) = l.offset {
        return Some(Span::new(file, o..o + len));
    }
    (l.line > 0).then(|| Span::point(file, src.offset_of(l.line, l.column)))
}

/// The span of a registry value, for diagnostics.
pub fn span_of<T>(file: FileId, sources: &SourceMap, l: &Located<T>) -> Option<Span> {
    located_span(file, sources.get(file), l)
}

fn display_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

fn load_schema(
    config: &RegistryFile,
    root: &Path,
    reg: FileId,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Vec<SchemaSource> {
    let mut out = Vec::new();
    for entry in &config.schema {
        let cause = span_of(reg, sources, entry);
        let path = root.join(&entry.value);
        let files = if is_glob(&entry.value) {
            expand_glob(root, &entry.value)
        } else if migrations::is_dir(&path) {
            let listed: Vec<PathBuf> = std::fs::read_dir(&path)
                .map(|rd| {
                    rd.filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.is_file())
                        .collect()
                })
                .unwrap_or_default();
            migrations::order(listed)
        } else if path.is_file() {
            vec![path.clone()]
        } else {
            Vec::new()
        };
        if files.is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::NoFiles,
                    format!("schema path `{}` matches no SQL file", entry.value),
                )
                .at_opt(cause)
                .help(
                    "name a DDL file, a migrations directory or a glob, relative to sqlpact.yaml",
                ),
            );
            continue;
        }
        for f in files {
            let name = display_path(root, &f);
            if let Some(text) = read_text(&f, &name, MAX_SQL_BYTES, cause.clone(), diags) {
                let range = migrations::up_section(&text);
                let id = sources.add(SourceFile::new(name, f, text));
                out.push(SchemaSource { file: id, range });
            }
        }
    }
    out
}

fn load_wire(
    config: &RegistryFile,
    root: &Path,
    reg: FileId,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
) -> (Option<FileId>, Vec<FileId>) {
    let Some(w) = &config.wire else {
        return (None, Vec::new());
    };
    let lock_path = root.join(LOCK_FILE);
    let lock = lock_path
        .is_file()
        .then(|| read_text(&lock_path, LOCK_FILE, MAX_SQL_BYTES, None, diags))
        .flatten()
        .map(|text| sources.add(SourceFile::new(LOCK_FILE.into(), lock_path, text)));
    let mut protos = Vec::new();
    for entry in &w.protos {
        let cause = span_of(reg, sources, entry);
        let path = root.join(&entry.value);
        let files = if is_glob(&entry.value) {
            expand_glob(root, &entry.value)
        } else if path.is_file() {
            vec![path]
        } else {
            Vec::new()
        };
        let files: Vec<PathBuf> = files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "proto"))
            .collect();
        if files.is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::NoFiles,
                    format!("wire path `{}` matches no .proto file", entry.value),
                )
                .at_opt(cause)
                .help(
                    "name .proto files or a glob such as `proto/*.proto`, relative to sqlpact.yaml",
                ),
            );
            continue;
        }
        for f in files {
            let name = display_path(root, &f);
            if let Some(text) = read_text(&f, &name, MAX_SQL_BYTES, cause.clone(), diags) {
                protos.push(sources.add(SourceFile::new(name, f, text)));
            }
        }
    }
    (lock, protos)
}

fn load_queries(
    config: &RegistryFile,
    root: &Path,
    reg: FileId,
    sources: &mut SourceMap,
    diags: &mut Diagnostics,
) -> Vec<RawQuery> {
    let mut out = Vec::new();
    for entry in &config.queries {
        match &entry.value {
            config::QueryEntry::Files(pattern) => {
                let cause = span_of(reg, sources, entry);
                let path = root.join(pattern);
                let files = if is_glob(pattern) {
                    expand_glob(root, pattern)
                } else if path.is_dir() {
                    let mut v: Vec<PathBuf> = std::fs::read_dir(&path)
                        .map(|rd| {
                            rd.filter_map(|e| e.ok().map(|e| e.path()))
                                .filter(|p| p.extension().is_some_and(|e| e == "sql"))
                                .collect()
                        })
                        .unwrap_or_default();
                    v.sort();
                    v
                } else if path.is_file() {
                    vec![path]
                } else {
                    Vec::new()
                };
                if files.is_empty() {
                    diags.push(
                        Diagnostic::error(
                            Code::NoFiles,
                            format!("query path `{pattern}` matches no SQL file"),
                        )
                        .at_opt(cause)
                        .help("name a file, a directory or a glob such as `queries/*.sql`, relative to sqlpact.yaml"),
                    );
                    continue;
                }
                for f in files {
                    let name = display_path(root, &f);
                    if let Some(text) = read_text(&f, &name, MAX_SQL_BYTES, cause.clone(), diags) {
                        let id = sources.add(SourceFile::new(name, f, text));
                        out.extend(sqlfile::split_queries(id, sources.get(id), diags));
                        if too_many_queries(&out, diags) {
                            return Vec::new();
                        }
                    }
                }
            }
            config::QueryEntry::Inline(q) => {
                let src = sources.get(reg);
                let name_span = located_span(reg, src, &q.name).unwrap_or(Span::point(reg, 0));
                let command_span = located_span(reg, src, &q.command).unwrap_or(name_span.clone());
                let sql_span = located_span(reg, src, &q.sql).unwrap_or(name_span.clone());
                let command = q.command.value.trim_start_matches(':').to_owned();
                if !sqlfile::COMMANDS.contains(&command.as_str()) {
                    diags.push(
                        Diagnostic::error(
                            Code::BadAnnotation,
                            format!("unknown query command `{command}`"),
                        )
                        .at(command_span.clone())
                        .help(format!("use one of {}", sqlfile::COMMANDS.join(", "))),
                    );
                }
                let sql = q
                    .sql
                    .value
                    .trim()
                    .trim_end_matches(';')
                    .trim_end()
                    .to_owned();
                out.push(RawQuery {
                    name: q.name.value.clone(),
                    name_span,
                    command,
                    command_span,
                    sql_span: inline_sql_span(src, &sql, sql_span),
                    sql,
                    doc: q
                        .doc
                        .iter()
                        .flat_map(|d| d.lines().map(str::to_owned))
                        .collect(),
                    optional: q
                        .optional
                        .iter()
                        .map(|o| {
                            (
                                o.value.clone(),
                                located_span(reg, src, o).unwrap_or(Span::point(reg, 0)),
                            )
                        })
                        .collect(),
                });
            }
        }
    }
    if too_many_queries(&out, diags) {
        return Vec::new();
    }
    check_duplicates(&out, diags);
    out
}

/// Where an inline query's SQL stands verbatim in the registry file, so that positions
/// inside it map to the file; a plain or block scalar's first line is found after the
/// value's start. Falls back to the value's own span.
fn inline_sql_span(src: &SourceFile, sql: &str, value: Span) -> Span {
    if let Some(first) = sql.lines().next().filter(|l| !l.is_empty()) {
        if let Some(pos) = src.text[value.range.start..].find(first) {
            let start = value.range.start + pos;
            if src.text[start..].starts_with(sql) {
                return Span::new(value.file, start..start + sql.len());
            }
            return Span::new(value.file, start..start + first.len());
        }
    }
    value
}

/// Query names become function and type names: two that differ only in case or
/// separators (`GetIsbn`, `get_isbn`; `Get2`, `get_2`) would be one function in Go or
/// in Rust.
fn check_duplicates(queries: &[RawQuery], diags: &mut Diagnostics) {
    use crate::generate::names::{go_declared, rust_pascal, rust_snake};
    let mut seen: std::collections::HashMap<String, &RawQuery> = std::collections::HashMap::new();
    for q in queries {
        let keys = [
            format!("Go `{}`", go_declared(&q.name)),
            format!("Rust `{}`", rust_snake(&q.name)),
            format!("Rust `{}`", rust_pascal(&q.name)),
        ];
        let clash = keys
            .iter()
            .find_map(|k| seen.get(k).map(|first| (k, *first)));
        if let Some((key, first)) = clash {
            let message = if first.name == q.name {
                format!("query `{}` is defined twice", q.name)
            } else {
                format!(
                    "queries `{}` and `{}` are both {key} in the generated code",
                    first.name, q.name
                )
            };
            diags.push(
                Diagnostic::error(Code::DuplicateQuery, message)
                    .at(q.name_span.clone())
                    .label("second definition")
                    .related(first.name_span.clone(), "first defined here")
                    .help(
                        "rename one of them; query names become function names and must be unique",
                    ),
            );
        } else {
            for k in keys {
                seen.insert(k, q);
            }
        }
    }
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

/// Files under `root` matching `pattern`, sorted. Walks only below the pattern's literal
/// directory prefix.
fn expand_glob(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let Ok(glob) = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
    else {
        return Vec::new();
    };
    let matcher = glob.compile_matcher();
    let prefix: PathBuf = pattern
        .split('/')
        .take_while(|c| !is_glob(c))
        .collect::<Vec<_>>()
        .join("/")
        .into();
    // The last literal component may be a file name; only directories are walked.
    let start = if root.join(&prefix).is_dir() {
        prefix
    } else {
        prefix.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let mut found = Vec::new();
    let mut stack = vec![root.join(&start)];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if stack.len() < 10_000 {
                    stack.push(p);
                }
            } else if let Ok(rel) = p.strip_prefix(root) {
                if matcher.is_match(rel) {
                    found.push(p);
                    if found.len() >= MAX_FILES_PER_GLOB {
                        break;
                    }
                }
            }
        }
    }
    found.sort();
    found
}

/// The JSON Schema of `sqlpact.yaml`, as published in `docs/sqlpact.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RegistryFile);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
