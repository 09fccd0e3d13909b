//! QRY-003 `query-became-write`: A read-only query now writes or locks rows.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "QRY-003",
    name: "query-became-write",
    category: Category::Runtime,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A read-only query now writes or locks rows.",
    doc: "Read-only queries may be routed to replicas, run inside read-only transactions and be retried freely. A statement that now writes, or locks rows with `FOR UPDATE`/`FOR SHARE`, fails on a replica and in a read-only transaction (25006), and a write must not be retried blindly.\n\nAdd the write or the locking read as a new query.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        if old.read_only && !new.read_only {
            let now = match new.statement.as_str() {
                "select" => {
                    "locks (rows, or an advisory lock) or writes (through a CTE or a function)"
                        .to_owned()
                }
                other => format!("writes ({other})"),
            };
            f.add(
                format!("query {}", new.name),
                format!("query `{}` was read-only and now {now}", new.name),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
