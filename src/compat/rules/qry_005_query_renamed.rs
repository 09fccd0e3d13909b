//! QRY-005 `query-renamed`: A query was renamed with `renamed_from`.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "QRY-005",
    name: "query-renamed",
    category: Category::Codegen,
    level: Level::Warning,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A query was renamed with `renamed_from`.",
    doc: "Deployed clients keep working: they send the same statement, and the wire messages keep their field numbers. Code calling the generated method by its old name no longer compiles once regenerated, so the rename needs a major version. The other rules compare the renamed query with the one it was, so a rename hides no other change. To avoid the major version, add the new query next to the old one and deprecate the old one instead.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.renamed_queries() {
        f.add(
            format!("query {}", new.name),
            format!("query `{}` was renamed to `{}`", old.name, new.name),
            Some(&new.source),
            Some(&old.source),
        )
        .help = Some(format!(
            "callers of the generated `{}` need the new name",
            old.name
        ));
    }
}
