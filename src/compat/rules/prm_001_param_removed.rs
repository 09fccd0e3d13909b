//! PRM-001 `param-removed`: A parameter of a query is gone.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "PRM-001",
    name: "param-removed",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A parameter of a query is gone.",
    doc: "Generated callers pass an argument the function no longer takes: the code no longer compiles.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        for p in &old.params {
            // A `renamed_from` rename is PRM-006's, not a removal.
            if !new
                .params
                .iter()
                .any(|n| cx.old_param_name(old, new, &n.name) == p.name)
            {
                f.add(
                    format!("query {} param {}", new.name, p.name),
                    format!(
                        "query `{}` no longer takes parameter `{}`",
                        new.name, p.name
                    ),
                    Some(&new.source),
                    Some(&old.source),
                );
            }
        }
    }
}
