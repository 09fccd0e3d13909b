//! WIR-007 `wire-field-renamed`: A wire field kept its number under another name.

use crate::compat::wire;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-007",
    name: "wire-field-renamed",
    category: Category::WireJson,
    level: Level::Warning,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire field kept its number under another name.",
    doc: "The binary wire does not carry names, so a rename (`renamed_from`) is safe there; protobuf's JSON form does, and peers reading JSON lose the value. Same as buf's `FIELD_SAME_NAME` and `FIELD_SAME_JSON_NAME` (WIRE_JSON).",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (msg, of, nf) in &cx.wire.fields {
        if of.name() != nf.name() {
            f.add(
                format!("wire {msg} field {}", of.number()),
                format!(
                    "wire field {} of `{msg}` was renamed from `{}` to `{}`",
                    of.number(),
                    of.name(),
                    nf.name()
                ),
                wire::source(cx, true, msg),
                wire::source(cx, false, msg),
            );
        }
    }
}
