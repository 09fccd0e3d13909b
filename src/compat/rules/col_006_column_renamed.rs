//! COL-006 `column-renamed`: A result column was renamed with `renamed_from`.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "COL-006",
    name: "column-renamed",
    category: Category::Codegen,
    level: Level::Warning,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A result column was renamed with `renamed_from`.",
    doc: "A rename is not a removal: deployed clients decode rows by position and keep working, and the wire field keeps its number (its JSON name changes, which `WIR-007` reports). Code reading the generated field by its old name no longer compiles once regenerated, so the rename needs a major version. Type and nullability changes of the renamed column are still reported by their own rules.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        for c in &new.columns {
            let was = cx.old_column_name(old, new, &c.name);
            if was != c.name && old.columns.iter().any(|o| o.name == was) {
                f.add(
                    format!("query {} column {}", new.name, c.name),
                    format!(
                        "query `{}` returns column `{was}` as `{}` now",
                        new.name, c.name
                    ),
                    Some(&new.source),
                    Some(&old.source),
                )
                .help = Some(format!("code reading `{was}` needs the new name"));
            }
        }
    }
}
