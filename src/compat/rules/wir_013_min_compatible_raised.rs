//! WIR-013 `wire-min-compatible-raised`: The oldest accepted wire version moved past a version peers may still speak.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "WIR-013",
    name: "wire-min-compatible-raised",
    category: Category::Wire,
    level: Level::Warning,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "The oldest accepted wire version moved past a version peers may still speak.",
    doc: "`wire.min_compatible` is the oldest version a service accepts: raising it above the baseline's `wire.version` means peers still on the baseline fail negotiation. Raise it only once no peer speaks the old version; buf has no counterpart (it does not know versions).",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    let (Some(o), Some(n)) = (&cx.old.wire, &cx.new.wire) else {
        return;
    };
    if n.min_compatible > o.version {
        f.add(
            "wire min_compatible",
            format!(
                "wire.min_compatible is {}, above the baseline's wire version {}: peers still on v{} cannot negotiate",
                n.min_compatible, o.version, o.version
            ),
            None,
            None,
        );
    }
}
