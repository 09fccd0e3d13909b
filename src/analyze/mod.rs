//! The analyzer: registry + catalog -> the resolved contract ([`crate::model::Contract`]).
//!
//! Queries are analyzed independently; a query with errors is reported and left out
//! of the model, and the others still resolve.

pub mod functions;
pub mod infer;
pub mod memo;
pub mod prep;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::catalog::{self, CatColumn, Catalog};
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::model::{self, intern, Reason, ReasonSource as R};
use crate::registry::{span_of, Located, RawQuery, Registry};
use crate::source::{SourceMap, Span};
use crate::sqltext;
use crate::types::{canonical_builtin, enum_type, split_spelling, LangTypes, Mapper, PgType};
use infer::{Cx, OutCol};

/// The analysis of a registry: the catalog it built and the resolved contract.
pub struct Analysis {
    pub catalog: Catalog,
    pub contract: model::Contract,
    /// The schema sources, in the order they were applied.
    pub schema: Vec<crate::registry::SchemaSource>,
    /// The wire format, when the contract declares one and everything else is valid.
    pub wire: Option<crate::wire::Build>,
    /// The schema objects' hashes (before column overrides), when analyzed with a memo.
    pub fingerprints: Option<memo::Fingerprints>,
    /// [`memo::config_key`] of the registry.
    pub config_key: u64,
}

fn view_columns(
    cat: &Catalog,
    q: &sqlparser::ast::Query,
    file: crate::source::FileId,
    base: usize,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<Vec<CatColumn>> {
    let mut cx = Cx::new(cat, text, None, file, base);
    let cols = cx.query(q, None);
    let failed = !cx.diags.is_empty();
    diags.items.extend(cx.diags);
    if failed {
        return None;
    }
    Some(
        cols.into_iter()
            .map(|c| CatColumn {
                name: c.name,
                ty: c.t.ty,
                not_null: !c.t.nullable,
                has_default: false,
                generated: None,
                identity: false,
                primary_key: false,
                null_elements: c.t.elem_null.is_some(),
            })
            .collect(),
    )
}

/// Analyzes a loaded registry, its wire format built in full.
fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A Go type an override may name: `*` and `[]` prefixes, then `T` or
/// `import/path.T`. Generated code copies it, so nothing else may pass.
fn go_type_spelling(t: &str) -> bool {
    let mut rest = t;
    while let Some(r) = rest.strip_prefix('*').or_else(|| rest.strip_prefix("[]")) {
        rest = r;
    }
    // A generic type's base and arguments (`pgtype.Range[pgtype.Int4]`).
    if let Some((base, args)) = crate::generate::go::generic_parts(rest) {
        return !base.contains(['*', '[', ']'])
            && go_type_spelling(base)
            && args.iter().all(|a| go_type_spelling(a));
    }
    match rest.rsplit_once('.') {
        Some((path, name)) => is_ident(name) && crate::registry::validate::is_go_import_path(path),
        None => is_ident(rest),
    }
}

/// A Rust type an override may name: paths with generic arguments, references,
/// tuples and arrays; no braces, quotes or anything else that could end a declaration.
fn rust_type_spelling(t: &str) -> bool {
    let mut depth: Vec<char> = Vec::new();
    for c in t.chars() {
        match c {
            '<' | '(' | '[' => depth.push(c),
            '>' | ')' | ']' => {
                let open = match c {
                    '>' => '<',
                    ')' => '(',
                    _ => '[',
                };
                if depth.pop() != Some(open) {
                    return false;
                }
            }
            c if c.is_ascii_alphanumeric()
                || matches!(c, '_' | ':' | ',' | ' ' | '&' | '\'' | ';') => {}
            _ => return false,
        }
    }
    depth.is_empty() && t.chars().any(|c| c.is_ascii_alphabetic())
}

/// A protobuf type an override may name: a dotted name, optionally fully qualified.
fn proto_type_spelling(t: &str) -> bool {
    let t = t.strip_prefix('.').unwrap_or(t);
    !t.is_empty() && t.split('.').all(is_ident)
}

pub fn analyze(reg: &Registry, sources: &SourceMap, diags: &mut Diagnostics) -> Analysis {
    analyze_with(reg, sources, diags, &Options::default())
}

/// How [`analyze_with`] works.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Query analyses and catalogs to reuse and keep (comparing many versions).
    pub memo: Option<&'a memo::Memo>,
    /// How much of the wire format to build; `None` leaves it to the caller
    /// ([`crate::wire::build`]), e.g. to build many versions' in parallel.
    pub wire: Option<crate::wire::Detail>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            memo: None,
            wire: Some(crate::wire::Detail::Full),
        }
    }
}

/// Analyzes a loaded registry as `opts` say.
pub fn analyze_with(
    reg: &Registry,
    sources: &SourceMap,
    diags: &mut Diagnostics,
    opts: &Options,
) -> Analysis {
    let memo = opts.memo;
    let mut catalog = sqltext::on_walk_stack(|| match memo {
        Some(m) => catalog::build_cached(&reg.schema, sources, &view_columns, diags, &m.catalogs),
        None => catalog::build(&reg.schema, sources, &view_columns, diags),
    });
    let fingerprints = memo.map(|_| memo::Fingerprints::of(&catalog));
    let config_key = memo::config_key(&reg.config);
    let cfg = &reg.config;
    let f = reg.file;

    // Table column nullability overrides change the catalog itself.
    let mut query_null: HashMap<(String, String), (bool, Span)> = HashMap::new();
    let mut param_null: HashMap<(String, String), (bool, Span)> = HashMap::new();
    for n in &cfg.nullability {
        let set = [
            n.column.is_some(),
            n.query_column.is_some(),
            n.param.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    "a nullability override needs exactly one of `column`, `query_column`, `param`",
                )
                .at_opt(
                    n.column
                        .as_ref()
                        .or(n.query_column.as_ref())
                        .or(n.param.as_ref())
                        .and_then(|l| span_of(f, sources, l)),
                )
                .help("write one override per target"),
            );
            continue;
        }
        if let Some(c) = &n.column {
            if let Some((table, col)) = resolve_table_column(&catalog, c, f, sources, diags) {
                if let Some(rel) = catalog.relations.get_mut(&table) {
                    if let Some(cc) = rel.columns.iter_mut().find(|x| x.name == col) {
                        cc.not_null = !n.nullable;
                    }
                }
            }
        }
        for (l, map) in [
            (&n.query_column, &mut query_null),
            (&n.param, &mut param_null),
        ] {
            if let Some(l) = l {
                if let Some((q, c)) = l.value.split_once('.') {
                    map.insert(
                        (q.to_owned(), c.to_owned()),
                        (
                            n.nullable,
                            span_of(f, sources, l).unwrap_or(Span::point(f, 0)),
                        ),
                    );
                } else {
                    diags.push(
                        Diagnostic::error(Code::InvalidValue, format!("`{}` is not `QueryName.name`", l.value))
                            .at_opt(span_of(f, sources, l))
                            .help("write the query's name and the column or parameter name: `GetAccount.balance`"),
                    );
                }
            }
        }
    }

    let mut mapper = Mapper {
        go_pgtype: cfg
            .outputs
            .as_ref()
            .and_then(|o| o.go.as_ref())
            .and_then(|g| g.nullable.as_ref())
            .is_some_and(|n| n.value == "pgtype"),
        enums: catalog
            .enums
            .keys()
            .map(|k| (k.clone(), enum_type(k)))
            .collect(),
        domains: catalog
            .domains
            .iter()
            .map(|(k, d)| (k.clone(), d.base.clone()))
            .collect(),
        by_db_type: HashMap::new(),
    };
    let mut by_column: HashMap<String, LangTypes> = HashMap::new();
    let mut by_query_column: HashMap<(String, String), (LangTypes, Span)> = HashMap::new();
    for t in &cfg.types {
        let langs = LangTypes {
            go: t.go.as_ref().map(|l| l.value.clone()),
            go_nullable: t.go_nullable.as_ref().map(|l| l.value.clone()),
            rust: t.rust.as_ref().map(|l| l.value.clone()),
            proto: t.proto.as_ref().map(|l| l.value.clone()),
        };
        let targets = [
            t.db_type.is_some(),
            t.column.is_some(),
            t.query_column.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        let any = t
            .db_type
            .as_ref()
            .or(t.column.as_ref())
            .or(t.query_column.as_ref());
        if targets != 1 {
            diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    "a type override needs exactly one of `db_type`, `column`, `query_column`",
                )
                .at_opt(
                    any.and_then(|l| span_of(f, sources, l))
                        .or_else(|| t.go.as_ref().and_then(|l| span_of(f, sources, l))),
                )
                .help("split it into one override per target"),
            );
            continue;
        }
        if langs.go.is_none() && langs.rust.is_none() && langs.proto.is_none() {
            diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    "a type override names no Go, Rust or proto type",
                )
                .at_opt(any.and_then(|l| span_of(f, sources, l)))
                .help("add `go:`, `rust:` or `proto:`"),
            );
            continue;
        }
        let spelled = [
            ("Go", &t.go, go_type_spelling as fn(&str) -> bool),
            ("Go", &t.go_nullable, go_type_spelling),
            ("Rust", &t.rust, rust_type_spelling),
            ("proto", &t.proto, proto_type_spelling),
        ];
        let mut misspelled = false;
        for (lang, v, ok) in spelled {
            if let Some(v) = v.as_ref().filter(|v| !ok(&v.value)) {
                misspelled = true;
                diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`{}` is not a {lang} type", v.value.escape_debug()),
                    )
                    .at_opt(span_of(f, sources, v))
                    .help(match lang {
                        "Go" => "write a Go type such as `int64`, `*string`, `[]byte` or `github.com/shopspring/decimal.Decimal`",
                        "Rust" => "write a Rust type path such as `i64`, `rust_decimal::Decimal` or `Vec<u8>`",
                        _ => "write a protobuf type such as `string` or `google.protobuf.Timestamp`",
                    }),
                );
            }
        }
        if misspelled {
            continue;
        }
        if let Some(d) = &t.db_type {
            let (base, dims) = split_spelling(&d.value);
            let name = canonical_builtin(&base).map(str::to_owned).or_else(|| {
                let q = if base.contains('.') {
                    base.clone()
                } else {
                    format!("public.{base}")
                };
                (catalog.enums.contains_key(&q) || catalog.domains.contains_key(&q)).then_some(q)
            });
            match (name, dims) {
                (Some(n), 0) => {
                    mapper.by_db_type.insert(n, langs);
                }
                _ => diags.push(
                    Diagnostic::error(Code::UnknownOverrideTarget, format!("`{}` is not a type of this schema", d.value))
                        .at_opt(span_of(f, sources, d))
                        .help(did_you_mean(&format!("public.{base}"), catalog.user_type_names()).map_or_else(
                            || "name a built-in type as pg_type spells it (`numeric`, `timestamptz`) or an enum or domain of the schema; arrays follow their element type".to_owned(),
                            |s| format!("did you mean `{s}`?"),
                        )),
                ),
            }
        } else if let Some(c) = &t.column {
            if let Some((table, col)) = resolve_table_column(&catalog, c, f, sources, diags) {
                by_column.insert(format!("{table}.{col}"), langs);
            }
        } else if let Some(qc) = &t.query_column {
            match qc.value.split_once('.') {
                Some((q, c)) => {
                    by_query_column.insert(
                        (q.to_owned(), c.to_owned()),
                        (langs, span_of(f, sources, qc).unwrap_or(Span::point(f, 0))),
                    );
                }
                None => diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`{}` is not `QueryName.column`", qc.value),
                    )
                    .at_opt(span_of(f, sources, qc))
                    .help("write the query's name and the column: `GetAccount.balance`"),
                ),
            }
        }
    }

    let rel_cache = infer::rel_cache(&catalog);
    let ctx = QueryCtx {
        catalog: &catalog,
        rel_cache: &rel_cache,
        mapper: &mapper,
        by_column: &by_column,
        by_query_column: &by_query_column,
        query_null: &query_null,
        param_null: &param_null,
        reg,
        sources,
        memo: memo
            .zip(fingerprints.as_ref())
            .map(|(m, f)| (m, f, config_key)),
    };
    let (mut queries, used_overrides) = ctx.all_queries(&reg.queries, diags);
    let analyzed: HashSet<&str> = queries.iter().map(|q| q.name.as_str()).collect();
    for (key, span) in by_query_column
        .iter()
        .map(|(k, v)| (k, &v.1))
        .chain(query_null.iter().map(|(k, v)| (k, &v.1)))
        .chain(param_null.iter().map(|(k, v)| (k, &v.1)))
    {
        if analyzed.contains(key.0.as_str()) && !used_overrides.contains(key) {
            diags.push(
                Diagnostic::error(
                    Code::UnknownOverrideTarget,
                    format!("query `{}` has no column or parameter `{}`", key.0, key.1),
                )
                .at(span.clone())
                .help("name a result column or parameter as `sqlpact explain` lists them"),
            );
        }
    }

    let row_types = check_row_types(reg, sources, &mut queries, diags);
    apply_lifecycle(
        reg,
        sources,
        &mut queries,
        &analyzed_names(&reg.queries),
        diags,
    );
    let schema = schema_model(&catalog, sources);
    let renamed_from = check_renames(reg, sources, &queries, &schema, diags);
    let wire_queries = cfg
        .wire
        .as_ref()
        .and_then(|w| wire_queries(w, &queries, reg.file, sources, diags));
    let contract = model::Contract {
        model_version: model::MODEL_VERSION,
        name: cfg.contract.name.value.clone(),
        version: cfg.contract.version.value.clone(),
        description: cfg.contract.description.clone(),
        engine: cfg.engine.value.clone(),
        schema,
        queries,
        row_types,
        policies: reg.policies.table.clone(),
        wire: cfg.wire.as_ref().map(|w| model::Wire {
            version: w.version.value,
            min_compatible: w
                .min_compatible
                .as_ref()
                .map_or(w.version.value, |m| m.value),
            package: format!(
                "{}.v{}",
                w.package.as_ref().map_or_else(
                    || format!("{}.wire", cfg.contract.name.value.replace('-', "_")),
                    |p| p.value.clone()
                ),
                w.version.value
            ),
            out: w.out.as_ref().map(|o| o.value.clone()),
            uuid: w.uuid.as_ref().map_or("string".into(), |u| u.value.clone()),
            queries: wire_queries.clone(),
        }),
        renamed_from,
        outputs: outputs_model(reg),
        compat: compat_settings(reg, sources, diags),
    };
    let wire = match opts.wire {
        Some(detail) if !diags.has_errors() => crate::wire::build(
            &contract,
            reg.wire_lock,
            &reg.wire_protos,
            sources,
            diags,
            detail,
        ),
        _ => None,
    };
    Analysis {
        catalog,
        contract,
        schema: reg.schema.clone(),
        wire,
        fingerprints,
        config_key,
    }
}

fn resolve_table_column(
    cat: &Catalog,
    l: &Located<String>,
    f: crate::source::FileId,
    sources: &SourceMap,
    diags: &mut Diagnostics,
) -> Option<(String, String)> {
    let parts: Vec<&str> = l.value.split('.').collect();
    let (table, col) = match parts.as_slice() {
        [t, c] => (format!("public.{t}"), (*c).to_owned()),
        [s, t, c] => (format!("{s}.{t}"), (*c).to_owned()),
        _ => {
            diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("`{}` is not `table.column`", l.value),
                )
                .at_opt(span_of(f, sources, l))
                .help("write `table.column` or `schema.table.column`"),
            );
            return None;
        }
    };
    let Some(rel) = cat.relation(&table) else {
        diags.push(
            Diagnostic::error(
                Code::UnknownOverrideTarget,
                format!("table `{table}` does not exist"),
            )
            .at_opt(span_of(f, sources, l))
            .help(
                did_you_mean(&table, cat.relations.keys().map(String::as_str)).map_or_else(
                    || "check the table name against the schema".to_owned(),
                    |s| format!("did you mean `{s}`?"),
                ),
            ),
        );
        return None;
    };
    if rel.column(&col).is_none() {
        diags.push(
            Diagnostic::error(
                Code::UnknownOverrideTarget,
                format!("table `{table}` has no column `{col}`"),
            )
            .at_opt(span_of(f, sources, l))
            .help(
                did_you_mean(&col, rel.columns.iter().map(|c| c.name.as_str())).map_or_else(
                    || "check the column name against the schema".to_owned(),
                    |s| format!("did you mean `{s}`?"),
                ),
            ),
        );
        return None;
    }
    Some((table, col))
}

struct QueryCtx<'a> {
    catalog: &'a Catalog,
    rel_cache: &'a infer::RelCache,
    mapper: &'a Mapper,
    by_column: &'a HashMap<String, LangTypes>,
    by_query_column: &'a HashMap<(String, String), (LangTypes, Span)>,
    query_null: &'a HashMap<(String, String), (bool, Span)>,
    param_null: &'a HashMap<(String, String), (bool, Span)>,
    reg: &'a Registry,
    sources: &'a SourceMap,
    memo: Option<(&'a memo::Memo, &'a memo::Fingerprints, u64)>,
}

fn source_of(sources: &SourceMap, span: &Span) -> model::Source {
    let file = sources.get(span.file);
    let lc = file.line_col(span.range.start);
    model::Source {
        file: file.name.clone(),
        line: lc.line,
        column: lc.column,
    }
}

impl QueryCtx<'_> {
    /// Analyzes every query, in parallel when there are enough of them to
    /// pay for the threads. Queries are independent: each reads only the
    /// shared, immutable catalog and mappings. Chunks are contiguous and
    /// joined in order, so results and diagnostics keep the registry's order.
    fn all_queries(
        &self,
        raws: &[RawQuery],
        diags: &mut Diagnostics,
    ) -> (Vec<model::Query>, HashSet<(String, String)>) {
        const MIN_PER_THREAD: usize = 128;
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(raws.len() / MIN_PER_THREAD)
            .max(1);
        let run = |chunk: &[RawQuery]| {
            let mut used = HashSet::new();
            let mut d = Diagnostics::default();
            let qs: Vec<model::Query> = chunk
                .iter()
                .filter_map(|raw| self.query(raw, &mut used, &mut d))
                .collect();
            (qs, used, d)
        };
        // Worker threads even for one chunk: their stacks hold `sqltext::MAX_DEPTH`
        // levels, whatever thread called.
        let size = raws.len().div_ceil(threads).max(1);
        let parts: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = raws
                .chunks(size)
                .map(|chunk| {
                    let h = sqltext::spawn_walker(s, move || run(chunk));
                    (chunk, h)
                })
                .collect();
            handles
                .into_iter()
                .map(|(chunk, h)| match h {
                    Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                    // No thread to be had: the caller's own stack will do.
                    Err(_) => run(chunk),
                })
                .collect()
        });
        let mut queries = Vec::with_capacity(raws.len());
        let mut used = HashSet::new();
        for (qs, u, d) in parts {
            queries.extend(qs);
            used.extend(u);
            diags.extend(d);
        }
        (queries, used)
    }

    /// One query, from the memo when it holds the same analysis.
    fn query(
        &self,
        raw: &RawQuery,
        used: &mut HashSet<(String, String)>,
        diags: &mut Diagnostics,
    ) -> Option<model::Query> {
        let Some((memo, prints, config)) = self.memo else {
            return self.analyze_query(raw, used, diags).map(|(q, _)| q);
        };
        let key = memo::query_key(config, raw, prints.of_sql(&raw.sql));
        if let Some(hit) = memo.get(key) {
            used.extend(hit.used.iter().cloned());
            let mut q = hit.query.clone();
            q.source = source_of(self.sources, &raw.name_span);
            q.policy = self.policy(raw, q.read_only, hit.writes, &q.params, diags)?;
            return Some(q);
        }
        let before = diags.items.len();
        let mut mine = HashSet::new();
        let q = self.analyze_query(raw, &mut mine, diags);
        if let Some((q, writes)) = q.as_ref().filter(|_| diags.items.len() == before) {
            memo.put(
                key,
                memo::Memoized {
                    query: q.clone(),
                    writes: *writes,
                    used: mine.iter().cloned().collect(),
                },
            );
        }
        used.extend(mine);
        q.map(|(q, _)| q)
    }

    fn analyze_query(
        &self,
        raw: &RawQuery,
        used: &mut HashSet<(String, String)>,
        diags: &mut Diagnostics,
    ) -> Option<(model::Query, bool)> {
        let file = raw.sql_span.file;
        let base = raw.sql_span.range.start;
        let at = |r: std::ops::Range<usize>| Span::new(file, base + r.start..base + r.end);
        let prep = prep::prepare(&raw.sql);
        // A macro or parameter written wrongly leaves SQL that would only add errors
        // about the same place.
        for (r, msg, help) in &prep.errors {
            diags.push(
                Diagnostic::error(Code::BadParameter, msg.clone())
                    .at(at(r.clone()))
                    .help(help.clone()),
            );
        }
        if !prep.errors.is_empty() {
            return None;
        }
        let mut failed = false;
        let (stmts, overriding) = match sqltext::parse_query(&prep.sql) {
            Ok(s) => s,
            Err(sqltext::ParseFailure::TooDeep { line, column }) => {
                let off = prep.original(sqltext::offset_in(&prep.sql, line, column));
                diags.push(
                    Diagnostic::error(
                        Code::SqlTooDeep,
                        format!(
                            "query `{}` chains or nests more than {} operators in one expression",
                            raw.name,
                            sqltext::MAX_DEPTH
                        ),
                    )
                    .at(Span::point(file, base + off))
                    .label("the limit is passed here")
                    .help("split the expression: compare with `= ANY($1)` and an array parameter instead of a long OR chain, or move parts into a WITH query"),
                );
                return None;
            }
            Err(sqltext::ParseFailure::Syntax(e)) => {
                let (msg, loc) = sqltext::parser_error_location(&e.to_string());
                let off = loc.map_or(0, |(l, c)| {
                    prep.original(sqltext::offset_in(&prep.sql, l, c))
                });
                diags.push(
                    Diagnostic::error(
                        Code::SqlSyntax,
                        format!(
                            "{} in query `{}`",
                            msg.trim_start_matches("sql parser error: "),
                            raw.name
                        ),
                    )
                    .at(Span::point(file, base + off))
                    .help("fix the SQL at the caret; sqlpact parses PostgreSQL syntax"),
                );
                return None;
            }
        };
        let stmt = match stmts.as_slice() {
            [s] => s,
            [] => {
                diags.push(
                    Diagnostic::error(
                        Code::EmptyQuery,
                        format!("query `{}` has no statement", raw.name),
                    )
                    .at(raw.name_span.clone())
                    .help("write the SQL below the header"),
                );
                return None;
            }
            [_, second, ..] => {
                let sp = sqlparser::ast::Spanned::span(second);
                let off = if sp.start.line > 0 {
                    prep.original(sqltext::offset_in(
                        &prep.sql,
                        sp.start.line as u32,
                        sp.start.column as u32,
                    ))
                } else {
                    0
                };
                diags.push(
                    Diagnostic::error(
                        Code::MultipleStatements,
                        format!("query `{}` holds {} statements", raw.name, stmts.len()),
                    )
                    .at(Span::point(file, base + off))
                    .label("a second statement starts here")
                    .help("give each statement its own `-- name:` header"),
                );
                return None;
            }
        };
        let mut cx = Cx::new(self.catalog, &prep.sql, Some(&prep), file, base)
            .with_rel_cache(self.rel_cache)
            .with_overriding(overriding);
        // A filter that may be dropped (an `-- @optional` or `sqlc.narg` parameter's)
        // proves nothing of the rows.
        for slot in &mut cx.params {
            let named = prep.params.iter().find(|p| p.position == slot.position);
            slot.optional =
                slot.narg || named.is_some_and(|p| raw.optional.iter().any(|(n, _)| *n == p.name));
        }
        let Some(cols) = cx.statement(stmt) else {
            diags.push(
                Diagnostic::error(Code::UnsupportedStatement, format!("query `{}` is not a SELECT, INSERT, UPDATE, DELETE or MERGE", raw.name))
                    .at(raw.sql_span.clone())
                    .help("sqlpact generates code for SELECT, INSERT, UPDATE, DELETE (with WITH and RETURNING) and MERGE; run other statements from migrations"),
            );
            return None;
        };
        if !cx.diags.is_empty() {
            // Types that depend on an unresolved name would only repeat the error.
            diags.items.extend(std::mem::take(&mut cx.diags));
            return None;
        }
        let statement = match main_statement(stmt) {
            sqlparser::ast::Statement::Insert(_) => "insert",
            sqlparser::ast::Statement::Update(_) => "update",
            sqlparser::ast::Statement::Delete(_) => "delete",
            sqlparser::ast::Statement::Merge(_) => "merge",
            _ => "select",
        };
        if !self.check_command(raw, stmt, &cols, diags) {
            failed = true;
        }

        // Optional filters: declared with `-- @optional`, or sqlc.narg in a comparison.
        let mut optional: Vec<u32> = Vec::new();
        for (name, span) in &raw.optional {
            match prep.params.iter().find(|p| p.name == *name) {
                Some(p) => {
                    let slot = cx.params.iter().find(|s| s.position == p.position);
                    if slot.is_none_or(|s| s.filter_conjuncts.is_empty()) {
                        diags.push(
                            Diagnostic::error(Code::BadOptional, format!("optional parameter `{name}` is not used in a WHERE filter"))
                                .at(span.clone())
                                .help("an optional parameter must appear in a WHERE condition, e.g. `WHERE status = @status`"),
                        );
                        failed = true;
                    } else {
                        optional.push(p.position);
                    }
                }
                None => {
                    diags.push(
                        Diagnostic::error(
                            Code::BadOptional,
                            format!("`@optional {name}` names no parameter of `{}`", raw.name),
                        )
                        .at(span.clone())
                        .help(
                            did_you_mean(name, prep.params.iter().map(|p| p.name.as_str()))
                                .map_or_else(
                                    || "list parameters the query uses".to_owned(),
                                    |s| format!("did you mean `{s}`?"),
                                ),
                        ),
                    );
                    failed = true;
                }
            }
        }
        for p in prep.params.iter().filter(|p| p.narg) {
            let Some(slot) = cx.params.iter().find(|s| s.position == p.position) else {
                continue;
            };
            let self_guarded = slot
                .filter_conjuncts
                .iter()
                .any(|r| prep.sql[r.clone()].to_ascii_uppercase().contains("IS NULL"));
            if !slot.filter_conjuncts.is_empty() && !self_guarded && !optional.contains(&p.position)
            {
                optional.push(p.position);
            }
        }

        let mut params = Vec::with_capacity(prep.params.len());
        let mut names_seen: HashSet<String> = HashSet::new();
        for p in &prep.params {
            let Some(slot) = cx.params.iter().find(|s| s.position == p.position) else {
                continue;
            };
            let mut name = if p.positional {
                slot.column
                    .as_ref()
                    .and_then(|c| c.rsplit('.').next())
                    .or(slot.name)
                    .map_or_else(|| format!("p{}", p.position), str::to_owned)
            } else {
                p.name.clone()
            };
            while !names_seen.insert(name.clone()) {
                name = format!("{name}_{}", p.position);
            }
            if slot.ty.is_unknown() {
                diags.push(
                    Diagnostic::error(
                        Code::UntypedParameter,
                        format!("cannot infer the type of parameter `{name}`"),
                    )
                    .at(at(p.span.clone()))
                    .label("used here without a type")
                    .help(format!(
                        "cast it where it is used, e.g. `{}::text`, so its type is explicit",
                        &raw.sql[p.span.clone()]
                    )),
                );
                failed = true;
                continue;
            }
            let is_optional = optional.contains(&p.position);
            let key = (raw.name.clone(), name.clone());
            let (nullable, null_why) = if let Some((n, _)) = self.param_null.get(&key) {
                used.insert(key.clone());
                (
                    *n,
                    Reason::new(R::Override, "a nullability override in sqlpact.yaml"),
                )
            } else if p.narg {
                (true, Reason::new(R::ParameterContext, "written sqlc.narg"))
            } else if is_optional {
                (
                    true,
                    Reason::new(R::ParameterContext, "an optional filter: NULL skips it"),
                )
            } else if let Some(r) = &slot.context_nullable {
                (true, r.clone())
            } else {
                (false, Reason::new(R::ParameterContext, "parameters are non-null unless written sqlc.narg, optional, bound to a nullable column, or compared by IS [NOT] DISTINCT FROM"))
            };
            let over = self.by_query_column.get(&key).map(|(l, _)| {
                used.insert(key.clone());
                l
            });
            let over = over.or_else(|| slot.column.as_ref().and_then(|c| self.by_column.get(c)));
            let ty_why = if over.is_some() {
                Reason::new(R::Override, "a type override in sqlpact.yaml")
            } else {
                slot.ty_why
                    .clone()
                    .unwrap_or(Reason::new(R::ParameterContext, "a parameter"))
            };
            let mapped = match self.mapper.map(&slot.ty, nullable, over) {
                Ok(m) => m,
                Err(t) => {
                    self.unmapped(diags, at(p.span.clone()), &t);
                    failed = true;
                    continue;
                }
            };
            params.push(model::Param {
                name,
                position: p.position,
                ty: intern(&slot.ty.to_string()),
                nullable,
                optional: is_optional,
                slice: p.slice,
                go_type: intern(&mapped.go),
                rust_type: intern(&mapped.rust),
                proto_type: intern(&mapped.proto),
                column: slot.column.as_deref().map(intern),
                type_reason: ty_why,
                nullable_reason: null_why,
            });
        }

        let mut columns = Vec::with_capacity(cols.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        // A `void` value (`pg_advisory_xact_lock`, `pg_notify`, `pg_sleep`) is a call made
        // for its effect: a command that reads no rows runs it and has nothing to type;
        // one that reads rows would read a value that is not there.
        let reads_rows = matches!(
            raw.command.as_str(),
            "one" | "many" | "batchone" | "batchmany"
        );
        let mut voids: Vec<usize> = Vec::new();
        for (i, c) in cols.iter().enumerate() {
            // A registry may map `void` itself (a type override): then it is a column.
            let void = c.t.ty.is("void")
                && c.embed.is_none()
                && !self
                    .by_query_column
                    .contains_key(&(raw.name.clone(), c.name.clone()))
                && self.mapper.map(&c.t.ty, false, None).is_err();
            if void {
                if reads_rows {
                    diags.push(
                        Diagnostic::error(
                            Code::UnmappedType,
                            format!(
                                "column `{}` of query `{}` is `void`: it has no value to read",
                                c.name, raw.name
                            ),
                        )
                        .at(c.span.clone().unwrap_or_else(|| raw.sql_span.clone()))
                        .help(format!(
                            "a function returning void is called for its effect: declare the query `:exec` (`-- name: {} :exec`)",
                            raw.name
                        )),
                    );
                    failed = true;
                } else {
                    voids.push(i);
                }
                continue;
            }
            let embed_name = c
                .embed
                .and_then(|i| cx.embeds.get(i))
                .map(|e| e.alias.clone());
            if let Some(col) = self.column(raw, c, embed_name, used, diags) {
                if c.embed.is_none() {
                    if let Some(prev) = seen.insert(col.name.clone(), i) {
                        diags.push(
                            Diagnostic::error(
                                Code::DuplicateColumn,
                                format!(
                                    "query `{}` returns two columns named `{}` (columns {} and {})",
                                    raw.name,
                                    col.name,
                                    prev + 1,
                                    i + 1
                                ),
                            )
                            .at(raw.sql_span.clone())
                            .help("alias one of them: `... AS other_name`"),
                        );
                        failed = true;
                    }
                }
                columns.push(col);
            } else {
                failed = true;
            }
        }
        if failed {
            return None;
        }
        let sql = rewrite_sql(&prep.sql, &optional, &cx.params, &cx.star_edits);
        let embeds = cx
            .embeds
            .iter()
            .map(|e| model::Embed {
                name: e.alias.clone(),
                table: e.table.clone(),
                nullable: e.nullable.is_some(),
                nullable_reason: e.nullable.clone().unwrap_or(Reason::new(
                    R::JoinSide,
                    format!("`{}` is not on the nullable side of an outer join", e.alias),
                )),
                // Columns before the embed that were left out as `void`.
                first_column: (e.first - voids.iter().filter(|&&v| v < e.first).count()) as u32,
                column_count: e.count as u32,
            })
            .collect();
        // A locking read (`FOR UPDATE`/`FOR SHARE`) changes no data but needs the
        // primary: a standby and a READ ONLY transaction refuse it (25006).
        let read_only = !cx.writes && !cx.locks;
        let policy = self.policy(raw, read_only, cx.writes, &params, diags)?;
        if let Some((span, fname)) = cx.session.take() {
            let pol = &self.reg.policies;
            let declared = pol.queries.get(raw.name.as_str()).and_then(|p| p.session);
            if declared.or(pol.defaults.session) != Some(true) {
                let (what, instead) = if fname == "set_config" {
                    (
                        "makes a setting for the session (`is_local` is not `true`)",
                        "`set_config(..., true)`, which lasts until the transaction ends,",
                    )
                } else {
                    (
                        "takes or releases a session-level advisory lock",
                        "the transaction-level lock (`pg_advisory_xact_lock`, `pg_try_advisory_xact_lock`), which is released when the transaction ends,",
                    )
                };
                diags.push(
                    Diagnostic::warning(
                        Code::SessionState,
                        format!("query `{}` calls `{fname}`, which {what}: it stays on the connection after the query, and a pool hands that connection to its next caller", raw.name),
                    )
                    .at(span)
                    .help(format!("use {instead} and run the query in a transaction; or, if it is meant for a connection you hold, declare it: `policies: {{ queries: {{ {}: {{ session: true }} }} }}`", raw.name)),
                );
            }
        }
        let query = model::Query {
            name: raw.name.clone(),
            command: raw.command.clone(),
            sql,
            source: source_of(self.sources, &raw.name_span),
            doc: raw.doc.clone(),
            statement: statement.into(),
            read_only,
            tables: cx.tables.iter().cloned().collect(),
            params,
            columns,
            embeds,
            row_type: None,
            policy,
            lifecycle: model::Lifecycle::default(),
        };
        Some((query, cx.writes))
    }

    fn unmapped(&self, diags: &mut Diagnostics, span: Span, t: &str) {
        let help = match self.catalog.composites.get(t.trim_end_matches("[]")) {
            Some(c) => format!(
                "a composite value has no Go or Rust type: select its fields (`(x).{}`), or convert it (`to_jsonb(x)`)",
                c.fields.first().map_or("field", |(f, _)| f.as_str())
            ),
            None => format!("add an override to sqlpact.yaml: `types: [{{ db_type: {t}, go: ..., rust: ... }}]`, or cast the value to a mapped type"),
        };
        diags.push(
            Diagnostic::error(
                Code::UnmappedType,
                format!("the type `{t}` has no Go or Rust mapping"),
            )
            .at(span)
            .help(help),
        );
    }

    fn column(
        &self,
        raw: &RawQuery,
        c: &OutCol,
        embed_name: Option<String>,
        used: &mut HashSet<(String, String)>,
        diags: &mut Diagnostics,
    ) -> Option<model::Column> {
        if c.t.ty.is_unknown() {
            diags.push(
                Diagnostic::error(
                    Code::UntypedColumn,
                    format!(
                        "cannot infer the type of column `{}` of query `{}`",
                        c.name, raw.name
                    ),
                )
                .at(c.span.clone().unwrap_or_else(|| raw.sql_span.clone()))
                .help(format!(
                    "cast it in the select list, e.g. `NULL::text AS {}`",
                    c.name
                )),
            );
            return None;
        }
        let key = (raw.name.clone(), c.name.clone());
        let (nullable, null_why) = match self.query_null.get(&key) {
            Some((n, _)) => {
                used.insert(key.clone());
                (
                    *n,
                    Reason::new(R::Override, "a nullability override in sqlpact.yaml"),
                )
            }
            None => (c.t.nullable, c.t.null_why.clone()),
        };
        let over = self.by_query_column.get(&key).map(|(l, _)| {
            used.insert(key.clone());
            l
        });
        let over = over.or_else(|| {
            c.t.table_column
                .as_ref()
                .and_then(|tc| self.by_column.get(&**tc))
        });
        let ty_why = if over.is_some() {
            Reason::new(R::Override, "a type override in sqlpact.yaml")
        } else {
            c.t.ty_why.clone()
        };
        let elem_null = c.t.elem_null.clone().filter(|_| c.t.ty.element().is_some());
        let mapped = match self
            .mapper
            .map_column(&c.t.ty, nullable, elem_null.is_some(), over)
        {
            Ok(m) => m,
            Err(t) if t == "record" => {
                let what = if c.t.ty.element().is_some() {
                    "an array of rows (`record[]`)"
                } else {
                    "a row value (`record`)"
                };
                diags.push(
                    Diagnostic::error(
                        Code::UnmappedType,
                        format!(
                            "column `{}` of query `{}` is {what}, which has no Go or Rust type",
                            c.name, raw.name
                        ),
                    )
                    .at(c.span.clone().unwrap_or_else(|| raw.sql_span.clone()))
                    .help("select the row's columns (`t.*`, or `sqlc.embed(t)` for a nested struct), or turn it into JSON with `to_jsonb(...)`"),
                );
                return None;
            }
            Err(t) => {
                self.unmapped(diags, raw.sql_span.clone(), &t);
                return None;
            }
        };
        Some(model::Column {
            name: c.name.clone(),
            ty: intern(&c.t.ty.to_string()),
            nullable,
            elem_nullable: elem_null.is_some(),
            go_type: intern(&mapped.go),
            rust_type: intern(&mapped.rust),
            proto_type: intern(&mapped.proto),
            table_column: c.t.table_column.as_deref().map(intern),
            embed: embed_name,
            type_reason: ty_why,
            nullable_reason: null_why,
            elem_nullable_reason: elem_null,
        })
    }

    fn check_command(
        &self,
        raw: &RawQuery,
        stmt: &sqlparser::ast::Statement,
        cols: &[OutCol],
        diags: &mut Diagnostics,
    ) -> bool {
        let returns = matches!(
            raw.command.as_str(),
            "one" | "many" | "batchone" | "batchmany"
        );
        if returns && cols.is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::CommandMismatch,
                    format!("`:{}` query `{}` returns no columns", raw.command, raw.name),
                )
                .at(raw.command_span.clone())
                .help(
                    if matches!(main_statement(stmt), sqlparser::ast::Statement::Merge(_)) {
                        "MERGE returns no rows: use `:exec` or `:execrows` (the rows it touched)"
                    } else {
                        "add RETURNING to the statement, or use `:exec` / `:execrows`"
                    },
                ),
            );
            return false;
        }
        if raw.command == "copyfrom" {
            let ok = match stmt {
                sqlparser::ast::Statement::Insert(i) => {
                    i.on.is_none()
                        && i.returning.is_none()
                        && !i.columns.is_empty()
                        && matches!(i.source.as_deref().map(|s| s.body.as_ref()), Some(sqlparser::ast::SetExpr::Values(v)) if v.rows.len() == 1 && v.rows[0].content.iter().all(|e| matches!(e, sqlparser::ast::Expr::Value(v) if matches!(v.value, sqlparser::ast::Value::Placeholder(_)))))
                }
                _ => false,
            };
            if !ok {
                diags.push(
                    Diagnostic::error(Code::CommandMismatch, format!("`:copyfrom` query `{}` must be a plain INSERT of parameters", raw.name))
                        .at(raw.command_span.clone())
                        .help("write `INSERT INTO t (a, b) VALUES (@a, @b)` with no RETURNING or ON CONFLICT; COPY streams the rows"),
                );
                return false;
            }
        }
        true
    }

    /// The query's policy; `writes` is whether it changes data (a locking read does
    /// not: it may be re-run and carries no idempotency key), `read_only` whether a
    /// replica can run it (a locking read cannot).
    fn policy(
        &self,
        raw: &RawQuery,
        read_only: bool,
        writes: bool,
        params: &[model::Param],
        diags: &mut Diagnostics,
    ) -> Option<model::QueryPolicy> {
        let name = raw.name.as_str();
        let d = &self.reg.policies.defaults;
        let q = self.reg.policies.queries.get(name);
        let mut ok = true;
        let key = q.and_then(|p| p.idempotency_key.clone());
        if let Some((k, span)) = &key {
            let here = span.clone().unwrap_or_else(|| raw.name_span.clone());
            if !params.iter().any(|p| &p.name == k) {
                let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                let help = did_you_mean(k, names.iter().copied()).map_or_else(
                    || format!("name one of the query's parameters: {}", names.join(", ")),
                    |s| format!("did you mean `{s}`?"),
                );
                diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`{name}` has no parameter `{k}` to use as its idempotency key"),
                    )
                    .at(here)
                    .help(help),
                );
                ok = false;
            } else if !writes
                || !matches!(
                    raw.command.as_str(),
                    "one" | "many" | "exec" | "execrows" | "execresult"
                )
            {
                diags.push(
                    Diagnostic::error(Code::InvalidValue, format!("`{name}` (`:{}`) cannot carry an idempotency key", raw.command))
                        .at(here)
                        .help("keys protect single writes: use them on an INSERT, UPDATE or DELETE run with `:one`, `:many`, `:exec`, `:execrows` or `:execresult`".to_owned()),
                );
                ok = false;
            }
        }
        // A replica refuses writes and locking reads (25006): the defaults' `route:
        // replica` is for the queries that can run there, and a query of its own
        // routed there must be one of them.
        let route = match q.and_then(|p| p.route.clone()) {
            Some((r, span)) if r == "replica" && !read_only => {
                let doing = if writes { "writes" } else { "takes locks" };
                diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`{name}` {doing} and cannot be routed to a replica"),
                    )
                    .at(span.unwrap_or_else(|| raw.name_span.clone()))
                    .help("a standby refuses writes and `FOR UPDATE`/`FOR SHARE` (25006), and an advisory lock taken on a standby excludes no session of the primary: remove `route: replica` from this query, or make it a plain read".to_owned()),
                );
                ok = false;
                r
            }
            Some((r, _)) => r,
            None => match &d.route {
                Some((r, _)) if read_only || r != "replica" => r.clone(),
                _ => "primary".into(),
            },
        };
        let expect_one_row = q.and_then(|p| p.expect_one_row).unwrap_or(false);
        if expect_one_row && !matches!(raw.command.as_str(), "exec" | "execrows" | "execresult") {
            diags.push(
                Diagnostic::error(Code::InvalidValue, format!("`{name}` (`:{}`) cannot expect one affected row", raw.command))
                    .at(raw.command_span.clone())
                    .help("`expect_one_row` applies to `:exec`, `:execrows` and `:execresult` writes; a `:one` query already fails when it finds no row".to_owned()),
            );
            ok = false;
        }
        if !ok {
            return None;
        }
        let pick = |f: &dyn Fn(&crate::registry::PartialPolicy) -> Option<String>| {
            q.and_then(f).or_else(|| f(d))
        };
        let timeout_ms = q
            .and_then(|p| p.timeout_ms)
            .or(d.timeout_ms)
            .unwrap_or(5_000);
        let idempotent_declared = q.and_then(|p| p.idempotent).or(d.idempotent);
        Some(model::QueryPolicy {
            timeout_ms,
            retry: pick(&|p| p.retry.clone()).unwrap_or_else(|| "standard".into()),
            idempotent: idempotent_declared.unwrap_or(!writes),
            idempotent_source: if idempotent_declared.is_some() {
                "declared".into()
            } else {
                "inferred".into()
            },
            route,
            idempotency_key: key.map(|(k, _)| k),
            expect_one_row,
        })
    }
}

/// Wraps each WHERE conjunct that uses an optional parameter as
/// `($n::type IS NULL OR <conjunct>)`, so NULL skips the filter.
/// The SQL sent to the server: optional filters made conditional, and `*` replaced by
/// explicit column lists (except inside a rewritten filter).
fn rewrite_sql(
    sql: &str,
    optional: &[u32],
    slots: &[infer::ParamSlot],
    stars: &[(std::ops::Range<usize>, String)],
) -> String {
    let mut edits: BTreeMap<usize, (std::ops::Range<usize>, Vec<String>)> = BTreeMap::new();
    for pos in optional {
        let Some(slot) = slots.iter().find(|s| s.position == *pos) else {
            continue;
        };
        for r in &slot.filter_conjuncts {
            let e = edits
                .entry(r.start)
                .or_insert_with(|| (r.clone(), Vec::new()));
            e.1.push(format!("${pos}::{} IS NULL", slot.ty));
        }
    }
    // Drop ranges nested in another (a conjunct of a subquery inside a conjunct).
    let ranges: Vec<(std::ops::Range<usize>, Vec<String>)> = edits.into_values().collect();
    let mut kept: Vec<(std::ops::Range<usize>, Vec<String>)> = Vec::new();
    for (r, g) in ranges {
        if kept
            .iter()
            .any(|(k, _)| k.start <= r.start && r.end <= k.end)
        {
            continue;
        }
        kept.push((r, g));
    }
    let mut all: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for (r, guards) in &kept {
        if let Some(inner) = sql.get(r.clone()) {
            all.push((r.clone(), format!("({} OR {inner})", guards.join(" OR "))));
        }
    }
    for (r, text) in stars {
        let inside = kept.iter().any(|(k, _)| k.start < r.end && r.start < k.end);
        if !inside && sql.get(r.clone()).is_some() {
            all.push((r.clone(), text.clone()));
        }
    }
    all.sort_by_key(|(r, _)| r.start);
    let mut out = sql.to_owned();
    for (r, text) in all.into_iter().rev() {
        out.replace_range(r, &text);
    }
    out
}

/// A result column's name, type and nullability: what shared row types compare.
type Shape = (String, std::sync::Arc<str>, bool);

/// The names of every query the registry declares, analyzed or not.
fn analyzed_names(raw: &[RawQuery]) -> HashSet<String> {
    raw.iter().map(|q| q.name.clone()).collect()
}

/// Reads `lifecycle:` into the queries: each key must name a query; a sunset is a
/// `YYYY-MM-DD` date and needs a deprecation; stability is `stable`, `beta` or `alpha`.
fn apply_lifecycle(
    reg: &Registry,
    sources: &SourceMap,
    queries: &mut [model::Query],
    declared: &HashSet<String>,
    diags: &mut Diagnostics,
) {
    let at = |l: &crate::registry::Located<String>| span_of(reg.file, sources, l);
    for (name, entry) in &reg.config.lifecycle {
        if !declared.contains(&name.value) {
            let help = did_you_mean(&name.value, declared.iter().map(String::as_str)).map_or_else(
                || "name a query of the registry".to_owned(),
                |s| format!("did you mean `{s}`?"),
            );
            diags.push(
                Diagnostic::error(
                    Code::UnknownOverrideTarget,
                    format!("`lifecycle` names no query `{}`", name.value),
                )
                .at_opt(at(name))
                .help(help),
            );
            continue;
        }
        let mut ok = true;
        if let Some(s) = &entry.stability {
            if !matches!(s.value.as_str(), "stable" | "beta" | "alpha") {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`{}` is not a stability", s.value),
                    )
                    .at_opt(at(s))
                    .help("write `stable`, `beta` or `alpha`"),
                );
                ok = false;
            }
        }
        if let Some(d) = &entry.sunset {
            if !is_date(&d.value) {
                diags.push(
                    Diagnostic::error(Code::InvalidValue, format!("`{}` is not a date", d.value))
                        .at_opt(at(d))
                        .help("write the sunset as `YYYY-MM-DD`, e.g. `2027-03-31`"),
                );
                ok = false;
            } else if entry.deprecated.is_none() {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`{}` has a sunset date but is not deprecated", name.value),
                    )
                    .at_opt(at(d))
                    .help("add `deprecated: <why, or what to use instead>` next to `sunset`"),
                );
                ok = false;
            }
        }
        if !ok {
            continue;
        }
        if let Some(q) = queries.iter_mut().find(|q| q.name == name.value) {
            q.lifecycle = model::Lifecycle {
                deprecated: entry.deprecated.as_ref().map(|d| d.value.clone()),
                sunset: entry.sunset.as_ref().map(|d| d.value.clone()),
                stability: entry
                    .stability
                    .as_ref()
                    .map_or_else(|| "stable".to_owned(), |s| s.value.clone()),
            };
        }
    }
}

/// Reads `compat:`: a known mode, known rule IDs, dates that are dates.
fn compat_settings(
    reg: &Registry,
    sources: &SourceMap,
    diags: &mut Diagnostics,
) -> model::CompatSettings {
    let mut out = model::CompatSettings::default();
    let Some(c) = &reg.config.compat else {
        return out;
    };
    let at = |l: &crate::registry::config::Located<String>| span_of(reg.file, sources, l);
    if let Some(m) = &c.mode {
        if ["backward", "forward", "full"].contains(&m.value.as_str()) {
            out.mode = Some(m.value.clone());
        } else {
            diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("`{}` is not a compat mode", m.value),
                )
                .at_opt(at(m))
                .help("write `backward`, `forward` or `full`"),
            );
        }
    }
    out.exempt_unstable = c.exempt_unstable.unwrap_or(true);
    out.require_sunset = c.require_sunset.unwrap_or(false);
    let ids: Vec<&str> = crate::compat::rules::catalog()
        .iter()
        .map(|r| r.id)
        .collect();
    for e in &c.ignore {
        let mut ok = true;
        // VER-001 reads the findings left after suppression, and the IGN rules speak of
        // the entries themselves: neither can be suppressed.
        if e.rule.value == "VER-001" || e.rule.value.starts_with("IGN-") {
            diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("`{}` cannot be suppressed", e.rule.value),
                )
                .at_opt(at(&e.rule))
                .help(if e.rule.value == "VER-001" {
                    "set `contract.version` to the version it suggests, or suppress the findings that require the bump"
                } else {
                    "fix or remove the entry it reports"
                }),
            );
            ok = false;
        } else if !ids.contains(&e.rule.value.as_str()) {
            let help = match did_you_mean(&e.rule.value, ids.iter().copied()) {
                Some(near) => format!("did you mean `{near}`? `sqlpact compat rules` lists them"),
                None => "`sqlpact compat rules` lists the rule IDs".to_owned(),
            };
            diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("`{}` is not a compat rule", e.rule.value),
                )
                .at_opt(at(&e.rule))
                .help(help),
            );
            ok = false;
        }
        if let Some(d) = e.expires.as_ref().filter(|d| !is_date(&d.value)) {
            diags.push(
                Diagnostic::error(Code::InvalidValue, format!("`{}` is not a date", d.value))
                    .at_opt(at(d))
                    .help("write the expiry as `YYYY-MM-DD`, e.g. `2027-03-31`"),
            );
            ok = false;
        }
        if e.reason.value.trim().is_empty() {
            diags.push(
                Diagnostic::error(Code::InvalidValue, "a suppression needs a reason")
                    .at_opt(at(&e.reason))
                    .help("say why the change is accepted: reviewers and the next release manager read it"),
            );
            ok = false;
        }
        let source = at(&e.rule).map_or_else(
            || model::Source {
                file: sources.get(reg.file).name.clone(),
                line: 0,
                column: 0,
            },
            |span| source_of(sources, &span),
        );
        if ok {
            out.ignore.push(model::Ignore {
                rule: e.rule.value.clone(),
                entity: e.entity.value.clone(),
                fingerprint: e.fingerprint.as_ref().map(|f| f.value.clone()),
                reason: e.reason.value.clone(),
                expires: e.expires.as_ref().map(|d| d.value.clone()),
                source,
            });
        }
    }
    out
}

/// `YYYY-MM-DD` naming a day of the calendar.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    s.bytes()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=days).contains(&d)
}

/// Resolves `renamed_from`: each key must name something that exists now, and the old
/// name must not.
/// `wire.queries`, checked: each entry is a glob that names at least one query.
fn wire_queries(
    w: &crate::registry::config::Wire,
    queries: &[model::Query],
    file: crate::source::FileId,
    sources: &SourceMap,
    diags: &mut Diagnostics,
) -> Option<Vec<String>> {
    let entries = w.queries.as_ref()?;
    let mut out = Vec::new();
    for e in entries {
        let span = crate::registry::span_of(file, sources, e);
        let matcher = match globset::Glob::new(&e.value) {
            Ok(g) => g.compile_matcher(),
            Err(err) => {
                diags.push(
                    Diagnostic::error(
                        Code::WireSelection,
                        format!("`wire.queries`: `{}` is not a glob: {err}", e.value),
                    )
                    .at_opt(span)
                    .help("name a query, or match several with `*` (`Get*`)"),
                );
                continue;
            }
        };
        if !queries.iter().any(|q| matcher.is_match(&q.name)) {
            let hint = crate::diag::did_you_mean(&e.value, queries.iter().map(|q| q.name.as_str()))
                .map_or_else(String::new, |s| format!("did you mean `{s}`? "));
            diags.push(
                Diagnostic::error(
                    Code::WireSelection,
                    format!("`wire.queries`: `{}` names no query", e.value),
                )
                .at_opt(span)
                .help(format!(
                    "{hint}entries are query names or globs of them (`Get*`)"
                )),
            );
            continue;
        }
        out.push(e.value.clone());
    }
    Some(out)
}

fn check_renames(
    reg: &Registry,
    sources: &SourceMap,
    queries: &[model::Query],
    schema: &model::Schema,
    diags: &mut Diagnostics,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, old) in &reg.config.renamed_from {
        let at = span_of(reg.file, sources, old);
        let fail = |msg: String, help: String| {
            Diagnostic::error(Code::InvalidValue, msg)
                .at_opt(at)
                .help(help)
        };
        let (head, tail) = match key.split_once('.') {
            Some((h, t)) => (h, Some(t)),
            None => (key.as_str(), None),
        };
        let query = queries.iter().find(|q| q.name == head);
        let problem = match (query, tail) {
            (Some(_), None) => queries.iter().any(|q| q.name == old.value).then(|| {
                format!(
                    "`{key}` is renamed from `{}`, but a query of that name still exists",
                    old.value
                )
            }),
            (Some(q), Some(p)) if p.starts_with('@') => {
                let names: Vec<&str> = q.params.iter().map(|x| x.name.as_str()).collect();
                if !names.contains(&&p[1..]) {
                    Some(format!(
                        "query `{head}` has no parameter `{}` (it has: {})",
                        &p[1..],
                        names.join(", ")
                    ))
                } else if names.contains(&old.value.trim_start_matches('@')) {
                    Some(format!(
                        "`{key}` is renamed from `{}`, but `{head}` still has that parameter",
                        old.value
                    ))
                } else {
                    None
                }
            }
            (Some(q), Some(c)) => {
                let names: Vec<&str> = q.columns.iter().map(|x| x.name.as_str()).collect();
                if !names.contains(&c) {
                    Some(format!(
                        "query `{head}` returns no column `{c}` (it returns: {})",
                        names.join(", ")
                    ))
                } else if names.contains(&old.value.as_str()) {
                    Some(format!(
                        "`{key}` is renamed from `{}`, but `{head}` still returns that column",
                        old.value
                    ))
                } else {
                    None
                }
            }
            (None, _) => {
                let (enum_name, value) = key.rsplit_once('.').unwrap_or((key.as_str(), ""));
                let e = schema.enums.iter().find(|e| {
                    e.name == enum_name || e.name.strip_prefix("public.") == Some(enum_name)
                });
                match e {
                    Some(e) if e.values.iter().any(|v| v == value) => {
                        e.values.contains(&old.value).then(|| {
                            format!(
                                "`{key}` is renamed from `{}`, but the enum still has that value",
                                old.value
                            )
                        })
                    }
                    Some(e) => Some(format!("enum `{}` has no value `{value}`", e.name)),
                    None => Some(format!("`{key}` names no query and no enum value")),
                }
            }
        };
        match problem {
            Some(msg) => diags.push(fail(
                msg,
                "keys are `Query`, `Query.column`, `Query.@param` or `enum.value`, each naming what exists now; the value is the old name".into(),
            )),
            None => {
                out.insert(key.clone(), old.value.trim_start_matches('@').to_owned());
            }
        }
    }
    out
}

fn check_row_types(
    reg: &Registry,
    sources: &SourceMap,
    queries: &mut [model::Query],
    diags: &mut Diagnostics,
) -> Vec<model::RowType> {
    let mut out = Vec::new();
    for (name, members) in &reg.config.row_types {
        let mut first: Option<(&Located<String>, Vec<Shape>)> = None;
        for m in members {
            let Some(q) = queries.iter().find(|q| q.name == m.value) else {
                continue;
            };
            let shape: Vec<Shape> = q
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty.clone(), c.nullable))
                .collect();
            match &first {
                None => first = Some((m, shape)),
                Some((fq, fs)) if *fs != shape => {
                    let diff = fs
                        .iter()
                        .zip(shape.iter())
                        .find(|(a, b)| a != b)
                        .map(|(a, b)| {
                            format!(
                                "`{}` is {}{} in `{}` but `{}` is {}{} here",
                                a.0,
                                a.1,
                                if a.2 { " NULL" } else { "" },
                                fq.value,
                                b.0,
                                b.1,
                                if b.2 { " NULL" } else { "" }
                            )
                        })
                        .unwrap_or_else(|| {
                            format!(
                                "`{}` returns {} columns and `{}` {}",
                                fq.value,
                                fs.len(),
                                m.value,
                                shape.len()
                            )
                        });
                    diags.push(
                        Diagnostic::error(Code::RowTypeMismatch, format!("row type `{name}`: `{}` returns a different shape: {diff}", m.value))
                            .at_opt(span_of(reg.file, sources, m))
                            .help("make the queries return the same columns, or give them separate row types"),
                    );
                }
                _ => {}
            }
        }
        for m in members {
            if let Some(q) = queries.iter_mut().find(|q| q.name == m.value) {
                q.row_type = Some(name.clone());
            }
        }
        out.push(model::RowType {
            name: name.clone(),
            queries: members.iter().map(|m| m.value.clone()).collect(),
        });
    }
    out
}

fn schema_model(cat: &Catalog, sources: &SourceMap) -> model::Schema {
    model::Schema {
        tables: cat
            .relations
            .values()
            .map(|r| model::Table {
                name: r.name.clone(),
                kind: if r.kind == catalog::RelKind::View {
                    "view".into()
                } else {
                    "table".into()
                },
                columns: r
                    .columns
                    .iter()
                    .map(|c| model::TableColumn {
                        name: c.name.clone(),
                        ty: c.ty.to_string(),
                        nullable: !c.not_null,
                        has_default: c.has_default,
                    })
                    .collect(),
                source: source_of(sources, &r.span),
            })
            .collect(),
        enums: cat
            .enums
            .iter()
            .map(|(n, e)| model::Enum {
                name: n.clone(),
                values: e.values.clone(),
                source: source_of(sources, &e.span),
            })
            .collect(),
        domains: cat
            .domains
            .iter()
            .map(|(n, d)| model::Domain {
                name: n.clone(),
                base: d.base.to_string(),
                not_null: d.not_null,
                source: source_of(sources, &d.span),
            })
            .collect(),
    }
}

fn outputs_model(reg: &Registry) -> model::Outputs {
    let Some(o) = &reg.config.outputs else {
        return model::Outputs::default();
    };
    model::Outputs {
        go: o.go.as_ref().map(|g| model::GoOutput {
            out: g.out.value.clone(),
            package: g.package.value.clone(),
            nullable: g
                .nullable
                .as_ref()
                .map_or("pointer".into(), |n| n.value.clone()),
            json_tags: g.json_tags,
            emit_interface: g.emit_interface,
            templates: g.templates.as_ref().map(|t| t.value.clone()),
            import_path: g.import_path.as_ref().map(|t| t.value.clone()),
        }),
        rust: o.rust.as_ref().map(|r| model::RustOutput {
            out: r.out.value.clone(),
            crate_name: r
                .crate_name
                .as_ref()
                .map(|c| c.value.clone())
                .unwrap_or_default(),
            module: r.module,
            serde: r.serde,
            templates: r.templates.as_ref().map(|t| t.value.clone()),
            runtime_path: r.runtime_path.as_ref().map(|t| t.value.clone()),
            dependencies: r
                .dependencies
                .iter()
                .map(|(k, v)| (k.value.clone(), v.value.spec()))
                .collect(),
        }),
    }
}

/// `PgType` helper for callers outside the analyzer.
pub fn pg_type_name(t: &PgType) -> String {
    t.to_string()
}

/// The statement a query runs: the one after `WITH ...` (`WITH s AS (...) INSERT ...`
/// is an INSERT), or the statement itself.
pub fn main_statement(stmt: &sqlparser::ast::Statement) -> &sqlparser::ast::Statement {
    use sqlparser::ast::{SetExpr, Statement};
    match stmt {
        Statement::Query(q) => match q.body.as_ref() {
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => s,
            _ => stmt,
        },
        _ => stmt,
    }
}

#[cfg(test)]
mod override_spelling_tests {
    use super::*;

    #[test]
    fn override_types_are_types_and_nothing_more() {
        for ok in [
            "int64",
            "*string",
            "[]byte",
            "github.com/shopspring/decimal.Decimal",
            "*encoding/json.RawMessage",
            "github.com/jackc/pgx/v5/pgtype.Range[github.com/jackc/pgx/v5/pgtype.Int4]",
            "[]example.com/kv.Map[string, []example.com/kv.Item]",
        ] {
            assert!(go_type_spelling(ok), "{ok}");
        }
        for bad in [
            "",
            "int64 }\nfunc init() {",
            "a\"b",
            "map[string]any",
            "x.",
            "pkg/\u{430}.T",
            "pgtype.Range[]",
            "pgtype.Range[int32]]",
            "pgtype.Range[int32 }\nfunc init() {]",
            "[int32]",
        ] {
            assert!(!go_type_spelling(bad), "{bad}");
        }
        for ok in [
            "i64",
            "rust_decimal::Decimal",
            "Vec<u8>",
            "Option<(i32, String)>",
            "[u8; 16]",
            "&'static str",
        ] {
            assert!(rust_type_spelling(ok), "{ok}");
        }
        for bad in ["", "i64 }", "Vec<u8", "a\"b", "x)(", "i64 /* */", "()"] {
            assert!(!rust_type_spelling(bad), "{bad}");
        }
        for ok in ["string", "google.protobuf.Timestamp", ".pkg.Msg"] {
            assert!(proto_type_spelling(ok), "{ok}");
        }
        for bad in ["", "string;", "a..b", "repeated x"] {
            assert!(!proto_type_spelling(bad), "{bad}");
        }
    }
}
