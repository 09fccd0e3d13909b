//! SCH-002 `baseline-query-shape-changed`: A query of the baseline returns a different shape against the new schema.

use crate::compat::{Bump, Category, Cx, Findings, Level, Replayed, Rule, Side};

pub const RULE: Rule = Rule {
    id: "SCH-002",
    name: "baseline-query-shape-changed",
    category: Category::Db,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "A query of the baseline returns a different shape against the new schema.",
    doc: "Old clients decode rows positionally into the types they were generated with, and encode parameters as the types they were generated with: a column whose type or nullability the migration changed breaks decoding in deployed clients, and a parameter whose type changed breaks encoding (tokio-postgres refuses an `i64` for a `numeric` parameter), even though the new clients are fine.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (name, q) in &cx.old_queries {
        if let Some(Replayed::Ok(r)) = cx.replayed.get(*name) {
            // Deployed clients encode each parameter as the type they were built with.
            for (a, b) in q.params.iter().zip(&r.params) {
                if a.ty != b.ty {
                    f.add(
                        format!("query {name} schema param {}", a.name),
                        format!(
                            "against the new schema, parameter `{}` of the baseline query `{name}` is `{}`, was `{}`: deployed clients send `{}`",
                            a.name, b.ty, a.ty, a.ty
                        ),
                        cx.new_queries.get(name).map(|n| &n.source),
                        Some(&q.source),
                    );
                }
            }
            // Deployed clients decode by position: the count, then each column.
            if q.columns.len() != r.columns.len() {
                f.add(
                    format!("query {name} schema columns"),
                    format!(
                        "against the new schema, the baseline query `{name}` returns {} columns, was {}",
                        r.columns.len(),
                        q.columns.len()
                    ),
                    cx.new_queries.get(name).map(|n| &n.source),
                    Some(&q.source),
                );
                continue;
            }
            for (a, b) in q.columns.iter().zip(&r.columns) {
                let what = if a.name != b.name {
                    format!("`{}` in its place", b.name)
                } else if a.ty != b.ty {
                    format!("type `{}` instead of `{}`", b.ty, a.ty)
                } else if !a.nullable && b.nullable {
                    "NULL where it never was".to_owned()
                } else {
                    continue;
                };
                f.add(
                    format!("query {name} schema column {}", a.name),
                    format!(
                        "against the new schema, column `{}` of the baseline query `{name}` gets {what}",
                        a.name
                    ),
                    cx.new_queries.get(name).map(|n| &n.source),
                    Some(&q.source),
                );
            }
        }
    }
}
