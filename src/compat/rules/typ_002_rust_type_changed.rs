//! TYP-002 `rust-type-changed`: The Rust type of a parameter or column changed while its SQL type did not.

use super::lang_type_changed;
use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "TYP-002",
    name: "rust-type-changed",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "The Rust type of a parameter or column changed while its SQL type did not.",
    doc: "A type override changed: Rust callers no longer compile.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    lang_type_changed(cx, f, "Rust", |_, rust| rust);
}
