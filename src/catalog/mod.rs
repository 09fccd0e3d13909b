//! The schema catalog: tables, views, enums, domains and function signatures, built by
//! applying the schema sources' DDL in order.
//!
//! Statements that cannot change a table's shape (indexes, grants, triggers, seed data)
//! are skipped without being parsed; a statement that can but does not parse is an error.
//! Functions are read for their signatures (argument and result types, volatility); one
//! whose definition does not parse is skipped, as before functions were read, and a call
//! of it stays unknown.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, AlterTypeOperation, ColumnOption, DataType,
    GeneratedAs, Ident, ObjectName, ObjectType, SchemaName, Statement, TableConstraint,
    UserDefinedTypeRepresentation,
};

use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::registry::SchemaSource;
use crate::source::{FileId, SourceMap, Span};
use crate::sqltext;
use crate::types::{canonical_builtin, is_serial, split_spelling, PgType};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelKind {
    Table,
    View,
}

#[derive(Clone, Debug)]
pub struct CatColumn {
    pub name: String,
    pub ty: PgType,
    pub not_null: bool,
    pub has_default: bool,
    /// Filled by PostgreSQL alone: a statement may write only `DEFAULT` into it.
    pub generated: Option<Generated>,
    /// An identity column, `ALWAYS` or `BY DEFAULT`: its default is the identity's,
    /// which a partition, a child or a `LIKE` without `INCLUDING IDENTITY` lacks.
    pub identity: bool,
    /// Part of the table's primary key: grouping by all of the key lets a query read
    /// every column of the table.
    pub primary_key: bool,
    /// A view's array column whose elements may be NULL (its query builds it so); a
    /// table's array column is taken to hold no NULL element.
    pub null_elements: bool,
}

/// A column PostgreSQL fills itself, refusing any other value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Generated {
    /// `GENERATED ALWAYS AS IDENTITY`.
    Identity,
    /// `GENERATED ALWAYS AS (expr) STORED`.
    Expression,
}

impl Generated {
    /// How the schema declares it, for messages.
    pub fn spelling(self) -> &'static str {
        match self {
            Generated::Identity => "GENERATED ALWAYS AS IDENTITY",
            Generated::Expression => "GENERATED ALWAYS AS (...) STORED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Relation {
    /// Schema-qualified: `public.accounts`.
    pub name: String,
    pub kind: RelKind,
    pub columns: Vec<CatColumn>,
    pub span: Span,
    /// The tables it takes its columns from: a partition's partitioned table (`PARTITION
    /// OF`), or the tables it `INHERITS`. A column added to, dropped from, renamed in or
    /// altered in one of them changes it too, as PostgreSQL does.
    pub parents: Vec<String>,
    /// A child table's own columns (its CREATE TABLE's, those added to it later): a
    /// parent dropping one of them leaves it.
    pub local_columns: BTreeSet<String>,
}

impl Relation {
    pub fn column(&self, name: &str) -> Option<&CatColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl Catalog {
    /// The relations that take their columns from `q`, at any depth (partitions of
    /// partitions, children of children), parents before children.
    fn descendants(&self, q: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut next = vec![q.to_owned()];
        while let Some(p) = next.pop() {
            for r in self.relations.values() {
                if r.parents.contains(&p) && !out.contains(&r.name) && r.name != q {
                    out.push(r.name.clone());
                    next.push(r.name.clone());
                }
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
pub struct EnumType {
    pub values: Vec<String>,
    pub span: Span,
}

/// A composite type: its fields, each of which may be NULL.
#[derive(Clone, Debug)]
pub struct CompositeType {
    pub fields: Vec<(String, PgType)>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct DomainType {
    pub base: PgType,
    pub not_null: bool,
    pub span: Span,
}

/// A function the schema declares, as a call sees it.
#[derive(Clone, Debug)]
pub struct CatFunction {
    /// The types of the arguments a call passes, in order.
    pub args: Vec<PgType>,
    /// How many of the last arguments have defaults, and may be left out.
    pub defaults: usize,
    /// What one call yields (for `RETURNS SETOF`, one of its rows).
    pub result: FnResult,
    /// `VOLATILE`, PostgreSQL's default: it may change data, so a query calling it is
    /// not read-only.
    pub volatile: bool,
}

/// What a call of a declared function yields.
#[derive(Clone, Debug, PartialEq)]
pub enum FnResult {
    /// One value: `RETURNS int`, `RETURNS SETOF text`, or a single `OUT` argument,
    /// whose name (`column`) names the column when the call is a `FROM` item.
    Value { ty: PgType, column: Option<String> },
    /// Named columns: `RETURNS TABLE (...)`, or several `OUT` and `INOUT` arguments.
    Columns(Vec<(String, PgType)>),
    /// A row of a table or view (`RETURNS SETOF accounts`), by qualified name: its
    /// columns are the relation's as the schema has them where the call is made.
    Relation(String),
    /// `RETURNS [SETOF] record` without `OUT` arguments: every call in `FROM` names its
    /// columns and their types (`AS t (id bigint, name text)`).
    Record,
}

impl CatFunction {
    pub fn takes(&self, n: usize) -> bool {
        n <= self.args.len() && n + self.defaults >= self.args.len()
    }
}

#[derive(Debug, Default, Clone)]
pub struct Catalog {
    pub relations: BTreeMap<String, Relation>,
    pub enums: BTreeMap<String, EnumType>,
    pub domains: BTreeMap<String, DomainType>,
    /// Composite types (`CREATE TYPE addr AS (street text, city text)`).
    pub composites: BTreeMap<String, CompositeType>,
    pub schemas: BTreeSet<String>,
    /// By qualified name (`public.slugify`); overloads in declaration order.
    pub functions: BTreeMap<String, Vec<CatFunction>>,
    /// Functions declared in a form sqlpact does not read (`VARIADIC` or unnamed `OUT`
    /// arguments, a type it does not know, a definition that does not parse), by
    /// qualified name: a call's error says so.
    pub unread_functions: BTreeSet<String>,
}

/// Lowercases an unquoted identifier, as PostgreSQL folds it.
pub fn ident(i: &Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_ascii_lowercase()
    }
}

/// `accounts` -> `public.accounts`; `billing.accounts` stays.
pub fn qualify(name: &ObjectName) -> String {
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(ident))
        .collect();
    match parts.as_slice() {
        [n] => format!("public.{n}"),
        [.., s, n] => format!("{s}.{n}"),
        [] => String::new(),
    }
}

/// The unqualified last part of a name.
pub fn last_part(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(ident)
        .unwrap_or_default()
}

impl Catalog {
    pub fn relation(&self, qualified: &str) -> Option<&Relation> {
        self.relations.get(qualified)
    }

    /// Resolves a type as written in DDL or a cast to a `PgType`.
    pub fn resolve_type(&self, dt: &DataType) -> Result<PgType, String> {
        // A user type by its identifiers, quoted as the DDL that made it: its printed
        // spelling cannot be parsed back when the name holds quotes or parentheses.
        match dt {
            DataType::Custom(name, modifiers) if modifiers.is_empty() => {
                let q = qualify(name);
                if self.is_user_type(&q) {
                    return Ok(PgType::Named(q));
                }
            }
            DataType::Array(
                sqlparser::ast::ArrayElemTypeDef::SquareBracket(inner, _)
                | sqlparser::ast::ArrayElemTypeDef::AngleBracket(inner),
            ) => return Ok(self.resolve_type(inner)?.array_of()),
            _ => {}
        }
        let printed = dt.to_string();
        let (base, dims) = split_spelling(&printed);
        let mut t = if let Some(b) = canonical_builtin(&base) {
            PgType::named(b)
        } else {
            let unq = base.rsplit('.').next().unwrap_or(&base);
            if let Some(b) = canonical_builtin(unq).filter(|_| base.starts_with("pg_catalog.")) {
                PgType::named(b)
            } else {
                let q = if base.contains('.') {
                    base.clone()
                } else {
                    format!("public.{base}")
                };
                if self.is_user_type(&q) {
                    PgType::Named(q)
                } else {
                    return Err(base);
                }
            }
        };
        for _ in 0..dims {
            t = t.array_of();
        }
        Ok(t)
    }

    /// Whether `q` names an enum, a domain or a composite type.
    pub fn is_user_type(&self, q: &str) -> bool {
        self.enums.contains_key(q)
            || self.domains.contains_key(q)
            || self.composites.contains_key(q)
    }

    /// Names of user types, for "did you mean".
    pub fn user_type_names(&self) -> Vec<&str> {
        self.enums
            .keys()
            .chain(self.domains.keys())
            .chain(self.composites.keys())
            .map(String::as_str)
            .collect()
    }

    /// The type a value of `t` has once domains are looked through.
    pub fn base_type(&self, t: &PgType) -> PgType {
        let mut cur = t.clone();
        for _ in 0..16 {
            match cur.name().and_then(|n| self.domains.get(n)) {
                Some(d) => cur = d.base.clone(),
                None => break,
            }
        }
        cur
    }
}

/// A statement's first five words, lowercase: enough to tell what it is.
fn leading_words(stmt: &str) -> Vec<String> {
    stmt.split_whitespace()
        .take(5)
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

/// Statements whose first words say they may change a relation or type, or declare a
/// function.
fn relevant(words: &[String]) -> bool {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        w.as_slice(),
        ["create", "table", ..]
            | ["create", "unlogged", "table", ..]
            | ["create", "type", ..]
            | ["create", "domain", ..]
            | ["create", "view", ..]
            | ["create", "or", "replace", "view", ..]
            | ["create", "materialized", "view", ..]
            | ["create", "schema", ..]
            | ["alter", "table", ..]
            | ["alter", "type", ..]
            | ["drop", "table", ..]
            | ["drop", "view", ..]
            | ["drop", "materialized", "view", ..]
            | ["drop", "type", ..]
            | ["drop", "domain", ..]
    ) || declares_function(words)
}

/// `CREATE [OR REPLACE] FUNCTION` and `DROP FUNCTION`: read for signatures, and skipped
/// when they do not parse.
fn declares_function(words: &[String]) -> bool {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        w.as_slice(),
        ["create", "function", ..]
            | ["create", "or", "replace", "function", ..]
            | ["drop", "function", ..]
    )
}

/// The qualified name a `CREATE [OR REPLACE] FUNCTION` that did not parse declares,
/// read from its words: the text between `FUNCTION` and `(`.
fn created_function_name(stmt: &str) -> Option<String> {
    let lower = stmt.to_ascii_lowercase();
    if !lower.trim_start().starts_with("create") {
        return None;
    }
    let at = lower.find("function")? + "function".len();
    let name = stmt[at..].split('(').next()?.trim();
    let parts: Vec<String> = name
        .split('.')
        .map(|p| {
            let p = p.trim();
            match p.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
                Some(quoted) => quoted.to_owned(),
                None => p.to_ascii_lowercase(),
            }
        })
        .collect();
    match parts.as_slice() {
        [n] if !n.is_empty() => Some(format!("public.{n}")),
        [s, n] if !s.is_empty() && !n.is_empty() => Some(format!("{s}.{n}")),
        _ => None,
    }
}

pub type ViewAnalyzer<'a> = dyn Fn(
        &Catalog,
        &sqlparser::ast::Query,
        FileId,
        usize,
        &str,
        &mut Diagnostics,
    ) -> Option<Vec<CatColumn>>
    + 'a;

/// Applies every schema source in order.
pub fn build(
    sources: &[SchemaSource],
    files: &SourceMap,
    analyze_view: &ViewAnalyzer<'_>,
    diags: &mut Diagnostics,
) -> Catalog {
    let mut cat = Catalog::default();
    cat.schemas.insert("public".into());
    apply_sources(&mut cat, sources, files, analyze_view, diags);
    cat
}

/// Catalogs already built, by the names and texts of the schema sources applied.
#[derive(Default)]
pub struct Cache {
    built: std::sync::Mutex<std::collections::HashMap<u64, std::sync::Arc<Catalog>>>,
}

/// [`build`], starting from the catalog of the longest list of leading sources `cache`
/// holds (a registry whose migrations only grew reapplies only the new ones), and
/// keeping the result when it built without a diagnostic. A reused catalog's spans
/// point into an earlier copy of the same files: same names, same texts.
pub fn build_cached(
    sources: &[SchemaSource],
    files: &SourceMap,
    analyze_view: &ViewAnalyzer<'_>,
    diags: &mut Diagnostics,
    cache: &Cache,
) -> Catalog {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut keys = Vec::with_capacity(sources.len());
    let mut h = DefaultHasher::new();
    for src in sources {
        let f = files.get(src.file);
        (&f.name, &f.text[src.range.clone()]).hash(&mut h);
        keys.push(h.finish());
    }
    let found = cache.built.lock().ok().and_then(|built| {
        keys.iter()
            .enumerate()
            .rev()
            .find_map(|(i, k)| built.get(k).map(|c| (i + 1, c.clone())))
    });
    let (done, mut cat) = match found {
        Some((n, c)) => (n, (*c).clone()),
        None => {
            let mut c = Catalog::default();
            c.schemas.insert("public".into());
            (0, c)
        }
    };
    if done == sources.len() {
        return cat;
    }
    let before = diags.items.len();
    apply_sources(&mut cat, &sources[done..], files, analyze_view, diags);
    if diags.items.len() == before {
        if let (Some(k), Ok(mut built)) = (keys.last(), cache.built.lock()) {
            built.insert(*k, std::sync::Arc::new(cat.clone()));
        }
    }
    cat
}

fn apply_sources(
    cat: &mut Catalog,
    sources: &[SchemaSource],
    files: &SourceMap,
    analyze_view: &ViewAnalyzer<'_>,
    diags: &mut Diagnostics,
) {
    for src in sources {
        let text = &files.get(src.file).text;
        let section = &text[src.range.clone()];
        for r in sqltext::split_statements(section) {
            let abs = src.range.start + r.start..src.range.start + r.end;
            let abs = sqltext::strip_leading_comments(text, abs);
            let stmt_text = &text[abs.clone()];
            let words = leading_words(stmt_text);
            if !relevant(&words) {
                continue;
            }
            let span = Span::new(src.file, abs.clone());
            match sqltext::parse_schema(stmt_text) {
                Ok(sqltext::SchemaStatement::Parsed(stmts, extras)) => {
                    for s in stmts {
                        apply(cat, &s, &extras, &span, stmt_text, analyze_view, diags);
                    }
                }
                Ok(sqltext::SchemaStatement::Link(link)) => {
                    apply_link(cat, &link, &span, stmt_text, diags);
                }
                Err(_) if declares_function(&words) => {
                    if let Some(name) = created_function_name(stmt_text) {
                        cat.unread_functions.insert(name);
                    }
                }
                Err(sqltext::ParseFailure::TooDeep { line, column }) => {
                    let at = abs.start + sqltext::offset_in(stmt_text, line, column);
                    diags.push(
                        Diagnostic::error(
                            Code::SqlTooDeep,
                            format!("a schema statement chains or nests more than {} operators in one expression", sqltext::MAX_DEPTH),
                        )
                        .at(Span::point(src.file, at))
                        .label("the limit is passed here")
                        .help("split the expression, or move statements sqlpact need not read into a file the registry does not list"),
                    );
                }
                Err(sqltext::ParseFailure::Syntax(e)) => {
                    let (msg, loc) = sqltext::parser_error_location(&e.to_string());
                    let at = loc.map_or(abs.start, |(l, c)| {
                        abs.start + sqltext::offset_in(stmt_text, l, c)
                    });
                    diags.push(
                        Diagnostic::error(Code::SchemaSyntax, msg.trim_start_matches("sql parser error: ").to_owned())
                            .at(Span::point(src.file, at))
                            .help("fix the statement, or move statements sqlpact need not read into a file the registry does not list"),
                    );
                }
            }
        }
    }
}

/// Span of an identifier inside a statement, when the parser recorded one.
fn ident_span(id: &Ident, stmt_span: &Span, stmt_text: &str) -> Span {
    let s = id.span.start;
    if s.line == 0 {
        return stmt_span.clone();
    }
    let start =
        stmt_span.range.start + sqltext::offset_in(stmt_text, s.line as u32, s.column as u32);
    Span::new(
        stmt_span.file,
        start..start + id.value.len() + if id.quote_style.is_some() { 2 } else { 0 },
    )
}

fn name_span(name: &ObjectName, stmt_span: &Span, stmt_text: &str) -> Span {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map_or(stmt_span.clone(), |i| ident_span(i, stmt_span, stmt_text))
}

fn column_from_def(
    cat: &Catalog,
    def: &sqlparser::ast::ColumnDef,
    span: &Span,
    text: &str,
    diags: &mut Diagnostics,
) -> CatColumn {
    let printed = def.data_type.to_string();
    let (spelled, _) = split_spelling(&printed);
    let ty = match cat.resolve_type(&def.data_type) {
        Ok(t) => t,
        Err(bad) => {
            let hint = did_you_mean(&format!("public.{bad}"), cat.user_type_names()).map_or_else(
                || {
                    "declare the type first (CREATE TYPE / CREATE DOMAIN), or use a built-in type"
                        .to_owned()
                },
                |s| format!("did you mean `{s}`?"),
            );
            diags.push(
                Diagnostic::error(
                    Code::SchemaUnknownType,
                    format!("unknown type `{bad}` for column `{}`", ident(&def.name)),
                )
                .at(ident_span(&def.name, span, text))
                .help(hint),
            );
            PgType::Unknown
        }
    };
    let mut not_null = false;
    let mut has_default = is_serial(&spelled);
    let mut generated = None;
    let mut identity = false;
    let mut primary_key = false;
    for o in &def.options {
        match &o.option {
            ColumnOption::NotNull => not_null = true,
            ColumnOption::PrimaryKey(_) => {
                not_null = true;
                primary_key = true;
            }
            ColumnOption::Null => not_null = false,
            ColumnOption::Default(_) => has_default = true,
            ColumnOption::Generated {
                generated_as,
                generation_expr,
                ..
            } => {
                has_default = true;
                if generation_expr.is_some() || *generated_as == GeneratedAs::ExpStored {
                    generated = Some(Generated::Expression);
                } else {
                    // An identity column is NOT NULL, as PostgreSQL makes it.
                    not_null = true;
                    identity = true;
                    if *generated_as == GeneratedAs::Always {
                        generated = Some(Generated::Identity);
                    }
                }
            }
            ColumnOption::Identity(_) => {
                has_default = true;
                not_null = true;
                identity = true;
            }
            _ => {}
        }
    }
    if is_serial(&spelled) {
        not_null = true;
    }
    CatColumn {
        name: ident(&def.name),
        ty,
        not_null,
        has_default,
        generated,
        identity,
        primary_key,
        null_elements: false,
    }
}

/// Drops column `col`, which `parent` dropped, from the tables that take their columns
/// from it, as PostgreSQL does: not from one that has it as its own or from another
/// parent, nor (then) from that one's children.
fn drop_inherited(cat: &mut Catalog, parent: &str, col: &str) {
    let children: Vec<String> = cat
        .relations
        .values()
        .filter(|r| r.parents.iter().any(|p| p == parent))
        .map(|r| r.name.clone())
        .collect();
    for child in children {
        let r = &cat.relations[&child];
        let kept = r.local_columns.contains(col)
            || r.parents.iter().any(|p| {
                p != parent
                    && cat
                        .relations
                        .get(p)
                        .is_some_and(|o| o.column(col).is_some())
            });
        if kept {
            continue;
        }
        if let Some(r) = cat.relations.get_mut(&child) {
            r.columns.retain(|c| c.name != col);
        }
        drop_inherited(cat, &child, col);
    }
}

/// The qualified name a CREATE TYPE gives, or `None` (and `E303`) when a type has it.
fn new_type_name(
    cat: &Catalog,
    name: &ObjectName,
    span: &Span,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<String> {
    let q = qualify(name);
    if !cat.is_user_type(&q) {
        return Some(q);
    }
    diags.push(
        Diagnostic::error(
            Code::SchemaDuplicate,
            format!("type `{q}` is created twice"),
        )
        .at(name_span(name, span, text))
        .help("drop the second CREATE TYPE, or drop the type first"),
    );
    None
}

/// Adds `c` to a new table's columns, or merges it into the column of its name there
/// (a column two parents have, or a child's own column a parent has): NOT NULL if either
/// is, with a default if either has one.
fn merge_column(columns: &mut Vec<CatColumn>, c: CatColumn) {
    match columns.iter_mut().find(|x| x.name == c.name) {
        Some(x) => {
            x.not_null |= c.not_null;
            x.has_default |= c.has_default;
            x.primary_key |= c.primary_key;
            x.generated = x.generated.or(c.generated);
            x.identity |= c.identity;
        }
        None => columns.push(c),
    }
}

fn primary_key_columns(c: &TableConstraint) -> Vec<String> {
    match c {
        TableConstraint::PrimaryKey(pk) => pk
            .columns
            .iter()
            .filter_map(|ic| match &ic.column.expr {
                sqlparser::ast::Expr::Identifier(i) => Some(ident(i)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn unknown_relation(cat: &Catalog, name: &ObjectName, span: Span, what: &str) -> Diagnostic {
    let q = qualify(name);
    let hint = did_you_mean(&q, cat.relations.keys().map(String::as_str)).map_or_else(
        || format!("create the {what} in an earlier schema file or migration"),
        |s| format!("did you mean `{s}`?"),
    );
    Diagnostic::error(
        Code::SchemaUnknownTable,
        format!("{what} `{q}` does not exist at this point of the schema"),
    )
    .at(span)
    .help(hint)
}

/// Links a table to a parent, or unlinks it: `ALTER TABLE ... ATTACH PARTITION`,
/// `DETACH PARTITION`, `INHERIT`, `NO INHERIT`. The partition or child keeps its
/// columns; while linked, it follows its parent's changes. A partition's columns are
/// its parent's alone while attached (a column the parent drops goes with it), and its
/// own again once detached, as PostgreSQL keeps them.
fn apply_link(
    cat: &mut Catalog,
    link: &sqltext::TableLink,
    span: &Span,
    text: &str,
    diags: &mut Diagnostics,
) {
    use sqltext::LinkKind;
    let table = qualify(&link.table);
    let other = qualify(&link.other);
    if !cat.relations.contains_key(&table) {
        if !link.if_exists {
            let s = name_span(&link.table, span, text);
            diags.push(unknown_relation(cat, &link.table, s, "table"));
        }
        return;
    }
    if !cat.relations.contains_key(&other) {
        let s = name_span(&link.other, span, text);
        diags.push(unknown_relation(cat, &link.other, s, "table"));
        return;
    }
    let (child, parent) = match link.kind {
        LinkKind::Attach | LinkKind::Detach => (other, table),
        LinkKind::Inherit | LinkKind::NoInherit => (table, other),
    };
    let linking = matches!(link.kind, LinkKind::Attach | LinkKind::Inherit);
    if linking && (child == parent || cat.descendants(&child).contains(&parent)) {
        diags.push(
            Diagnostic::error(
                Code::SchemaUnsupported,
                format!("`{child}` would take its columns from itself, through `{parent}`"),
            )
            .at(name_span(&link.other, span, text))
            .help("PostgreSQL refuses circular inheritance: link the tables the other way, or not at all"),
        );
        return;
    }
    let parent_keys: Vec<(String, bool)> = cat.relations[&parent]
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.primary_key))
        .collect();
    let Some(r) = cat.relations.get_mut(&child) else {
        return;
    };
    if linking {
        if !r.parents.contains(&parent) {
            r.parents.push(parent);
        }
        // An attached partition's columns are its table's alone, and it takes the
        // table's primary key.
        if link.kind == LinkKind::Attach {
            for (name, key) in &parent_keys {
                r.local_columns.remove(name);
                if let Some(c) = r.columns.iter_mut().find(|c| &c.name == name) {
                    c.primary_key |= key;
                }
            }
        }
        return;
    }
    r.parents.retain(|p| *p != parent);
    // A column no parent gives any more is the table's own.
    let parents = r.parents.clone();
    let given: BTreeSet<String> = parents
        .iter()
        .filter_map(|p| cat.relations.get(p))
        .flat_map(|p| p.columns.iter().map(|c| c.name.clone()))
        .collect();
    if let Some(r) = cat.relations.get_mut(&child) {
        let own: Vec<String> = r
            .columns
            .iter()
            .map(|c| c.name.clone())
            .filter(|c| !given.contains(c))
            .collect();
        r.local_columns.extend(own);
    }
}

/// The columns a CREATE TABLE's `LIKE source` element copies, or `None` (and the
/// error) when there is no such table, view or composite type.
fn like_columns(
    cat: &Catalog,
    like: &sqltext::TableLike,
    span: &Span,
    text: &str,
    diags: &mut Diagnostics,
) -> Option<Vec<CatColumn>> {
    let q = qualify(&like.source);
    if let Some(r) = cat.relations.get(&q) {
        // A view's columns are copied without NOT NULL, as PostgreSQL has them.
        let table = r.kind == RelKind::Table;
        return Some(
            r.columns
                .iter()
                .map(|c| {
                    let generated = match c.generated {
                        Some(Generated::Identity) if like.identity => Some(Generated::Identity),
                        Some(Generated::Expression) if like.generated => {
                            Some(Generated::Expression)
                        }
                        _ => None,
                    };
                    let has_default = match c.generated {
                        Some(Generated::Expression) => like.generated,
                        _ if c.identity => like.identity,
                        _ => c.has_default && like.defaults,
                    };
                    CatColumn {
                        name: c.name.clone(),
                        ty: c.ty.clone(),
                        not_null: table && c.not_null,
                        has_default: table && has_default,
                        generated: generated.filter(|_| table),
                        identity: table && c.identity && like.identity,
                        primary_key: table && like.indexes && c.primary_key,
                        null_elements: c.null_elements,
                    }
                })
                .collect(),
        );
    }
    if let Some(t) = cat.composites.get(&q) {
        return Some(
            t.fields
                .iter()
                .map(|(name, ty)| CatColumn {
                    name: name.clone(),
                    ty: ty.clone(),
                    not_null: false,
                    has_default: false,
                    generated: None,
                    identity: false,
                    primary_key: false,
                    null_elements: false,
                })
                .collect(),
        );
    }
    let s = name_span(&like.source, span, text);
    diags.push(unknown_relation(cat, &like.source, s, "table"));
    None
}

fn apply(
    cat: &mut Catalog,
    stmt: &Statement,
    extras: &sqltext::TableExtras,
    span: &Span,
    text: &str,
    analyze_view: &ViewAnalyzer<'_>,
    diags: &mut Diagnostics,
) {
    match stmt {
        Statement::CreateTable(ct) => {
            let q = qualify(&ct.name);
            if cat.relations.contains_key(&q) {
                if !ct.if_not_exists {
                    diags.push(
                        Diagnostic::error(
                            Code::SchemaDuplicate,
                            format!("table `{q}` is created twice"),
                        )
                        .at(name_span(&ct.name, span, text))
                        .related(cat.relations[&q].span.clone(), "first created here")
                        .help("drop the second CREATE TABLE, or write CREATE TABLE IF NOT EXISTS"),
                    );
                }
                return;
            }
            if ct.like.is_some() {
                diags.push(
                    Diagnostic::error(
                        Code::SchemaUnsupported,
                        format!("CREATE TABLE `{q}` LIKE outside the column list is not followed"),
                    )
                    .at(name_span(&ct.name, span, text))
                    .help("write PostgreSQL's form, CREATE TABLE name (LIKE source)"),
                );
                return;
            }
            // CREATE TABLE ... AS: the query's columns (renamed by a column list), each
            // of which may be NULL, as PostgreSQL creates them.
            if let Some(query) = &ct.query {
                if let Some(mut cols) =
                    analyze_view(cat, query, span.file, span.range.start, text, diags)
                {
                    for (c, name) in cols.iter_mut().zip(&extras.names) {
                        c.name = ident(name);
                    }
                    for c in &mut cols {
                        c.not_null = false;
                        c.has_default = false;
                        c.generated = None;
                        c.identity = false;
                        c.primary_key = false;
                    }
                    cat.relations.insert(
                        q.clone(),
                        Relation {
                            name: q,
                            kind: RelKind::Table,
                            columns: cols,
                            span: name_span(&ct.name, span, text),
                            parents: Vec::new(),
                            local_columns: BTreeSet::new(),
                        },
                    );
                }
                return;
            }
            // Its own columns, with those of each LIKE where it stands in the list.
            let mut own: Vec<CatColumn> = Vec::new();
            let mut pending = extras.likes.iter().peekable();
            for (i, d) in ct.columns.iter().enumerate() {
                while let Some(like) = pending.next_if(|l| l.position == i) {
                    let Some(copied) = like_columns(cat, like, span, text, diags) else {
                        return;
                    };
                    own.extend(copied);
                }
                own.push(column_from_def(cat, d, span, text, diags));
            }
            for like in pending {
                let Some(copied) = like_columns(cat, like, span, text, diags) else {
                    return;
                };
                own.extend(copied);
            }
            // A partition has its partitioned table's columns; a child table has its
            // parents' columns first, then its own, one column per name.
            let mut parents = Vec::new();
            let mut columns: Vec<CatColumn> = Vec::new();
            let partition = ct.partition_of.iter().map(|p| (p, true));
            let inherits = ct.inherits.iter().flatten().map(|p| (p, false));
            for (p, partition) in partition.chain(inherits) {
                let pq = qualify(p);
                let Some(parent) = cat.relations.get(&pq).filter(|r| r.kind == RelKind::Table)
                else {
                    diags.push(unknown_relation(cat, p, name_span(p, span, text), "table"));
                    return;
                };
                for c in &parent.columns {
                    let mut c = c.clone();
                    // A child does not inherit its parents' primary key (a partition has
                    // its partitioned table's); neither has its identity (PostgreSQL 15
                    // numbers rows inserted through the parent only), defaults and
                    // generated expressions they have.
                    c.primary_key &= partition;
                    if c.identity {
                        c.generated = None;
                        c.has_default = false;
                        c.identity = false;
                    }
                    merge_column(&mut columns, c);
                }
                parents.push(pq);
            }
            let local_columns = own.iter().map(|c| c.name.clone()).collect();
            for c in own {
                merge_column(&mut columns, c);
            }
            for c in &ct.constraints {
                for pk in primary_key_columns(c) {
                    if let Some(col) = columns.iter_mut().find(|x| x.name == pk) {
                        col.not_null = true;
                        col.primary_key = true;
                    }
                }
            }
            cat.relations.insert(
                q.clone(),
                Relation {
                    name: q,
                    kind: RelKind::Table,
                    columns,
                    span: name_span(&ct.name, span, text),
                    parents,
                    local_columns,
                },
            );
        }
        Statement::AlterTable(at) => {
            let q = qualify(&at.name);
            if !cat.relations.contains_key(&q) {
                if !at.if_exists {
                    diags.push(unknown_relation(
                        cat,
                        &at.name,
                        name_span(&at.name, span, text),
                        "table",
                    ));
                }
                return;
            }
            for op in &at.operations {
                alter_table(cat, &q, op, span, text, diags);
                if let (AlterTableOperation::AddColumn { column_def, .. }, Some(r)) =
                    (op, cat.relations.get_mut(&q))
                {
                    r.local_columns.insert(ident(&column_def.name));
                }
                // Without ONLY, a column's change reaches the tables that take their
                // columns from this one (their errors would repeat this one's); not an
                // identity, which PostgreSQL 15 keeps to the table it is added to.
                if at.only {
                    continue;
                }
                match op {
                    AlterTableOperation::DropColumn { column_names, .. } => {
                        for c in column_names {
                            drop_inherited(cat, &q, &ident(c));
                        }
                    }
                    AlterTableOperation::AlterColumn {
                        op: AlterColumnOperation::AddGenerated { .. },
                        ..
                    } => {}
                    AlterTableOperation::AddColumn { .. }
                    | AlterTableOperation::RenameColumn { .. }
                    | AlterTableOperation::AlterColumn { .. } => {
                        for d in cat.descendants(&q) {
                            alter_table(cat, &d, op, span, text, &mut Diagnostics::default());
                        }
                    }
                    _ => {}
                }
            }
        }
        Statement::Drop {
            object_type,
            names,
            if_exists,
            ..
        } => {
            // What an earlier name of the statement took with it.
            let mut gone = BTreeSet::new();
            for n in names {
                let q = qualify(n);
                let removed = match object_type {
                    ObjectType::Table | ObjectType::View | ObjectType::MaterializedView => {
                        // A partitioned table's partitions go with it, and so do the
                        // children CASCADE drops (without it, PostgreSQL refuses).
                        for d in cat.descendants(&q) {
                            cat.relations.remove(&d);
                            gone.insert(d);
                        }
                        cat.relations.remove(&q).is_some() || gone.contains(&q)
                    }
                    ObjectType::Type => {
                        cat.enums.remove(&q).is_some()
                            || cat.domains.remove(&q).is_some()
                            || cat.composites.remove(&q).is_some()
                    }
                    _ => true,
                };
                if !removed && !if_exists {
                    diags.push(unknown_relation(cat, n, name_span(n, span, text), "object"));
                }
            }
        }
        Statement::DropDomain(d) => {
            let q = qualify(&d.name);
            if cat.domains.remove(&q).is_none() && !d.if_exists {
                diags.push(unknown_relation(
                    cat,
                    &d.name,
                    name_span(&d.name, span, text),
                    "domain",
                ));
            }
        }
        Statement::CreateType {
            name,
            representation: Some(UserDefinedTypeRepresentation::Composite { attributes }),
        } => {
            let Some(q) = new_type_name(cat, name, span, text, diags) else {
                return;
            };
            let mut fields = Vec::new();
            for a in attributes {
                match cat.resolve_type(&a.data_type) {
                    Ok(t) => fields.push((ident(&a.name), t)),
                    Err(bad) => {
                        diags.push(
                            Diagnostic::error(
                                Code::SchemaUnknownType,
                                format!(
                                    "unknown type `{bad}` for field `{}` of `{q}`",
                                    ident(&a.name)
                                ),
                            )
                            .at(ident_span(&a.name, span, text))
                            .help("use a built-in type or a type declared earlier"),
                        );
                        return;
                    }
                }
            }
            cat.composites.insert(
                q,
                CompositeType {
                    fields,
                    span: name_span(name, span, text),
                },
            );
        }
        Statement::CreateType {
            name,
            representation: Some(UserDefinedTypeRepresentation::Enum { labels }),
        } => {
            let Some(q) = new_type_name(cat, name, span, text, diags) else {
                return;
            };
            cat.enums.insert(
                q,
                EnumType {
                    values: labels.iter().map(|l| l.value.clone()).collect(),
                    span: name_span(name, span, text),
                },
            );
        }
        Statement::AlterType(at) => {
            let q = qualify(&at.name);
            let Some(e) = cat.enums.get_mut(&q) else {
                diags.push(unknown_relation(
                    cat,
                    &at.name,
                    name_span(&at.name, span, text),
                    "type",
                ));
                return;
            };
            match &at.operation {
                AlterTypeOperation::AddValue(av) => {
                    let v = av.value.value.clone();
                    if e.values.contains(&v) {
                        if !av.if_not_exists {
                            diags.push(
                                Diagnostic::error(
                                    Code::SchemaDuplicate,
                                    format!("enum `{q}` already has the value `{v}`"),
                                )
                                .at(ident_span(&av.value, span, text))
                                .help("write ADD VALUE IF NOT EXISTS, or remove the statement"),
                            );
                        }
                        return;
                    }
                    let pos = match &av.position {
                        Some(sqlparser::ast::AlterTypeAddValuePosition::Before(b)) => {
                            e.values.iter().position(|x| *x == b.value)
                        }
                        Some(sqlparser::ast::AlterTypeAddValuePosition::After(a)) => {
                            e.values.iter().position(|x| *x == a.value).map(|p| p + 1)
                        }
                        None => None,
                    };
                    match pos {
                        Some(p) => e.values.insert(p, v),
                        None => e.values.push(v),
                    }
                }
                AlterTypeOperation::RenameValue(rv) => {
                    if let Some(x) = e.values.iter_mut().find(|x| **x == rv.from.value) {
                        *x = rv.to.value.clone();
                    }
                }
                AlterTypeOperation::Rename(r) => {
                    let new = format!(
                        "{}.{}",
                        q.split('.').next().unwrap_or("public"),
                        ident(&r.new_name)
                    );
                    if let Some(e) = cat.enums.remove(&q) {
                        cat.enums.insert(new, e);
                    }
                }
            }
        }
        Statement::CreateDomain(d) => {
            let q = qualify(&d.name);
            match cat.resolve_type(&d.data_type) {
                Ok(base) => {
                    let not_null = d
                        .constraints
                        .iter()
                        .any(|c| c.to_string().to_ascii_uppercase().contains("NOT NULL"));
                    cat.domains.insert(
                        q,
                        DomainType {
                            base,
                            not_null,
                            span: name_span(&d.name, span, text),
                        },
                    );
                }
                Err(bad) => diags.push(
                    Diagnostic::error(
                        Code::SchemaUnknownType,
                        format!("unknown type `{bad}` for domain `{q}`"),
                    )
                    .at(name_span(&d.name, span, text))
                    .help("use a built-in type or a type declared earlier"),
                ),
            }
        }
        Statement::CreateView(v) => {
            let q = qualify(&v.name);
            if cat.relations.contains_key(&q) && !v.or_replace {
                diags.push(
                    Diagnostic::error(Code::SchemaDuplicate, format!("`{q}` already exists"))
                        .at(name_span(&v.name, span, text))
                        .help("write CREATE OR REPLACE VIEW, or drop it first"),
                );
                return;
            }
            if let Some(mut cols) =
                analyze_view(cat, &v.query, span.file, span.range.start, text, diags)
            {
                for (c, alias) in cols.iter_mut().zip(v.columns.iter()) {
                    c.name = ident(&alias.name);
                }
                cat.relations.insert(
                    q.clone(),
                    Relation {
                        name: q,
                        kind: RelKind::View,
                        columns: cols,
                        span: name_span(&v.name, span, text),
                        parents: Vec::new(),
                        local_columns: BTreeSet::new(),
                    },
                );
            }
        }
        Statement::CreateFunction(f) => {
            let q = qualify(&f.name);
            // `CREATE OR REPLACE` of the same argument types replaces it, also by a
            // definition that cannot be read.
            if let Some(types) = in_arg_types(cat, f.args.as_deref().unwrap_or_default()) {
                forget_function(cat, &q, Some(&types));
            }
            match function_signature(cat, f) {
                Some(func) => {
                    cat.unread_functions.remove(&q);
                    cat.functions.entry(q).or_default().push(func);
                }
                None => {
                    cat.unread_functions.insert(q);
                }
            }
        }
        Statement::DropFunction(d) => {
            for desc in &d.func_desc {
                let q = qualify(&desc.name);
                match &desc.args {
                    Some(args) => {
                        if let Some(types) = in_arg_types(cat, args) {
                            forget_function(cat, &q, Some(&types));
                        }
                    }
                    None => {
                        forget_function(cat, &q, None);
                        cat.unread_functions.remove(&q);
                    }
                }
            }
        }
        Statement::CreateSchema { schema_name, .. } => {
            let n = match schema_name {
                SchemaName::Simple(n) | SchemaName::NamedAuthorization(n, _) => last_part(n),
                SchemaName::UnnamedAuthorization(i) => ident(i),
            };
            cat.schemas.insert(n);
        }
        _ => {}
    }
}

fn alter_table(
    cat: &mut Catalog,
    q: &str,
    op: &AlterTableOperation,
    span: &Span,
    text: &str,
    diags: &mut Diagnostics,
) {
    let unknown_column = |cat: &Catalog, col: &Ident| {
        let name = ident(col);
        let rel = &cat.relations[q];
        let hint = did_you_mean(&name, rel.columns.iter().map(|c| c.name.as_str())).map_or_else(
            || {
                format!(
                    "`{q}` has: {}",
                    rel.columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            |s| format!("did you mean `{s}`?"),
        );
        Diagnostic::error(
            Code::SchemaUnknownColumn,
            format!("table `{q}` has no column `{name}` at this point of the schema"),
        )
        .at(ident_span(col, span, text))
        .help(hint)
    };
    match op {
        AlterTableOperation::AddColumn {
            column_def,
            if_not_exists,
            ..
        } => {
            let col = column_from_def(cat, column_def, span, text, diags);
            let Some(rel) = cat.relations.get_mut(q) else {
                return;
            };
            if rel.column(&col.name).is_some() {
                if !if_not_exists {
                    diags.push(
                        Diagnostic::error(
                            Code::SchemaDuplicate,
                            format!("table `{q}` already has a column `{}`", col.name),
                        )
                        .at(ident_span(&column_def.name, span, text))
                        .help("write ADD COLUMN IF NOT EXISTS, or rename the column"),
                    );
                }
                return;
            }
            rel.columns.push(col);
        }
        AlterTableOperation::DropColumn {
            column_names,
            if_exists,
            ..
        } => {
            for c in column_names {
                let name = ident(c);
                let Some(rel) = cat.relations.get_mut(q) else {
                    return;
                };
                let before = rel.columns.len();
                rel.columns.retain(|x| x.name != name);
                if rel.columns.len() == before && !if_exists {
                    diags.push(unknown_column(cat, c));
                }
            }
        }
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => {
            let old = ident(old_column_name);
            let Some(rel) = cat.relations.get_mut(q) else {
                return;
            };
            match rel.columns.iter_mut().find(|c| c.name == old) {
                Some(c) => {
                    c.name = ident(new_column_name);
                    if rel.local_columns.remove(&old) {
                        rel.local_columns.insert(c.name.clone());
                    }
                }
                None => diags.push(unknown_column(cat, old_column_name)),
            }
        }
        AlterTableOperation::RenameTable { table_name } => {
            let new_name = match table_name {
                sqlparser::ast::RenameTableNameKind::As(n)
                | sqlparser::ast::RenameTableNameKind::To(n) => n,
            };
            let schema = q.split('.').next().unwrap_or("public");
            let new_q = format!("{schema}.{}", last_part(new_name));
            if let Some(mut rel) = cat.relations.remove(q) {
                rel.name = new_q.clone();
                for r in cat.relations.values_mut() {
                    for p in r.parents.iter_mut().filter(|p| *p == q) {
                        *p = new_q.clone();
                    }
                }
                // A function returning the table's rows follows it, as in PostgreSQL.
                for f in cat.functions.values_mut().flatten() {
                    if f.result == FnResult::Relation(q.to_owned()) {
                        f.result = FnResult::Relation(new_q.clone());
                    }
                }
                cat.relations.insert(new_q, rel);
            }
        }
        AlterTableOperation::AlterColumn { column_name, op } => {
            let name = ident(column_name);
            let new_type = match op {
                AlterColumnOperation::SetDataType { data_type, .. } => {
                    Some(cat.resolve_type(data_type))
                }
                _ => None,
            };
            let Some(rel) = cat.relations.get_mut(q) else {
                return;
            };
            let Some(col) = rel.columns.iter_mut().find(|c| c.name == name) else {
                diags.push(unknown_column(cat, column_name));
                return;
            };
            match op {
                AlterColumnOperation::SetNotNull => col.not_null = true,
                AlterColumnOperation::DropNotNull => col.not_null = false,
                AlterColumnOperation::SetDefault { .. } => col.has_default = true,
                AlterColumnOperation::AddGenerated { generated_as, .. } => {
                    col.has_default = true;
                    col.not_null = true;
                    col.identity = true;
                    if *generated_as != Some(GeneratedAs::ByDefault) {
                        col.generated = Some(Generated::Identity);
                    }
                }
                AlterColumnOperation::DropDefault => col.has_default = false,
                AlterColumnOperation::SetDataType { .. } => match new_type {
                    Some(Ok(t)) => col.ty = t,
                    Some(Err(bad)) => diags.push(
                        Diagnostic::error(Code::SchemaUnknownType, format!("unknown type `{bad}`"))
                            .at(ident_span(column_name, span, text))
                            .help("use a built-in type or a type declared earlier"),
                    ),
                    None => {}
                },
            }
        }
        AlterTableOperation::AddConstraint { constraint, .. } => {
            let pks = primary_key_columns(constraint);
            if let Some(rel) = cat.relations.get_mut(q) {
                for pk in pks {
                    if let Some(c) = rel.columns.iter_mut().find(|c| c.name == pk) {
                        c.not_null = true;
                        c.primary_key = true;
                    }
                }
            }
        }
        _ => {}
    }
}

/// The names of the relations, for "did you mean".
pub fn relation_names(cat: &Catalog) -> impl Iterator<Item = &str> {
    cat.relations.keys().map(String::as_str)
}

/// Location helper for diagnostics produced on identifiers inside a statement.
pub fn span_in(stmt_span: &Span, stmt_text: &str, id: &Ident) -> Span {
    ident_span(id, stmt_span, stmt_text)
}

pub fn file_of(span: &Span) -> FileId {
    span.file
}

/// Forgets the overload of `name` taking `args` (every overload with `None`), and the
/// name when none is left.
fn forget_function(cat: &mut Catalog, name: &str, args: Option<&Vec<PgType>>) {
    if let Some(overloads) = cat.functions.get_mut(name) {
        overloads.retain(|o| args.is_some_and(|a| &o.args != a));
        if overloads.is_empty() {
            cat.functions.remove(name);
        }
    }
}

/// The types of the arguments a call passes; `None` when one is not a type sqlpact knows.
fn in_arg_types(cat: &Catalog, args: &[sqlparser::ast::OperateFunctionArg]) -> Option<Vec<PgType>> {
    use sqlparser::ast::ArgMode;
    args.iter()
        .filter(|a| !matches!(a.mode, Some(ArgMode::Out)))
        .map(|a| cat.resolve_type(&a.data_type).ok())
        .collect()
}

/// A declared function's signature, when a call of it can be typed: its argument and
/// result types are known. Others (`VARIADIC` or unnamed `OUT` arguments, a type
/// sqlpact does not know) are left out, so a call of them stays unknown.
fn function_signature(cat: &Catalog, f: &sqlparser::ast::CreateFunction) -> Option<CatFunction> {
    use sqlparser::ast::{ArgMode, FunctionBehavior, FunctionReturnType};
    let args = f.args.as_deref().unwrap_or_default();
    if args
        .iter()
        .any(|a| matches!(a.mode, Some(ArgMode::Variadic)))
    {
        return None;
    }
    let types = in_arg_types(cat, args)?;
    // Counted over the arguments a call passes: an `OUT` argument has no default.
    let defaults = args
        .iter()
        .filter(|a| !matches!(a.mode, Some(ArgMode::Out)))
        .rev()
        .take_while(|a| a.default_expr.is_some())
        .count();
    // `OUT` and `INOUT` arguments are the result's columns.
    let outs: Vec<(String, PgType)> = args
        .iter()
        .filter(|a| matches!(a.mode, Some(ArgMode::Out | ArgMode::InOut)))
        .map(|a| {
            Some((
                ident(a.name.as_ref()?),
                cat.resolve_type(&a.data_type).ok()?,
            ))
        })
        .collect::<Option<_>>()?;
    let declared = match &f.return_type {
        Some(FunctionReturnType::DataType(t) | FunctionReturnType::SetOf(t)) => Some(t),
        None => None,
    };
    let result = match declared {
        Some(DataType::Table(cols)) => {
            let mut cols: Vec<(String, PgType)> = cols
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|c| Some((ident(&c.name), cat.resolve_type(&c.data_type).ok()?)))
                .collect::<Option<_>>()?;
            // `RETURNS TABLE (x int)` is `OUT x int`: one value, named `x`.
            if cols.len() == 1 {
                let (name, ty) = cols.pop()?;
                FnResult::Value {
                    ty,
                    column: Some(name),
                }
            } else {
                FnResult::Columns(cols)
            }
        }
        Some(t) if !outs.is_empty() => {
            // PostgreSQL requires `record` for several `OUT` arguments, and their one
            // type for a single one.
            match cat.resolve_type(t) {
                Ok(r) if r.is("record") && outs.len() > 1 => FnResult::Columns(outs),
                Ok(r) if outs.len() == 1 && (r.is("record") || r == outs[0].1) => {
                    let (name, ty) = outs.into_iter().next()?;
                    FnResult::Value {
                        ty,
                        column: Some(name),
                    }
                }
                _ => return None,
            }
        }
        Some(t) => match t {
            DataType::Custom(name, m)
                if m.is_empty() && cat.relations.contains_key(&qualify(name)) =>
            {
                FnResult::Relation(qualify(name))
            }
            _ => {
                // `trigger` and `event_trigger` do not resolve.
                let ty = cat.resolve_type(t).ok()?;
                if ty.is("record") {
                    FnResult::Record
                } else {
                    FnResult::Value { ty, column: None }
                }
            }
        },
        None if outs.len() == 1 => {
            let (name, ty) = outs.into_iter().next()?;
            FnResult::Value {
                ty,
                column: Some(name),
            }
        }
        None if !outs.is_empty() => FnResult::Columns(outs),
        None => return None,
    };
    if let FnResult::Columns(cols) = &result {
        if cols.is_empty() {
            return None;
        }
    }
    Some(CatFunction {
        args: types,
        defaults,
        result,
        volatile: !matches!(
            f.behavior,
            Some(FunctionBehavior::Immutable | FunctionBehavior::Stable)
        ),
    })
}
