//! `sqlpact.lock`: the wire field numbers, committed next to the registry.
//!
//! A number, once given, never moves and is never given again: a field keeps its
//! number while it exists (a `renamed_from` rename carries it over), a removed field's
//! number becomes reserved together with its name, and a new field gets the next number
//! above every number the message ever used. Messages and enums that disappear stay in
//! the lock as `retired`, so that bringing them back continues their history.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Version of the lock file's layout.
pub const LOCK_VERSION: u32 = 1;

/// Protobuf reserves 19000–19999 for its own use.
const PROTO_RESERVED: std::ops::RangeInclusive<u32> = 19_000..=19_999;
/// The largest field number protobuf allows.
const MAX_FIELD: u32 = (1 << 29) - 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub version: u32,
    #[serde(default)]
    pub messages: BTreeMap<String, Numbers>,
    #[serde(default)]
    pub enums: BTreeMap<String, Numbers>,
}

/// The numbers of one message's fields or one enum's values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Numbers {
    /// Name → number, for what exists now.
    #[serde(default)]
    pub fields: BTreeMap<String, u32>,
    /// Number → the name it had, for what was removed.
    #[serde(default)]
    pub reserved: BTreeMap<u32, String>,
    /// The message or enum is no longer derived from the contract.
    #[serde(default)]
    pub retired: bool,
}

impl Numbers {
    fn used(&self) -> impl Iterator<Item = u32> + '_ {
        self.fields.values().chain(self.reserved.keys()).copied()
    }

    /// The next number above every number ever used, skipping protobuf's own range.
    fn next_free(&self) -> u32 {
        let mut n = self.used().max().unwrap_or(0) + 1;
        if PROTO_RESERVED.contains(&n) {
            n = PROTO_RESERVED.end() + 1;
        }
        n
    }

    /// Assigns numbers to `names` (in order). `renamed` maps a new name to its old name.
    /// Returns the number of each name.
    pub fn assign(&mut self, names: &[String], renamed: &BTreeMap<String, String>) -> Vec<u32> {
        self.retired = false;
        let mut old = std::mem::take(&mut self.fields);
        let mut out = Vec::with_capacity(names.len());
        let mut pending = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let kept = old.remove(name).or_else(|| {
                renamed
                    .get(name)
                    .filter(|from| !names.contains(from))
                    .and_then(|from| old.remove(from))
            });
            match kept {
                Some(n) => {
                    self.fields.insert(name.clone(), n);
                    out.push(n);
                }
                None => {
                    pending.push(i);
                    out.push(0);
                }
            }
        }
        // What is left in `old` was removed: reserve it before numbering the new ones,
        // so that no new field takes a number freed in the same edit.
        for (name, n) in old {
            self.reserved.insert(n, name);
        }
        for i in pending {
            let n = self.next_free();
            self.fields.insert(names[i].clone(), n);
            out[i] = n;
        }
        out
    }

    /// Retires everything: every number becomes reserved.
    pub fn retire(&mut self) {
        for (name, n) in std::mem::take(&mut self.fields) {
            self.reserved.insert(n, name);
        }
        self.retired = true;
    }

    /// Checks the invariants a hand-edited lock could break.
    fn check(&self, what: &str) -> Result<(), (String, u32)> {
        let mut seen = BTreeMap::new();
        for (name, n) in &self.fields {
            if *n > MAX_FIELD || PROTO_RESERVED.contains(n) {
                return Err((
                    format!("{what}: `{name}` has number {n}, which protobuf does not allow"),
                    *n,
                ));
            }
            if let Some(other) = seen.insert(*n, name) {
                return Err((
                    format!("{what}: `{other}` and `{name}` both have number {n}"),
                    *n,
                ));
            }
        }
        for (n, name) in &self.reserved {
            if let Some(other) = seen.get(n) {
                return Err((
                    format!("{what}: number {n} is used by `{other}` and reserved for `{name}`"),
                    *n,
                ));
            }
        }
        Ok(())
    }
}

impl Lock {
    /// Reads a lock; the error is the message and, when known, the 1-based line and column.
    pub fn parse(text: &str) -> Result<Lock, (String, Option<(u32, u32)>)> {
        let lock: Lock = serde_saphyr::from_str(text).map_err(|e| {
            let at = e.location().map(|l| (l.line() as u32, l.column() as u32));
            (e.without_snippet().to_string(), at)
        })?;
        if lock.version != LOCK_VERSION {
            return Err((
                format!(
                    "lock version {} is not one this sqlpact reads (it reads {LOCK_VERSION})",
                    lock.version
                ),
                None,
            ));
        }
        // A semantic error points at the last line holding the number it names.
        let locate = |(msg, n): (String, u32)| {
            let at = text
                .lines()
                .enumerate()
                .filter(|(_, l)| {
                    let l = l.trim();
                    l.ends_with(&format!(": {n}")) || l.starts_with(&format!("{n}:"))
                })
                .last()
                .map(|(i, l)| (i as u32 + 1, (l.len() - l.trim_start().len()) as u32 + 1));
            (msg, at)
        };
        for (name, m) in &lock.messages {
            m.check(&format!("message `{name}`")).map_err(locate)?;
            if m.fields.values().any(|n| *n == 0) {
                return Err(locate((
                    format!("message `{name}`: field number 0 is not allowed"),
                    0,
                )));
            }
        }
        for (name, e) in &lock.enums {
            e.check(&format!("enum `{name}`")).map_err(locate)?;
            if e.fields.values().any(|n| *n == 0) {
                return Err(locate((
                    format!("enum `{name}`: 0 is kept for UNSPECIFIED"),
                    0,
                )));
            }
        }
        Ok(lock)
    }

    /// The lock as written to disk: sorted, numbers in ascending order, stable bytes.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "# {}: the wire field numbers. Commit this file; `sqlpact generate` keeps it.\n",
            crate::generate::MARKER
        ));
        s.push_str("# A number is never moved or given twice; removed ones stay reserved.\n");
        s.push_str(&format!("version: {}\n", self.version.max(LOCK_VERSION)));
        for (title, map) in [("messages", &self.messages), ("enums", &self.enums)] {
            if map.is_empty() {
                continue;
            }
            s.push_str(&format!("{title}:\n"));
            for (name, n) in map {
                s.push_str(&format!("  {}:\n", key(name)));
                if n.retired {
                    s.push_str("    retired: true\n");
                }
                if !n.fields.is_empty() {
                    s.push_str("    fields:\n");
                    let mut by_number: Vec<(&u32, &String)> =
                        n.fields.iter().map(|(k, v)| (v, k)).collect();
                    by_number.sort();
                    for (num, name) in by_number {
                        s.push_str(&format!("      {}: {num}\n", key(name)));
                    }
                }
                if !n.reserved.is_empty() {
                    s.push_str("    reserved:\n");
                    for (num, name) in &n.reserved {
                        s.push_str(&format!("      {num}: {}\n", key(name)));
                    }
                }
            }
        }
        s
    }
}

/// A YAML key or value: bare when it is a plain identifier YAML reads as a string,
/// double-quoted (JSON escapes, which YAML reads) otherwise.
fn key(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn removed_numbers_are_never_given_again() {
        let mut n = Numbers::default();
        assert_eq!(
            n.assign(&names(&["a", "b", "c"]), &BTreeMap::new()),
            [1, 2, 3]
        );
        // Remove `c` and add `d` in one edit: `d` must not take 3.
        assert_eq!(
            n.assign(&names(&["a", "b", "d"]), &BTreeMap::new()),
            [1, 2, 4]
        );
        assert_eq!(n.reserved.get(&3).map(String::as_str), Some("c"));
        // Re-adding `c` gives a new number; 3 stays reserved.
        assert_eq!(
            n.assign(&names(&["c", "a", "b", "d"]), &BTreeMap::new()),
            [5, 1, 2, 4]
        );
        assert!(n.reserved.contains_key(&3));
    }

    #[test]
    fn a_rename_keeps_its_number() {
        let mut n = Numbers::default();
        n.assign(&names(&["id", "name"]), &BTreeMap::new());
        let renamed = BTreeMap::from([("display_name".to_owned(), "name".to_owned())]);
        assert_eq!(n.assign(&names(&["id", "display_name"]), &renamed), [1, 2]);
        assert!(n.reserved.is_empty());
    }

    #[test]
    fn protobufs_own_range_is_skipped() {
        let mut n = Numbers::default();
        n.fields.insert("x".into(), 18_999);
        assert_eq!(
            n.assign(&names(&["x", "y"]), &BTreeMap::new()),
            [18_999, 20_000]
        );
    }

    #[test]
    fn rendering_reads_back() {
        let mut lock = Lock {
            version: LOCK_VERSION,
            ..Lock::default()
        };
        let m = lock.messages.entry("Row".into()).or_default();
        m.assign(&names(&["id", "yes", "in-progress", "x"]), &BTreeMap::new());
        m.assign(&names(&["id", "yes", "in-progress"]), &BTreeMap::new());
        lock.enums.entry("Status".into()).or_default().retire();
        let text = lock.render();
        assert_eq!(Lock::parse(&text).map_err(|e| e.0), Ok(lock));
    }

    #[test]
    fn a_number_used_twice_is_refused() {
        let text = "version: 1\nmessages:\n  Row:\n    fields:\n      a: 1\n      b: 1\n";
        let err = Lock::parse(text).unwrap_err().0;
        assert!(err.contains("both have number 1"), "{err}");
    }
}
