//! QRY-002 `query-command-changed`: A query's command changed (`:one` to `:many`, `:exec` to `:execrows`, ...).

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "QRY-002",
    name: "query-command-changed",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A query's command changed (`:one` to `:many`, `:exec` to `:execrows`, ...).",
    doc: "The command decides the generated signature: a `:one` returns a row or not-found, a `:many` a list. Callers written for the old command no longer compile or silently mishandle results.\n\nAdd a new query with the new command instead, and retire the old one.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        if old.command != new.command {
            f.add(
                format!("query {}", new.name),
                format!(
                    "query `{}` changed its command from `:{}` to `:{}`",
                    new.name, old.command, new.command
                ),
                Some(&new.source),
                Some(&old.source),
            )
            .help =
                Some("add a query under a new name with the new command; keep the old one".into());
        }
    }
}
