//! Types and nullability of a statement's parameters and result columns.
//!
//! Scopes are a stack of frames: a subquery pushes a frame, sees the frames below it
//! (correlation) and pops it when done, so nothing it binds leaks into the outer query.
//! Every decision records a [`Reason`] that `sqlpact explain` shows.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::ast::{
    BinaryOperator, CastKind, Expr, FromTable, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, Insert, JoinConstraint, JoinOperator, ObjectName,
    OnConflictAction, OnInsert, Query, Select, SelectItem, SelectItemQualifiedWildcardKind,
    SetExpr, SetOperator, Spanned, Statement, TableFactor, TableObject, TableWithJoins,
    UnaryOperator, UpdateTableFromKind, Value,
};

use super::functions::{self, Nulls, Ret};
use super::prep::Prepared;
use crate::catalog::{ident, qualify, Catalog, FnResult, Generated, RelKind, Relation};
use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::model::{Reason, ReasonSource as R};
use crate::source::{FileId, Span};
use crate::types::{numeric_rank, PgType};

/// A typed value: a column, an expression, a parameter.
#[derive(Clone, Debug)]
pub struct Typed {
    pub ty: PgType,
    pub nullable: bool,
    pub ty_why: Reason,
    pub null_why: Reason,
    /// The table column this value reads directly: `public.accounts.id`.
    pub table_column: Option<Arc<str>>,
    /// An untyped string literal, whose type yields to context.
    pub literal: bool,
    /// Why an array's elements may be NULL (`array_agg` of a nullable input); `None`
    /// when they may not. A table's array column is taken to hold no NULL element.
    pub elem_null: Option<Reason>,
}

impl Typed {
    fn new(ty: PgType, nullable: bool, ty_why: Reason, null_why: Reason) -> Self {
        Typed {
            ty,
            nullable,
            ty_why,
            null_why,
            table_column: None,
            literal: false,
            elem_null: None,
        }
    }

    fn fixed(ty: &str, nullable: bool, source: R, detail: &str) -> Self {
        Typed::new(
            type_from_name(ty),
            nullable,
            Reason::new(source, detail),
            Reason::new(source, detail),
        )
    }

    fn unknown() -> Self {
        Typed::new(
            PgType::Unknown,
            true,
            Reason::new(R::Expression, "could not be typed"),
            Reason::new(R::Expression, "could not be typed"),
        )
    }
}

#[derive(Clone, Debug)]
pub struct OutCol {
    pub name: String,
    pub t: Typed,
    pub embed: Option<usize>,
    /// The select-list item it comes from, for diagnostics about it.
    pub span: Option<Span>,
}

#[derive(Clone, Debug)]
pub struct EmbedOut {
    pub alias: String,
    pub table: String,
    pub nullable: Option<Reason>,
    pub first: usize,
    pub count: usize,
}

/// A function called in `FROM`.
struct TableCall<'a> {
    /// As written; `None` for `UNNEST`.
    name: Option<&'a ObjectName>,
    /// Unqualified.
    fname: String,
    /// The arguments, by position.
    args: Vec<&'a Expr>,
    /// Some argument is passed by name.
    named: bool,
    with_ordinality: bool,
    alias: Option<&'a sqlparser::ast::TableAlias>,
    span: sqlparser::tokenizer::Span,
}

/// A call's argument expressions, and whether any is passed by name.
fn positional(args: &[FunctionArg]) -> (Vec<&Expr>, bool) {
    let mut named = false;
    let exprs = args
        .iter()
        .filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            FunctionArg::Named {
                arg: FunctionArgExpr::Expr(e),
                ..
            }
            | FunctionArg::ExprNamed {
                arg: FunctionArgExpr::Expr(e),
                ..
            } => {
                named = true;
                Some(e)
            }
            _ => None,
        })
        .collect();
    (exprs, named)
}

/// What a function in `FROM` yields.
struct FnColumns {
    cols: Vec<(String, Typed)>,
    /// The single column is named after the function, so an alias renames it
    /// (`unnest(x) AS t`); a column the function names (an `OUT` argument) keeps it.
    unnamed: bool,
}

/// The forms of a function declaration the catalog does not read, for errors.
const UNREAD_FORMS: &str = "`VARIADIC` or unnamed `OUT` arguments, a type it does not know, or a definition it cannot parse";

#[derive(Clone, Debug)]
struct Rel {
    alias: String,
    /// The catalog relation behind it, when it is one.
    table: Option<String>,
    cols: Vec<(String, Typed)>,
    /// Set when the relation is on the nullable side of an outer join.
    null_ext: Option<Reason>,
    /// Columns hidden from `*` and unqualified lookup (merged by USING / NATURAL).
    hidden: HashSet<String>,
    /// The relation could not be resolved; lookups against it stay quiet.
    poisoned: bool,
}

#[derive(Default)]
struct Frame {
    rels: Vec<Rel>,
    ctes: Vec<(String, Vec<OutCol>)>,
    grouped: bool,
    /// Columns a WHERE predicate proves non-null: (relation index, column).
    nonnull: HashSet<(usize, String)>,
    /// Grouped columns that ROLLUP, CUBE or GROUPING SETS leave out of some grouping
    /// set, and so are NULL in its rows: (relation index, column, or `*` for the whole
    /// row) → the construct's name.
    rolled: HashMap<(usize, String), &'static str>,
    /// The same for grouped expressions that are not a column (`lower(title)`), by
    /// their `canonical` text: the same expression in the select list is NULL there.
    rolled_exprs: Vec<(String, &'static str)>,
    /// An aggregate's arguments are being typed: they see the input rows, where no
    /// grouping set has made anything NULL yet.
    agg_input: bool,
    /// The columns `*` stands for, in PostgreSQL's order (a join's USING or NATURAL
    /// columns first), for the first `star_rels` relations.
    star: Vec<(usize, String)>,
    star_rels: usize,
    /// The select list calls more than one set-returning function: PostgreSQL runs
    /// them side by side, and pads the shorter ones with NULL.
    srf_padded: bool,
    /// What GROUP BY groups by, for the check of what a grouped query reads.
    groups: grouped::Groups,
}

impl Rel {
    /// Whether an unqualified `name` is a column of this relation.
    fn has_visible(&self, name: &str) -> bool {
        !self.hidden.contains(name) && self.cols.iter().any(|c| c.0 == name)
    }
}

/// An output column as PostgreSQL numbers them in GROUP BY (`*` and `t.*` expanded).
enum Slot<'e> {
    Expr(&'e Expr),
    Column(usize, String),
}

/// What a GROUP BY member groups by.
enum Resolved {
    /// A column of the query's FROM (relation index, column; `*` for a whole row).
    Column(usize, String),
    Expr(Box<Expr>),
}

/// Why a value is NULL in the rows a grouping construct adds.
fn rolled_reason(what: &str, word: &str) -> Reason {
    Reason::new(
        R::Aggregate,
        format!("`{what}` is NULL in the rows {word} adds for the grouping sets without it"),
    )
}

/// A context type flowing into an expression, used to type parameters.
#[derive(Clone, Debug)]
pub struct Hint {
    pub ty: PgType,
    pub nullable: bool,
    pub column: Option<String>,
    pub why: String,
}

impl Hint {
    /// A boolean context (WHERE, ON, HAVING, AND, OR, NOT, WHEN, FILTER): a bare
    /// parameter there is a non-null `bool`, as PostgreSQL resolves it.
    fn condition(why: &str) -> Hint {
        Hint {
            ty: PgType::named("bool"),
            nullable: false,
            column: None,
            why: why.into(),
        }
    }

    /// A value of a built-in type, such as a function's argument.
    fn of(ty: &str, why: &str) -> Hint {
        Hint {
            ty: type_from_name(ty),
            nullable: false,
            column: None,
            why: why.into(),
        }
    }
}

/// How a statement writes into a column, for the help of E412.
#[derive(Clone, Copy)]
enum Write {
    /// A value in INSERT's VALUES.
    Insert,
    /// A column of an INSERT whose rows a query gives.
    InsertQuery,
    /// A value UPDATE's SET assigns (also ON CONFLICT DO UPDATE, MERGE's UPDATE).
    Update,
}

#[derive(Clone, Debug)]
pub struct ParamSlot {
    pub position: u32,
    pub ty: PgType,
    pub ty_why: Option<Reason>,
    pub context_nullable: Option<Reason>,
    pub column: Option<String>,
    /// Rewritten-SQL ranges of the WHERE conjuncts that compare this parameter.
    pub filter_conjuncts: Vec<Range<usize>>,
    /// Written `sqlc.narg`: its value, wherever it goes, may be NULL.
    pub narg: bool,
    /// A positional parameter's name where no column names it (`LIMIT $1` is `limit`).
    pub name: Option<&'static str>,
    /// Written `sqlc.narg` or listed in `-- @optional`: the filter comparing it may be
    /// dropped, so it refines nothing.
    pub optional: bool,
}

pub struct Cx<'a> {
    pub cat: &'a Catalog,
    /// The text the statement was parsed from.
    text: &'a str,
    prep: Option<&'a Prepared>,
    file: FileId,
    base: usize,
    frames: Vec<Frame>,
    pub params: Vec<ParamSlot>,
    pub diags: Vec<Diagnostic>,
    pub embeds: Vec<EmbedOut>,
    pub tables: BTreeSet<String>,
    pub writes: bool,
    /// A `FOR UPDATE`/`FOR SHARE` clause takes row locks somewhere in the statement, or
    /// a call takes or releases an advisory lock.
    pub locks: bool,
    /// The first call that leaves state on the session beyond the statement (a
    /// session-level advisory lock, `set_config` for the session), and its name.
    pub session: Option<(Span, String)>,
    /// The alias of a MERGE's target while a WHEN NOT MATCHED clause, which cannot
    /// see it, is typed.
    unmatched_target: Option<String>,
    /// The earlier FROM items of the level a subquery in FROM without LATERAL sits
    /// in, hidden from it while it is typed.
    not_lateral: Vec<Rel>,
    /// The alias of an UPDATE's or DELETE's target while its FROM or USING items, which
    /// cannot see it even under LATERAL, are typed.
    dml_target: Option<String>,
    /// `*` and `t.*` of select lists and RETURNING, with the explicit column list that
    /// replaces each in the SQL sent to the server (ranges in the parsed text), so that
    /// a column added to a table later does not change what deployed clients decode.
    pub star_edits: Vec<(Range<usize>, String)>,
    /// The conjunct of the top-level WHERE being analyzed, for optional filters.
    current_conjunct: Option<Range<usize>>,
    line_starts: Vec<usize>,
    rel_cache: Option<&'a RelCache>,
    /// The text's `OVERRIDING` clauses, by the INSERT each belongs to.
    overriding: Vec<crate::sqltext::OverridingAt>,
    /// The `OVERRIDING` clause of the INSERT whose values are being typed.
    active_override: Option<crate::sqltext::Overriding>,
}

/// PostgreSQL's reserved key words (reserved, and reserved but usable as a function or
/// type name): a column so named must be quoted.
const PG_RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// An identifier as SQL must spell it: bare when it is a plain lowercase name that is
/// not a reserved key word, double-quoted otherwise.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain && PG_RESERVED.binary_search(&name).is_err() {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The typed columns of a catalog relation, as a query reads them.
pub fn relation_columns(q: &str, r: &Relation) -> Vec<(String, Typed)> {
    let kind = if r.kind == RelKind::View {
        "view"
    } else {
        "table"
    };
    r.columns
        .iter()
        .map(|c| {
            let mut t = Typed::new(
                c.ty.clone(),
                !c.not_null,
                Reason::new(
                    R::TableConstraint,
                    format!("declared type of {kind} column `{q}.{}`", c.name),
                ),
                Reason::new(
                    R::TableConstraint,
                    if c.not_null {
                        format!("`{q}.{}` is NOT NULL", c.name)
                    } else {
                        format!("`{q}.{}` allows NULL", c.name)
                    },
                ),
            );
            t.table_column = Some(format!("{q}.{}", c.name).into());
            if c.null_elements {
                t.elem_null = Some(Reason::new(
                    R::TableConstraint,
                    format!(
                        "the query of view `{q}` builds `{}` with NULL elements",
                        c.name
                    ),
                ));
            }
            (c.name.clone(), t)
        })
        .collect()
}

/// Every catalog relation's typed columns, built once and shared by all queries.
pub type RelCache = HashMap<String, Vec<(String, Typed)>>;

pub fn rel_cache(cat: &Catalog) -> RelCache {
    cat.relations
        .iter()
        .map(|(q, r)| (q.clone(), relation_columns(q, r)))
        .collect()
}

fn is_comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
    )
}

fn unwrap_nested(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => unwrap_nested(inner),
        _ => e,
    }
}

impl<'a> Cx<'a> {
    pub fn new(
        cat: &'a Catalog,
        text: &'a str,
        prep: Option<&'a Prepared>,
        file: FileId,
        base: usize,
    ) -> Self {
        let params = prep
            .map(|p| {
                p.params
                    .iter()
                    .map(|q| ParamSlot {
                        position: q.position,
                        ty: PgType::Unknown,
                        ty_why: None,
                        context_nullable: None,
                        column: None,
                        filter_conjuncts: Vec::new(),
                        narg: q.narg,
                        name: None,
                        optional: q.narg,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Cx {
            cat,
            text,
            prep,
            file,
            base,
            frames: Vec::new(),
            params,
            diags: Vec::new(),
            embeds: Vec::new(),
            tables: BTreeSet::new(),
            writes: false,
            locks: false,
            session: None,
            unmatched_target: None,
            not_lateral: Vec::new(),
            dml_target: None,
            current_conjunct: None,
            line_starts,
            rel_cache: None,
            star_edits: Vec::new(),
            overriding: Vec::new(),
            active_override: None,
        }
    }

    /// The `OVERRIDING` clauses the parse found in the text (`sqltext::parse_query`).
    pub fn with_overriding(mut self, overriding: Vec<crate::sqltext::OverridingAt>) -> Self {
        self.overriding = overriding;
        self
    }

    /// Types an INSERT's values under its `OVERRIDING` clause, if it has one.
    fn under_overriding<R>(&mut self, insert: &AttachedToken, f: impl FnOnce(&mut Self) -> R) -> R {
        let at = insert.0.span.start;
        let this = self
            .overriding
            .iter()
            .find(|(l, _)| *l == at)
            .map(|(_, o)| *o);
        let outer = std::mem::replace(&mut self.active_override, this);
        let r = f(self);
        self.active_override = outer;
        r
    }

    /// Reads catalog relations' columns from `cache` instead of building them.
    pub fn with_rel_cache(mut self, cache: &'a RelCache) -> Self {
        self.rel_cache = Some(cache);
        self
    }

    /// Offset in the parsed text of a parser location.
    fn text_offset(&self, line: u64, column: u64) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1) as usize) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        let col = column.saturating_sub(1) as usize;
        start + rest.char_indices().nth(col).map_or(rest.len(), |(b, _)| b)
    }

    fn to_file(&self, text_offset: usize) -> usize {
        self.base + self.prep.map_or(text_offset, |p| p.original(text_offset))
    }

    /// File span of a parser span; the statement's start when the parser recorded none.
    pub fn span(&self, s: sqlparser::tokenizer::Span) -> Span {
        if s.start.line == 0 {
            return Span::point(self.file, self.base);
        }
        let a = self.to_file(self.text_offset(s.start.line, s.start.column));
        let b = if s.end.line == 0 {
            a
        } else {
            self.to_file(self.text_offset(s.end.line, s.end.column))
                .max(a)
        };
        Span::new(self.file, a..b)
    }

    /// Range in the parsed text of a parser span.
    fn text_range(&self, s: sqlparser::tokenizer::Span) -> Option<Range<usize>> {
        (s.start.line > 0 && s.end.line > 0).then(|| {
            self.text_offset(s.start.line, s.start.column)
                ..self.text_offset(s.end.line, s.end.column)
        })
    }

    fn err(&mut self, code: Code, span: sqlparser::tokenizer::Span, msg: String, help: String) {
        let sp = self.span(span);
        // An expression typed twice (once to learn a type, once with it) says it once.
        if self
            .diags
            .iter()
            .any(|d| d.code == code && d.message == msg && d.span.as_ref() == Some(&sp))
        {
            return;
        }
        self.diags
            .push(Diagnostic::error(code, msg).at(sp).help(help));
    }

    fn top(&mut self) -> &mut Frame {
        if self.frames.is_empty() {
            self.frames.push(Frame::default());
        }
        let n = self.frames.len() - 1;
        &mut self.frames[n]
    }

    // ----- statements -------------------------------------------------------------

    /// Analyzes one statement; its result columns, or `None` for a statement kind that
    /// is not supported.
    pub fn statement(&mut self, s: &Statement) -> Option<Vec<OutCol>> {
        self.check_set_returning(s);
        match s {
            Statement::Query(q) => Some(self.query(q, None)),
            Statement::Insert(i) => Some(self.insert(i)),
            Statement::Update(u) => Some(self.update(u)),
            Statement::Delete(d) => Some(self.delete(d)),
            Statement::Merge(m) => Some(self.merge(m)),
            _ => None,
        }
    }

    pub fn query(&mut self, q: &Query, hints: Option<&[Hint]>) -> Vec<OutCol> {
        self.frames.push(Frame::default());
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let name = ident(&cte.alias.name);
                if with.recursive {
                    // The non-recursive term types the CTE before its recursive term runs.
                    if let SetExpr::SetOperation { left, .. } = cte.query.body.as_ref() {
                        let seed = self.set_expr(left, None, None);
                        let seed = rename(seed, &cte.alias.columns);
                        self.top().ctes.push((name.clone(), seed));
                    }
                }
                let cols = self.query(&cte.query, None);
                let cols = rename(cols, &cte.alias.columns);
                let top = self.top();
                top.ctes.retain(|(n, _)| *n != name);
                top.ctes.push((name, cols));
            }
        }
        let cols = self.set_expr(&q.body, hints, q.order_by.as_ref());
        self.locks |= !q.locks.is_empty();
        if let Some(limit) = &q.limit_clause {
            let h = Hint {
                ty: PgType::named("int8"),
                nullable: false,
                column: None,
                why: "LIMIT/OFFSET take a bigint".into(),
            };
            let (limit, offset) = match limit {
                sqlparser::ast::LimitClause::LimitOffset { limit, offset, .. } => {
                    (limit.as_ref(), offset.as_ref().map(|o| &o.value))
                }
                sqlparser::ast::LimitClause::OffsetCommaLimit { offset, limit } => {
                    (Some(limit), Some(offset))
                }
            };
            for (e, name) in [(limit, "limit"), (offset, "offset")] {
                if let Some(e) = e {
                    self.expr(e, Some(&h));
                    self.name_param(e, name);
                }
            }
        }
        self.frames.pop();
        cols
    }

    fn set_expr(
        &mut self,
        body: &SetExpr,
        hints: Option<&[Hint]>,
        order_by: Option<&sqlparser::ast::OrderBy>,
    ) -> Vec<OutCol> {
        match body {
            SetExpr::Select(s) => self.select(s, hints, order_by),
            SetExpr::Query(q) => self.query(q, hints),
            SetExpr::SetOperation {
                left, op, right, ..
            } => {
                let l = self.set_expr(left, hints, None);
                let r = self.set_expr(right, hints, None);
                self.set_operation(l, r, op, body.span())
            }
            SetExpr::Values(v) => {
                let mut out: Vec<OutCol> = Vec::new();
                for (ri, row) in v.rows.iter().enumerate() {
                    let row_cols: Vec<OutCol> = row
                        .content
                        .iter()
                        .enumerate()
                        .map(|(i, e)| {
                            let h = hints.and_then(|h| h.get(i)).cloned().or_else(|| {
                                out.get(i).filter(|c| !c.t.ty.is_unknown()).map(|c| Hint {
                                    ty: c.t.ty.clone(),
                                    nullable: false,
                                    column: None,
                                    why: "the same column of the first VALUES row".into(),
                                })
                            });
                            OutCol {
                                name: format!("column{}", i + 1),
                                t: self.expr(e, h.as_ref()),
                                embed: None,
                                span: None,
                            }
                        })
                        .collect();
                    if ri == 0 {
                        out = row_cols;
                    } else {
                        out = self.set_operation(out, row_cols, &SetOperator::Union, v.span());
                    }
                }
                out
            }
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
                self.statement(s).unwrap_or_default()
            }
            SetExpr::Table(t) => {
                let name = t.table_name.clone().unwrap_or_default();
                let rel = self.relation_by_name(
                    &ObjectName::from(vec![sqlparser::ast::Ident::new(name)]),
                    None,
                    body.span(),
                );
                rel.cols
                    .into_iter()
                    .map(|(name, t)| OutCol {
                        name,
                        t,
                        embed: None,
                        span: None,
                    })
                    .collect()
            }
        }
    }

    fn set_operation(
        &mut self,
        l: Vec<OutCol>,
        r: Vec<OutCol>,
        op: &SetOperator,
        span: sqlparser::tokenizer::Span,
    ) -> Vec<OutCol> {
        if l.len() != r.len() {
            self.err(
                Code::ArityMismatch,
                span,
                format!(
                    "each side of {op} must return the same number of columns ({} and {})",
                    l.len(),
                    r.len()
                ),
                "add or remove columns so both sides match".into(),
            );
            return l;
        }
        let opname = op.to_string();
        l.into_iter()
            .zip(r)
            .map(|(mut a, b)| {
                if a.t.ty.is_unknown() || (a.t.literal && !b.t.literal && !b.t.ty.is_unknown()) {
                    a.t.ty = b.t.ty.clone();
                    a.t.ty_why = b.t.ty_why.clone();
                    a.t.literal = b.t.literal;
                } else if !b.t.ty.is_unknown() && a.t.ty != b.t.ty {
                    let (ta, tb) = (self.cat.base_type(&a.t.ty), self.cat.base_type(&b.t.ty));
                    if ta == tb {
                        a.t.ty = ta;
                    } else if let (Some(x), Some(y)) = (numeric_rank(&ta), numeric_rank(&tb)) {
                        a.t.ty = if x >= y { ta } else { tb };
                    } else if ta.is_text() && tb.is_text() {
                        a.t.ty = PgType::named("text");
                    }
                    a.t.ty_why = Reason::new(
                        R::SetOperation,
                        format!("the common type of both sides of {opname}"),
                    );
                }
                let nullable = match op {
                    SetOperator::Intersect => a.t.nullable && b.t.nullable,
                    SetOperator::Except | SetOperator::Minus => a.t.nullable,
                    _ => a.t.nullable || b.t.nullable,
                };
                if nullable != a.t.nullable || (nullable && b.t.nullable && !a.t.nullable) {
                    a.t.null_why = Reason::new(
                        R::SetOperation,
                        format!("a branch of {opname} may yield NULL here"),
                    );
                } else if !nullable {
                    a.t.null_why = Reason::new(
                        R::SetOperation,
                        format!("no branch of {opname} yields NULL here"),
                    );
                }
                a.t.nullable = nullable;
                a.t.elem_null = match op {
                    SetOperator::Intersect => a.t.elem_null.filter(|_| b.t.elem_null.is_some()),
                    SetOperator::Except | SetOperator::Minus => a.t.elem_null,
                    _ => a.t.elem_null.or(b.t.elem_null),
                };
                a.t.table_column = None;
                a.embed = None;
                a
            })
            .collect()
    }

    fn select(
        &mut self,
        s: &Select,
        hints: Option<&[Hint]>,
        order_by: Option<&sqlparser::ast::OrderBy>,
    ) -> Vec<OutCol> {
        let diags = self.diags.len();
        self.frames.push(Frame::default());
        for twj in &s.from {
            self.add_from_item(twj);
        }
        if let Some(w) = &s.selection {
            self.filter(w);
        }
        if let GroupByExpr::Expressions(exprs, _) = &s.group_by {
            self.group_by(exprs, &s.projection);
        }
        if let Some(h) = &s.having {
            self.expr(h, Some(&Hint::condition("a HAVING condition")));
        }
        // ORDER BY's set-returning functions run beside the select list's.
        let order: Vec<&Expr> = match order_by.map(|o| &o.kind) {
            Some(sqlparser::ast::OrderByKind::Expressions(exprs)) => {
                exprs.iter().map(|o| &o.expr).collect()
            }
            _ => Vec::new(),
        };
        self.top().srf_padded = set_returning_calls(&s.projection, &order) > 1;
        let cols = self.projection(&s.projection, hints);
        let mut ordered = Vec::new();
        if let Some(ob) = order_by {
            if let sqlparser::ast::OrderByKind::Expressions(exprs) = &ob.kind {
                for o in exprs {
                    let is_output = match &o.expr {
                        Expr::Identifier(i) => cols.iter().any(|c| c.name == ident(i)),
                        Expr::Value(v) => matches!(v.value, Value::Number(..)),
                        _ => false,
                    };
                    if !is_output {
                        self.expr(&o.expr, None);
                        ordered.push(&o.expr);
                    }
                }
            }
        }
        if self.diags.len() == diags {
            self.check_grouping(s, &ordered);
        }
        self.frames.pop();
        cols
    }

    fn projection(&mut self, items: &[SelectItem], hints: Option<&[Hint]>) -> Vec<OutCol> {
        self.top().srf_padded |= set_returning_calls(items, &[]) > 1;
        let mut out = Vec::new();
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    let h = hints.and_then(|h| h.get(out.len())).cloned();
                    let t = self.expr(e, h.as_ref());
                    let name = self
                        .expr_name(e)
                        .unwrap_or_else(|| format!("column_{}", out.len() + 1));
                    out.push(OutCol {
                        name,
                        t,
                        embed: None,
                        span: Some(self.span(item.span())),
                    });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let h = hints.and_then(|h| h.get(out.len())).cloned();
                    let t = self.expr(expr, h.as_ref());
                    out.push(OutCol {
                        name: ident(alias),
                        t,
                        embed: None,
                        span: Some(self.span(item.span())),
                    });
                }
                SelectItem::Wildcard(opts) => {
                    self.record_star(item, opts, None);
                    for (ri, n) in self.star_columns(None) {
                        let t = self.frames.last().and_then(|f| {
                            f.rels[ri]
                                .cols
                                .iter()
                                .find(|c| c.0 == n)
                                .map(|c| c.1.clone())
                        });
                        out.push(OutCol {
                            t: self.apply_rel(ri, &n, t.unwrap_or_else(Typed::unknown)),
                            name: n,
                            embed: None,
                            span: None,
                        });
                    }
                }
                SelectItem::QualifiedWildcard(kind, opts) => {
                    if let SelectItemQualifiedWildcardKind::ObjectName(n) = kind {
                        self.record_star(item, opts, Some(crate::catalog::last_part(n)));
                    }
                    let (alias, span) = match kind {
                        SelectItemQualifiedWildcardKind::ObjectName(n) => {
                            (crate::catalog::last_part(n), n.span())
                        }
                        SelectItemQualifiedWildcardKind::Expr(e) => (String::new(), e.span()),
                    };
                    let text_at = self.text_range(span).map(|r| r.start);
                    let embed = self
                        .prep
                        .and_then(|p| {
                            p.embeds
                                .iter()
                                .find(|e| Some(e.at) == text_at && e.alias == alias)
                        })
                        .is_some();
                    let found = self
                        .frames
                        .last()
                        .and_then(|f| f.rels.iter().position(|r| r.alias == alias));
                    match found {
                        Some(ri) => {
                            let rel = self.frames.last().map(|f| f.rels[ri].clone());
                            let Some(rel) = rel else { continue };
                            let first = out.len();
                            let embed_idx = embed.then(|| {
                                self.embeds.push(EmbedOut {
                                    alias: alias.clone(),
                                    table: rel.table.clone().unwrap_or_else(|| alias.clone()),
                                    nullable: rel.null_ext.clone(),
                                    first,
                                    count: rel.cols.len(),
                                });
                                self.embeds.len() - 1
                            });
                            for (n, t) in &rel.cols {
                                let t = if embed_idx.is_some() {
                                    t.clone()
                                } else {
                                    self.apply_rel(ri, n, t.clone())
                                };
                                out.push(OutCol {
                                    name: n.clone(),
                                    t,
                                    embed: embed_idx,
                                    span: None,
                                });
                            }
                        }
                        None => {
                            let names: Vec<String> = self
                                .frames
                                .last()
                                .map(|f| f.rels.iter().map(|r| r.alias.clone()).collect())
                                .unwrap_or_default();
                            let hint = did_you_mean(&alias, names.iter().map(String::as_str))
                                .map_or_else(
                                    || format!("tables in scope: {}", names.join(", ")),
                                    |s| format!("did you mean `{s}`?"),
                                );
                            let code = if embed {
                                Code::BadEmbed
                            } else {
                                Code::UnknownTable
                            };
                            self.err(
                                code,
                                span,
                                format!("`{alias}` is not a table of this query"),
                                hint,
                            );
                        }
                    }
                }
                SelectItem::ExprWithAliases { expr, .. } => {
                    self.err(
                        Code::UnsupportedStatement,
                        expr.span(),
                        "multiple aliases for one expression are not supported".into(),
                        "alias the expression once".into(),
                    );
                }
            }
        }
        out
    }

    /// Types a GROUP BY list and notes what its grouping sets imply: whether every group
    /// holds a row (not so when a grouping set is empty, as ROLLUP's and CUBE's last
    /// is), and which grouped columns and expressions are NULL in the rows of the sets
    /// that leave them out.
    fn group_by(&mut self, exprs: &[Expr], items: &[SelectItem]) {
        // Each item's members, those in every set the item makes, and whether every
        // item can make an empty set (then so can their product).
        let mut always: Vec<&Expr> = Vec::new();
        let mut sometimes: Vec<(&Expr, &'static str)> = Vec::new();
        let mut empty_set = true;
        for e in exprs {
            match e {
                Expr::Rollup(sets) | Expr::Cube(sets) => {
                    let word = if matches!(e, Expr::Rollup(_)) {
                        "ROLLUP"
                    } else {
                        "CUBE"
                    };
                    sometimes.extend(sets.iter().flatten().flat_map(members).map(|m| (m, word)));
                }
                Expr::GroupingSets(sets) => {
                    // A nested ROLLUP or CUBE makes sets of its own, an empty one
                    // among them: with one, every member is left out somewhere.
                    let nested: Vec<Vec<&Expr>> =
                        sets.iter().flatten().filter_map(nested_grouping).collect();
                    for m in sets
                        .iter()
                        .flatten()
                        .filter(|m| nested_grouping(m).is_none())
                    {
                        let f = self.frames.last();
                        let every = sets
                            .iter()
                            .all(|set| set.iter().any(|x| same_member(f, x, m)));
                        if nested.is_empty() && every {
                            always.push(m);
                        } else {
                            sometimes.push((m, "GROUPING SETS"));
                        }
                    }
                    if nested.is_empty() && !sets.iter().any(Vec::is_empty) {
                        empty_set = false;
                    }
                    sometimes.extend(nested.into_iter().flatten().map(|m| (m, "GROUPING SETS")));
                }
                // `GROUP BY ()`: the empty grouping set itself.
                Expr::Tuple(t) if t.is_empty() => {}
                // `GROUP BY (a, b)` is a list of expressions there, not a row.
                Expr::Tuple(_) => {
                    empty_set = false;
                    always.extend(members(e));
                }
                _ => {
                    empty_set = false;
                    always.push(e);
                }
            }
        }
        self.top().grouped = !empty_set;
        // Each member as the output column it names, or typed as written.
        let slots = self.output_slots(items);
        let always: Vec<Resolved> = always
            .into_iter()
            .map(|m| self.resolve_member(m, &slots))
            .collect();
        let sometimes: Vec<(Resolved, &'static str)> = sometimes
            .into_iter()
            .map(|(m, word)| (self.resolve_member(m, &slots), word))
            .collect();
        let groups = self
            .frames
            .last()
            .map_or_else(grouped::Groups::default, |f| {
                grouped::Groups::new(f, &always, sometimes.iter().map(|(r, _)| r))
            });
        // Columns grouped in every set are never NULL for the grouping's sake.
        let kept: Vec<(usize, String)> = always
            .iter()
            .filter_map(|r| match r {
                Resolved::Column(ri, n) => Some((*ri, n.clone())),
                Resolved::Expr(_) => None,
            })
            .collect();
        let always_exprs: Vec<String> = always
            .iter()
            .filter_map(|r| match r {
                Resolved::Expr(e) => Some(canonical(e)),
                Resolved::Column(..) => None,
            })
            .collect();
        let mut rolled = HashMap::new();
        let mut rolled_exprs = Vec::new();
        for (r, word) in sometimes {
            match r {
                Resolved::Column(ri, n) => {
                    if !kept.contains(&(ri, n.clone())) {
                        rolled.insert((ri, n), word);
                    }
                }
                Resolved::Expr(e) => {
                    let key = canonical(&e);
                    if always_exprs.contains(&key) {
                        continue;
                    }
                    // Written otherwise in the select list, the expression still holds
                    // its columns: they are NULL there too, unless grouped in every
                    // set (strict uses of them then come out nullable).
                    let Some(f) = self.frames.last() else {
                        break;
                    };
                    let mut refs = Vec::new();
                    let _ = sqlparser::ast::visit_expressions(&e, |x| {
                        if let Some(c) = local_column(f, x) {
                            refs.push(c);
                        }
                        std::ops::ControlFlow::<()>::Continue(())
                    });
                    for c in refs {
                        if !kept.contains(&c) {
                            rolled.insert(c, word);
                        }
                    }
                    rolled_exprs.push((key, word));
                }
            }
        }
        let top = self.top();
        top.rolled = rolled;
        top.rolled_exprs = rolled_exprs;
        top.groups = groups;
    }

    /// A GROUP BY member as what it groups: a column of the FROM (the whole row of a
    /// relation is its column `*`), or an expression. Members that name an output
    /// column are that column's; the others are typed here.
    fn resolve_member(&mut self, m: &Expr, slots: &[(Option<String>, Slot<'_>)]) -> Resolved {
        let e = match self.output_slot(m, slots) {
            Some(Slot::Column(ri, n)) => return Resolved::Column(ri, n),
            Some(Slot::Expr(e)) => e.clone(),
            None => {
                self.expr(m, None);
                m.clone()
            }
        };
        let Some(f) = self.frames.last() else {
            return Resolved::Expr(Box::new(e));
        };
        let inner = unwrap_nested(&e);
        if let Some((ri, n)) = local_column(f, inner) {
            return Resolved::Column(ri, n);
        }
        if let Expr::Identifier(i) = inner {
            if let Some(ri) = f.rels.iter().rposition(|r| r.alias == ident(i)) {
                return Resolved::Column(ri, "*".to_owned());
            }
        }
        Resolved::Expr(Box::new(e))
    }

    /// The select list as GROUP BY numbers and names it: `*` and `t.*` expanded.
    fn output_slots<'e>(&self, items: &'e [SelectItem]) -> Vec<(Option<String>, Slot<'e>)> {
        let mut out = Vec::new();
        for item in items {
            let only = match item {
                SelectItem::ExprWithAlias { expr, alias } => {
                    out.push((Some(ident(alias)), Slot::Expr(expr)));
                    continue;
                }
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAliases { expr: e, .. } => {
                    out.push((self.expr_name(e), Slot::Expr(e)));
                    continue;
                }
                SelectItem::Wildcard(_) => None,
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => Some(crate::catalog::last_part(n)),
                SelectItem::QualifiedWildcard(..) => continue,
            };
            for (ri, n) in self.star_columns(only.as_deref()) {
                out.push((Some(n.clone()), Slot::Column(ri, n)));
            }
        }
        out
    }

    /// The output column a GROUP BY member names: a number is its position; a bare
    /// name that no column of this query's FROM has is the output column of that name
    /// (PostgreSQL looks there before the enclosing queries' columns).
    fn output_slot<'e>(
        &mut self,
        m: &Expr,
        slots: &[(Option<String>, Slot<'e>)],
    ) -> Option<Slot<'e>> {
        let pick = |i: usize| match &slots[i].1 {
            Slot::Expr(e) => Slot::Expr(e),
            Slot::Column(ri, n) => Slot::Column(*ri, n.clone()),
        };
        match unwrap_nested(m) {
            Expr::Identifier(i) => {
                let name = ident(i);
                let local = self
                    .frames
                    .last()
                    .is_some_and(|f| f.rels.iter().any(|r| r.has_visible(&name)));
                if local {
                    return None;
                }
                slots
                    .iter()
                    .position(|(n, _)| n.as_deref() == Some(name.as_str()))
                    .map(pick)
            }
            Expr::Value(v) => {
                let Value::Number(n, _) = &v.value else {
                    return None;
                };
                match n.parse::<usize>() {
                    Ok(p) if (1..=slots.len()).contains(&p) => Some(pick(p - 1)),
                    _ => {
                        self.err(
                            Code::UnknownColumn,
                            m.span(),
                            format!("GROUP BY position {n} is not in the select list"),
                            format!("the select list has {} column(s)", slots.len()),
                        );
                        None
                    }
                }
            }
            _ => None,
        }
    }

    /// Records the explicit column list for a `*` (`only` = None) or `t.*` of the
    /// current frame. Left as written when the expansion would not be exact: columns
    /// merged by USING/NATURAL, wildcard options, an unnamed relation, a relation with
    /// two columns of one name.
    fn record_star(
        &mut self,
        item: &SelectItem,
        opts: &sqlparser::ast::WildcardAdditionalOptions,
        only: Option<String>,
    ) {
        let plain = opts.opt_ilike.is_none()
            && opts.opt_exclude.is_none()
            && opts.opt_except.is_none()
            && opts.opt_replace.is_none()
            && opts.opt_rename.is_none();
        let Some(frame) = self.frames.last() else {
            return;
        };
        let Some(range) = self.text_range(item.span()) else {
            return;
        };
        let rels: Vec<&Rel> = frame
            .rels
            .iter()
            .filter(|r| only.as_ref().is_none_or(|a| r.alias == *a))
            .collect();
        if !plain
            || rels.is_empty()
            || rels.iter().any(|r| {
                let mut names = HashSet::new();
                r.poisoned
                    || !r.hidden.is_empty()
                    || r.alias.is_empty()
                    || r.cols.is_empty()
                    // A name a relation has twice cannot be referenced (`unnest(a, b)`).
                    || !r.cols.iter().all(|(n, _)| names.insert(n.as_str()))
            })
        {
            return;
        }
        let bare = only.is_none() && frame.rels.len() == 1;
        let cols: Vec<String> = rels
            .iter()
            .flat_map(|r| {
                r.cols.iter().map(move |(n, _)| {
                    if bare {
                        quote_ident(n)
                    } else {
                        format!("{}.{}", quote_ident(&r.alias), quote_ident(n))
                    }
                })
            })
            .collect();
        self.star_edits.push((range, cols.join(", ")));
    }

    /// PostgreSQL's name for an unaliased select-list expression.
    fn expr_name(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Identifier(i) => Some(ident(i)),
            Expr::CompoundIdentifier(parts) => parts.last().map(ident),
            Expr::Function(f) => Some(crate::catalog::last_part(&f.name)),
            Expr::Cast {
                expr, data_type, ..
            } => self.expr_name(expr).or_else(|| {
                let (b, _) = crate::types::split_spelling(&data_type.to_string());
                crate::types::canonical_builtin(&b)
                    .map(str::to_owned)
                    .or(Some(b))
            }),
            Expr::Nested(inner) => self.expr_name(inner),
            Expr::Case { .. } => Some("case".into()),
            Expr::Ceil { .. } => Some("ceil".into()),
            Expr::Floor { .. } => Some("floor".into()),
            Expr::Exists { .. } => Some("exists".into()),
            Expr::Subquery(q) => match q.body.as_ref() {
                SetExpr::Select(s) => s.projection.first().and_then(|p| match p {
                    SelectItem::ExprWithAlias { alias, .. } => Some(ident(alias)),
                    SelectItem::UnnamedExpr(e) => self.expr_name(e),
                    _ => None,
                }),
                _ => None,
            },
            Expr::Array(_) => Some("array".into()),
            // `(home).city` is `city`, `tags[1]` is `tags`: the last field named, else
            // the value subscripted, as PostgreSQL names them.
            Expr::CompoundFieldAccess { root, access_chain } => access_chain
                .iter()
                .rev()
                .find_map(|a| match a {
                    sqlparser::ast::AccessExpr::Dot(Expr::Identifier(f)) => Some(ident(f)),
                    _ => None,
                })
                .or_else(|| self.expr_name(root)),
            _ => None,
        }
    }

    fn insert(&mut self, i: &Insert) -> Vec<OutCol> {
        self.writes = true;
        let TableObject::TableName(name) = &i.table else {
            self.err(
                Code::UnsupportedStatement,
                i.table.span(),
                "INSERT into a table function is not supported".into(),
                "insert into a table".into(),
            );
            return Vec::new();
        };
        let alias = i.table_alias.as_ref().map(|a| ident(&a.alias));
        let rel = self.relation_by_name(name, alias.as_deref(), name.span());
        if rel.poisoned {
            return Vec::new();
        }
        let hints = self.insert_targets(&rel, &i.columns);
        if let Some(src) = &i.source {
            let produced = self.under_overriding(&i.insert_token, |cx| match src.body.as_ref() {
                SetExpr::Values(v) => {
                    cx.insert_values(v, &hints, !i.columns.is_empty());
                    None
                }
                _ => {
                    for (k, h) in hints.iter().enumerate() {
                        let at = i.columns.get(k).map_or_else(|| name.span(), |c| c.span());
                        cx.refuse_generated(h, at, Write::InsertQuery);
                    }
                    Some(cx.query(src, Some(&hints)))
                }
            });
            if let Some(cols) = produced {
                let explicit = !i.columns.is_empty();
                self.insert_arity(src.span(), hints.len(), cols.len(), explicit, false);
            }
        }
        self.frames.push(Frame::default());
        self.top().rels.push(rel.clone());
        if let Some(OnInsert::OnConflict(oc)) = &i.on {
            if let OnConflictAction::DoUpdate(du) = &oc.action {
                let mut excluded = rel.clone();
                excluded.alias = "excluded".into();
                self.top().rels.push(excluded);
                for a in &du.assignments {
                    self.assignment(&rel, a);
                }
                if let Some(w) = &du.selection {
                    self.expr(w, Some(&Hint::condition("a DO UPDATE condition")));
                }
                self.top().rels.pop();
            }
        }
        let out = i
            .returning
            .as_ref()
            .map(|r| self.projection(r, None))
            .unwrap_or_default();
        self.frames.pop();
        out
    }

    /// The columns an INSERT names (all of the table's when it names none), as hints
    /// for the values written into them.
    fn insert_targets(&mut self, rel: &Rel, columns: &[ObjectName]) -> Vec<Hint> {
        let table = rel.table.clone().unwrap_or_default();
        let targets: Vec<(String, Typed)> = if columns.is_empty() {
            rel.cols.clone()
        } else {
            columns
                .iter()
                .filter_map(|c| {
                    let n = crate::catalog::last_part(c);
                    match rel.cols.iter().find(|(cn, _)| *cn == n) {
                        Some(x) => Some(x.clone()),
                        None => {
                            self.unknown_column_in(rel, &n, c.span());
                            None
                        }
                    }
                })
                .collect()
        };
        targets
            .iter()
            .map(|(n, t)| Hint {
                ty: t.ty.clone(),
                nullable: t.nullable,
                column: Some(format!("{table}.{n}")),
                why: format!("inserted into `{table}.{n}`"),
            })
            .collect()
    }

    /// E406 when an INSERT gives `n` values (a VALUES row's, or else a query's) for
    /// `columns` columns: with a column list (`explicit`) one per column, without one
    /// at most one per column, fewer filling the first ones, as PostgreSQL does.
    fn insert_arity(
        &mut self,
        span: sqlparser::tokenizer::Span,
        columns: usize,
        n: usize,
        explicit: bool,
        row: bool,
    ) {
        if n == columns || (n < columns && !explicit) {
            return;
        }
        let (has, give) = if row {
            (format!("this row has {n} values"), "give")
        } else {
            (format!("the query returns {n}"), "return")
        };
        let (msg, help) = if explicit {
            (
                format!("INSERT names {columns} columns but {has}"),
                if row {
                    "give one value per column".to_owned()
                } else {
                    "return one value per inserted column".to_owned()
                },
            )
        } else {
            (
                format!("the table has {columns} columns but {has}"),
                format!("{give} at most one value per column, in the table's order, or name the columns"),
            )
        };
        self.err(Code::ArityMismatch, span, msg, help);
    }

    /// The rows of an INSERT's VALUES, one value per inserted column; without a column
    /// list (`explicit` false), a row of fewer values fills the first columns, as
    /// PostgreSQL does.
    fn insert_values(&mut self, v: &sqlparser::ast::Values, hints: &[Hint], explicit: bool) {
        for row in &v.rows {
            if !hints.is_empty() {
                self.insert_arity(row.span(), hints.len(), row.content.len(), explicit, true);
            }
            for (e, h) in row.content.iter().zip(hints.iter()) {
                if !is_default(e) {
                    self.refuse_generated(h, e.span(), Write::Insert);
                    self.expr(e, Some(h));
                }
            }
        }
    }

    /// How PostgreSQL fills the column a hint writes into, when it refuses any value
    /// but DEFAULT there (`GENERATED ALWAYS`).
    fn generated(&self, h: &Hint) -> Option<(String, Generated)> {
        let (table, col) = h.column.as_deref()?.rsplit_once('.')?;
        let g = self
            .cat
            .relation(table)?
            .columns
            .iter()
            .find(|c| c.name == col)?
            .generated?;
        Some((col.to_owned(), g))
    }

    /// Reports a value written into a column PostgreSQL fills itself (E412).
    fn refuse_generated(&mut self, h: &Hint, span: sqlparser::tokenizer::Span, write: Write) {
        let Some((col, g)) = self.generated(h) else {
            return;
        };
        // OVERRIDING SYSTEM VALUE takes the value, OVERRIDING USER VALUE ignores it; a
        // generated expression refuses it either way.
        if matches!(g, Generated::Identity) && self.active_override.is_some() {
            return;
        }
        let target = h.column.clone().unwrap_or_default();
        let mut help = match write {
            Write::Insert => {
                format!("leave `{col}` out of the column list, or write DEFAULT as its value")
            }
            Write::InsertQuery => {
                format!("leave `{col}` out of the column list and out of what the query returns")
            }
            Write::Update => format!("leave `{col}` out of SET, or assign it DEFAULT"),
        };
        if matches!(g, Generated::Identity) && !matches!(write, Write::Update) {
            help.push_str("; or, to keep the values given, write OVERRIDING SYSTEM VALUE after the column list");
        }
        let why = match g {
            Generated::Identity => "PostgreSQL numbers it",
            Generated::Expression => "PostgreSQL computes it from the row",
        };
        self.err(
            Code::GeneratedColumn,
            span,
            format!(
                "`{target}` is {}: {why}, and refuses any other value than DEFAULT",
                g.spelling()
            ),
            help,
        );
    }

    /// `MERGE INTO t USING s ON ...`: the target and the source joined in one frame,
    /// each WHEN clause's condition, and the values its UPDATE SET or INSERT writes,
    /// typed by the target's columns. PostgreSQL 15's MERGE returns no rows.
    fn merge(&mut self, m: &sqlparser::ast::Merge) -> Vec<OutCol> {
        use sqlparser::ast::MergeClauseKind;
        self.writes = true;
        self.frames.push(Frame::default());
        self.table_factor(&m.table);
        let target = self.top().rels.first().cloned();
        self.table_factor(&m.source);
        self.expr(&m.on, Some(&Hint::condition("a MERGE's ON condition")));
        if let Some(o) = &m.output {
            self.err(
                Code::UnsupportedStatement,
                o.span(),
                "MERGE with RETURNING or OUTPUT is not supported: PostgreSQL 15 and 16 refuse it".into(),
                "run the MERGE as `:exec` or `:execrows`, and read the rows with a query of their own".into(),
            );
        }
        let condition = Hint::condition("a WHEN condition");
        for c in &m.clauses {
            // Where no target row matched, only the source's columns are in scope.
            let unmatched = matches!(
                c.clause_kind,
                MergeClauseKind::NotMatched | MergeClauseKind::NotMatchedByTarget
            );
            let hidden = match (unmatched, self.frames.last_mut()) {
                (true, Some(f)) if !f.rels.is_empty() => Some(std::mem::replace(
                    &mut f.rels[0],
                    Rel {
                        alias: String::new(),
                        table: None,
                        cols: Vec::new(),
                        null_ext: None,
                        hidden: HashSet::new(),
                        poisoned: false,
                    },
                )),
                _ => None,
            };
            self.unmatched_target = hidden.as_ref().map(|r| r.alias.clone());
            self.merge_clause(c, target.as_ref(), &condition);
            self.unmatched_target = None;
            if let (Some(rel), Some(f)) = (hidden, self.frames.last_mut()) {
                f.rels[0] = rel;
            }
        }
        self.frames.pop();
        Vec::new()
    }

    /// One WHEN clause of a MERGE: its condition, and what its action writes.
    fn merge_clause(
        &mut self,
        c: &sqlparser::ast::MergeClause,
        target: Option<&Rel>,
        condition: &Hint,
    ) {
        use sqlparser::ast::{MergeAction, MergeInsertKind, MergeUpdateKind};
        let unsupported = |cx: &mut Self, span: sqlparser::tokenizer::Span, what: &str| {
            cx.err(
                Code::UnsupportedStatement,
                span,
                format!("{what} in MERGE is not PostgreSQL"),
                "write the columns and their values out: `UPDATE SET col = s.col`, `INSERT (cols) VALUES (...)`".into(),
            );
        };
        if let Some(p) = &c.predicate {
            self.expr(p, Some(condition));
        }
        let Some(target) = target else {
            return;
        };
        match &c.action {
            MergeAction::Update(u) => {
                match &u.kind {
                    MergeUpdateKind::Set(assignments) => {
                        for a in assignments {
                            self.assignment(target, a);
                        }
                    }
                    MergeUpdateKind::Wildcard => {
                        unsupported(self, u.update_token.0.span, "`UPDATE *`");
                    }
                }
                for p in [&u.update_predicate, &u.delete_predicate]
                    .into_iter()
                    .flatten()
                {
                    unsupported(self, p.span(), "a WHERE after UPDATE SET");
                }
            }
            MergeAction::Insert(ins) => {
                let hints = self.insert_targets(target, &ins.columns);
                match &ins.kind {
                    MergeInsertKind::Values(v) => {
                        if v.rows.len() > 1 {
                            self.err(
                                Code::ArityMismatch,
                                ins.kind_token.0.span,
                                format!("MERGE's INSERT writes one row, not {}", v.rows.len()),
                                "give one row of VALUES; a MERGE inserts once per source row"
                                    .into(),
                            );
                        }
                        let explicit = !ins.columns.is_empty();
                        self.under_overriding(&ins.insert_token, |cx| {
                            cx.insert_values(v, &hints, explicit)
                        });
                    }
                    MergeInsertKind::Row | MergeInsertKind::Wildcard => {
                        unsupported(self, ins.kind_token.0.span, "`INSERT ROW` or `INSERT *`");
                    }
                }
                if let Some(p) = &ins.insert_predicate {
                    unsupported(self, p.span(), "a WHERE after INSERT VALUES");
                }
            }
            MergeAction::Delete { .. } | MergeAction::DoNothing { .. } => {}
        }
    }

    fn assignment(&mut self, target: &Rel, a: &sqlparser::ast::Assignment) {
        let names = assigned(a);
        let table = target.table.clone().unwrap_or_default();
        let mut hints = Vec::new();
        for n in names {
            let col = crate::catalog::last_part(n);
            // PostgreSQL reads `SET a.col` as the field `col` of a column `a`.
            if let [first, _, ..] = n.0.as_slice() {
                let first = first.as_ident().map(ident).unwrap_or_default();
                if !target.cols.iter().any(|(c, _)| *c == first) {
                    self.err(
                        Code::UnknownColumn,
                        n.span(),
                        format!("SET names the column `{col}` with a qualifier, `{first}`"),
                        format!("write `SET {col} = ...`: the columns SET assigns are the target's, unqualified"),
                    );
                    continue;
                }
            }
            match target.cols.iter().find(|(c, _)| *c == col) {
                Some((c, t)) => hints.push(Hint {
                    ty: t.ty.clone(),
                    nullable: t.nullable,
                    column: Some(format!("{table}.{c}")),
                    why: format!("assigned to `{table}.{c}`"),
                }),
                None => self.unknown_column_in(target, &col, n.span()),
            }
        }
        match (&a.value, hints.len()) {
            (Expr::Tuple(values), n) if n > 1 => {
                for (v, h) in values.iter().zip(hints.iter()) {
                    if !is_default(v) {
                        self.refuse_generated(h, v.span(), Write::Update);
                        self.expr(v, Some(h));
                    }
                }
            }
            (v, _) if is_default(v) => {}
            (v, _) => {
                for h in &hints {
                    self.refuse_generated(h, v.span(), Write::Update);
                }
                self.expr(v, hints.first());
            }
        }
    }

    fn update(&mut self, u: &sqlparser::ast::Update) -> Vec<OutCol> {
        self.writes = true;
        if let Some(j) = u.table.joins.first() {
            self.err(
                Code::SqlSyntax,
                j.relation.span(),
                "PostgreSQL's UPDATE takes one table, not a JOIN".into(),
                "name the other tables in FROM and join them in WHERE: `UPDATE a SET x = b.x FROM b WHERE b.id = a.id`".into(),
            );
        }
        self.frames.push(Frame::default());
        self.add_from_item(&u.table);
        let target = self.top().rels.first().cloned();
        self.dml_target = target.as_ref().map(|r| r.alias.clone());
        if let Some(from) = &u.from {
            let (UpdateTableFromKind::BeforeSet(items) | UpdateTableFromKind::AfterSet(items)) =
                from;
            for twj in items {
                self.add_from_item(twj);
            }
        }
        self.dml_target = None;
        if let Some(target) = &target {
            for a in &u.assignments {
                self.assignment(target, a);
            }
        }
        if let Some(w) = &u.selection {
            self.filter(w);
        }
        // RETURNING sees the new values: what WHERE proved of the old ones does not hold
        // for the columns SET assigns.
        for n in u.assignments.iter().flat_map(assigned) {
            let col = crate::catalog::last_part(n);
            self.top().nonnull.remove(&(0, col));
        }
        let out = u
            .returning
            .as_ref()
            .map(|r| self.projection(r, None))
            .unwrap_or_default();
        self.frames.pop();
        out
    }

    fn delete(&mut self, d: &sqlparser::ast::Delete) -> Vec<OutCol> {
        self.writes = true;
        self.frames.push(Frame::default());
        let (FromTable::WithFromKeyword(items) | FromTable::WithoutKeyword(items)) = &d.from;
        let extra = d.tables.first().map(|t| t.span()).or_else(|| {
            let first = items.first()?;
            (first.joins.first().map(|j| j.relation.span()))
                .or_else(|| items.get(1).map(|t| t.relation.span()))
        });
        if let Some(span) = extra {
            self.err(
                Code::SqlSyntax,
                span,
                "PostgreSQL's DELETE deletes from one table".into(),
                "name the other tables in USING and join them in WHERE: `DELETE FROM a USING b WHERE b.id = a.id`".into(),
            );
        }
        for twj in items {
            self.add_from_item(twj);
        }
        if let Some(using) = &d.using {
            self.dml_target = self.top().rels.first().map(|r| r.alias.clone());
            for twj in using {
                self.add_from_item(twj);
            }
            self.dml_target = None;
        }
        if let Some(w) = &d.selection {
            self.filter(w);
        }
        let out = d
            .returning
            .as_ref()
            .map(|r| self.projection(r, None))
            .unwrap_or_default();
        self.frames.pop();
        out
    }

    // ----- FROM -------------------------------------------------------------------

    fn add_from_item(&mut self, twj: &TableWithJoins) {
        let start = self.top().rels.len();
        let star_start = self.top().star.len();
        self.table_factor(&twj.relation);
        self.note_star();
        for j in &twj.joins {
            let right_start = self.top().rels.len();
            self.table_factor(&j.relation);
            self.note_star();
            let right_end = self.top().rels.len();
            let (left_null, right_null, constraint, kind) = match &j.join_operator {
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => {
                    (false, true, Some(c), "LEFT JOIN")
                }
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => {
                    (true, false, Some(c), "RIGHT JOIN")
                }
                JoinOperator::FullOuter(c) => (true, true, Some(c), "FULL JOIN"),
                JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::CrossJoin(c) => {
                    (false, false, Some(c), "JOIN")
                }
                JoinOperator::OuterApply => (false, true, None, "OUTER APPLY"),
                _ => (false, false, None, "JOIN"),
            };
            let frame = self.top();
            for (idx, r) in frame.rels.iter_mut().enumerate() {
                let on_left = idx >= start && idx < right_start;
                let on_right = idx >= right_start && idx < right_end;
                if ((on_left && left_null) || (on_right && right_null)) && r.null_ext.is_none() {
                    let side = if on_right { "right" } else { "left" };
                    r.null_ext = Some(Reason::new(
                        R::JoinSide,
                        format!("`{}` is on the nullable ({side}) side of a {kind}", r.alias),
                    ));
                }
            }
            match constraint {
                Some(JoinConstraint::On(e)) => {
                    self.expr(e, Some(&Hint::condition("a join condition")));
                }
                Some(JoinConstraint::Using(cols)) => {
                    let names: Vec<String> = cols.iter().map(crate::catalog::last_part).collect();
                    for r in &mut self.top().rels[right_start..right_end] {
                        r.hidden.extend(names.iter().cloned());
                    }
                    self.merge_star(star_start, right_start, &names);
                }
                Some(JoinConstraint::Natural) => {
                    // The columns both sides have, in the left side's order.
                    let f = self.top();
                    let right: HashSet<&str> = f.rels[right_start..right_end]
                        .iter()
                        .flat_map(|r| r.cols.iter().map(|c| c.0.as_str()))
                        .collect();
                    let mut common: Vec<String> = Vec::new();
                    for (ri, n) in &f.star[star_start..] {
                        if *ri < right_start && right.contains(n.as_str()) && !common.contains(n) {
                            common.push(n.clone());
                        }
                    }
                    for r in &mut f.rels[right_start..right_end] {
                        r.hidden.extend(common.iter().cloned());
                    }
                    self.merge_star(star_start, right_start, &common);
                }
                _ => {}
            }
        }
    }

    /// Adds the columns of the relations added since the last call to `*`'s list.
    fn note_star(&mut self) {
        let f = self.top();
        for ri in f.star_rels..f.rels.len() {
            let cols: Vec<(usize, String)> =
                f.rels[ri].cols.iter().map(|c| (ri, c.0.clone())).collect();
            f.star.extend(cols);
        }
        f.star_rels = f.rels.len();
    }

    /// A join merged `names` (USING, NATURAL): in `*`'s list from `from` on, they come
    /// first, as the left side has them, and the right side's copies are gone.
    fn merge_star(&mut self, from: usize, right_start: usize, names: &[String]) {
        let f = self.top();
        let joined: Vec<(usize, String)> = f.star.drain(from..).collect();
        let mut out: Vec<(usize, String)> = names
            .iter()
            .filter_map(|n| {
                joined
                    .iter()
                    .find(|(ri, c)| *ri < right_start && c == n)
                    .cloned()
            })
            .collect();
        for c in joined {
            if !names.contains(&c.1) || (c.0 < right_start && !out.contains(&c)) {
                out.push(c);
            }
        }
        f.star.extend(out);
    }

    /// The columns `*` (`only` = None) or `t.*` stands for in the current frame.
    fn star_columns(&self, only: Option<&str>) -> Vec<(usize, String)> {
        let Some(f) = self.frames.last() else {
            return Vec::new();
        };
        if let Some(alias) = only {
            return f
                .rels
                .iter()
                .enumerate()
                .filter(|(_, r)| r.alias == alias)
                .flat_map(|(ri, r)| r.cols.iter().map(move |c| (ri, c.0.clone())))
                .collect();
        }
        if f.star_rels == f.rels.len() {
            return f.star.clone();
        }
        f.rels
            .iter()
            .enumerate()
            .flat_map(|(ri, r)| {
                r.cols
                    .iter()
                    .filter(|(n, _)| !r.hidden.contains(n))
                    .map(move |(n, _)| (ri, n.clone()))
            })
            .collect()
    }

    fn table_factor(&mut self, tf: &TableFactor) {
        match tf {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let a = alias.as_ref().map(|a| ident(&a.name));
                let mut rel = self.relation_by_name(name, a.as_deref(), name.span());
                if let Some(al) = alias {
                    for (c, n) in rel.cols.iter_mut().zip(al.columns.iter()) {
                        c.0 = ident(&n.name);
                    }
                }
                self.top().rels.push(rel);
            }
            TableFactor::Table {
                name,
                alias,
                args: Some(args),
                with_ordinality,
                ..
            } => {
                let (args, named) = positional(&args.args);
                self.add_function_rel(TableCall {
                    name: Some(name),
                    fname: crate::catalog::last_part(name),
                    args,
                    named,
                    with_ordinality: *with_ordinality,
                    alias: alias.as_ref(),
                    span: tf.span(),
                })
            }
            TableFactor::Function {
                name,
                args,
                alias,
                with_ordinality,
                ..
            } => {
                let (args, named) = positional(args);
                self.add_function_rel(TableCall {
                    name: Some(name),
                    fname: crate::catalog::last_part(name),
                    args,
                    named,
                    with_ordinality: *with_ordinality,
                    alias: alias.as_ref(),
                    span: tf.span(),
                })
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_ordinality,
                ..
            } => self.add_function_rel(TableCall {
                name: None,
                fname: "unnest".into(),
                args: array_exprs.iter().collect(),
                named: false,
                with_ordinality: *with_ordinality,
                alias: alias.as_ref(),
                span: tf.span(),
            }),
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                ..
            } => {
                // Without LATERAL, a subquery in FROM does not see the FROM items before
                // it (an enclosing query's it does).
                let cols = if *lateral {
                    self.query(subquery, None)
                } else {
                    let earlier = std::mem::take(&mut self.top().rels);
                    let outer = std::mem::replace(&mut self.not_lateral, earlier);
                    let cols = self.query(subquery, None);
                    let earlier = std::mem::replace(&mut self.not_lateral, outer);
                    self.top().rels = earlier;
                    cols
                };
                let alias_name = alias
                    .as_ref()
                    .map(|a| ident(&a.name))
                    .unwrap_or_else(|| "subquery".into());
                let cols = match alias {
                    Some(a) => rename(cols, &a.columns),
                    None => cols,
                };
                self.top().rels.push(Rel {
                    alias: alias_name,
                    table: None,
                    cols: cols.into_iter().map(|c| (c.name, c.t)).collect(),
                    null_ext: None,
                    hidden: HashSet::new(),
                    poisoned: false,
                });
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.add_from_item(table_with_joins),
            other => {
                self.err(
                    Code::UnsupportedStatement,
                    other.span(),
                    "this kind of FROM item is not supported".into(),
                    "use a table, a subquery, or unnest(...)".into(),
                );
                self.top().rels.push(Rel {
                    alias: String::new(),
                    table: None,
                    cols: Vec::new(),
                    null_ext: None,
                    hidden: HashSet::new(),
                    poisoned: true,
                });
            }
        }
    }

    /// A function in `FROM`: its rows added to the scope. An alias without a column
    /// list renames a column the function does not name itself (`unnest(x) AS t`), and
    /// `WITH ORDINALITY` numbers the rows in a last column. A call that failed (reported)
    /// adds a relation whose lookups stay quiet.
    fn add_function_rel(&mut self, call: TableCall) {
        let FnColumns { mut cols, unnamed } = self.table_function(&call);
        let failed = cols.is_empty();
        if let Some(a) = call.alias {
            if a.columns.is_empty() && unnamed && cols.len() == 1 {
                cols[0].0 = ident(&a.name);
            }
        }
        if call.with_ordinality && !failed {
            cols.push((
                "ordinality".to_owned(),
                Typed::fixed(
                    "int8",
                    false,
                    R::Expression,
                    "WITH ORDINALITY numbers the rows from 1",
                ),
            ));
        }
        if let Some(a) = call.alias {
            for (c, n) in cols.iter_mut().zip(a.columns.iter()) {
                c.0 = ident(&n.name);
            }
        }
        let rel = Rel {
            alias: call.alias.map(|a| ident(&a.name)).unwrap_or(call.fname),
            table: None,
            cols,
            null_ext: None,
            hidden: HashSet::new(),
            poisoned: failed,
        };
        self.top().rels.push(rel);
    }

    /// The columns a function in `FROM` yields: a built-in table function unless the
    /// call names another schema than `pg_catalog`, else a function the schema declares.
    fn table_function(&mut self, call: &TableCall) -> FnColumns {
        let TableCall {
            name,
            ref fname,
            ref args,
            alias,
            span,
            ..
        } = *call;
        let fname = fname.as_str();
        let failed = FnColumns {
            cols: Vec::new(),
            unnamed: false,
        };
        if call.named {
            self.named_arguments(fname, args, span);
            return failed;
        }
        let qualified = name.map(qualify);
        let schema_first = name
            .zip(qualified.as_deref())
            .is_some_and(|(n, q)| self.schema_first(n, q));
        let typed_list = alias.is_some_and(|a| a.columns.iter().any(|c| c.data_type.is_some()));
        let (yielded, record) = 'found: {
            if !schema_first {
                if let Some(found) = self.builtin_table_function(fname, args, call) {
                    break 'found found;
                }
            }
            if let Some(q) = &qualified {
                if let Some(chosen) = self.schema_overload(q, fname, args, span) {
                    let result = chosen.map(|o| o.result);
                    let cols = match &result {
                        Some(r) => self.function_rows(fname, r, call),
                        None => Vec::new(),
                    };
                    let unnamed = matches!(result, Some(FnResult::Value { column: None, .. }));
                    let record = matches!(result, Some(FnResult::Record));
                    break 'found (FnColumns { cols, unnamed }, record);
                }
            }
            for a in args {
                self.expr(a, None);
            }
            let help = match &qualified {
                Some(q) if self.cat.unread_functions.contains(q) => format!(
                    "the schema declares `{fname}` in a form sqlpact does not read ({UNREAD_FORMS}); select from a function with plain arguments, or from a subquery"
                ),
                Some(q) if self.cat.functions.contains_key(q) => self.arity_help(q, fname),
                _ => format!(
                    "use unnest, generate_series or jsonb_array_elements, declare `{fname}` in the schema (`CREATE FUNCTION {fname}(...) RETURNS TABLE (...)`), or select from a subquery"
                ),
            };
            self.err(
                Code::UnknownFunction,
                span,
                format!(
                    "the table function `{fname}` with {} argument(s) is not known",
                    args.len()
                ),
                help,
            );
            return failed;
        };
        if typed_list && !record && !yielded.cols.is_empty() {
            self.err(
                Code::UntypedColumn,
                span,
                format!("`{fname}` does not return `record`, so its columns take no types after the alias"),
                "leave the types out (`AS t (a, b)` renames the columns), or cast the columns in the select list".into(),
            );
            return failed;
        }
        yielded
    }

    /// Whether a subquery returns exactly one row because it aggregates without
    /// grouping: `SELECT count(*) FROM t WHERE ...`, one built-in aggregate, no GROUP BY,
    /// HAVING, LIMIT, OFFSET or set operation. The aggregate must be the subquery's own:
    /// PostgreSQL hands one whose arguments (and FILTER) name only outer columns to the
    /// outer query (`SELECT (SELECT count(a.x) FROM b) FROM a`), so they must name no
    /// column, or one of a table in the subquery's FROM.
    fn one_aggregate_row(&self, q: &Query) -> bool {
        let SetExpr::Select(s) = q.body.as_ref() else {
            return false;
        };
        let grouped =
            !matches!(&s.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
        if q.limit_clause.is_some() || q.fetch.is_some() || grouped || s.having.is_some() {
            return false;
        }
        let [item] = s.projection.as_slice() else {
            return false;
        };
        let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else {
            return false;
        };
        let Expr::Function(f) = unwrap_nested(e) else {
            return false;
        };
        let FunctionArguments::List(list) = &f.args else {
            return false;
        };
        let name = crate::catalog::last_part(&f.name);
        let aggregate = functions::lookup(&name, list.args.len()).is_some_and(|g| g.aggregate);
        if !aggregate || f.over.is_some() || self.schema_first(&f.name, &qualify(&f.name)) {
            return false;
        }
        // The tables of the subquery's FROM, by the names a column may be qualified
        // with; any other kind of FROM item leaves the arguments' columns unknown.
        let mut tables: Vec<(String, &Relation)> = Vec::new();
        let factors = s
            .from
            .iter()
            .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
        let mut plain = true;
        for tf in factors {
            match tf {
                TableFactor::Table {
                    name,
                    alias,
                    args: None,
                    ..
                } => match self.cat.relation(&qualify(name)) {
                    Some(r) => tables.push((
                        alias
                            .as_ref()
                            .map_or_else(|| crate::catalog::last_part(name), |a| ident(&a.name)),
                        r,
                    )),
                    None => plain = false,
                },
                _ => plain = false,
            }
        }
        // The columns its arguments, ORDER BY, WITHIN GROUP and FILTER name: all of
        // them place an aggregate, as PostgreSQL reads it.
        let args = list.args.iter().filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(x))
            | FunctionArg::Named {
                arg: FunctionArgExpr::Expr(x),
                ..
            } => Some(x),
            _ => None,
        });
        let ordered = list.clauses.iter().flat_map(|c| match c {
            sqlparser::ast::FunctionArgumentClause::OrderBy(obs) => obs.as_slice(),
            _ => &[],
        });
        let placing = args
            .chain(ordered.chain(&f.within_group).map(|o| &o.expr))
            .chain(f.filter.as_deref());
        let mut refs = Vec::new();
        let mut nested = false;
        for x in placing {
            let _ = sqlparser::ast::visit_expressions(x, |x| {
                match x {
                    Expr::Identifier(i) => refs.push((None, ident(i))),
                    Expr::CompoundIdentifier(p) if p.len() >= 2 => {
                        refs.push((Some(ident(&p[p.len() - 2])), ident(&p[p.len() - 1])))
                    }
                    Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                        nested = true
                    }
                    _ => {}
                }
                std::ops::ControlFlow::<()>::Continue(())
            });
        }
        if nested {
            return false;
        }
        refs.is_empty()
            || (plain
                && refs.iter().any(|(qualifier, col)| {
                    tables.iter().any(|(alias, r)| {
                        qualifier.as_ref().is_none_or(|q| q == alias)
                            && r.columns.iter().any(|c| c.name == *col)
                    })
                }))
    }

    /// Whether a call of `name` is the schema's function rather than a built-in:
    /// PostgreSQL finds an unqualified name in `pg_catalog` first, and a name qualified
    /// with another schema is that schema's function.
    fn schema_first(&self, name: &ObjectName, qualified: &str) -> bool {
        name.0.len() > 1
            && !qualified.starts_with("pg_catalog.")
            && self.cat.functions.contains_key(qualified)
    }

    /// Reports a call of a declared function with named arguments, after typing them.
    fn named_arguments(&mut self, name: &str, args: &[&Expr], span: sqlparser::tokenizer::Span) {
        for a in args {
            self.expr(a, None);
        }
        self.err(
            Code::UnknownFunction,
            span,
            format!("`{name}` is called with named arguments, which sqlpact does not match to the function's declaration"),
            "pass the arguments by position".into(),
        );
    }

    /// The help for a call of a declared function with a number of arguments no
    /// overload takes.
    fn arity_help(&self, qualified: &str, name: &str) -> String {
        let mut counts: Vec<usize> = self
            .cat
            .functions
            .get(qualified)
            .into_iter()
            .flatten()
            .flat_map(|o| o.args.len() - o.defaults..=o.args.len())
            .collect();
        counts.sort_unstable();
        counts.dedup();
        let counts: Vec<String> = counts.iter().map(usize::to_string).collect();
        format!(
            "the schema declares `{name}` taking {} argument(s): pass that many",
            counts.join(" or ")
        )
    }

    /// The columns of one row of a declared function's result, all nullable: a
    /// function may return NULL in any of them.
    fn function_rows(
        &mut self,
        fname: &str,
        result: &FnResult,
        call: &TableCall,
    ) -> Vec<(String, Typed)> {
        let span = call.span;
        let cols: Vec<(String, PgType)> = match result {
            FnResult::Record => return self.column_definitions(fname, call),
            FnResult::Value { ty, column } => {
                vec![(
                    column.clone().unwrap_or_else(|| fname.to_owned()),
                    ty.clone(),
                )]
            }
            FnResult::Columns(cols) => cols.clone(),
            FnResult::Relation(r) => match self.cat.relations.get(r) {
                Some(rel) => rel
                    .columns
                    .iter()
                    .map(|c| (c.name.clone(), c.ty.clone()))
                    .collect(),
                None => {
                    self.err(
                        Code::UnknownFunction,
                        span,
                        format!("`{fname}` returns rows of `{r}`, which the schema no longer declares"),
                        format!("declare `{r}`, or the function's result columns with `RETURNS TABLE (...)`"),
                    );
                    return Vec::new();
                }
            },
        };
        let null = Reason::new(
            R::Expression,
            format!("{fname}() is a function of the schema, which may return NULL"),
        );
        let one_value = matches!(result, FnResult::Value { column: None, .. });
        cols.into_iter()
            .map(|(c, ty)| {
                let why = Reason::new(
                    R::Expression,
                    if one_value {
                        format!("{fname}() returns {ty}, as the schema declares")
                    } else {
                        format!("{fname}() returns {c} as {ty}, as the schema declares")
                    },
                );
                (c, Typed::new(ty, true, why, null.clone()))
            })
            .collect()
    }

    /// The columns of a function that returns `record`, from the column definition
    /// list its alias must give (`AS t (id bigint, name text)`), all nullable.
    fn column_definitions(&mut self, fname: &str, call: &TableCall) -> Vec<(String, Typed)> {
        let span = call.span;
        let defs = call.alias.map(|a| a.columns.as_slice()).unwrap_or_default();
        if let Some(untyped) = defs.iter().find(|c| c.data_type.is_none()) {
            self.err(
                Code::UntypedColumn,
                untyped.name.span,
                format!("the column `{}` of `{fname}` has no type, and `{fname}` returns `record`, whose columns each call must type", ident(&untyped.name)),
                format!("give every column its type: `{fname}(...) AS t (id bigint, name text)`"),
            );
            return Vec::new();
        }
        if defs.is_empty() {
            self.err(
                Code::UntypedColumn,
                span,
                format!("`{fname}` returns `record`, whose columns each call must name and type"),
                format!("follow the call with a column definition list: `{fname}(...) AS t (id bigint, name text)`"),
            );
            return Vec::new();
        }
        if call.with_ordinality {
            self.err(
                Code::UntypedColumn,
                span,
                format!("`{fname}` takes a column definition list, which PostgreSQL does not allow WITH ORDINALITY"),
                "number the rows in the select list instead: `row_number() OVER ()`".into(),
            );
            return Vec::new();
        }
        let null = Reason::new(
            R::Expression,
            format!("a column of {fname}()'s records may be NULL"),
        );
        let mut cols = Vec::new();
        for c in defs {
            let Some(dt) = &c.data_type else { continue };
            let ty = match self.cat.resolve_type(dt) {
                Ok(t) => t,
                Err(e) => {
                    self.err(
                        Code::UntypedColumn,
                        c.name.span,
                        format!("the column `{}` of `{fname}` has the type `{e}`, which sqlpact does not know", ident(&c.name)),
                        "use a built-in type, or an enum or domain the schema declares".into(),
                    );
                    PgType::Unknown
                }
            };
            let why = Reason::new(R::Cast, format!("the column definition list gives {ty}"));
            cols.push((ident(&c.name), Typed::new(ty, true, why, null.clone())));
        }
        cols
    }

    /// A built-in table function's columns; `None` for another name.
    /// Types the arguments of a JSON table function by its name (`jsonb_…` or
    /// `json_…`), and gives that type's name.
    fn json_args(&mut self, fname: &str, args: &[&Expr]) -> &'static str {
        let t = if fname.starts_with("jsonb") {
            "jsonb"
        } else {
            "json"
        };
        for e in args {
            self.expr(
                e,
                Some(&Hint {
                    ty: PgType::named(t),
                    nullable: false,
                    column: None,
                    why: format!("{fname} takes {t}"),
                }),
            );
        }
        t
    }

    /// A built-in table function's columns, and whether it returns `record`; `None`
    /// for another name (`generate_series(a, b[, step])`, `unnest`, the JSON and
    /// text-splitting functions).
    fn builtin_table_function(
        &mut self,
        fname: &str,
        args: &[&Expr],
        call: &TableCall,
    ) -> Option<(FnColumns, bool)> {
        match fname {
            "jsonb_to_record" | "jsonb_to_recordset" | "json_to_record" | "json_to_recordset" => {
                self.json_args(fname, args);
                let cols = self.column_definitions(fname, call);
                Some((
                    FnColumns {
                        cols,
                        unnamed: false,
                    },
                    true,
                ))
            }
            "jsonb_each" | "json_each" | "jsonb_each_text" | "json_each_text" => {
                let t = self.json_args(fname, args);
                let value = if fname.ends_with("_text") {
                    Typed::fixed("text", true, R::Expression, "a JSON null as text is NULL")
                } else {
                    Typed::fixed(t, false, R::Expression, "a JSON object's value")
                };
                let key = Typed::fixed("text", false, R::Expression, "a JSON object's key");
                Some((
                    FnColumns {
                        cols: vec![("key".to_owned(), key), ("value".to_owned(), value)],
                        unnamed: false,
                    },
                    false,
                ))
            }
            "unnest" => {
                let cols = args
                    .iter()
                    .map(|e| ("unnest".to_owned(), self.unnested(e)))
                    .collect();
                Some((
                    FnColumns {
                        cols,
                        unnamed: true,
                    },
                    false,
                ))
            }
            _ => {
                let t = self.set_returning(fname, args)?;
                // `value` is the name of jsonb_array_elements' `OUT` argument, kept
                // under an alias.
                let (name, unnamed) = if fname.contains("array_elements") {
                    ("value", false)
                } else {
                    (fname, true)
                };
                Some((
                    FnColumns {
                        cols: vec![(name.to_owned(), t)],
                        unnamed,
                    },
                    false,
                ))
            }
        }
    }

    /// An element of the array `e`, as `unnest` yields it.
    fn unnested(&mut self, e: &Expr) -> Typed {
        let t = self.expr(e, None);
        let elem = t.ty.element().cloned().unwrap_or(PgType::Unknown);
        Typed::new(
            elem,
            true,
            Reason::new(R::Expression, "an element of the unnested array"),
            Reason::new(R::Expression, "array elements may be NULL"),
        )
    }

    /// The value a built-in set-returning function of one column yields, in FROM or in
    /// a select list (`SELECT generate_series(1, 3)`); `None` for another name. Each
    /// is strict: a NULL argument yields no row rather than a NULL.
    fn set_returning(&mut self, fname: &str, args: &[&Expr]) -> Option<Typed> {
        if !SET_RETURNING.contains(&fname) {
            return None;
        }
        Some(match fname {
            "unnest" if args.len() == 1 => self.unnested(args[0]),
            "generate_series" => {
                // The bounds' type is the first known one (a parameter takes the
                // other's); a series of timestamps steps by an interval, of numbers by
                // their own type, and dates are stepped as timestamptz.
                let mut bounds: Vec<Option<Typed>> = vec![None; args.len().min(2)];
                for (i, e) in args.iter().take(2).enumerate() {
                    if !Self::is_param(e) {
                        bounds[i] = Some(self.expr(e, None));
                    }
                }
                let known = bounds
                    .iter()
                    .flatten()
                    .find(|t| !t.ty.is_unknown() && !t.literal)
                    .or_else(|| bounds.iter().flatten().find(|t| !t.ty.is_unknown()))
                    .map(|t| t.ty.clone())
                    .unwrap_or(PgType::Unknown);
                let ty = if self.cat.base_type(&known).is("date") {
                    PgType::named("timestamptz")
                } else {
                    known
                };
                let hint = |ty: PgType, why: &str| Hint {
                    ty,
                    nullable: false,
                    column: None,
                    why: why.into(),
                };
                for (i, e) in args.iter().take(2).enumerate() {
                    if bounds[i].is_none() {
                        self.expr(e, Some(&hint(ty.clone(), "a bound of generate_series")));
                    }
                }
                let timed = ["timestamp", "timestamptz"]
                    .iter()
                    .any(|t| self.cat.base_type(&ty).is(t));
                let step = if timed {
                    PgType::named("interval")
                } else {
                    ty.clone()
                };
                for e in args.iter().skip(2) {
                    self.expr(e, Some(&hint(step.clone(), "the step of generate_series")));
                }
                Typed::new(
                    ty,
                    false,
                    Reason::new(R::Expression, "generate_series yields its bounds' type"),
                    Reason::new(R::Expression, "generate_series yields no NULL"),
                )
            }
            "generate_subscripts" => {
                for e in args {
                    self.expr(e, None);
                }
                Typed::fixed("int4", false, R::Expression, "an array subscript")
            }
            "jsonb_object_keys" | "json_object_keys" => {
                self.json_args(fname, args);
                Typed::fixed("text", false, R::Expression, "a JSON object's key")
            }
            "regexp_split_to_table" | "string_to_table" => {
                for e in args {
                    self.expr(e, Some(&Hint::of("text", &format!("{fname} takes text"))));
                }
                // string_to_table's third argument names the piece that stands for NULL.
                let null = fname == "string_to_table" && args.len() > 2;
                Typed::fixed("text", null, R::Expression, "a piece of the split text")
            }
            "regexp_matches" => {
                for e in args {
                    self.expr(e, Some(&Hint::of("text", &format!("{fname} takes text"))));
                }
                // A group that takes no part in the match is a NULL element.
                Typed {
                    elem_null: Some(Reason::new(
                        R::Expression,
                        "a group of regexp_matches() that takes no part in the match is NULL",
                    )),
                    ..Typed::fixed("text[]", false, R::Expression, "the captures of a match")
                }
            }
            "jsonb_array_elements" | "json_array_elements" => {
                let t = self.json_args(fname, args);
                Typed::fixed(t, false, R::Expression, "a JSON array element")
            }
            "jsonb_array_elements_text" | "json_array_elements_text" => {
                for e in args {
                    self.expr(e, None);
                }
                Typed::fixed("text", true, R::Expression, "a JSON array element as text")
            }
            "jsonb_path_query" | "jsonb_path_query_tz" => {
                for (e, t) in args.iter().zip(["jsonb", "jsonpath", "jsonb", "bool"]) {
                    self.expr(e, Some(&Hint::of(t, &format!("{fname} takes {t} here"))));
                }
                // A JSON null it selects is the jsonb `null`, not SQL's NULL.
                Typed::fixed("jsonb", false, R::Expression, "an item a JSON path selects")
            }
            _ => return None,
        })
    }

    fn relation_by_name(
        &mut self,
        name: &ObjectName,
        alias: Option<&str>,
        span: sqlparser::tokenizer::Span,
    ) -> Rel {
        let unq = crate::catalog::last_part(name);
        if name.0.len() == 1 {
            for f in self.frames.iter().rev() {
                if let Some((_, cols)) = f.ctes.iter().find(|(n, _)| *n == unq) {
                    return Rel {
                        alias: alias.unwrap_or(&unq).to_owned(),
                        table: None,
                        cols: cols.iter().map(|c| (c.name.clone(), c.t.clone())).collect(),
                        null_ext: None,
                        hidden: HashSet::new(),
                        poisoned: false,
                    };
                }
            }
        }
        let q = qualify(name);
        match self.cat.relation(&q) {
            Some(r) => {
                self.tables.insert(q.clone());
                let cols = match self.rel_cache.and_then(|c| c.get(&q)) {
                    Some(cols) => cols.clone(),
                    None => relation_columns(&q, r),
                };
                Rel {
                    alias: alias.unwrap_or(&unq).to_owned(),
                    table: Some(q),
                    cols,
                    null_ext: None,
                    hidden: HashSet::new(),
                    poisoned: false,
                }
            }
            None => {
                let mut candidates: Vec<String> = self.cat.relations.keys().cloned().collect();
                for f in &self.frames {
                    candidates.extend(f.ctes.iter().map(|c| c.0.clone()));
                }
                let short: Vec<String> = candidates
                    .iter()
                    .map(|c| c.strip_prefix("public.").unwrap_or(c).to_owned())
                    .collect();
                let hint = did_you_mean(&unq, short.iter().map(String::as_str)).map_or_else(
                    || {
                        "create the table in the schema, or check the registry's `schema` paths"
                            .to_owned()
                    },
                    |s| format!("did you mean `{s}`?"),
                );
                self.err(
                    Code::UnknownTable,
                    span,
                    format!(
                        "relation `{}` does not exist",
                        q.strip_prefix("public.").unwrap_or(&q)
                    ),
                    hint,
                );
                Rel {
                    alias: alias.unwrap_or(&unq).to_owned(),
                    table: None,
                    cols: Vec::new(),
                    null_ext: None,
                    hidden: HashSet::new(),
                    poisoned: true,
                }
            }
        }
    }

    /// A relation's column as seen through outer joins and WHERE proofs of the top frame.
    fn apply_rel(&self, ri: usize, name: &str, t: Typed) -> Typed {
        let Some(f) = self.frames.last() else {
            return t;
        };
        self.apply_rel_in(f, ri, name, t)
    }

    fn apply_rel_in(&self, f: &Frame, ri: usize, name: &str, mut t: Typed) -> Typed {
        let rel = &f.rels[ri];
        if let Some(word) = f
            .rolled
            .get(&(ri, name.to_owned()))
            .filter(|_| !f.agg_input)
        {
            t.nullable = true;
            t.null_why = rolled_reason(&format!("{}.{name}", rel.alias), word);
            return t;
        }
        if f.nonnull.contains(&(ri, name.to_owned())) {
            if t.nullable {
                t.nullable = false;
                t.null_why = Reason::new(
                    R::Filter,
                    format!("the WHERE clause rules out NULL for `{}.{name}`", rel.alias),
                );
            }
            return t;
        }
        if let Some(why) = &rel.null_ext {
            if !t.nullable {
                t.nullable = true;
                t.null_why = why.clone();
            }
        }
        t
    }

    fn unknown_column_in(&mut self, rel: &Rel, name: &str, span: sqlparser::tokenizer::Span) {
        if rel.poisoned {
            return;
        }
        let names: Vec<&str> = rel.cols.iter().map(|c| c.0.as_str()).collect();
        let hint = did_you_mean(name, names.iter().copied()).map_or_else(
            || format!("`{}` has: {}", rel.alias, names.join(", ")),
            |s| format!("did you mean `{s}`?"),
        );
        self.err(
            Code::UnknownColumn,
            span,
            format!("column `{name}` does not exist in `{}`", rel.alias),
            hint,
        );
    }

    /// A system column of `rel` (`xmin`, `ctid`, ...), which every table has besides
    /// its own columns, none of them NULL; `*` does not list them, and a view, a
    /// subquery or a function's rows have none.
    fn system_column(&self, rel: &Rel, name: &str) -> Option<Typed> {
        let ty = match name {
            "tableoid" => "oid",
            "xmin" | "xmax" => "xid",
            "cmin" | "cmax" => "cid",
            "ctid" => "tid",
            _ => return None,
        };
        let table = rel.table.as_ref()?;
        if self.cat.relations.get(table)?.kind != RelKind::Table
            || rel.cols.iter().any(|c| c.0 == name)
        {
            return None;
        }
        Some(Typed::fixed(
            ty,
            false,
            R::TableConstraint,
            &format!("system column `{name}` of `{table}`"),
        ))
    }

    /// Resolves a column reference, innermost frame first.
    fn column(
        &mut self,
        qual: Option<&str>,
        name: &str,
        span: sqlparser::tokenizer::Span,
    ) -> Typed {
        let mut any_poisoned = false;
        for fi in (0..self.frames.len()).rev() {
            let f = &self.frames[fi];
            any_poisoned |= f.rels.iter().any(|r| r.poisoned);
            if let Some(q) = qual {
                if let Some(ri) = f.rels.iter().rposition(|r| r.alias == q) {
                    let rel = &f.rels[ri];
                    let found = rel.cols.iter().find(|c| c.0 == name).map(|c| c.1.clone());
                    return match found.or_else(|| self.system_column(rel, name)) {
                        Some(t) => self.apply_rel_in(f, ri, name, t),
                        None => {
                            let rel = rel.clone();
                            self.unknown_column_in(&rel, name, span);
                            Typed::unknown()
                        }
                    };
                }
                continue;
            }
            let mut matches: Vec<usize> = f
                .rels
                .iter()
                .enumerate()
                .filter(|(_, r)| r.has_visible(name))
                .map(|(i, _)| i)
                .collect();
            let mut system = None;
            if matches.is_empty() {
                for (i, r) in f.rels.iter().enumerate() {
                    if let Some(t) = self.system_column(r, name) {
                        matches.push(i);
                        system = Some(t);
                    }
                }
            }
            match matches.as_slice() {
                [] => continue,
                [ri] => {
                    let t = f.rels[*ri]
                        .cols
                        .iter()
                        .find(|c| c.0 == name)
                        .map(|c| c.1.clone())
                        .or(system)
                        .unwrap_or_else(Typed::unknown);
                    return self.apply_rel_in(f, *ri, name, t);
                }
                many => {
                    let aliases: Vec<String> = many
                        .iter()
                        .map(|i| format!("`{}.{name}`", f.rels[*i].alias))
                        .collect();
                    self.err(
                        Code::AmbiguousColumn,
                        span,
                        format!("column `{name}` is ambiguous"),
                        format!("qualify it: {}", aliases.join(" or ")),
                    );
                    return Typed::unknown();
                }
            }
        }
        // No column of that name anywhere: a relation's name stands for its whole row.
        if qual.is_none() {
            if let Some(t) = self.whole_row(name) {
                return t;
            }
        }
        if any_poisoned {
            return Typed::unknown();
        }
        if let Some(target) = &self.unmatched_target {
            if qual.is_none_or(|q| q == target) {
                let msg = match qual {
                    Some(q) => format!("`{q}.{name}` is a column of the MERGE's target"),
                    None => format!("column `{name}` does not exist in the MERGE's source"),
                };
                self.err(
                    Code::UnknownColumn,
                    span,
                    msg,
                    format!("a WHEN NOT MATCHED clause has no row of `{target}`: use the source's columns"),
                );
                return Typed::unknown();
            }
        }
        let earlier = self.not_lateral.iter().find(|r| match qual {
            Some(q) => r.alias == q,
            None => r.cols.iter().any(|(c, _)| c == name),
        });
        if let Some(r) = earlier {
            let alias = r.alias.clone();
            if self.dml_target.as_ref() == Some(&alias) {
                self.err(
                    Code::UnknownColumn,
                    span,
                    format!("`{alias}.{name}` is a column of the statement's target, which its FROM and USING items cannot see"),
                    format!("join the subquery to `{alias}` in WHERE instead: `... FROM (SELECT ...) s WHERE s.key = {alias}.key`"),
                );
                return Typed::unknown();
            }
            self.err(
                Code::UnknownColumn,
                span,
                format!("`{alias}.{name}` is out of reach of a subquery in FROM"),
                format!("a subquery in FROM sees the FROM items before it (`{alias}`) only under LATERAL: write `LATERAL (SELECT ...)` or `JOIN LATERAL (SELECT ...) s ON true`"),
            );
            return Typed::unknown();
        }
        if let Some(q) = qual {
            let aliases: Vec<String> = self
                .frames
                .iter()
                .flat_map(|f| f.rels.iter().map(|r| r.alias.clone()))
                .filter(|a| !a.is_empty())
                .collect();
            let hint = did_you_mean(q, aliases.iter().map(String::as_str)).map_or_else(
                || format!("tables in scope: {}", aliases.join(", ")),
                |s| format!("did you mean `{s}`?"),
            );
            self.err(
                Code::UnknownColumn,
                span,
                format!("no table `{q}` in scope for `{q}.{name}`"),
                hint,
            );
            return Typed::unknown();
        }
        let visible: Vec<String> = self
            .frames
            .iter()
            .flat_map(|f| {
                f.rels
                    .iter()
                    .flat_map(|r| r.cols.iter().map(|c| c.0.clone()))
            })
            .collect();
        let hint = did_you_mean(name, visible.iter().map(String::as_str)).map_or_else(
            || "check the column name against the schema".to_owned(),
            |s| format!("did you mean `{s}`?"),
        );
        self.err(
            Code::UnknownColumn,
            span,
            format!("column `{name}` does not exist"),
            hint,
        );
        Typed::unknown()
    }

    /// `a` (when no column is named `a`) or `a.*` as one value: the whole row of the
    /// relation `a`, innermost frame first. It is NULL only where its relation was
    /// null-extended by an outer join: a row whose columns are all NULL is still a row.
    fn whole_row(&self, alias: &str) -> Option<Typed> {
        for f in self.frames.iter().rev() {
            let Some(ri) = f.rels.iter().rposition(|r| r.alias == alias) else {
                continue;
            };
            let rel = &f.rels[ri];
            if rel.poisoned {
                return Some(Typed::unknown());
            }
            // (A WHERE predicate on one of its columns has cleared `null_ext`.)
            let rolled = f.rolled.get(&(ri, "*".to_owned())).filter(|_| !f.agg_input);
            let (nullable, null_why) = match (&rel.null_ext, rolled) {
                (_, Some(word)) => (true, rolled_reason(alias, word)),
                (Some(why), None) => (true, why.clone()),
                (None, None) => (
                    false,
                    Reason::new(
                        R::Expression,
                        format!("the row of `{alias}` is a value even where its columns are NULL"),
                    ),
                ),
            };
            return Some(Typed::new(
                PgType::named("record"),
                nullable,
                Reason::new(R::Expression, format!("the whole row of `{alias}`")),
                null_why,
            ));
        }
        None
    }

    // ----- WHERE ------------------------------------------------------------------

    /// Types a WHERE clause and records what its top-level conjuncts prove non-null.
    fn filter(&mut self, w: &Expr) {
        let mut conjuncts = Vec::new();
        collect_conjuncts(w, &mut conjuncts);
        for c in &conjuncts {
            self.current_conjunct = self.text_range(c.span());
            self.expr(c, Some(&Hint::condition("a WHERE condition")));
            self.current_conjunct = None;
        }
        for c in conjuncts {
            self.refine(c);
        }
    }

    fn refine(&mut self, c: &Expr) {
        let optional = sqlparser::ast::visit_expressions(c, |x| {
            let n = param_number(x);
            if n.is_some()
                && self
                    .params
                    .iter()
                    .any(|s| Some(s.position) == n && s.optional)
            {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        });
        if optional.is_break() {
            return;
        }
        let mut cols = Vec::new();
        match unwrap_nested(c) {
            Expr::IsNotNull(e) => cols.push(unwrap_nested(e)),
            Expr::BinaryOp { left, op, right } if is_comparison(op) => {
                cols.push(unwrap_nested(left));
                cols.push(unwrap_nested(right));
            }
            Expr::Between {
                expr,
                negated: false,
                ..
            }
            | Expr::InList {
                expr,
                negated: false,
                ..
            }
            | Expr::Like {
                expr,
                negated: false,
                ..
            }
            | Expr::ILike {
                expr,
                negated: false,
                ..
            } => cols.push(unwrap_nested(expr)),
            Expr::AnyOp { left, .. } => cols.push(unwrap_nested(left)),
            _ => {}
        }
        let Some(f) = self.frames.last_mut() else {
            return;
        };
        for e in cols {
            if let Some((ri, name)) = local_column(f, e) {
                // A strict predicate on a column drops the rows where its relation was
                // null-extended, and the rows where the column is NULL.
                f.rels[ri].null_ext = None;
                f.nonnull.insert((ri, name));
            }
        }
    }

    // ----- expressions ------------------------------------------------------------

    fn param(&mut self, n: u32, hint: Option<&Hint>, span: sqlparser::tokenizer::Span) -> Typed {
        let conj = self.current_conjunct.clone();
        let Some(slot) = self.params.iter_mut().find(|p| p.position == n) else {
            self.err(
                Code::BadParameter,
                span,
                format!("`${n}` is out of range"),
                "number positional parameters from $1 without gaps".into(),
            );
            return Typed::unknown();
        };
        if let Some(c) = conj {
            if !slot.filter_conjuncts.contains(&c) {
                slot.filter_conjuncts.push(c);
            }
        }
        if let Some(h) = hint {
            if slot.ty.is_unknown() && !h.ty.is_unknown() {
                slot.ty = h.ty.clone();
                slot.ty_why = Some(Reason::new(R::ParameterContext, h.why.clone()));
                if slot.column.is_none() {
                    slot.column = h.column.clone();
                }
            } else if !h.ty.is_unknown() && slot.ty != h.ty {
                let (a, b) = (self.cat.base_type(&slot.ty), self.cat.base_type(&h.ty));
                let compatible = a == b
                    || (a.is_text() && b.is_text())
                    || (numeric_rank(&a).is_some() && numeric_rank(&b).is_some());
                if !compatible {
                    let first = slot.ty.clone();
                    let why = slot
                        .ty_why
                        .as_ref()
                        .map(|r| r.detail.clone())
                        .unwrap_or_default();
                    self.err(
                        Code::ParameterConflict,
                        span,
                        format!(
                            "parameter ${n} is used as `{}` here but as `{first}` before ({why})",
                            h.ty
                        ),
                        "cast one use so both agree, e.g. `@name::text`, or use two parameters"
                            .into(),
                    );
                }
            }
            let slot = self.params.iter_mut().find(|p| p.position == n);
            if let Some(slot) = slot {
                if h.nullable && slot.context_nullable.is_none() {
                    slot.context_nullable = Some(Reason::new(
                        R::ParameterContext,
                        format!("{}, which allows NULL", h.why),
                    ));
                }
            }
        }
        let slot = self.params.iter().find(|p| p.position == n);
        let ty = slot.map(|s| s.ty.clone()).unwrap_or(PgType::Unknown);
        let narg = slot.is_some_and(|s| s.narg);
        Typed::new(
            ty,
            narg,
            Reason::new(R::ParameterContext, "a parameter"),
            Reason::new(
                R::ParameterContext,
                if narg {
                    "a parameter written sqlc.narg"
                } else {
                    "a parameter"
                },
            ),
        )
    }

    /// Names a positional parameter written alone at `e`, unless something named it.
    fn name_param(&mut self, e: &Expr, name: &'static str) {
        let n = param_number(unwrap_nested(e));
        if let Some(slot) = self.params.iter_mut().find(|s| n == Some(s.position)) {
            slot.name.get_or_insert(name);
        }
    }

    fn is_param(e: &Expr) -> bool {
        matches!(unwrap_nested(e), Expr::Value(v) if matches!(v.value, Value::Placeholder(_)))
    }

    /// The hint a value compared with `t` gets: `why`, or the column `t` is.
    fn hint_from(t: &Typed, why: &str) -> Option<Hint> {
        let mut h = Self::hint_beside(t, why)?;
        if let Some(c) = &t.table_column {
            h.why = format!("compared with `{c}`");
        }
        Some(h)
    }

    /// The hint a value in the same place as `t` gets (a CASE result, an argument of
    /// coalesce, an operand of `||`): `why`, naming the column `t` is.
    fn hint_beside(t: &Typed, why: &str) -> Option<Hint> {
        (!t.ty.is_unknown()).then(|| Hint {
            ty: t.ty.clone(),
            nullable: false,
            column: t.table_column.as_deref().map(str::to_owned),
            why: match &t.table_column {
                Some(c) => format!("{why}, beside `{c}`"),
                None => why.to_owned(),
            },
        })
    }

    /// The hint a value compared with `t` gets. `varchar` (a domain over it too) has no
    /// comparison operators of its own: PostgreSQL compares it as `text`, so a
    /// parameter compared with a `varchar` column is a `text`.
    fn compare_hint(&self, t: &Typed, why: &str) -> Option<Hint> {
        let mut h = Self::hint_from(t, why)?;
        if self.cat.base_type(&h.ty) == PgType::named("varchar") {
            h.ty = PgType::named("text");
        }
        Some(h)
    }

    /// Types both sides of a binary comparison-like operator, the known side first.
    fn pair(&mut self, l: &Expr, r: &Expr) -> (Typed, Typed) {
        self.pair_as(l, r, false)
    }

    /// [`pair`](Self::pair); `null_ok`: NULL is a value the operator compares (`IS
    /// [NOT] DISTINCT FROM`), so a parameter may be NULL.
    fn pair_as(&mut self, l: &Expr, r: &Expr, null_ok: bool) -> (Typed, Typed) {
        let hint = |cx: &Self, t: &Typed| {
            cx.compare_hint(t, "compared with an expression")
                .map(|mut h| {
                    if null_ok {
                        h.nullable = true;
                        h.why = format!("{} by IS [NOT] DISTINCT FROM", h.why);
                    }
                    h
                })
        };
        if Self::is_param(l) && !Self::is_param(r) {
            let rt = self.expr(r, None);
            let lt = self.expr(l, hint(self, &rt).as_ref());
            (lt, rt)
        } else {
            let lt = self.expr(l, None);
            let rt = self.expr(r, hint(self, &lt).as_ref());
            if lt.ty.is_unknown() && !rt.ty.is_unknown() {
                let lt = self.expr(l, hint(self, &rt).as_ref());
                return (lt, rt);
            }
            (lt, rt)
        }
    }

    fn bool_of(parts: &[&Typed], what: &str) -> Typed {
        let nullable = parts.iter().any(|t| t.nullable);
        let why = if nullable {
            Reason::new(
                R::Expression,
                format!("{what} is NULL when an operand is NULL"),
            )
        } else {
            Reason::new(R::Expression, format!("{what} of non-null operands"))
        };
        Typed::new(
            PgType::named("bool"),
            nullable,
            Reason::new(R::Expression, format!("{what} yields boolean")),
            why,
        )
    }

    pub fn expr(&mut self, e: &Expr, hint: Option<&Hint>) -> Typed {
        let rolled = self.frames.last().and_then(|f| {
            if f.rolled_exprs.is_empty() || f.agg_input {
                return None;
            }
            let key = canonical(e);
            f.rolled_exprs
                .iter()
                .find(|(r, _)| *r == key)
                .map(|(_, w)| *w)
        });
        let mut t = self.expr_kind(e, hint);
        if let Some(word) = rolled {
            t.nullable = true;
            t.null_why = rolled_reason(&e.to_string(), word);
        }
        t
    }

    fn expr_kind(&mut self, e: &Expr, hint: Option<&Hint>) -> Typed {
        match e {
            Expr::Identifier(i) => self.column(None, &ident(i), e.span()),
            Expr::CompoundIdentifier(parts) => {
                let n = parts.len();
                if n < 2 {
                    return Typed::unknown();
                }
                let qual = ident(&parts[n - 2]);
                self.column(Some(&qual), &ident(&parts[n - 1]), e.span())
            }
            Expr::Value(v) => self.value(&v.value, hint, e.span()),
            Expr::QualifiedWildcard(n, _) => {
                let alias = crate::catalog::last_part(n);
                match self.whole_row(&alias) {
                    Some(t) => t,
                    None => {
                        self.column(Some(&alias), "*", e.span());
                        Typed::unknown()
                    }
                }
            }
            Expr::Nested(inner) => self.expr(inner, hint),
            Expr::Cast {
                expr,
                data_type,
                kind,
                ..
            } => {
                let target = match self.cat.resolve_type(data_type) {
                    Ok(t) => t,
                    Err(bad) => {
                        self.err(
                            Code::UntypedColumn,
                            e.span(),
                            format!("unknown type `{bad}` in a cast"),
                            "cast to a built-in type or one the schema declares".into(),
                        );
                        PgType::Unknown
                    }
                };
                let h = Hint {
                    ty: target.clone(),
                    nullable: false,
                    column: None,
                    why: format!("cast to {target}"),
                };
                let inner = self.expr(expr, Some(&h));
                let mut null_why = inner.null_why.clone();
                let nullable =
                    inner.nullable && !matches!(kind, CastKind::TryCast | CastKind::SafeCast);
                if Self::is_param(expr) {
                    null_why = Reason::new(R::Cast, "a cast parameter");
                }
                Typed {
                    ty: target.clone(),
                    nullable,
                    ty_why: Reason::new(R::Cast, format!("explicit cast to {target}")),
                    null_why,
                    table_column: None,
                    literal: false,
                    elem_null: inner.elem_null.clone(),
                }
            }
            Expr::TypedString(ts) => {
                let ty = self
                    .cat
                    .resolve_type(&ts.data_type)
                    .unwrap_or(PgType::Unknown);
                Typed::new(
                    ty.clone(),
                    false,
                    Reason::new(R::Literal, format!("a {ty} literal")),
                    Reason::new(R::Literal, "a literal is not NULL"),
                )
            }
            Expr::Interval(_) => Typed::fixed("interval", false, R::Literal, "an interval literal"),
            Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Not => {
                    let t = self.expr(expr, Some(&Hint::condition("the operand of NOT")));
                    Self::bool_of(&[&t], "NOT")
                }
                _ => self.expr(expr, hint),
            },
            Expr::BinaryOp { left, op, right } => self.binary(left, op, right, e),
            Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsTrue(x)
            | Expr::IsFalse(x)
            | Expr::IsNotTrue(x)
            | Expr::IsNotFalse(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotUnknown(x) => {
                let test = (!matches!(e, Expr::IsNull(_) | Expr::IsNotNull(_))).then(|| Hint {
                    // These tests exist to take NULL: a parameter there may be NULL.
                    nullable: true,
                    ..Hint::condition("tested with IS [NOT] TRUE/FALSE/UNKNOWN")
                });
                self.expr(x, test.as_ref());
                Typed::fixed(
                    "bool",
                    false,
                    R::Expression,
                    "IS [NOT] NULL/TRUE/FALSE is never NULL",
                )
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                self.pair_as(a, b, true);
                Typed::fixed(
                    "bool",
                    false,
                    R::Expression,
                    "IS [NOT] DISTINCT FROM is never NULL",
                )
            }
            Expr::InList { expr, list, .. } => {
                let t = self.expr(expr, None);
                // A list of one is a comparison; a longer one takes the list's common
                // type (varchar stays varchar).
                let h = if list.len() == 1 {
                    self.compare_hint(&t, "an IN list element")
                } else {
                    Self::hint_from(&t, "an IN list element")
                };
                let mut parts = vec![t];
                for x in list {
                    parts.push(self.expr(x, h.as_ref()));
                }
                let refs: Vec<&Typed> = parts.iter().collect();
                Self::bool_of(&refs, "IN")
            }
            Expr::InSubquery { expr, subquery, .. } => {
                let t = self.expr(expr, None);
                let cols = self.query(
                    subquery,
                    self.compare_hint(&t, "compared with the subquery")
                        .map(|h| vec![h])
                        .as_deref(),
                );
                if t.ty.is_unknown() {
                    if let Some(c) = cols.first() {
                        self.expr(
                            expr,
                            self.compare_hint(&c.t, "compared with the subquery's column")
                                .as_ref(),
                        );
                    }
                }
                Typed::fixed("bool", t.nullable, R::Expression, "IN (subquery)")
            }
            Expr::InUnnest {
                expr, array_expr, ..
            } => {
                let t = self.expr(expr, None);
                let h = Self::hint_from(&t, "an unnested array").map(|h| Hint {
                    ty: h.ty.array_of(),
                    ..h
                });
                self.expr(array_expr, h.as_ref());
                Typed::fixed("bool", t.nullable, R::Expression, "IN UNNEST")
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                let t = self.expr(expr, None);
                let h = self.compare_hint(&t, "a BETWEEN bound");
                let lo = self.expr(low, h.as_ref());
                let hi = self.expr(high, h.as_ref());
                Self::bool_of(&[&t, &lo, &hi], "BETWEEN")
            }
            Expr::Like { expr, pattern, .. }
            | Expr::ILike { expr, pattern, .. }
            | Expr::SimilarTo { expr, pattern, .. } => {
                let t = self.expr(expr, None);
                let h = Hint {
                    ty: PgType::named("text"),
                    nullable: false,
                    column: None,
                    why: "a LIKE pattern".into(),
                };
                let p = self.expr(pattern, Some(&h));
                Self::bool_of(&[&t, &p], "LIKE")
            }
            Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } => {
                let lt = self.expr(left, None);
                let h = self
                    .compare_hint(&lt, "compared with ANY/ALL")
                    .map(|h| Hint {
                        ty: h.ty.clone().array_of(),
                        why: format!("an array of the values {}", h.why),
                        ..h
                    });
                let rt = self.expr(right, h.as_ref());
                if lt.ty.is_unknown() {
                    if let Some(elem) = rt.ty.element() {
                        let h = Hint {
                            ty: elem.clone(),
                            nullable: false,
                            column: None,
                            why: "compared with an array's elements".into(),
                        };
                        self.expr(left, Some(&h));
                    }
                }
                Self::bool_of(&[&lt, &rt], "ANY/ALL")
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref(), hint),
            Expr::Function(f) => self.function(f, hint, e.span()),
            Expr::Exists { subquery, .. } => {
                self.query(subquery, None);
                Typed::fixed("bool", false, R::Expression, "EXISTS is never NULL")
            }
            Expr::Subquery(q) => {
                let cols = self.query(q, hint.map(|h| vec![h.clone()]).as_deref());
                match cols.first() {
                    Some(c) => {
                        if cols.len() > 1 {
                            self.err(
                                Code::ArityMismatch,
                                e.span(),
                                "a scalar subquery must return one column".into(),
                                "select a single column in the subquery".into(),
                            );
                        }
                        let one_row = !c.t.nullable && self.one_aggregate_row(q);
                        Typed {
                            ty: c.t.ty.clone(),
                            nullable: !one_row,
                            ty_why: Reason::new(
                                R::Subquery,
                                format!("the type of the scalar subquery's column `{}`", c.name),
                            ),
                            null_why: if one_row {
                                Reason::new(
                                    R::Subquery,
                                    format!("an aggregate without GROUP BY returns one row, and its `{}` is never NULL", c.name),
                                )
                            } else {
                                Reason::new(
                                    R::Subquery,
                                    "a scalar subquery is NULL when it returns no row",
                                )
                            },
                            table_column: None,
                            literal: false,
                            elem_null: c.t.elem_null.clone(),
                        }
                    }
                    None => Typed::unknown(),
                }
            }
            Expr::Array(arr) => {
                let elem_hint = hint.and_then(|h| h.ty.element().cloned()).map(|ty| Hint {
                    ty,
                    nullable: false,
                    column: None,
                    why: "an array element".into(),
                });
                let mut elem = PgType::Unknown;
                let mut elem_null = None;
                for x in &arr.elem {
                    let t = self.expr(x, elem_hint.as_ref());
                    if elem_null.is_none() {
                        elem_null = if t.nullable {
                            Some(Reason::new(
                                R::Expression,
                                format!(
                                    "ARRAY[...] holds a value that may be NULL ({})",
                                    t.null_why.detail
                                ),
                            ))
                        } else {
                            t.elem_null.clone()
                        };
                    }
                    if elem.is_unknown() {
                        elem = t.ty;
                    }
                }
                Typed {
                    elem_null,
                    ..Typed::new(
                        elem.array_of(),
                        false,
                        Reason::new(R::Expression, "an ARRAY constructor"),
                        Reason::new(R::Expression, "an ARRAY constructor is never NULL"),
                    )
                }
            }
            Expr::Tuple(items) => {
                for x in items {
                    self.expr(x, None);
                }
                Typed::fixed("record", false, R::Expression, "a row constructor")
            }
            Expr::Extract { expr, .. } => {
                let t = self.expr(expr, None);
                Typed::new(
                    PgType::named("numeric"),
                    t.nullable,
                    Reason::new(R::Expression, "EXTRACT returns numeric"),
                    t.null_why,
                )
            }
            Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => {
                // Declared for numeric and double precision only: other numbers take
                // double precision.
                let mut t = self.expr(expr, hint);
                if !t.ty.is_unknown() && !self.cat.base_type(&t.ty).is("numeric") {
                    t.ty = PgType::named("float8");
                    t.ty_why = Reason::new(
                        R::Expression,
                        "ceil() and floor() of a non-numeric number are float8",
                    );
                }
                t.table_column = None;
                t
            }
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let t = self.expr(
                    expr,
                    Some(&Hint {
                        ty: PgType::named("text"),
                        nullable: false,
                        column: None,
                        why: "SUBSTRING takes text".into(),
                    }),
                );
                let ih = Hint {
                    ty: PgType::named("int4"),
                    nullable: false,
                    column: None,
                    why: "a SUBSTRING position".into(),
                };
                for x in [substring_from, substring_for].into_iter().flatten() {
                    self.expr(x, Some(&ih));
                }
                Typed::new(
                    PgType::named("text"),
                    t.nullable,
                    Reason::new(R::Expression, "SUBSTRING returns text"),
                    t.null_why,
                )
            }
            Expr::Trim { expr, .. } => {
                let t = self.expr(
                    expr,
                    Some(&Hint {
                        ty: PgType::named("text"),
                        nullable: false,
                        column: None,
                        why: "TRIM takes text".into(),
                    }),
                );
                Typed::new(
                    PgType::named("text"),
                    t.nullable,
                    Reason::new(R::Expression, "TRIM returns text"),
                    t.null_why,
                )
            }
            Expr::Position { expr, r#in } => {
                let a = self.expr(expr, None);
                let b = self.expr(r#in, None);
                let n = a.nullable || b.nullable;
                Typed::fixed("int4", n, R::Expression, "POSITION returns integer")
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => {
                let t = self.expr(timestamp, None);
                self.expr(
                    time_zone,
                    Some(&Hint {
                        ty: PgType::named("text"),
                        nullable: false,
                        column: None,
                        why: "a time zone name".into(),
                    }),
                );
                let ty = if t.ty.is("timestamptz") {
                    "timestamp"
                } else {
                    "timestamptz"
                };
                Typed::new(
                    PgType::named(ty),
                    t.nullable,
                    Reason::new(
                        R::Expression,
                        "AT TIME ZONE switches between timestamp and timestamptz",
                    ),
                    t.null_why,
                )
            }
            Expr::Collate { expr, .. } => self.expr(expr, hint),
            Expr::CompoundFieldAccess { root, access_chain } => {
                use sqlparser::ast::{AccessExpr, Subscript};
                let t = self.expr(root, None);
                // Once one subscript is a slice, PostgreSQL slices at every one: the
                // value stays an array of the root's type.
                let sliced = access_chain
                    .iter()
                    .any(|a| matches!(a, AccessExpr::Subscript(Subscript::Slice { .. })));
                let int4 = Hint {
                    ty: PgType::named("int4"),
                    nullable: false,
                    column: None,
                    why: "an array subscript".into(),
                };
                let mut ty = t.ty.clone();
                // A NULL subscript makes the whole value NULL.
                let mut null_subscript = None;
                let mut field = false;
                for a in access_chain {
                    match a {
                        // `(home).city`: a field of a composite value.
                        AccessExpr::Dot(Expr::Identifier(f)) if !sliced => {
                            let name = ident(f);
                            let base = self.cat.base_type(&ty);
                            let Some(c) = base.name().and_then(|n| self.cat.composites.get(n))
                            else {
                                ty = PgType::Unknown;
                                continue;
                            };
                            match c.fields.iter().find(|(n, _)| *n == name) {
                                Some((_, t)) => {
                                    ty = t.clone();
                                    field = true;
                                }
                                None => {
                                    let has = c
                                        .fields
                                        .iter()
                                        .map(|(n, _)| n.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ");
                                    self.err(
                                        Code::UnknownColumn,
                                        f.span,
                                        format!(
                                            "the composite type `{base}` has no field `{name}`"
                                        ),
                                        format!("its fields: {has}"),
                                    );
                                    ty = PgType::Unknown;
                                }
                            }
                        }
                        AccessExpr::Subscript(Subscript::Index { index }) => {
                            let i = self.expr(index, Some(&int4));
                            if i.nullable {
                                null_subscript.get_or_insert(i.null_why);
                            }
                            if !sliced {
                                ty = ty.element().cloned().unwrap_or(PgType::Unknown);
                            }
                        }
                        AccessExpr::Subscript(Subscript::Slice {
                            lower_bound,
                            upper_bound,
                            stride,
                        }) => {
                            for b in [lower_bound, upper_bound, stride].into_iter().flatten() {
                                let b = self.expr(b, Some(&int4));
                                if b.nullable {
                                    null_subscript.get_or_insert(b.null_why);
                                }
                            }
                        }
                        _ => ty = PgType::Unknown,
                    }
                }
                if sliced {
                    // A slice past the array's bounds is empty, not NULL.
                    let ty_why =
                        Reason::new(R::Expression, "a slice of an array is an array of its type");
                    let sliced = match null_subscript {
                        Some(why) => Typed::new(ty, true, ty_why, why),
                        None => Typed::new(ty, t.nullable, ty_why, t.null_why),
                    };
                    return Typed {
                        elem_null: t.elem_null,
                        ..sliced
                    };
                }
                if field {
                    return Typed::new(
                        ty,
                        true,
                        Reason::new(R::Expression, "a field of a composite value"),
                        Reason::new(
                            R::Expression,
                            "a composite type's fields may be NULL (they take no NOT NULL)",
                        ),
                    );
                }
                Typed::new(
                    ty,
                    true,
                    Reason::new(R::Expression, "an array element"),
                    Reason::new(R::Expression, "a subscript past the array's end is NULL"),
                )
            }
            other => {
                self.err(
                    Code::UntypedColumn,
                    other.span(),
                    "sqlpact cannot type this expression".into(),
                    "add a cast, e.g. `(expr)::text`, or a type override for the column in sqlpact.yaml".into(),
                );
                Typed::unknown()
            }
        }
    }

    fn value(&mut self, v: &Value, hint: Option<&Hint>, span: sqlparser::tokenizer::Span) -> Typed {
        let lit = |ty: &str, what: &str| {
            Typed::new(
                PgType::named(ty),
                false,
                Reason::new(R::Literal, what),
                Reason::new(R::Literal, "a literal is not NULL"),
            )
        };
        match v {
            Value::Placeholder(p) => match placeholder_number(p) {
                Some(n) => self.param(n, hint, span),
                None => {
                    self.err(
                        Code::BadParameter,
                        span,
                        format!("`{p}` is not a parameter sqlpact understands"),
                        "write parameters as `@name`, `sqlc.arg(name)` or `$1`".into(),
                    );
                    Typed::unknown()
                }
            },
            Value::Number(s, _) => {
                if s.contains(['.', 'e', 'E']) {
                    lit("numeric", "a decimal literal is numeric")
                } else if s.parse::<i32>().is_ok() {
                    lit("int4", "an integer literal that fits int4")
                } else if s.parse::<i64>().is_ok() {
                    lit("int8", "an integer literal that fits int8")
                } else {
                    lit("numeric", "an integer literal too large for int8")
                }
            }
            Value::Boolean(_) => lit("bool", "a boolean literal"),
            Value::Null => {
                let ty = hint.map(|h| h.ty.clone()).unwrap_or(PgType::Unknown);
                Typed::new(
                    ty,
                    true,
                    Reason::new(R::Literal, "NULL takes its type from context"),
                    Reason::new(R::Literal, "a NULL literal"),
                )
            }
            Value::SingleQuotedString(_)
            | Value::EscapedStringLiteral(_)
            | Value::DollarQuotedString(_)
            | Value::NationalStringLiteral(_) => {
                let mut t = match hint {
                    Some(h) if !h.ty.is_unknown() => Typed::new(
                        h.ty.clone(),
                        false,
                        Reason::new(R::Literal, format!("a string literal read as {}", h.ty)),
                        Reason::new(R::Literal, "a literal is not NULL"),
                    ),
                    _ => lit("text", "a string literal is text"),
                };
                t.literal = true;
                t
            }
            _ => lit("text", "a literal"),
        }
    }

    /// `||` of arrays (`array_cat`) or of an array and an element (`array_append`,
    /// `array_prepend`): not strict, as those are; a NULL element operand is an element.
    fn array_concat(a: Typed, b: Typed, ty: PgType) -> Typed {
        let added = |t: &Typed| {
            (t.nullable && t.ty.element().is_none()).then(|| {
                Reason::new(
                    R::Expression,
                    format!(
                        "`||` adds an element that may be NULL ({})",
                        t.null_why.detail
                    ),
                )
            })
        };
        let elem_null = a
            .elem_null
            .clone()
            .or_else(|| added(&a))
            .or_else(|| b.elem_null.clone())
            .or_else(|| added(&b));
        let arrays = a.ty.element().is_some() && b.ty.element().is_some();
        let (nullable, why) = if arrays && a.nullable && b.nullable {
            (true, "`||` of two arrays is NULL when both are")
        } else if arrays {
            (false, "`||` of two arrays, one never NULL")
        } else {
            (false, "`||` of an array and an element is never NULL")
        };
        Typed {
            elem_null,
            ..Typed::new(
                ty.clone(),
                nullable,
                Reason::new(R::Expression, format!("`||` yields {ty}")),
                Reason::new(R::Expression, why),
            )
        }
    }

    fn binary(&mut self, l: &Expr, op: &BinaryOperator, r: &Expr, whole: &Expr) -> Typed {
        use BinaryOperator as B;
        match op {
            B::And | B::Or => {
                let word = if matches!(op, B::And) { "AND" } else { "OR" };
                let h = Hint::condition(&format!("an operand of {word}"));
                let a = self.expr(l, Some(&h));
                let b = self.expr(r, Some(&h));
                Self::bool_of(&[&a, &b], word)
            }
            _ if is_comparison(op) => {
                if let (Expr::Tuple(ls), Expr::Tuple(rs)) = (unwrap_nested(l), unwrap_nested(r)) {
                    let mut parts = Vec::new();
                    for (a, b) in ls.iter().zip(rs.iter()) {
                        let (x, y) = self.pair(a, b);
                        parts.push(x);
                        parts.push(y);
                    }
                    let refs: Vec<&Typed> = parts.iter().collect();
                    return Self::bool_of(&refs, "a row comparison");
                }
                let (a, b) = self.pair(l, r);
                Self::bool_of(&[&a, &b], "a comparison")
            }
            B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
                let (a, b) = self.arith_pair(l, r, op);
                let ty = arith_type(op, &self.cat.base_type(&a.ty), &self.cat.base_type(&b.ty));
                let nullable = a.nullable || b.nullable;
                let null_why = if nullable {
                    Reason::new(
                        R::Expression,
                        format!("`{op}` is NULL when an operand is NULL"),
                    )
                } else {
                    Reason::new(R::Expression, format!("`{op}` of non-null operands"))
                };
                match ty {
                    Some(t) => Typed::new(
                        t.clone(),
                        nullable,
                        Reason::new(R::Expression, format!("{} {op} {} yields {t}", a.ty, b.ty)),
                        null_why,
                    ),
                    None => {
                        if !a.ty.is_unknown() && !b.ty.is_unknown() {
                            self.err(
                                Code::UntypedColumn,
                                whole.span(),
                                format!("no operator `{} {op} {}` is known", a.ty, b.ty),
                                "add casts so the operand types are clear".into(),
                            );
                        }
                        Typed::unknown()
                    }
                }
            }
            B::StringConcat => {
                let a = self.expr(l, None);
                let hint = if a.ty.is_json() || a.ty.element().is_some() {
                    Self::hint_beside(&a, "concatenated")
                } else {
                    Some(Hint {
                        ty: PgType::named("text"),
                        nullable: false,
                        column: None,
                        why: "concatenated with ||".into(),
                    })
                };
                let b = self.expr(r, hint.as_ref());
                let ty = if a.ty.is("jsonb") || b.ty.is("jsonb") {
                    PgType::named("jsonb")
                } else if a.ty.element().is_some() {
                    a.ty.clone()
                } else if b.ty.element().is_some() {
                    b.ty.clone()
                } else {
                    PgType::named("text")
                };
                if !ty.is("jsonb") && ty.element().is_some() {
                    return Self::array_concat(a, b, ty);
                }
                let n = a.nullable || b.nullable;
                Typed::new(
                    ty.clone(),
                    n,
                    Reason::new(R::Expression, format!("`||` yields {ty}")),
                    Reason::new(
                        R::Expression,
                        if n {
                            "`||` is NULL when an operand is NULL"
                        } else {
                            "`||` of non-null operands"
                        },
                    ),
                )
            }
            B::Arrow | B::HashArrow | B::LongArrow | B::HashLongArrow => {
                let a = self.expr(l, None);
                let key = if matches!(op, B::HashArrow | B::HashLongArrow) {
                    "text[]"
                } else {
                    "text"
                };
                let kt = if matches!(unwrap_nested(r), Expr::Value(v) if matches!(v.value, Value::Number(..)))
                {
                    "int4"
                } else {
                    key
                };
                self.expr(
                    r,
                    Some(&Hint {
                        ty: PgType::named(kt),
                        nullable: false,
                        column: None,
                        why: format!("a JSON key for `{op}`"),
                    }),
                );
                let ty = match op {
                    B::LongArrow | B::HashLongArrow => PgType::named("text"),
                    _ if a.ty.is("json") => PgType::named("json"),
                    _ => PgType::named("jsonb"),
                };
                Typed::new(
                    ty.clone(),
                    true,
                    Reason::new(R::Expression, format!("`{op}` yields {ty}")),
                    Reason::new(
                        R::Expression,
                        format!("`{op}` is NULL when the key is missing"),
                    ),
                )
            }
            B::AtArrow | B::ArrowAt => {
                let (a, b) = self.pair(l, r);
                Self::bool_of(&[&a, &b], "containment")
            }
            B::Question | B::QuestionAnd | B::QuestionPipe => {
                let a = self.expr(l, None);
                let kt = if matches!(op, B::Question) {
                    "text"
                } else {
                    "text[]"
                };
                let b = self.expr(
                    r,
                    Some(&Hint {
                        ty: PgType::named(kt),
                        nullable: false,
                        column: None,
                        why: "a JSON key".into(),
                    }),
                );
                Self::bool_of(&[&a, &b], "key existence")
            }
            B::PGRegexMatch
            | B::PGRegexIMatch
            | B::PGRegexNotMatch
            | B::PGRegexNotIMatch
            | B::PGLikeMatch
            | B::PGILikeMatch
            | B::PGNotLikeMatch
            | B::PGNotILikeMatch => {
                let a = self.expr(l, None);
                let b = self.expr(
                    r,
                    Some(&Hint {
                        ty: PgType::named("text"),
                        nullable: false,
                        column: None,
                        why: "a pattern".into(),
                    }),
                );
                Self::bool_of(&[&a, &b], "a pattern match")
            }
            B::AtAt | B::PGOverlap => {
                let (a, b) = self.pair(l, r);
                Self::bool_of(&[&a, &b], "a match")
            }
            _ => {
                let (a, b) = self.pair(l, r);
                self.err(
                    Code::UntypedColumn,
                    whole.span(),
                    format!("the operator `{op}` is not known to sqlpact"),
                    "add a cast to the result, e.g. `(a OP b)::bool`".into(),
                );
                let _ = (a, b);
                Typed::unknown()
            }
        }
    }

    /// Arithmetic operands: a parameter takes the other side's type, except where the
    /// operator implies another (timestamp - $1 is an interval).
    fn arith_pair(&mut self, l: &Expr, r: &Expr, op: &BinaryOperator) -> (Typed, Typed) {
        let for_param = |t: &Typed| -> Option<Hint> {
            let base = t.ty.name()?;
            let ty = match (base, op) {
                (
                    "timestamptz" | "timestamp" | "date" | "time",
                    BinaryOperator::Plus | BinaryOperator::Minus,
                ) => "interval",
                ("interval", BinaryOperator::Multiply | BinaryOperator::Divide) => "float8",
                _ => base,
            };
            Some(Hint {
                ty: PgType::named(ty),
                nullable: false,
                column: None,
                why: format!("an operand of `{op}` with {}", t.ty),
            })
        };
        if Self::is_param(l) && !Self::is_param(r) {
            let b = self.expr(r, None);
            let a = self.expr(l, for_param(&b).as_ref());
            (a, b)
        } else {
            let a = self.expr(l, None);
            let b = self.expr(r, for_param(&a).as_ref());
            (a, b)
        }
    }

    fn case(
        &mut self,
        operand: Option<&Expr>,
        conditions: &[sqlparser::ast::CaseWhen],
        else_result: Option<&Expr>,
        hint: Option<&Hint>,
    ) -> Typed {
        let op_t = operand.map(|o| self.expr(o, None));
        let cond_hint = match &op_t {
            Some(t) => self.compare_hint(t, "compared with the CASE operand"),
            None => Some(Hint::condition("a CASE WHEN condition")),
        };
        let mut results = Vec::new();
        for c in conditions {
            self.expr(&c.condition, cond_hint.as_ref());
        }
        // Results that know their type first, then the rest (parameters, NULL) with it.
        let mut known: Option<Typed> = None;
        for c in conditions.iter().map(|c| &c.result).chain(else_result) {
            if !Self::is_param(c) {
                let t = self.expr(c, hint);
                if known.as_ref().is_none_or(|k| {
                    (k.ty.is_unknown() || k.literal) && !t.ty.is_unknown() && !t.literal
                }) {
                    known = Some(t.clone());
                }
                results.push(t);
            }
        }
        let rh = known
            .as_ref()
            .and_then(|k| Self::hint_beside(k, "a CASE result"))
            .or_else(|| hint.cloned());
        for c in conditions.iter().map(|c| &c.result).chain(else_result) {
            if Self::is_param(c) {
                results.push(self.expr(c, rh.as_ref()));
            }
        }
        let ty = known.map(|k| k.ty).unwrap_or(PgType::Unknown);
        let (nullable, why) = if else_result.is_none() {
            (
                true,
                "CASE without ELSE is NULL when no branch matches".to_owned(),
            )
        } else if let Some(n) = results.iter().find(|t| t.nullable) {
            (
                true,
                format!("a CASE branch may be NULL ({})", n.null_why.detail),
            )
        } else {
            (
                false,
                "every CASE branch, ELSE included, is non-null".to_owned(),
            )
        };
        Typed {
            elem_null: results.iter().find_map(|t| t.elem_null.clone()),
            ..Typed::new(
                ty.clone(),
                nullable,
                Reason::new(
                    R::Expression,
                    format!("the common type of the CASE branches, {ty}"),
                ),
                Reason::new(R::Expression, why),
            )
        }
    }

    /// A call of a function the schema declares (`None` when it declares none taking
    /// this many arguments; the caller reports it). Its arguments take the declared
    /// types; between overloads of one arity the typed arguments choose.
    /// The overload of the schema's function `qualified` that a call with `args`
    /// makes, with the arguments typed by it: `None` when the schema declares no
    /// function of that name taking that many arguments, `Some(None)` when the call
    /// cannot choose between its overloads (reported).
    fn schema_overload(
        &mut self,
        qualified: &str,
        name: &str,
        args: &[&Expr],
        span: sqlparser::tokenizer::Span,
    ) -> Option<Option<crate::catalog::CatFunction>> {
        let mut overloads: Vec<crate::catalog::CatFunction> = self
            .cat
            .functions
            .get(qualified)?
            .iter()
            .filter(|o| o.takes(args.len()))
            .cloned()
            .collect();
        if overloads.is_empty() {
            return None;
        }
        let arg_hint = |o: &crate::catalog::CatFunction, i: usize| Hint {
            ty: o.args[i].clone(),
            nullable: false,
            column: None,
            why: format!("argument {} of {name}", i + 1),
        };
        let mut typed: Vec<Option<Typed>> = vec![None; args.len()];
        if overloads.len() > 1 {
            for (i, a) in args.iter().enumerate() {
                if !Self::is_param(a) {
                    typed[i] = Some(self.expr(a, None));
                }
            }
            // The overloads whose arguments the typed arguments are, or else the ones
            // they convert to within a type category (varchar to text, int4 to int8).
            let cat = self.cat;
            let fits = |o: &crate::catalog::CatFunction,
                        same: &dyn Fn(&PgType, &PgType) -> bool| {
                typed.iter().enumerate().all(|(i, t)| match t {
                    Some(t) if !t.literal && !t.ty.is_unknown() => {
                        same(&cat.base_type(&t.ty), &cat.base_type(&o.args[i]))
                    }
                    _ => true,
                })
            };
            let exact: Vec<_> = overloads
                .iter()
                .filter(|o| fits(o, &|a, b| a == b))
                .cloned()
                .collect();
            overloads = if exact.is_empty() {
                overloads
                    .into_iter()
                    .filter(|o| fits(o, &|a, b| a == b || converts_within_category(a, b)))
                    .collect()
            } else {
                exact
            };
            if overloads.len() != 1 {
                for (i, a) in args.iter().enumerate() {
                    if typed[i].is_none() {
                        self.expr(a, None);
                    }
                }
                let msg = if overloads.is_empty() {
                    format!("no function `{name}` the schema declares takes these arguments' types")
                } else {
                    format!(
                        "the schema declares {} functions `{name}` these arguments could call",
                        overloads.len()
                    )
                };
                self.err(
                    Code::UnknownFunction,
                    span,
                    msg,
                    "cast the arguments to the types of the one you mean".into(),
                );
                return Some(None);
            }
        }
        let o = overloads.swap_remove(0);
        for (i, a) in args.iter().enumerate() {
            if typed[i].is_none() {
                let h = arg_hint(&o, i);
                typed[i] = Some(self.expr(a, Some(&h)));
            }
        }
        // A VOLATILE function (PostgreSQL's default) may change data.
        self.writes |= o.volatile;
        Some(Some(o))
    }

    /// A call of a function the schema declares, as a value; `None` when it declares
    /// none of that name taking that many arguments.
    fn schema_function(
        &mut self,
        qualified: &str,
        name: &str,
        args: &[&Expr],
        span: sqlparser::tokenizer::Span,
    ) -> Option<Typed> {
        let Some(o) = self.schema_overload(qualified, name, args, span)? else {
            return Some(Typed::unknown());
        };
        let row = match &o.result {
            FnResult::Value { .. } => None,
            FnResult::Columns(_) => Some("a row of several columns".to_owned()),
            FnResult::Relation(r) => Some(format!("a row of `{r}`")),
            FnResult::Record => Some("a `record`".to_owned()),
        };
        if let Some(row) = row {
            self.err(
                Code::UnknownFunction,
                span,
                format!("`{name}` returns {row}, which sqlpact does not read as one value"),
                format!("select from it instead: `SELECT ... FROM {name}(...)`"),
            );
            return Some(Typed::unknown());
        }
        let FnResult::Value { ty, .. } = o.result else {
            return Some(Typed::unknown());
        };
        Some(Typed::new(
            ty.clone(),
            true,
            Reason::new(
                R::Expression,
                format!("{name}() returns {ty}, as the schema declares"),
            ),
            Reason::new(
                R::Expression,
                format!("{name}() is a function of the schema, which may return NULL"),
            ),
        ))
    }

    /// A call. A plain aggregate's arguments (and FILTER, and ORDER BY) are typed as
    /// its input rows have them, before grouping sets make anything NULL.
    fn function(
        &mut self,
        f: &Function,
        hint: Option<&Hint>,
        span: sqlparser::tokenizer::Span,
    ) -> Typed {
        if let FunctionArguments::Subquery(q) = &f.args {
            if crate::catalog::last_part(&f.name) == "array" {
                return self.array_subquery(q, hint, span);
            }
        }
        let aggregate = f.over.is_none()
            && matches!(&f.args, FunctionArguments::List(l)
                if functions::lookup(&crate::catalog::last_part(&f.name), l.args.len())
                    .is_some_and(|s| s.aggregate));
        let outer = self.frames.last().map(|fr| fr.agg_input);
        if let (true, Some(fr)) = (aggregate, self.frames.last_mut()) {
            fr.agg_input = true;
        }
        let t = self.call_typed(f, hint, span);
        if let (Some(outer), Some(fr)) = (outer, self.frames.last_mut()) {
            fr.agg_input = outer;
        }
        t
    }

    /// `ARRAY(SELECT x ...)`: an array of the subquery's one column, empty (not NULL)
    /// when it returns no row; an array column makes it a multidimensional array of the
    /// same type.
    fn array_subquery(
        &mut self,
        q: &Query,
        hint: Option<&Hint>,
        span: sqlparser::tokenizer::Span,
    ) -> Typed {
        let elem_hint = hint.and_then(|h| h.ty.element().cloned()).map(|ty| Hint {
            ty,
            nullable: true,
            column: None,
            why: "an element of ARRAY(subquery)".into(),
        });
        let cols = self.query(q, elem_hint.map(|h| vec![h]).as_deref());
        if cols.len() != 1 {
            self.err(
                Code::ArityMismatch,
                span,
                "ARRAY(subquery) needs a subquery of one column".into(),
                "select a single column in the subquery, or a row: `ARRAY(SELECT (a, b) ...)`"
                    .into(),
            );
        }
        let Some(c) = cols.first() else {
            return Typed::unknown();
        };
        let ty = match &c.t.ty {
            PgType::Array(_) => c.t.ty.clone(),
            PgType::Unknown => PgType::Unknown,
            other => other.clone().array_of(),
        };
        let elem_null = match &c.t.ty {
            PgType::Array(_) => c.t.elem_null.clone(),
            _ if c.t.nullable => Some(Reason::new(
                R::Subquery,
                format!(
                    "ARRAY(subquery) collects `{}`, which may be NULL ({})",
                    c.name, c.t.null_why.detail
                ),
            )),
            _ => None,
        };
        Typed {
            elem_null,
            ..Typed::new(
                ty,
                false,
                Reason::new(
                    R::Subquery,
                    format!("an array of the subquery's column `{}`", c.name),
                ),
                Reason::new(
                    R::Subquery,
                    "ARRAY(subquery) is an empty array when the subquery returns no row",
                ),
            )
        }
    }

    /// The call itself: its arguments, its signature, its result.
    fn call_typed(
        &mut self,
        f: &Function,
        hint: Option<&Hint>,
        span: sqlparser::tokenizer::Span,
    ) -> Typed {
        let name = crate::catalog::last_part(&f.name);
        // `a.*` as an argument is the whole row of `a`, one value like `a` itself: such
        // an argument is held here as an expression, beside the list it stands in.
        let list: &[FunctionArg] = match &f.args {
            FunctionArguments::List(l) => &l.args,
            _ => &[],
        };
        let rows: Vec<Option<Expr>> = list
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::QualifiedWildcard(n)) => {
                    Some(Expr::QualifiedWildcard(n.clone(), AttachedToken::empty()))
                }
                _ => None,
            })
            .collect();
        let (args, star): (Vec<&Expr>, bool) = match &f.args {
            FunctionArguments::List(l) => {
                let mut star = false;
                let args = l
                    .args
                    .iter()
                    .zip(&rows)
                    .filter_map(|(a, row)| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                        | FunctionArg::Named {
                            arg: FunctionArgExpr::Expr(e),
                            ..
                        }
                        | FunctionArg::ExprNamed {
                            arg: FunctionArgExpr::Expr(e),
                            ..
                        } => Some(e),
                        _ if row.is_some() => row.as_ref(),
                        _ => {
                            star = true;
                            None
                        }
                    })
                    .collect();
                for c in &l.clauses {
                    if let sqlparser::ast::FunctionArgumentClause::OrderBy(obs) = c {
                        for o in obs {
                            self.expr(&o.expr, None);
                        }
                    }
                }
                (args, star)
            }
            FunctionArguments::Subquery(q) => {
                self.query(q, None);
                (Vec::new(), false)
            }
            FunctionArguments::None => (Vec::new(), false),
        };
        if let Some(filter) = &f.filter {
            self.expr(filter, Some(&Hint::condition("a FILTER condition")));
        }
        // What an ordered-set aggregate orders (`percentile_cont(0.5) WITHIN GROUP
        // (ORDER BY x)`): the values it aggregates.
        let ordered: Vec<Typed> = f
            .within_group
            .iter()
            .map(|o| self.expr(&o.expr, None))
            .collect();
        if let Some(sqlparser::ast::WindowType::WindowSpec(w)) = &f.over {
            for p in &w.partition_by {
                self.expr(p, None);
            }
            for o in &w.order_by {
                self.expr(&o.expr, None);
            }
        }
        let qualified = qualify(&f.name);
        let builtin = if self.schema_first(&f.name, &qualified) {
            None
        } else {
            functions::lookup(&name, args.len())
        };
        let Some(sig) = builtin else {
            let named = matches!(&f.args, FunctionArguments::List(l)
                if l.args.iter().any(|a| !matches!(a, FunctionArg::Unnamed(_))));
            if named && self.cat.functions.contains_key(&qualified) {
                self.named_arguments(&name, &args, span);
                return Typed::unknown();
            }
            if let Some(t) = self.schema_function(&qualified, &name, &args, span) {
                return t;
            }
            // A set-returning function in the select list yields its rows' values there.
            if !named {
                if let Some(mut t) = self.set_returning(&name, &args) {
                    if self.frames.last().is_some_and(|f| f.srf_padded) {
                        t.nullable = true;
                        t.null_why = Reason::new(
                            R::Expression,
                            format!("another set-returning function of the select list may return more rows, which PostgreSQL pads {name}() with NULL for"),
                        );
                    }
                    return t;
                }
            }
            for a in &args {
                self.expr(a, None);
            }
            let help = if self.cat.unread_functions.contains(&qualified) {
                format!("the schema declares `{name}` in a form sqlpact does not read ({UNREAD_FORMS}): call it through a function that wraps it with plain arguments and a declared result")
            } else if self.cat.functions.contains_key(&qualified) {
                self.arity_help(&qualified, &name)
            } else {
                format!("declare it in the schema (`CREATE FUNCTION {name}(...) RETURNS ...`), where its argument and result types are read from")
            };
            self.err(
                Code::UnknownFunction,
                span,
                format!(
                    "sqlpact has no signature for the function `{name}` with {} argument(s)",
                    args.len()
                ),
                help,
            );
            return Typed::unknown();
        };
        if (sig.ret == Ret::WithinGroup) == f.within_group.is_empty() {
            let (msg, help) = if f.within_group.is_empty() {
                (
                    format!("`{name}` is an ordered-set aggregate, which needs WITHIN GROUP"),
                    format!(
                        "order the values it aggregates: `{name}(...) WITHIN GROUP (ORDER BY x)`"
                    ),
                )
            } else {
                (
                    format!(
                        "`{name}` is not an ordered-set aggregate, so it takes no WITHIN GROUP"
                    ),
                    format!("order its input inside the call instead: `{name}(x ORDER BY y)`"),
                )
            };
            self.err(Code::UnknownFunction, span, msg, help);
            return Typed::unknown();
        }
        // `nextval`, `pg_notify`: a write, though not of rows.
        self.writes |= sig.writes;
        self.locks |= sig.locks;
        // A session-level lock, or a setting made for the session (`set_config`'s
        // `is_local` not `true`), outlives the statement on its connection: like a
        // lock, it keeps the query on the primary and off a shared connection.
        let session_setting = name == "set_config"
            && !matches!(args.get(2).map(|a| unwrap_nested(a)),
                Some(Expr::Value(v)) if matches!(v.value, Value::Boolean(true)));
        if sig.session || session_setting {
            self.locks = true;
            if self.session.is_none() {
                let sp = self.span(span);
                self.session = Some((sp, name.clone()));
            }
        }
        // An aggregate's arguments are read only in the rows its FILTER keeps, where
        // what the FILTER proves holds (`array_agg(x) FILTER (WHERE x IS NOT NULL)`).
        let unfiltered = f.filter.as_ref().and_then(|filter| {
            let fr = self.frames.last()?;
            let saved = (
                fr.nonnull.clone(),
                fr.rels
                    .iter()
                    .map(|r| r.null_ext.clone())
                    .collect::<Vec<_>>(),
            );
            let mut conjuncts = Vec::new();
            collect_conjuncts(filter, &mut conjuncts);
            for c in conjuncts {
                self.refine(c);
            }
            Some(saved)
        });
        // Arguments with a known type first, so parameters can take it.
        let mut typed: Vec<Option<Typed>> = vec![None; args.len()];
        for (i, a) in args.iter().enumerate() {
            if !Self::is_param(a) {
                let h = sig.arg_types.get(i).map(|t| Hint {
                    ty: type_from_name(t),
                    nullable: false,
                    column: None,
                    why: format!("argument {} of {name}", i + 1),
                });
                typed[i] = Some(self.expr(a, h.as_ref()));
            }
        }
        let first_known = typed
            .iter()
            .flatten()
            .find(|t| !t.ty.is_unknown() && !t.literal)
            .or_else(|| typed.iter().flatten().find(|t| !t.ty.is_unknown()))
            .cloned();
        for (i, a) in args.iter().enumerate() {
            if typed[i].is_none() {
                let h = match (sig.arg_types.get(i), sig.ret) {
                    (Some(t), _) => Some(Hint {
                        ty: type_from_name(t),
                        nullable: false,
                        column: None,
                        why: format!("argument {} of {name}", i + 1),
                    }),
                    (None, Ret::FirstKnown | Ret::Arg(_)) => first_known
                        .as_ref()
                        .and_then(|k| Self::hint_beside(k, &format!("an argument of {name}")))
                        .or_else(|| hint.cloned()),
                    _ => None,
                };
                typed[i] = Some(self.expr(a, h.as_ref()));
            }
        }
        let ts: Vec<Typed> = typed.into_iter().flatten().collect();
        if let (Some((nonnull, null_ext)), Some(fr)) = (unfiltered, self.frames.last_mut()) {
            fr.nonnull = nonnull;
            for (r, n) in fr.rels.iter_mut().zip(null_ext) {
                r.null_ext = n;
            }
        }
        let arg = |i: usize| ts.get(i).map(|t| t.ty.clone()).unwrap_or(PgType::Unknown);
        let ty = match sig.ret {
            Ret::Fixed(t) => type_from_name(t),
            Ret::Arg(i) => arg(i),
            Ret::DateAsTimestamptz(i) => match arg(i) {
                t if self.cat.base_type(&t).is("date") => PgType::named("timestamptz"),
                t => t,
            },
            Ret::NumericOrFloat8 => {
                let base: Vec<PgType> = ts.iter().map(|t| self.cat.base_type(&t.ty)).collect();
                let any = |n: &[&str]| base.iter().any(|t| n.iter().any(|n| t.is(n)));
                match arg(0) {
                    t if t.is_unknown() => t,
                    // power(int, numeric): the numeric overload matches one argument
                    // exactly, the float8 one none.
                    _ if any(&["numeric"]) && !any(&["float8", "float4"]) => {
                        PgType::named("numeric")
                    }
                    _ if ts.len() > 1 && matches!(name.as_str(), "round" | "trunc" | "log") => {
                        PgType::named("numeric")
                    }
                    _ => PgType::named("float8"),
                }
            }
            Ret::ArrayOf(i) => {
                let a = arg(i);
                if a.is_unknown() {
                    a
                } else {
                    a.array_of()
                }
            }
            Ret::WithinGroup => {
                let by = ordered
                    .first()
                    .map(|t| t.ty.clone())
                    .unwrap_or(PgType::Unknown);
                // percentile_cont interpolates: in float8, or in interval.
                let by = match by {
                    t if t.is_unknown() || name != "percentile_cont" => t,
                    t if self.cat.base_type(&t).is("interval") => PgType::named("interval"),
                    _ => PgType::named("float8"),
                };
                // An array of fractions gives an array of percentiles.
                if !by.is_unknown() && arg(0).element().is_some() {
                    by.array_of()
                } else {
                    by
                }
            }
            Ret::FirstKnown => first_known
                .as_ref()
                .map(|k| k.ty.clone())
                .unwrap_or(PgType::Unknown),
            Ret::Sum => {
                let a = self.cat.base_type(&arg(0));
                match a.name() {
                    Some("int2" | "int4") => PgType::named("int8"),
                    Some("int8") => PgType::named("numeric"),
                    _ => a,
                }
            }
            Ret::Avg => {
                let a = self.cat.base_type(&arg(0));
                match a.name() {
                    Some("float4" | "float8") => PgType::named("float8"),
                    Some("interval") => a,
                    _ => PgType::named("numeric"),
                }
            }
        };
        let any_null = ts.iter().find(|t| t.nullable);
        let windowed = f.over.is_some();
        let default_frame = matches!(&f.over, Some(sqlparser::ast::WindowType::WindowSpec(w)) if w.window_frame.is_none())
            || matches!(&f.over, Some(sqlparser::ast::WindowType::NamedWindow(_)));
        let grouped = self.frames.last().is_some_and(|fr| fr.grouped);
        let (nullable, why) = match sig.nulls {
            Nulls::Never => (false, format!("{name}() is never NULL")),
            Nulls::Always => (true, format!("{name}() may return NULL")),
            Nulls::Strict => match any_null {
                Some(t) => (
                    true,
                    format!(
                        "{name}() is NULL when its argument is ({})",
                        t.null_why.detail
                    ),
                ),
                None => (false, format!("{name}() of non-null arguments")),
            },
            Nulls::IfArg(i) => match ts.get(i).filter(|t| t.nullable) {
                Some(t) => (
                    true,
                    format!(
                        "{name}() is NULL when its argument {} is ({})",
                        i + 1,
                        t.null_why.detail
                    ),
                ),
                None => (
                    false,
                    format!("argument {} of {name}() is never NULL", i + 1),
                ),
            },
            Nulls::AllArgs => {
                if ts.is_empty() || ts.iter().all(|t| t.nullable) {
                    (true, format!("every argument of {name}() may be NULL"))
                } else {
                    let nn = ts.iter().position(|t| !t.nullable).unwrap_or(0);
                    (
                        false,
                        format!("argument {} of {name}() is never NULL", nn + 1),
                    )
                }
            }
            Nulls::Aggregate | Nulls::Collects => {
                // What keeps the result from being NULL, besides a row to aggregate.
                let (windowed_input, grouped_input) = match sig.nulls {
                    Nulls::Collects => (
                        " (it collects NULL inputs too)",
                        " (it collects NULL inputs too)",
                    ),
                    _ => (", of a non-null input", " of a non-null input"),
                };
                if sig.nulls == Nulls::Aggregate
                    && !star
                    && ts.iter().chain(&ordered).any(|t| t.nullable)
                {
                    (true, format!("{name}() is NULL when every input is NULL"))
                } else if f.filter.is_some() {
                    (true, format!("{name}() with FILTER may aggregate no rows"))
                } else if windowed && default_frame {
                    (
                        false,
                        format!(
                            "{name}() over a window frame that holds the current row{windowed_input}"
                        ),
                    )
                } else if grouped && !windowed {
                    (
                        false,
                        format!("{name}() within a GROUP BY group (never empty){grouped_input}"),
                    )
                } else {
                    (true, format!("{name}() over a possibly empty set is NULL"))
                }
            }
        };
        if ty.is_unknown() && !ts.iter().any(|t| t.ty.is_unknown()) && !ts.is_empty() {
            self.err(
                Code::UntypedColumn,
                span,
                format!("cannot tell what `{name}` returns for these arguments"),
                format!("cast the result, e.g. `{name}(...)::text`"),
            );
        }
        let source = if sig.aggregate || windowed {
            R::Aggregate
        } else {
            R::Expression
        };
        Typed {
            elem_null: elements_nullable(&name, sig.ret, &ts, &args),
            ..Typed::new(
                ty.clone(),
                nullable,
                Reason::new(source, format!("{name}() returns {ty}")),
                Reason::new(source, why),
            )
        }
    }
}

/// Why the array a built-in function returns may hold NULL elements (`None`: it holds
/// none): those it collects or adds, those of the arrays it passes on, and
/// `regexp_match`'s groups that take no part in the match.
fn elements_nullable(name: &str, ret: Ret, ts: &[Typed], args: &[&Expr]) -> Option<Reason> {
    let why = |detail: String| Some(Reason::new(R::Expression, detail));
    // Argument `i` itself may be NULL, and becomes an element.
    let added = |i: usize| {
        ts.get(i)
            .filter(|t| t.nullable && t.ty.element().is_none())
            .and_then(|t| {
                why(format!(
                    "{name}() takes in argument {} as an element, which may be NULL ({})",
                    i + 1,
                    t.null_why.detail
                ))
            })
    };
    // Argument `i` is an array whose elements may be NULL, passed on.
    let passed = |i: usize| ts.get(i).and_then(|t| t.elem_null.clone());
    let null_literal = |i: usize| {
        matches!(args.get(i).map(|a| unwrap_nested(a)),
            Some(Expr::Value(v)) if matches!(v.value, Value::Null))
    };
    match name {
        "array_agg" => passed(0).or_else(|| {
            ts.first()
                .filter(|t| t.nullable && t.ty.element().is_none())
                .map(|t| {
                    Reason::new(
                        R::Aggregate,
                        format!(
                            "array_agg() collects NULL inputs too ({})",
                            t.null_why.detail
                        ),
                    )
                })
        }),
        "array_append" => passed(0).or_else(|| added(1)),
        "array_prepend" => added(0).or_else(|| passed(1)),
        "array_cat" => passed(0).or_else(|| passed(1)),
        "array_remove" if null_literal(1) => None,
        "array_remove" => passed(0),
        "array_replace" => passed(0).or_else(|| added(2)),
        "regexp_match" => {
            why("a group of regexp_match() that takes no part in the match is NULL".into())
        }
        "string_to_array" if ts.len() > 2 => {
            why("string_to_array() makes NULL of the pieces equal to its third argument".into())
        }
        _ if matches!(ret, Ret::Arg(_) | Ret::FirstKnown) => {
            ts.iter().find_map(|t| t.elem_null.clone())
        }
        _ => None,
    }
}

/// The built-in set-returning functions of one column a select list may call.
const SET_RETURNING: &[&str] = &[
    "unnest",
    "generate_series",
    "generate_subscripts",
    "jsonb_object_keys",
    "json_object_keys",
    "regexp_split_to_table",
    "string_to_table",
    "regexp_matches",
    "jsonb_array_elements",
    "json_array_elements",
    "jsonb_array_elements_text",
    "json_array_elements_text",
    "jsonb_path_query",
    "jsonb_path_query_tz",
];

/// How many calls of built-in set-returning functions a select list and its ORDER BY
/// make (those of subqueries too, which only makes the count safe).
fn set_returning_calls(items: &[SelectItem], order: &[&Expr]) -> usize {
    let mut n = 0;
    let exprs = items
        .iter()
        .filter_map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
            _ => None,
        })
        .chain(order.iter().copied());
    for e in exprs {
        let _ = sqlparser::ast::visit_expressions(e, |x| {
            if let Expr::Function(f) = x {
                let name = crate::catalog::last_part(&f.name);
                n += usize::from(SET_RETURNING.contains(&name.as_str()));
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
    }
    n
}

/// An expression as PostgreSQL compares a grouped expression with the select list's,
/// near enough: without parentheses and qualifiers, casts in one spelling, in lower
/// case. (It may call two expressions the same that are not, which only makes more
/// values nullable.)
fn canonical(e: &Expr) -> String {
    use std::ops::ControlFlow;
    let mut e = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut e, |x| {
        while let Expr::Nested(inner) = x {
            *x = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
        }
        match x {
            Expr::CompoundIdentifier(p) if p.len() > 1 => {
                let last = p.pop().expect("two parts");
                *x = Expr::Identifier(last);
            }
            Expr::Cast { kind, .. } => *kind = CastKind::Cast,
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    e.to_string().to_lowercase()
}

/// The number of a positional parameter as written (`$3` is 3).
fn placeholder_number(p: &str) -> Option<u32> {
    p.strip_prefix('$')?.parse().ok()
}

/// The number of the parameter `e` is, when it is one.
fn param_number(e: &Expr) -> Option<u32> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Placeholder(p) => placeholder_number(p),
            _ => None,
        },
        _ => None,
    }
}

/// The columns an assignment of SET names (`a`, or `(a, b)`).
fn assigned(a: &sqlparser::ast::Assignment) -> Vec<&ObjectName> {
    match &a.target {
        sqlparser::ast::AssignmentTarget::ColumnName(n) => vec![n],
        sqlparser::ast::AssignmentTarget::Tuple(ns) => ns.iter().collect(),
    }
}

/// `DEFAULT` written as a value to insert or assign: the column's default.
fn is_default(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

/// A grouping element's expressions: `(a, b)` is two.
fn members(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Tuple(items) => items.iter().flat_map(members).collect(),
        Expr::Nested(inner) => members(inner),
        _ => vec![e],
    }
}

/// Whether two GROUP BY members group the same: the same column of the frame however
/// qualified, or the same expression as written.
fn same_member(f: Option<&Frame>, a: &Expr, b: &Expr) -> bool {
    let column = |e| f.and_then(|f| local_column(f, unwrap_nested(e)));
    match (column(a), column(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The members of a ROLLUP, CUBE or GROUPING SETS nested in GROUPING SETS (sqlparser
/// reads a nested ROLLUP or CUBE as a call).
fn nested_grouping(m: &Expr) -> Option<Vec<&Expr>> {
    match m {
        Expr::Rollup(sets) | Expr::Cube(sets) | Expr::GroupingSets(sets) => {
            Some(sets.iter().flatten().flat_map(members).collect())
        }
        Expr::Function(f)
            if matches!(
                crate::catalog::last_part(&f.name).as_str(),
                "rollup" | "cube"
            ) =>
        {
            match &f.args {
                FunctionArguments::List(l) => Some(
                    positional(&l.args)
                        .0
                        .into_iter()
                        .flat_map(members)
                        .collect(),
                ),
                _ => Some(Vec::new()),
            }
        }
        _ => None,
    }
}

/// The column of `f` that a column reference names: (relation index, column).
fn local_column(f: &Frame, e: &Expr) -> Option<(usize, String)> {
    let (qual, name) = match e {
        Expr::Identifier(i) => (None, ident(i)),
        Expr::CompoundIdentifier(p) if p.len() >= 2 => {
            (Some(ident(&p[p.len() - 2])), ident(&p[p.len() - 1]))
        }
        _ => return None,
    };
    let ri = f.rels.iter().position(|r| match &qual {
        Some(q) => r.alias == *q,
        None => r.has_visible(&name),
    })?;
    Some((ri, name))
}

fn rename(mut cols: Vec<OutCol>, names: &[sqlparser::ast::TableAliasColumnDef]) -> Vec<OutCol> {
    for (c, n) in cols.iter_mut().zip(names.iter()) {
        c.name = ident(&n.name);
    }
    cols
}

fn collect_conjuncts<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            collect_conjuncts(left, out);
            collect_conjuncts(right, out);
        }
        _ => out.push(e),
    }
}

/// A type spelled in the function table: `text`, `text[]`.
fn type_from_name(n: &str) -> PgType {
    match n.strip_suffix("[]") {
        Some(e) => PgType::named(e).array_of(),
        None => PgType::named(n),
    }
}

/// The result type of arithmetic, following PostgreSQL's operator resolution.
pub fn arith_type(op: &BinaryOperator, a: &PgType, b: &PgType) -> Option<PgType> {
    use BinaryOperator as B;
    let (an, bn) = (a.name().unwrap_or(""), b.name().unwrap_or(""));
    let t = |s: &str| Some(PgType::named(s));
    match (an, bn, op) {
        ("timestamptz", "timestamptz", B::Minus) | ("timestamp", "timestamp", B::Minus) => {
            t("interval")
        }
        ("date", "date", B::Minus) => t("int4"),
        ("timestamptz", "interval", B::Plus | B::Minus) | ("interval", "timestamptz", B::Plus) => {
            t("timestamptz")
        }
        ("timestamp", "interval", B::Plus | B::Minus) | ("interval", "timestamp", B::Plus) => {
            t("timestamp")
        }
        ("date", "interval", B::Plus | B::Minus) | ("interval", "date", B::Plus) => t("timestamp"),
        ("date", "int4" | "int2" | "int8", B::Plus | B::Minus) | ("int4", "date", B::Plus) => {
            t("date")
        }
        ("time", "interval", B::Plus | B::Minus) => t("time"),
        ("interval", "interval", B::Plus | B::Minus) => t("interval"),
        ("interval", _, B::Multiply | B::Divide) | (_, "interval", B::Multiply)
            if numeric_rank(a).or(numeric_rank(b)).is_some() =>
        {
            t("interval")
        }
        _ => {
            let (ra, rb) = (numeric_rank(a)?, numeric_rank(b)?);
            if an == "float4" && bn == "float4" {
                return t("float4");
            }
            if ra >= 5 || rb >= 5 {
                return t("float8");
            }
            Some(if ra >= rb { a.clone() } else { b.clone() })
        }
    }
}

/// Whether PostgreSQL converts a value of `from` to `to` implicitly within one type
/// category: the string types to `text`, a narrower integer to a wider one.
fn converts_within_category(from: &PgType, to: &PgType) -> bool {
    let rank = |t: &PgType| match t.name() {
        Some("int2") => Some(0),
        Some("int4") => Some(1),
        Some("int8") => Some(2),
        _ => None,
    };
    (from.is_text() && to.is("text"))
        || matches!((rank(from), rank(to)), (Some(a), Some(b)) if a <= b)
}

mod grouped;
mod placement;

#[cfg(test)]
mod quote_tests {
    use super::*;

    #[test]
    fn reserved_words_and_odd_names_are_quoted() {
        assert!(
            PG_RESERVED.windows(2).all(|w| w[0] < w[1]),
            "sorted for binary search"
        );
        assert_eq!(quote_ident("balance"), "balance");
        assert_eq!(quote_ident("type"), "type");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("Mixed"), "\"Mixed\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
