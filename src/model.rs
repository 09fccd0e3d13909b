//! The resolved contract: the one model every backend reads.
//!
//! Plain data, serializable, versioned by [`MODEL_VERSION`]. `sqlpact inspect --format
//! json` prints it; `docs/registry.md` documents its fields. Backends (code generators,
//! the compat checker, the changelog) read this and never the YAML.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Version of the JSON shape below. Bumped on any incompatible change.
pub const MODEL_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Contract {
    pub model_version: u32,
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub engine: String,
    pub schema: Schema,
    pub queries: Vec<Query>,
    /// Named row types shared by several queries.
    pub row_types: Vec<RowType>,
    pub policies: Policies,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<Wire>,
    /// Renames, new name to old name: `GetAccount.display_name` → `name`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub renamed_from: BTreeMap<String, String>,
    pub outputs: Outputs,
    #[serde(default, skip_serializing_if = "CompatSettings::is_default")]
    pub compat: CompatSettings,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Schema {
    pub tables: Vec<Table>,
    pub enums: Vec<Enum>,
    pub domains: Vec<Domain>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Table {
    /// Schema-qualified name: `public.accounts`.
    pub name: String,
    /// `table` or `view`.
    pub kind: String,
    pub columns: Vec<TableColumn>,
    pub source: Source,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TableColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub nullable: bool,
    pub has_default: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Enum {
    /// Schema-qualified name: `public.account_status`.
    pub name: String,
    pub values: Vec<String>,
    pub source: Source,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Domain {
    pub name: String,
    /// The underlying type.
    pub base: String,
    pub not_null: bool,
    pub source: Source,
}

/// Where something was written.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Source {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Query {
    pub name: String,
    /// `one`, `many`, `exec`, `execrows`, `execresult`, `copyfrom`, `batchexec`,
    /// `batchmany`, `batchone`.
    pub command: String,
    /// The SQL sent to the server, parameters as `$1..$n`, `*` and `t.*` replaced by
    /// explicit column lists, optional filters made conditional.
    pub sql: String,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doc: Vec<String>,
    /// `select`, `insert`, `update` or `delete`.
    pub statement: String,
    /// True when the statement changes no data and takes no locks (a SELECT without
    /// data-modifying CTEs, `FOR UPDATE`/`FOR SHARE`, advisory locks or calls that
    /// write): it may run on a standby.
    pub read_only: bool,
    /// Tables and views the statement reads or writes, schema-qualified, sorted.
    pub tables: Vec<String>,
    pub params: Vec<Param>,
    pub columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<Embed>,
    /// The shared row type this query returns, when the registry names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_type: Option<String>,
    pub policy: QueryPolicy,
    /// Deprecation and stability, as the registry's `lifecycle:` declares them.
    #[serde(default, skip_serializing_if = "Lifecycle::is_default")]
    pub lifecycle: Lifecycle,
}

/// The lifecycle of a query.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Lifecycle {
    /// Why the query is deprecated, or what replaces it; `None` when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
    /// `YYYY-MM-DD`: from this day on the query may be removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sunset: Option<String>,
    /// `stable`, `beta` or `alpha`.
    #[serde(default = "stable", skip_serializing_if = "is_stable")]
    pub stability: String,
}

fn stable() -> String {
    "stable".into()
}

fn is_stable(s: &str) -> bool {
    s == "stable"
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            deprecated: None,
            sunset: None,
            stability: stable(),
        }
    }
}

impl Lifecycle {
    pub fn is_default(&self) -> bool {
        self.deprecated.is_none() && self.sunset.is_none() && is_stable(&self.stability)
    }

    /// `alpha` or `beta`: exempt from the breaking-change rules.
    pub fn unstable(&self) -> bool {
        !is_stable(&self.stability)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Param {
    pub name: String,
    /// 1-based position: `$position` in `sql`.
    pub position: u32,
    /// PostgreSQL type as `pg_type` spells it: `int4`, `text`, `int4[]`, `public.status`.
    #[serde(rename = "type")]
    pub ty: Arc<str>,
    pub nullable: bool,
    /// An optional filter parameter: NULL skips the predicate that uses it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
    /// Written `sqlc.slice(name)`: the caller passes a list.
    #[serde(default, skip_serializing_if = "is_false")]
    pub slice: bool,
    pub go_type: Arc<str>,
    pub rust_type: Arc<str>,
    pub proto_type: Arc<str>,
    /// The table column the parameter is compared with or written to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<Arc<str>>,
    pub type_reason: Reason,
    pub nullable_reason: Reason,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: Arc<str>,
    pub nullable: bool,
    /// An array whose elements may be NULL (`array_agg` of a nullable column): its
    /// elements are `*T` in Go and `Option<T>` in Rust.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub elem_nullable: bool,
    pub go_type: Arc<str>,
    pub rust_type: Arc<str>,
    pub proto_type: Arc<str>,
    /// The table column this result column reads directly, `public.accounts.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_column: Option<Arc<str>>,
    /// The `sqlc.embed` group this column belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed: Option<String>,
    pub type_reason: Reason,
    pub nullable_reason: Reason,
    /// Why the array's elements may be NULL, when `elem_nullable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elem_nullable_reason: Option<Reason>,
}

/// A `sqlc.embed(table)`: a run of result columns that forms one struct.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Embed {
    /// The alias or table name used in the query.
    pub name: String,
    /// The embedded table, schema-qualified.
    pub table: String,
    /// Whether the whole struct may be absent (outer join).
    pub nullable: bool,
    pub nullable_reason: Reason,
    /// Index of its first column in `columns`.
    pub first_column: u32,
    pub column_count: u32,
}

/// Why a type or a nullability was decided.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reason {
    pub source: ReasonSource,
    /// Shared: one table column's reasons are reused by every query reading it.
    pub detail: std::sync::Arc<str>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ReasonSource {
    /// A table column's declared type or NOT NULL constraint.
    TableConstraint,
    /// The side of an outer join.
    JoinSide,
    /// An aggregate or window function.
    Aggregate,
    /// An operator, function, CASE, COALESCE or similar rule.
    Expression,
    /// A literal value.
    Literal,
    /// An explicit cast.
    Cast,
    /// A parameter typed by where it is used.
    ParameterContext,
    /// A scalar subquery.
    Subquery,
    /// A set operation (UNION, INTERSECT, EXCEPT).
    SetOperation,
    /// A WHERE predicate that rules out NULL.
    Filter,
    /// An override in the registry.
    Override,
    /// Checked against a real server by `sqlpact verify`.
    Verification,
}

impl Reason {
    /// The detail is [`intern`]ed: thousands of columns give the same few reasons.
    pub fn new(source: ReasonSource, detail: impl AsRef<str>) -> Self {
        Reason {
            source,
            detail: intern(detail.as_ref()),
        }
    }
}

/// The one copy of `s` this thread hands out. The analyzer gives every parameter and
/// column its types, table column and reasons through it: a contract repeats a few
/// hundred of them across tens of thousands of parameters and columns.
pub fn intern(s: &str) -> Arc<str> {
    thread_local! {
        static STRINGS: std::cell::RefCell<std::collections::HashSet<Arc<str>>> =
            std::cell::RefCell::default();
    }
    STRINGS.with_borrow_mut(|set| match set.get(s) {
        Some(a) => a.clone(),
        None => {
            let a: Arc<str> = s.into();
            set.insert(a.clone());
            a
        }
    })
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RowType {
    pub name: String,
    pub queries: Vec<String>,
}

/// The policy a query runs under, fully resolved (defaults applied).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct QueryPolicy {
    pub timeout_ms: u64,
    pub retry: String,
    pub idempotent: bool,
    /// `declared` (set in the registry) or `inferred` (read-only statements).
    pub idempotent_source: String,
    /// `primary` or `replica`.
    pub route: String,
    /// The parameter holding the write's idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Affecting no row is a `conflict` error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub expect_one_row: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Policies {
    pub retry: BTreeMap<String, RetrySpec>,
    pub pool: PoolSpec,
    pub breaker: BreakerSpec,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RetrySpec {
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    pub multiplier: f64,
    /// `full`, `equal` or `none`.
    pub jitter: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PoolSpec {
    pub max_size: u32,
    pub min_idle: u32,
    pub acquire_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub max_lifetime_ms: u64,
    pub lifetime_jitter_ms: u64,
    /// Instances of the service running at once, each with its own pool.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub instances: u32,
    /// Connections the database grants the service per host, all instances together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_budget: Option<u32>,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// How the compat gate judges changes to the contract (`compat:` in the registry).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CompatSettings {
    /// `backward`, `forward` or `full`: the mode when the command names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `alpha` and `beta` queries are exempt from the breaking-change rules.
    pub exempt_unstable: bool,
    /// Every deprecated query must name a sunset date.
    pub require_sunset: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<Ignore>,
}

impl Default for CompatSettings {
    fn default() -> Self {
        CompatSettings {
            mode: None,
            exempt_unstable: true,
            require_sunset: false,
            ignore: Vec::new(),
        }
    }
}

impl CompatSettings {
    pub fn is_default(&self) -> bool {
        *self == CompatSettings::default()
    }
}

/// A suppressed finding: its rule and entity path (and fingerprint, when given).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Ignore {
    pub rule: String,
    pub entity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    pub reason: String,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The entry in the registry.
    pub source: Source,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BreakerSpec {
    pub failure_threshold: u32,
    pub open_for_ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Wire {
    pub version: u32,
    pub min_compatible: u32,
    /// The protobuf package, ending in the version: `ledger.wire.v3`.
    pub package: String,
    /// Where the derived `.proto` files are written, relative to the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<String>,
    /// `string` or `bytes`.
    pub uuid: String,
    /// Globs of the query names derived into messages; `None` is every query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Outputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go: Option<GoOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rust: Option<RustOutput>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GoOutput {
    pub out: String,
    pub package: String,
    /// `pointer` or `pgtype`.
    pub nullable: String,
    pub json_tags: bool,
    pub emit_interface: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<String>,
    /// The package's Go import path, when the registry sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_path: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RustOutput {
    pub out: String,
    /// Empty when `module` is set.
    #[serde(rename = "crate")]
    pub crate_name: String,
    /// A module to include in an existing crate (`mod.rs`), not a crate.
    #[serde(default, skip_serializing_if = "is_false")]
    pub module: bool,
    pub serde: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates: Option<String>,
    /// Path of the `sqlpact-runtime` crate, relative to the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_path: Option<String>,
    /// Crates the overrides' Rust types name, by the name the code uses.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, crate::registry::config::DependencySpec>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
