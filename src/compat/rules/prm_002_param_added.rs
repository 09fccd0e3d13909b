//! PRM-002 `param-added`: A query takes a new parameter.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "PRM-002",
    name: "param-added",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A query takes a new parameter.",
    doc: "Every caller must now pass it: in Rust the function takes one more argument, in Go the params struct gains a field the old callers leave at its zero value, which the query then uses. Optional parameters (`-- @optional`) still change the Rust signature.\n\nAdd a new query with the parameter instead.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        for p in &new.params {
            let was = cx.old_param_name(old, new, &p.name);
            if !old.params.iter().any(|o| o.name == was) {
                f.add(
                    format!("query {} param {}", new.name, p.name),
                    format!(
                        "query `{}` takes a new {}parameter `{}` ({})",
                        new.name,
                        if p.optional { "optional " } else { "" },
                        p.name,
                        p.ty
                    ),
                    Some(&new.source),
                    Some(&old.source),
                );
            }
        }
    }
}
