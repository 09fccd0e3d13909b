//! WIR-005 `wire-type-incompatible`: A wire field changed to a type its old values do not read as.

use crate::compat::wire;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-005",
    name: "wire-type-incompatible",
    category: Category::Wire,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire field changed to a type its old values do not read as.",
    doc: "Protobuf reads a field by its wire type: a varint is not a length-delimited string, a zigzag integer is not a plain one, a float is not an integer. The groups that read each other are buf's (`FIELD_WIRE_COMPATIBLE_TYPE`): int32, int64, uint32, uint64, bool and enums; sint32 and sint64; fixed32 and sfixed32; fixed64 and sfixed64; string and bytes; a message and bytes. Unlike buf, sqlpact also reports a field that changes from one message type to another, which it cannot prove compatible. Add a new field (a new column name) instead of changing the type in place.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (msg, of, nf) in &cx.wire.fields {
        if !wire::wire_compatible(of, nf) {
            f.add(
                format!("wire {msg} field {}", of.number()),
                format!(
                    "wire field `{msg}.{}` ({}) changed type from `{}` to `{}`, which do not read each other",
                    nf.name(),
                    of.number(),
                    wire::type_name(of),
                    wire::type_name(nf)
                ),
                wire::source(cx, true, msg),
                wire::source(cx, false, msg),
            );
        }
    }
}
