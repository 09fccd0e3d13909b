//! TYP-001 `go-type-changed`: The Go type of a parameter or column changed while its SQL type did not.

use super::lang_type_changed;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "TYP-001",
    name: "go-type-changed",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "The Go type of a parameter or column changed while its SQL type did not.",
    doc: "A type override or the nullable style changed: Go callers no longer compile.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    lang_type_changed(cx, f, "Go", |go, _| go);
}
