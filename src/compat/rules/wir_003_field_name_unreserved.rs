//! WIR-003 `wire-field-name-unreserved`: A wire field is gone and its name is not reserved.

use crate::compat::wire;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-003",
    name: "wire-field-name-unreserved",
    category: Category::WireJson,
    level: Level::Warning,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire field is gone and its name is not reserved.",
    doc: "In protobuf's JSON form values are found by name: a later field taking the name is read as the deleted one by old peers. Reserve the name with the number. Same as buf's `FIELD_NO_DELETE_UNLESS_NAME_RESERVED` (WIRE_JSON).",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (msg, o, n) in &cx.wire.messages {
        for of in &o.field {
            let gone = !n.field.iter().any(|x| x.name() == of.name());
            if gone && !n.reserved_name.iter().any(|r| r == of.name()) {
                f.add(
                    format!("wire {msg} field name {}", of.name()),
                    format!(
                        "wire field `{msg}.{}` was deleted and its name is not reserved",
                        of.name()
                    ),
                    wire::source(cx, true, msg),
                    wire::source(cx, false, msg),
                )
                .help = Some(format!("reserve it: `reserved \"{}\";`", of.name()));
            }
        }
    }
}
