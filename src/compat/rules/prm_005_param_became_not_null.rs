//! PRM-005 `param-became-not-null`: A parameter that accepted NULL no longer does.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "PRM-005",
    name: "param-became-not-null",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A parameter that accepted NULL no longer does.",
    doc: "Callers passing NULL (`None`, `nil`) no longer compile, or fail at run time.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new, o, p) in cx.param_pairs() {
        if o.nullable && !p.nullable && o.ty == p.ty {
            f.add(
                format!("query {} param {}", new.name, p.name),
                format!(
                    "parameter `{}` of query `{}` no longer accepts NULL",
                    p.name, new.name
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
