//! Checks on registry values that the YAML types alone cannot express: versions,
//! durations, names, references between sections.

use std::collections::{BTreeMap, HashSet};

use super::config::{Located, QueryPolicy, RegistryFile};
use super::sqlfile::RawQuery;
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::generate::rust::code_name;
use crate::model::{BreakerSpec, Policies, PoolSpec, RetrySpec};
use crate::source::{FileId, Span};

/// A query policy with durations parsed; unset fields fall back to the defaults.
#[derive(Clone, Debug, Default)]
pub struct PartialPolicy {
    pub timeout_ms: Option<u64>,
    pub retry: Option<String>,
    pub idempotent: Option<bool>,
    /// The route, and where the registry sets it.
    pub route: Option<(String, Option<Span>)>,
    /// The key parameter's name, and where the registry names it.
    pub idempotency_key: Option<(String, Option<Span>)>,
    pub expect_one_row: Option<bool>,
    /// Meant to leave state on a connection the caller holds (no `W100`).
    pub session: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct ValidatedPolicies {
    pub defaults: PartialPolicy,
    pub queries: BTreeMap<String, PartialPolicy>,
    pub table: Policies,
}

fn span<T>(file: FileId, l: &Located<T>) -> Option<Span> {
    l.offset.map(|(o, len)| Span::new(file, o..o + len))
}

fn invalid<T>(file: FileId, l: &Located<T>, msg: String, help: &str) -> Diagnostic {
    Diagnostic::error(Code::InvalidValue, msg)
        .at_opt(span(file, l))
        .help(help.to_owned())
}

pub fn check_header(c: &RegistryFile, file: FileId, diags: &mut Diagnostics) {
    if c.version.value != 1 {
        diags.push(
            Diagnostic::error(
                Code::UnsupportedVersion,
                format!("registry version {} is not supported", c.version.value),
            )
            .at_opt(span(file, &c.version))
            .help("this sqlpact reads `version: 1`"),
        );
    }
    if c.engine.value != "postgresql" {
        diags.push(
            Diagnostic::error(
                Code::UnsupportedVersion,
                format!("engine `{}` is not supported", c.engine.value),
            )
            .at_opt(span(file, &c.engine))
            .help("sqlpact supports `engine: postgresql`"),
        );
    }
    let name = &c.contract.name;
    if name.value.is_empty()
        || !name
            .value
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_')
        || !name.value.starts_with(|ch: char| ch.is_ascii_lowercase())
    {
        diags.push(invalid(
            file,
            name,
            format!("contract name `{}` is not a valid name", name.value),
            "start with a lowercase letter and use only lowercase letters, digits, `-` and `_`",
        ));
    }
    if parse_semver(&c.contract.version.value).is_none() {
        diags.push(invalid(
            file,
            &c.contract.version,
            format!(
                "contract version `{}` is not a semantic version",
                c.contract.version.value
            ),
            "write MAJOR.MINOR.PATCH, e.g. `1.4.0`",
        ));
    }
    if let Some(w) = &c.wire {
        if w.version.value == 0 {
            diags.push(invalid(
                file,
                &w.version,
                "wire version must be at least 1".into(),
                "start at `version: 1`",
            ));
        }
        if let Some(m) = &w.min_compatible {
            if m.value > w.version.value || m.value == 0 {
                diags.push(invalid(
                    file,
                    m,
                    format!(
                        "min_compatible {} must be between 1 and the wire version {}",
                        m.value, w.version.value
                    ),
                    "set min_compatible to the oldest wire version readers still accept",
                ));
            }
        }
        if let Some(p) = &w.package {
            let ok = !p.value.is_empty()
                && p.value.split('.').all(|seg| {
                    let mut ch = seg.chars();
                    ch.next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && ch.all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if !ok {
                diags.push(invalid(
                    file,
                    p,
                    format!("`{}` is not a protobuf package name", p.value),
                    "write dot-separated identifiers, e.g. `ledger.wire`; sqlpact appends `.v<version>`",
                ));
            }
        }
        if let Some(u) = &w.uuid {
            if u.value != "string" && u.value != "bytes" {
                diags.push(invalid(
                    file,
                    u,
                    format!("`{}` is not a uuid wire form", u.value),
                    "write `uuid: string` (text, the default) or `uuid: bytes` (16 bytes)",
                ));
            }
        }
    }
}

/// Parses `MAJOR.MINOR.PATCH` with an optional `-pre` or `+build` suffix.
/// The suffix holds SemVer's identifier characters only, so the version can be copied
/// into generated files (Cargo.toml, header comments) as it is.
pub fn parse_semver(v: &str) -> Option<(u64, u64, u64)> {
    let (core, suffix) = v.find(['-', '+']).map_or((v, ""), |i| v.split_at(i));
    if !suffix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
    {
        return None;
    }
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((major, minor, patch))
}

/// Parses a duration such as `250ms`, `2s`, `1m30s`, `1h` into milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(factor)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

fn duration(file: FileId, l: &Option<Located<String>>, diags: &mut Diagnostics) -> Option<u64> {
    let l = l.as_ref()?;
    match parse_duration_ms(&l.value) {
        Some(ms) => Some(ms),
        None => {
            diags.push(invalid(
                file,
                l,
                format!("`{}` is not a duration", l.value),
                "write a number with a unit: `250ms`, `2s`, `1m30s`, `1h`",
            ));
            None
        }
    }
}

fn builtin_retry() -> BTreeMap<String, RetrySpec> {
    let mut m = BTreeMap::new();
    m.insert(
        "none".to_owned(),
        RetrySpec {
            max_attempts: 1,
            initial_backoff_ms: 0,
            max_backoff_ms: 0,
            multiplier: 1.0,
            jitter: "none".into(),
        },
    );
    m.insert(
        "standard".to_owned(),
        RetrySpec {
            max_attempts: 3,
            initial_backoff_ms: 50,
            max_backoff_ms: 2_000,
            multiplier: 2.0,
            jitter: "full".into(),
        },
    );
    m
}

fn partial(
    file: FileId,
    p: &QueryPolicy,
    retry_names: &HashSet<String>,
    diags: &mut Diagnostics,
) -> PartialPolicy {
    let timeout_ms = duration(file, &p.timeout, diags);
    if timeout_ms == Some(0) {
        if let Some(t) = &p.timeout {
            diags.push(invalid(
                file,
                t,
                "a timeout of zero would fail every call".into(),
                "use a positive duration such as `2s`",
            ));
        }
    }
    let retry = p.retry.as_ref().map(|r| {
        if !retry_names.contains(&r.value) {
            let mut names: Vec<&str> = retry_names.iter().map(String::as_str).collect();
            names.sort();
            let hint = did_you_mean(&r.value, names.iter().copied()).map_or_else(
                || {
                    format!(
                        "define it under `policies.retry`, or use one of: {}",
                        names.join(", ")
                    )
                },
                |s| format!("did you mean `{s}`?"),
            );
            diags.push(invalid(
                file,
                r,
                format!("unknown retry policy `{}`", r.value),
                &hint,
            ));
        }
        r.value.clone()
    });
    let route = p.route.as_ref().map(|r| {
        if r.value != "primary" && r.value != "replica" {
            diags.push(invalid(
                file,
                r,
                format!("unknown route `{}`", r.value),
                "use `primary` or `replica`",
            ));
        }
        (r.value.clone(), span(file, r))
    });
    PartialPolicy {
        timeout_ms,
        retry,
        idempotent: p.idempotent,
        route,
        idempotency_key: p
            .idempotency_key
            .as_ref()
            .map(|k| (k.value.clone(), span(file, k))),
        expect_one_row: p.expect_one_row,
        session: p.session,
    }
}

pub fn check_policies(
    c: &RegistryFile,
    file: FileId,
    diags: &mut Diagnostics,
) -> ValidatedPolicies {
    let mut retry = builtin_retry();
    let mut pool = PoolSpec {
        max_size: 10,
        min_idle: 0,
        acquire_timeout_ms: 1_000,
        idle_timeout_ms: 300_000,
        max_lifetime_ms: 1_800_000,
        lifetime_jitter_ms: 60_000,
        instances: 1,
        connection_budget: None,
    };
    let mut breaker = BreakerSpec {
        failure_threshold: 5,
        open_for_ms: 5_000,
    };
    let Some(p) = &c.policies else {
        return ValidatedPolicies {
            defaults: PartialPolicy::default(),
            queries: BTreeMap::new(),
            table: Policies {
                retry,
                pool,
                breaker,
            },
        };
    };
    for (name, r) in &p.retry {
        if r.max_attempts.value == 0 {
            diags.push(invalid(
                file,
                &r.max_attempts,
                "max_attempts counts the first attempt and must be at least 1".into(),
                "use 1 for no retries",
            ));
        }
        if let Some(m) = &r.multiplier {
            if !(m.value.is_finite() && m.value >= 1.0) {
                diags.push(invalid(
                    file,
                    m,
                    format!("multiplier {} must be at least 1", m.value),
                    "use 2 to double the backoff each attempt",
                ));
            }
        }
        let jitter = r.jitter.as_ref().map_or("full".to_owned(), |j| {
            if !["full", "equal", "none"].contains(&j.value.as_str()) {
                diags.push(invalid(
                    file,
                    j,
                    format!("unknown jitter `{}`", j.value),
                    "use `full`, `equal` or `none`",
                ));
            }
            j.value.clone()
        });
        let initial = duration(file, &r.initial_backoff, diags).unwrap_or(50);
        let max = duration(file, &r.max_backoff, diags).unwrap_or(2_000);
        if max < initial {
            if let Some(l) = &r.max_backoff {
                diags.push(invalid(
                    file,
                    l,
                    "max_backoff is shorter than initial_backoff".into(),
                    "make max_backoff at least initial_backoff",
                ));
            }
        }
        retry.insert(
            name.clone(),
            RetrySpec {
                max_attempts: r.max_attempts.value,
                initial_backoff_ms: initial,
                max_backoff_ms: max,
                multiplier: r.multiplier.as_ref().map_or(2.0, |m| m.value),
                jitter,
            },
        );
    }
    if let Some(pp) = &p.pool {
        if let Some(m) = &pp.max_size {
            if m.value == 0 {
                diags.push(invalid(
                    file,
                    m,
                    "max_size must be at least 1".into(),
                    "a pool needs one connection at least",
                ));
            }
            pool.max_size = m.value;
        }
        if let Some(m) = &pp.min_idle {
            if m.value > pool.max_size {
                diags.push(invalid(
                    file,
                    m,
                    format!(
                        "min_idle {} is larger than max_size {}",
                        m.value, pool.max_size
                    ),
                    "keep min_idle at or below max_size",
                ));
            }
            pool.min_idle = m.value;
        }
        pool.acquire_timeout_ms =
            duration(file, &pp.acquire_timeout, diags).unwrap_or(pool.acquire_timeout_ms);
        pool.idle_timeout_ms =
            duration(file, &pp.idle_timeout, diags).unwrap_or(pool.idle_timeout_ms);
        pool.max_lifetime_ms =
            duration(file, &pp.max_lifetime, diags).unwrap_or(pool.max_lifetime_ms);
        pool.lifetime_jitter_ms =
            duration(file, &pp.lifetime_jitter, diags).unwrap_or(pool.lifetime_jitter_ms);
        for n in [&pp.instances, &pp.connection_budget].into_iter().flatten() {
            if n.value == 0 {
                diags.push(invalid(
                    file,
                    n,
                    "must be at least 1".into(),
                    "count the service's instances, and the connections the database grants it",
                ));
            }
        }
        pool.instances = pp.instances.as_ref().map_or(1, |n| n.value);
        pool.connection_budget = pp.connection_budget.as_ref().map(|n| n.value);
    }
    if let Some(b) = &p.breaker {
        if let Some(t) = &b.failure_threshold {
            if t.value == 0 {
                diags.push(invalid(
                    file,
                    t,
                    "failure_threshold must be at least 1".into(),
                    "the breaker opens after this many consecutive failures",
                ));
            }
            breaker.failure_threshold = t.value;
        }
        breaker.open_for_ms = duration(file, &b.open_for, diags).unwrap_or(breaker.open_for_ms);
    }
    let names: HashSet<String> = retry.keys().cloned().collect();
    let defaults = p
        .defaults
        .as_ref()
        .map(|d| partial(file, d, &names, diags))
        .unwrap_or_default();
    let queries = p
        .queries
        .iter()
        .map(|(k, v)| (k.value.clone(), partial(file, v, &names, diags)))
        .collect();
    ValidatedPolicies {
        defaults,
        queries,
        table: Policies {
            retry,
            pool,
            breaker,
        },
    }
}

/// A Go import path as `go` accepts it: `/`-separated elements of letters, digits and
/// `-._~+`, none empty or a dot path.
pub fn is_go_import_path(p: &str) -> bool {
    !p.is_empty()
        && p.split('/').all(|e| {
            !e.is_empty()
                && e != "."
                && e != ".."
                && e.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~+".contains(c))
        })
}

pub fn check_outputs(c: &RegistryFile, file: FileId, diags: &mut Diagnostics) {
    let Some(o) = &c.outputs else { return };
    if let Some(go) = &o.go {
        let p = &go.package.value;
        if p.is_empty()
            || !p
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
            || !p.starts_with(|ch: char| ch.is_ascii_lowercase())
        {
            diags.push(invalid(
                file,
                &go.package,
                format!("`{p}` is not a Go package name"),
                "use a short lowercase name such as `ledger`",
            ));
        }
        if let Some(n) = &go.nullable {
            if n.value != "pointer" && n.value != "pgtype" {
                diags.push(invalid(
                    file,
                    n,
                    format!("unknown nullable style `{}`", n.value),
                    "use `pointer` (*string) or `pgtype` (pgtype.Text)",
                ));
            }
        }
        if let Some(ip) = &go.import_path {
            if !is_go_import_path(&ip.value) {
                diags.push(invalid(
                    file,
                    ip,
                    format!("`{}` is not a Go import path", ip.value),
                    "use a module path and the package's directory in it, e.g. `example.com/svc/gen/ledger`",
                ));
            }
        }
    }
    if let Some(rs) = &o.rust {
        match &rs.crate_name {
            Some(c) => {
                let n = &c.value;
                if n.is_empty()
                    || !n
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
                {
                    diags.push(invalid(
                        file,
                        c,
                        format!("`{n}` is not a crate name"),
                        "use letters, digits, `-` and `_`, e.g. `ledger-db`",
                    ));
                }
            }
            None if !rs.module => diags.push(invalid(
                file,
                &rs.out,
                "the Rust output names no crate".into(),
                "add `crate: ledger-db`, or `module: true` to write a module for an existing crate",
            )),
            None => {}
        }
        check_dependencies(c, rs, file, diags);
    }
}

/// The crates a generated Rust crate depends on whatever its types.
const SET_BY_SQLPACT: &[&str] = &[
    "futures_util",
    "postgres_types",
    "prost",
    "prost_types",
    "serde",
    "sqlpact_runtime",
    "tokio_postgres",
];

/// `outputs.rust.dependencies`, and that every crate an override's Rust type names is
/// one the generated Cargo.toml depends on (a module's including crate has its own).
fn check_dependencies(
    c: &RegistryFile,
    rs: &super::config::RustOutput,
    file: FileId,
    diags: &mut Diagnostics,
) {
    let word = |v: &str| {
        !v.is_empty()
            && v.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_+./".contains(ch))
    };
    for (name, dep) in &rs.dependencies {
        let n = &name.value;
        if n.is_empty()
            || !n
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            diags.push(invalid(
                file,
                name,
                format!("`{}` is not a crate name", n.escape_debug()),
                "use the name the Rust types' paths begin with, e.g. `time`",
            ));
            continue;
        }
        if let Some(first) = rs
            .dependencies
            .keys()
            .take_while(|k| k.value != *n)
            .find(|k| code_name(&k.value) == code_name(n))
        {
            diags.push(invalid(
                file,
                name,
                format!("`{n}` and `{}` are one crate to Cargo", first.value),
                "declare it once",
            ));
            continue;
        }
        if SET_BY_SQLPACT.contains(&code_name(n).as_str()) {
            diags.push(invalid(
                file,
                name,
                format!("`{n}` is a dependency the generated crate declares itself"),
                "leave it out of `outputs.rust.dependencies`",
            ));
            continue;
        }
        let spec = dep.value.spec();
        let pins = [&spec.branch, &spec.tag, &spec.rev]
            .iter()
            .filter(|p| p.is_some())
            .count();
        let problem = if spec.version.is_none() && spec.path.is_none() && spec.git.is_none() {
            Some((
                format!("the dependency `{n}` names no version, path or git repository"),
                "give it a version requirement (`time: \"0.3\"`), a `path` relative to the registry, or a `git` URL",
            ))
        } else if pins > 0 && spec.git.is_none() {
            Some((
                format!("the dependency `{n}` pins a branch, tag or rev without `git`"),
                "add the repository's `git` URL, or drop the pin",
            ))
        } else if pins > 1 {
            Some((
                format!("the dependency `{n}` pins more than one of branch, tag and rev"),
                "keep one of them",
            ))
        } else if spec.path.is_some() && spec.git.is_some() {
            Some((
                format!("the dependency `{n}` names both a path and a git repository"),
                "keep one of them",
            ))
        } else {
            spec.features
                .iter()
                .chain(&spec.postgres_feature)
                .chain(&spec.package)
                .find(|f| !word(f))
                .map(|bad| {
                    (
                        format!("`{}` is not a feature or crate name", bad.escape_debug()),
                        "use letters, digits and `-`, `_`, `+`, `.`, `/`",
                    )
                })
        };
        if let Some((msg, help)) = problem {
            diags.push(invalid(file, dep, msg, help));
        }
    }
    if rs.module {
        return;
    }
    let declared: Vec<String> = rs
        .dependencies
        .keys()
        .map(|k| code_name(&k.value))
        .collect();
    for ty in c.types.iter().filter_map(|t| t.rust.as_ref()) {
        for root in crate::generate::rust::crate_roots(&ty.value) {
            if matches!(root, "std" | "core" | "alloc")
                || crate::generate::rust::builtin_crate(root)
                || declared.iter().any(|d| d == root)
            {
                continue;
            }
            diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!(
                        "the Rust type `{}` names the crate `{root}`, which the generated crate does not depend on",
                        ty.value
                    ),
                )
                .at_opt(span(file, ty))
                .help(format!(
                    "declare it under `outputs.rust.dependencies` (`{root}: \"1\"`, or a mapping with `path`, `git`, `features`), with `postgres_feature:` naming the tokio-postgres feature for its types if it needs one"
                )),
            );
        }
    }
}

/// Checks that every query the registry names (policies, row types, overrides) exists.
pub fn check_query_refs(
    c: &RegistryFile,
    queries: &[RawQuery],
    file: FileId,
    diags: &mut Diagnostics,
) {
    let names: HashSet<&str> = queries.iter().map(|q| q.name.as_str()).collect();
    let mut check = |l: &Located<String>, query: &str| {
        if !names.contains(query) {
            let hint = did_you_mean(query, names.iter().copied()).map_or_else(
                || "check the name against the `-- name:` headers".to_owned(),
                |s| format!("did you mean `{s}`?"),
            );
            diags.push(
                Diagnostic::error(
                    Code::UnknownQueryRef,
                    format!("no query is named `{query}`"),
                )
                .at_opt(span(file, l))
                .help(hint),
            );
        }
    };
    if let Some(p) = &c.policies {
        for k in p.queries.keys() {
            check(k, &k.value);
        }
    }
    for qs in c.row_types.values() {
        for q in qs {
            check(q, &q.value);
        }
    }
    let dotted = |l: &Located<String>| l.value.split_once('.').map(|(q, _)| q.to_owned());
    for t in &c.types {
        if let Some(qc) = &t.query_column {
            if let Some(q) = dotted(qc) {
                check(qc, &q);
            }
        }
    }
    for n in &c.nullability {
        for l in [&n.query_column, &n.param].into_iter().flatten() {
            if let Some(q) = dotted(l) {
                check(l, &q);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_import_paths() {
        for ok in [
            "example.com/svc/gen/ledger",
            "x",
            "gopkg.in/yaml.v3",
            "a/b-c/d_e/~f+g",
        ] {
            assert!(is_go_import_path(ok), "{ok}");
        }
        for bad in [
            "", "/abs", "a//b", "a/../b", "a/./b", "a b", "a\"\nb", "a/b/",
        ] {
            assert!(!is_go_import_path(bad), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("2s"), Some(2_000));
        assert_eq!(parse_duration_ms("1m30s"), Some(90_000));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms("2"), None);
        assert_eq!(parse_duration_ms("s"), None);
        assert_eq!(parse_duration_ms("2 s"), None);
        assert_eq!(parse_duration_ms("99999999999999999999h"), None);
    }

    #[test]
    fn semver() {
        assert_eq!(parse_semver("1.4.0"), Some((1, 4, 0)));
        assert_eq!(parse_semver("1.4.0-rc.1"), Some((1, 4, 0)));
        assert_eq!(parse_semver("1.4"), None);
        assert_eq!(parse_semver("v1.4.0"), None);
        assert_eq!(parse_semver("1.4.0+build.7"), Some((1, 4, 0)));
        assert_eq!(parse_semver("1.0.0-a\"\nbuild = \"x"), None);
    }
}
