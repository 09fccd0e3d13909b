//! SCH-001 `baseline-query-breaks`: A query of the baseline no longer type-checks against the new schema.

use crate::compat::{Bump, Category, Cx, Findings, Level, Replayed, Rule, Side};

pub const RULE: Rule = Rule {
    id: "SCH-001",
    name: "baseline-query-breaks",
    category: Category::Db,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A query of the baseline no longer type-checks against the new schema.",
    doc: "During a rolling deploy old clients still run while the new schema is live: their statements fail. A migration dropped or renamed a table or column, or changed a type, that a baseline query still uses.\n\nExpand, then contract: add the new shape, move every client, and drop the old one in a later release.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (name, q) in &cx.old_queries {
        if let Some(Replayed::Broken(messages)) = cx.replayed.get(*name) {
            let why = if messages.is_empty() {
                String::new()
            } else {
                format!(": {}", messages.join("; "))
            };
            f.add(
                format!("query {name} schema"),
                format!("the baseline query `{name}` fails against the new schema{why}"),
                cx.new_queries.get(name).map(|n| &n.source),
                Some(&q.source),
            )
            .help = Some("keep the old table or column until no deployed client uses it (expand, then contract)".into());
        }
    }
}
