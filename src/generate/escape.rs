//! Text from the registry and its SQL placed inside generated source: string literals,
//! comments and doc comments that no value can break out of.
//!
//! Names become identifiers through [`super::names`]; everything else that is copied
//! (SQL text, column and type names in comments, labels, paths) goes through here.

/// Characters that reorder how source text is displayed (Trojan Source), and the byte
/// order mark, which Go refuses anywhere but at the start of a file.
fn is_hidden(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{feff}')
}

/// Ends a line comment or cannot stand in source: line and paragraph separators,
/// control characters, hidden characters.
fn breaks_line(c: char) -> bool {
    c.is_control() || is_hidden(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// One comment line's text: anything that could end the comment or hide text becomes
/// a space (`//` comments in Go and Rust, `//` in protobuf).
pub fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if breaks_line(c) { ' ' } else { c })
        .collect()
}

/// A line of a Rust doc comment (Markdown): [`comment`], and a line that would open a
/// code block (which rustdoc compiles and runs as a test) has its fence escaped.
pub fn doc_line(s: &str) -> String {
    let line = comment(s);
    let body = line.trim_start();
    if body.starts_with("```") || body.starts_with("~~~") {
        return format!("\\{body}");
    }
    // Four spaces of indentation also make a code block; doc text starts at column one.
    body.to_owned()
}

/// A Markdown code fence that nothing in `text` can close: one backtick longer than
/// its longest run, and at least three.
pub fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

/// A Rust string literal holding `s`, every special character escaped.
pub fn rust_str(s: &str) -> String {
    quoted(s, |c| format!("\\u{{{c:x}}}"))
}

/// A string literal in double quotes, as Rust and Go both read it: quotes, backslashes
/// and line breaks escaped, other characters that break a line or hide spelled by
/// `unicode`, the language's escape for a code point.
fn quoted(s: &str, unicode: fn(u32) -> String) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if breaks_line(c) => out.push_str(&unicode(c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Rust string literal for SQL: raw, with enough `#` to hold it, unless it holds a
/// character a raw string cannot (a lone carriage return, a hidden character).
pub fn rust_sql(s: &str) -> String {
    if s.chars().any(|c| c != '\n' && c != '\t' && breaks_line(c)) {
        return rust_str(s);
    }
    let mut hashes = 1;
    while s.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let h = "#".repeat(hashes);
    format!("r{h}\"{s}\"{h}")
}

/// A Go interpreted string literal holding `s`, every special character escaped.
pub fn go_str(s: &str) -> String {
    quoted(s, |c| format!("\\u{c:04x}"))
}

/// A Go string literal for SQL: a raw string unless it holds a backquote or a
/// character a raw string drops or Go refuses (carriage return, hidden characters).
pub fn go_sql(s: &str) -> String {
    if s.contains('`') || s.chars().any(|c| c != '\n' && c != '\t' && breaks_line(c)) {
        return go_str(s);
    }
    format!("`{s}`")
}

/// A PostgreSQL identifier, quoted: `order` → `"order"`, `a"b` → `"a""b"`.
pub fn sql_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_stay_on_their_line() {
        assert_eq!(comment("a\nb\r\u{2028}c\u{202e}d"), "a b  c d");
        assert_eq!(doc_line("  ```rust"), "\\```rust");
        assert_eq!(doc_line("~~~"), "\\~~~");
        assert_eq!(doc_line("    panic!()"), "panic!()");
        assert_eq!(fence("a ```` b"), "`````");
        assert_eq!(fence("none"), "```");
    }

    #[test]
    fn literals_escape_what_would_end_them() {
        assert_eq!(rust_str("a\"b\\c\u{7}"), "\"a\\\"b\\\\c\\u{7}\"");
        assert_eq!(rust_sql("SELECT '\"#'"), "r##\"SELECT '\"#'\"##");
        assert_eq!(rust_sql("a\rb"), "\"a\\rb\"");
        assert_eq!(go_str("a\u{feff}\"`"), "\"a\\ufeff\\\"`\"");
        assert_eq!(go_sql("SELECT `x`"), "\"SELECT `x`\"");
        assert_eq!(go_sql("SELECT 1\n"), "`SELECT 1\n`");
        assert_eq!(sql_ident("a\"b"), "\"a\"\"b\"");
    }
}
