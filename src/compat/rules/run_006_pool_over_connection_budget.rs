//! RUN-006 `pool-over-connection-budget`: The pools of all instances may open more connections than the database grants the service.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};
use crate::model::PoolSpec;

pub const RULE: Rule = Rule {
    id: "RUN-006",
    name: "pool-over-connection-budget",
    category: Category::Runtime,
    level: Level::Warning,
    side: Side::Writer,
    bump: Bump::Patch,
    summary: "The pools of all instances may open more connections than the database grants the service.",
    doc: "Each instance of the service opens up to `policies.pool.max_size` connections per host; with `instances` of them the service may hold `max_size × instances`. Above the declared `connection_budget`, a busy moment or a deploy (old and new instances side by side) exhausts the database's connections and every client on it fails to connect. Lower `max_size`, or raise the budget with the database's owners.",
};

/// Connections the pools may hold, and the budget, when one is declared and exceeded.
fn over(p: &PoolSpec) -> Option<(u64, u32)> {
    let total = u64::from(p.max_size) * u64::from(p.instances);
    p.connection_budget
        .filter(|b| total > u64::from(*b))
        .map(|b| (total, b))
}

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    let (old, new) = (&cx.old.policies.pool, &cx.new.policies.pool);
    let Some((total, budget)) = over(new) else {
        return;
    };
    // Already over by as much in the baseline: nothing changed.
    if over(old).is_some_and(|(t, b)| t >= total && b <= budget) {
        return;
    }
    f.add(
        "policies pool",
        format!(
            "the pools may hold {total} connections (max_size {} × {} instances), above the connection budget of {budget}",
            new.max_size, new.instances
        ),
        None,
        None,
    )
    .help = Some(format!(
        "set `policies.pool.max_size` to at most {}",
        (budget / new.instances.max(1)).max(1)
    ));
}
