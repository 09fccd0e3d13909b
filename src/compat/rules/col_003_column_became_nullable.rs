//! COL-003 `column-became-nullable`: A result column can now be NULL.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "COL-003",
    name: "column-became-nullable",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A result column can now be NULL.",
    doc: "Readers written for a value now get `None`/`nil`: the generated type becomes `Option<T>`/a pointer, and deployed clients fail to decode a NULL into a non-null field.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new, o, c) in cx.column_pairs() {
        if !o.nullable && c.nullable && o.ty == c.ty {
            let mut reason = c.nullable_reason.detail.to_string();
            if !reason.is_empty() {
                reason = format!(" ({reason})");
            }
            f.add(
                format!("query {} column {}", new.name, c.name),
                format!(
                    "column `{}` of query `{}` can now be NULL{reason}",
                    c.name, new.name
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
