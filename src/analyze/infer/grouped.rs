//! PostgreSQL's rule for a grouped or aggregated SELECT: past grouping (in the select
//! list, HAVING and ORDER BY) a column of the query's own FROM is read only where GROUP
//! BY groups it, inside an aggregate, or on a table whose whole primary key is grouped
//! (`E413`). Where the rule is not certain here, the check stays quiet and leaves the
//! query to the server: columns inside subqueries, columns read by a grouped expression
//! (which the select list may write differently), the columns a join's USING merges.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArguments, GroupByExpr, Select, SelectItem, SelectItemQualifiedWildcardKind,
    Spanned, Value, VisitMut, VisitorMut,
};

use super::{canonical, functions, local_column, qualify, Cx, Frame, Resolved};
use crate::catalog::RelKind;
use crate::diag::Code;

/// What a GROUP BY groups by.
#[derive(Clone, Debug, Default)]
pub(super) struct Groups {
    /// Columns of the FROM that some grouping set holds: (relation index, column, or
    /// `*` for a whole row).
    cols: Vec<(usize, String)>,
    /// Columns every grouping set holds: only these make a primary key grouped.
    common: Vec<(usize, String)>,
    /// Grouped expressions that are not a column, by their `canonical` text.
    exprs: Vec<String>,
    /// The columns those expressions read.
    expr_cols: Vec<(usize, String)>,
}

impl Groups {
    /// The members of every grouping set (`always`) and of some (`sometimes`).
    pub(super) fn new<'r>(
        f: &Frame,
        always: &[Resolved],
        sometimes: impl Iterator<Item = &'r Resolved>,
    ) -> Groups {
        let mut g = Groups::default();
        for (r, every) in always
            .iter()
            .map(|r| (r, true))
            .chain(sometimes.map(|r| (r, false)))
        {
            match r {
                Resolved::Column(ri, n) => {
                    g.cols.push((*ri, n.clone()));
                    if every {
                        g.common.push((*ri, n.clone()));
                    }
                }
                Resolved::Expr(e) => {
                    g.exprs.push(canonical(e));
                    let _ = sqlparser::ast::visit_expressions(e.as_ref(), |x| {
                        g.expr_cols.extend(local_column(f, x));
                        ControlFlow::<()>::Continue(())
                    });
                }
            }
        }
        g
    }
}

/// Replaces what the check does not look into by NULL: aggregate calls (noting whether
/// one belongs to this query), subqueries, and grouped expressions.
struct Strip<'c, 'a> {
    cx: &'c Cx<'a>,
    f: &'c Frame,
    /// An aggregate of this query's level was found.
    aggregates: bool,
}

impl VisitorMut for Strip<'_, '_> {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        let stripped = match e {
            Expr::Subquery(_) | Expr::Exists { .. } => true,
            // `ARRAY(SELECT ...)`, which sqlparser reads as a call.
            Expr::Function(f) if matches!(f.args, FunctionArguments::Subquery(_)) => true,
            // The left side is still read past grouping; the subquery is not.
            Expr::InSubquery { expr, .. } => {
                let left = std::mem::replace(expr.as_mut(), Expr::value(Value::Null));
                *e = Expr::Nested(Box::new(left));
                false
            }
            Expr::Function(_) if self.cx.is_aggregate_call(e) => {
                self.aggregates |= aggregates_here(self.f, e);
                true
            }
            _ => !self.f.groups.exprs.is_empty() && self.f.groups.exprs.contains(&canonical(e)),
        };
        if stripped {
            *e = Expr::value(Value::Null);
        }
        ControlFlow::Continue(())
    }
}

/// Whether an aggregate call belongs to the query of frame `f`: PostgreSQL places an
/// aggregate at the innermost query whose columns it reads, or where it stands when it
/// reads none (`count(*)`).
fn aggregates_here(f: &Frame, call: &Expr) -> bool {
    let (mut columns, mut local) = (0, false);
    let _ = sqlparser::ast::visit_expressions(call, |x| {
        if matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            columns += 1;
            local |= local_column(f, x).is_some();
        }
        ControlFlow::<()>::Continue(())
    });
    columns == 0 || local
}

impl Cx<'_> {
    /// A plain (not windowed) call of a built-in aggregate.
    pub(super) fn is_aggregate_call(&self, e: &Expr) -> bool {
        let Expr::Function(f) = e else {
            return false;
        };
        let FunctionArguments::List(l) = &f.args else {
            return false;
        };
        f.over.is_none()
            && !self.schema_first(&f.name, &qualify(&f.name))
            && functions::lookup(&crate::catalog::last_part(&f.name), l.args.len())
                .is_some_and(|s| s.aggregate)
    }

    /// Reports each column a grouped or aggregated SELECT reads past grouping without
    /// grouping or aggregating it; `ordered` are its ORDER BY expressions that are not
    /// output columns.
    pub(super) fn check_grouping(&mut self, s: &Select, ordered: &[&Expr]) {
        let Some(f) = self.frames.last() else {
            return;
        };
        let grouped = matches!(&s.group_by, GroupByExpr::Expressions(e, _) if !e.is_empty());
        // Most selects neither group nor aggregate: one walk without copies says so.
        let calls_aggregate = || {
            s.projection
                .iter()
                .filter_map(|i| match i {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        Some(e)
                    }
                    _ => None,
                })
                .chain(ordered.iter().copied())
                .any(|e| {
                    sqlparser::ast::visit_expressions(e, |x| {
                        if self.is_aggregate_call(x) {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        }
                    })
                    .is_break()
                })
        };
        if !grouped && s.having.is_none() && !calls_aggregate() {
            return;
        }
        let mut strip = Strip {
            cx: self,
            f,
            aggregates: grouped || s.having.is_some(),
        };
        let read: Vec<Expr> = s
            .projection
            .iter()
            .filter_map(|i| match i {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
                _ => None,
            })
            .chain(s.having.as_ref())
            .chain(ordered.iter().copied())
            .map(|e| {
                let mut e = e.clone();
                let _ = e.visit(&mut strip);
                e
            })
            .collect();
        if !strip.aggregates {
            return;
        }
        // (where, the columns read there), each column once; a `*` is one report.
        let mut found: Vec<(sqlparser::tokenizer::Span, Vec<(usize, String)>)> = Vec::new();
        let mut note = |span, cols: Vec<(usize, String)>| {
            let cols: Vec<_> = cols
                .into_iter()
                .filter(|(ri, n)| {
                    !self.groups_hold(f, *ri, n)
                        && !found
                            .iter()
                            .flat_map(|x| &x.1)
                            .any(|x| x.0 == *ri && x.1 == *n)
                })
                .collect();
            if !cols.is_empty() {
                found.push((span, cols));
            }
        };
        for e in &read {
            let _ = sqlparser::ast::visit_expressions(e, |x| {
                if let Some(c) = local_column(f, x) {
                    note(x.span(), vec![c]);
                }
                ControlFlow::<()>::Continue(())
            });
        }
        for item in &s.projection {
            let only = match item {
                SelectItem::Wildcard(_) => None,
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => Some(crate::catalog::last_part(n)),
                _ => continue,
            };
            note(item.span(), self.star_columns(only.as_deref()));
        }
        let name = |(ri, n): &(usize, String)| format!("{}.{n}", f.rels[*ri].alias);
        let reports: Vec<_> = found
            .iter()
            .map(|(span, cols)| {
                let (ri, col) = (cols[0].0, name(&cols[0]));
                let alias = &f.rels[ri].alias;
                let key = self.primary_key(f, ri).map(|key| {
                    let key: Vec<String> = key.iter().map(|k| format!("`{alias}.{k}`")).collect();
                    format!(
                        "group by the primary key of `{alias}` ({}), which lets every column of `{alias}` be read",
                        key.join(", ")
                    )
                });
                let past = if grouped {
                    "past GROUP BY"
                } else {
                    "beside an aggregate, without GROUP BY,"
                };
                if cols.len() > 1 {
                    let list: Vec<String> = cols.iter().map(|c| format!("`{}`", name(c))).collect();
                    let msg = format!(
                        "`*` reads columns {past} that are neither grouped nor inside an aggregate: {}",
                        list.join(", ")
                    );
                    let only = "select only grouped columns and aggregates instead of `*`";
                    let help = key.map_or_else(|| only.to_owned(), |k| format!("{k}; or {only}"));
                    return (*span, msg, help);
                }
                let msg = format!("`{col}` is read {past} but neither grouped nor inside an aggregate");
                let mut help = format!(
                    "group by it (`GROUP BY {}{col}`), or read it through an aggregate (`array_agg({col})`)",
                    if grouped { "..., " } else { "" }
                );
                if let Some(k) = key {
                    help.push_str("; or ");
                    help.push_str(&k);
                }
                (*span, msg, help)
            })
            .collect();
        for (span, msg, help) in reports {
            self.err(Code::UngroupedColumn, span, msg, help);
        }
    }

    /// Whether the grouping lets column `n` of relation `ri` be read past it.
    fn groups_hold(&self, f: &Frame, ri: usize, n: &str) -> bool {
        let g = &f.groups;
        let held = |c: &str| g.cols.iter().any(|(i, x)| *i == ri && x == c);
        if held(n) || held("*") || g.expr_cols.iter().any(|(i, x)| *i == ri && x == n) {
            return true;
        }
        // A column a join's USING or NATURAL merges is one of two, or both coalesced
        // (a RIGHT JOIN's is the right side's): grouped under either name, it counts as
        // grouped on both sides.
        let merged = |k: &str| f.rels.iter().any(|r| r.hidden.contains(k));
        if f.rels[ri].poisoned || merged(n) {
            return true;
        }
        self.primary_key(f, ri).is_some_and(|key| {
            key.iter().all(|k| {
                g.common
                    .iter()
                    .any(|(i, x)| x == k && (*i == ri || merged(k)))
            })
        })
    }

    /// The primary key of relation `ri` of the frame, by the names the query gives its
    /// columns, when it is a table that has one.
    fn primary_key(&self, f: &Frame, ri: usize) -> Option<Vec<String>> {
        let rel = &f.rels[ri];
        let table = self.cat.relation(rel.table.as_deref()?)?;
        if table.kind != RelKind::Table || table.columns.len() != rel.cols.len() {
            return None;
        }
        let key: Vec<String> = table
            .columns
            .iter()
            .zip(&rel.cols)
            .filter(|(c, _)| c.primary_key)
            .map(|(_, (name, _))| name.clone())
            .collect();
        (!key.is_empty()).then_some(key)
    }
}
