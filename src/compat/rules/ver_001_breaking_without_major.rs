//! VER-001 `breaking-without-major`: A breaking change without a major bump of `contract.version`.

use crate::compat::{Bump, Category, Finding, Level, Rule, Side};
use crate::model::Contract;

pub const RULE: Rule = Rule {
    id: "VER-001",
    name: "breaking-without-major",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A breaking change without a major bump of `contract.version`.",
    doc: "The contract version tells every consumer what to expect: a change another rule marks as requiring a major bump must come with one (for `0.x` versions, a minor bump), an error otherwise; a change requiring a minor bump shipped as a patch, or any change without a version increase, is a warning. The finding suggests the next version. Runs after every other rule, on their findings.",
};

/// Checks the declared version against the strictest bump the findings require.
pub fn check(old: &Contract, new: &Contract, findings: &mut Vec<Finding>) {
    let needed = findings.iter().map(|f| f.bump).max();
    let Some(needed) = needed else { return };
    if semver(&old.version).is_none() || semver(&new.version).is_none() {
        return;
    }
    let Some(declared) = declared(&old.version, &new.version) else {
        return findings.push(finding(
            "the contract version did not increase",
            old,
            new,
            needed,
        ));
    };
    if needed > declared {
        let what = if needed == Bump::Major {
            "a breaking change needs a major version"
        } else {
            "a new feature needs a minor version"
        };
        findings.push(finding(what, old, new, needed));
    }
}

fn finding(what: &str, old: &Contract, new: &Contract, needed: Bump) -> Finding {
    let suggestion = semver(&old.version).map(|(ma, mi, pa)| match (needed, ma) {
        (Bump::Major, 0) => format!("0.{}.0", mi + 1),
        (Bump::Major, _) => format!("{}.0.0", ma + 1),
        (Bump::Minor, _) => format!("{ma}.{}.0", mi + 1),
        (Bump::Patch, _) => format!("{ma}.{mi}.{}", pa + 1),
    });
    let entity = "contract version".to_owned();
    Finding {
        rule: RULE.id,
        name: RULE.name,
        category: RULE.category,
        level: if needed == Bump::Major {
            RULE.level
        } else {
            Level::Warning
        },
        bump: needed,
        message: format!(
            "{what}: `contract.version` is {} (baseline {})",
            new.version, old.version
        ),
        help: suggestion.map(|v| format!("set `contract.version: {v}`")),
        new_location: None,
        old_location: None,
        fingerprint: crate::compat::fingerprint(RULE.id, &entity),
        entity,
        against: Vec::new(),
    }
}

/// The bump from version `old` to `new` (for `0.x`, a minor bump counts as major);
/// `None` when the version did not increase or does not parse.
pub fn declared(old: &str, new: &str) -> Option<Bump> {
    let (o, n) = (semver(old)?, semver(new)?);
    if n.0 > o.0 || (n.0 == o.0 && n.1 > o.1 && o.0 == 0) {
        Some(Bump::Major)
    } else if n.0 == o.0 && n.1 > o.1 {
        Some(Bump::Minor)
    } else if n.0 == o.0 && n.1 == o.1 && n.2 > o.2 {
        Some(Bump::Patch)
    } else {
        None
    }
}

/// `1.4.0` (or `1.4`, `1`) as numbers; pre-release and build parts are ignored.
pub fn semver(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((
        it.next()??,
        it.next().flatten().unwrap_or(0),
        it.next().flatten().unwrap_or(0),
    ))
}
