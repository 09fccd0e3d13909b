//! PRM-003 `param-reordered`: A query's parameters changed order.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "PRM-003",
    name: "param-reordered",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A query's parameters changed order.",
    doc: "Rust functions take parameters by position: callers passing two values of the same type compile and send them swapped.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        // Parameters on both sides, by their baseline names (renames followed).
        let now: Vec<&str> = new
            .params
            .iter()
            .map(|p| cx.old_param_name(old, new, &p.name))
            .collect();
        let common_old: Vec<&str> = old
            .params
            .iter()
            .map(|p| p.name.as_str())
            .filter(|p| now.contains(p))
            .collect();
        let common_new: Vec<&str> = now
            .iter()
            .copied()
            .filter(|p| old.params.iter().any(|o| o.name == *p))
            .collect();
        if common_old != common_new {
            f.add(
                format!("query {} params", new.name),
                format!(
                    "query `{}` takes its parameters in a new order: ({}) was ({})",
                    new.name,
                    common_new.join(", "),
                    common_old.join(", ")
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
