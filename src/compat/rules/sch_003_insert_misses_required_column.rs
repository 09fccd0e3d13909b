//! SCH-003 `insert-misses-required-column`: A table gained a NOT NULL column without a default that an INSERT (or a MERGE's INSERT) of the baseline omits.

use std::collections::HashMap;

use super::insert_target;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};
use crate::model::Table;

pub const RULE: Rule = Rule {
    id: "SCH-003",
    name: "insert-misses-required-column",
    category: Category::Db,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A table gained a NOT NULL column without a default that an INSERT (or a MERGE's INSERT) of the baseline omits.",
    doc: "The old INSERT still type-checks but fails at run time with 23502 while old clients run. Give the column a default first, or add it nullable and tighten it after every client sets it.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    let inserts = |q: &crate::model::Query| matches!(q.statement.as_str(), "insert" | "merge");
    if !cx.old_queries.values().any(|q| inserts(q)) {
        return;
    }
    let required = |c: &crate::model::TableColumn| !c.nullable && !c.has_default;
    let old_tables: HashMap<&str, &Table> = cx
        .old
        .schema
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    // Tables with a column that is required now and was not: only INSERTs into them
    // can break, so only those are parsed.
    let tightened: HashMap<&str, (&Table, Vec<&str>)> = cx
        .new
        .schema
        .tables
        .iter()
        .filter_map(|nt| {
            let ot = old_tables.get(nt.name.as_str());
            let cols: Vec<&str> = nt
                .columns
                .iter()
                .filter(|c| required(c))
                .filter(|c| {
                    !ot.and_then(|t| t.columns.iter().find(|o| o.name == c.name))
                        .is_some_and(&required)
                })
                .map(|c| c.name.as_str())
                .collect();
            (!cols.is_empty()).then_some((nt.name.as_str(), (nt, cols)))
        })
        .collect();
    if tightened.is_empty() {
        return;
    }
    for (name, q) in &cx.old_queries {
        if !inserts(q) || !q.tables.iter().any(|t| tightened.contains_key(t.as_str())) {
            continue;
        }
        let Some((table, listed)) = insert_target(&q.sql) else {
            continue;
        };
        let qualified = if table.contains('.') {
            table
        } else {
            format!("public.{table}")
        };
        let Some((nt, cols)) = tightened.get(qualified.as_str()) else {
            continue;
        };
        for c in cols.iter().filter(|c| !listed.iter().any(|l| l == *c)) {
            f.add(
                format!("query {name} insert {}.{c}", nt.name),
                format!(
                    "the baseline {} `{name}` omits `{}.{c}`, which is now NOT NULL without a default",
                    q.statement.to_uppercase(),
                    nt.name
                ),
                cx.new_queries.get(name).map(|n| &n.source),
                Some(&q.source),
            )
            .help = Some("add the column with a DEFAULT, or nullable first and NOT NULL once every client writes it".into());
        }
    }
}
