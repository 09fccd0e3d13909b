//! LIF-001 `query-deprecated`: A query became deprecated.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "LIF-001",
    name: "query-deprecated",
    category: Category::Codegen,
    level: Level::Info,
    side: Side::Writer,
    bump: Bump::Minor,
    summary: "A query became deprecated.",
    doc: "Deprecating announces a removal: callers keep working and get time to move, so it needs a minor version bump. Declare it in the registry with the reason or the replacement, and a sunset date after which the query may go: `lifecycle: { FindAccount: { deprecated: \"use GetAccount\", sunset: 2027-03-31 } }`. The changelog lists it under Deprecated, with the date.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (name, new) in &cx.new_queries {
        let old = cx.old_queries.get(name);
        let Some(why) = &new.lifecycle.deprecated else {
            continue;
        };
        if old.is_some_and(|o| o.lifecycle.deprecated.is_some()) {
            continue;
        }
        let sunset = new
            .lifecycle
            .sunset
            .as_ref()
            .map_or_else(String::new, |d| format!(", sunset {d}"));
        f.add(
            format!("query {name}"),
            format!("query `{name}` is deprecated ({why}{sunset})"),
            Some(&new.source),
            old.map(|o| &o.source),
        );
    }
}
