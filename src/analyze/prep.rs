//! Rewrites sqlc's parameter syntax into PostgreSQL's `$n`, keeping a map from the
//! rewritten text back to the original so diagnostics point at what the user wrote.
//!
//! | written                  | sent                  |
//! |--------------------------|-----------------------|
//! | `@name`, `sqlc.arg(name)` | `$n`                  |
//! | `sqlc.narg(name)`        | `$n` (nullable)       |
//! | `x IN (sqlc.slice(ids))` | `x = ANY($n)`         |
//! | `sqlc.embed(t)`          | `t.*` (one struct)    |
//! | `$1`                     | `$1`                  |

use std::ops::Range;

use crate::sqltext::scan_code;

#[derive(Clone, Debug)]
pub struct PreParam {
    pub name: String,
    pub position: u32,
    pub narg: bool,
    pub slice: bool,
    /// Written positionally (`$1`): the name is derived later from context.
    pub positional: bool,
    /// Where it is first written, in the original text.
    pub span: Range<usize>,
}

#[derive(Clone, Debug)]
pub struct PreEmbed {
    pub alias: String,
    /// Offset of the `t.*` in the rewritten text.
    pub at: usize,
}

#[derive(Debug)]
pub struct Prepared {
    pub sql: String,
    pub params: Vec<PreParam>,
    pub embeds: Vec<PreEmbed>,
    /// (offset in `sql`, offset in the original) at each point where the two diverge.
    edits: Vec<(usize, usize)>,
    pub errors: Vec<(Range<usize>, String, String)>,
}

impl Prepared {
    /// The original offset of an offset in the rewritten text.
    pub fn original(&self, at: usize) -> usize {
        let i = self.edits.partition_point(|(o, _)| *o <= at);
        if i == 0 {
            return at;
        }
        let (o, orig) = self.edits[i - 1];
        orig + (at - o)
    }
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Reads `(name)` after a `sqlc.xxx` call; returns the name and the index after `)`.
fn call_arg(text: &str, open: usize) -> Option<(String, usize)> {
    let rest = &text[open..];
    let rest_trim = rest.strip_prefix('(')?;
    let close = rest_trim.find(')')?;
    let inner = rest_trim[..close].trim();
    let name = inner.trim_matches(|c| c == '\'' || c == '"');
    if name.is_empty() || !name.bytes().all(is_ident_char) {
        return None;
    }
    Some((name.to_owned(), open + 1 + close + 1))
}

pub fn prepare(text: &str) -> Prepared {
    let bytes = text.as_bytes();
    let mut p = Prepared {
        sql: String::with_capacity(text.len() + 8),
        params: Vec::new(),
        embeds: Vec::new(),
        edits: Vec::new(),
        errors: Vec::new(),
    };
    let mut copied = 0; // original bytes copied so far
    let mut skip_until = 0;
    let mut pending_close_paren: Option<usize> = None;
    let mut named = false;
    let mut positional = false;

    // Marks that the output continues with original text at `orig`.
    fn sync(p: &mut Prepared, orig: usize) {
        p.edits.push((p.sql.len(), orig));
    }

    scan_code(text, |i| {
        if i < skip_until {
            return 0;
        }
        let prev = if i > 0 { bytes[i - 1] } else { b' ' };
        // As bytes: the `n` bytes after `i` may end inside a character.
        let lower_rest = |n: usize| bytes[i..(i + n).min(text.len())].to_ascii_lowercase();
        // Closing paren of an `IN (sqlc.slice(x))` rewritten to `= ANY($n)`.
        if let Some(close) = pending_close_paren {
            if i == close {
                // The `)` of `= ANY($n)` is already written; only blanks stood between.
                copied = i + 1;
                sync(&mut p, copied);
                pending_close_paren = None;
                return 1;
            }
        }
        if bytes[i] == b'@'
            && !matches!(prev, b'<' | b'@' | b'!' | b'~' | b'&' | b'|' | b'#')
            && !is_ident_char(prev)
        {
            let start = i + 1;
            let len = bytes[start..]
                .iter()
                .take_while(|b| is_ident_char(**b))
                .count();
            if len == 0 || bytes[start].is_ascii_digit() {
                return 0;
            }
            let name = &text[start..start + len];
            named = true;
            p.sql.push_str(&text[copied..i]);
            let n = param_number(&mut p, name, false, false, false, i..start + len);
            p.sql.push_str(&format!("${n}"));
            copied = start + len;
            sync(&mut p, copied);
            return 1 + len;
        }
        if bytes[i] == b'$' && !is_ident_char(prev) {
            let len = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if len > 0 {
                positional = true;
                let digits = &text[i + 1..i + 1 + len];
                let n: u32 = digits.parse().unwrap_or(0);
                if !p.params.iter().any(|q| q.position == n) {
                    p.params.push(PreParam {
                        name: String::new(),
                        position: n,
                        narg: false,
                        slice: false,
                        positional: true,
                        span: i..i + 1 + len,
                    });
                }
                return 1 + len;
            }
        }
        if (bytes[i] == b's' || bytes[i] == b'S')
            && !is_ident_char(prev)
            && lower_rest(5) == b"sqlc."
        {
            let fn_start = i + 5;
            let fn_len = bytes[fn_start..]
                .iter()
                .take_while(|b| is_ident_char(**b))
                .count();
            let func = text[fn_start..fn_start + fn_len].to_ascii_lowercase();
            let open = fn_start + fn_len + text[fn_start + fn_len..].len()
                - text[fn_start + fn_len..].trim_start().len();
            if !matches!(func.as_str(), "arg" | "narg" | "slice" | "embed") {
                let help = if func == "optional" {
                    "sqlpact has no `sqlc.optional`: write the filter in the SQL with a named parameter (`AND category = @category`) and list it under the header as `-- @optional category`, which makes it match everything when unset".into()
                } else {
                    "use sqlc.arg, sqlc.narg, sqlc.slice or sqlc.embed".into()
                };
                p.errors.push((
                    i..fn_start + fn_len,
                    format!("unknown macro `sqlc.{func}`"),
                    help,
                ));
                return 5 + fn_len;
            }
            let Some((name, end)) = call_arg(text, open) else {
                p.errors.push((
                    i..fn_start + fn_len,
                    format!("`sqlc.{func}` needs one name in parentheses"),
                    format!("write `sqlc.{func}(name)`"),
                ));
                return 5 + fn_len;
            };
            match func.as_str() {
                "arg" | "narg" | "slice" => {
                    named = true;
                    let mut head = p.sql.len();
                    let mut in_list = false;
                    if func == "slice" {
                        // Rewrite `[NOT] IN (` before it into `= ANY(` / `<> ALL(`.
                        let before = &text[copied..i];
                        let out_before = format!("{}{}", &p.sql, before);
                        let t = out_before.trim_end();
                        if let Some(t2) = t.strip_suffix('(') {
                            let t2 = t2.trim_end();
                            let lower = t2.to_ascii_lowercase();
                            if lower.ends_with("in")
                                && !t2[..t2.len() - 2]
                                    .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                            {
                                let t3 = t2[..t2.len() - 2].trim_end();
                                let negated = t3.to_ascii_lowercase().ends_with("not")
                                    && !t3[..t3.len() - 3]
                                        .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
                                let keep = if negated {
                                    t3[..t3.len() - 3].trim_end()
                                } else {
                                    t3
                                };
                                p.sql = format!(
                                    "{keep} {}",
                                    if negated { "<> ALL(" } else { "= ANY(" }
                                );
                                head = p.sql.len();
                                in_list = true;
                                // The IN list's own `)` follows the call.
                                let after = &text[end..];
                                let close = end + (after.len() - after.trim_start().len());
                                if text.as_bytes().get(close) == Some(&b')') {
                                    pending_close_paren = Some(close);
                                }
                            }
                        }
                        if !in_list {
                            p.errors.push((
                                i..end,
                                "`sqlc.slice` must be the whole list of an IN".into(),
                                "write `column IN (sqlc.slice(name))`, or `column = ANY(@name::type[])`".into(),
                            ));
                        }
                    }
                    if !in_list {
                        p.sql.push_str(&text[copied..i]);
                        head = p.sql.len();
                    }
                    let _ = head;
                    let n = param_number(
                        &mut p,
                        &name,
                        func == "narg",
                        func == "slice",
                        false,
                        i..end,
                    );
                    p.sql.push_str(&format!("${n}"));
                    if in_list {
                        p.sql.push(')');
                    }
                }
                _ => {
                    // `sqlc.embed`, the only macro left.
                    p.sql.push_str(&text[copied..i]);
                    p.embeds.push(PreEmbed {
                        alias: name.to_ascii_lowercase(),
                        at: p.sql.len(),
                    });
                    p.sql.push_str(&format!("{name}.*"));
                }
            }
            copied = end;
            skip_until = end;
            sync(&mut p, copied);
            return end - i;
        }
        0
    });
    p.sql.push_str(&text[copied..]);
    if named && positional {
        let at = p
            .params
            .iter()
            .find(|q| q.positional)
            .map_or(0..0, |q| q.span.clone());
        p.errors.push((
            at,
            "a query mixes named parameters with positional `$n` ones".into(),
            "use one style per query: `@name` everywhere, or `$1`, `$2`, ...".into(),
        ));
    }
    p.params.sort_by_key(|q| q.position);
    p
}

fn param_number(
    p: &mut Prepared,
    name: &str,
    narg: bool,
    slice: bool,
    positional: bool,
    span: Range<usize>,
) -> u32 {
    if let Some(q) = p
        .params
        .iter_mut()
        .find(|q| q.name == name && !q.positional)
    {
        q.narg |= narg;
        q.slice |= slice;
        return q.position;
    }
    let position = p.params.len() as u32 + 1;
    p.params.push(PreParam {
        name: name.to_owned(),
        position,
        narg,
        slice,
        positional,
        span,
    });
    position
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_named_params_and_maps_offsets_back() {
        let src = "SELECT * FROM t WHERE a = @alpha AND b = sqlc.narg(beta) AND c = @alpha";
        let p = prepare(src);
        assert_eq!(p.sql, "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $1");
        assert_eq!(p.params.len(), 2);
        assert!(p.params[1].narg);
        let at = p.sql.find("AND b").unwrap();
        assert_eq!(p.original(at), src.find("AND b").unwrap());
        let at = p.sql.rfind("c =").unwrap();
        assert_eq!(p.original(at), src.rfind("c =").unwrap());
    }

    #[test]
    fn a_character_of_several_bytes_after_an_s_is_text() {
        // Found by the `sql` fuzz target: `sqlc.` was looked for in a slice ending
        // inside `€`.
        for src in [
            "SELECT s\u{20ac}x",
            "SELECT sq\u{20ac}",
            "SELECT 'a' || s\u{fffd}",
        ] {
            let p = prepare(src);
            assert_eq!(p.sql, src);
            assert!(p.params.is_empty() && p.errors.is_empty(), "{src}");
        }
    }

    #[test]
    fn leaves_operators_strings_and_comments_alone() {
        let p = prepare("SELECT a @> '{}' , '@x', b <@ c -- @y\n FROM t WHERE d @@ e");
        assert!(p.params.is_empty(), "{:?}", p.params);
    }

    #[test]
    fn rewrites_slices_and_embeds() {
        let p = prepare("SELECT sqlc.embed(a), b.x FROM a JOIN b ON true WHERE a.id NOT IN (sqlc.slice(ids)) AND a.k IN ( sqlc.slice(ks) )");
        assert_eq!(
            p.sql,
            "SELECT a.*, b.x FROM a JOIN b ON true WHERE a.id <> ALL($1) AND a.k = ANY($2)"
        );
        assert!(p.params.iter().all(|q| q.slice));
        assert_eq!(p.embeds.len(), 1);
    }

    #[test]
    fn mixing_styles_is_an_error() {
        let p = prepare("SELECT 1 WHERE a = $1 AND b = @b");
        assert_eq!(p.errors.len(), 1);
    }
}
