//! Lexical helpers over SQL text: statement splitting that respects quotes, dollar
//! quotes and comments, and locations in sqlparser's error messages.

use std::ops::Range;

/// Byte ranges of the statements in `text`, split at top-level `;`, trimmed, empty
/// statements dropped. Comments stay inside the ranges.
pub fn split_statements(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'\'' => skip_quoted(bytes, i, b'\''),
            b'"' => skip_quoted(bytes, i, b'"'),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                text[i..].find('\n').map_or(bytes.len(), |e| i + e + 1)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i),
            b'$' => skip_dollar_quoted(text, i),
            b';' => {
                push_trimmed(text, start..i, &mut out);
                start = i + 1;
                i + 1
            }
            _ => i + 1,
        };
    }
    push_trimmed(text, start..text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, r: Range<usize>, out: &mut Vec<Range<usize>>) {
    let s = &text[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    if !only_comments(trimmed) {
        out.push(r.start + lead..r.start + lead + trimmed.len());
    }
}

/// True when `s` holds nothing but whitespace and comments.
pub fn only_comments(s: &str) -> bool {
    let mut rest = s.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if rest.starts_with("--") {
            rest = rest.find('\n').map_or("", |e| &rest[e + 1..]).trim_start();
        } else if rest.starts_with("/*") {
            let end = skip_block_comment(rest.as_bytes(), 0);
            rest = rest[end.min(rest.len())..].trim_start();
        } else {
            return false;
        }
    }
}

fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let escapes = quote == b'\''
        && start > 0
        && matches!(bytes[start - 1], b'e' | b'E')
        && (start < 2 || !bytes[start - 2].is_ascii_alphanumeric());
    let mut i = start + 1;
    while i < bytes.len() {
        if escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Skips `$tag$ ... $tag$`; a `$` that does not open a dollar quote (`$1`) is one byte.
fn skip_dollar_quoted(text: &str, start: usize) -> usize {
    let rest = &text[start + 1..];
    let tag_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let tag = &rest[..tag_len];
    if rest.as_bytes().get(tag_len) != Some(&b'$') || tag.starts_with(|c: char| c.is_ascii_digit())
    {
        return start + 1;
    }
    let delim = format!("${tag}$");
    let body_start = start + delim.len();
    match text[body_start..].find(&delim) {
        Some(e) => body_start + e + delim.len(),
        None => text.len(),
    }
}

/// Calls `f` for every byte offset of `text` that is code, not inside a string, quoted
/// identifier, comment or dollar-quoted body; `f` returns how many bytes it consumed (0
/// to let the scanner move on by itself).
pub fn scan_code(text: &str, mut f: impl FnMut(usize) -> usize) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let next = match bytes[i] {
            b'\'' => Some(skip_quoted(bytes, i, b'\'')),
            b'"' => Some(skip_quoted(bytes, i, b'"')),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                Some(text[i..].find('\n').map_or(bytes.len(), |e| i + e + 1))
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => Some(skip_block_comment(bytes, i)),
            b'$' => {
                let e = skip_dollar_quoted(text, i);
                (e > i + 1).then_some(e)
            }
            _ => None,
        };
        match next {
            Some(n) => i = n,
            None => {
                let used = f(i);
                i += used.max(1);
                while i < bytes.len() && !text.is_char_boundary(i) {
                    i += 1;
                }
            }
        }
    }
}

/// The `Line: L, Column: C` sqlparser appends to its errors, and the message without it.
pub fn parser_error_location(msg: &str) -> (String, Option<(u32, u32)>) {
    let Some(at) = msg.rfind(" at Line: ") else {
        return (msg.to_owned(), None);
    };
    let tail = &msg[at + " at Line: ".len()..];
    let mut parts = tail.split(", Column: ");
    let line = parts.next().and_then(|l| l.trim().parse().ok());
    let col = parts.next().and_then(|c| {
        c.trim()
            .trim_end_matches(|ch: char| !ch.is_ascii_digit())
            .parse()
            .ok()
    });
    match (line, col) {
        (Some(l), Some(c)) => (msg[..at].to_owned(), Some((l, c))),
        _ => (msg.to_owned(), None),
    }
}

/// Byte offset of a 1-based line and character column inside `text`.
pub fn offset_in(text: &str, line: u32, column: u32) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let col = (column.max(1) - 1) as usize;
            return offset + l.char_indices().nth(col).map_or(l.len(), |(b, _)| b);
        }
        offset += l.len();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_around_quotes_comments_and_dollar_bodies() {
        let text = "CREATE TABLE a (x text DEFAULT ';');\n-- a; comment\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n/* ; */ SELECT $1;";
        let parts: Vec<_> = split_statements(text)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(parts[0].starts_with("CREATE TABLE"));
        assert!(parts[1].contains("$$ SELECT 1; $$"));
        assert!(parts[2].ends_with("SELECT $1"));
    }

    #[test]
    fn reads_parser_error_locations() {
        let (m, loc) = parser_error_location(
            "sql parser error: Expected: end of statement, found: x at Line: 3, Column: 7",
        );
        assert_eq!(loc, Some((3, 7)));
        assert!(m.ends_with("found: x"));
    }
}
