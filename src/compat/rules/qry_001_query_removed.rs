//! QRY-001 `query-removed`: A query of the baseline is gone without deprecation, or before its sunset date.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "QRY-001",
    name: "query-removed",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Writer,
    bump: Bump::Major,
    summary: "A query of the baseline is gone without deprecation, or before its sunset date.",
    doc: "Generated code calling it no longer compiles, and services still deployed with the old client keep calling a statement the new contract no longer vouches for.\n\nTo remove a query safely: deprecate it with a sunset date (`lifecycle: { FindAccount: { deprecated: \"use GetAccount\", sunset: 2027-03-31 } }`), stop calling it in every service, and remove it once the date has passed, in a major version. A removal after the sunset is reported as `info` (the major version is still required); today's date is the clock's, or `SOURCE_DATE_EPOCH`'s when set.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (name, q) in &cx.old_queries {
        // `renamed_from: { New: Old }` is a rename, not a removal.
        let renamed = cx
            .new
            .renamed_from
            .iter()
            .any(|(new, old)| old == name && cx.new_queries.contains_key(new.as_str()));
        if cx.new_queries.contains_key(name) || renamed {
            continue;
        }
        let lc = &q.lifecycle;
        let (why, help) = match (&lc.deprecated, &lc.sunset) {
            (None, _) => (
                "without being deprecated first".to_owned(),
                format!("restore it and deprecate it with a sunset date: `lifecycle: {{ {name}: {{ deprecated: <why>, sunset: YYYY-MM-DD }} }}`; remove it once the date has passed"),
            ),
            (Some(_), None) => (
                "while deprecated without a sunset date".to_owned(),
                "restore it, give its deprecation a sunset date, and remove it once the date has passed".to_owned(),
            ),
            // A history is judged without a date: the sunset is stated, not weighed.
            (Some(_), Some(d)) if cx.today.is_none() => (
                format!("(sunset date {d})"),
                "removing it needs a major version".to_owned(),
            ),
            (Some(_), Some(d)) if Some(d.as_str()) > cx.today.as_deref() => (
                format!("before its sunset date {d}"),
                format!("keep it until {d}, then remove it in a major version"),
            ),
            (Some(_), Some(d)) => {
                let found = f.add(
                    format!("query {name}"),
                    format!("query `{name}` was removed after its sunset date {d}"),
                    None,
                    Some(&q.source),
                );
                found.level = crate::compat::Level::Info;
                found.help = Some("removing it needs a major version".into());
                continue;
            }
        };
        f.add(
            format!("query {name}"),
            format!("query `{name}` was removed {why}"),
            None,
            Some(&q.source),
        )
        .help = Some(help);
    }
}
