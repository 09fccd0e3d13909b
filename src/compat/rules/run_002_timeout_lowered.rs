//! RUN-002 `timeout-lowered`: A query's timeout was lowered.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "RUN-002",
    name: "timeout-lowered",
    category: Category::Runtime,
    level: Level::Warning,
    side: Side::Writer,
    bump: Bump::Minor,
    summary: "A query's timeout was lowered.",
    doc: "Calls that took longer than the new timeout and used to succeed now fail with `timeout`.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        if new.policy.timeout_ms < old.policy.timeout_ms {
            f.add(
                format!("query {} policy timeout", new.name),
                format!(
                    "query `{}` times out after {} ms, was {} ms",
                    new.name, new.policy.timeout_ms, old.policy.timeout_ms
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
