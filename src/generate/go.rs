//! The Go (pgx v5) view of a contract: names, types, imports and aligned lines,
//! ready for the handlebars templates under `templates/go/`.
//!
//! Layout that gofmt decides by measuring (struct field and const alignment) is
//! computed here; everything else is in the templates.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::escape::{comment, go_sql, go_str};
use super::names::{dedupe, go_declared, go_exported, go_local, go_unexported, singular};
use super::{file_group, header_line, GenError, Rendered};
use crate::model::{Column, Contract, GoOutput, Query};

/// More parameters than this and a method takes a params struct.
const MAX_POSITIONAL: usize = 2;

#[derive(Serialize)]
struct FileCtx {
    header: String,
    package: String,
    source: Option<String>,
    imports: Vec<ImportGroup>,
    enums: Vec<EnumCtx>,
    structs: Vec<StructCtx>,
    queries: Vec<QueryCtx>,
    statements: Vec<String>,
    /// db.go: the retry policies' variables and the `Policies` table.
    policy_lines: Vec<String>,
    /// models.go: the enums and their array types, quoted, for `RegisterTypes`.
    enum_types: String,
}

/// The runtime module; its package is `sqlpact`, imported under that name.
const RUNTIME_IMPORT: &str = "github.com/sqlpact/sqlpact/runtime/go";

#[derive(Serialize)]
struct ImportGroup {
    lines: Vec<String>,
}

#[derive(Serialize)]
struct EnumCtx {
    name: String,
    pg_name: String,
    consts: Vec<String>,
    names: Vec<String>,
    case_list: String,
}

#[derive(Serialize)]
struct StructCtx {
    name: String,
    doc: String,
    fields: Vec<String>,
}

#[derive(Serialize, Default)]
struct QueryCtx {
    name: String,
    const_name: String,
    stmt: String,
    sql_literal: String,
    stmt_literal: String,
    /// Affecting no row is a conflict: the exec methods check the count.
    expect_one_row: bool,
    #[serde(serialize_with = "super::joined")]
    doc: Vec<String>,
    /// `ctx context.Context, id uuid.UUID` or `ctx context.Context, arg XParams`.
    signature_args: String,
    /// The method's result list: `(AccountRow, error)`, `error`.
    results: String,
    /// Expressions passed for `$1..$n`, comma-joined with a leading `, ` when any.
    pass: String,
    /// `i` when the result is a scalar, otherwise a struct.
    result_type: String,
    scan: String,
    /// Nullable embeds: temporaries declared before the scan and the assignment after.
    temps: Vec<String>,
    after_scan: Vec<String>,
    one: bool,
    many: bool,
    exec: bool,
    execrows: bool,
    execresult: bool,
    copyfrom: bool,
    batchexec: bool,
    batchone: bool,
    batchmany: bool,
    /// Batch and copy: the element type of the `args` slice.
    item_type: String,
    copy_table: String,
    copy_columns: String,
    pass_slice: String,
    /// Params and row structs declared next to the method.
    structs: Vec<StructCtx>,
}

struct Imports(BTreeSet<String>);

impl Imports {
    fn new() -> Self {
        Imports(BTreeSet::new())
    }

    /// Renders a Go type written with full import paths (`*github.com/google/uuid.UUID`)
    /// as it is spelled in code (`*uuid.UUID`), recording the import; the arguments of
    /// a generic type likewise (`pgtype.Range[pgtype.Int4]`).
    fn ty(&mut self, t: &str) -> String {
        let mut prefix = String::new();
        let mut rest = t;
        loop {
            if let Some(r) = rest.strip_prefix('*') {
                prefix.push('*');
                rest = r;
            } else if let Some(r) = rest.strip_prefix("[]") {
                prefix.push_str("[]");
                rest = r;
            } else {
                break;
            }
        }
        if let Some((base, args)) = generic_parts(rest) {
            let base = self.ty(base);
            let args: Vec<String> = args.into_iter().map(|a| self.ty(a)).collect();
            return format!("{prefix}{base}[{}]", args.join(", "));
        }
        match rest.rfind('.') {
            Some(dot) if dot > 0 => {
                let (path, name) = (&rest[..dot], &rest[dot + 1..]);
                self.0.insert(path.to_owned());
                format!("{prefix}{}.{name}", package_name(path))
            }
            _ => format!("{prefix}{rest}"),
        }
    }

    fn add(&mut self, path: &str) {
        self.0.insert(path.to_owned());
    }

    /// Keeps the imports `code` names (`time.Time`, `pgtype.Text`): Go refuses an
    /// unused import.
    fn used_in(self, code: &str) -> Self {
        let named = |pkg: &str| {
            code.match_indices(pkg).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                code[at + pkg.len()..].starts_with('.')
                    && !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        };
        Imports(
            self.0
                .into_iter()
                .filter(|p| named(package_name(p)))
                .collect(),
        )
    }

    fn groups(&self) -> Vec<ImportGroup> {
        let (std, other): (Vec<&String>, Vec<&String>) = self
            .0
            .iter()
            .partition(|p| !p.split('/').next().unwrap_or("").contains('.'));
        [std, other]
            .into_iter()
            .filter(|g| !g.is_empty())
            .map(|g| ImportGroup {
                lines: g
                    .iter()
                    .map(|p| {
                        if p.as_str() == RUNTIME_IMPORT {
                            format!("sqlpact \"{p}\"")
                        } else {
                            format!("\"{p}\"")
                        }
                    })
                    .collect(),
            })
            .collect()
    }
}

/// The package name of an import path: its last element, skipping a `/vN` suffix.
/// A generic Go type (`pkg.Range[pkg.Int4]`, its `*` and `[]` prefixes taken off) as
/// its base and its arguments, split at the commas outside brackets; `None` for
/// another type.
pub(crate) fn generic_parts(t: &str) -> Option<(&str, Vec<&str>)> {
    let open = t.find('[').filter(|&o| o > 0)?;
    let inner = t.strip_suffix(']')?.get(open + 1..)?;
    let mut args = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                args.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(inner[start..].trim());
    (depth == 0).then_some((&t[..open], args))
}

fn package_name(path: &str) -> &str {
    let mut parts = path.rsplit('/');
    let last = parts.next().unwrap_or(path);
    let is_version =
        last.len() > 1 && last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit());
    if is_version {
        parts.next().unwrap_or(last)
    } else {
        last
    }
}

/// Aligns rows of cells the way gofmt's tabwriter does: every column but the last
/// padded to its widest cell plus one space.
fn align(rows: &[Vec<String>]) -> Vec<String> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i + 1 < r.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate() {
                line.push_str(c);
                if i + 1 < r.len() {
                    let pad = widths[i] - c.chars().count() + 1;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line
        })
        .collect()
}

/// The Go file of the queries in the SQL file `stem`: `queries.sql.go`, unless the Go
/// tool would read the name as a build constraint (`jobs_windows.sql.go` builds on
/// Windows only) or ignore the file (`_x.sql.go`).
fn go_file_name(stem: &str) -> String {
    const CONSTRAINTS: &[&str] = &[
        "aix",
        "android",
        "darwin",
        "dragonfly",
        "freebsd",
        "hurd",
        "illumos",
        "ios",
        "js",
        "linux",
        "nacl",
        "netbsd",
        "openbsd",
        "plan9",
        "solaris",
        "wasip1",
        "windows",
        "zos",
        "386",
        "amd64",
        "amd64p32",
        "arm",
        "armbe",
        "arm64",
        "arm64be",
        "loong64",
        "mips",
        "mipsle",
        "mips64",
        "mips64le",
        "mips64p32",
        "mips64p32le",
        "ppc",
        "ppc64",
        "ppc64le",
        "riscv",
        "riscv64",
        "s390",
        "s390x",
        "sparc",
        "sparc64",
        "wasm",
        "test",
    ];
    let (base, rest) = stem.split_once('.').map_or((stem, ""), |(b, r)| (b, r));
    let constrained = base
        .rsplit_once('_')
        .is_some_and(|(_, last)| CONSTRAINTS.contains(&last));
    let base = if base.starts_with(['_', '.']) || base.is_empty() {
        format!("q{base}")
    } else {
        base.to_owned()
    };
    let suffix = if constrained { "_sql" } else { "" };
    let dot = if rest.is_empty() { "" } else { "." };
    format!("{base}{suffix}{dot}{rest}.go")
}

/// The variable holding a retry policy: `standard` → `retryStandard`.
fn retry_var(name: &str) -> String {
    format!("retry{}", super::names::go_exported(name))
}

/// db.go's retry policy variables and the `Policies` table.
fn policy_lines(c: &crate::model::Contract) -> Vec<String> {
    let p = &c.policies;
    let mut lines = Vec::new();
    let mut vars = Vec::new();
    for (name, r) in &p.retry {
        let jitter = match r.jitter.as_str() {
            "equal" => "sqlpact.JitterEqual",
            "none" => "sqlpact.JitterNone",
            _ => "sqlpact.JitterFull",
        };
        vars.push(vec![
            retry_var(name),
            format!(
                "= &sqlpact.RetryPolicy{{Name: {}, Backoff: sqlpact.BackoffPolicy{{Base: {}, Cap: {}, MaxAttempts: {}, Multiplier: {:?}, Jitter: {jitter}}}}}",
                go_str(name),
                duration_expr(r.initial_backoff_ms),
                duration_expr(r.max_backoff_ms),
                r.max_attempts,
                r.multiplier,
            ),
        ]);
    }
    lines.push("// The contract's retry policies.".to_owned());
    lines.push("var (".to_owned());
    lines.extend(align(&vars).into_iter().map(|l| format!("\t{l}")));
    lines.push(")".to_owned());
    lines.push(String::new());
    lines.push(
        "// Policies is the contract's resolved policy table: what sqlpact.Open applies.".into(),
    );
    lines.push("var Policies = &sqlpact.Policies{".into());
    let retry: Vec<String> = p.retry.keys().map(|n| retry_var(n)).collect();
    let fields = vec![
        vec!["Contract:".to_owned(), format!("{},", go_str(&c.name))],
        vec!["Version:".to_owned(), format!("{},", go_str(&c.version))],
        vec![
            "Pool:".to_owned(),
            format!(
                "sqlpact.PoolPolicy{{MaxSize: {}, MinIdle: {}, AcquireTimeout: {}, IdleTimeout: {}, MaxLifetime: {}, LifetimeJitter: {}}},",
                p.pool.max_size,
                p.pool.min_idle,
                duration_expr(p.pool.acquire_timeout_ms),
                duration_expr(p.pool.idle_timeout_ms),
                duration_expr(p.pool.max_lifetime_ms),
                duration_expr(p.pool.lifetime_jitter_ms),
            ),
        ],
        vec![
            "Breaker:".to_owned(),
            format!(
                "sqlpact.BreakerPolicy{{FailureThreshold: {}, OpenFor: {}}},",
                p.breaker.failure_threshold,
                duration_expr(p.breaker.open_for_ms)
            ),
        ],
        vec![
            "Retry:".to_owned(),
            format!("[]*sqlpact.RetryPolicy{{{}}},", retry.join(", ")),
        ],
        vec!["Statements:".to_owned(), "Statements,".to_owned()],
    ];
    lines.extend(align(&fields).into_iter().map(|l| format!("\t{l}")));
    lines.push("}".into());
    lines
}

fn duration_expr(ms: u64) -> String {
    if ms == 0 {
        "0".into()
    } else if ms.is_multiple_of(60_000) {
        format!("{} * time.Minute", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{} * time.Second", ms / 1000)
    } else {
        format!("{ms} * time.Millisecond")
    }
}

/// A Go type that can hold NULL as it is: pointers, slices, maps and the pgtype structs.
fn holds_null(go_type: &str) -> bool {
    go_type.starts_with('*')
        || go_type.starts_with("[]")
        || go_type.starts_with("map[")
        || go_type.contains("/pgtype.")
        || go_type.ends_with("json.RawMessage")
        || go_type == "net.HardwareAddr"
}

struct Field {
    name: String,
    ty: String,
    /// The type with full import paths (`github.com/google/uuid.UUID`).
    full: String,
    json: String,
}

/// A field's `json` tag. encoding/json takes a tag name of letters, digits and some
/// punctuation only (it ignores any other); a column named otherwise keeps the field's
/// name in JSON, and the tag holds only what a struct tag can.
fn json_tag(name: &str) -> String {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&()*+-./:;<=>?@[]^_{|}~ ".contains(c));
    if valid {
        format!("`json:\"{name}\"`")
    } else {
        "`json:\"\"`".to_owned()
    }
}

fn struct_lines(fields: &[Field], json_tags: bool) -> Vec<String> {
    let rows: Vec<Vec<String>> = fields
        .iter()
        .map(|f| {
            let mut r = vec![f.name.clone(), f.ty.clone()];
            if json_tags {
                r.push(json_tag(&f.json));
            }
            r
        })
        .collect();
    align(&rows)
}

/// Generates every Go file of the package.
pub fn generate(
    c: &Contract,
    out: &GoOutput,
    reg: &super::Templates,
    wire: Option<(&crate::wire::Build, &std::path::Path)>,
) -> Result<Rendered, GenError> {
    let header = header_line("//", c);
    let mut files = BTreeMap::new();
    let row_type_of: BTreeMap<&str, &str> = c
        .row_types
        .iter()
        .flat_map(|r| r.queries.iter().map(move |q| (q.as_str(), r.name.as_str())))
        .collect();

    // models.go: enums, embedded table structs, shared row types.
    let mut imports = Imports::new();
    let enums: Vec<EnumCtx> = c
        .schema
        .enums
        .iter()
        .map(|e| {
            let (name, consts) = enum_consts(e);
            let rows: Vec<Vec<String>> = consts
                .iter()
                .zip(&e.values)
                .map(|(k, v)| vec![k.clone(), name.clone(), format!("= {}", go_str(v))])
                .collect();
            EnumCtx {
                case_list: consts.join(", "),
                consts: align(&rows),
                names: consts,
                name,
                pg_name: comment(&e.name),
            }
        })
        .collect();
    let mut structs = Vec::new();
    let mut embed_structs: BTreeMap<String, String> = BTreeMap::new();
    for q in &c.queries {
        for e in &q.embeds {
            if embed_structs.contains_key(&e.table) {
                continue;
            }
            let bare = e.table.rsplit('.').next().unwrap_or(&e.table);
            let name = go_exported(&singular(bare));
            let cols =
                &q.columns[e.first_column as usize..(e.first_column + e.column_count) as usize];
            let fields = fields_of(cols, &mut imports);
            structs.push(StructCtx {
                doc: format!("// {name} is a row of {}.", comment(&e.table)),
                fields: struct_lines(&fields, out.json_tags),
                name: name.clone(),
            });
            embed_structs.insert(e.table.clone(), name);
        }
    }
    let mut row_type_done = BTreeSet::new();
    for q in &c.queries {
        if let Some(rt) = &q.row_type {
            if row_type_done.insert(rt.clone()) {
                let users = c
                    .row_types
                    .iter()
                    .find(|r| &r.name == rt)
                    .map(|r| r.queries.join(", "))
                    .unwrap_or_default();
                let fields = row_fields(q, &embed_structs, &mut imports);
                structs.push(StructCtx {
                    name: go_declared(rt),
                    doc: format!("// {} is the row of {users}.", go_declared(rt)),
                    fields: struct_lines(&fields, out.json_tags),
                });
            }
        }
    }
    let enum_types: Vec<String> = c
        .schema
        .enums
        .iter()
        .flat_map(|e| {
            let array = match e.name.rsplit_once('.') {
                Some((schema, bare)) => format!("{schema}._{bare}"),
                None => format!("_{}", e.name),
            };
            [go_str(&e.name), go_str(&array)]
        })
        .collect();
    if !enum_types.is_empty() {
        imports.add("context");
        imports.add("github.com/jackc/pgx/v5");
    }
    if !enums.is_empty() || !structs.is_empty() {
        let ctx = FileCtx {
            header: header.clone(),
            package: out.package.clone(),
            source: None,
            imports: imports.groups(),
            enums,
            structs,
            queries: Vec::new(),
            statements: Vec::new(),
            policy_lines: Vec::new(),
            enum_types: enum_types.join(", "),
        };
        files.insert("models.go".to_owned(), reg.render("go", "models.go", &ctx)?);
    }

    // One file per query source file.
    let groups = file_group(&c.queries);
    let mut statements = Vec::new();
    let mut interface_imports = Imports::new();
    let mut interface_lines = Vec::new();
    for (file_name, queries) in &groups {
        let mut imports = Imports::new();
        imports.add("context");
        imports.add("time");
        let mut qctxs = Vec::new();
        for q in queries {
            if matches!(
                q.command.as_str(),
                "batchexec" | "batchone" | "batchmany" | "copyfrom"
            ) {
                imports.add("github.com/jackc/pgx/v5");
            }
            let (mut qc, st) = query_ctx(q, out, &embed_structs, &row_type_of, &mut imports);
            statements.push(qc.stmt.clone());
            if out.emit_interface {
                // The interface file imports what the signatures name.
                interface_imports.add("context");
                interface_imports.add("github.com/jackc/pgx/v5");
                signature_imports(q, &mut interface_imports);
                interface_lines.push(format!("{}({}) {}", qc.name, qc.signature_args, qc.results));
            }
            qc.structs = st;
            qctxs.push(qc);
        }
        let ctx = FileCtx {
            header: header.clone(),
            package: out.package.clone(),
            source: Some(comment(file_name)),
            imports: imports.groups(),
            enums: Vec::new(),
            structs: Vec::new(),
            queries: qctxs,
            statements: Vec::new(),
            policy_lines: Vec::new(),
            enum_types: String::new(),
        };
        let stem = file_name.rsplit('/').next().unwrap_or(file_name);
        files.insert(go_file_name(stem), reg.render("go", "queries.go", &ctx)?);
    }

    let mut imports = Imports::new();
    imports.add("context");
    imports.add("time");
    imports.add("github.com/jackc/pgx/v5");
    imports.add(RUNTIME_IMPORT);
    let ctx = FileCtx {
        header: header.clone(),
        package: out.package.clone(),
        source: None,
        imports: imports.groups(),
        enums: Vec::new(),
        structs: Vec::new(),
        queries: Vec::new(),
        statements: statements.iter().map(|s| format!("&{s},")).collect(),
        policy_lines: policy_lines(c),
        enum_types: String::new(),
    };
    files.insert("db.go".to_owned(), reg.render("go", "db.go", &ctx)?);

    if out.emit_interface {
        // A method that takes a params struct does not name its fields' types.
        let interface_imports = interface_imports.used_in(&interface_lines.join("\n"));
        #[derive(Serialize)]
        struct IfaceCtx {
            header: String,
            package: String,
            imports: Vec<ImportGroup>,
            methods: Vec<String>,
        }
        let ctx = IfaceCtx {
            header,
            package: out.package.clone(),
            imports: interface_imports.groups(),
            methods: interface_lines,
        };
        files.insert(
            "querier.go".to_owned(),
            reg.render("go", "querier.go", &ctx)?,
        );
    }
    if let Some((b, root)) = wire {
        let import = super::go_wire::import_path(out.import_path.as_deref(), &out.out, root)?;
        let wire_import = format!("{import}/{}", super::go_wire::SUBPACKAGE);
        let (name, text) = super::go_wire::messages(&header_line("//", c), b, &wire_import)?;
        files.insert(name, text);
        files.insert(
            "wire_rows.go".to_owned(),
            wire_rows(c, out, &embed_structs, b, &wire_import),
        );
    }
    Ok(files)
}

/// The conversions between row structs and wire messages (`wire_rows.go`).
fn wire_rows(
    c: &Contract,
    out: &GoOutput,
    embed_structs: &BTreeMap<String, String>,
    b: &crate::wire::Build,
    wire_import: &str,
) -> String {
    use super::go_wire::{GoEnum, GoRow};
    use super::names::rust_pascal;
    let message = |name: &str| b.model.messages.iter().find(|m| m.name == name);
    let full = |fields: Vec<Field>| -> Vec<(String, String)> {
        fields.into_iter().map(|f| (f.name, f.full)).collect()
    };
    let mut imports = Imports::new();
    let mut rows: Vec<GoRow<'_>> = Vec::new();
    let mut seen = BTreeSet::new();
    for q in &c.queries {
        for e in &q.embeds {
            let Some(name) = embed_structs.get(&e.table) else {
                continue;
            };
            let bare = e.table.rsplit('.').next().unwrap_or(&e.table);
            let wire_name = rust_pascal(&singular(bare));
            if let (true, Some(m)) = (seen.insert(name.clone()), message(&wire_name)) {
                let cols =
                    &q.columns[e.first_column as usize..(e.first_column + e.column_count) as usize];
                rows.push(GoRow {
                    name: name.clone(),
                    fields: full(fields_of(cols, &mut imports)),
                    message: m,
                });
            }
        }
        let returns_rows = matches!(
            q.command.as_str(),
            "one" | "many" | "batchone" | "batchmany"
        );
        if !returns_rows || q.columns.is_empty() || q.columns.len() == 1 && q.embeds.is_empty() {
            continue;
        }
        let (name, wire_name) = match &q.row_type {
            Some(rt) => (go_declared(rt), rust_pascal(rt)),
            None => (
                format!("{}Row", go_declared(&q.name)),
                format!("{}Row", rust_pascal(&q.name)),
            ),
        };
        if let (true, Some(m)) = (seen.insert(name.clone()), message(&wire_name)) {
            rows.push(GoRow {
                name,
                fields: full(row_fields(q, embed_structs, &mut imports)),
                message: m,
            });
        }
    }
    let enums: Vec<GoEnum<'_>> = c
        .schema
        .enums
        .iter()
        .filter_map(|e| {
            let (name, consts) = enum_consts(e);
            let wire = b.model.enums.iter().find(|w| w.sql_name == e.name)?;
            Some(GoEnum {
                name,
                consts: e.values.iter().cloned().zip(consts).collect(),
                wire,
            })
        })
        .collect();
    super::go_wire::conversions(
        &header_line("//", c),
        &out.package,
        wire_import,
        &rows,
        &enums,
        b,
    )
}

/// A SQL enum's Go type name and its constants, in value order.
fn enum_consts(e: &crate::model::Enum) -> (String, Vec<String>) {
    let name = go_exported(e.name.strip_prefix("public.").unwrap_or(&e.name));
    let mut consts: Vec<String> = e
        .values
        .iter()
        .map(|v| format!("{name}{}", go_exported(v)))
        .collect();
    dedupe(&mut consts, "");
    (name, consts)
}

/// Records the imports of the types a method signature names: its parameters, a
/// scalar result, and pgconn for `:execresult`.
fn signature_imports(q: &Query, imports: &mut Imports) {
    for p in &q.params {
        imports.ty(&p.go_type);
    }
    if q.columns.len() == 1 && q.embeds.is_empty() {
        imports.ty(&q.columns[0].go_type);
    }
    if q.command == "execresult" {
        imports.add("github.com/jackc/pgx/v5/pgconn");
    }
}

fn fields_of(cols: &[Column], imports: &mut Imports) -> Vec<Field> {
    let mut names: Vec<String> = cols.iter().map(|c| go_exported(&c.name)).collect();
    dedupe(&mut names, "");
    cols.iter()
        .zip(names)
        .map(|(c, name)| Field {
            name,
            ty: imports.ty(&c.go_type),
            full: c.go_type.to_string(),
            json: c.name.clone(),
        })
        .collect()
}

/// The fields of a query's row struct: plain columns, and one field per embed.
fn row_fields(q: &Query, embeds: &BTreeMap<String, String>, imports: &mut Imports) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut i = 0;
    while i < q.columns.len() {
        if let Some(e) = q.embeds.iter().find(|e| e.first_column as usize == i) {
            let sname = embeds.get(&e.table).cloned().unwrap_or_default();
            let ty = if e.nullable {
                format!("*{sname}")
            } else {
                sname.clone()
            };
            fields.push(Field {
                name: sname,
                full: ty.clone(),
                ty,
                json: super::names::rust_snake(&singular(&e.name))
                    .trim_start_matches("r#")
                    .to_owned(),
            });
            i += e.column_count as usize;
        } else {
            let c = &q.columns[i];
            fields.push(Field {
                name: go_exported(&c.name),
                ty: imports.ty(&c.go_type),
                full: c.go_type.to_string(),
                json: c.name.clone(),
            });
            i += 1;
        }
    }
    let mut names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    dedupe(&mut names, "");
    for (f, n) in fields.iter_mut().zip(names) {
        f.name = n;
    }
    fields
}

fn query_ctx(
    q: &Query,
    out: &GoOutput,
    embeds: &BTreeMap<String, String>,
    row_type_of: &BTreeMap<&str, &str>,
    imports: &mut Imports,
) -> (QueryCtx, Vec<StructCtx>) {
    let mut structs = Vec::new();
    let name = go_declared(&q.name);
    let const_name = go_unexported(&q.name);
    let stmt = format!("stmt{name}");
    let p = &q.policy;
    imports.add(RUNTIME_IMPORT);
    let mut extra = String::new();
    if let Some(key) = &p.idempotency_key {
        if let Some(param) = q.params.iter().position(|x| &x.name == key) {
            let cols: Vec<String> = q
                .columns
                .iter()
                .map(|c| format!("{{Name: {}, PgType: {}}}", go_str(&c.name), go_str(&c.ty)))
                .collect();
            extra.push_str(&format!(
                ", Idempotency: &sqlpact.IdempotencyKey{{Param: {param}, ParamType: {}, Columns: []sqlpact.ResultColumn{{{}}}}}",
                go_str(&q.params[param].ty),
                cols.join(", ")
            ));
        }
    }
    if p.expect_one_row {
        extra.push_str(", ExpectOneRow: true");
    }
    let stmt_literal = format!(
        "Statement{{Name: {}, Command: {}, SQL: {const_name}, ReadOnly: {}, Idempotent: {}, Route: {}, Timeout: {}, Retry: {}{extra}}}",
        go_str(&q.name),
        go_str(&q.command),
        q.read_only,
        p.idempotent,
        if p.route == "replica" {
            "sqlpact.RouteReplica"
        } else {
            "sqlpact.RoutePrimary"
        },
        duration_expr(p.timeout_ms),
        retry_var(&p.retry),
    );
    let mut doc = vec![format!(
        "// {name} runs the query `{}` ({}:{}):",
        q.name,
        comment(&q.source.file),
        q.source.line
    )];
    for d in &q.doc {
        doc.push(format!("// {}", comment(d)).trim_end().to_owned());
    }
    doc.push("//".into());
    for l in q.sql.lines() {
        let l = comment(l);
        let l = l.trim_end();
        doc.push(if l.is_empty() {
            "//".into()
        } else {
            format!("//\t{l}")
        });
    }

    // Parameters, in position order.
    let mut params: Vec<&crate::model::Param> = q.params.iter().collect();
    params.sort_by_key(|p| p.position);
    let batch = matches!(
        q.command.as_str(),
        "batchexec" | "batchone" | "batchmany" | "copyfrom"
    );
    let use_struct = params.len() > MAX_POSITIONAL || (batch && params.len() > 1);
    let mut field_names: Vec<String> = params.iter().map(|p| go_exported(&p.name)).collect();
    dedupe(&mut field_names, "");
    let mut local_names: Vec<String> = params.iter().map(|p| go_local(&p.name)).collect();
    dedupe(&mut local_names, "");
    let param_types: Vec<String> = params.iter().map(|p| imports.ty(&p.go_type)).collect();
    let params_struct = format!("{name}Params");
    if use_struct {
        let fields: Vec<Field> = params
            .iter()
            .zip(&field_names)
            .zip(&param_types)
            .map(|((p, n), t)| Field {
                name: n.clone(),
                ty: t.clone(),
                full: p.go_type.to_string(),
                json: p.name.clone(),
            })
            .collect();
        structs.push(StructCtx {
            doc: format!("// {params_struct} holds the parameters of {name}."),
            fields: struct_lines(&fields, out.json_tags),
            name: params_struct.clone(),
        });
    }
    // Batch and copy methods loop over `args` with `arg` as the element.
    let item_var = "arg";
    let pass_exprs: Vec<String> = if use_struct {
        field_names
            .iter()
            .map(|f| format!("{item_var}.{f}"))
            .collect()
    } else if batch {
        params.iter().map(|_| item_var.to_owned()).collect()
    } else {
        local_names.clone()
    };
    let pass_exprs: Vec<String> = pass_exprs
        .into_iter()
        .zip(&params)
        .map(|(e, p)| pass_as_bytes(e, &p.ty, &p.go_type))
        .collect();
    let item_type = if use_struct {
        params_struct.clone()
    } else {
        param_types.first().cloned().unwrap_or_default()
    };
    let mut sig = vec!["ctx context.Context".to_owned()];
    if batch {
        if !params.is_empty() {
            sig.push(format!("args []{item_type}"));
        }
    } else if use_struct {
        sig.push(format!("arg {params_struct}"));
    } else {
        for (n, t) in local_names.iter().zip(&param_types) {
            sig.push(format!("{n} {t}"));
        }
    }

    // Result.
    let single = q.columns.len() == 1 && q.embeds.is_empty();
    let returns_rows = matches!(
        q.command.as_str(),
        "one" | "many" | "batchone" | "batchmany"
    );
    let mut result_type = String::new();
    let mut scan = String::new();
    let mut temps = Vec::new();
    let mut after_scan = Vec::new();
    if returns_rows && !q.columns.is_empty() {
        if single {
            result_type = imports.ty(&q.columns[0].go_type);
            scan = "&i".into();
        } else {
            let fields = row_fields(q, embeds, imports);
            result_type = match row_type_of.get(q.name.as_str()) {
                Some(rt) => go_declared(rt),
                None => {
                    let n = format!("{name}Row");
                    structs.push(StructCtx {
                        doc: format!("// {n} is a row of {name}."),
                        fields: struct_lines(&fields, out.json_tags),
                        name: n.clone(),
                    });
                    n
                }
            };
            let (s, t, a) = scan_targets(q, &fields, embeds, imports);
            scan = s;
            temps = t;
            after_scan = a;
        }
    }
    let results = match q.command.as_str() {
        "one" => format!("({result_type}, error)"),
        "many" => format!("([]{result_type}, error)"),
        "batchone" => format!("([]{result_type}, error)"),
        "batchmany" => format!("([][]{result_type}, error)"),
        "execrows" | "copyfrom" => "(int64, error)".into(),
        "execresult" => {
            imports.add("github.com/jackc/pgx/v5/pgconn");
            "(pgconn.CommandTag, error)".into()
        }
        _ => "error".into(),
    };
    let (copy_table, copy_columns) = if q.command == "copyfrom" {
        let table = q.tables.first().cloned().unwrap_or_default();
        let t = format!(
            "pgx.Identifier{{{}}}",
            table.split('.').map(go_str).collect::<Vec<_>>().join(", ")
        );
        let cols = params
            .iter()
            .map(|p| {
                go_str(
                    p.column
                        .as_deref()
                        .and_then(|c| c.rsplit('.').next())
                        .unwrap_or(&p.name),
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        (t, format!("[]string{{{cols}}}"))
    } else {
        (String::new(), String::new())
    };
    let qc = QueryCtx {
        name: name.clone(),
        const_name,
        stmt,
        sql_literal: go_sql(&q.sql),
        stmt_literal,
        expect_one_row: q.policy.expect_one_row,
        doc,
        signature_args: sig.join(", "),
        results,
        pass: pass_exprs.iter().map(|e| format!(", {e}")).collect(),
        result_type,
        scan,
        temps,
        after_scan,
        one: q.command == "one",
        many: q.command == "many",
        exec: q.command == "exec",
        execrows: q.command == "execrows",
        execresult: q.command == "execresult",
        copyfrom: q.command == "copyfrom",
        batchexec: q.command == "batchexec",
        batchone: q.command == "batchone",
        batchmany: q.command == "batchmany",
        item_type,
        copy_table,
        copy_columns,
        pass_slice: format!("[]any{{{}}}", pass_exprs.join(", ")),
        structs: Vec::new(),
    };
    (qc, structs)
}

/// How a parameter of PostgreSQL type `pg_type` and Go type `go_type` (the Go
/// expression `expr`) is handed to pgx. A `uuid.UUID` for a
/// `uuid` parameter goes as its bytes: pgx encodes a `[16]byte` directly, while
/// `uuid.UUID` itself reaches it only through `driver.Valuer`, which formats the UUID
/// as text for pgx to parse again (about 5% of a point read's CPU). A pointer converts
/// the same way and stays nil for NULL. Any other parameter, a `uuid.UUID` overriding
/// another type's mapping included, goes as it is.
fn pass_as_bytes(expr: String, pg_type: &str, go_type: &str) -> String {
    if pg_type != "uuid" {
        return expr;
    }
    match go_type {
        "github.com/google/uuid.UUID" => format!("[16]byte({expr})"),
        "*github.com/google/uuid.UUID" => format!("(*[16]byte)({expr})"),
        _ => expr,
    }
}

/// Scan destinations for a row struct `i`, with temporaries for nullable embeds.
fn scan_targets(
    q: &Query,
    fields: &[Field],
    embeds: &BTreeMap<String, String>,
    imports: &mut Imports,
) -> (String, Vec<String>, Vec<String>) {
    let mut targets = Vec::new();
    let mut temps = Vec::new();
    let mut after = Vec::new();
    let mut i = 0;
    let mut fi = 0;
    while i < q.columns.len() {
        let field = &fields[fi].name;
        if let Some(e) = q.embeds.iter().find(|e| e.first_column as usize == i) {
            let cols = &q.columns[i..i + e.column_count as usize];
            let mut sub_names: Vec<String> = cols.iter().map(|c| go_exported(&c.name)).collect();
            dedupe(&mut sub_names, "");
            if e.nullable {
                let sname = embeds.get(&e.table).cloned().unwrap_or_default();
                let mut present = Vec::new();
                let mut inits = Vec::new();
                for (k, (c, sub)) in cols.iter().zip(&sub_names).enumerate() {
                    let tmp = format!("{}{}", go_local(&e.name).trim_end_matches('_'), k);
                    let ty = imports.ty(&c.go_type);
                    if holds_null(&c.go_type) {
                        temps.push(format!("var {tmp} {ty}"));
                        inits.push(format!("{sub}: {tmp}"));
                        if c.go_type.starts_with('*') {
                            present.push(format!("{tmp} != nil"));
                        }
                    } else {
                        temps.push(format!("var {tmp} *{ty}"));
                        inits.push(format!("{sub}: *{tmp}"));
                    }
                    targets.push(format!("&{tmp}"));
                }
                // The embedded row is present when its table's NOT NULL columns came back
                // (all of them, so nothing nil is dereferenced); for a table without
                // NOT NULL columns, when any column did.
                let guards: Vec<String> = cols
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !holds_null(&c.go_type))
                    .map(|(k, _)| format!("{}{k} != nil", go_local(&e.name).trim_end_matches('_')))
                    .collect();
                let cond = if !guards.is_empty() {
                    guards.join(" && ")
                } else if !present.is_empty() {
                    present.join(" || ")
                } else {
                    "true".to_owned()
                };
                after.push(format!("if {cond} {{"));
                after.push(format!("\ti.{field} = &{sname}{{{}}}", inits.join(", ")));
                after.push("}".into());
            } else {
                for sub in &sub_names {
                    targets.push(format!("&i.{field}.{sub}"));
                }
            }
            i += e.column_count as usize;
        } else {
            targets.push(format!("&i.{field}"));
            i += 1;
        }
        fi += 1;
    }
    (targets.join(", "), temps, after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_imports_the_code_names_are_kept() {
        let mut all = Imports::new();
        for p in [
            "time",
            "net/netip",
            "github.com/jackc/pgx/v5",
            "encoding/json",
        ] {
            all.add(p);
        }
        let kept =
            all.used_in("F(ctx context.Context, at time.Time, b *pgx.Batch) (runtime.X, myjson.Y)");
        let kept: Vec<&str> = kept.0.iter().map(String::as_str).collect();
        assert_eq!(kept, ["github.com/jackc/pgx/v5", "time"]);
    }

    #[test]
    fn generic_types_name_their_arguments_by_package() {
        let mut imports = Imports::new();
        let pgtype = "github.com/jackc/pgx/v5/pgtype";
        assert_eq!(
            imports.ty(&format!("[]{pgtype}.Range[{pgtype}.Timestamptz]")),
            "[]pgtype.Range[pgtype.Timestamptz]"
        );
        assert_eq!(
            imports.ty("*example.com/m/kv.Map[string, []example.com/m/v2.Item]"),
            "*kv.Map[string, []m.Item]"
        );
        assert_eq!(imports.ty("[]byte"), "[]byte");
        let got: Vec<&str> = imports.0.iter().map(String::as_str).collect();
        assert_eq!(got, ["example.com/m/kv", "example.com/m/v2", pgtype]);
    }

    #[test]
    fn go_file_names_are_no_build_constraints() {
        assert_eq!(go_file_name("queries.sql"), "queries.sql.go");
        assert_eq!(go_file_name("jobs_windows.sql"), "jobs_windows_sql.sql.go");
        assert_eq!(go_file_name("x_amd64.sql"), "x_amd64_sql.sql.go");
        assert_eq!(go_file_name("a_test.sql"), "a_test_sql.sql.go");
        assert_eq!(go_file_name("_hidden.sql"), "q_hidden.sql.go");
        assert_eq!(go_file_name(".dot.sql"), "q.dot.sql.go");
    }

    #[test]
    fn uuid_parameters_go_to_pgx_as_bytes_and_nothing_else_does() {
        let pass = |pg: &str, go: &str| pass_as_bytes("arg.ID".into(), pg, go);
        assert_eq!(
            pass("uuid", "github.com/google/uuid.UUID"),
            "[16]byte(arg.ID)"
        );
        assert_eq!(
            pass("uuid", "*github.com/google/uuid.UUID"),
            "(*[16]byte)(arg.ID)"
        );
        // A uuid held in pgtype, or a uuid.UUID overriding a text parameter's type,
        // goes as it is: only a uuid parameter's bytes are encoded as a uuid.
        assert_eq!(
            pass("uuid", "github.com/jackc/pgx/v5/pgtype.UUID"),
            "arg.ID"
        );
        assert_eq!(pass("text", "github.com/google/uuid.UUID"), "arg.ID");
        assert_eq!(pass("uuid[]", "[]github.com/google/uuid.UUID"), "arg.ID");
    }

    #[test]
    fn json_tags_hold_only_what_encoding_json_reads() {
        assert_eq!(json_tag("account_id"), "`json:\"account_id\"`");
        assert_eq!(json_tag("a b"), "`json:\"a b\"`");
        assert_eq!(json_tag("a\"`\nfunc"), "`json:\"\"`");
        assert_eq!(json_tag("a,omitempty"), "`json:\"\"`");
    }
}
