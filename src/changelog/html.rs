//! The HTML form of the changelog: one self-contained page (no script, no external
//! asset), colour-coded matrices whose failing cells expand to their reasons (and show
//! them on hover), readable on a phone: the matrices scroll sideways inside their own
//! box while the page does not.

use std::fmt::Write;

use super::{bump_name, bump_rank, Cell, Changelog, Entry, Matrix, Release};

/// Reasons listed in a cell; the JSON form has them all.
const CELL_REASONS: usize = 20;

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
    out
}

/// Inline code spans: text between backticks becomes `<code>`.
fn code_spans(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light; --ok: #d8f0dc; --ok-ink: #14532d; --bad: #fbd3d3; --bad-ink: #7f1d1d; --line: #d0d7de; --muted: #57606a; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .25rem; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f6f8fa; padding: 0 .2em; border-radius: 3px; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.scroll { overflow-x: auto; max-width: 100%; border: 1px solid var(--line); border-radius: 6px; }
table.matrix { border-collapse: collapse; font-size: .9rem; }
.matrix th, .matrix td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: center; vertical-align: top; min-width: 4.5rem; }
.matrix thead th { background: #f6f8fa; white-space: nowrap; }
.matrix th[scope=row] { position: sticky; left: 0; background: #f6f8fa; white-space: nowrap; text-align: left; z-index: 1; }
.matrix td.ok { background: var(--ok); color: var(--ok-ink); }
.matrix td.bad { background: var(--bad); color: var(--bad-ink); }
.matrix td.self { outline: 2px solid #8c959f; outline-offset: -3px; }
.matrix summary { cursor: pointer; font-weight: 600; white-space: nowrap; }
.matrix ul { text-align: left; margin: .25rem 0 0; padding-left: 1rem; min-width: 16rem; max-width: 28rem; font-size: .85rem; }
.legend span { display: inline-block; padding: 0 .5rem; border-radius: 4px; margin-right: .5rem; }
.legend .ok { background: var(--ok); color: var(--ok-ink); }
.legend .bad { background: var(--bad); color: var(--bad-ink); }
.release { margin-top: 1.5rem; }
.deploy { padding: .4rem .6rem; border-left: 4px solid var(--line); background: #f6f8fa; }
.deploy-any-order { border-color: #2da44e; }
.deploy-database-first, .deploy-clients-first { border-color: #bf8700; }
.deploy-coordinated { border-color: #cf222e; }
.warn { color: #9a6700; font-weight: 600; }
li { margin: .2rem 0; }
.tag { display: inline-block; font-size: .75rem; padding: 0 .4rem; border: 1px solid var(--line); border-radius: 1rem; color: var(--muted); margin-left: .25rem; white-space: nowrap; }
@media (max-width: 40rem) { body { padding: .5rem; } h1 { font-size: 1.3rem; } }
"#;

fn cell_html(s: &mut String, c: &Cell, diagonal: bool, row: &str, col: &str) {
    let self_class = if diagonal { " self" } else { "" };
    if c.ok {
        let _ = write!(
            s,
            "<td class=\"ok{self_class}\" title=\"{} with {}: compatible\">✓</td>",
            esc(row),
            esc(col)
        );
        return;
    }
    let shown = c.reasons.iter().take(CELL_REASONS);
    let title: Vec<&str> = c.reasons.iter().take(10).map(String::as_str).collect();
    let _ = write!(
        s,
        "<td class=\"bad{self_class}\" title=\"{}\"><details><summary>✗ {}</summary><ul>",
        esc(&title.join("\n")),
        c.reasons.len()
    );
    for r in shown {
        let _ = write!(s, "<li>{}</li>", code_spans(r));
    }
    if c.reasons.len() > CELL_REASONS {
        let _ = write!(
            s,
            "<li class=\"muted\">and {} more (the JSON form lists them all)</li>",
            c.reasons.len() - CELL_REASONS
        );
    }
    s.push_str("</ul></details></td>");
}

fn matrix_html(s: &mut String, id: &str, m: &Matrix) {
    let _ = write!(
        s,
        "<div class=\"scroll\"><table class=\"matrix\" id=\"{id}\"><thead><tr><th scope=\"col\">{} ↓ / {} →</th>",
        esc(&m.rows_are),
        esc(&m.columns_are)
    );
    for c in &m.columns {
        let _ = write!(s, "<th scope=\"col\">{}</th>", esc(c));
    }
    s.push_str("</tr></thead><tbody>");
    for (i, (label, row)) in m.rows.iter().zip(&m.cells).enumerate() {
        let _ = write!(s, "<tr><th scope=\"row\">{}</th>", esc(label));
        for (j, c) in row.iter().enumerate() {
            cell_html(s, c, i == j, label, &m.columns[j]);
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>\n");
}

fn entry_html(s: &mut String, e: &Entry, rules_base: &str) {
    let _ = write!(
        s,
        "<li>{} <a href=\"{}{}.md\">{} {}</a>",
        code_spans(&e.message),
        esc(rules_base),
        esc(&e.rule),
        esc(&e.rule),
        esc(&e.rule_name)
    );
    for l in &e.languages {
        let _ = write!(s, "<span class=\"tag\">{l}</span>");
    }
    let _ = write!(
        s,
        "<span class=\"tag\">{} bump</span></li>",
        bump_name(Some(e.bump))
    );
}

fn release_html(s: &mut String, r: &Release, rules_base: &str) {
    let _ = write!(
        s,
        "<article class=\"release\"><h2>{} <span class=\"muted\">from {}</span></h2>",
        esc(&r.to),
        esc(&r.from)
    );
    let _ = write!(
        s,
        "<p class=\"deploy deploy-{}\">Deploy: <strong>{}</strong>: {}.</p>",
        r.deploy_order.replace(' ', "-"),
        esc(&r.deploy_order),
        code_spans(&r.deploy_reason)
    );
    let under = bump_rank(&r.declared_bump) < bump_rank(&r.required_bump);
    let _ = write!(
        s,
        "<p>Version bump: declared {}, required {}{}</p>",
        esc(&r.declared_bump),
        esc(&r.required_bump),
        if under {
            " <span class=\"warn\">⚠ the declared bump is too small</span>"
        } else {
            ""
        }
    );
    let mut any = false;
    for (title, entries) in r.sections() {
        if entries.is_empty() {
            continue;
        }
        any = true;
        let _ = write!(s, "<h3>{title}</h3><ul>");
        for e in entries {
            entry_html(s, e, rules_base);
        }
        s.push_str("</ul>");
    }
    if !any {
        s.push_str("<p class=\"muted\">No changes to the contract.</p>");
    }
    s.push_str("</article>\n");
}

/// The HTML form: the matrices first, then each release, newest first.
pub fn html(c: &Changelog, rules_base: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Changelog of {}</title><style>{STYLE}</style></head><body>\n",
        esc(&c.contract)
    );
    let _ = writeln!(
        s,
        "<header><h1>Changelog of <code>{}</code></h1><p class=\"muted\">{} versions, {} to {}</p></header>",
        esc(&c.contract),
        c.versions.len(),
        esc(c.versions.first().map_or("", |v| v.label.as_str())),
        esc(c.versions.last().map_or("", |v| v.label.as_str()))
    );
    s.push_str("<section id=\"compatibility\"><h2>Compatibility</h2><p>Can a client generated from a version (row) run against the database schema of another (column)?</p>\n");
    matrix_html(&mut s, "schema-matrix", &c.schema_matrix);
    if let Some(w) = &c.wire_matrix {
        s.push_str("<p>Can a consumer (column) read the messages a producer (row) writes?</p>\n");
        matrix_html(&mut s, "wire-matrix", w);
    }
    s.push_str("<p class=\"legend\"><span class=\"ok\">✓ compatible</span><span class=\"bad\">✗ breaks: select the cell for the reasons</span></p></section>\n<section id=\"releases\">\n");
    for r in &c.releases {
        release_html(&mut s, r, rules_base);
    }
    s.push_str("</section></body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_break_out_of_the_markup() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(
            code_spans("query `<b>` fails"),
            "query <code>&lt;b&gt;</code> fails"
        );
    }
}
