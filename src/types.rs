//! PostgreSQL types, and their mapping to Go, Rust and protobuf types.
//!
//! The per-language tables are data (`templates/<lang>/types.yaml`), not code: a new
//! language brings its own table.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

/// A PostgreSQL type, named as `pg_type` names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PgType {
    /// A built-in type (`int4`, `text`) or a schema-qualified user type (`public.status`).
    Named(String),
    Array(Box<PgType>),
    /// Not known yet: an untyped NULL or an unbound parameter.
    Unknown,
}

impl fmt::Display for PgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgType::Named(n) => f.write_str(n),
            PgType::Array(e) => write!(f, "{e}[]"),
            PgType::Unknown => f.write_str("unknown"),
        }
    }
}

impl PgType {
    pub fn named(n: &str) -> Self {
        PgType::Named(n.to_owned())
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, PgType::Unknown)
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            PgType::Named(n) => Some(n),
            _ => None,
        }
    }

    pub fn is(&self, n: &str) -> bool {
        self.name() == Some(n)
    }

    pub fn array_of(self) -> Self {
        PgType::Array(Box::new(self))
    }

    /// The element type of an array of any dimensions; the type itself otherwise.
    pub fn innermost(&self) -> &PgType {
        let mut t = self;
        while let PgType::Array(e) = t {
            t = e;
        }
        t
    }

    pub fn element(&self) -> Option<&PgType> {
        match self {
            PgType::Array(e) => Some(e),
            _ => None,
        }
    }

    pub fn is_text(&self) -> bool {
        matches!(
            self.name(),
            Some("text" | "varchar" | "bpchar" | "citext" | "name")
        )
    }

    pub fn is_json(&self) -> bool {
        matches!(self.name(), Some("json" | "jsonb"))
    }
}

/// The canonical `pg_type` name of a built-in type as SQL may spell it, lowercase and with
/// modifiers such as `(20,4)` removed.
pub fn canonical_builtin(spelled: &str) -> Option<&'static str> {
    Some(match spelled {
        "int" | "integer" | "int4" | "serial" | "serial4" => "int4",
        "smallint" | "int2" | "smallserial" | "serial2" => "int2",
        "bigint" | "int8" | "bigserial" | "serial8" => "int8",
        "real" | "float4" => "float4",
        "double precision" | "float8" | "float" | "double" => "float8",
        "numeric" | "decimal" => "numeric",
        "varchar" | "character varying" => "varchar",
        "char" | "character" | "bpchar" => "bpchar",
        "text" => "text",
        "bool" | "boolean" => "bool",
        "bytea" => "bytea",
        "uuid" => "uuid",
        "date" => "date",
        "time" | "time without time zone" => "time",
        "timetz" | "time with time zone" => "timetz",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "json" => "json",
        "jsonb" => "jsonb",
        "inet" => "inet",
        "cidr" => "cidr",
        "macaddr" => "macaddr",
        "macaddr8" => "macaddr8",
        "money" => "money",
        "oid" => "oid",
        "xml" => "xml",
        "tsvector" => "tsvector",
        "tsquery" => "tsquery",
        "citext" => "citext",
        "name" => "name",
        "bit" => "bit",
        "bit varying" | "varbit" => "varbit",
        "point" => "point",
        "int4range" => "int4range",
        "int8range" => "int8range",
        "numrange" => "numrange",
        "tstzrange" => "tstzrange",
        "tsrange" => "tsrange",
        "daterange" => "daterange",
        // Known, so that a table may hold them; unmapped until a type override maps them.
        "int4multirange" => "int4multirange",
        "int8multirange" => "int8multirange",
        "nummultirange" => "nummultirange",
        "tsmultirange" => "tsmultirange",
        "tstzmultirange" => "tstzmultirange",
        "datemultirange" => "datemultirange",
        "line" => "line",
        "lseg" => "lseg",
        "box" => "box",
        "path" => "path",
        "polygon" => "polygon",
        "circle" => "circle",
        "pg_lsn" => "pg_lsn",
        "jsonpath" => "jsonpath",
        "regclass" => "regclass",
        "regtype" => "regtype",
        "regconfig" => "regconfig",
        "xid" => "xid",
        "xid8" => "xid8",
        "record" => "record",
        "void" => "void",
        s if s.starts_with("interval") => "interval",
        _ => return None,
    })
}

/// Whether a spelled type is a serial type (an integer with a sequence default).
pub fn is_serial(spelled: &str) -> bool {
    matches!(
        spelled,
        "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2"
    )
}

/// Splits a type as printed by the SQL parser (`NUMERIC(20,4)[]`, `TIMESTAMP WITH TIME
/// ZONE`, `public.status`) into its lowercase base spelling and its array depth.
pub fn split_spelling(printed: &str) -> (String, usize) {
    let mut s = printed.trim().to_ascii_lowercase();
    let mut dims = 0;
    loop {
        let t = s.trim_end();
        if let Some(rest) = t.strip_suffix("[]") {
            s = rest.to_owned();
            dims += 1;
        } else if let Some(rest) = t.strip_suffix(']') {
            // `int[3]`: a sized array is still an array.
            match rest.rfind('[') {
                Some(i) => {
                    s = rest[..i].to_owned();
                    dims += 1;
                }
                None => break,
            }
        } else if let Some(rest) = t.strip_suffix(" array") {
            s = rest.to_owned();
            dims += 1;
        } else {
            break;
        }
    }
    // Drop modifiers: `numeric(20,4)`, `varchar(64)`, `timestamp(3) with time zone`.
    let mut base = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => base.push(c),
            _ => {}
        }
    }
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    let base = base.trim_matches('"').replace("\".\"", ".");
    (base, dims)
}

/// Rank of a numeric type in PostgreSQL's implicit promotion order, for arithmetic.
pub fn numeric_rank(t: &PgType) -> Option<u8> {
    Some(match t.name()? {
        "int2" => 1,
        "int4" => 2,
        "int8" => 3,
        "numeric" => 4,
        "float4" => 5,
        "float8" => 6,
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GoEntry {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    nullable: Option<String>,
    #[serde(default)]
    pgtype: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RustEntry {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    #[allow(dead_code)]
    param: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtoEntry {
    #[serde(rename = "type")]
    ty: String,
}

struct Tables {
    go: BTreeMap<String, GoEntry>,
    rust: BTreeMap<String, RustEntry>,
    proto: BTreeMap<String, ProtoEntry>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| Tables {
        go: serde_saphyr::from_str(include_str!("../templates/go/types.yaml"))
            .expect("templates/go/types.yaml is valid (checked by tests)"),
        rust: serde_saphyr::from_str(include_str!("../templates/rust/types.yaml"))
            .expect("templates/rust/types.yaml is valid (checked by tests)"),
        proto: serde_saphyr::from_str(include_str!("../templates/proto/types.yaml"))
            .expect("templates/proto/types.yaml is valid (checked by tests)"),
    })
}

/// A type override from the registry: what a type, column or query column maps to.
#[derive(Clone, Debug, Default)]
pub struct LangTypes {
    pub go: Option<String>,
    pub go_nullable: Option<String>,
    pub rust: Option<String>,
    pub proto: Option<String>,
}

/// The three spellings of one value's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    pub go: String,
    pub rust: String,
    pub proto: String,
}

/// Everything type mapping needs beyond the built-in tables.
#[derive(Debug, Default)]
pub struct Mapper {
    /// Nullable Go values as `pgtype.X` instead of pointers.
    pub go_pgtype: bool,
    /// User enums: qualified name -> the type each language declares.
    pub enums: HashMap<String, Mapped>,
    /// Domains: qualified name -> underlying type.
    pub domains: HashMap<String, PgType>,
    /// Overrides per database type, by `pg_type` name.
    pub by_db_type: HashMap<String, LangTypes>,
}

impl Mapper {
    /// Maps a type; `Err` names the type that has no mapping in some language.
    pub fn map(
        &self,
        ty: &PgType,
        nullable: bool,
        over: Option<&LangTypes>,
    ) -> Result<Mapped, String> {
        let base = self.map_non_null(ty, over)?;
        if !nullable {
            return Ok(base);
        }
        let go = self.go_nullable(ty, &base.go, over);
        Ok(Mapped {
            go,
            rust: format!("Option<{}>", base.rust),
            proto: base.proto,
        })
    }

    /// Maps a result column's type: an array whose elements may be NULL takes its
    /// elements' nullable form (`[]*string`, `Vec<Option<String>>`) unless an override
    /// names the column's type itself.
    pub fn map_column(
        &self,
        ty: &PgType,
        nullable: bool,
        elem_nullable: bool,
        over: Option<&LangTypes>,
    ) -> Result<Mapped, String> {
        let mapped = self.map(ty, nullable, over)?;
        let multi = match ty {
            PgType::Array(e) if elem_nullable && self.override_for(ty, over).is_none() => {
                e.element().is_some()
            }
            _ => return Ok(mapped),
        };
        let e = self.map(ty.innermost(), true, None)?;
        if multi {
            let m = multidim(&e);
            return Ok(if nullable {
                Mapped {
                    go: self.go_nullable(ty, &m.go, over),
                    rust: format!("Option<{}>", m.rust),
                    proto: mapped.proto,
                }
            } else {
                Mapped {
                    proto: mapped.proto,
                    ..m
                }
            });
        }
        let rust = format!("Vec<{}>", e.rust);
        Ok(Mapped {
            go: format!("[]{}", e.go),
            rust: if nullable {
                format!("Option<{rust}>")
            } else {
                rust
            },
            proto: mapped.proto,
        })
    }

    fn override_for<'a>(
        &'a self,
        ty: &PgType,
        over: Option<&'a LangTypes>,
    ) -> Option<&'a LangTypes> {
        over.or_else(|| ty.name().and_then(|n| self.by_db_type.get(n)))
    }

    fn go_nullable(&self, ty: &PgType, go: &str, over: Option<&LangTypes>) -> String {
        if let Some(o) = self.override_for(ty, over) {
            if let Some(n) = &o.go_nullable {
                return n.clone();
            }
            if o.go.is_some() {
                return pointer(go);
            }
        }
        let resolved = self.resolve_domain(ty);
        if let PgType::Array(e) = resolved {
            // `pgtype.Array` has its own NULL (`Valid`); a slice is NULL when nil.
            return if e.element().is_some() && !self.go_pgtype {
                pointer(go)
            } else {
                go.to_owned()
            };
        }
        if let Some(entry) = resolved.name().and_then(|n| tables().go.get(n)) {
            if self.go_pgtype {
                if let Some(p) = &entry.pgtype {
                    return p.clone();
                }
            }
            if let Some(n) = &entry.nullable {
                return n.clone();
            }
        }
        pointer(go)
    }

    fn resolve_domain<'a>(&'a self, ty: &'a PgType) -> &'a PgType {
        let mut t = ty;
        for _ in 0..16 {
            match t.name().and_then(|n| self.domains.get(n)) {
                Some(base) => t = base,
                None => break,
            }
        }
        t
    }

    fn map_non_null(&self, ty: &PgType, over: Option<&LangTypes>) -> Result<Mapped, String> {
        let o = self.override_for(ty, over);
        let inner = match ty {
            // PostgreSQL does not check an array's dimensions against its declaration,
            // so a multidimensional one maps to a type that holds any (elements plus
            // dimensions), the same in both languages.
            PgType::Array(elem) if elem.element().is_some() => {
                let e = self.map_non_null(ty.innermost(), None)?;
                Some(multidim(&e))
            }
            PgType::Array(elem) => {
                let e = self.map_non_null(elem, None)?;
                Some(Mapped {
                    go: format!("[]{}", e.go),
                    rust: format!("Vec<{}>", e.rust),
                    proto: format!("repeated {}", e.proto),
                })
            }
            PgType::Unknown => None,
            PgType::Named(n) => {
                if let Some(gen) = self.enums.get(n) {
                    Some(gen.clone())
                } else if let Some(base) = self.domains.get(n) {
                    // A domain maps as its base type unless overridden itself.
                    self.map_non_null(base, None).ok()
                } else {
                    let t = tables();
                    match (t.go.get(n), t.rust.get(n), t.proto.get(n)) {
                        (Some(g), Some(r), Some(p)) => Some(Mapped {
                            go: g.ty.clone(),
                            rust: r.ty.clone(),
                            proto: p.ty.clone(),
                        }),
                        _ => None,
                    }
                }
            }
        };
        match (inner, o) {
            (Some(m), None) => Ok(m),
            (m, Some(o)) => {
                let fallback = m.as_ref();
                let go = o.go.clone().or_else(|| fallback.map(|m| m.go.clone()));
                let rust = o.rust.clone().or_else(|| fallback.map(|m| m.rust.clone()));
                let proto = o
                    .proto
                    .clone()
                    .or_else(|| fallback.map(|m| m.proto.clone()));
                match (go, rust, proto) {
                    (Some(go), Some(rust), proto) => Ok(Mapped {
                        go,
                        rust,
                        proto: proto.unwrap_or_else(|| "bytes".into()),
                    }),
                    _ => Err(ty.to_string()),
                }
            }
            (None, None) => Err(ty.to_string()),
        }
    }
}

/// A multidimensional array of elements mapped as `e`.
fn multidim(e: &Mapped) -> Mapped {
    Mapped {
        go: format!("github.com/jackc/pgx/v5/pgtype.Array[{}]", e.go),
        rust: format!("postgres_array::Array<{}>", e.rust),
        proto: format!("repeated repeated {}", e.proto),
    }
}

fn pointer(go: &str) -> String {
    if go.starts_with('*') || go.starts_with("[]") {
        go.to_owned()
    } else {
        format!("*{go}")
    }
}

/// `account_status` -> `AccountStatus`; `billing.status` -> `BillingStatus` (the
/// `public` schema is dropped): ASCII words only, so any SQL name is a proto identifier.
pub fn pascal_case(qualified: &str) -> String {
    let name = qualified.strip_prefix("public.").unwrap_or(qualified);
    let mut out: String = crate::generate::names::words(name)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// The type each language declares for the enum `qualified`: the names its generator
/// gives the declaration, so uses and declaration agree.
pub fn enum_type(qualified: &str) -> Mapped {
    use crate::generate::names::{go_exported, rust_pascal};
    let name = qualified.strip_prefix("public.").unwrap_or(qualified);
    Mapped {
        go: go_exported(name),
        rust: rust_pascal(name),
        proto: pascal_case(qualified),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_tables_parse_and_cover_the_same_types() {
        let t = tables();
        let go: Vec<_> = t.go.keys().collect();
        let rust: Vec<_> = t.rust.keys().collect();
        let proto: Vec<_> = t.proto.keys().collect();
        assert_eq!(go, rust);
        assert_eq!(go, proto);
        for k in t.go.keys() {
            assert_eq!(
                canonical_builtin(k),
                Some(k.as_str()),
                "{k} is not canonical"
            );
        }
    }

    #[test]
    fn spelling_is_split_into_base_and_dims() {
        assert_eq!(split_spelling("NUMERIC(20,4)"), ("numeric".into(), 0));
        assert_eq!(split_spelling("TEXT[]"), ("text".into(), 1));
        assert_eq!(split_spelling("INT[][]"), ("int".into(), 2));
        assert_eq!(
            split_spelling("TIMESTAMP(3) WITH TIME ZONE"),
            ("timestamp with time zone".into(), 0)
        );
        assert_eq!(
            split_spelling("character varying(64)"),
            ("character varying".into(), 0)
        );
    }

    #[test]
    fn nullable_mapping_follows_style_and_overrides() {
        let mut m = Mapper::default();
        let text = PgType::named("text");
        assert_eq!(m.map(&text, true, None).unwrap().go, "*string");
        assert_eq!(m.map(&text, true, None).unwrap().rust, "Option<String>");
        m.go_pgtype = true;
        assert_eq!(
            m.map(&text, true, None).unwrap().go,
            "github.com/jackc/pgx/v5/pgtype.Text"
        );
        m.by_db_type.insert(
            "numeric".into(),
            LangTypes {
                go: Some("github.com/shopspring/decimal.Decimal".into()),
                rust: Some("rust_decimal::Decimal".into()),
                ..Default::default()
            },
        );
        let n = PgType::named("numeric");
        assert_eq!(
            m.map(&n, false, None).unwrap().go,
            "github.com/shopspring/decimal.Decimal"
        );
        assert_eq!(
            m.map(&n, true, None).unwrap().go,
            "*github.com/shopspring/decimal.Decimal"
        );
        assert_eq!(
            m.map(&n.clone().array_of(), false, None).unwrap().rust,
            "Vec<rust_decimal::Decimal>"
        );
        assert!(m.map(&PgType::named("tsvector"), false, None).is_err());
    }

    #[test]
    fn a_multidimensional_array_maps_to_elements_with_dimensions() {
        let mut m = Mapper::default();
        let grid = PgType::named("int4").array_of().array_of().array_of();
        assert_eq!(grid.innermost(), &PgType::named("int4"));
        let pgtype = "github.com/jackc/pgx/v5/pgtype";
        let got = |m: &Mapper, nullable, elems| m.map_column(&grid, nullable, elems, None).unwrap();
        assert_eq!(got(&m, false, false).go, format!("{pgtype}.Array[int32]"));
        assert_eq!(got(&m, false, false).rust, "postgres_array::Array<i32>");
        // Pointers style: NULL is a nil pointer; pgtype style: `Valid: false`.
        assert_eq!(got(&m, true, false).go, format!("*{pgtype}.Array[int32]"));
        assert_eq!(
            got(&m, true, true).rust,
            "Option<postgres_array::Array<Option<i32>>>"
        );
        assert_eq!(got(&m, false, true).go, format!("{pgtype}.Array[*int32]"));
        m.go_pgtype = true;
        assert_eq!(got(&m, true, false).go, format!("{pgtype}.Array[int32]"));
        assert_eq!(
            got(&m, true, true).go,
            format!("{pgtype}.Array[{pgtype}.Int4]")
        );
        // A one-dimensional array is a slice, as before.
        let list = PgType::named("int4").array_of();
        assert_eq!(
            m.map_column(&list, true, true, None).unwrap().go,
            format!("[]{pgtype}.Int4")
        );
    }
    #[test]
    fn pascal_case_names() {
        assert_eq!(pascal_case("public.account_status"), "AccountStatus");
        assert_eq!(pascal_case("billing.status"), "BillingStatus");
    }
}
