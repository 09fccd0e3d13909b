//! The `sqlpact.yaml` file as written: plain serde types with a span on every value a
//! diagnostic may need to point at. `docs/sqlpact.schema.json` is generated from these
//! types, so a field's doc comment is also its editor tooltip.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A value and where it stands in the registry file (1-based line and column, byte range).
#[derive(Clone, Debug)]
pub struct Located<T> {
    pub value: T,
    pub line: u32,
    pub column: u32,
    /// Byte offset and length in the registry file, when known.
    pub offset: Option<(usize, usize)>,
}

impl<T> Located<T> {
    pub fn new(value: T) -> Self {
        Located {
            value,
            line: 0,
            column: 0,
            offset: None,
        }
    }
}

impl<T: PartialEq> PartialEq for Located<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Located<T> {}
impl<T: PartialOrd> PartialOrd for Located<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}
impl<T: Ord> Ord for Located<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        let loc = s.referenced;
        let span = loc.span();
        let offset = match (span.byte_offset(), span.byte_len()) {
            (Some(o), Some(l)) => Some((o as usize, l as usize)),
            _ => None,
        };
        Ok(Located {
            value: s.value,
            line: loc.line() as u32,
            column: loc.column() as u32,
            offset,
        })
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
}

/// The registry entry file, `sqlpact.yaml`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "sqlpact registry")]
pub struct RegistryFile {
    /// Version of this file's format. Only `1` exists.
    pub version: Located<u32>,
    /// The contract's identity.
    pub contract: ContractInfo,
    /// The database engine. Only `postgresql` is supported.
    pub engine: Located<String>,
    /// Schema sources, applied in order: DDL files, or migration directories (numbered
    /// `.sql`, golang-migrate `*.up.sql`, goose, sqlx and refinery layouts). Paths are
    /// relative to this file; globs are allowed.
    pub schema: Vec<Located<String>>,
    /// Query sources: globs of sqlc-annotated SQL files, or inline query entries.
    pub queries: Vec<Located<QueryEntry>>,
    /// Type overrides: per database type, per table column, or per query column.
    #[serde(default)]
    pub types: Vec<TypeOverride>,
    /// Explicit nullability for table columns, query result columns and parameters.
    #[serde(default)]
    pub nullability: Vec<NullabilityOverride>,
    /// Named row types shared by several queries: the type name maps to the queries that
    /// return it. The queries must return the same shape.
    #[serde(default)]
    pub row_types: BTreeMap<String, Vec<Located<String>>>,
    /// Runtime policies: timeouts, retries, idempotency, pool limits, routing.
    #[serde(default)]
    pub policies: Option<Policies>,
    /// The wire (protobuf) version of the contract.
    #[serde(default)]
    pub wire: Option<Wire>,
    /// Renames: the new name maps to the old one, so that the rename keeps its wire field
    /// number and the compat gate does not read it as a removal. Keys: `Query` (a query),
    /// `Query.column` (a result column), `Query.@param` (a parameter), `enum.value` (an
    /// enum value; the enum schema-qualified or not).
    #[serde(default)]
    pub renamed_from: BTreeMap<String, Located<String>>,
    /// Where generated code goes.
    #[serde(default)]
    pub outputs: Option<Outputs>,
    /// Lifecycle of queries, by query name: deprecation with its reason and sunset date,
    /// and stability (`stable`, `beta`, `alpha`).
    #[serde(default)]
    pub lifecycle: BTreeMap<Located<String>, LifecycleEntry>,
    /// How `sqlpact compat` judges changes to this contract.
    #[serde(default)]
    pub compat: Option<CompatConfig>,
}

/// Settings of the compat gate.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompatConfig {
    /// The mode when `--mode` is not given: `backward` (the default), `forward` or
    /// `full`.
    #[serde(default)]
    pub mode: Option<Located<String>>,
    /// Whether `alpha` and `beta` queries are exempt from the breaking-change rules
    /// (their findings become `info`). Default `true`.
    #[serde(default)]
    pub exempt_unstable: Option<bool>,
    /// Every deprecated query must name a sunset date (`LIF-003`). Default `false`.
    #[serde(default)]
    pub require_sunset: Option<bool>,
    /// Findings accepted on purpose, each with its reason.
    #[serde(default)]
    pub ignore: Vec<IgnoreEntry>,
}

/// One suppressed finding: a rule and the entity path it reports
/// (`query GetAccount column email`), as `sqlpact compat --format json` prints them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IgnoreEntry {
    /// The rule ID: `COL-001`.
    pub rule: Located<String>,
    /// The entity path the finding names.
    pub entity: Located<String>,
    /// The finding's fingerprint, to suppress that finding only.
    #[serde(default)]
    pub fingerprint: Option<Located<String>>,
    /// Why the change is accepted.
    pub reason: Located<String>,
    /// `YYYY-MM-DD`: from this day on the entry no longer suppresses anything.
    #[serde(default)]
    pub expires: Option<Located<String>>,
}

/// The lifecycle of one query.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleEntry {
    /// Marks the query deprecated; the text says why, or what to use instead.
    #[serde(default)]
    pub deprecated: Option<Located<String>>,
    /// The date after which the query may be removed: `2027-03-31`. Needs `deprecated`.
    #[serde(default)]
    pub sunset: Option<Located<String>>,
    /// `stable` (the default), `beta` or `alpha`: how much its users may rely on it.
    #[serde(default)]
    pub stability: Option<Located<String>>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractInfo {
    /// Name of the contract, usually the service's name. Lowercase letters, digits, `-`, `_`.
    pub name: Located<String>,
    /// Semantic version of the contract, e.g. `1.4.0`.
    pub version: Located<String>,
    /// Free text shown in generated headers and changelogs.
    #[serde(default)]
    pub description: Option<String>,
}

/// A query source: a path or glob (a string), or an inline query (a mapping).
#[derive(Clone, Debug, JsonSchema)]
#[serde(untagged)]
pub enum QueryEntry {
    /// A path or glob of sqlc-annotated SQL files, relative to the registry.
    Files(String),
    /// A query written in the registry itself.
    Inline(InlineQuery),
}

impl<'de> Deserialize<'de> for QueryEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = QueryEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path or glob of SQL files, or a query mapping {name, command, sql}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<QueryEntry, E> {
                Ok(QueryEntry::Files(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<QueryEntry, A::Error> {
                InlineQuery::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(QueryEntry::Inline)
            }
        }
        d.deserialize_any(EntryVisitor)
    }
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineQuery {
    /// The query's name, in PascalCase (e.g. `GetAccount`).
    pub name: Located<String>,
    /// What the query returns: `one`, `many`, `exec`, `execrows`, `execresult`,
    /// `copyfrom`, `batchexec`, `batchmany`, `batchone`.
    pub command: Located<String>,
    /// The SQL, with parameters written `@name`, `sqlc.arg(name)`, `sqlc.narg(name)` or `$1`.
    pub sql: Located<String>,
    /// Documentation carried into generated code.
    #[serde(default)]
    pub doc: Option<String>,
    /// Parameters that make their filter optional: when the value is NULL the predicate
    /// that uses it is skipped.
    #[serde(default)]
    pub optional: Vec<Located<String>>,
}

/// A type override. Exactly one of `db_type`, `column` or `query_column` says what it
/// applies to. One override covers both the nullable and the non-null use of the type.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeOverride {
    /// A PostgreSQL type as `pg_type` spells it: `numeric`, `uuid`, `public.money_amount`.
    #[serde(default)]
    pub db_type: Option<Located<String>>,
    /// A table column: `table.column` or `schema.table.column`.
    #[serde(default)]
    pub column: Option<Located<String>>,
    /// A result column or parameter of one query: `QueryName.column`.
    #[serde(default)]
    pub query_column: Option<Located<String>>,
    /// Go type, fully qualified when imported: `github.com/shopspring/decimal.Decimal`.
    #[serde(default)]
    pub go: Option<Located<String>>,
    /// Go type of the nullable form, when not a pointer to `go`.
    #[serde(default)]
    pub go_nullable: Option<Located<String>>,
    /// Rust type, a path: `rust_decimal::Decimal`. The nullable form is `Option<...>`.
    #[serde(default)]
    pub rust: Option<Located<String>>,
    /// Protobuf type for the wire format: `string`, `bytes`, `google.protobuf.Timestamp`.
    #[serde(default)]
    pub proto: Option<Located<String>>,
}

/// Forces the nullability of a table column, a query's result column or a parameter.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NullabilityOverride {
    /// A table column: `table.column`.
    #[serde(default)]
    pub column: Option<Located<String>>,
    /// A query result column: `QueryName.column`.
    #[serde(default)]
    pub query_column: Option<Located<String>>,
    /// A query parameter: `QueryName.param`.
    #[serde(default)]
    pub param: Option<Located<String>>,
    /// Whether the value may be NULL.
    pub nullable: bool,
}

/// Runtime policies, stored and validated here, applied by the runtime.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    /// Policy applied to every query unless the query says otherwise.
    #[serde(default)]
    pub defaults: Option<QueryPolicy>,
    /// Named retry policies. `none` and `standard` are built in and may be redefined.
    #[serde(default)]
    pub retry: BTreeMap<String, RetryPolicy>,
    /// Connection pool limits.
    #[serde(default)]
    pub pool: Option<PoolPolicy>,
    /// Circuit breaker settings, per host.
    #[serde(default)]
    pub breaker: Option<BreakerPolicy>,
    /// Per-query policies, by query name.
    #[serde(default)]
    pub queries: BTreeMap<Located<String>, QueryPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryPolicy {
    /// Deadline for one call, retries included: `250ms`, `2s`, `1m`.
    #[serde(default)]
    pub timeout: Option<Located<String>>,
    /// Name of a retry policy.
    #[serde(default)]
    pub retry: Option<Located<String>>,
    /// Whether running the statement twice has the same effect as once.
    #[serde(default)]
    pub idempotent: Option<bool>,
    /// Where the statement runs: `primary` or `replica`.
    #[serde(default)]
    pub route: Option<Located<String>>,
    /// The parameter holding an idempotency key: the runtime records the key with the
    /// write's result in one transaction, and a replay returns the stored result.
    #[serde(default)]
    pub idempotency_key: Option<Located<String>>,
    /// The statement must affect a row; affecting none is a `conflict` error
    /// (optimistic concurrency, e.g. `WHERE id = @id AND version = @version`).
    #[serde(default)]
    pub expect_one_row: Option<bool>,
    /// The query leaves state on its session on purpose (a session-level advisory
    /// lock, a setting) and runs on a connection the caller holds: no `W100` warning.
    #[serde(default)]
    pub session: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: Located<u32>,
    /// First backoff: `50ms`.
    #[serde(default)]
    pub initial_backoff: Option<Located<String>>,
    /// Largest backoff: `2s`.
    #[serde(default)]
    pub max_backoff: Option<Located<String>>,
    /// Growth factor between backoffs, at least 1.
    #[serde(default)]
    pub multiplier: Option<Located<f64>>,
    /// Jitter: `full`, `equal` or `none`.
    #[serde(default)]
    pub jitter: Option<Located<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolPolicy {
    /// Most connections open at once, per host.
    #[serde(default)]
    pub max_size: Option<Located<u32>>,
    /// Connections kept open when idle.
    #[serde(default)]
    pub min_idle: Option<Located<u32>>,
    /// How long a caller waits for a connection: `1s`.
    #[serde(default)]
    pub acquire_timeout: Option<Located<String>>,
    /// Idle connections older than this are closed: `5m`.
    #[serde(default)]
    pub idle_timeout: Option<Located<String>>,
    /// Connections older than this are replaced: `30m`.
    #[serde(default)]
    pub max_lifetime: Option<Located<String>>,
    /// Random spread added to `max_lifetime` so connections do not expire together: `1m`.
    #[serde(default)]
    pub lifetime_jitter: Option<Located<String>>,
    /// How many instances of the service run at once, each with its own pool
    /// (default 1).
    #[serde(default)]
    pub instances: Option<Located<u32>>,
    /// The connections the database grants this service per host, all instances
    /// together: `max_size × instances` above it is a compat warning (`RUN-006`).
    #[serde(default)]
    pub connection_budget: Option<Located<u32>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker.
    #[serde(default)]
    pub failure_threshold: Option<Located<u32>>,
    /// How long the breaker stays open before a probe: `5s`.
    #[serde(default)]
    pub open_for: Option<Located<String>>,
}

/// The wire (protobuf) version.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Wire {
    /// Current wire version, at least 1.
    pub version: Located<u32>,
    /// Oldest wire version still accepted; at most `version`.
    #[serde(default)]
    pub min_compatible: Option<Located<u32>>,
    /// Protobuf package prefix; the wire version is appended: `ledger.wire` gives
    /// `ledger.wire.v3`. Defaults to the contract name followed by `.wire`.
    #[serde(default)]
    pub package: Option<Located<String>>,
    /// Directory the derived `.proto` files are written to, relative to the registry.
    /// Without it the messages are still derived (for the Go and Rust code) but no
    /// `.proto` file is written.
    #[serde(default)]
    pub out: Option<Located<String>>,
    /// How a `uuid` travels: `string` (the default, `8-4-4-4-12` hex) or `bytes` (16 bytes).
    #[serde(default)]
    pub uuid: Option<Located<String>>,
    /// Hand-written `.proto` files (paths or globs relative to the registry), compiled
    /// together with the derived ones; they may import the derived file.
    #[serde(default)]
    pub protos: Vec<Located<String>>,
    /// The queries whose rows and parameters are derived into messages: names or globs
    /// (`Get*`). Without it, every query; `[]` derives none (the hand-written `protos`
    /// and the SQL enums remain).
    #[serde(default)]
    pub queries: Option<Vec<Located<String>>>,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    #[serde(default)]
    pub go: Option<GoOutput>,
    #[serde(default)]
    pub rust: Option<RustOutput>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoOutput {
    /// Output directory, relative to the registry.
    pub out: Located<String>,
    /// Go package name.
    pub package: Located<String>,
    /// How nullable values are written: `pointer` (`*string`) or `pgtype` (`pgtype.Text`).
    #[serde(default)]
    pub nullable: Option<Located<String>>,
    /// Add `json` tags to row structs.
    #[serde(default)]
    pub json_tags: bool,
    /// Emit a `Querier` interface.
    #[serde(default)]
    pub emit_interface: bool,
    /// Directory of templates overriding the built-in ones, by file name.
    #[serde(default)]
    pub templates: Option<Located<String>>,
    /// The Go import path of the package (`example.com/svc/gen/ledger`). Needed only for
    /// the wire messages' subpackage; by default it comes from the nearest `go.mod`
    /// above `out`.
    #[serde(default)]
    pub import_path: Option<Located<String>>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RustOutput {
    /// Output directory, relative to the registry.
    pub out: Located<String>,
    /// Crate name; required unless `module` is set.
    #[serde(rename = "crate", default)]
    pub crate_name: Option<Located<String>>,
    /// Write a module (`mod.rs` and its files) to include in an existing crate, instead
    /// of a crate of its own.
    #[serde(default)]
    pub module: bool,
    /// Derive serde's `Serialize` and `Deserialize` on row structs.
    #[serde(default)]
    pub serde: bool,
    /// Directory of templates overriding the built-in ones, by file name.
    #[serde(default)]
    pub templates: Option<Located<String>>,
    /// Path of the `sqlpact-runtime` crate, relative to the registry; without it the
    /// generated crate depends on the published `sqlpact-runtime = "0.1"`.
    #[serde(default)]
    pub runtime_path: Option<Located<String>>,
    /// Crates the Rust types of `types:` overrides name, beyond those of the built-in
    /// mapping, by the name the code uses (`time: "0.3"`); a crate of the built-in mapping
    /// named here takes this form instead.
    #[serde(default)]
    pub dependencies: BTreeMap<Located<String>, Located<Dependency>>,
}

/// A crate the generated Rust crate depends on: a version requirement, or a table as
/// Cargo takes it.
#[derive(Clone, Debug, JsonSchema)]
#[serde(untagged)]
pub enum Dependency {
    /// A version requirement: `"0.3"`.
    Version(String),
    Detailed(DependencySpec),
}

impl<'de> Deserialize<'de> for Dependency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DepVisitor;
        impl<'de> Visitor<'de> for DepVisitor {
            type Value = Dependency;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a version requirement such as \"0.3\", or a mapping {version, path, git, features, postgres_feature, ...}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dependency, E> {
                Ok(Dependency::Version(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Dependency, A::Error> {
                DependencySpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Dependency::Detailed)
            }
        }
        d.deserialize_any(DepVisitor)
    }
}

impl Dependency {
    /// The table form of either.
    pub fn spec(&self) -> DependencySpec {
        match self {
            Dependency::Version(v) => DependencySpec {
                version: Some(v.clone()),
                ..DependencySpec::default()
            },
            Dependency::Detailed(d) => d.clone(),
        }
    }
}

/// A dependency's table, with Cargo's keys and `postgres_feature`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DependencySpec {
    /// A version requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A local crate's directory, relative to the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A git repository's URL, with at most one of `branch`, `tag` and `rev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// The crate's name on its registry, when the code names it otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_features: Option<bool>,
    /// The tokio-postgres feature that implements `ToSql`/`FromSql` for the crate's
    /// types (`with-time-0_3`), when the crate does not implement them itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_feature: Option<String>,
}
