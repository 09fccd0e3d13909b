//! Passwords never live in the registry: it is committed, and everyone who can read the
//! repository could read them. sqlpact takes connection strings from `DATABASE_URL` or
//! a file named on the command line; a registry file holding a password, in a value or
//! a comment, is an error that does not repeat the password.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, SourceMap, Span};

/// Byte ranges of the passwords in `text`: the password of a URL's user info
/// (`postgres://app:…@db`), of a keyword connection string (`password=…`), and the value
/// of a YAML key naming one (`password: …`).
pub fn find(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let at = |r: std::ops::Range<usize>| line_start + r.start..line_start + r.end;
        found.extend(url_passwords(line).into_iter().map(at));
        found.extend(keyword_passwords(line).into_iter().map(at));
        line_start += line.len();
    }
    found.sort_by_key(|r| r.start);
    found.dedup_by(|b, a| b.start < a.end);
    found
}

/// `text` with every password [`find`] sees replaced by `*`s, byte for byte, so that
/// spans into it stay valid: what diagnostics show of a source file.
pub fn mask(text: &str) -> std::borrow::Cow<'_, str> {
    mask_near(text, std::slice::from_ref(&(0..text.len())))
}

/// [`mask`], looking only at the lines around `near` (two lines either side of each
/// range, what a diagnostic shows): rendering a diagnostic does not scan a whole file.
pub fn mask_near<'a>(text: &'a str, near: &[std::ops::Range<usize>]) -> std::borrow::Cow<'a, str> {
    let mut found = Vec::new();
    // Searched as bytes: a range may end next to (or, if a caller errs, inside) a
    // character of several bytes, and a line break's neighbours are always boundaries.
    let bytes = text.as_bytes();
    for r in near {
        let mut start = r.start.min(text.len());
        for _ in 0..3 {
            start = bytes[..start.saturating_sub(1)]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
        }
        let mut end = r.end.clamp(start, text.len());
        for _ in 0..3 {
            end = bytes[end..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |i| end + i + 1);
        }
        found.extend(
            find(&text[start..end])
                .into_iter()
                .map(|f| start + f.start..start + f.end),
        );
    }
    if found.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    found.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in found {
        if r.start < last {
            continue; // seen from two overlapping windows
        }
        out.push_str(&text[last..r.start]);
        out.extend(std::iter::repeat_n('*', r.len()));
        last = r.end;
    }
    out.push_str(&text[last..]);
    std::borrow::Cow::Owned(out)
}

/// Characters that end a URL or a bare value.
fn ends_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ',' | '}' | ']' | '#')
}

/// `scheme://user:password@host`: the password's range.
fn url_passwords(line: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = line[from..].find("://") {
        let start = from + i + 3;
        let rest = &line[start..];
        let end = rest
            .find(|c: char| ends_value(c) || c == '/' || c == '?')
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                if colon + 1 < at {
                    out.push(start + colon + 1..start + at);
                }
            }
        }
        from = start + end;
    }
    out
}

/// Names a password goes by, as a keyword (`password=`) or a YAML key (`password:`).
const NAMES: &[&str] = &[
    "password",
    "passwd",
    "pgpassword",
    "sslpassword",
    "db_password",
];

/// `password=value` and `password: value` (any case, `_`/`-` ignored in the key): the
/// value's range, unless it is empty or a reference such as `${DB_PASSWORD}`.
fn keyword_passwords(line: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let lower = line.to_ascii_lowercase();
    for name in NAMES {
        let mut from = 0;
        while let Some(i) = lower[from..].find(name) {
            let key_start = from + i;
            let key_end = key_start + name.len();
            from = key_end;
            let before = lower[..key_start].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                continue;
            }
            let after = &line[key_end..];
            let sep = after.len() - after.trim_start_matches([' ', '\t', '"', '\'']).len();
            let Some(op) = after[sep..]
                .chars()
                .next()
                .filter(|c| matches!(c, '=' | ':'))
            else {
                continue;
            };
            let value_from = key_end + sep + op.len_utf8();
            let value = &line[value_from..];
            let lead = value.len() - value.trim_start_matches([' ', '\t', '"', '\'']).len();
            let start = value_from + lead;
            let len = line[start..].find(ends_value).unwrap_or(line.len() - start);
            let v = &line[start..start + len];
            if !v.is_empty() && !v.starts_with('$') && !v.starts_with('<') {
                out.push(start..start + len);
            }
        }
    }
    out
}

/// Every password in the registry file `id` is an `E114` at its place (also when the
/// file does not parse: the password is there all the same).
pub fn check(id: FileId, sources: &SourceMap, diags: &mut Diagnostics) {
    let file = sources.get(id);
    for r in find(&file.text) {
        diags.push(
            Diagnostic::error(
                Code::SecretInRegistry,
                "the registry holds a password; it is committed with the registry, so everyone who can read the repository can read it",
            )
            .at(Span::new(id, r))
            .label("a password")
            .help("remove it, and change the password: it stays in the repository's history. sqlpact reads connection strings from DATABASE_URL or a file (`verify --database-url-file`), never from the registry"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    fn found(text: &str) -> Vec<&str> {
        find(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn passwords_are_found_in_urls_keywords_and_keys() {
        assert_eq!(
            found("# db: postgres://app:hunter2@db:5432/app\n"),
            ["hunter2"]
        );
        assert_eq!(
            found("url: \"postgresql://a:p%40ss@h/d?sslmode=require\"\n"),
            ["p%40ss"]
        );
        assert_eq!(
            found("dsn: host=db user=app password=s3cret dbname=x\n"),
            ["s3cret"]
        );
        assert_eq!(found("  password: 'hunter2'\n"), ["hunter2"]);
        assert_eq!(found("  DB_PASSWORD: hunter2 # yes\n"), ["hunter2"]);
        assert_eq!(
            found("a: postgres://u:one@h b: postgres://v:two@h\n"),
            ["one", "two"]
        );
    }

    #[test]
    fn masking_keeps_every_offset() {
        let text = "a: postgres://u:pässwörd@h\nb: 1\n";
        let masked = super::mask(text);
        assert_eq!(masked.len(), text.len());
        assert!(!masked.contains("pässwörd"), "{masked}");
        assert!(masked.ends_with("@h\nb: 1\n"), "{masked}");
        assert!(matches!(
            super::mask("b: 1\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn masking_near_a_character_of_several_bytes_does_not_panic() {
        // Found by the `sql` fuzz target: a diagnostic just after `\u{fffd}` (3 bytes).
        let text = "a\nb: postgres://u:pw@h \u{fffd}x\nc\n";
        let after = text.find('x').unwrap();
        for near in [after..after + 1, after - 1..after, after..text.len() + 9] {
            let masked = super::mask_near(text, std::slice::from_ref(&near));
            assert_eq!(masked.len(), text.len(), "{near:?}");
            assert!(!masked.contains("pw@"), "{near:?}: {masked}");
        }
    }

    #[test]
    fn what_holds_no_password_is_left_alone() {
        for text in [
            "url: postgres://app@db/app\n",
            "url: postgres://db:5432/app\n",
            "password: ${DB_PASSWORD}\n",
            "password:\n",
            "passwords_rotate: true\n",
            "docs: https://example.com/a:b\n",
            "-- name: ResetPassword :exec\n",
            "queries: [queries/password_reset.sql]\n",
        ] {
            assert_eq!(found(text), Vec::<&str>::new(), "{text}");
        }
    }
}
