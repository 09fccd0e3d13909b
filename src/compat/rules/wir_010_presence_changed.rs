//! WIR-010 `wire-presence-changed`: A wire field changed between `optional` (NULL-able) and always present.

use crate::compat::wire;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-010",
    name: "wire-presence-changed",
    category: Category::Wire,
    level: Level::Warning,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire field changed between `optional` (NULL-able) and always present.",
    doc: "sqlpact writes a NULL-able column as an `optional` field and a NOT NULL one as a plain field. A plain field cannot say NULL: when a column becomes NULL-able, readers of the old message take a NULL for zero, an empty string or the first enum value; when it stops being NULL-able, new readers take an absent value for zero. The binary encoding is the same, so buf's WIRE category does not report this; sqlpact does, because the value changes meaning.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (msg, of, nf) in &cx.wire.fields {
        if !wire::repeated(of)
            && !wire::repeated(nf)
            && of.proto3_optional() != nf.proto3_optional()
        {
            let say = |o: bool| {
                if o {
                    "optional (NULL-able)"
                } else {
                    "always present"
                }
            };
            f.add(
                format!("wire {msg} field {}", of.number()),
                format!(
                    "wire field `{msg}.{}` changed from {} to {}",
                    nf.name(),
                    say(of.proto3_optional()),
                    say(nf.proto3_optional())
                ),
                wire::source(cx, true, msg),
                wire::source(cx, false, msg),
            );
        }
    }
}
