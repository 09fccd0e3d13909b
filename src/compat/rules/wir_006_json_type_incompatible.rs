//! WIR-006 `wire-json-type-incompatible`: A wire field changed type in a way only the binary wire tolerates.

use crate::compat::wire;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-006",
    name: "wire-json-type-incompatible",
    category: Category::WireJson,
    level: Level::Warning,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire field changed type in a way only the binary wire tolerates.",
    doc: "In protobuf's JSON form 32-bit integers are numbers, 64-bit ones strings, enums names and bytes base64: `int32` to `int64`, `string` to `bytes` or an enum to an integer keep the binary wire working but change the JSON. Same intent as buf's `FIELD_WIRE_JSON_COMPATIBLE_TYPE` (WIRE_JSON).",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (msg, of, nf) in &cx.wire.fields {
        if wire::wire_compatible(of, nf) && !wire::json_compatible(of, nf) {
            f.add(
                format!("wire {msg} field {}", of.number()),
                format!(
                    "wire field `{msg}.{}` ({}) changed type from `{}` to `{}`: the binary wire reads it, protobuf JSON does not",
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
