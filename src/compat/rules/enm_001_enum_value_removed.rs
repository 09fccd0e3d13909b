//! ENM-001 `enum-value-removed`: A value of a SQL enum is gone.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "ENM-001",
    name: "enum-value-removed",
    category: Category::Db,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A value of a SQL enum is gone.",
    doc: "Rows holding it cannot stay, writers sending it fail, and generated enums lose a variant callers use.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for o in &cx.old.schema.enums {
        if let Some(n) = cx.new.schema.enums.iter().find(|n| n.name == o.name) {
            for v in &o.values {
                if !n.values.contains(v) {
                    f.add(
                        format!("enum {} value {v}", o.name),
                        format!("enum `{}` no longer has the value `{v}`", o.name),
                        Some(&n.source),
                        Some(&o.source),
                    );
                }
            }
        }
    }
}
