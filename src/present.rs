//! Text views of the resolved contract for `inspect --format text` and `explain`.

use std::fmt::Write;

use crate::model::{Contract, Query, Reason};

fn null_word(n: bool) -> &'static str {
    if n {
        "NULL"
    } else {
        "NOT NULL"
    }
}

fn reason(r: &Reason) -> String {
    format!(
        "[{}] {}",
        serde_json::to_value(r.source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        r.detail
    )
}

/// A summary of every query: its parameters and columns with their types.
pub fn inspect_text(c: &Contract) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "contract {} {} ({} tables, {} enums, {} queries)",
        c.name,
        c.version,
        c.schema.tables.len(),
        c.schema.enums.len(),
        c.queries.len()
    );
    for q in &c.queries {
        let _ = writeln!(
            s,
            "\n{} :{}  ({}:{})",
            q.name, q.command, q.source.file, q.source.line
        );
        for p in &q.params {
            let _ = writeln!(
                s,
                "  ${} {:<20} {:<14} {:<8}  go {}  rust {}",
                p.position,
                p.name,
                p.ty,
                null_word(p.nullable),
                p.go_type,
                p.rust_type
            );
        }
        for col in &q.columns {
            let _ = writeln!(
                s,
                "  -> {:<20} {:<14} {:<8}  go {}  rust {}",
                col.name,
                col.ty,
                null_word(col.nullable),
                col.go_type,
                col.rust_type
            );
        }
    }
    s
}

/// Every parameter and column of one query, with the reason for its type and nullability.
pub fn explain_text(q: &Query) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} :{}  ({}:{}:{})",
        q.name, q.command, q.source.file, q.source.line, q.source.column
    );
    let _ = writeln!(
        s,
        "  sql: {}",
        q.sql.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    let _ = writeln!(
        s,
        "  statement: {}, {}",
        q.statement,
        if q.read_only {
            "read-only"
        } else {
            "writes or takes locks (primary only)"
        }
    );
    let _ = writeln!(
        s,
        "  policy: timeout {}ms, retry {}, idempotent {} ({}), route {}",
        q.policy.timeout_ms,
        q.policy.retry,
        q.policy.idempotent,
        q.policy.idempotent_source,
        q.policy.route
    );
    if !q.params.is_empty() {
        let _ = writeln!(s, "\nparameters:");
    }
    for p in &q.params {
        let mut flags = String::new();
        if p.optional {
            flags.push_str(" optional");
        }
        if p.slice {
            flags.push_str(" slice");
        }
        let _ = writeln!(
            s,
            "  ${} {}: {} {}{}",
            p.position,
            p.name,
            p.ty,
            null_word(p.nullable),
            flags
        );
        let _ = writeln!(
            s,
            "      go {} | rust {} | proto {}",
            p.go_type, p.rust_type, p.proto_type
        );
        let _ = writeln!(s, "      type: {}", reason(&p.type_reason));
        let _ = writeln!(s, "      null: {}", reason(&p.nullable_reason));
    }
    if !q.columns.is_empty() {
        let _ = writeln!(s, "\ncolumns:");
    }
    for c in &q.columns {
        let embed = c
            .embed
            .as_ref()
            .map(|e| format!(" (in sqlc.embed({e}))"))
            .unwrap_or_default();
        let elems = if c.elem_nullable {
            ", elements NULL"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {}: {} {}{elems}{}",
            c.name,
            c.ty,
            null_word(c.nullable),
            embed
        );
        let _ = writeln!(
            s,
            "      go {} | rust {} | proto {}",
            c.go_type, c.rust_type, c.proto_type
        );
        let _ = writeln!(s, "      type: {}", reason(&c.type_reason));
        let _ = writeln!(s, "      null: {}", reason(&c.nullable_reason));
        if let Some(r) = &c.elem_nullable_reason {
            let _ = writeln!(s, "      elements: {}", reason(r));
        }
    }
    for e in &q.embeds {
        let _ = writeln!(
            s,
            "\nembed {} ({}): {} — {}",
            e.name,
            e.table,
            null_word(e.nullable),
            reason(&e.nullable_reason)
        );
    }
    s
}
