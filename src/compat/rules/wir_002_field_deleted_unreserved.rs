//! WIR-002 `wire-field-deleted-unreserved`: A wire field is gone and its number is not reserved.

use crate::compat::wire;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-002",
    name: "wire-field-deleted-unreserved",
    category: Category::Wire,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire field is gone and its number is not reserved.",
    doc: "A later field may take the number and old peers will read its values as the deleted field's. `sqlpact generate` reserves removed numbers in `sqlpact.lock`; this follows a hand edit or a deleted lock. Reserve the number (keep its entry in the lock). Same as buf's `FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED` (WIRE).",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (msg, o, n) in &cx.wire.messages {
        for of in &o.field {
            let gone = !n.field.iter().any(|x| x.number() == of.number());
            if gone && !wire::reserves_number(n, of.number()) {
                f.add(
                    format!("wire {msg} field {}", of.number()),
                    format!(
                        "wire field `{msg}.{}` ({}) was deleted and its number is not reserved",
                        of.name(),
                        of.number()
                    ),
                    wire::source(cx, true, msg),
                    wire::source(cx, false, msg),
                )
                .help = Some(format!("reserve it: `reserved {};`", of.number()));
            }
        }
    }
}
