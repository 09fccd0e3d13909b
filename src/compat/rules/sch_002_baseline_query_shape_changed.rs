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
    doc: "Old clients decode rows positionally into the types they were generated with: a column whose type or nullability the migration changed breaks decoding in deployed clients, even though the new clients are fine.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (name, q) in &cx.old_queries {
        if let Some(Replayed::Ok(r)) = cx.replayed.get(*name) {
            for (a, b) in q.columns.iter().zip(&r.columns) {
                let ty = a.ty != b.ty;
                let null = !a.nullable && b.nullable;
                if ty || null {
                    let what = if ty {
                        format!("type `{}` instead of `{}`", b.ty, a.ty)
                    } else {
                        "NULL where it never was".to_owned()
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
}
