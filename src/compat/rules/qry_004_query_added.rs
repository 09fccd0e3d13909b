//! QRY-004 `query-added`: A new query.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "QRY-004",
    name: "query-added",
    category: Category::Codegen,
    level: Level::Info,
    side: Side::Writer,
    bump: Bump::Minor,
    summary: "A new query.",
    doc: "New API: nothing breaks, the contract needs a minor version bump.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (name, q) in &cx.new_queries {
        let renamed = cx
            .new
            .renamed_from
            .get(*name)
            .is_some_and(|old| cx.old_queries.contains_key(old.as_str()));
        if !cx.old_queries.contains_key(name) && !renamed {
            f.add(
                format!("query {name}"),
                format!("query `{name}` was added"),
                Some(&q.source),
                None,
            );
        }
    }
}
