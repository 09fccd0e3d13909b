//! PRM-006 `param-renamed`: A parameter was renamed with `renamed_from`.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "PRM-006",
    name: "param-renamed",
    category: Category::Codegen,
    level: Level::Warning,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A parameter was renamed with `renamed_from`.",
    doc: "A rename is not a removal: the statement takes the value in the same place, so deployed clients keep working, and the wire field keeps its number. Generated methods take parameters by position, but a params struct (Go, for queries with many parameters) and the wire message's JSON name change, so code naming the old parameter no longer compiles once regenerated: the rename needs a major version.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new) in cx.pairs() {
        for p in &new.params {
            let was = cx.old_param_name(old, new, &p.name);
            if was != p.name && old.params.iter().any(|o| o.name == was) {
                f.add(
                    format!("query {} param {}", new.name, p.name),
                    format!(
                        "query `{}` takes parameter `{was}` as `{}` now",
                        new.name, p.name
                    ),
                    Some(&new.source),
                    Some(&old.source),
                )
                .help = Some(format!("code naming `{was}` needs the new name"));
            }
        }
    }
}
