//! IGN-001 `suppression-expired`: A `compat.ignore` entry is past its expiry date and suppresses nothing.

use crate::compat::{Bump, Category, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "IGN-001",
    name: "suppression-expired",
    category: Category::Codegen,
    level: Level::Warning,
    side: Side::Writer,
    bump: Bump::Patch,
    summary: "A `compat.ignore` entry is past its expiry date and suppresses nothing.",
    doc: "An expiry date says until when a change is accepted. From that day on the entry suppresses nothing, and the findings it matched are reported again next to this warning. Either fix what the findings report, or, if the change is still accepted, set a later `expires` with an up-to-date `reason`. Today's date is the clock's, or `SOURCE_DATE_EPOCH`'s when set.",
};
