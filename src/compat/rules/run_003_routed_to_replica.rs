//! RUN-003 `routed-to-replica`: A query moved from the primary to the replicas.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "RUN-003",
    name: "routed-to-replica",
    category: Category::Runtime,
    level: Level::Warning,
    side: Side::Reader,
    bump: Bump::Minor,
    summary: "A query moved from the primary to the replicas.",
    doc: "Replicas lag: a caller reading its own write right after making it may not see it any more.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        if old.policy.route == "primary" && new.policy.route == "replica" {
            f.add(
                format!("query {} policy route", new.name),
                format!(
                    "query `{}` now reads from replicas (was the primary): reads may lag writes",
                    new.name
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
