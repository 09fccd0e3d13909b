//! WIR-008 `wire-oneof-changed`: A wire field moved into, out of, or between oneofs.

use crate::compat::wire;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-008",
    name: "wire-oneof-changed",
    category: Category::Wire,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A wire field moved into, out of, or between oneofs.",
    doc: "Setting a member of a oneof clears the others: a field moved into one can silently erase, or be erased by, values peers still send separately. A proto3 `optional` is not a oneof here. Same as buf's `FIELD_SAME_ONEOF`.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (msg, o, n) in &cx.wire.messages {
        for of in &o.field {
            let Some(nf) = n.field.iter().find(|x| x.number() == of.number()) else {
                continue;
            };
            let (before, now) = (wire::oneof(o, of), wire::oneof(n, nf));
            if before != now {
                let say = |x: &Option<String>| {
                    x.as_ref()
                        .map_or("no oneof".to_owned(), |o| format!("oneof `{o}`"))
                };
                f.add(
                    format!("wire {msg} field {}", of.number()),
                    format!(
                        "wire field `{msg}.{}` moved from {} to {}",
                        nf.name(),
                        say(&before),
                        say(&now)
                    ),
                    wire::source(cx, true, msg),
                    wire::source(cx, false, msg),
                );
            }
        }
    }
}
