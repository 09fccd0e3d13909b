//! COL-005 `column-added`: A query returns a new column.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "COL-005",
    name: "column-added",
    category: Category::Codegen,
    level: Level::Info,
    side: Side::Reader,
    bump: Bump::Minor,
    summary: "A query returns a new column.",
    doc: "Readers get a new field; nothing breaks (Rust code building the row struct by hand must add it).",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        for c in &new.columns {
            let was = cx.old_column_name(old, new, &c.name);
            if !old.columns.iter().any(|o| o.name == was) {
                f.add(
                    format!("query {} column {}", new.name, c.name),
                    format!("query `{}` returns a new column `{}`", new.name, c.name),
                    Some(&new.source),
                    Some(&old.source),
                );
            }
        }
    }
}
