//! Where PostgreSQL takes a set-returning function (`unnest`, `generate_series`, ...)
//! outside FROM: in a select list, ORDER BY and GROUP BY, but not in WHERE, HAVING, a
//! join's ON, LIMIT, UPDATE's SET or RETURNING, nor inside CASE, COALESCE, an
//! aggregate's or a window function's arguments (`E414`). Each subquery is judged as a
//! query of its own.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments, JoinConstraint,
    JoinOperator, OnConflictAction, OnInsert, Query, Select, SelectItem, SetExpr, Spanned,
    Statement, Value, Visit, VisitMut, Visitor, VisitorMut,
};

use super::{qualify, Cx, SET_RETURNING};
use crate::diag::Code;

/// (where, the function, the clause or construct that refuses it)
type Found = Vec<(sqlparser::tokenizer::Span, String, &'static str)>;

/// Replaces subqueries by NULL: their own clauses are judged with their query.
struct NoSubqueries;

impl VisitorMut for NoSubqueries {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        match e {
            Expr::Subquery(_) | Expr::Exists { .. } => *e = Expr::value(Value::Null),
            // `ARRAY(SELECT ...)`, which sqlparser reads as a call.
            Expr::Function(f) if matches!(f.args, FunctionArguments::Subquery(_)) => {
                *e = Expr::value(Value::Null);
            }
            Expr::InSubquery { expr, .. } => {
                let left = std::mem::replace(expr.as_mut(), Expr::value(Value::Null));
                *e = Expr::Nested(Box::new(left));
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Visits every query of a statement, its subqueries and CTEs included.
struct Queries<'c, 'a> {
    cx: &'c Cx<'a>,
    found: Found,
}

impl Visitor for Queries<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        self.cx.query_places(q, &mut self.found);
        ControlFlow::Continue(())
    }
}

impl Cx<'_> {
    /// Reports each set-returning function of the statement that stands where
    /// PostgreSQL refuses one.
    pub(super) fn check_set_returning(&mut self, s: &Statement) {
        // Most statements call none: one walk without copies says so.
        let none = sqlparser::ast::visit_expressions(s, |x| match self.set_returning_call(x) {
            Some(_) => ControlFlow::Break(()),
            None => ControlFlow::Continue(()),
        });
        if none.is_continue() {
            return;
        }
        let mut found = Found::new();
        let clause = |cx: &Self, e: &Expr, place, found: &mut Found| cx.scan(e, Some(place), found);
        let returning = |cx: &Self, items: &Option<Vec<SelectItem>>, found: &mut Found| {
            for e in items.iter().flatten().filter_map(item_expr) {
                cx.scan(e, Some("RETURNING"), found);
            }
        };
        match s {
            Statement::Update(u) => {
                for a in &u.assignments {
                    clause(self, &a.value, "UPDATE's SET", &mut found);
                }
                if let Some(w) = &u.selection {
                    clause(self, w, "WHERE", &mut found);
                }
                returning(self, &u.returning, &mut found);
            }
            Statement::Delete(d) => {
                if let Some(w) = &d.selection {
                    clause(self, w, "WHERE", &mut found);
                }
                returning(self, &d.returning, &mut found);
            }
            Statement::Insert(i) => {
                if let Some(OnInsert::OnConflict(oc)) = &i.on {
                    if let OnConflictAction::DoUpdate(du) = &oc.action {
                        for a in &du.assignments {
                            clause(self, &a.value, "ON CONFLICT's SET", &mut found);
                        }
                        if let Some(w) = &du.selection {
                            clause(self, w, "WHERE", &mut found);
                        }
                    }
                }
                returning(self, &i.returning, &mut found);
            }
            _ => {}
        }
        let mut queries = Queries { cx: self, found };
        let _ = s.visit(&mut queries);
        let mut found = queries.found;
        found.sort_by_key(|f| (f.0.start.line, f.0.start.column));
        found.dedup_by_key(|f| f.0);
        for (span, name, place) in found {
            let help = if place == "CASE" || place == "COALESCE" {
                format!("call {name}() in FROM (`CROSS JOIN LATERAL {name}(...) AS x`) and use its column in the {place}")
            } else {
                format!("call {name}() in FROM (`FROM t CROSS JOIN LATERAL {name}(...) AS x`) and use its column there, or in the select list")
            };
            self.err(
                Code::SetReturningPlacement,
                span,
                format!("{name}() returns a set of rows, which PostgreSQL refuses in {place}"),
                help,
            );
        }
    }

    /// The places of one query: its selects' WHERE, HAVING, ON and what their select
    /// lists, GROUP BY and ORDER BY nest; and LIMIT.
    fn query_places(&self, q: &Query, found: &mut Found) {
        let mut selects = Vec::new();
        selects_of(&q.body, &mut selects);
        for s in selects {
            self.select_places(s, found);
        }
        if let Some(ob) = &q.order_by {
            if let sqlparser::ast::OrderByKind::Expressions(exprs) = &ob.kind {
                for o in exprs {
                    self.scan(&o.expr, None, found);
                }
            }
        }
        if let Some(sqlparser::ast::LimitClause::LimitOffset { limit, offset, .. }) =
            &q.limit_clause
        {
            for e in limit.iter().chain(offset.as_ref().map(|o| &o.value)) {
                self.scan(e, Some("LIMIT"), found);
            }
        }
    }

    fn select_places(&self, s: &Select, found: &mut Found) {
        if let Some(w) = &s.selection {
            self.scan(w, Some("WHERE"), found);
        }
        if let Some(h) = &s.having {
            self.scan(h, Some("HAVING"), found);
        }
        for twj in &s.from {
            for j in &twj.joins {
                let c = match &j.join_operator {
                    JoinOperator::Join(c)
                    | JoinOperator::Inner(c)
                    | JoinOperator::Left(c)
                    | JoinOperator::LeftOuter(c)
                    | JoinOperator::Right(c)
                    | JoinOperator::RightOuter(c)
                    | JoinOperator::FullOuter(c) => c,
                    _ => continue,
                };
                if let JoinConstraint::On(e) = c {
                    self.scan(e, Some("a join's ON"), found);
                }
            }
        }
        for e in s.projection.iter().filter_map(item_expr) {
            self.scan(e, None, found);
        }
        if let sqlparser::ast::GroupByExpr::Expressions(exprs, _) = &s.group_by {
            for e in exprs {
                self.scan(e, None, found);
            }
        }
    }

    /// The set-returning calls of `e` (its subqueries aside) that `place` refuses
    /// (`None`: the place takes them), and those nested where no place takes them.
    fn scan(&self, e: &Expr, place: Option<&'static str>, found: &mut Found) {
        let mut e = e.clone();
        let _ = VisitMut::visit(&mut e, &mut NoSubqueries);
        if let Some(place) = place {
            self.calls_in(&e, place, found);
        }
        let _ = sqlparser::ast::visit_expressions(&e, |x| {
            if let Expr::Function(f) = x {
                if let Some(filter) = &f.filter {
                    self.calls_in(filter, "FILTER", found);
                }
            }
            let within = match x {
                Expr::Case { .. } => Some("CASE"),
                Expr::Function(f)
                    if crate::catalog::last_part(&f.name) == "coalesce" && f.over.is_none() =>
                {
                    Some("COALESCE")
                }
                Expr::Function(f) if f.over.is_some() => Some("a window function's arguments"),
                _ if self.is_aggregate_call(x) => Some("an aggregate's arguments"),
                _ => None,
            };
            if let Some(within) = within {
                // A CASE as a whole; a call by its arguments (a window's PARTITION BY
                // and ORDER BY take a set-returning function).
                let parts: Vec<&Expr> = match x {
                    Expr::Function(f) => match &f.args {
                        FunctionArguments::List(l) => l
                            .clauses
                            .iter()
                            .flat_map(|c| match c {
                                FunctionArgumentClause::OrderBy(obs) => {
                                    obs.iter().map(|o| &o.expr).collect()
                                }
                                _ => Vec::new(),
                            })
                            .chain(l.args.iter().filter_map(|a| match a {
                                FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                                | FunctionArg::Named {
                                    arg: FunctionArgExpr::Expr(e),
                                    ..
                                }
                                | FunctionArg::ExprNamed {
                                    arg: FunctionArgExpr::Expr(e),
                                    ..
                                } => Some(e),
                                _ => None,
                            }))
                            .collect(),
                        _ => Vec::new(),
                    },
                    Expr::Case {
                        operand,
                        conditions,
                        else_result,
                        ..
                    } => operand
                        .iter()
                        .map(Box::as_ref)
                        .chain(conditions.iter().flat_map(|w| [&w.condition, &w.result]))
                        .chain(else_result.iter().map(Box::as_ref))
                        .collect(),
                    _ => Vec::new(),
                };
                for part in parts {
                    self.calls_in(part, within, found);
                }
            }
            ControlFlow::<()>::Continue(())
        });
    }

    /// Notes every set-returning call in `e` as refused by `place`.
    fn calls_in(&self, e: &Expr, place: &'static str, found: &mut Found) {
        let _ = sqlparser::ast::visit_expressions(e, |y| {
            if let Some(name) = self.set_returning_call(y) {
                found.push((y.span(), name, place));
            }
            ControlFlow::<()>::Continue(())
        });
    }

    /// The name of the built-in set-returning function `e` calls, when it calls one.
    fn set_returning_call(&self, e: &Expr) -> Option<String> {
        let Expr::Function(f) = e else {
            return None;
        };
        let name = crate::catalog::last_part(&f.name);
        (SET_RETURNING.contains(&name.as_str()) && !self.schema_first(&f.name, &qualify(&f.name)))
            .then_some(name)
    }
}

fn item_expr(i: &SelectItem) -> Option<&Expr> {
    match i {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
        _ => None,
    }
}

/// The selects of a query's body, through set operations and parentheses (a nested
/// query is visited as a query of its own).
fn selects_of<'q>(body: &'q SetExpr, out: &mut Vec<&'q Select>) {
    match body {
        SetExpr::Select(s) => out.push(s),
        SetExpr::SetOperation { left, right, .. } => {
            selects_of(left, out);
            selects_of(right, out);
        }
        _ => {}
    }
}
