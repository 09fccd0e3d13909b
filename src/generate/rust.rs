//! The Rust (tokio-postgres) view of a contract: names, types, dependencies and
//! the few lines whose layout rustfmt decides by width, ready for the handlebars
//! templates under `templates/rust/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::escape::{comment, doc_line, fence, rust_sql, rust_str, sql_ident};
use super::names::{dedupe, rust_param, rust_pascal, rust_snake, singular};
use super::{file_group, header_line, GenError, Rendered, Templates};
use crate::model::{Column, Contract, Param, Query, RustOutput};

/// More parameters than this and a function takes a params struct (as in Go).
const MAX_POSITIONAL: usize = 2;
/// rustfmt's defaults: line width, and the widths of a call's arguments and of an
/// array literal above which they go vertical.
const MAX_WIDTH: usize = 100;
const LIST_WIDTH: usize = 60;
/// Array items up to this width are packed several per line when vertical.
const SHORT_ITEM: usize = 10;

#[derive(Deserialize)]
struct CrateSpec {
    version: String,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    postgres_feature: Option<String>,
    #[serde(default)]
    serde_features: Vec<String>,
}

fn crate_specs() -> &'static BTreeMap<String, CrateSpec> {
    static T: OnceLock<BTreeMap<String, CrateSpec>> = OnceLock::new();
    T.get_or_init(|| {
        serde_saphyr::from_str(include_str!("../../templates/rust/crates.yaml"))
            .expect("templates/rust/crates.yaml is valid (checked by a unit test)")
    })
}

/// A crate's name as its code names it: Cargo reads `-` and `_` in it as one.
pub fn code_name(name: &str) -> String {
    name.replace('-', "_")
}

/// Whether the built-in mapping knows the crate `name` (templates/rust/crates.yaml).
pub fn builtin_crate(name: &str) -> bool {
    crate_specs().contains_key(name)
}

/// The crates a Rust type names: the first segment of each path in it that goes on
/// (`chrono` and `std` in `Vec<chrono::DateTime<std::time::X>>`), but not `crate`,
/// `self` or `super`.
pub fn crate_roots(ty: &str) -> Vec<&str> {
    let mut roots = Vec::new();
    let b = ty.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        if !ident(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && ident(b[i]) {
            i += 1;
        }
        // A segment after another (`a::b`, `<T as X>::b`), not a global path (`::b`).
        let after_path = start >= 3
            && &b[start - 2..start] == b"::"
            && (ident(b[start - 3]) || b[start - 3] == b'>');
        let word = &ty[start..i];
        if !after_path
            && ty[i..].starts_with("::")
            && !matches!(word, "crate" | "self" | "super")
            && !roots.contains(&word)
        {
            roots.push(word);
        }
    }
    roots
}

/// Types that are cheap to copy and are passed by value; anything else is borrowed.
fn is_copy(t: &str, enums: &BTreeSet<String>) -> bool {
    matches!(
        t,
        "bool"
            | "i16"
            | "i32"
            | "i64"
            | "f32"
            | "f64"
            | "u32"
            | "uuid::Uuid"
            | "rust_decimal::Decimal"
            | "std::net::IpAddr"
    ) || t.starts_with("chrono::")
        || enums.contains(t)
}

/// The borrowed form of an owned Rust type for a parameter, with `lt` as the
/// lifetime (`""` in a function signature, `"'a "` in a struct).
fn param_type(owned: &str, lt: &str, enums: &BTreeSet<String>) -> String {
    if let Some(inner) = owned
        .strip_prefix("Option<")
        .and_then(|s| s.strip_suffix('>'))
    {
        return format!("Option<{}>", param_type(inner, lt, enums));
    }
    if owned == "String" {
        return format!("&{lt}str");
    }
    if let Some(inner) = owned.strip_prefix("Vec<").and_then(|s| s.strip_suffix('>')) {
        return format!("&{lt}[{inner}]");
    }
    if is_copy(owned, enums) {
        owned.to_owned()
    } else {
        format!("&{lt}{owned}")
    }
}

fn is_borrowed(t: &str) -> bool {
    t.contains('&')
}

/// One line, or one item per line, the way rustfmt lays out a list: `open` ends the
/// first line (`let params: [...] = [`), `close` follows the last item (`];`).
fn list(indent: usize, open: &str, items: &[String], close: &str) -> Vec<String> {
    let pad = " ".repeat(indent);
    let joined = items.join(", ");
    let one = format!("{pad}{open}{joined}{close}");
    if one.chars().count() <= MAX_WIDTH && joined.chars().count() <= LIST_WIDTH {
        return vec![one];
    }
    let inner = " ".repeat(indent + 4);
    // An assignment whose list fits on the next line goes there whole.
    let split = [" &[", " ["]
        .iter()
        .find_map(|o| Some((open.strip_suffix(o)?, o.trim_start())))
        .filter(|(lhs, _)| lhs.ends_with('='));
    if let Some((lhs, bracket)) = split {
        let next = format!("{inner}{bracket}{joined}{close}");
        if next.chars().count() <= MAX_WIDTH && joined.chars().count() <= LIST_WIDTH {
            return vec![format!("{pad}{lhs}"), next];
        }
    }
    let mut out = vec![format!("{pad}{open}")];
    if items.iter().all(|i| i.chars().count() <= SHORT_ITEM) {
        let mut line = String::new();
        for it in items {
            let add = if line.is_empty() {
                format!("{it},")
            } else {
                format!(" {it},")
            };
            if !line.is_empty() && inner.len() + line.len() + add.len() > MAX_WIDTH {
                out.push(format!("{inner}{line}"));
                line.clear();
                line.push_str(&format!("{it},"));
            } else {
                line.push_str(&add);
            }
        }
        if !line.is_empty() {
            out.push(format!("{inner}{line}"));
        }
    } else {
        out.extend(items.iter().map(|i| format!("{inner}{i},")));
    }
    out.push(format!("{pad}{close}"));
    out
}

/// A `#[derive(...)]` attribute as rustfmt lays it out: one line up to 70 characters
/// of arguments, else the arguments packed on indented lines.
fn derive_attr(items: &[&str]) -> String {
    let joined = items.join(", ");
    if joined.chars().count() <= 70 {
        return format!("#[derive({joined})]");
    }
    let mut lines = vec!["#[derive(".to_owned()];
    // `    a, b, c,` fits within the line width.
    if 4 + joined.chars().count() < MAX_WIDTH {
        lines.push(format!("    {joined},"));
    } else {
        lines.extend(items.iter().map(|i| format!("    {i},")));
    }
    lines.push(")]".into());
    lines.join("\n")
}

/// A function signature line (or lines) ending with ` {`.
fn signature(head: &str, args: &[String], ret: &str) -> Vec<String> {
    let one = format!("{head}({}) -> {ret} {{", args.join(", "));
    if one.chars().count() <= MAX_WIDTH {
        return vec![one];
    }
    let mut out = vec![format!("{head}(")];
    out.extend(args.iter().map(|a| format!("    {a},")));
    out.push(format!(") -> {ret} {{"));
    out
}

#[derive(Serialize)]
struct LibCtx {
    header: String,
    contract: String,
    version: String,
    crate_name: String,
    mod_lines: Vec<String>,
    statement_lines: Vec<String>,
    /// The retry policies' statics.
    policy_lines: Vec<String>,
    /// The `POLICIES` static.
    policies_lines: Vec<String>,
    /// `sqlpact-runtime = ...`, the Cargo dependency line.
    runtime_dependency: String,
    serde: bool,
    /// The crate needs `serde_interval` (serde for `pg_interval::Interval`).
    serde_interval: bool,
    /// The crate needs `serde_array` (serde for `postgres_array::Array<T>`).
    serde_array: bool,
    /// A module inside an existing crate, not a crate.
    module: bool,
    dependencies: Vec<String>,
    postgres_features: String,
}

#[derive(Serialize)]
struct EnumCtx {
    derives: String,
    all_lines: Vec<String>,
    name: String,
    pg_name: String,
    pg_name_literal: String,
    variants: Vec<VariantCtx>,
    all: Vec<String>,
}

#[derive(Serialize)]
struct VariantCtx {
    name: String,
    value: String,
}

#[derive(Serialize, Clone)]
struct StructCtx {
    name: String,
    doc: String,
    lifetime: String,
    derives: String,
    fields: Vec<String>,
    /// `from_row` (whole row) or `from_row_at` (embedded at an offset), as used.
    #[serde(serialize_with = "super::joined")]
    from_row: Vec<String>,
    from_row_at: Vec<String>,
    from_row_at_opt: Vec<String>,
}

#[derive(Serialize)]
struct ModCtx {
    header: String,
    source: String,
    uses: Vec<String>,
    enums: Vec<EnumCtx>,
    structs: Vec<StructCtx>,
    queries: Vec<QueryCtx>,
    serde: bool,
}

#[derive(Serialize)]
struct QueryCtx {
    const_name: String,
    name: String,
    command: String,
    sql: String,
    read_only: bool,
    idempotent: bool,
    /// `Primary` or `Replica`, the runtime's `Route` variant.
    route: String,
    timeout_ms: u64,
    /// The static of the retry policy: `RETRY_STANDARD`.
    retry: String,
    /// `None`, or `Some(&NAME_KEY)`.
    idempotency: String,
    expect_one_row: bool,
    /// The idempotency key's static, when the query has one.
    key_lines: Vec<String>,
    #[serde(serialize_with = "super::joined")]
    doc: Vec<String>,
    structs: Vec<StructCtx>,
    /// The function (and its streaming variant) as lines; the template indents nothing.
    #[serde(serialize_with = "super::joined")]
    body: Vec<String>,
    /// The `const NAME_COPY: &str = "COPY ..."` lines of a `:copyfrom` query.
    copy_const: Vec<String>,
}

/// How one result column is read from a row at `idx`.
fn read_expr(c: &Column, idx: &str, domain: bool) -> String {
    // Enums are read directly; domains through their base type.
    if domain {
        if c.nullable {
            format!("super::domain_opt(row, {idx})?")
        } else {
            format!("super::domain(row, {idx})?")
        }
    } else {
        format!("row.try_get({idx})?")
    }
}

/// `(name, type or expression)` pairs.
type Named = Vec<(String, String)>;

/// A row's field declarations, readers, and serialized names.
type Parts = (Named, Named, Vec<String>);

/// A struct field line; with serde, types without serde support of their own get a
/// `with` module from the generated crate.
fn field_line(name: &str, key: &str, ty: &str, serde: bool) -> String {
    // serde strips `r#`; other renamed fields (`self_`, `id_2`) keep the column's name.
    let rename = if serde && name.trim_start_matches("r#") != key {
        format!("#[serde(rename = {})]\n    ", rust_str(key))
    } else {
        String::new()
    };
    let with = match ty {
        "pg_interval::Interval" => Some("super::serde_interval"),
        "Option<pg_interval::Interval>" => Some("super::serde_interval::option"),
        "Vec<pg_interval::Interval>" => Some("super::serde_interval::vec"),
        "Option<Vec<pg_interval::Interval>>" => Some("super::serde_interval::option_vec"),
        "Vec<Option<pg_interval::Interval>>" => Some("super::serde_interval::vec_option"),
        "Option<Vec<Option<pg_interval::Interval>>>" => {
            Some("super::serde_interval::option_vec_option")
        }
        "postgres_array::Array<pg_interval::Interval>" => Some("super::serde_interval::array"),
        "postgres_array::Array<Option<pg_interval::Interval>>" => {
            Some("super::serde_interval::array_option")
        }
        "Option<postgres_array::Array<pg_interval::Interval>>" => {
            Some("super::serde_interval::option_array")
        }
        "Option<postgres_array::Array<Option<pg_interval::Interval>>>" => {
            Some("super::serde_interval::option_array_option")
        }
        _ if ty.starts_with("postgres_array::Array<") => Some("super::serde_array"),
        _ if ty.starts_with("Option<postgres_array::Array<") => Some("super::serde_array::option"),
        _ => None,
    };
    match with {
        Some(w) if serde => format!("{rename}#[serde(with = \"{w}\")]\n    pub {name}: {ty},"),
        _ => format!("{rename}pub {name}: {ty},"),
    }
}

struct Gen<'a> {
    /// Domains of the schema: their values are read and written through `Domain<T>`.
    domains: BTreeSet<String>,
    enums: BTreeSet<String>,
    embed_names: BTreeMap<String, String>,
    row_type_of: BTreeMap<&'a str, &'a str>,
    derives: String,
    serde: bool,
}

impl Gen<'_> {
    fn is_domain(&self, ty: &str) -> bool {
        self.domains.contains(ty)
    }

    fn struct_fields(&self, cols: &[Column]) -> Vec<(String, String)> {
        let mut names: Vec<String> = cols.iter().map(|c| rust_snake(&c.name)).collect();
        dedupe(&mut names, "_");
        names
            .into_iter()
            .zip(cols)
            .map(|(n, c)| (n, c.rust_type.to_string()))
            .collect()
    }

    /// Field declarations and readers of a query's row: plain columns and embeds.
    /// Field declarations `(name, type)` and readers `(name, expression)`.
    fn row_parts(&self, q: &Query) -> Parts {
        let mut decl = Vec::new();
        let mut read = Vec::new();
        let mut keys = Vec::new();
        let mut i = 0;
        while i < q.columns.len() {
            if let Some(e) = q.embeds.iter().find(|e| e.first_column as usize == i) {
                let sname = self.embed_names.get(&e.table).cloned().unwrap_or_default();
                let fname = rust_snake(&singular(&e.name));
                keys.push(fname.trim_start_matches("r#").to_owned());
                if e.nullable {
                    decl.push((fname.clone(), format!("Option<{sname}>")));
                    read.push((fname, format!("{sname}::from_row_at_opt(row, {i})?")));
                } else {
                    decl.push((fname.clone(), sname.clone()));
                    read.push((fname, format!("{sname}::from_row_at(row, {i})?")));
                }
                i += e.column_count as usize;
            } else {
                let c = &q.columns[i];
                let n = rust_snake(&c.name);
                keys.push(c.name.clone());
                decl.push((n.clone(), c.rust_type.to_string()));
                read.push((n, read_expr(c, &i.to_string(), self.is_domain(&c.ty))));
                i += 1;
            }
        }
        let mut names: Vec<String> = decl.iter().map(|d| d.0.clone()).collect();
        dedupe(&mut names, "_");
        for ((d, r), n) in decl.iter_mut().zip(read.iter_mut()).zip(names) {
            d.0 = n.clone();
            r.0 = n;
        }
        (decl, read, keys)
    }

    fn from_row_lines(fn_head: &str, reads: &[(String, String)]) -> Vec<String> {
        let mut v = vec![format!("    {fn_head} {{"), "        Ok(Self {".to_owned()];
        for (n, e) in reads {
            v.push(format!("            {n}: {e},"));
        }
        v.push("        })".into());
        v.push("    }".into());
        v
    }

    fn row_struct(&self, name: &str, doc: String, parts: &Parts) -> StructCtx {
        let (decl, read, keys) = parts;
        StructCtx {
            name: name.to_owned(),
            doc,
            lifetime: String::new(),
            derives: self.derives.clone(),
            fields: decl
                .iter()
                .zip(keys)
                .map(|((n, t), k)| field_line(n, k, t, self.serde))
                .collect(),
            from_row: Self::from_row_lines(
                "pub(crate) fn from_row(row: &Row) -> Result<Self, Error>",
                read,
            ),
            from_row_at: Vec::new(),
            from_row_at_opt: Vec::new(),
        }
    }

    fn query(&self, q: &Query, uses: &mut BTreeSet<String>) -> QueryCtx {
        let fname = rust_snake(&q.name);
        let const_name = fname.trim_start_matches("r#").to_uppercase();
        let mut structs = Vec::new();
        let mut doc = vec![format!(
            "/// Runs `{}` ({}:{}).",
            q.name,
            comment(&q.source.file),
            q.source.line
        )];
        if !q.doc.is_empty() {
            doc.push("///".into());
            doc.extend(
                q.doc
                    .iter()
                    .map(|d| format!("/// {}", doc_line(d)).trim_end().to_owned()),
            );
        }
        // A fence the SQL cannot close: nothing in it becomes a doctest.
        let f = fence(&q.sql);
        doc.push("///".into());
        doc.push(format!("/// {f}sql"));
        doc.extend(
            q.sql
                .lines()
                .map(|l| format!("/// {}", comment(l)).trim_end().to_owned()),
        );
        doc.push(format!("/// {f}"));

        let mut params: Vec<&Param> = q.params.iter().collect();
        params.sort_by_key(|p| p.position);
        let batch = matches!(
            q.command.as_str(),
            "batchexec" | "batchone" | "batchmany" | "copyfrom"
        );
        let use_struct = params.len() > MAX_POSITIONAL || (batch && params.len() > 1);
        let mut pnames: Vec<String> = params.iter().map(|p| rust_param(&p.name)).collect();
        dedupe(&mut pnames, "_");
        let pstruct = format!("{}Params", rust_pascal(&q.name));
        let mut args = vec!["db: &impl Executor".to_owned()];
        let base = |p: &Param, n: &str| -> String {
            if self.is_domain(&p.ty) {
                if p.nullable {
                    format!("&{n}.map(super::Domain)")
                } else {
                    format!("&super::Domain({n})")
                }
            } else {
                format!("&{n}")
            }
        };
        let mut pass: Vec<String> = Vec::new();
        let mut item_type = String::new();
        if use_struct {
            let fields: Vec<(String, String)> = params
                .iter()
                .zip(&pnames)
                .map(|(p, n)| (n.clone(), param_type(&p.rust_type, "'a ", &self.enums)))
                .collect();
            let borrowed = fields.iter().any(|f| is_borrowed(&f.1));
            let lt = if borrowed { "<'a>" } else { "" };
            structs.push(StructCtx {
                name: pstruct.clone(),
                doc: format!("/// The parameters of [`{fname}`]."),
                lifetime: lt.to_owned(),
                derives: "#[derive(Debug, Clone, PartialEq)]".into(),
                fields: fields
                    .iter()
                    .map(|(n, t)| format!("pub {n}: {t},"))
                    .collect(),
                from_row: Vec::new(),
                from_row_at: Vec::new(),
                from_row_at_opt: Vec::new(),
            });
            let var = if batch { "item" } else { "p" };
            let copy = q.command == "copyfrom";
            let deref = |p: &Param, n: &str| -> String {
                let field = format!("{var}.{n}");
                // A domain value is wrapped, except for COPY, which is typed with the
                // domains' base types (the rows outlive a wrapper made in the loop).
                if self.is_domain(&p.ty) && !copy {
                    base(p, &field)
                } else {
                    format!("&{field}")
                }
            };
            pass = params
                .iter()
                .zip(&pnames)
                .map(|(p, n)| deref(p, n))
                .collect();
            item_type = if borrowed {
                format!("{pstruct}<'_>")
            } else {
                pstruct.clone()
            };
            if !batch {
                args.push(format!("p: &{item_type}"));
            }
        } else if batch {
            if let Some(p) = params.first() {
                item_type = p.rust_type.to_string();
                pass = vec![if self.is_domain(&p.ty) {
                    if p.nullable {
                        "&item.map(super::Domain)".into()
                    } else {
                        "&super::Domain(*item)".into()
                    }
                } else {
                    "item".into()
                }];
            }
        } else {
            for (p, n) in params.iter().zip(&pnames) {
                args.push(format!(
                    "{n}: {}",
                    param_type(&p.rust_type, "", &self.enums)
                ));
                pass.push(base(p, n));
            }
        }
        if batch {
            args.push(format!("items: &[{item_type}]"));
        }

        // The row type.
        let single = q.columns.len() == 1 && q.embeds.is_empty();
        let parts = self.row_parts(q);
        let mut row_type = String::new();
        let mut reader = String::new();
        if !q.columns.is_empty() {
            if single {
                let c = &q.columns[0];
                row_type = c.rust_type.to_string();
                reader = if self.is_domain(&c.ty) {
                    if c.nullable {
                        "super::first_domain_opt".into()
                    } else {
                        "super::first_domain".into()
                    }
                } else {
                    "super::first".into()
                };
            } else {
                row_type = match self.row_type_of.get(q.name.as_str()) {
                    Some(rt) => {
                        let n = rust_pascal(rt);
                        uses.insert(n.clone());
                        n
                    }
                    None => {
                        let n = format!("{}Row", rust_pascal(&q.name));
                        structs.push(self.row_struct(
                            &n,
                            format!("/// A row of [`{fname}`]."),
                            &parts,
                        ));
                        n
                    }
                };
                reader = format!("{row_type}::from_row");
            }
        }
        for (_, t) in &parts.0 {
            for e in &self.enums {
                if t.contains(e.as_str()) {
                    uses.insert(e.clone());
                }
            }
            for s in self.embed_names.values() {
                if t == s || t.strip_prefix("Option<").and_then(|x| x.strip_suffix('>')) == Some(s)
                {
                    uses.insert(s.clone());
                }
            }
        }
        for p in &params {
            for e in &self.enums {
                if p.rust_type.contains(e.as_str()) {
                    uses.insert(e.clone());
                }
            }
        }

        let n = pass.len();
        let params_decl = |indent: usize| -> Vec<String> {
            if n == 0 {
                Vec::new()
            } else {
                list(
                    indent,
                    &format!("let params: [&(dyn ToSql + Sync); {n}] = ["),
                    &pass,
                    "];",
                )
            }
        };
        let p_arg = if n == 0 { "&[]" } else { "&params" };
        let head = format!("pub async fn {fname}");
        let mut body = Vec::new();
        let st = format!("    let st = &{const_name};");
        let mut copy_sql = None;
        match q.command.as_str() {
            "one" => {
                body.extend(signature(
                    &head,
                    &args,
                    &format!("Result<{row_type}, Error>"),
                ));
                body.push(st);
                body.extend(params_decl(4));
                body.push(format!("    let row = db.query_one(st, {p_arg}).await?;"));
                body.push(format!("    {reader}(&row)"));
                body.push("}".into());
            }
            "many" => {
                body.extend(signature(
                    &head,
                    &args,
                    &format!("Result<Vec<{row_type}>, Error>"),
                ));
                body.push(st.clone());
                body.extend(params_decl(4));
                body.push(format!("    let rows = db.query(st, {p_arg}).await?;"));
                body.extend(list(
                    4,
                    "super::collect_rows(",
                    &["&rows".into(), reader.clone()],
                    ")",
                ));
                body.push("}".into());
                body.push(String::new());
                body.push(format!(
                    "/// Streams the rows of [`{fname}`] as they arrive."
                ));
                body.extend(signature(
                    &format!("pub async fn {}_stream", fname.trim_start_matches("r#")),
                    &args,
                    &format!("Result<RowStream<{row_type}>, Error>"),
                ));
                body.push(st);
                body.extend(params_decl(4));
                body.push(format!(
                    "    let rows = db.query_stream(st, {p_arg}).await?;"
                ));
                body.extend(list(
                    4,
                    "super::map_rows(",
                    &["rows".into(), reader.clone()],
                    ")",
                ));
                body.push("}".into());
                uses.insert("RowStream".into());
            }
            "exec" => {
                body.extend(signature(&head, &args, "Result<(), Error>"));
                body.push(st);
                body.extend(params_decl(4));
                body.push(format!("    db.execute(st, {p_arg}).await?;"));
                body.push("    Ok(())".into());
                body.push("}".into());
            }
            "execrows" | "execresult" => {
                body.extend(signature(&head, &args, "Result<u64, Error>"));
                body.push(st);
                body.extend(params_decl(4));
                body.push(format!("    db.execute(st, {p_arg}).await"));
                body.push("}".into());
            }
            "batchexec" => {
                body.extend(signature(&head, &args, "Result<(), Error>"));
                body.push(st);
                body.push("    for item in items {".into());
                body.extend(params_decl(8));
                body.push(format!("        db.execute(st, {p_arg}).await?;"));
                body.push("    }".into());
                body.push("    Ok(())".into());
                body.push("}".into());
            }
            "batchone" => {
                body.extend(signature(
                    &head,
                    &args,
                    &format!("Result<Vec<{row_type}>, Error>"),
                ));
                body.push(st);
                body.push("    let mut out = Vec::with_capacity(items.len());".into());
                body.push("    for item in items {".into());
                body.extend(params_decl(8));
                body.push(format!(
                    "        let row = db.query_one(st, {p_arg}).await?;"
                ));
                body.push(format!("        let item = {reader}(&row)?;"));
                body.push("        out.push(item);".into());
                body.push("    }".into());
                body.push("    Ok(out)".into());
                body.push("}".into());
            }
            "batchmany" => {
                body.extend(signature(
                    &head,
                    &args,
                    &format!("Result<Vec<Vec<{row_type}>>, Error>"),
                ));
                body.push(st);
                body.push("    let mut out = Vec::with_capacity(items.len());".into());
                body.push("    for item in items {".into());
                body.extend(params_decl(8));
                body.push(format!("        let rows = db.query(st, {p_arg}).await?;"));
                let mut collect = list(
                    8,
                    "let group = super::collect_rows(",
                    &["&rows".into(), reader.clone()],
                    ")?;",
                );
                body.append(&mut collect);
                body.push("        out.push(group);".into());
                body.push("    }".into());
                body.push("    Ok(out)".into());
                body.push("}".into());
            }
            "copyfrom" => {
                let table = q.tables.first().cloned().unwrap_or_default();
                let cols: Vec<String> = params
                    .iter()
                    .map(|p| {
                        p.column
                            .as_deref()
                            .and_then(|c| c.rsplit('.').next())
                            .unwrap_or(&p.name)
                            .to_owned()
                    })
                    .collect();
                let table: Vec<String> = table.split('.').map(sql_ident).collect();
                let cols: Vec<String> = cols.iter().map(|c| sql_ident(c)).collect();
                copy_sql = Some(rust_str(&format!(
                    "COPY {} ({}) FROM STDIN BINARY",
                    table.join("."),
                    cols.join(", ")
                )));
                body.extend(signature(&head, &args, "Result<u64, Error>"));
                body.push(st);
                body.push("    let mut rows = Vec::with_capacity(items.len());".into());
                body.push("    for item in items {".into());
                body.extend(params_decl(8));
                body.push("        rows.push(params);".into());
                body.push("    }".into());
                body.push(format!(
                    "    db.copy_in(st, {const_name}_COPY, &rows).await"
                ));
                body.push("}".into());
            }
            _ => {}
        }
        if n > 0 {
            uses.insert("ToSql".into());
        }
        QueryCtx {
            const_name: const_name.clone(),
            name: q.name.clone(),
            command: q.command.clone(),
            sql: rust_sql(&q.sql),
            read_only: q.read_only,
            idempotent: q.policy.idempotent,
            route: if q.policy.route == "replica" {
                "Replica".into()
            } else {
                "Primary".into()
            },
            timeout_ms: q.policy.timeout_ms,
            retry: retry_static(&q.policy.retry),
            idempotency: if q.policy.idempotency_key.is_some() {
                format!("Some(&{const_name}_KEY)")
            } else {
                "None".into()
            },
            expect_one_row: q.policy.expect_one_row,
            key_lines: key_lines(q, &const_name),
            doc,
            structs,
            body,
            copy_const: copy_sql
                .map(|sql| {
                    let one = format!("const {const_name}_COPY: &str = {sql};");
                    if one.chars().count() <= MAX_WIDTH {
                        vec![one]
                    } else {
                        vec![
                            format!("const {const_name}_COPY: &str ="),
                            format!("    {sql};"),
                        ]
                    }
                })
                .unwrap_or_default(),
        }
    }
}

/// Generates the crate: Cargo.toml, src/lib.rs, src/models.rs, one module per query file.
pub fn generate(
    c: &Contract,
    out: &RustOutput,
    t: &Templates,
    wire: Option<&crate::wire::Build>,
    root: &Path,
) -> Result<Rendered, GenError> {
    let header = header_line("//", c);
    let enum_names: BTreeSet<String> = c
        .schema
        .enums
        .iter()
        .map(|e| rust_pascal(e.name.strip_prefix("public.").unwrap_or(&e.name)))
        .collect();
    let serde_derives: &[&str] = if out.serde {
        &["serde::Serialize", "serde::Deserialize"]
    } else {
        &[]
    };
    let derives = derive_attr(&[&["Debug", "Clone", "PartialEq"], serde_derives].concat());
    let enum_derives = derive_attr(
        &[
            &[
                "Debug",
                "Clone",
                "Copy",
                "PartialEq",
                "Eq",
                "Hash",
                "postgres_types::ToSql",
                "postgres_types::FromSql",
            ],
            serde_derives,
        ]
        .concat(),
    );
    let mut g = Gen {
        domains: c.schema.domains.iter().map(|d| d.name.clone()).collect(),
        enums: enum_names,
        embed_names: BTreeMap::new(),
        row_type_of: c
            .row_types
            .iter()
            .flat_map(|r| r.queries.iter().map(move |q| (q.as_str(), r.name.as_str())))
            .collect(),
        derives,
        serde: out.serde,
    };

    // models.rs: enums, embedded table structs, shared row types.
    let enums: Vec<EnumCtx> = c
        .schema
        .enums
        .iter()
        .map(|e| {
            let (name, vs) = enum_idents(e);
            let all: Vec<String> = vs.iter().map(|v| format!("{name}::{v}")).collect();
            EnumCtx {
                derives: enum_derives.clone(),
                all_lines: list(
                    4,
                    &format!("pub const ALL: &'static [{name}] = &["),
                    &all,
                    "];",
                ),
                all,
                variants: vs
                    .into_iter()
                    .zip(&e.values)
                    .map(|(n, v)| VariantCtx {
                        name: n,
                        value: rust_str(v),
                    })
                    .collect(),
                pg_name: comment(e.name.rsplit('.').next().unwrap_or(&e.name)),
                pg_name_literal: rust_str(e.name.rsplit('.').next().unwrap_or(&e.name)),
                name,
            }
        })
        .collect();
    let mut model_structs: Vec<StructCtx> = Vec::new();
    let mut embed_use: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for q in &c.queries {
        for e in &q.embeds {
            let entry = embed_use.entry(e.table.clone()).or_default();
            if e.nullable {
                entry.1 = true;
            } else {
                entry.0 = true;
            }
            if g.embed_names.contains_key(&e.table) {
                continue;
            }
            let bare = e.table.rsplit('.').next().unwrap_or(&e.table);
            let name = rust_pascal(&singular(bare));
            let cols =
                &q.columns[e.first_column as usize..(e.first_column + e.column_count) as usize];
            let fields = g.struct_fields(cols);
            let reads: Vec<(String, String)> = fields
                .iter()
                .zip(cols)
                .enumerate()
                .map(|(k, ((n, _), col))| {
                    let idx = if k == 0 {
                        "at".to_owned()
                    } else {
                        format!("at + {k}")
                    };
                    (n.clone(), read_expr(col, &idx, g.is_domain(&col.ty)))
                })
                .collect();
            let guards: Vec<(usize, &Column)> = cols
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.nullable)
                .collect();
            let mut opt = vec![
                "    pub(crate) fn from_row_at_opt(row: &Row, at: usize) -> Result<Option<Self>, Error> {"
                    .to_owned(),
            ];
            // Absent when a NOT NULL column of the table came back NULL.
            for (k, col) in &guards {
                let idx = if *k == 0 {
                    "at".to_owned()
                } else {
                    format!("at + {k}")
                };
                let ty = if g.is_domain(&col.ty) {
                    format!("Option<super::Domain<{}>>", col.rust_type)
                } else {
                    format!("Option<{}>", col.rust_type)
                };
                opt.push(format!("        let v: {ty} = row.try_get({idx})?;"));
                opt.push("        if v.is_none() {".into());
                opt.push("            return Ok(None);".into());
                opt.push("        }".into());
            }
            opt.push("        Self::from_row_at(row, at).map(Some)".into());
            opt.push("    }".into());
            model_structs.push(StructCtx {
                name: name.clone(),
                doc: format!("/// A row of `{}`.", comment(&e.table)),
                lifetime: String::new(),
                derives: g.derives.clone(),
                fields: fields
                    .iter()
                    .zip(cols)
                    .map(|((n, t), c)| field_line(n, &c.name, t, g.serde))
                    .collect(),
                from_row: Vec::new(),
                from_row_at: Gen::from_row_lines(
                    "pub(crate) fn from_row_at(row: &Row, at: usize) -> Result<Self, Error>",
                    &reads,
                ),
                from_row_at_opt: opt,
            });
            g.embed_names.insert(e.table.clone(), name);
        }
    }
    for s in model_structs.iter_mut() {
        let table = g
            .embed_names
            .iter()
            .find(|(_, n)| **n == s.name)
            .map(|(t, _)| t.clone())
            .unwrap_or_default();
        let (plain, nullable) = embed_use.get(&table).copied().unwrap_or_default();
        if !plain && !nullable {
            s.from_row_at.clear();
        }
        if !nullable {
            s.from_row_at_opt.clear();
        }
    }
    let mut done = BTreeSet::new();
    for q in &c.queries {
        if let Some(rt) = &q.row_type {
            if done.insert(rt.clone()) {
                let users = c
                    .row_types
                    .iter()
                    .find(|r| &r.name == rt)
                    .map(|r| r.queries.join("`, `"))
                    .unwrap_or_default();
                model_structs.push(g.row_struct(
                    &rust_pascal(rt),
                    format!("/// The row of `{users}`."),
                    &g.row_parts(q),
                ));
            }
        }
    }
    let has_models = !enums.is_empty() || !model_structs.is_empty();
    let mut files = Rendered::new();
    let mut model_uses = BTreeSet::new();
    for s in &model_structs {
        for f in &s.fields {
            for e in &g.enums {
                if f.contains(e.as_str()) {
                    model_uses.insert(e.clone());
                }
            }
        }
    }
    if has_models {
        let mut uses = vec![];
        if !model_structs.is_empty() {
            uses.push("use tokio_postgres::Row;".to_owned());
            uses.push(String::new());
            uses.push("use super::Error;".to_owned());
        }
        let ctx = ModCtx {
            header: header.clone(),
            source: String::new(),
            uses,
            enums,
            structs: model_structs,
            queries: Vec::new(),
            serde: out.serde,
        };
        files.insert("src/models.rs".into(), t.render("rust", "models.rs", &ctx)?);
    }

    let mut modules = Vec::new();
    let mut statements = Vec::new();
    for (file, queries) in file_group(&c.queries) {
        let stem = file
            .rsplit('/')
            .next()
            .unwrap_or(&file)
            .split('.')
            .next()
            .unwrap_or("queries");
        // A keyword cannot name a module file: `type.sql` becomes `type_`.
        let snake = rust_snake(stem);
        let mut module = match snake.strip_prefix("r#") {
            Some(k) => format!("{k}_"),
            None => snake,
        };
        if module == "models" || module == "lib" {
            module.push_str("_queries");
        }
        while modules.contains(&module) {
            module.push('_');
        }
        let mut uses = BTreeSet::new();
        let qctxs: Vec<QueryCtx> = queries.iter().map(|q| g.query(q, &mut uses)).collect();
        for q in &qctxs {
            statements.push(format!("&{module}::{}", q.const_name));
        }
        let mut use_lines = vec!["use std::time::Duration;".to_owned(), String::new()];
        let needs_row = qctxs
            .iter()
            .any(|q| !q.structs.iter().all(|s| s.from_row.is_empty()));
        if uses.contains("ToSql") {
            use_lines.push("use tokio_postgres::types::ToSql;".into());
        }
        if needs_row {
            use_lines.push("use tokio_postgres::Row;".into());
        }
        if uses.contains("ToSql") || needs_row {
            use_lines.push(String::new());
        }
        let mut crate_uses: Vec<String> =
            vec!["Error".into(), "Executor".into(), "Statement".into()];
        for u in &uses {
            if u != "ToSql" {
                crate_uses.push(u.clone());
            }
        }
        crate_uses.sort();
        for u in crate_uses {
            use_lines.push(format!("use super::{u};"));
        }
        let ctx = ModCtx {
            header: header.clone(),
            source: file.clone(),
            uses: use_lines,
            enums: Vec::new(),
            structs: Vec::new(),
            queries: qctxs,
            serde: out.serde,
        };
        files.insert(
            format!("src/{module}.rs"),
            t.render("rust", "queries.rs", &ctx)?,
        );
        modules.push(module);
    }

    let mut mods = modules.clone();
    if has_models {
        mods.push("models".into());
    }
    mods.sort();
    let mut mod_lines: Vec<String> = mods.iter().map(|m| format!("mod {m};")).collect();
    if let Some(b) = wire {
        files.insert(
            "src/wire.rs".into(),
            super::rust_wire::messages(&header, b)?,
        );
        files.insert("src/wire_rows.rs".into(), wire_rows(c, &g, &header, b));
        mod_lines.push("pub mod wire;".into());
        mod_lines.push("mod wire_rows;".into());
        mods.push("wire_rows".into());
        mods.sort();
        mod_lines.sort_by(|a, b| {
            a.trim_start_matches("pub ")
                .cmp(b.trim_start_matches("pub "))
        });
    }
    mod_lines.push(String::new());
    mod_lines.extend(mods.iter().map(|m| format!("pub use {m}::*;")));

    // Dependencies: the crates the mapped types name, in the built-in mapping's form
    // unless the registry declares them, and those it declares.
    let specs = crate_specs();
    let mut used_crates = BTreeSet::new();
    for q in &c.queries {
        for ty in q
            .params
            .iter()
            .map(|p| &p.rust_type)
            .chain(q.columns.iter().map(|c| &c.rust_type))
        {
            used_crates.extend(
                crate_roots(ty)
                    .into_iter()
                    .filter(|r| specs.contains_key(*r))
                    .map(str::to_owned),
            );
        }
    }
    let mut deps = Vec::new();
    let mut pg_features = BTreeSet::new();
    for name in &used_crates {
        let s = &specs[name];
        if let Some(f) = &s.postgres_feature {
            pg_features.insert(f.clone());
        }
        if out.dependencies.keys().any(|d| code_name(d) == *name) {
            continue;
        }
        let mut features = s.features.clone();
        if out.serde {
            features.extend(s.serde_features.iter().cloned());
        }
        deps.push(if features.is_empty() {
            format!("{name} = \"{}\"", s.version)
        } else {
            format!(
                "{name} = {{ version = \"{}\", features = [{}] }}",
                s.version,
                features
                    .iter()
                    .map(|f| format!("\"{f}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }
    for (name, spec) in &out.dependencies {
        if let Some(f) = &spec.postgres_feature {
            pg_features.insert(f.clone());
        }
        deps.push(declared_dependency(root, out, name, spec));
    }
    deps.sort();
    let pg_features: Vec<String> = std::iter::once("runtime".to_owned())
        .chain(pg_features)
        .map(|f| format!("\"{f}\""))
        .collect();
    if out.serde {
        deps.push("serde = { version = \"1\", features = [\"derive\"] }".into());
    }
    if wire.is_some() {
        deps.push("prost = \"0.14\"".into());
        deps.push("prost-types = \"0.14\"".into());
        deps.sort();
    }
    let lib = LibCtx {
        header: header_line("#", c),
        contract: c.name.clone(),
        version: c.version.clone(),
        crate_name: out.crate_name.clone(),
        mod_lines,
        statement_lines: list(
            0,
            "pub static STATEMENTS: &[&Statement] = &[",
            &statements,
            "];",
        ),
        policy_lines: retry_lines(c),
        policies_lines: policies_lines(c),
        runtime_dependency: runtime_dependency(root, out),
        serde: out.serde,
        serde_interval: out.serde && used_crates.contains("pg_interval"),
        serde_array: out.serde && used_crates.contains("postgres_array"),
        module: out.module,
        dependencies: deps,
        postgres_features: pg_features.join(", "),
    };
    if out.module {
        // A module: mod.rs next to its files, no Cargo.toml (the dependencies are listed
        // in mod.rs's documentation for the including crate).
        let m = LibCtx {
            header: header.clone(),
            ..lib
        };
        let mut rendered = Rendered::new();
        rendered.insert("mod.rs".into(), t.render("rust", "lib.rs", &m)?);
        for (name, text) in files {
            let name = name.strip_prefix("src/").unwrap_or(&name).to_owned();
            rendered.insert(name, text);
        }
        return Ok(rendered);
    }
    files.insert("Cargo.toml".into(), t.render("rust", "Cargo.toml", &lib)?);
    let lib_rs = LibCtx {
        header: header.clone(),
        ..lib
    };
    files.insert("src/lib.rs".into(), t.render("rust", "lib.rs", &lib_rs)?);
    Ok(files)
}

/// A SQL enum's Rust type name and its variants' names, in value order.
fn enum_idents(e: &crate::model::Enum) -> (String, Vec<String>) {
    let name = rust_pascal(e.name.strip_prefix("public.").unwrap_or(&e.name));
    let mut vs: Vec<String> = e.values.iter().map(|v| rust_pascal(v)).collect();
    dedupe(&mut vs, "");
    (name, vs)
}

/// The conversions between row structs and wire messages (`src/wire_rows.rs`).
fn wire_rows(c: &Contract, g: &Gen<'_>, header: &str, b: &crate::wire::Build) -> String {
    use super::rust_wire::RowStruct;
    let message = |name: &str| b.model.messages.iter().find(|m| m.name == name);
    let mut rows: Vec<RowStruct<'_>> = Vec::new();
    let mut seen = BTreeSet::new();
    for q in &c.queries {
        for e in &q.embeds {
            let Some(name) = g.embed_names.get(&e.table) else {
                continue;
            };
            if let (true, Some(m)) = (seen.insert(name.clone()), message(name)) {
                let cols =
                    &q.columns[e.first_column as usize..(e.first_column + e.column_count) as usize];
                rows.push(RowStruct {
                    name: name.clone(),
                    fields: g.struct_fields(cols),
                    message: m,
                });
            }
        }
        if q.columns.len() == 1 && q.embeds.is_empty() || q.columns.is_empty() {
            continue;
        }
        let name = match &q.row_type {
            Some(rt) => rust_pascal(rt),
            None => format!("{}Row", rust_pascal(&q.name)),
        };
        if let (true, Some(m)) = (seen.insert(name.clone()), message(&name)) {
            rows.push(RowStruct {
                name,
                fields: g.row_parts(q).0,
                message: m,
            });
        }
    }
    let enums: Vec<(String, Vec<(String, String)>)> = c
        .schema
        .enums
        .iter()
        .map(|e| {
            let (name, vs) = enum_idents(e);
            let wire_vs: Vec<String> = e
                .values
                .iter()
                .map(|v| rust_pascal(&crate::generate::names::words(v).join("_")))
                .collect();
            (name, vs.into_iter().zip(wire_vs).collect())
        })
        .collect();
    super::rust_wire::conversions(header, &rows, &enums, b)
}

/// The static holding a retry policy: `standard` → `RETRY_STANDARD`.
fn retry_static(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("RETRY_{upper}")
}

fn duration(ms: u64) -> String {
    format!("Duration::from_millis({ms})")
}

/// One static per retry policy of the contract.
fn retry_lines(c: &Contract) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, r) in &c.policies.retry {
        let jitter = match r.jitter.as_str() {
            "equal" => "Equal",
            "none" => "None",
            _ => "Full",
        };
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.extend([
            format!("/// The retry policy `{}`.", comment(name)),
            format!(
                "pub static {}: sqlpact_runtime::RetryPolicy = sqlpact_runtime::RetryPolicy {{",
                retry_static(name)
            ),
            format!("    name: {},", rust_str(name)),
            "    backoff: sqlpact_runtime::BackoffPolicy {".into(),
            format!("        base: {},", duration(r.initial_backoff_ms)),
            format!("        cap: {},", duration(r.max_backoff_ms)),
            format!("        max_attempts: {},", r.max_attempts),
            format!("        multiplier: {:?},", r.multiplier),
            format!("        jitter: sqlpact_runtime::Jitter::{jitter},"),
            "    },".into(),
            "};".into(),
        ]);
    }
    lines
}

fn policies_lines(c: &Contract) -> Vec<String> {
    let p = &c.policies;
    let retry: Vec<String> = p
        .retry
        .keys()
        .map(|n| format!("&{}", retry_static(n)))
        .collect();
    let mut lines = vec![
        "pub static POLICIES: sqlpact_runtime::Policies = sqlpact_runtime::Policies {".to_owned(),
        format!("    contract: \"{}\",", c.name),
        format!("    version: {},", rust_str(&c.version)),
        "    pool: sqlpact_runtime::PoolPolicy {".into(),
        format!("        max_size: {},", p.pool.max_size),
        format!("        min_idle: {},", p.pool.min_idle),
        format!(
            "        acquire_timeout: {},",
            duration(p.pool.acquire_timeout_ms)
        ),
        format!(
            "        idle_timeout: {},",
            duration(p.pool.idle_timeout_ms)
        ),
        format!(
            "        max_lifetime: {},",
            duration(p.pool.max_lifetime_ms)
        ),
        format!(
            "        lifetime_jitter: {},",
            duration(p.pool.lifetime_jitter_ms)
        ),
        "    },".into(),
        "    breaker: sqlpact_runtime::BreakerPolicy {".into(),
        format!(
            "        failure_threshold: {},",
            p.breaker.failure_threshold
        ),
        format!("        open_for: {},", duration(p.breaker.open_for_ms)),
        "    },".into(),
    ];
    lines.extend(list(4, "retry: &[", &retry, "],"));
    lines.push("    statements: STATEMENTS,".into());
    lines.push("};".into());
    lines
}

/// The static of a keyed query's idempotency key: the key's parameter and the result
/// columns the runtime stores and restores.
fn key_lines(q: &crate::model::Query, const_name: &str) -> Vec<String> {
    let Some(key) = &q.policy.idempotency_key else {
        return Vec::new();
    };
    let Some(param) = q.params.iter().position(|p| &p.name == key) else {
        return Vec::new();
    };
    let mut lines = vec![
        format!("/// The idempotency key of `{}`.", q.name),
        format!(
            "static {const_name}_KEY: sqlpact_runtime::IdempotencyKey = sqlpact_runtime::IdempotencyKey {{"
        ),
        format!("    param: {param},"),
        format!("    param_type: {},", rust_str(&q.params[param].ty)),
    ];
    if q.columns.is_empty() {
        lines.push("    columns: &[],".into());
    } else {
        lines.push("    columns: &[".into());
        for c in &q.columns {
            lines.extend([
                "        sqlpact_runtime::ResultColumn {".to_owned(),
                format!("            name: {},", rust_str(&c.name)),
                format!("            pg_type: {},", rust_str(&c.ty)),
                "        },".into(),
            ]);
        }
        lines.push("    ],".into());
    }
    lines.push("};".into());
    lines
}

/// The Cargo dependency on the runtime: by path (relative to the generated crate)
/// when the registry names one, else the published crate.
fn runtime_dependency(root: &Path, out: &crate::model::RustOutput) -> String {
    let Some(path) = &out.runtime_path else {
        return "sqlpact-runtime = \"0.1\"".into();
    };
    format!(
        "sqlpact-runtime = {{ path = {} }}",
        toml_string(&from_crate(root, out, path))
    )
}

/// A path relative to the registry as the generated crate's Cargo.toml reaches it
/// (`root` is the registry's directory; `out` may leave it with `..`).
fn from_crate(root: &Path, out: &crate::model::RustOutput, path: &str) -> String {
    if Path::new(path).is_absolute() {
        return path.to_owned();
    }
    let here = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let root = std::path::absolute(here).unwrap_or_else(|_| here.to_path_buf());
    let from = lexical(&root.join(&out.out));
    let to = lexical(&root.join(path));
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts = vec!["..".to_owned(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// A path's components with `.` dropped and each `..` taking back the one before it.
fn lexical(p: &Path) -> Vec<std::ffi::OsString> {
    let mut parts: Vec<std::ffi::OsString> = Vec::new();
    for comp in p.components() {
        match comp {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                parts.pop();
            }
            other => parts.push(other.as_os_str().to_owned()),
        }
    }
    parts
}

/// A TOML basic string: JSON's escapes are TOML's, and TOML also refuses a raw DEL.
fn toml_string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_default()
        .replace('\u{7f}', "\\u007F")
}

/// A dependency the registry declares, as a Cargo.toml line.
fn declared_dependency(
    root: &Path,
    out: &crate::model::RustOutput,
    name: &str,
    spec: &crate::registry::config::DependencySpec,
) -> String {
    let mut keys = Vec::new();
    let mut key = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            keys.push(format!("{k} = {}", toml_string(v)));
        }
    };
    key("package", &spec.package);
    key("version", &spec.version);
    key(
        "path",
        &spec.path.as_deref().map(|p| from_crate(root, out, p)),
    );
    key("git", &spec.git);
    key("branch", &spec.branch);
    key("tag", &spec.tag);
    key("rev", &spec.rev);
    if let Some(d) = spec.default_features {
        keys.push(format!("default-features = {d}"));
    }
    if !spec.features.is_empty() {
        let fs: Vec<String> = spec.features.iter().map(|f| toml_string(f)).collect();
        keys.push(format!("features = [{}]", fs.join(", ")));
    }
    match (keys.as_slice(), &spec.version) {
        ([_], Some(v)) => format!("{name} = {}", toml_string(v)),
        _ => format!("{name} = {{ {} }}", keys.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_table_parses() {
        assert!(crate_specs().contains_key("uuid"));
    }

    #[test]
    fn crate_roots_are_the_first_segments_of_paths() {
        assert_eq!(
            crate_roots("Vec<chrono::DateTime<chrono::Utc>>"),
            ["chrono"]
        );
        assert_eq!(
            crate_roots("(my_chrono::X, std::net::IpAddr, &'a [units::Grams; 2])"),
            ["my_chrono", "std", "units"]
        );
        assert_eq!(crate_roots("crate::X"), Vec::<&str>::new());
        assert_eq!(crate_roots("i64"), Vec::<&str>::new());
        assert_eq!(crate_roots("::time::Date"), ["time"]);
    }

    #[test]
    fn declared_dependencies_are_cargo_lines() {
        use crate::registry::config::DependencySpec;
        let out = crate::model::RustOutput {
            out: "gen/rust/x".into(),
            ..Default::default()
        };
        let version = DependencySpec {
            version: Some("0.3".into()),
            ..Default::default()
        };
        assert_eq!(
            declared_dependency(Path::new(""), &out, "time", &version),
            "time = \"0.3\""
        );
        let full = DependencySpec {
            path: Some("crates/units".into()),
            features: vec!["si".into(), "a\"b".into()],
            default_features: Some(false),
            package: Some("units-core".into()),
            postgres_feature: Some("with-x".into()),
            ..Default::default()
        };
        assert_eq!(
            declared_dependency(Path::new(""), &out, "units", &full),
            "units = { package = \"units-core\", path = \"../../../crates/units\", default-features = false, features = [\"si\", \"a\\\"b\"] }"
        );
        // An output outside the registry's directory climbs out of it and back in.
        let outside = crate::model::RustOutput {
            out: "../gen/./x/".into(),
            ..Default::default()
        };
        assert_eq!(
            from_crate(Path::new("/srv/reg"), &outside, "crates/units/"),
            "../../reg/crates/units"
        );
        assert_eq!(from_crate(Path::new("/srv/reg"), &outside, "../gen/x"), ".");
    }

    #[test]
    fn toml_strings_escape_what_toml_refuses() {
        assert_eq!(
            toml_string("a\"b\\c\u{1}\u{7f}é"),
            r#""a\"b\\c\u0001\u007Fé""#
        );
    }

    #[test]
    fn lists_follow_rustfmt_widths() {
        let short: Vec<String> = ["&a", "&b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            list(4, "let x = [", &short, "];"),
            ["    let x = [&a, &b];"]
        );
        let long: Vec<String> = (0..6).map(|i| format!("&parameter_{i}")).collect();
        let v = list(4, "let x = [", &long, "];");
        assert_eq!(v.len(), 8);
        assert_eq!(v[1], "        &parameter_0,");
    }

    #[test]
    fn a_list_that_fits_on_the_next_line_goes_there() {
        let items: Vec<String> = [
            "&queries::ADD_AUTHOR",
            "&queries::ADD_BOOK",
            "&queries::SHELVES",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            list(0, "pub static STATEMENTS: &[&Statement] = &[", &items, "];"),
            [
                "pub static STATEMENTS: &[&Statement] =",
                "    &[&queries::ADD_AUTHOR, &queries::ADD_BOOK, &queries::SHELVES];"
            ]
        );
    }

    #[test]
    fn raw_strings_hold_quotes_and_hashes() {
        assert_eq!(rust_sql("a"), "r#\"a\"#");
        assert_eq!(rust_sql("a \"# b"), "r##\"a \"# b\"##");
    }
}
