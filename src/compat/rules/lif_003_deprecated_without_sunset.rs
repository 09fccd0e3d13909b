//! LIF-003 `deprecated-without-sunset`: A query is deprecated without a sunset date where the registry requires one.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "LIF-003",
    name: "deprecated-without-sunset",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Patch,
    summary: "A query is deprecated without a sunset date where the registry requires one.",
    doc: "With `compat: { require_sunset: true }` every deprecation must say when the query may go, so that the services calling it can plan their move and `QRY-001` can tell an announced removal from a surprise. Add the date: `lifecycle: { FindAccount: { deprecated: \"use GetAccount\", sunset: 2027-03-31 } }`.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    if !cx.new.compat.require_sunset {
        return;
    }
    let lacks =
        |q: &crate::model::Query| q.lifecycle.deprecated.is_some() && q.lifecycle.sunset.is_none();
    for (name, q) in &cx.new_queries {
        // Already so in the baseline, under the same requirement: nothing changed.
        let before = cx.old_queries.get(name).is_some_and(|o| lacks(o));
        if lacks(q) && !(before && cx.old.compat.require_sunset) {
            f.add(
                format!("query {name} lifecycle"),
                format!("query `{name}` is deprecated without a sunset date"),
                Some(&q.source),
                cx.old_queries.get(name).map(|o| &o.source),
            )
            .help = Some(format!(
                "add the date after which it may be removed: `lifecycle: {{ {name}: {{ sunset: YYYY-MM-DD }} }}`"
            ));
        }
    }
}
