//! WIR-012 `wire-enum-value-renumbered`: A wire enum value kept its name but has another number.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-012",
    name: "wire-enum-value-renumbered",
    category: Category::Wire,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire enum value kept its name but has another number.",
    doc: "The binary wire carries the number: peers on the old version read the value as another one, or as unknown. Restore the number from the baseline's lock. buf reports the same edit as a deleted value (WIRE) and a renamed number (`ENUM_VALUE_SAME_NAME`, WIRE_JSON).",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (name, o, n) in &cx.wire.enums {
        for v in &o.value {
            if let Some(nv) = n
                .value
                .iter()
                .find(|x| x.name() == v.name() && x.number() != v.number())
            {
                f.add(
                    format!("wire enum {name} value {}", v.name()),
                    format!(
                        "wire enum value `{name}.{}` moved from {} to {}",
                        v.name(),
                        v.number(),
                        nv.number()
                    ),
                    None,
                    None,
                );
            }
        }
    }
}
