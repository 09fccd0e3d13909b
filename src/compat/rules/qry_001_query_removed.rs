//! QRY-001 `query-removed`: A query of the baseline is gone.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "QRY-001",
    name: "query-removed",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A query of the baseline is gone.",
    doc: "Generated code calling it no longer compiles, and services still deployed with the old client keep calling a statement the new contract no longer vouches for.\n\nTo remove a query safely: stop calling it in every service first, release, then remove it in a major version.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (name, q) in &cx.old_queries {
        // `renamed_from: { New: Old }` is a rename, not a removal.
        let renamed = cx
            .new
            .renamed_from
            .iter()
            .any(|(new, old)| old == name && cx.new_queries.contains_key(new.as_str()));
        if !cx.new_queries.contains_key(name) && !renamed {
            f.add(
                format!("query {name}"),
                format!("query `{name}` was removed"),
                None,
                Some(&q.source),
            )
            .help = Some(
                "keep the query until no service calls it, then remove it in a major version"
                    .into(),
            );
        }
    }
}
