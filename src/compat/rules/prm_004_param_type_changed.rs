//! PRM-004 `param-type-changed`: A parameter's SQL type changed.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "PRM-004",
    name: "param-type-changed",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A parameter's SQL type changed.",
    doc: "The generated parameter type changes with it; callers no longer compile, or send values the server now converts differently.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new, o, p) in cx.param_pairs() {
        if o.ty != p.ty {
            f.add(
                format!("query {} param {}", new.name, p.name),
                format!(
                    "parameter `{}` of query `{}` changed type from `{}` to `{}`",
                    p.name, new.name, o.ty, p.ty
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
