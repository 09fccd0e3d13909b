//! WIR-011 `wire-enum-value-deleted-unreserved`: A wire enum value is gone and its number is not reserved.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-011",
    name: "wire-enum-value-deleted-unreserved",
    category: Category::Wire,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire enum value is gone and its number is not reserved.",
    doc: "A later value may take the number and old peers will read it as the deleted value. `sqlpact generate` reserves removed values in `sqlpact.lock`; this follows a hand edit or a deleted lock. Same as buf's `ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED` (WIRE).",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (name, o, n) in &cx.wire.enums {
        for v in &o.value {
            let gone = !n.value.iter().any(|x| x.number() == v.number());
            let reserved = n
                .reserved_range
                .iter()
                .any(|r| r.start() <= v.number() && v.number() <= r.end());
            if gone && !reserved {
                f.add(
                    format!("wire enum {name} value {}", v.number()),
                    format!(
                        "wire enum value `{name}.{}` ({}) was deleted and its number is not reserved",
                        v.name(),
                        v.number()
                    ),
                    None,
                    None,
                );
            }
        }
    }
}
