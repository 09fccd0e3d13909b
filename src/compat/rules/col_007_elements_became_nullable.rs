//! COL-007 `elements-became-nullable`: An array column's elements can now be NULL.

use crate::compat::{Bump, Category, Cx, Findings, Level, Rule, Side};

pub const RULE: Rule = Rule {
    id: "COL-007",
    name: "elements-became-nullable",
    category: Category::Codegen,
    level: Level::Error,
    side: Side::Reader,
    bump: Bump::Major,
    summary: "An array column's elements can now be NULL.",
    doc: "The array a query builds may now hold NULLs (an `array_agg` over an outer join's nullable side, say): its generated type becomes `Vec<Option<T>>`/`[]*T`, and deployed clients fail to decode a NULL element into a non-null one.",
};

pub fn check(cx: &Cx<'_>, f: &mut Findings<'_>) {
    for (old, new, o, c) in cx.column_pairs() {
        if !o.elem_nullable && c.elem_nullable && o.ty == c.ty {
            f.add(
                format!("query {} column {}", new.name, c.name),
                format!(
                    "the elements of column `{}` of query `{}` can now be NULL",
                    c.name, new.name
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}
