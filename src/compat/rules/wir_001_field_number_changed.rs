//! WIR-001 `wire-field-number-changed`: A wire field kept its name but has another number.

use crate::compat::wire;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-001",
    name: "wire-field-number-changed",
    category: Category::Wire,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire field kept its name but has another number.",
    doc: "Peers find values by number: a reader built on one version reads the field as missing, or reads another field's value in its place. `sqlpact.lock` never moves a number; this follows a hand edit or a deleted lock. Restore the number from the baseline's lock. buf's WIRE category reports the same edit as the old number deleted without reservation.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (msg, o, n) in &cx.wire.messages {
        for of in &o.field {
            if let Some(nf) = n
                .field
                .iter()
                .find(|x| x.name() == of.name() && x.number() != of.number())
            {
                f.add(
                    format!("wire {msg} field {}", of.name()),
                    format!(
                        "wire field `{msg}.{}` moved from number {} to {}",
                        of.name(),
                        of.number(),
                        nf.number()
                    ),
                    wire::source(cx, true, msg),
                    wire::source(cx, false, msg),
                )
                .help = Some(format!(
                    "give it back number {} in sqlpact.lock",
                    of.number()
                ));
            }
        }
    }
}
