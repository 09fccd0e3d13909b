//! RUN-004 `idempotency-key-removed`: A write lost its idempotency key.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "RUN-004",
    name: "idempotency-key-removed",
    category: Category::Runtime,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A write lost its idempotency key.",
    doc: "Callers retrying with the same key expect the stored result; without the key the write applies again.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        if old.policy.idempotency_key.is_some() && new.policy.idempotency_key.is_none() {
            f.add(
                format!("query {} policy idempotency_key", new.name),
                format!("query `{}` no longer records an idempotency key: replays apply the write again", new.name),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
