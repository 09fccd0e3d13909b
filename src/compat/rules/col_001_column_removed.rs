//! COL-001 `column-removed`: A result column is gone.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "COL-001",
    name: "column-removed",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A result column is gone.",
    doc: "Code reading the field no longer compiles; consumers of the row lose data they rely on.\n\nStop reading the column everywhere first, then remove it in a major version.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        for c in &old.columns {
            // A `renamed_from` rename is COL-006's, not a removal.
            if !new
                .columns
                .iter()
                .any(|n| cx.old_column_name(old, new, &n.name) == c.name)
            {
                f.add(
                    format!("query {} column {}", new.name, c.name),
                    format!("query `{}` no longer returns column `{}`", new.name, c.name),
                    Some(&new.source),
                    Some(&old.source),
                );
            }
        }
    }
}
