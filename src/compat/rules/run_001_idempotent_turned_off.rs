//! RUN-001 `idempotent-turned-off`: A query stopped being idempotent while its retry policy still retries.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "RUN-001",
    name: "idempotent-turned-off",
    category: Category::Runtime,
    level: Level::Warning,
    side: Side::Writer,
    bump: Bump::Minor,
    summary: "A query stopped being idempotent while its retry policy still retries.",
    doc: "The runtime no longer retries it once sent: failures that used to be retried surface as ambiguous errors. Check that callers handle them, or keep the query idempotent.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        let retries = cx
            .new
            .policies
            .retry
            .get(&new.policy.retry)
            .is_some_and(|r| r.max_attempts > 1);
        if old.policy.idempotent && !new.policy.idempotent && retries {
            f.add(
                format!("query {} policy idempotent", new.name),
                format!(
                    "query `{}` is no longer idempotent; its retry policy `{}` no longer applies once the statement is sent",
                    new.name, new.policy.retry
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
