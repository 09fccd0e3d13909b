//! RUN-005 `retries-on-non-idempotent-write`: A non-idempotent write was given a retry policy that retries.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};
use crate::model::{Contract, Query};

pub const RULE: Rule = Rule {
    id: "RUN-005",
    name: "retries-on-non-idempotent-write",
    category: Category::Runtime,
    level: Level::Warning,
    side: Side::Writer,
    bump: Bump::Minor,
    summary: "A non-idempotent write was given a retry policy that retries.",
    doc: "The runtime never sends a non-idempotent statement twice: once it is sent, a lost reply is an `ambiguous` error, whatever the policy says. The new policy only covers failures before sending (dial, pool), so callers expecting retries get ambiguous errors instead. Mark the write idempotent if running it twice is harmless, give it an `idempotency_key`, or keep `retry: none` to say what happens.",
};

/// Whether the runtime would want to retry the query but may not once it is sent.
fn retries_unsafely(c: &Contract, q: &Query) -> bool {
    let retries = c
        .policies
        .retry
        .get(&q.policy.retry)
        .is_some_and(|r| r.max_attempts > 1);
    retries && !q.read_only && !q.policy.idempotent && q.policy.idempotency_key.is_none()
}

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        // A query that stopped being idempotent is RUN-001's; one that lost its
        // idempotency key, RUN-004's.
        if old.policy.idempotent || old.policy.idempotency_key.is_some() {
            continue;
        }
        if retries_unsafely(cx.new, new) && !retries_unsafely(cx.old, old) {
            f.add(
                format!("query {} policy retry", new.name),
                format!(
                    "query `{}` writes, is not idempotent and now has the retrying policy `{}`: it still cannot be retried once sent",
                    new.name, new.policy.retry
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
