//! Splits a sqlc-annotated SQL file into queries.
//!
//! ```sql
//! -- name: GetAccount :one
//! -- Reads one account.          <- doc comment
//! -- @optional status            <- sqlpact annotation
//! SELECT * FROM accounts WHERE id = @id;
//! ```

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, SourceFile, Span};

/// The commands a query header may name, as sqlc spells them.
pub const COMMANDS: &[&str] = &[
    "one",
    "many",
    "exec",
    "execrows",
    "execresult",
    "copyfrom",
    "batchexec",
    "batchmany",
    "batchone",
];

/// A query as written, before analysis.
#[derive(Clone, Debug)]
pub struct RawQuery {
    pub name: String,
    pub name_span: Span,
    pub command: String,
    pub command_span: Span,
    /// The SQL text, verbatim, without the trailing `;`.
    pub sql: String,
    /// Where `sql` starts in its file; offsets inside `sql` add to it.
    pub sql_span: Span,
    pub doc: Vec<String>,
    /// Parameters named by `-- @optional`, with where they were named.
    pub optional: Vec<(String, Span)>,
}

/// Splits `text` into queries, reporting text outside any header and malformed headers.
pub fn split_queries(file_id: FileId, file: &SourceFile, diags: &mut Diagnostics) -> Vec<RawQuery> {
    let text = file.text.as_str();
    let mut queries = Vec::new();
    let mut current: Option<RawQuery> = None;
    let mut in_doc = false;
    let mut body_start: Option<usize> = None;
    let mut offset = 0;
    let mut stray: Option<usize> = None;

    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if let Some(header) = parse_header(trimmed) {
            if let Some(q) = current.take() {
                finish(
                    q,
                    body_start,
                    line_start,
                    text,
                    file_id,
                    diags,
                    &mut queries,
                );
            }
            let lead = line.len() - line.trim_start().len();
            match header {
                Ok(h) => {
                    let name_at = line_start + lead + h.name_offset;
                    let cmd_at = line_start + lead + h.command_offset;
                    current = Some(RawQuery {
                        name: h.name.to_owned(),
                        name_span: Span::new(file_id, name_at..name_at + h.name.len()),
                        command: h.command.to_owned(),
                        command_span: Span::new(file_id, cmd_at..cmd_at + h.command.len() + 1),
                        sql: String::new(),
                        sql_span: Span::point(file_id, offset),
                        doc: Vec::new(),
                        optional: Vec::new(),
                    });
                    if !COMMANDS.contains(&h.command) {
                        diags.push(
                            Diagnostic::error(
                                Code::BadAnnotation,
                                format!("unknown query command `:{}`", h.command),
                            )
                            .at(Span::new(file_id, cmd_at..cmd_at + h.command.len() + 1))
                            .label("not a command")
                            .help(format!(
                                "use one of {}",
                                COMMANDS
                                    .iter()
                                    .map(|c| format!("`:{c}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                        );
                    }
                }
                Err(msg) => {
                    diags.push(
                        Diagnostic::error(Code::BadAnnotation, msg)
                            .at(Span::new(file_id, line_start + lead..line_start + lead + trimmed.len()))
                            .help("write the header as `-- name: QueryName :command`, e.g. `-- name: GetAccount :one`"),
                    );
                }
            }
            in_doc = true;
            body_start = None;
            continue;
        }
        let Some(q) = current.as_mut() else {
            if !is_blank_or_comment(trimmed) && stray.is_none() {
                stray = Some(line_start + (line.len() - line.trim_start().len()));
            }
            continue;
        };
        if in_doc {
            if let Some(comment) = trimmed.strip_prefix("--") {
                let comment = comment.trim();
                if let Some(rest) = comment.strip_prefix("@optional") {
                    let base = line_start + line.find("@optional").unwrap_or(0) + "@optional".len();
                    let mut at = 0;
                    for word in rest.split(|c: char| c.is_whitespace() || c == ',') {
                        let pos = rest[at..].find(word).map_or(at, |p| at + p);
                        at = pos + word.len();
                        if !word.is_empty() {
                            let start = base + pos;
                            q.optional.push((
                                word.to_owned(),
                                Span::new(file_id, start..start + word.len()),
                            ));
                        }
                    }
                } else if !comment.starts_with('@') {
                    q.doc.push(comment.to_owned());
                }
                continue;
            }
            if trimmed.is_empty() {
                continue;
            }
            in_doc = false;
        }
        if body_start.is_none() && !trimmed.is_empty() {
            body_start = Some(line_start + (line.len() - line.trim_start().len()));
        }
    }
    if let Some(q) = current.take() {
        finish(
            q,
            body_start,
            text.len(),
            text,
            file_id,
            diags,
            &mut queries,
        );
    }
    if let Some(at) = stray {
        let end = text[at..].find('\n').map_or(text.len(), |e| at + e);
        diags.push(
            Diagnostic::error(Code::MissingAnnotation, "SQL outside any query header")
                .at(Span::new(file_id, at..end))
                .label("this statement has no name")
                .help("put a header line above it: `-- name: QueryName :many`"),
        );
    }
    queries
}

fn finish(
    mut q: RawQuery,
    body_start: Option<usize>,
    end: usize,
    text: &str,
    file_id: FileId,
    diags: &mut Diagnostics,
    out: &mut Vec<RawQuery>,
) {
    let Some(start) = body_start else {
        diags.push(
            Diagnostic::error(Code::EmptyQuery, format!("query `{}` has no SQL", q.name))
                .at(q.name_span.clone())
                .help("write the statement below the header, or remove the header"),
        );
        return;
    };
    let body = text[start..end].trim_end();
    let body = body.strip_suffix(';').unwrap_or(body).trim_end();
    q.sql = body.to_owned();
    q.sql_span = Span::new(file_id, start..start + body.len());
    out.push(q);
}

struct Header<'a> {
    name: &'a str,
    name_offset: usize,
    command: &'a str,
    command_offset: usize,
}

/// Recognises `-- name: Name :command` and, as sqlc does, `/* name: Name :command */`
/// alone on its line; `Ok(None)`-like absence is `None`, a line that starts like a
/// header but is malformed is `Some(Err)`.
fn parse_header(line: &str) -> Option<Result<Header<'_>, String>> {
    let rest = match line.strip_prefix("--") {
        Some(rest) => rest,
        None => {
            let open = line.strip_prefix("/*")?;
            match open.strip_suffix("*/") {
                Some(rest) => rest,
                None if open.trim_start().starts_with("name:") => {
                    return Some(Err(
                        "a `/* name: ... */` header stands alone on its line, closed there".into(),
                    ))
                }
                None => return None,
            }
        }
    };
    let after_dashes = 2;
    let rest_trim = rest.trim_start();
    let ws = rest.len() - rest_trim.len();
    let body = rest_trim.strip_prefix("name:")?;
    let mut offset = after_dashes + ws + "name:".len();
    let name_trim = body.trim_start();
    offset += body.len() - name_trim.len();
    let name_end = name_trim
        .find(char::is_whitespace)
        .unwrap_or(name_trim.len());
    let name = &name_trim[..name_end];
    if name.is_empty() {
        return Some(Err("query header has no name".into()));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return Some(Err(format!(
            "query name `{name}` must start with a letter and hold only letters, digits and `_`"
        )));
    }
    let name_offset = offset;
    let after = &name_trim[name_end..];
    let cmd_trim = after.trim_start();
    let command_offset = name_offset + name_end + (after.len() - cmd_trim.len());
    let Some(cmd) = cmd_trim.strip_prefix(':') else {
        return Some(Err(format!("query `{name}` has no command after its name")));
    };
    let cmd_end = cmd.find(char::is_whitespace).unwrap_or(cmd.len());
    let command = &cmd[..cmd_end];
    if !cmd[cmd_end..].trim().is_empty() {
        return Some(Err(format!(
            "unexpected text after `:{command}` in the header of `{name}`"
        )));
    }
    Some(Ok(Header {
        name,
        name_offset,
        command,
        command_offset,
    }))
}

fn is_blank_or_comment(line: &str) -> bool {
    line.is_empty() || line.starts_with("--")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    fn split(text: &str) -> (Vec<RawQuery>, Diagnostics) {
        let mut map = SourceMap::default();
        let id = map.add(SourceFile::new("q.sql".into(), "q.sql".into(), text.into()));
        let mut d = Diagnostics::default();
        let q = split_queries(id, map.get(id), &mut d);
        (q, d)
    }

    #[test]
    fn splits_headers_docs_and_optional() {
        let (q, d) = split(
            "-- name: A :one\n-- Reads one.\n-- @optional x, y\nSELECT 1;\n\n-- name: B :exec\nDELETE FROM t;\n",
        );
        assert!(d.items.is_empty(), "{:?}", d.items);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].sql, "SELECT 1");
        assert_eq!(q[0].doc, vec!["Reads one."]);
        assert_eq!(
            q[0].optional
                .iter()
                .map(|o| o.0.as_str())
                .collect::<Vec<_>>(),
            ["x", "y"]
        );
        assert_eq!(q[1].command, "exec");
        assert_eq!(q[1].sql, "DELETE FROM t");
    }

    #[test]
    fn a_block_comment_header_is_a_header() {
        let text = "/* name: GetT :one */\nSELECT 1;\n  /*name:B :exec*/\nDELETE FROM t;\n";
        let (q, d) = split(text);
        assert!(d.items.is_empty(), "{:?}", d.items);
        assert_eq!(q.len(), 2);
        assert_eq!((q[0].name.as_str(), q[0].command.as_str()), ("GetT", "one"));
        assert_eq!(&text[q[0].name_span.range.clone()], "GetT");
        assert_eq!(&text[q[1].name_span.range.clone()], "B");
        assert_eq!(&text[q[1].command_span.range.clone()], ":exec");
        assert_eq!(q[1].sql, "DELETE FROM t");
        // A block comment header that does not close on its line, or that SQL follows,
        // is a malformed header.
        for text in [
            "/* name: A :one\n*/\nSELECT 1;\n",
            "/* name: A :one */ SELECT 1;\n",
        ] {
            let (_, d) = split(text);
            assert_eq!(d.items[0].code, Code::BadAnnotation, "{text}");
        }
    }

    #[test]
    fn reports_stray_sql_and_bad_commands() {
        let (_, d) = split("SELECT 1;\n-- name: A :wrong\nSELECT 2;\n");
        let codes: Vec<_> = d.items.iter().map(|d| d.code).collect();
        assert!(codes.contains(&Code::MissingAnnotation));
        assert!(codes.contains(&Code::BadAnnotation));
    }
}
