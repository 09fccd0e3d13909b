//! LIF-002 `stability-lowered`: A stable query became beta or alpha.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "LIF-002",
    name: "stability-lowered",
    category: Category::Codegen,
    level: Level::Warning,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A query's stability was lowered (stable to beta or alpha, beta to alpha).",
    doc: "Callers chose the query under the promise of its stability: lowering it withdraws the promise, and changes to `alpha` and `beta` queries are exempt from the breaking-change rules. Prefer a new query marked `beta` next to the stable one.",
};

fn rank(s: &str) -> u8 {
    match s {
        "alpha" => 0,
        "beta" => 1,
        _ => 2,
    }
}

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        let (a, b) = (&old.lifecycle.stability, &new.lifecycle.stability);
        if rank(b) < rank(a) {
            f.add(
                format!("query {}", new.name),
                format!("query `{}` went from {a} to {b}", new.name),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
