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
            if !new.params.iter().any(|n| n.name == p.name) {
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
