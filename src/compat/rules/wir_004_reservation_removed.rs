//! WIR-004 `wire-reservation-removed`: A reserved wire number or name is no longer reserved.

use crate::compat::wire;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-004",
    name: "wire-reservation-removed",
    category: Category::Wire,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A reserved wire number or name is no longer reserved.",
    doc: "A reservation keeps a deleted field's number and name from coming back with another meaning; dropping it lets the next field take them (and a field that already took one is read as the deleted field by old peers). Keep every reservation. Same as buf's `RESERVED_MESSAGE_NO_DELETE` and `RESERVED_ENUM_NO_DELETE` (WIRE).",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (msg, o, n) in &cx.wire.messages {
        for r in &o.reserved_range {
            let lost: Vec<i32> = (r.start()..r.end().min(r.start().saturating_add(100_000)))
                .filter(|k| !wire::reserves_number(n, *k))
                .collect();
            if let (Some(first), Some(last)) = (lost.first(), lost.last()) {
                let what = if first == last {
                    first.to_string()
                } else {
                    format!("{first} to {last}")
                };
                let taken = n
                    .field
                    .iter()
                    .find(|x| lost.contains(&x.number()))
                    .map(|x| format!("; field `{}` now uses it", x.name()))
                    .unwrap_or_default();
                f.add(
                    format!("wire {msg} reserved {what}"),
                    format!("wire message `{msg}` no longer reserves {what}{taken}"),
                    wire::source(cx, true, msg),
                    wire::source(cx, false, msg),
                );
            }
        }
        for name in &o.reserved_name {
            if !n.reserved_name.contains(name) {
                f.add(
                    format!("wire {msg} reserved name {name}"),
                    format!("wire message `{msg}` no longer reserves the name `{name}`"),
                    wire::source(cx, true, msg),
                    wire::source(cx, false, msg),
                );
            }
        }
    }
    for (name, o, n) in &cx.wire.enums {
        for r in &o.reserved_range {
            // Enum reserved ranges include their end.
            for k in r.start()..=r.end().min(r.start().saturating_add(100_000)) {
                if !n
                    .reserved_range
                    .iter()
                    .any(|x| x.start() <= k && k <= x.end())
                {
                    f.add(
                        format!("wire enum {name} reserved {k}"),
                        format!("wire enum `{name}` no longer reserves {k}"),
                        None,
                        None,
                    );
                }
            }
        }
    }
}
