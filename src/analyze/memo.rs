//! Reusing query analyses across related registries.
//!
//! `sqlpact changelog` and `compat --transitive` analyze many versions of one contract,
//! and replay each version's queries against the others' schemas. Most queries and
//! most tables are the same from one version to the next, so a query's analysis is
//! kept under a key made of everything it depends on:
//!
//! - the query as written (name, command, SQL, doc comment, optional parameters);
//! - the registry settings that change analyses ([`config_key`]): type and
//!   nullability overrides and the Go nullable style;
//! - the schema objects the SQL can reach ([`Fingerprints::of_sql`]): every table,
//!   view, enum, domain, function or schema whose name appears as a word in the SQL,
//!   each hashed with its columns (a function: its signatures) and the user types they
//!   use.
//!
//! The third part errs on the side of caution: a word that happens to name an object
//! only adds that object to the key. Only successful analyses that reported nothing
//! are kept; a hit still gets its own source location and policy.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use crate::catalog::{Catalog, FnResult};
use crate::model;
use crate::registry::{Located, RawQuery, RegistryFile};
use crate::types::PgType;

/// A query's analysis, as kept.
pub(super) struct Memoized {
    pub query: model::Query,
    /// Whether it changes data (its policy is worked out again on every use).
    pub writes: bool,
    /// The overrides it used (`(query, column)`), to report unused ones.
    pub used: Vec<(String, String)>,
}

/// Analyses shared between `analyze` runs; safe to use from several threads.
#[derive(Default)]
pub struct Memo {
    queries: Mutex<HashMap<u64, Arc<Memoized>>>,
    /// Catalogs, by their schema sources.
    pub(super) catalogs: crate::catalog::Cache,
}

impl Memo {
    pub(super) fn get(&self, key: u64) -> Option<Arc<Memoized>> {
        self.queries.lock().ok()?.get(&key).cloned()
    }

    pub(super) fn put(&self, key: u64, m: Memoized) {
        if let Ok(mut map) = self.queries.lock() {
            map.insert(key, Arc::new(m));
        }
    }

    /// How many analyses are kept.
    pub fn len(&self) -> usize {
        self.queries.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The identifiers a SQL text contains, as written and lowercased, sorted and
/// deduplicated: every name the query can resolve is among them.
pub fn words(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    for w in sql.split(|c: char| !is_word(c)).filter(|w| !w.is_empty()) {
        if w.starts_with(|c: char| c.is_ascii_digit() || c == '$') {
            continue;
        }
        let lower: String = w.chars().flat_map(char::to_lowercase).collect();
        if lower != w {
            out.push(w.to_owned());
        }
        out.push(lower);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A hash of each schema object of a catalog, by its unqualified name.
#[derive(Default, Clone)]
pub struct Fingerprints {
    by_name: HashMap<String, u64>,
}

impl Fingerprints {
    pub fn of(cat: &Catalog) -> Self {
        let mut parts: BTreeMap<String, DefaultHasher> = BTreeMap::new();
        let mut add = |qualified: &str, what: &dyn Fn(&mut DefaultHasher)| {
            let short = qualified.rsplit('.').next().unwrap_or(qualified).to_owned();
            let h = parts.entry(short).or_default();
            qualified.hash(h);
            what(h);
        };
        for (name, r) in &cat.relations {
            add(name, &|h| {
                (r.kind == crate::catalog::RelKind::View).hash(h);
                for c in &r.columns {
                    (
                        &c.name,
                        c.ty.to_string(),
                        c.not_null,
                        c.has_default,
                        c.generated,
                        c.identity,
                        c.primary_key,
                        c.null_elements,
                    )
                        .hash(h);
                    type_def(cat, &c.ty, h, 0);
                }
            });
        }
        for (name, e) in &cat.enums {
            add(name, &|h| ("enum", &e.values).hash(h));
        }
        for (name, c) in &cat.composites {
            add(name, &|h| {
                "composite".hash(h);
                for (f, t) in &c.fields {
                    (f, t.to_string()).hash(h);
                    type_def(cat, t, h, 0);
                }
            });
        }
        for (name, d) in &cat.domains {
            add(name, &|h| {
                ("domain", d.base.to_string(), d.not_null).hash(h);
                type_def(cat, &d.base, h, 0);
            });
        }
        for (name, overloads) in &cat.functions {
            add(name, &|h| {
                for o in overloads {
                    "function".hash(h);
                    for a in &o.args {
                        a.to_string().hash(h);
                        type_def(cat, a, h, 0);
                    }
                    (o.defaults, o.volatile).hash(h);
                    std::mem::discriminant(&o.result).hash(h);
                    let cols: Vec<(&str, &PgType)> = match &o.result {
                        FnResult::Value { ty, column } => {
                            vec![(column.as_deref().unwrap_or(""), ty)]
                        }
                        FnResult::Record => Vec::new(),
                        FnResult::Columns(cols) => {
                            cols.iter().map(|(n, t)| (n.as_str(), t)).collect()
                        }
                        // The relation's columns as this catalog has them: a change to
                        // the table changes what the call yields.
                        FnResult::Relation(r) => {
                            r.hash(h);
                            cat.relations
                                .get(r)
                                .into_iter()
                                .flat_map(|r| &r.columns)
                                .map(|c| (c.name.as_str(), &c.ty))
                                .collect()
                        }
                    };
                    for (name, ty) in cols {
                        (name, ty.to_string()).hash(h);
                        type_def(cat, ty, h, 0);
                    }
                }
            });
        }
        for name in &cat.unread_functions {
            add(name, &|h| "unread function".hash(h));
        }
        for s in &cat.schemas {
            // A schema's name alone: what is in it is hashed under its objects' names.
            parts.entry(s.clone()).or_default().write_u8(b's');
        }
        Fingerprints {
            by_name: parts.into_iter().map(|(k, h)| (k, h.finish())).collect(),
        }
    }

    /// The hash of the objects `sql` can reach in this catalog: the same as
    /// `of_words(&words(sql))`, without building the list of words.
    pub fn of_sql(&self, sql: &str) -> u64 {
        let mut hits: Vec<(&str, u64)> = Vec::new();
        let mut lower = String::new();
        let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
        for w in sql.split(|c: char| !is_word(c)).filter(|w| !w.is_empty()) {
            if w.starts_with(|c: char| c.is_ascii_digit() || c == '$') {
                continue;
            }
            if let Some((k, v)) = self.by_name.get_key_value(w) {
                hits.push((k, *v));
            }
            if w.chars().any(char::is_uppercase) {
                lower.clear();
                lower.extend(w.chars().flat_map(char::to_lowercase));
                if let Some((k, v)) = self.by_name.get_key_value(lower.as_str()) {
                    hits.push((k, *v));
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        let mut h = DefaultHasher::new();
        for (w, v) in hits {
            (w, v).hash(&mut h);
        }
        h.finish()
    }

    /// The same, from [`words`].
    pub fn of_words(&self, words: &[String]) -> u64 {
        let mut h = DefaultHasher::new();
        for w in words {
            if let Some(v) = self.by_name.get(w) {
                (w.as_str(), *v).hash(&mut h);
            }
        }
        h.finish()
    }

    /// The object hash of one word, when it names an object.
    pub fn object(&self, word: &str) -> Option<u64> {
        self.by_name.get(word).copied()
    }
}

/// A user type's definition, folded into `h` (domains over user types recurse).
fn type_def(cat: &Catalog, t: &PgType, h: &mut DefaultHasher, depth: u8) {
    let mut t = t;
    while let PgType::Array(e) = t {
        t = e;
    }
    let PgType::Named(n) = t else { return };
    if let Some(e) = cat.enums.get(n) {
        e.values.hash(h);
    } else if let Some(d) = cat.domains.get(n) {
        (d.base.to_string(), d.not_null).hash(h);
        if depth < 8 {
            type_def(cat, &d.base, h, depth + 1);
        }
    } else if let Some(c) = cat.composites.get(n) {
        for (f, t) in &c.fields {
            (f, t.to_string()).hash(h);
            if depth < 8 {
                type_def(cat, t, h, depth + 1);
            }
        }
    }
}

fn value<T: Hash>(l: &Option<Located<T>>, h: &mut DefaultHasher) {
    l.as_ref().map(|l| &l.value).hash(h);
}

/// The registry settings an analysis depends on, hashed: overrides and the Go nullable
/// style (not the version, policies or outputs, which a hit recomputes or never reads).
pub fn config_key(cfg: &RegistryFile) -> u64 {
    let mut h = DefaultHasher::new();
    for t in &cfg.types {
        for l in [
            &t.db_type,
            &t.column,
            &t.query_column,
            &t.go,
            &t.go_nullable,
            &t.rust,
            &t.proto,
        ] {
            value(l, &mut h);
        }
    }
    h.write_u8(b'|');
    for n in &cfg.nullability {
        for l in [&n.column, &n.query_column, &n.param] {
            value(l, &mut h);
        }
        n.nullable.hash(&mut h);
    }
    h.write_u8(b'|');
    value(
        &cfg.outputs
            .as_ref()
            .and_then(|o| o.go.as_ref())
            .and_then(|g| g.nullable.clone()),
        &mut h,
    );
    h.finish()
}

/// The key of one query's analysis (see the module's documentation).
pub fn query_key(config: u64, raw: &RawQuery, objects: u64) -> u64 {
    let mut h = DefaultHasher::new();
    config.hash(&mut h);
    (&raw.name, &raw.command, &raw.sql, &raw.doc).hash(&mut h);
    for (name, _) in &raw.optional {
        name.hash(&mut h);
    }
    objects.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_sql_is_of_words() {
        let mut p = Fingerprints::default();
        p.by_name.insert("accounts".into(), 1);
        p.by_name.insert("Big".into(), 2);
        p.by_name.insert("mood".into(), 3);
        for sql in [
            "SELECT * FROM accounts",
            "SELECT \"Big\".x, ACCOUNTS.id FROM \"Big\", Accounts WHERE m = 'a'::mood",
            "SELECT 1",
            "SELECT $1::mood, 2mood",
        ] {
            assert_eq!(p.of_sql(sql), p.of_words(&words(sql)), "{sql}");
        }
        assert_ne!(
            p.of_sql("SELECT * FROM accounts"),
            p.of_sql("SELECT * FROM Big")
        );
        assert_eq!(
            p.of_sql("SELECT * FROM accounts"),
            p.of_sql("select id from ACCOUNTS")
        );
    }

    #[test]
    fn words_are_identifiers_as_written_and_folded() {
        let got = words("SELECT a.id, \"Big\" FROM public.accounts a WHERE x = $1 AND n > 10");
        let want = [
            "AND", "Big", "FROM", "SELECT", "WHERE", "a", "accounts", "and", "big", "from", "id",
            "n", "public", "select", "where", "x",
        ];
        assert_eq!(got, want);
    }
}
