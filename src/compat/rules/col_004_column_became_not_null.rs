//! COL-004 `column-became-not-null`: A result column can no longer be NULL.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "COL-004",
    name: "column-became-not-null",
    category: Category::Codegen,
    level: Level::Warning,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A result column can no longer be NULL.",
    doc: "Safe for data, but the generated type changes from `Option<T>`/a pointer to `T`: code handling the NULL case no longer compiles.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new, o, c) in cx.column_pairs() {
        if o.nullable && !c.nullable && o.ty == c.ty {
            f.add(
                format!("query {} column {}", new.name, c.name),
                format!(
                    "column `{}` of query `{}` is no longer nullable: its generated type changes",
                    c.name, new.name
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
