//! `sqlpact changelog`: what changed between contract versions, and which client,
//! schema and wire versions run together.
//!
//! Every version is loaded and analyzed once, the versions sharing one
//! [`Memo`] so that a query or catalog unchanged from an earlier version is not
//! analyzed again. Consecutive versions are compared with the compat gate's rules (in
//! its default `backward` mode), which sort each finding into Breaking, Deprecated,
//! Added or Changed. The client × schema matrix judges the queries of each client
//! version against every schema version with the gate's database rules (`SCH-*`,
//! `ENM-001`), each distinct verdict computed once; the wire matrix reads the declared
//! accepted ranges and the wire rules.

mod html;

pub use html::html;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::analyze::memo::{self, Fingerprints, Memo};
use crate::compat::rules::ver_001_breaking_without_major::{declared, semver};
use crate::compat::{self, Bump, Category, Finding, Level, Mode, Version};
use crate::registry::{RawQuery, Registry};
use crate::source::SourceMap;

/// One version of the contract, as the history names it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    /// The tag or revision (`v1.2.0`, `HEAD~3`, `working tree`).
    pub label: String,
    /// `contract.version`.
    pub contract_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire: Option<WireRange>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct WireRange {
    pub version: u32,
    pub min_compatible: u32,
}

/// One change of a release.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// `query GetAccount column email`.
    pub entity: String,
    pub message: String,
    /// The rule that classified it, and its page.
    pub rule: String,
    pub rule_name: String,
    pub rule_doc: String,
    /// `go`, `rust`, `wire`.
    pub languages: Vec<&'static str>,
    pub bump: Bump,
}

/// From one version to the next.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    pub from: String,
    pub to: String,
    /// The bump the version numbers declare, and the one the changes require (`none`
    /// when nothing changed).
    pub declared_bump: String,
    pub required_bump: String,
    pub breaking: Vec<Entry>,
    pub deprecated: Vec<Entry>,
    pub added: Vec<Entry>,
    pub changed: Vec<Entry>,
    /// `database first`, `clients first`, `any order` or `coordinated`.
    pub deploy_order: String,
    pub deploy_reason: String,
}

impl Release {
    /// The four sections, titled, in the order they are shown.
    pub fn sections(&self) -> [(&'static str, &[Entry]); 4] {
        [
            ("Breaking", &self.breaking),
            ("Deprecated", &self.deprecated),
            ("Added", &self.added),
            ("Changed", &self.changed),
        ]
    }
}

/// Rows × columns of cells, each naming what breaks.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// What the rows and columns are.
    pub rows_are: String,
    pub columns_are: String,
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub cells: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Cell {
    pub ok: bool,
    /// Why not: one line per query or message that breaks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// The whole changelog: the JSON output, and what templates read.
#[derive(Debug, Clone, Serialize)]
pub struct Changelog {
    pub contract: String,
    pub versions: Vec<VersionInfo>,
    /// Newest first.
    pub releases: Vec<Release>,
    pub schema_matrix: Matrix,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire_matrix: Option<Matrix>,
}

/// A loaded, analyzed version.
struct Loaded {
    label: String,
    reg: Registry,
    analysis: crate::analyze::Analysis,
}

/// Builds the changelog of `paths` (registry files, oldest first, with their labels).
pub fn build(paths: &[(String, PathBuf)]) -> Result<Changelog, String> {
    if paths.len() < 2 {
        return Err("a changelog needs at least two versions\n  help: name two revisions (`--from v1.0.0 --to v1.1.0`) or tags that match at least two (`--tags 'v*'`)".into());
    }
    let mut sources = SourceMap::default();
    let memo = Memo::default();
    // Versions are analyzed in order, each reusing its predecessors' analyses; their
    // wire formats, independent of one another, are built in parallel after.
    let opts = crate::analyze::Options {
        memo: Some(&memo),
        wire: None,
    };
    let mut versions = Vec::new();
    for (label, path) in paths {
        let (reg, analysis) = compat::load_with(path, &format!("`{label}`"), &mut sources, &opts)?;
        versions.push(Loaded {
            label: label.clone(),
            reg,
            analysis,
        });
    }
    build_wires(&mut versions, &sources)?;
    let (schema_matrix, next_failing) = schema_matrix(&versions, &sources, &memo);
    // Wire formats are indexed once, their messages' contents interned across versions.
    let mut interner = compat::wire::Interner::default();
    let index: Vec<Option<compat::wire::Index>> = versions
        .iter()
        .map(|v| {
            v.analysis
                .wire
                .as_ref()
                .map(|b| compat::wire::Index::of(b, &mut interner))
        })
        .collect();
    drop(interner);
    let wire_matrix = wire_matrix(&versions, &index);
    let mut releases = compat::par_map(versions.len() - 1, |i| {
        let (old, new) = (&versions[i], &versions[i + 1]);
        // The schema rules read the replay of the queries the matrix found failing
        // against the next schema; the others would only be replayed to pass.
        let replayed = compat::replay_with(
            compat::subset(&old.reg, &next_failing[i]),
            &old.analysis.contract,
            new.reg.schema.clone(),
            &sources,
            Some(&memo),
        );
        let findings = compat::compare(
            Version {
                index: index[i].as_ref(),
                ..Version::of(&old.analysis)
            },
            Version {
                index: index[i + 1].as_ref(),
                ..Version::of(&new.analysis)
            },
            &replayed,
            Mode::Backward,
        );
        let old_on_new = &schema_matrix.cells[i][i + 1];
        let new_on_old = &schema_matrix.cells[i + 1][i];
        release(old, new, &findings, old_on_new, new_on_old)
    });
    releases.reverse();
    let changelog = Changelog {
        contract: versions
            .last()
            .map(|v| v.analysis.contract.name.clone())
            .unwrap_or_default(),
        versions: versions
            .iter()
            .map(|v| VersionInfo {
                label: v.label.clone(),
                contract_version: v.analysis.contract.version.clone(),
                wire: wire_range(v),
            })
            .collect(),
        releases,
        schema_matrix,
        wire_matrix,
    };
    // Freeing a long history's analyses takes a good part of a second: a thread does
    // it while the caller writes the changelog (a process that exits first leaves it
    // to the operating system).
    drop(index);
    std::thread::spawn(move || drop((versions, sources, memo)));
    Ok(changelog)
}

/// Builds every version's wire format (they are independent of one another).
fn build_wires(versions: &mut [Loaded], sources: &SourceMap) -> Result<(), String> {
    if versions.iter().all(|v| v.analysis.contract.wire.is_none()) {
        return Ok(());
    }
    let built = compat::par_map(versions.len(), |i| {
        let v = &versions[i];
        compat::wire_of(&v.reg, &v.analysis, &format!("`{}`", v.label), sources)
    });
    for (v, wire) in versions.iter_mut().zip(built) {
        v.analysis.wire = wire?;
    }
    Ok(())
}

fn wire_range(v: &Loaded) -> Option<WireRange> {
    v.analysis.contract.wire.as_ref().map(|w| WireRange {
        version: w.version,
        min_compatible: w.min_compatible,
    })
}

fn bump_name(b: Option<Bump>) -> String {
    match b {
        None => "none",
        Some(Bump::Patch) => "patch",
        Some(Bump::Minor) => "minor",
        Some(Bump::Major) => "major",
    }
    .to_owned()
}

/// A tag's version: `v1.2.0` is `1.2.0`.
fn tag_version(tag: &str) -> Option<(u64, u64, u64)> {
    semver(tag.trim_start_matches('v'))
}

/// The languages a finding concerns.
fn languages(f: &Finding) -> Vec<&'static str> {
    match (f.rule, f.category) {
        ("TYP-001", _) => vec!["go"],
        ("TYP-002", _) => vec!["rust"],
        (_, Category::Wire | Category::WireJson) => vec!["wire"],
        _ => vec!["go", "rust"],
    }
}

fn release(
    old: &Loaded,
    new: &Loaded,
    findings: &[Finding],
    old_on_new: &Cell,
    new_on_old: &Cell,
) -> Release {
    let mut r = Release {
        from: old.label.clone(),
        to: new.label.clone(),
        declared_bump: bump_name(declared(
            &old.analysis.contract.version,
            &new.analysis.contract.version,
        )),
        required_bump: bump_name(
            findings
                .iter()
                .filter(|f| f.rule != "VER-001")
                .map(|f| f.bump)
                .max(),
        ),
        breaking: Vec::new(),
        deprecated: Vec::new(),
        added: Vec::new(),
        changed: Vec::new(),
        deploy_order: String::new(),
        deploy_reason: String::new(),
    };
    for f in findings.iter().filter(|f| f.rule != "VER-001") {
        let e = Entry {
            entity: f.entity.clone(),
            message: f.message.clone(),
            rule: f.rule.to_owned(),
            rule_name: f.name.to_owned(),
            rule_doc: format!("docs/rules/{}.md", f.rule),
            languages: languages(f),
            bump: f.bump,
        };
        let section = if f.rule == "LIF-001" {
            &mut r.deprecated
        } else if f.level == Level::Error {
            &mut r.breaking
        } else if matches!(f.rule, "QRY-004" | "COL-005" | "PRM-002" | "ENM-002") {
            &mut r.added
        } else {
            &mut r.changed
        };
        section.push(e);
    }
    let (order, why) = match (old_on_new.ok, new_on_old.ok) {
        (true, true) => (
            "any order",
            "old clients run against the new schema and new clients against the old one".to_owned(),
        ),
        (true, false) => (
            "database first",
            format!(
                "new clients need the new schema ({}); old clients keep running on it",
                first(&new_on_old.reasons)
            ),
        ),
        (false, true) => (
            "clients first",
            format!(
                "old clients break on the new schema ({}); new clients run on the old one",
                first(&old_on_new.reasons)
            ),
        ),
        (false, false) => (
            "coordinated",
            format!(
                "neither side runs against the other's schema (old clients: {}; new clients: {}): split the migration into expand and contract releases",
                first(&old_on_new.reasons),
                first(&new_on_old.reasons)
            ),
        ),
    };
    r.deploy_order = order.to_owned();
    r.deploy_reason = why;
    r
}

fn first(reasons: &[String]) -> String {
    match reasons {
        [] => String::new(),
        [one] => one.clone(),
        [one, rest @ ..] => format!("{one}, and {} more", rest.len()),
    }
}

/// Client versions × schema versions: can a client generated from row `i` run against
/// the schema of column `j`? The gate's schema rules decide, on row `i`'s queries
/// analyzed against column `j`'s schema.
///
/// The rules' verdict on one query depends on the query, the client's settings and
/// schema, and the column's settings and schema; of each schema, only on the objects
/// the query can name ([`memo::Fingerprints`]). So a verdict is computed once per
/// distinct combination and reused by every cell that holds it: most of a history's
/// queries and tables do not change from one version to the next.
///
/// Also returns, per version but the last, the queries whose verdict against the next
/// version's schema is not empty: the only ones the release's own comparison needs to
/// replay.
fn schema_matrix<'v>(
    versions: &'v [Loaded],
    sources: &SourceMap,
    memo: &Memo,
) -> (Matrix, Vec<HashSet<&'v str>>) {
    let labels: Vec<String> = versions.iter().map(|v| v.label.clone()).collect();
    let db_rules: Vec<_> = compat::rules::ALL
        .iter()
        .filter(|(r, _)| r.category == Category::Db)
        .collect();
    let empty = Fingerprints::default();
    let prints: Vec<&Fingerprints> = versions
        .iter()
        .map(|v| v.analysis.fingerprints.as_ref().unwrap_or(&empty))
        .collect();
    // Per query of each version: its analysis key, and which objects it can name.
    let mut sets: HashMap<Vec<String>, usize> = HashMap::new();
    let mut by_sql: HashMap<&str, usize> = HashMap::new();
    let mut rows: Vec<Vec<(&'v RawQuery, usize)>> = Vec::new();
    for v in versions {
        let mut row = Vec::new();
        for raw in &v.reg.queries {
            let set = match by_sql.get(raw.sql.as_str()) {
                Some(s) => *s,
                None => {
                    let named: Vec<String> = memo::words(&raw.sql)
                        .into_iter()
                        .filter(|w| prints.iter().any(|p| p.object(w).is_some()))
                        .collect();
                    let n = sets.len();
                    let s = *sets.entry(named).or_insert(n);
                    by_sql.insert(&raw.sql, s);
                    s
                }
            };
            row.push((raw, set));
        }
        rows.push(row);
    }
    // The hash of what each set of names reaches in each version's schema.
    let mut reach: Vec<Vec<u64>> = vec![Vec::new(); sets.len()];
    for (words, i) in &sets {
        reach[*i] = prints.iter().map(|p| p.of_words(words)).collect();
    }
    // Each query's analysis key: what it reaches in its own version's schema.
    let rows: Vec<Vec<(u64, usize, &'v str)>> = rows
        .into_iter()
        .zip(versions)
        .enumerate()
        .map(|(i, (row, v))| {
            row.into_iter()
                .map(|(raw, set)| {
                    let key = memo::query_key(v.analysis.config_key, raw, reach[set][i]);
                    (key, set, raw.name.as_str())
                })
                .collect()
        })
        .collect();

    let none = HashMap::new();
    let mut verdicts: HashMap<u64, Arc<Vec<String>>, BuildHasherDefault<KeyHasher>> =
        HashMap::default();
    let mut next_failing = Vec::new();
    let mut cells = Vec::new();
    for (i, client) in versions.iter().enumerate() {
        let mut row = Vec::new();
        for (j, schema) in versions.iter().enumerate() {
            // What the rules find in the two schemas alone (no query involved).
            let cx = compat::Cx::schemas_only(
                &client.analysis.contract,
                &schema.analysis.contract,
                &none,
            );
            let mut found = Vec::new();
            for (rule, check) in &db_rules {
                check(&cx, &mut compat::Findings::new(rule, &mut found));
            }
            let schema_level: HashSet<String> =
                found.iter().map(|f| f.fingerprint.clone()).collect();
            let mut reasons: Vec<String> = found.iter().map(|f| cell_reason(&f.message)).collect();
            let mut pending = Vec::new();
            let mut failing = HashSet::new();
            for &(key, set, name) in &rows[i] {
                let k = verdict_key(key, reach[set][j], schema.analysis.config_key);
                match verdicts.get(&k) {
                    Some(v) => {
                        if !v.is_empty() {
                            failing.insert(name);
                        }
                        reasons.extend(v.iter().cloned())
                    }
                    None => pending.push((name, k)),
                }
            }
            if !pending.is_empty() {
                let found = verdicts_of(
                    client,
                    schema,
                    &pending,
                    &db_rules,
                    &schema_level,
                    sources,
                    memo,
                );
                for ((name, _), (k, found)) in pending.iter().zip(found) {
                    if !found.is_empty() {
                        failing.insert(name);
                    }
                    reasons.extend(found.iter().cloned());
                    verdicts.insert(k, Arc::new(found));
                }
            }
            if j == i + 1 {
                next_failing.push(failing);
            }
            reasons.sort();
            reasons.dedup();
            row.push(Cell {
                ok: reasons.is_empty(),
                reasons,
            });
        }
        cells.push(row);
    }
    let m = Matrix {
        rows_are: "client generated from".into(),
        columns_are: "database schema of".into(),
        rows: labels.clone(),
        columns: labels,
        cells,
    };
    (m, next_failing)
}

/// Combines three hashes (splitmix64's finalizer after each, so the order counts).
fn verdict_key(query: u64, reach: u64, schema_config: u64) -> u64 {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    mix(mix(mix(query) ^ reach) ^ schema_config)
}

/// Verdict keys are hashes already: the map uses them as they are.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Replays the `pending` queries of `client` against `schema` and runs the database
/// rules on each alone: the reasons each query gives the cell, by verdict key.
fn verdicts_of(
    client: &Loaded,
    schema: &Loaded,
    pending: &[(&str, u64)],
    db_rules: &[&(&compat::Rule, compat::rules::Check)],
    schema_level: &HashSet<String>,
    sources: &SourceMap,
    memo: &Memo,
) -> Vec<(u64, Vec<String>)> {
    let names: HashSet<&str> = pending.iter().map(|(n, _)| *n).collect();
    let replayed = compat::replay_with(
        compat::subset(&client.reg, &names),
        &client.analysis.contract,
        schema.reg.schema.clone(),
        sources,
        Some(memo),
    );
    let mut cx = compat::Cx::new(
        Version {
            contract: &client.analysis.contract,
            wire: None,
            index: None,
        },
        Version {
            contract: &schema.analysis.contract,
            wire: None,
            index: None,
        },
        &replayed,
    );
    let all = std::mem::take(&mut cx.old_queries);
    pending
        .iter()
        .map(|(name, k)| {
            cx.set_old_queries(
                all.get_key_value(name)
                    .map(|(n, q)| BTreeMap::from([(*n, *q)]))
                    .unwrap_or_default(),
            );
            let mut found = Vec::new();
            for (rule, check) in db_rules {
                check(&cx, &mut compat::Findings::new(rule, &mut found));
            }
            let reasons = found
                .iter()
                .filter(|f| !schema_level.contains(&f.fingerprint))
                .map(|f| cell_reason(&f.message))
                .collect();
            (*k, reasons)
        })
        .collect()
}

/// A rule's message as a matrix cell says it: the cell names the client and the schema,
/// so "the baseline" and "the new schema" go.
fn cell_reason(message: &str) -> String {
    message
        .replace("the baseline query `", "query `")
        .replace(" fails against the new schema", " fails")
        .replace("against the new schema, ", "")
        .replace("of the baseline query `", "of query `")
        .replace("the baseline INSERT `", "INSERT `")
}

/// Producer versions × consumer versions of the wire format: the consumer accepts the
/// producer's wire version (its declared range, or the producer's promise that its
/// messages are readable from `min_compatible` on), and the wire rules find nothing
/// that breaks between the two.
fn wire_matrix(versions: &[Loaded], index: &[Option<compat::wire::Index>]) -> Option<Matrix> {
    if versions.iter().all(|v| wire_range(v).is_none()) {
        return None;
    }
    let labels: Vec<String> = versions.iter().map(|v| v.label.clone()).collect();
    let wire_rules: Vec<_> = compat::rules::ALL
        .iter()
        .filter(|(r, _)| r.category == Category::Wire)
        .collect();
    // The wire rules' verdict on a pair does not depend on which side produces.
    let mut by_pair: HashMap<(usize, usize), Vec<String>> = HashMap::new();
    let mut cells = Vec::new();
    for (i, producer) in versions.iter().enumerate() {
        let mut row = Vec::new();
        for (j, consumer) in versions.iter().enumerate() {
            let (Some(p), Some(c)) = (wire_range(producer), wire_range(consumer)) else {
                row.push(Cell {
                    ok: false,
                    reasons: vec!["no wire format in one of the two versions".into()],
                });
                continue;
            };
            let mut reasons = Vec::new();
            let accepted = (c.min_compatible..=c.version).contains(&p.version)
                || (p.version > c.version && p.min_compatible <= c.version);
            if !accepted {
                reasons.push(format!(
                    "consumer accepts wire v{}..v{}, producer writes v{} (readable from v{})",
                    c.min_compatible, c.version, p.version, p.min_compatible
                ));
            }
            if i != j {
                let pair = (i.min(j), i.max(j));
                let found = by_pair.entry(pair).or_insert_with(|| {
                    wire_breaks(
                        &versions[pair.0],
                        &versions[pair.1],
                        &index[pair.0],
                        &index[pair.1],
                        &wire_rules,
                    )
                });
                reasons.extend(found.iter().cloned());
            }
            row.push(Cell {
                ok: reasons.is_empty(),
                reasons,
            });
        }
        cells.push(row);
    }
    Some(Matrix {
        rows_are: "producer".into(),
        columns_are: "consumer".into(),
        rows: labels.clone(),
        columns: labels,
        cells,
    })
}

/// The errors the wire rules find between `old` (the baseline) and `new`.
fn wire_breaks(
    old: &Loaded,
    new: &Loaded,
    old_index: &Option<compat::wire::Index>,
    new_index: &Option<compat::wire::Index>,
    rules: &[&(&compat::Rule, compat::rules::Check)],
) -> Vec<String> {
    let (Some(oi), Some(ni)) = (old_index, new_index) else {
        return Vec::new();
    };
    let none = HashMap::new();
    let cx = compat::Cx::wire_only(
        (&old.analysis.contract, oi),
        (&new.analysis.contract, ni),
        &none,
    );
    let mut found = Vec::new();
    for (rule, check) in rules {
        check(&cx, &mut compat::Findings::new(rule, &mut found));
    }
    found.sort_by(|a, b| a.rule.cmp(b.rule).then_with(|| a.entity.cmp(&b.entity)));
    found.dedup_by(|a, b| a.fingerprint == b.fingerprint);
    found
        .iter()
        .filter(|f| f.level == Level::Error)
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect()
}

/// The JSON form (documented in docs/changelog.md).
pub fn json(c: &Changelog) -> String {
    serde_json::to_string_pretty(c).unwrap_or_default() + "\n"
}

/// Reasons listed in a Markdown cell; the JSON form has them all.
const MD_CELL_REASONS: usize = 5;

fn cell_md(c: &Cell) -> String {
    if c.ok {
        return "✅".into();
    }
    let mut lines: Vec<String> = c
        .reasons
        .iter()
        .take(MD_CELL_REASONS)
        .map(|r| r.replace('|', "\\|").replace('\n', " "))
        .collect();
    if c.reasons.len() > MD_CELL_REASONS {
        lines.push(format!("and {} more", c.reasons.len() - MD_CELL_REASONS));
    }
    format!("❌ {}", lines.join("<br>"))
}

fn matrix_md(s: &mut String, m: &Matrix) {
    let _ = writeln!(
        s,
        "| {} ↓ / {} → | {} |",
        m.rows_are,
        m.columns_are,
        m.columns.join(" | ")
    );
    let _ = writeln!(s, "|---|{}", "---|".repeat(m.columns.len()));
    for (label, row) in m.rows.iter().zip(&m.cells) {
        let cells: Vec<String> = row.iter().map(cell_md).collect();
        let _ = writeln!(s, "| **{label}** | {} |", cells.join(" | "));
    }
}

/// The Markdown form: matrices first, then each release, newest first.
pub fn markdown(c: &Changelog, rules_base: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Changelog of `{}`\n", c.contract);
    let _ = writeln!(s, "## Compatibility\n");
    let _ = writeln!(
        s,
        "Can a client generated from a version (row) run against the database schema of another (column)?\n"
    );
    matrix_md(&mut s, &c.schema_matrix);
    if let Some(w) = &c.wire_matrix {
        let _ = writeln!(
            s,
            "\nCan a consumer (column) read the messages a producer (row) writes?\n"
        );
        matrix_md(&mut s, w);
    }
    for r in &c.releases {
        let _ = writeln!(s, "\n## {} (from {})\n", r.to, r.from);
        let _ = writeln!(
            s,
            "Deploy: **{}**: {}.\n\nVersion bump: declared {}, required {}{}.",
            r.deploy_order,
            r.deploy_reason,
            r.declared_bump,
            r.required_bump,
            if bump_rank(&r.declared_bump) < bump_rank(&r.required_bump) {
                " ⚠️"
            } else {
                ""
            }
        );
        for (title, entries) in r.sections() {
            if entries.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n### {title}\n");
            for e in entries {
                let _ = writeln!(
                    s,
                    "- {} ([{} {}]({rules_base}{}.md); {}; {} bump)",
                    e.message,
                    e.rule,
                    e.rule_name,
                    e.rule,
                    e.languages.join(", "),
                    bump_name(Some(e.bump))
                );
            }
        }
        if r.sections().iter().all(|(_, e)| e.is_empty()) {
            let _ = writeln!(s, "\nNo changes to the contract.");
        }
    }
    s
}

fn bump_rank(b: &str) -> u8 {
    match b {
        "patch" => 1,
        "minor" => 2,
        "major" => 3,
        _ => 0,
    }
}

/// Orders tag names as versions (`v1.10.0` after `v1.9.0`); names that are not
/// versions come after, by name.
pub fn sort_tags(tags: &mut [String]) {
    tags.sort_by(|a, b| match (tag_version(a), tag_version(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    });
}

/// The tags of the repository around `registry` whose names match `pattern` (a glob).
pub fn tags(registry: &Path, pattern: &str) -> Result<Vec<String>, String> {
    let glob = globset::Glob::new(pattern)
        .map_err(|e| format!("`{pattern}` is not a glob: {e}"))?
        .compile_matcher();
    let start = registry
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let repo = gix::discover(start)
        .map_err(|_| "no git repository holds the registry\n  help: run inside the repository, or name the versions with `--from` and `--to`".to_owned())?;
    let refs = repo
        .references()
        .map_err(|e| format!("cannot read the repository's references: {e}"))?;
    let mut out: Vec<String> = refs
        .tags()
        .map_err(|e| format!("cannot read the repository's tags: {e}"))?
        .filter_map(Result::ok)
        .map(|r| r.name().shorten().to_string())
        .filter(|n| glob.is_match(n))
        .collect();
    if out.len() > MAX_VERSIONS {
        return Err(format!(
            "`{pattern}` matches {} tags; sqlpact compares at most {MAX_VERSIONS} versions in one run\n  help: narrow the pattern to the releases that matter (`v2.*`), or name two versions with `--from` and `--to`",
            out.len()
        ));
    }
    sort_tags(&mut out);
    Ok(out)
}

/// Most versions one `changelog` or `compat --transitive` run loads: each is written
/// out of git and analyzed, and the matrices grow with the square of their number.
pub const MAX_VERSIONS: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_sort_as_versions() {
        let mut t: Vec<String> = ["v1.10.0", "nightly", "v1.9.0", "v2.0.0-rc.1", "v1.9.1"]
            .map(String::from)
            .to_vec();
        sort_tags(&mut t);
        assert_eq!(t, ["v1.9.0", "v1.9.1", "v1.10.0", "v2.0.0-rc.1", "nightly"]);
    }
}
