//! ENM-002 `enum-value-added`: A SQL enum gained a value.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "ENM-002",
    name: "enum-value-added",
    category: Category::Codegen,
    level: Level::Warning,
    side: Side::Reader,
    bump: Bump::Minor,
    summary: "A SQL enum gained a value.",
    doc: "Deployed clients treat the enum as closed: the generated Go `Valid()` check and the Rust `FromSql` reject the new value, so old readers fail on rows that hold it. Deploy the new clients before writing the value.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for o in &cx.old.schema.enums {
        if let Some(n) = cx.new.schema.enums.iter().find(|n| n.name == o.name) {
            for v in &n.values {
                if !o.values.contains(v) {
                    f.add(
                        format!("enum {} value {v}", o.name),
                        format!(
                            "enum `{}` has a new value `{v}` that deployed readers reject",
                            o.name
                        ),
                        Some(&n.source),
                        Some(&o.source),
                    );
                }
            }
        }
    }
}
