//! IGN-002 `suppression-unused`: A `compat.ignore` entry matches no finding.

use crate::compat::{Bump, Category, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "IGN-002",
    name: "suppression-unused",
    category: Category::Codegen,
    level: Level::Warning,
    side: Side::Writer,
    bump: Bump::Patch,
    summary: "A `compat.ignore` entry matches no finding.",
    doc: "The change it accepted is gone from the comparison (fixed, or released in the baseline), or its rule, entity path or fingerprint is misspelled: a stale entry would silently accept a later change to the same entity. Remove the entry, or copy `rule`, `entity` and `fingerprint` from `sqlpact compat --format json`.",
};
