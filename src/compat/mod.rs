//! `sqlpact compat`: compares a contract with a baseline and reports every change that
//! would break a deployed client, a running service or the database.
//!
//! Each rule lives in its own file under `rules/`, with a stable ID, a category, a
//! default level and the semver bump it requires; `rules::ALL` registers them.

pub mod baseline;
pub mod report;
pub mod rules;
pub mod wire;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::diag::{Diagnostics, Severity};
use crate::model::{Contract, Query, Source};
use crate::registry::Registry;
use crate::source::SourceMap;

/// What a rule protects, strictest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    /// The generated Go and Rust API.
    Codegen,
    WireJson,
    Wire,
    /// The database: old queries against the new schema.
    Db,
    /// Runtime policies.
    Runtime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// Which side of a deployment a change hurts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Code reading results: generated clients, consumers.
    Reader,
    /// Code sending statements or writing data.
    Writer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

/// One rule of the catalog.
#[derive(Debug, Serialize)]
pub struct Rule {
    /// `AREA-NNN`, stable forever.
    pub id: &'static str,
    /// kebab-case.
    pub name: &'static str,
    pub category: Category,
    pub level: Level,
    pub side: Side,
    pub bump: Bump,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Markdown: why it matters and how to make the change safely.
    #[serde(skip)]
    pub doc: &'static str,
}

/// A change a rule found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub name: &'static str,
    pub category: Category,
    pub level: Level,
    pub bump: Bump,
    /// What changed, as a path: `query GetAccount`, `query GetAccount column email`.
    pub entity: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Where the entity is in the new contract, and where it was in the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_location: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_location: Option<Source>,
    /// Stable across commits: the rule and the entity, hashed.
    pub fingerprint: String,
    /// With `--transitive`: the baselines it was found against.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub against: Vec<String>,
}

/// Collects the findings of the rules.
pub struct Findings<'r> {
    rule: &'r Rule,
    out: &'r mut Vec<Finding>,
}

impl<'r> Findings<'r> {
    /// Findings of `rule`, added to `out`.
    pub fn new(rule: &'r Rule, out: &'r mut Vec<Finding>) -> Self {
        Findings { rule, out }
    }
}

impl Findings<'_> {
    pub fn add(
        &mut self,
        entity: impl Into<String>,
        message: impl Into<String>,
        new: Option<&Source>,
        old: Option<&Source>,
    ) -> &mut Finding {
        let entity = entity.into();
        let fingerprint = fingerprint(self.rule.id, &entity);
        self.out.push(Finding {
            rule: self.rule.id,
            name: self.rule.name,
            category: self.rule.category,
            level: self.rule.level,
            bump: self.rule.bump,
            entity,
            message: message.into(),
            help: None,
            new_location: new.cloned(),
            old_location: old.cloned(),
            fingerprint,
            against: Vec::new(),
        });
        self.out.last_mut().expect("just pushed")
    }
}

/// FNV-1a over the rule and the entity: the same change keeps its fingerprint when
/// lines move or other changes come and go.
pub(crate) fn fingerprint(rule: &str, entity: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rule.bytes().chain([0]).chain(entity.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A baseline query run through the analyzer against the new schema.
pub enum Replayed {
    /// It no longer type-checks: the analyzer's messages.
    Broken(Vec<String>),
    /// It type-checks, with these columns.
    Ok(Box<Query>),
}

/// What the rules read: both contracts, indexed, and the baseline's queries replayed
/// against the new schema.
pub struct Cx<'a> {
    pub old: &'a Contract,
    pub new: &'a Contract,
    /// Replaced only through [`Cx::set_old_queries`], which forgets what was matched.
    pub old_queries: BTreeMap<&'a str, &'a Query>,
    pub new_queries: BTreeMap<&'a str, &'a Query>,
    /// Per baseline query name; empty when not computed (the forward direction).
    pub replayed: &'a HashMap<String, Replayed>,
    /// The wire formats (derived and hand-written messages, compiled), when declared.
    pub old_wire: Option<&'a crate::wire::Build>,
    pub new_wire: Option<&'a crate::wire::Build>,
    /// Their messages, enums and fields matched across both sides.
    pub wire: wire::Pairs<'a>,
    /// Today, `YYYY-MM-DD` ([`today`]), when the comparison is judged as of now (the
    /// gate); `None` for a history, which must read the same on any day.
    pub today: Option<String>,
    /// What [`Cx::pairs`], [`Cx::column_pairs`] and [`Cx::param_pairs`] matched.
    matches: Matches<'a>,
}

/// [`Cx::pairs`], and the columns and parameters matched in them, made once for all
/// the rules that read them.
#[derive(Default)]
struct Matches<'a> {
    pairs: std::sync::OnceLock<Vec<(&'a Query, &'a Query)>>,
    columns: std::sync::OnceLock<Vec<Matched<'a, crate::model::Column>>>,
    params: std::sync::OnceLock<Vec<Matched<'a, crate::model::Param>>>,
}

/// A column or parameter of a query on both sides: (old query, new query, old, new).
pub type Matched<'a, T> = (&'a Query, &'a Query, &'a T, &'a T);

/// One version in a comparison: a contract and its compiled wire format.
#[derive(Clone, Copy)]
pub struct Version<'a> {
    pub contract: &'a Contract,
    pub wire: Option<&'a crate::wire::Build>,
    /// The wire format's index, when the caller compares it with many others.
    pub index: Option<&'a wire::Index<'a>>,
}

impl<'a> Version<'a> {
    pub fn of(a: &'a crate::analyze::Analysis) -> Self {
        Version {
            contract: &a.contract,
            wire: a.wire.as_ref(),
            index: None,
        }
    }
}

impl<'a> Cx<'a> {
    pub fn new(
        old: Version<'a>,
        new: Version<'a>,
        replayed: &'a HashMap<String, Replayed>,
    ) -> Self {
        Cx {
            old: old.contract,
            new: new.contract,
            old_queries: old
                .contract
                .queries
                .iter()
                .map(|q| (q.name.as_str(), q))
                .collect(),
            new_queries: new
                .contract
                .queries
                .iter()
                .map(|q| (q.name.as_str(), q))
                .collect(),
            replayed,
            old_wire: old.wire,
            new_wire: new.wire,
            wire: match (old.index, new.index) {
                (Some(o), Some(n)) => wire::Pairs::indexed(o, n),
                _ => wire::Pairs::of(old.wire, new.wire),
            },
            today: None,
            matches: Matches::default(),
        }
    }

    /// Both versions' wire formats and nothing of their queries: what the wire rules
    /// read.
    pub fn wire_only(
        old: (&'a Contract, &wire::Index<'a>),
        new: (&'a Contract, &wire::Index<'a>),
        replayed: &'a HashMap<String, Replayed>,
    ) -> Self {
        Cx {
            old: old.0,
            new: new.0,
            old_queries: BTreeMap::new(),
            new_queries: BTreeMap::new(),
            replayed,
            old_wire: Some(old.1.build()),
            new_wire: Some(new.1.build()),
            wire: wire::Pairs::indexed(old.1, new.1),
            today: None,
            matches: Matches::default(),
        }
    }

    /// Both versions with no queries and no wire format: what the rules find here
    /// concerns the schemas alone.
    pub fn schemas_only(
        old: &'a Contract,
        new: &'a Contract,
        replayed: &'a HashMap<String, Replayed>,
    ) -> Self {
        Cx {
            old,
            new,
            old_queries: BTreeMap::new(),
            new_queries: BTreeMap::new(),
            replayed,
            old_wire: None,
            new_wire: None,
            wire: wire::Pairs::of(None, None),
            today: None,
            matches: Matches::default(),
        }
    }

    /// Replaces the baseline's queries the rules see (and what was matched from them).
    pub fn set_old_queries(&mut self, queries: BTreeMap<&'a str, &'a Query>) {
        self.old_queries = queries;
        self.matches = Matches::default();
    }

    /// Queries in both contracts: by name, and a query renamed with `renamed_from`
    /// with the query it was.
    pub fn pairs(&self) -> impl Iterator<Item = (&'a Query, &'a Query)> + '_ {
        self.matches
            .pairs
            .get_or_init(|| {
                let same = self
                    .old_queries
                    .iter()
                    .filter_map(|(n, o)| self.new_queries.get(n).map(|q| (*o, *q)));
                same.chain(self.renamed_queries()).collect()
            })
            .iter()
            .copied()
    }

    /// The result columns of each query pair, matched by name (following renames).
    pub fn column_pairs(&self) -> impl Iterator<Item = Matched<'a, crate::model::Column>> + '_ {
        self.members(
            &self.matches.columns,
            |q| &q.columns,
            |c| &c.name,
            Self::old_column_name,
        )
    }

    /// The parameters of each query pair, matched by name (following renames).
    pub fn param_pairs(&self) -> impl Iterator<Item = Matched<'a, crate::model::Param>> + '_ {
        self.members(
            &self.matches.params,
            |q| &q.params,
            |p| &p.name,
            Self::old_param_name,
        )
    }

    /// The members (`list`) of each query pair matched by `name`, made once into `cache`.
    fn members<'s, T>(
        &'s self,
        cache: &'s std::sync::OnceLock<Vec<Matched<'a, T>>>,
        list: fn(&'a Query) -> &'a [T],
        name: fn(&'a T) -> &'a String,
        was: for<'n> fn(&'n Self, &Query, &Query, &'n str) -> &'n str,
    ) -> impl Iterator<Item = Matched<'a, T>> + 's {
        cache
            .get_or_init(|| {
                self.pairs()
                    .flat_map(|(old, new)| {
                        matched(list(old), list(new), name, move |m| was(self, old, new, m))
                            .map(move |(o, m)| (old, new, o, m))
                    })
                    .collect()
            })
            .iter()
            .copied()
    }

    /// Queries renamed with `renamed_from`: (the query it was, the query now).
    pub fn renamed_queries(&self) -> impl Iterator<Item = (&'a Query, &'a Query)> + '_ {
        self.new.renamed_from.iter().filter_map(|(new, old)| {
            if new.contains('.') || self.old_queries.contains_key(new.as_str()) {
                return None;
            }
            Some((
                *self.old_queries.get(old.as_str())?,
                *self.new_queries.get(new.as_str())?,
            ))
        })
    }

    /// The name a result column of query `new` had in `old`: its own when `old` has
    /// it, else the one `renamed_from` gives.
    pub fn old_column_name<'s>(&'s self, old: &Query, new: &Query, column: &'s str) -> &'s str {
        if old.columns.iter().any(|c| c.name == column) {
            return column;
        }
        self.new
            .renamed_from
            .get(&format!("{}.{column}", new.name))
            .map_or(column, String::as_str)
    }

    /// The name a parameter of query `new` had in `old`.
    pub fn old_param_name<'s>(&'s self, old: &Query, new: &Query, param: &'s str) -> &'s str {
        if old.params.iter().any(|p| p.name == param) {
            return param;
        }
        self.new
            .renamed_from
            .get(&format!("{}.@{param}", new.name))
            .map_or(param, |o| o.trim_start_matches('@'))
    }
}

/// [`today`], read once per process.
fn today_once() -> String {
    static TODAY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TODAY.get_or_init(today).clone()
}

/// Today as `YYYY-MM-DD` (UTC), from `SOURCE_DATE_EPOCH` when it is set (reproducible
/// runs and tests), else from the clock: sunset and expiry dates are judged against it.
pub fn today() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    // Days since 1970-01-01 to a civil date (proleptic Gregorian).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Compatibility modes, as schema registries define them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// New clients work with what old ones wrote and with the old database; old
    /// clients keep working against the new schema.
    Backward,
    /// Old clients work with what new ones write.
    Forward,
    /// Both.
    Full,
}

impl Mode {
    /// The registry's `compat.mode`, or `backward`.
    pub fn of(c: &Contract) -> Mode {
        match c.compat.mode.as_deref() {
            Some("forward") => Mode::Forward,
            Some("full") => Mode::Full,
            _ => Mode::Backward,
        }
    }
}

/// Runs every rule in `mode`. `replayed` holds the baseline's queries analyzed
/// against the new schema (the database rules read it). Nothing depends on today's
/// date: a history compares the same on any day.
pub fn compare(
    old: Version<'_>,
    new: Version<'_>,
    replayed: &HashMap<String, Replayed>,
    mode: Mode,
) -> Vec<Finding> {
    let mut out = rule_findings(old, new, replayed, mode, None);
    finish(old.contract, new.contract, &mut out);
    out
}

/// What the gate reports: [`compare`]'s findings, the new contract's `compat.ignore`
/// applied before the version check.
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// Findings an ignore entry accepted.
    pub suppressed: Vec<Suppressed>,
}

/// A finding `compat.ignore` accepted, with the entry's reason.
#[derive(Debug, Clone, Serialize)]
pub struct Suppressed {
    #[serde(flatten)]
    pub finding: Finding,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// [`compare`] as the gate runs it, suppressions applied (judged against `today`).
pub fn gate(
    old: Version<'_>,
    new: Version<'_>,
    replayed: &HashMap<String, Replayed>,
    mode: Mode,
    today: &str,
) -> Outcome {
    let mut findings = rule_findings(old, new, replayed, mode, Some(today));
    let (suppressed, notes) = suppress(&mut findings, &new.contract.compat.ignore, today);
    // The notes on suppressions concern the registry, not the contract's version.
    rules::version_check(old.contract, new.contract, &mut findings);
    findings.extend(notes);
    sort(&mut findings);
    Outcome {
        findings,
        suppressed,
    }
}

/// Moves the findings an unexpired entry of `ignore` matches out of `findings`, and
/// notes `IGN-001` for each expired entry and `IGN-002` for each entry that matched
/// nothing: (the suppressed findings, the notes).
fn suppress(
    findings: &mut Vec<Finding>,
    ignore: &[crate::model::Ignore],
    today: &str,
) -> (Vec<Suppressed>, Vec<Finding>) {
    use rules::{ign_001_suppression_expired as expired, ign_002_suppression_unused as unused};
    let mut suppressed = Vec::new();
    let mut notes = Vec::new();
    for e in ignore {
        let matches = |f: &Finding| {
            f.rule == e.rule
                && f.entity == e.entity
                && e.fingerprint.as_ref().is_none_or(|p| *p == f.fingerprint)
        };
        let entity = format!("compat.ignore {} {}", e.rule, e.entity);
        let mut note = |rule: &'static Rule, message: String, help: &str| {
            Findings::new(rule, &mut notes)
                .add(entity.clone(), message, Some(&e.source), None)
                .help = Some(help.to_owned());
        };
        if let Some(d) = e.expires.as_deref().filter(|d| *d <= today) {
            let still = findings.iter().filter(|f| matches(f)).count();
            note(
                &expired::RULE,
                format!(
                    "the suppression of {} on `{}` expired on {d} ({still} finding(s) it matched are reported again)",
                    e.rule, e.entity
                ),
                "fix what it accepted, or set a later `expires` with an up-to-date `reason`",
            );
            continue;
        }
        let before = findings.len();
        let (accepted, kept): (Vec<Finding>, Vec<Finding>) = std::mem::take(findings)
            .into_iter()
            .partition(|f| matches(f));
        *findings = kept;
        suppressed.extend(accepted.into_iter().map(|finding| Suppressed {
            finding,
            reason: e.reason.clone(),
            expires: e.expires.clone(),
        }));
        if findings.len() == before {
            note(
                &unused::RULE,
                format!("the suppression of {} on `{}` matches no finding", e.rule, e.entity),
                "remove it, or copy `rule`, `entity` and `fingerprint` from `sqlpact compat --format json`",
            );
        }
    }
    (suppressed, notes)
}

/// Every rule's findings in `mode`, `alpha` and `beta` queries exempted.
fn rule_findings(
    old: Version<'_>,
    new: Version<'_>,
    replayed: &HashMap<String, Replayed>,
    mode: Mode,
    today: Option<&str>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if matches!(mode, Mode::Backward | Mode::Full) {
        let mut cx = Cx::new(old, new, replayed);
        cx.today = today.map(str::to_owned);
        run_rules(&cx, &mut out);
    }
    if matches!(mode, Mode::Forward | Mode::Full) {
        // Forward compatibility of B against A is backward compatibility of A
        // against B: the same rules with the sides swapped.
        let none = HashMap::new();
        let mut swapped = Vec::new();
        let mut cx = Cx::new(new, old, &none);
        cx.today = today.map(str::to_owned);
        run_rules(&cx, &mut swapped);
        for mut f in swapped {
            std::mem::swap(&mut f.new_location, &mut f.old_location);
            f.message = format!("(forward) {}", f.message);
            f.fingerprint = fingerprint(&format!("{}/forward", f.rule), &f.entity);
            out.push(f);
        }
    }
    if new.contract.compat.exempt_unstable {
        exempt_unstable(old.contract, new.contract, &mut out);
    }
    out
}

/// Findings that need a major version on a query its users were told not to rely on
/// (`alpha` or `beta` in the baseline, or in the new contract when it is new there)
/// become `info`, needing no version bump.
fn exempt_unstable(old: &Contract, new: &Contract, findings: &mut [Finding]) {
    // The baseline's word first, then the new contract's (a query new there).
    let mut of: HashMap<&str, &str> = HashMap::new();
    for q in new.queries.iter().chain(&old.queries) {
        of.insert(&q.name, &q.lifecycle.stability);
    }
    let stability = |name: &str| of.get(name).map(|s| (*s).to_owned());
    for f in findings
        .iter_mut()
        // The lifecycle rules speak of stability themselves.
        .filter(|f| f.bump == Bump::Major && f.level > Level::Info && !f.rule.starts_with("LIF-"))
    {
        let Some(query) = f
            .entity
            .strip_prefix("query ")
            .map(|r| r.split(' ').next().unwrap_or(r))
        else {
            continue;
        };
        let Some(s) = stability(query).filter(|s| s != "stable") else {
            continue;
        };
        f.level = Level::Info;
        f.bump = Bump::Patch;
        f.message = format!("{} (exempt: `{query}` is {s})", f.message);
    }
}

/// Each of `new` with the one of `old` it was (by `was`, given its name): positionally
/// when both lists have the same names in the same order, as they mostly do.
fn matched<'a, 'n, T>(
    old: &'a [T],
    new: &'a [T],
    name: impl Fn(&'a T) -> &'a String + 'n,
    was: impl Fn(&'a str) -> &'n str + 'n,
) -> Box<dyn Iterator<Item = (&'a T, &'a T)> + 'n>
where
    'a: 'n,
{
    if old.len() == new.len() && old.iter().zip(new).all(|(o, n)| name(o) == name(n)) {
        return Box::new(old.iter().zip(new));
    }
    Box::new(new.iter().filter_map(move |n| {
        let w = was(name(n));
        old.iter().find(|o| name(o) == w).map(|o| (o, n))
    }))
}

/// The version check, then the order and deduplication every report shows.
fn finish(old: &Contract, new: &Contract, out: &mut Vec<Finding>) {
    rules::version_check(old, new, out);
    sort(out);
}

/// Strictest first, then by rule and entity; one finding per fingerprint.
fn sort(out: &mut Vec<Finding>) {
    out.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then_with(|| a.rule.cmp(b.rule))
            .then_with(|| a.entity.cmp(&b.entity))
    });
    out.dedup_by(|a, b| a.fingerprint == b.fingerprint);
}

/// Every rule over `cx`, in catalog order; the rules are independent, so they run on
/// every core.
fn run_rules(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let found = par_map(rules::ALL.len(), |i| {
        let (rule, check) = &rules::ALL[i];
        let mut mine = Vec::new();
        check(
            cx,
            &mut Findings {
                rule,
                out: &mut mine,
            },
        );
        mine
    });
    out.extend(found.into_iter().flatten());
}

/// Analyzes the baseline's queries against the new schema: `old` with its schema
/// sources replaced by `new_schema` (both loaded into `sources`).
///
/// A query is replayed as deployed clients send it: `deployed` is the baseline's
/// analyzed contract, whose SQL has `*` and `t.*` expanded into the columns the
/// baseline schema had. So a column added to a table that a `SELECT *` reads changes
/// nothing for old clients, as it changes nothing on the server.
pub fn replay(
    old: Registry,
    deployed: &Contract,
    new_schema: Vec<crate::registry::SchemaSource>,
    sources: &SourceMap,
) -> HashMap<String, Replayed> {
    replay_with(old, deployed, new_schema, sources, None)
}

/// [`replay`], reusing analyses from `memo`.
pub fn replay_with(
    mut old: Registry,
    deployed: &Contract,
    new_schema: Vec<crate::registry::SchemaSource>,
    sources: &SourceMap,
    memo: Option<&crate::analyze::memo::Memo>,
) -> HashMap<String, Replayed> {
    for raw in &mut old.queries {
        if !raw.sql.contains('*') {
            continue;
        }
        // An embed's columns repeat names the analyzer takes apart only in the
        // `sqlc.embed` form: such queries are replayed as written.
        if let Some(q) = deployed
            .queries
            .iter()
            .find(|q| q.name == raw.name && q.embeds.is_empty())
        {
            // Optional filters are already rewritten into the deployed text.
            raw.sql = q.sql.clone();
            raw.optional.clear();
        }
    }
    let raw: Vec<(String, crate::source::Span)> = old
        .queries
        .iter()
        .map(|q| {
            let mut span = q.sql_span.clone();
            span.range.end = span.range.end.max(span.range.start + q.sql.len());
            (q.name.clone(), span)
        })
        .collect();
    let hybrid = Registry {
        schema: new_schema,
        ..old
    };
    let mut diags = Diagnostics::default();
    // The replay reads queries only: no wire format.
    let opts = crate::analyze::Options { memo, wire: None };
    let analysis = crate::analyze::analyze_with(&hybrid, sources, &mut diags, &opts);
    let mut by_name: HashMap<String, Replayed> = analysis
        .contract
        .queries
        .into_iter()
        .map(|q| (q.name.clone(), Replayed::Ok(Box::new(q))))
        .collect();
    for (name, span) in raw {
        if by_name.contains_key(&name) {
            continue;
        }
        let messages: Vec<String> = diags
            .items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .filter(|d| {
                d.span.as_ref().is_some_and(|s| {
                    s.file == span.file
                        && s.range.start >= span.range.start
                        && s.range.start <= span.range.end
                })
            })
            .map(|d| d.message.clone())
            .collect();
        by_name.insert(name, Replayed::Broken(messages));
    }
    by_name
}

/// `reg` with only the queries named in `names`.
pub fn subset(reg: &Registry, names: &HashSet<&str>) -> Registry {
    Registry {
        root: reg.root.clone(),
        file: reg.file,
        config: reg.config.clone(),
        schema: reg.schema.clone(),
        queries: reg
            .queries
            .iter()
            .filter(|q| names.contains(q.name.as_str()))
            .cloned()
            .collect(),
        policies: reg.policies.clone(),
        wire_lock: reg.wire_lock,
        wire_protos: reg.wire_protos.clone(),
    }
}

/// The baseline's queries whose replay against `new`'s schema can differ from their
/// analysis in the baseline: those that reach a schema object (by
/// [`crate::analyze::memo::Fingerprints`]) that differs between the two schemas. The
/// others analyze as they did, by the memo's invariant, so replaying them finds
/// nothing.
pub fn affected<'a>(
    old_reg: &'a Registry,
    old: &'a crate::analyze::Analysis,
    new: &crate::analyze::Analysis,
) -> HashSet<&'a str> {
    use crate::analyze::memo::Fingerprints;
    let computed;
    let (before, after) = match (&old.fingerprints, &new.fingerprints) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            computed = (
                Fingerprints::of(&old.catalog),
                Fingerprints::of(&new.catalog),
            );
            (&computed.0, &computed.1)
        }
    };
    let deployed: HashMap<&str, &str> = old
        .contract
        .queries
        .iter()
        .map(|q| (q.name.as_str(), q.sql.as_str()))
        .collect();
    let differs = |sql: &str| before.of_sql(sql) != after.of_sql(sql);
    old_reg
        .queries
        .iter()
        .filter(|raw| {
            // As written and as deployed (`*` expanded): the replay sends one of them.
            differs(&raw.sql) || deployed.get(raw.name.as_str()).is_some_and(|d| differs(d))
        })
        .map(|raw| raw.name.as_str())
        .collect()
}

/// Loads and analyzes a registry into `sources`; `Err` (with the first errors) when it
/// has errors: only valid contracts are compared.
pub fn load(
    path: &std::path::Path,
    what: &str,
    sources: &mut SourceMap,
) -> Result<(Registry, crate::analyze::Analysis), String> {
    let opts = crate::analyze::Options {
        memo: None,
        wire: Some(crate::wire::Detail::Descriptors),
    };
    load_with(path, what, sources, &opts)
}

/// [`load`] as `opts` say (the wire rules read descriptors only).
pub fn load_with(
    path: &std::path::Path,
    what: &str,
    sources: &mut SourceMap,
    opts: &crate::analyze::Options,
) -> Result<(Registry, crate::analyze::Analysis), String> {
    let mut diags = Diagnostics::default();
    let reg = crate::registry::load(path, sources, &mut diags);
    let analysis = reg
        .as_ref()
        .map(|r| crate::analyze::analyze_with(r, sources, &mut diags, opts));
    match (reg, analysis) {
        (Some(reg), Some(a)) if !diags.has_errors() => Ok((reg, a)),
        _ => Err(invalid(what, diags, sources)),
    }
}

/// The wire format of an analysis made without one ([`crate::analyze::Options::wire`]
/// `None`), descriptors only; `Err` as [`load_with`]'s when it does not build.
pub fn wire_of(
    reg: &Registry,
    analysis: &crate::analyze::Analysis,
    what: &str,
    sources: &SourceMap,
) -> Result<Option<crate::wire::Build>, String> {
    let mut diags = Diagnostics::default();
    let built = crate::wire::build(
        &analysis.contract,
        reg.wire_lock,
        &reg.wire_protos,
        sources,
        &mut diags,
        crate::wire::Detail::Descriptors,
    );
    if diags.has_errors() {
        return Err(invalid(what, diags, sources));
    }
    Ok(built)
}

/// Why a contract cannot be compared: its first errors.
fn invalid(what: &str, mut diags: Diagnostics, sources: &SourceMap) -> String {
    diags.sort();
    let mut msg = format!("the {what} contract has errors; compat compares valid contracts only");
    for d in diags
        .items
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .take(5)
    {
        msg.push('\n');
        msg.push_str(&crate::render::text(d, sources, false));
    }
    msg.push_str("\n  help: run `sqlpact check` on it");
    msg
}

/// `f` of `0..n`, in order, computed on as many threads as there are cores, each
/// taking a contiguous run (neighbouring versions share the most analyses).
pub(crate) fn par_map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let chunk = n.div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| s.spawn(move || (start..n.min(start + chunk)).map(f).collect::<Vec<T>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Compares the registry at `new` with the one at `old` (`label` names it in messages):
/// the gate's findings.
pub fn run(
    old: &std::path::Path,
    new: &std::path::Path,
    label: &str,
    mode: Mode,
) -> Result<Vec<Finding>, String> {
    Ok(run_gate(old, new, label, Some(mode))?.0.findings)
}

/// [`run`] with the suppressed findings, and the mode it ran in: `mode` `None` takes
/// the new registry's `compat.mode` (default `backward`).
pub fn run_gate(
    old: &std::path::Path,
    new: &std::path::Path,
    label: &str,
    mode: Option<Mode>,
) -> Result<(Outcome, Mode), String> {
    // Analyses are not memoized here: a memo keeps a third copy of every query, and
    // the replay is limited to the queries a schema change reaches instead.
    let opts = crate::analyze::Options {
        memo: None,
        wire: None,
    };
    let mut sources = SourceMap::default();
    let (new_reg, mut new) = load_with(new, "current", &mut sources, &opts)?;
    let old_what = format!("baseline ({label})");
    let (old_reg, mut old) = load_with(old, &old_what, &mut sources, &opts)?;
    let (replayed, (new_wire, old_wire)) = std::thread::scope(|s| {
        let wires = s.spawn(|| {
            let n = wire_of(&new_reg, &new, "current", &sources);
            let o = wire_of(&old_reg, &old, &old_what, &sources);
            (n, o)
        });
        let names = affected(&old_reg, &old, &new);
        let replayed = replay(
            subset(&old_reg, &names),
            &old.contract,
            new_reg.schema.clone(),
            &sources,
        );
        let wires = wires
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (replayed, wires)
    });
    new.wire = new_wire?;
    old.wire = old_wire?;
    let mode = mode.unwrap_or_else(|| Mode::of(&new.contract));
    let outcome = gate(
        Version::of(&old),
        Version::of(&new),
        &replayed,
        mode,
        &today_once(),
    );
    // Freeing both analyses takes a while: a thread does it while the caller writes
    // the report (a process that exits first leaves it to the operating system).
    std::thread::spawn(move || drop((new, old, new_reg, old_reg, replayed, sources)));
    Ok((outcome, mode))
}

/// The gate against every baseline (`--transitive`), oldest first: a finding found
/// against several is reported once, naming them all; a suppression is unused only if
/// it matched nothing against any. Baselines are analyzed in order, sharing analyses;
/// their wire formats and their comparisons run on every core.
pub fn run_transitive(
    baselines: &[(String, std::path::PathBuf)],
    new: &std::path::Path,
    mode: Option<Mode>,
) -> Result<(Outcome, Mode), String> {
    let memo = crate::analyze::memo::Memo::default();
    let opts = crate::analyze::Options {
        memo: Some(&memo),
        wire: None,
    };
    let mut sources = SourceMap::default();
    let (new_reg, mut new) = load_with(new, "current", &mut sources, &opts)?;
    new.wire = wire_of(&new_reg, &new, "current", &sources)?;
    let mode = mode.unwrap_or_else(|| Mode::of(&new.contract));
    let mut olds = Vec::new();
    for (label, path) in baselines {
        let what = format!("baseline ({label})");
        olds.push(load_with(path, &what, &mut sources, &opts)?);
    }
    let wires = par_map(olds.len(), |i| {
        let what = format!("baseline ({})", baselines[i].0);
        wire_of(&olds[i].0, &olds[i].1, &what, &sources)
    });
    for ((_, old), wire) in olds.iter_mut().zip(wires) {
        old.wire = wire?;
    }
    let mut interner = wire::Interner::default();
    let new_index = new.wire.as_ref().map(|b| wire::Index::of(b, &mut interner));
    let old_index: Vec<_> = olds
        .iter()
        .map(|(_, a)| a.wire.as_ref().map(|b| wire::Index::of(b, &mut interner)))
        .collect();
    drop(interner);
    let today = today_once();
    let outcomes = par_map(olds.len(), |i| {
        let (old_reg, old) = &olds[i];
        let replayed = replay_with(
            subset(old_reg, &affected(old_reg, old, &new)),
            &old.contract,
            new_reg.schema.clone(),
            &sources,
            Some(&memo),
        );
        let old_version = Version {
            index: old_index[i].as_ref(),
            ..Version::of(old)
        };
        let new_version = Version {
            index: new_index.as_ref(),
            ..Version::of(&new)
        };
        gate(old_version, new_version, &replayed, mode, &today)
    });
    let mut findings: Vec<Finding> = Vec::new();
    let mut suppressed: Vec<Suppressed> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut accepted = std::collections::HashSet::new();
    for ((label, _), one) in baselines.iter().zip(outcomes) {
        for f in one.findings {
            match at.get(&f.fingerprint) {
                Some(&i) => findings[i].against.push(label.clone()),
                None => {
                    at.insert(f.fingerprint.clone(), findings.len());
                    findings.push(Finding {
                        against: vec![label.clone()],
                        ..f
                    });
                }
            }
        }
        for x in one.suppressed {
            if accepted.insert(x.finding.fingerprint.clone()) {
                suppressed.push(x);
            }
        }
    }
    // An entry is unused only if it was so against every baseline.
    findings.retain(|f| {
        f.rule != rules::ign_002_suppression_unused::RULE.id || f.against.len() == baselines.len()
    });
    sort(&mut findings);
    Ok((
        Outcome {
            findings,
            suppressed,
        },
        mode,
    ))
}
