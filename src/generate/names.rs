//! Identifier conversion per language: case, initialisms, keywords, collisions.

use std::collections::HashSet;

/// Splits `get_account`, `GetAccount`, `account-id`, `HTTPServer2` into lowercase words.
/// Words are ASCII: a letter or digit beyond it is spelled as its code point (`größe` →
/// `gru00f6sse`), so every identifier is valid in Go, Rust and protobuf and no name can
/// pass for another one written in a look-alike script.
pub fn words(s: &str) -> Vec<String> {
    split_words(s).into_iter().map(|(w, _)| w).collect()
}

/// `words`, each with whether it was written in capitals (`ISBN`, `HTTPURL`).
fn split_words(s: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut upper = true;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii() && c.is_alphanumeric() {
            cur.push_str(&format!("u{:04x}", c as u32));
            upper = false;
            continue;
        }
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push((std::mem::take(&mut cur), upper));
                upper = true;
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // `IDs`, `URLs`: a plural initialism stays one word.
            let plural = chars.get(i + 1) == Some(&'s')
                && !chars.get(i + 2).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_uppercase() && next_lower && !plural)
            {
                out.push((std::mem::take(&mut cur), upper));
                upper = true;
            }
        }
        upper &= !c.is_ascii_lowercase();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push((cur, upper));
    }
    out
}

const GO_INITIALISMS: &[&str] = &[
    "id", "uuid", "url", "uri", "json", "api", "http", "https", "ip", "sql", "html", "xml", "tls",
    "ttl", "cpu", "db",
];

fn capitalize(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// One word of a Go identifier after the first: initialisms upper-cased, their
/// plurals too (`ids` → `IDs`).
fn go_word(w: &str) -> String {
    if GO_INITIALISMS.contains(&w) {
        return w.to_uppercase();
    }
    if let Some(stem) = w.strip_suffix('s') {
        if GO_INITIALISMS.contains(&stem) && stem.len() > 1 {
            return format!("{}s", stem.to_uppercase());
        }
    }
    capitalize(w)
}

/// An exported Go identifier: `account_id` → `AccountID`.
pub fn go_exported(s: &str) -> String {
    let mut out: String = words(s).iter().map(|w| go_word(w)).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'X');
    }
    out
}

/// The Go name of a query or a row type the user named: as `go_exported`, but a word
/// written in capitals in a mixed-case name stays so (`UpdateBookISBN`,
/// `GetByHTTPURL`), as sqlc keeps it; an all-capitals name is words (`GET_USER_BY_ID` →
/// `GetUserByID`).
pub fn go_declared(s: &str) -> String {
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        return go_exported(s);
    }
    let mut out: String = split_words(s)
        .iter()
        .map(|(w, upper)| {
            if *upper && w.len() > 1 && w.bytes().any(|b| b.is_ascii_alphabetic()) {
                w.to_ascii_uppercase()
            } else {
                go_word(w)
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'X');
    }
    out
}

const GO_KEYWORDS: &[&str] = &[
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
];

/// Names the generated method bodies use for themselves.
const GO_RESERVED_LOCALS: &[&str] = &[
    "ctx", "group", "k", "args", "q", "db", "err", "rows", "row", "items", "i", "arg", "st", "b",
    "br", "n", "tag", "append", "len", "nil", "true", "false", "string", "error", "any", "new",
    "make", "copy", "int", "bool", "byte", "rune", "float64", "int64", "int32", "int16",
];

/// An unexported Go identifier for a parameter: `account_id` → `accountID`; keywords
/// and names the generated code uses get a trailing `_`.
pub fn go_local(s: &str) -> String {
    let ws = words(s);
    let mut out = String::new();
    for (i, w) in ws.iter().enumerate() {
        if i == 0 {
            out.push_str(w);
        } else {
            out.push_str(&go_word(w));
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'p');
    }
    if GO_KEYWORDS.contains(&out.as_str()) || GO_RESERVED_LOCALS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// An unexported Go identifier for a package-level constant: `GetAccount` → `getAccount`.
pub fn go_unexported(s: &str) -> String {
    let e = go_exported(s);
    let mut c = e.chars();
    let first = c.next().map(|f| f.to_lowercase().collect::<String>());
    let mut out = first.unwrap_or_default() + c.as_str();
    if GO_KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];
/// Keywords that cannot be raw identifiers.
const RUST_NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];
/// Names the generated function bodies use for themselves.
const RUST_RESERVED_LOCALS: &[&str] = &["client", "row", "rows", "params", "stmt", "items"];

/// A Rust snake_case identifier: `GetAccount` → `get_account`, `type` → `r#type`.
pub fn rust_snake(s: &str) -> String {
    let mut out = words(s).join("_");
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "f_");
    }
    rust_ident(out)
}

/// A Rust snake_case name for a function parameter (avoids the body's own locals).
pub fn rust_param(s: &str) -> String {
    let n = rust_snake(s);
    if RUST_RESERVED_LOCALS.contains(&n.as_str()) {
        format!("{n}_")
    } else {
        n
    }
}

/// A Rust PascalCase type or variant name: `account_status` → `AccountStatus`.
pub fn rust_pascal(s: &str) -> String {
    let mut out: String = words(s).iter().map(|w| capitalize(w)).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    rust_ident(out)
}

fn rust_ident(s: String) -> String {
    if RUST_NOT_RAW.contains(&s.as_str()) {
        format!("{s}_")
    } else if RUST_KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// Makes names unique in order of appearance: the second `id` becomes `id_2`.
pub fn dedupe(names: &mut [String], sep: &str) {
    let mut seen = HashSet::new();
    for n in names.iter_mut() {
        if !seen.insert(n.clone()) {
            let base = n.trim_start_matches("r#").to_owned();
            let mut k = 2;
            while !seen.insert(format!("{base}{sep}{k}")) {
                k += 1;
            }
            *n = format!("{base}{sep}{k}");
        }
    }
}

/// English singular of a table name for a struct: `accounts` → `account`,
/// `entries` → `entry`, `addresses` → `address`.
pub fn singular(s: &str) -> String {
    if let Some(stem) = s.strip_suffix("ies") {
        format!("{stem}y")
    } else if s.ends_with("sses")
        || s.ends_with("xes")
        || s.ends_with("ches")
        || s.ends_with("shes")
    {
        s[..s.len() - 2].to_owned()
    } else if s.ends_with("ss") || s.ends_with("us") || s.ends_with("is") {
        s.to_owned()
    } else if let Some(stem) = s.strip_suffix('s') {
        stem.to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_every_convention() {
        assert_eq!(words("get_account"), ["get", "account"]);
        assert_eq!(words("GetAccountByID"), ["get", "account", "by", "id"]);
        assert_eq!(words("HTTPServer2go"), ["http", "server2go"]);
        assert_eq!(words("account-id"), ["account", "id"]);
        assert_eq!(words("GetAccountsByIDs"), ["get", "accounts", "by", "ids"]);
        assert_eq!(words("ListURLsNow"), ["list", "urls", "now"]);
    }

    #[test]
    fn words_are_ascii_whatever_the_name() {
        assert_eq!(words("größe"), ["gru00f6u00dfe"]);
        // A Cyrillic `а` cannot pass for a Latin `a`.
        assert_eq!(words("\u{430}ccount"), ["u0430ccount"]);
        assert_eq!(words("x² ½"), ["xu00b2", "u00bd"]);
        assert_eq!(words("a\u{301}b\n}`*/\"x"), ["a", "b", "x"]);
        assert_eq!(go_exported("\u{663}x"), "U0663x");
        assert_eq!(rust_snake("}}"), "f_");
    }

    #[test]
    fn go_names() {
        assert_eq!(go_declared("UpdateBookISBN"), "UpdateBookISBN");
        assert_eq!(go_declared("GetByHTTPURL"), "GetByHTTPURL");
        assert_eq!(go_declared("get_by_http_url"), "GetByHTTPURL");
        assert_eq!(go_declared("Get_user"), "GetUser");
        assert_eq!(go_declared("CreateApiKey"), "CreateAPIKey");
        assert_eq!(go_declared("ListV2Items"), "ListV2Items");
        assert_eq!(go_declared("A"), "A");
        assert_eq!(go_declared("GET_USER_BY_ID"), "GetUserByID");
        assert_eq!(go_exported("account_id"), "AccountID");
        assert_eq!(go_exported("metadata_json"), "MetadataJSON");
        assert_eq!(go_exported("2fa"), "X2fa");
        assert_eq!(go_local("account_id"), "accountID");
        assert_eq!(go_exported("from_account_ids"), "FromAccountIDs");
        assert_eq!(go_exported("urls"), "URLs");
        assert_eq!(go_exported("status"), "Status");
        assert_eq!(go_local("type"), "type_");
        assert_eq!(go_local("ctx"), "ctx_");
        assert_eq!(go_unexported("GetAccount"), "getAccount");
    }

    #[test]
    fn rust_names() {
        assert_eq!(rust_snake("GetAccount"), "get_account");
        assert_eq!(rust_snake("type"), "r#type");
        assert_eq!(rust_snake("self"), "self_");
        assert_eq!(rust_param("client"), "client_");
        assert_eq!(rust_pascal("account_status"), "AccountStatus");
        assert_eq!(rust_pascal("2fa"), "V2fa");
    }

    #[test]
    fn dedupe_appends_a_counter() {
        let mut v = vec!["id".to_owned(), "id".to_owned(), "id_2".to_owned()];
        dedupe(&mut v, "_");
        assert_eq!(v, ["id", "id_2", "id_2_2"]);
    }

    #[test]
    fn singular_handles_common_plurals() {
        assert_eq!(singular("accounts"), "account");
        assert_eq!(singular("ledger_entries"), "ledger_entry");
        assert_eq!(singular("addresses"), "address");
        assert_eq!(singular("status"), "status");
    }
}
