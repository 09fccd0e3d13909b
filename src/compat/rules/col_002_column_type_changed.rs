//! COL-002 `column-type-changed`: A result column's SQL type changed.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "COL-002",
    name: "column-type-changed",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A result column's SQL type changed.",
    doc:
        "The generated field type changes; readers no longer compile or decode values differently.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new, o, c) in cx.column_pairs() {
        if o.ty != c.ty {
            f.add(
                format!("query {} column {}", new.name, c.name),
                format!(
                    "column `{}` of query `{}` changed type from `{}` to `{}`",
                    c.name, new.name, o.ty, c.ty
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
