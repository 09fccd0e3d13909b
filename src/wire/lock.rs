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
        // The layout `render` writes is read directly; anything else (a hand edit in
        // another YAML style, or an error) goes to the YAML reader.
        let lock = match canonical(text) {
            Some(lock) => lock,
            None => serde_saphyr::from_str(text).map_err(|e| {
                let at = e.location().map(|l| (l.line() as u32, l.column() as u32));
                (e.without_snippet().to_string(), at)
            })?,
        };
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

/// Reads a lock written by [`Lock::render`] and not edited since; `None` for any other
/// text (another YAML style, an edit, an error), which the YAML reader takes. Several
/// times faster than YAML for a large lock, which every generation and every compared
/// version reads.
fn canonical(text: &str) -> Option<Lock> {
    #[derive(Clone, Copy)]
    enum In {
        Top,
        Section(bool),
        Entry(bool),
        Fields(bool),
        Reserved(bool),
    }
    let mut lock = Lock::default();
    let mut version = None;
    let mut at = In::Top;
    let mut current: Option<String> = None;
    let mut entry = Numbers::default();
    let mut seen_sections = [false; 2];
    // Closes the entry being read into its section.
    let close =
        |lock: &mut Lock, current: &mut Option<String>, entry: &mut Numbers, enums: bool| {
            let Some(name) = current.take() else {
                return Some(());
            };
            let map = if enums {
                &mut lock.enums
            } else {
                &mut lock.messages
            };
            map.insert(name, std::mem::take(entry))
                .is_none()
                .then_some(())
        };
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = &line[indent..];
        let (k, v) = split_key(body)?;
        let v = v.strip_prefix(' ').unwrap_or(v);
        if v.starts_with(' ') || v.contains(" #") {
            return None;
        }
        match (indent, at) {
            (0, _) => {
                if let In::Section(e) | In::Entry(e) | In::Fields(e) | In::Reserved(e) = at {
                    close(&mut lock, &mut current, &mut entry, e)?;
                }
                match (k, v) {
                    ("version", n) if version.is_none() => version = Some(n.parse().ok()?),
                    ("messages" | "enums", "") => {
                        let enums = k == "enums";
                        if std::mem::replace(&mut seen_sections[usize::from(enums)], true) {
                            return None;
                        }
                        at = In::Section(enums);
                    }
                    _ => return None,
                }
            }
            (2, In::Section(e) | In::Entry(e) | In::Fields(e) | In::Reserved(e))
                if v.is_empty() =>
            {
                close(&mut lock, &mut current, &mut entry, e)?;
                current = Some(scalar(k)?);
                at = In::Entry(e);
            }
            (4, In::Entry(e) | In::Fields(e) | In::Reserved(e)) => match (k, v) {
                ("retired", "true") if !entry.retired => entry.retired = true,
                ("fields", "") => at = In::Fields(e),
                ("reserved", "") => at = In::Reserved(e),
                _ => return None,
            },
            (6, In::Fields(_)) => {
                if entry.fields.insert(scalar(k)?, v.parse().ok()?).is_some() {
                    return None;
                }
            }
            (6, In::Reserved(_)) => {
                if entry.reserved.insert(k.parse().ok()?, scalar(v)?).is_some() {
                    return None;
                }
            }
            _ => return None,
        }
    }
    if let In::Section(e) | In::Entry(e) | In::Fields(e) | In::Reserved(e) = at {
        close(&mut lock, &mut current, &mut entry, e)?;
    }
    lock.version = version?;
    // Only text `render` would write back byte for byte is read here: that is what
    // makes this reading the YAML reader's.
    (lock.render() == text).then_some(lock)
}

/// `key: value` at the colon after the key, which may be JSON-quoted.
fn split_key(body: &str) -> Option<(&str, &str)> {
    if !body.starts_with('"') {
        return body.split_once(':');
    }
    let mut escaped = false;
    for (i, c) in body.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let (k, rest) = body.split_at(i + 1);
                return Some((k, rest.strip_prefix(':')?));
            }
            _ => {}
        }
    }
    None
}

/// A key or value as [`key`] writes it: a plain identifier, or JSON-quoted.
fn scalar(s: &str) -> Option<String> {
    if s.starts_with('"') {
        return serde_json::from_str(s).ok();
    }
    (key(s) == s).then(|| s.to_owned())
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
    fn the_direct_reading_equals_the_yaml_readers() {
        let mut lock = Lock {
            version: LOCK_VERSION,
            ..Lock::default()
        };
        for (i, name) in ["Row", "Ünïcode \"q\"", "a:b", "true", "_x1", "2fa"]
            .iter()
            .enumerate()
        {
            let m = lock.messages.entry((*name).into()).or_default();
            m.assign(
                &names(&["id", "yes", "in progress", "tab\there", "x"]),
                &BTreeMap::new(),
            );
            m.assign(
                &names(&["id", "yes", "in progress"][..=i % 3]),
                &BTreeMap::new(),
            );
            lock.enums
                .entry(format!("E{name}"))
                .or_default()
                .assign(&names(&["on", "off"]), &BTreeMap::new());
        }
        lock.enums.entry("Gone".into()).or_default().retire();
        lock.messages
            .entry("Old".into())
            .or_default()
            .assign(&names(&["a"]), &BTreeMap::new());
        lock.messages.get_mut("Old").unwrap().retire();
        let text = lock.render();
        let yaml: Lock = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(yaml, lock);
        assert_eq!(canonical(&text), Some(yaml));
        // Hand edits leave it to the YAML reader, which reads them all the same.
        for edited in [
            text.replace("version: 1", "version: 1 # layout"),
            text.replacen("      id: 1", "      id:  1", 1),
            text.replacen("messages:\n", "messages:\n\n", 1),
            format!("{text}# end\n"),
        ] {
            assert_eq!(canonical(&edited), None, "{edited}");
            assert_eq!(Lock::parse(&edited).map_err(|e| e.0), Ok(lock.clone()));
        }
    }

    #[test]
    fn a_number_used_twice_is_refused() {
        let text = "version: 1\nmessages:\n  Row:\n    fields:\n      a: 1\n      b: 1\n";
        let err = Lock::parse(text).unwrap_err().0;
        assert!(err.contains("both have number 1"), "{err}");
    }
}
