//! WIR-009 `wire-cardinality-changed`: A wire field changed between a single value and a list.

use crate::compat::wire;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-009",
    name: "wire-cardinality-changed",
    category: Category::Wire,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire field changed between a single value and a list.",
    doc: "A list of strings or messages is a run of separate entries; a reader expecting one value keeps only the last, and a reader expecting a list of numbers may find them packed. A column that became an array or stopped being one needs a new field. Same as buf's `FIELD_WIRE_COMPATIBLE_CARDINALITY` (WIRE).",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (msg, of, nf) in &cx.wire.fields {
        if wire::repeated(of) != wire::repeated(nf) {
            let say = |r: bool| if r { "a list" } else { "a single value" };
            f.add(
                format!("wire {msg} field {}", of.number()),
                format!(
                    "wire field `{msg}.{}` changed from {} to {}",
                    nf.name(),
                    say(wire::repeated(of)),
                    say(wire::repeated(nf))
                ),
                wire::source(cx, true, msg),
                wire::source(cx, false, msg),
            );
        }
    }
}
