//! SCH-003 `insert-misses-required-column`: A table gained a NOT NULL column without a default that an INSERT of the baseline omits.

use super::{find_table, insert_target};
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "SCH-003",
    name: "insert-misses-required-column",
    category: Category::Db,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A table gained a NOT NULL column without a default that an INSERT of the baseline omits.",
    doc: "The old INSERT still type-checks but fails at run time with 23502 while old clients run. Give the column a default first, or add it nullable and tighten it after every client sets it.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (name, q) in &cx.old_queries {
        if q.statement != "insert" {
            continue;
        }
        let Some((table, listed)) = insert_target(&q.sql) else {
            continue;
        };
        let Some(nt) = find_table(&cx.new.schema.tables, &table) else {
            continue;
        };
        let ot = find_table(&cx.old.schema.tables, &table);
        for c in &nt.columns {
            let required = !c.nullable && !c.has_default;
            let was_required = ot
                .and_then(|t| t.columns.iter().find(|o| o.name == c.name))
                .is_some_and(|o| !o.nullable && !o.has_default);
            if required && !was_required && !listed.iter().any(|l| l == &c.name) {
                f.add(
                    format!("query {name} insert {}.{}", nt.name, c.name),
                    format!(
                        "the baseline INSERT `{name}` omits `{}.{}`, which is now NOT NULL without a default",
                        nt.name, c.name
                    ),
                    cx.new_queries.get(name).map(|n| &n.source),
                    Some(&q.source),
                )
                .help = Some("add the column with a DEFAULT, or nullable first and NOT NULL once every client writes it".into());
            }
        }
    }
}
