//! QRY-003 `query-became-write`: A read-only query now writes.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "QRY-003",
    name: "query-became-write",
    category: Category::Runtime,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A read-only query now writes.",
    doc: "Read-only queries may be routed to replicas, run inside read-only transactions and be retried freely. A statement that now writes fails on a replica (25006) and must not be retried blindly.\n\nAdd the write as a new query.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        if old.read_only && !new.read_only {
            f.add(
                format!("query {}", new.name),
                format!(
                    "query `{}` was read-only and now writes ({})",
                    new.name, new.statement
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
