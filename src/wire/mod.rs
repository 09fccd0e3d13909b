//! Wire versions: protobuf messages derived from the resolved contract.
//!
//! One message per query row shape (`GetAccountRow`, or the shared row type's name),
//! one per parameter set (`GetAccountParams`), one per embedded table, and one enum per
//! SQL enum, in the package `<prefix>.v<wire version>`. Field numbers come from
//! `sqlpact.lock` ([`lock`]); the derived file is compiled by protox together with the
//! registry's hand-written `.proto` files, so every backend reads one checked
//! descriptor set.

mod descriptor;
pub mod lock;
mod proto;
pub mod samples;

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::generate::names::{dedupe, rust_pascal, singular, words};
use crate::model::{Column, Contract, Query};
use crate::source::{FileId, SourceMap, Span};
use crate::types::pascal_case;
pub use lock::Lock;

/// The derived wire format of a contract.
#[derive(Clone, Debug, PartialEq)]
pub struct WireModel {
    /// `ledger.wire.v3`.
    pub package: String,
    /// The derived file's name as other `.proto` files import it:
    /// `ledger/wire/v3/ledger.proto`.
    pub file: String,
    pub version: u32,
    pub min_compatible: u32,
    pub enums: Vec<WireEnum>,
    pub messages: Vec<Message>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WireEnum {
    pub name: String,
    /// The SQL enum, schema-qualified.
    pub sql_name: String,
    /// SQL value, protobuf value name, number.
    pub values: Vec<(String, String, u32)>,
    /// Number and protobuf name of removed values.
    pub reserved: Vec<(u32, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// The result row of the queries in `queries`.
    Row,
    /// The parameters of a query.
    Params,
    /// An embedded table (`sqlc.embed`).
    Embed,
    /// A list that may be NULL: `message StringList { repeated string values = 1; }`,
    /// carried by an `optional` field (protobuf has no NULL list).
    List,
    /// PostgreSQL's interval as PostgreSQL keeps it: months, days and microseconds
    /// (`google.protobuf.Duration` cannot hold a month, whose length varies).
    Interval,
}

/// The name of the [`MessageKind::Interval`] message.
pub const INTERVAL: &str = "Interval";

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub name: String,
    pub kind: MessageKind,
    /// The queries this message carries (rows, parameters) or is embedded in.
    pub queries: Vec<String>,
    pub fields: Vec<Field>,
    /// Number and name of removed fields.
    pub reserved: Vec<(u32, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// Always present (a NOT NULL value).
    Plain,
    /// May be absent: a nullable value.
    Optional,
    /// A list (an array or a `sqlc.slice`).
    Repeated,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The protobuf field name, snake case.
    pub name: String,
    /// The column or parameter it carries.
    pub source_name: String,
    pub number: u32,
    pub label: Label,
    /// Protobuf type: a scalar (`int64`), `google.protobuf.Timestamp`, an enum or a
    /// message of this package.
    pub ty: String,
    /// The PostgreSQL type, as the model spells it.
    pub pg_type: String,
    pub nullable: bool,
    /// For a nullable array: the element type inside the `List` message `ty`.
    pub list_of: Option<String>,
}

/// The wire stage's result.
#[derive(Debug)]
pub struct Build {
    pub model: WireModel,
    /// The lock as it should be on disk.
    pub lock: String,
    /// Whether the lock on disk differs (or is missing).
    pub lock_changed: bool,
    /// Derived `.proto` files: name → text (none with [`Detail::Descriptors`]).
    pub protos: BTreeMap<String, String>,
    /// Every file (derived, hand-written, their imports), compiled.
    pub descriptors: prost_types::FileDescriptorSet,
}

/// The contract's domains, to see through them to their base types.
pub(crate) struct Domains<'a>(BTreeMap<&'a str, &'a str>);

impl<'a> Domains<'a> {
    pub(crate) fn of(c: &'a Contract) -> Self {
        Domains(
            c.schema
                .domains
                .iter()
                .map(|d| (d.name.as_str(), d.base.as_str()))
                .collect(),
        )
    }

    /// The type under any domains, an array suffix kept: `public.amounts` →
    /// `numeric[]`.
    pub(crate) fn base(&self, ty: &str) -> String {
        let mut t = ty.to_owned();
        for _ in 0..16 {
            let (elem, arr) = match t.strip_suffix("[]") {
                Some(e) => (e.to_owned(), "[]"),
                None => (t.clone(), ""),
            };
            match self.0.get(elem.as_str()) {
                Some(b) => t = format!("{b}{arr}"),
                None => break,
            }
        }
        t
    }
}

const SCALARS: &[&str] = &[
    "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
    "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
];
/// The well-known message types a derived field may have, with the file of each, in
/// the order the derived file imports them.
const WELL_KNOWN: &[(&str, &str)] = &[
    ("google.protobuf.Duration", "google/protobuf/duration.proto"),
    (
        "google.protobuf.Timestamp",
        "google/protobuf/timestamp.proto",
    ),
];

/// The well-known files the derived file imports.
fn imports(m: &WireModel) -> Vec<&'static str> {
    let uses = |t: &str| {
        m.messages
            .iter()
            .any(|x| x.fields.iter().any(|f| f.ty == t))
    };
    WELL_KNOWN
        .iter()
        .filter(|(t, _)| uses(t))
        .map(|(_, file)| *file)
        .collect()
}

/// How much of the wire format [`build`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// The derived `.proto` text too, compiled with its comments (source info): what
    /// generation writes and hands to protoc-gen-go and prost-build.
    Full,
    /// Descriptors only, the derived file's built from the model (no text, no source
    /// info): what comparisons read, several times faster.
    Descriptors,
}

/// Derives, numbers and compiles the wire format. `None` when the contract declares no
/// wire or when something went wrong (reported in `diags`).
pub fn build(
    c: &Contract,
    lock_file: Option<FileId>,
    protos: &[FileId],
    sources: &SourceMap,
    diags: &mut Diagnostics,
    detail: Detail,
) -> Option<Build> {
    let w = c.wire.as_ref()?;
    let errors_before = diags.items.len();
    let on_disk = match lock_file {
        None => None,
        Some(id) => {
            let src = sources.get(id);
            match Lock::parse(&src.text) {
                Ok(l) => Some(l),
                Err((msg, at)) => {
                    let span = at.map(|(l, col)| Span::point(id, src.offset_of(l, col)));
                    diags.push(
                        Diagnostic::error(Code::WireLock, format!("{}: {msg}", src.name))
                            .at_opt(span)
                            .help("restore the file from version control; `sqlpact generate` rewrites it from the contract, but numbers lost from it cannot be recovered"),
                    );
                    return None;
                }
            }
        }
    };
    let mut lock = on_disk.clone().unwrap_or(Lock {
        version: lock::LOCK_VERSION,
        ..Lock::default()
    });
    let model = derive(c, w, &mut lock, sources, diags);
    if diags.items.len() > errors_before && diags.has_errors() {
        return None;
    }
    let lock_text = lock.render();
    let lock_changed = lock_file.is_none_or(|id| sources.get(id).text != lock_text);
    let (derived, protos_out) = match detail {
        Detail::Full => {
            let text = proto::render(c, &model);
            (
                proto::Derived::Text(text.clone()),
                BTreeMap::from([(model.file.clone(), text)]),
            )
        }
        Detail::Descriptors => (
            proto::Derived::Built(Box::new(descriptor::file(&model))),
            BTreeMap::new(),
        ),
    };
    let descriptors = proto::compile(&model.file, derived, protos, sources, diags)?;
    Some(Build {
        protos: protos_out,
        model,
        lock: lock_text,
        lock_changed,
        descriptors,
    })
}

/// A diagnostic located at a query's header.
fn at_query(q: &Query, sources: &SourceMap) -> Option<Span> {
    sources
        .files()
        .find(|(_, f)| f.name == q.source.file)
        .map(|(id, f)| Span::point(id, f.offset_of(q.source.line, q.source.column)))
}

/// A protobuf identifier in snake case: `Owner Name` → `owner_name`, `2fa` → `_2fa`.
pub fn field_name(s: &str) -> String {
    let mut n = words(s).join("_");
    if n.is_empty() {
        n = "value".into();
    }
    if n.starts_with(|c: char| c.is_ascii_digit()) {
        n.insert(0, '_');
    }
    n
}

/// `in-progress` of `TransferStatus` → `TRANSFER_STATUS_IN_PROGRESS`.
pub fn enum_value_name(enum_name: &str, value: &str) -> String {
    let prefix = words(enum_name).join("_").to_uppercase();
    let v = words(value).join("_").to_uppercase();
    if v.is_empty() {
        format!("{prefix}_VALUE")
    } else {
        format!("{prefix}_{v}")
    }
}

fn derive(
    c: &Contract,
    w: &crate::model::Wire,
    lock: &mut Lock,
    sources: &SourceMap,
    diags: &mut Diagnostics,
) -> WireModel {
    let enum_names: BTreeMap<&str, String> = c
        .schema
        .enums
        .iter()
        .map(|e| (e.name.as_str(), pascal_case(&e.name)))
        .collect();
    let domains = Domains::of(c);
    let base_of = |ty: &str| domains.base(ty);

    // Renames by kind.
    let mut query_renames = BTreeMap::new();
    let mut member_renames: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (new, old) in &c.renamed_from {
        match new.split_once('.') {
            None => {
                query_renames.insert(new.as_str(), old.as_str());
            }
            Some((head, tail)) => {
                member_renames
                    .entry(head)
                    .or_default()
                    .insert(field_name(tail.trim_start_matches('@')), field_name(old));
            }
        }
    }

    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    let mut claim = |name: &str, what: String, q: Option<&Query>, diags: &mut Diagnostics| {
        if let Some(first) = taken.get(name) {
            diags.push(
                Diagnostic::error(
                    Code::WireName,
                    format!(
                        "the wire message or enum `{name}` would stand for both {first} and {what}"
                    ),
                )
                .at_opt(q.and_then(|q| at_query(q, sources)))
                .help("rename the query, the row type or the enum so that the names differ"),
            );
            false
        } else {
            taken.insert(name.to_owned(), what);
            true
        }
    };

    // Enums.
    let mut enums = Vec::new();
    let mut live = BTreeSet::new();
    for e in &c.schema.enums {
        let name = enum_names[e.name.as_str()].clone();
        if !claim(&name, format!("enum `{}`", e.name), None, diags) {
            continue;
        }
        let mut renames = BTreeMap::new();
        let bare = e.name.strip_prefix("public.").unwrap_or(&e.name);
        for (new, old) in &c.renamed_from {
            if let Some((en, v)) = new.rsplit_once('.') {
                if en == e.name || en == bare {
                    renames.insert(v.to_owned(), old.clone());
                }
            }
        }
        let entry = lock.enums.entry(name.clone()).or_default();
        let numbers = entry.assign(&e.values, &renames);
        let values = e
            .values
            .iter()
            .zip(numbers)
            .map(|(v, n)| (v.clone(), enum_value_name(&name, v), n))
            .collect();
        let reserved = entry
            .reserved
            .iter()
            .map(|(n, v)| (*n, enum_value_name(&name, v)))
            .collect();
        live.insert(name.clone());
        enums.push(WireEnum {
            name,
            sql_name: e.name.clone(),
            values,
            reserved,
        });
    }
    for (name, e) in lock.enums.iter_mut() {
        if !live.contains(name) && !e.retired {
            e.retire();
        }
    }

    // Messages, in query order: embeds first met, then the row, then the parameters.
    let mut messages: Vec<Message> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let row_type_of: BTreeMap<&str, &str> = c
        .row_types
        .iter()
        .flat_map(|r| r.queries.iter().map(move |q| (q.as_str(), r.name.as_str())))
        .collect();
    let mut live = BTreeSet::new();
    let mut shared_made = BTreeSet::new();
    // `wire.queries`: the queries that travel (checked by the analyzer: valid globs).
    let selected = w.queries.as_ref().map(|globs| {
        let mut set = globset::GlobSetBuilder::new();
        for g in globs {
            if let Ok(g) = globset::Glob::new(g) {
                set.add(g);
            }
        }
        set.build().unwrap_or_else(|_| globset::GlobSet::empty())
    });
    for q in c
        .queries
        .iter()
        .filter(|q| selected.as_ref().is_none_or(|s| s.is_match(&q.name)))
    {
        let renames = member_renames.get(q.name.as_str());
        let empty = BTreeMap::new();
        let renames = renames.unwrap_or(&empty);
        let pending = |what: &str,
                       name: &str,
                       pg: &str,
                       nullable: bool,
                       proto: &str,
                       diags: &mut Diagnostics| {
            let wire = wire_type(proto, pg, nullable, &base_of, w, &enum_names)
                .map_err(|msg| {
                    let help = if msg.starts_with("a multidimensional") {
                        "return it as one dimension or as JSON in SQL (`array_to_json(x)`), or leave the query off the wire (`wire.queries`)"
                    } else {
                        "map the type to a protobuf scalar with a `types:` override, e.g. `proto: string`"
                    };
                    diags.push(
                        Diagnostic::error(Code::WireType, format!("query `{}`, {what} `{name}`: {msg}", q.name))
                            .at_opt(at_query(q, sources))
                            .help(help),
                    );
                })
                .ok();
            Pending {
                name: field_name(name),
                source: name.to_owned(),
                pg_type: pg.to_owned(),
                nullable,
                wire,
            }
        };
        let of_column = |c: &Column, diags: &mut Diagnostics| {
            if c.elem_nullable && c.proto_type.starts_with("repeated ") {
                diags.push(
                    Diagnostic::error(
                        Code::WireType,
                        format!(
                            "query `{}`, column `{}`: its array's elements may be NULL, which a protobuf repeated field cannot hold",
                            q.name, c.name
                        ),
                    )
                    .at_opt(at_query(q, sources))
                    .help("leave the NULLs out in SQL (`array_agg(x) FILTER (WHERE x IS NOT NULL)`, `array_remove(a, NULL)`), or the query off the wire (`wire.queries`)"),
                );
                return Pending {
                    name: field_name(&c.name),
                    source: c.name.clone(),
                    pg_type: c.ty.to_string(),
                    nullable: c.nullable,
                    wire: None,
                };
            }
            pending("column", &c.name, &c.ty, c.nullable, &c.proto_type, diags)
        };
        // Embedded tables.
        let mut embed_of: BTreeMap<u32, (String, bool)> = BTreeMap::new();
        for e in &q.embeds {
            let bare = e.table.rsplit('.').next().unwrap_or(&e.table);
            let name = rust_pascal(&singular(bare));
            embed_of.insert(e.first_column, (name.clone(), e.nullable));
            if let Some(&i) = index
                .get(&name)
                .filter(|i| messages[**i].kind == MessageKind::Embed)
            {
                messages[i].queries.push(q.name.clone());
                continue;
            }
            if !claim(
                &name,
                format!("the embedded table `{}`", e.table),
                Some(q),
                diags,
            ) {
                continue;
            }
            let cols =
                &q.columns[e.first_column as usize..(e.first_column + e.column_count) as usize];
            let fields: Vec<Pending> = cols.iter().map(|c| of_column(c, diags)).collect();
            messages.push(numbered(
                lock,
                &name,
                MessageKind::Embed,
                q,
                fields,
                &BTreeMap::new(),
                None,
            ));
            index.insert(name.clone(), messages.len() - 1);
            live.insert(name);
        }
        // The row.
        if !q.columns.is_empty() {
            let shared = row_type_of.get(q.name.as_str()).map(|r| rust_pascal(r));
            let name = shared
                .clone()
                .unwrap_or_else(|| format!("{}Row", rust_pascal(&q.name)));
            if let Some(&i) = index
                .get(&name)
                .filter(|_| shared.is_some() && shared_made.contains(&name))
            {
                messages[i].queries.push(q.name.clone());
            } else if claim(&name, format!("the row of `{}`", q.name), Some(q), diags) {
                let mut fields = Vec::new();
                let mut i = 0;
                while i < q.columns.len() {
                    if let Some((ename, nullable)) = embed_of.get(&(i as u32)) {
                        let e = q.embeds.iter().find(|e| e.first_column == i as u32);
                        let span = e.map_or(1, |e| e.column_count as usize);
                        let label = if *nullable {
                            Label::Optional
                        } else {
                            Label::Plain
                        };
                        let source = e.map_or(ename.as_str(), |e| e.name.as_str());
                        fields.push(Pending {
                            name: field_name(source),
                            source: source.to_owned(),
                            pg_type: e.map_or_else(String::new, |e| e.table.clone()),
                            nullable: *nullable,
                            wire: Some(WireTy {
                                label,
                                ty: ename.clone(),
                                list_of: None,
                            }),
                        });
                        i += span;
                    } else {
                        fields.push(of_column(&q.columns[i], diags));
                        i += 1;
                    }
                }
                let old = query_renames
                    .get(q.name.as_str())
                    .filter(|_| shared.is_none())
                    .map(|o| format!("{}Row", rust_pascal(o)));
                messages.push(numbered(
                    lock,
                    &name,
                    MessageKind::Row,
                    q,
                    fields,
                    renames,
                    old,
                ));
                index.insert(name.clone(), messages.len() - 1);
                if shared.is_some() {
                    shared_made.insert(name.clone());
                }
                live.insert(name);
            }
        }
        // The parameters.
        if !q.params.is_empty() {
            let name = format!("{}Params", rust_pascal(&q.name));
            if claim(
                &name,
                format!("the parameters of `{}`", q.name),
                Some(q),
                diags,
            ) {
                let mut params: Vec<_> = q.params.iter().collect();
                params.sort_by_key(|p| p.position);
                // A `sqlc.slice` parameter is a list even where its type is the element's.
                let refs: Vec<Pending> = params
                    .iter()
                    .map(|p| {
                        let list = p.slice && !p.ty.ends_with("[]");
                        let pg = if list {
                            format!("{}[]", p.ty)
                        } else {
                            p.ty.to_string()
                        };
                        let proto = if p.slice && !p.proto_type.starts_with("repeated ") {
                            format!("repeated {}", p.proto_type)
                        } else {
                            p.proto_type.to_string()
                        };
                        pending("parameter", &p.name, &pg, p.nullable, &proto, diags)
                    })
                    .collect();
                let old = query_renames
                    .get(q.name.as_str())
                    .map(|o| format!("{}Params", rust_pascal(o)));
                messages.push(numbered(
                    lock,
                    &name,
                    MessageKind::Params,
                    q,
                    refs,
                    renames,
                    old,
                ));
                index.insert(name.clone(), messages.len() - 1);
                live.insert(name);
            }
        }
    }
    for (name, m) in lock.messages.iter_mut() {
        if !live.contains(name) && !m.retired {
            m.retire();
        }
    }
    // The wrappers of nullable lists, once each, after the messages that use them.
    let lists: BTreeMap<String, String> = messages
        .iter()
        .flat_map(|m| &m.fields)
        .filter_map(|f| Some((f.ty.clone(), f.list_of.clone()?)))
        .collect();
    for (name, elem) in lists {
        if !claim(&name, format!("the list of `{elem}`"), None, diags) {
            continue;
        }
        messages.push(Message {
            name,
            kind: MessageKind::List,
            queries: Vec::new(),
            fields: vec![Field {
                name: "values".into(),
                source_name: "values".into(),
                number: 1,
                label: Label::Repeated,
                ty: elem.clone(),
                pg_type: format!("{elem}[]"),
                nullable: false,
                list_of: None,
            }],
            reserved: Vec::new(),
        });
    }
    // PostgreSQL's interval, once, when a field carries one.
    let intervals = messages
        .iter()
        .flat_map(|m| &m.fields)
        .any(|f| f.ty == INTERVAL || f.list_of.as_deref() == Some(INTERVAL));
    if intervals && claim(INTERVAL, "PostgreSQL's interval".into(), None, diags) {
        let part = |name: &str, number: u32, ty: &str, pg: &str| Field {
            name: name.into(),
            source_name: name.into(),
            number,
            label: Label::Plain,
            ty: ty.into(),
            pg_type: pg.into(),
            nullable: false,
            list_of: None,
        };
        messages.push(Message {
            name: INTERVAL.into(),
            kind: MessageKind::Interval,
            queries: Vec::new(),
            fields: vec![
                part("months", 1, "int32", "int4"),
                part("days", 2, "int32", "int4"),
                part("microseconds", 3, "int64", "int8"),
            ],
            reserved: Vec::new(),
        });
    }

    let segs: Vec<&str> = w.package.split('.').collect();
    let file = format!("{}/{}.proto", segs.join("/"), c.name.replace('-', "_"));
    WireModel {
        package: w.package.clone(),
        file,
        version: w.version,
        min_compatible: w.min_compatible,
        enums,
        messages,
    }
}

/// A field before numbering.
struct Pending {
    /// The protobuf field name (before de-duplication).
    name: String,
    /// The column or parameter.
    source: String,
    pg_type: String,
    nullable: bool,
    /// `None` when the type cannot travel (already reported).
    wire: Option<WireTy>,
}

/// A value's label and protobuf type.
struct WireTy {
    label: Label,
    ty: String,
    /// For a NULL-able list: the element type inside the `List` message `ty`.
    list_of: Option<String>,
}

/// One message with its numbers from the lock. `old` is the message's name before a
/// query rename.
fn numbered(
    lock: &mut Lock,
    name: &str,
    kind: MessageKind,
    q: &Query,
    fields: Vec<Pending>,
    renames: &BTreeMap<String, String>,
    old: Option<String>,
) -> Message {
    let mut names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    dedupe(&mut names, "_");
    if !lock.messages.contains_key(name) {
        if let Some(entry) = old.and_then(|o| lock.messages.remove(&o)) {
            lock.messages.insert(name.to_owned(), entry);
        }
    }
    let entry = lock.messages.entry(name.to_owned()).or_default();
    let numbers = entry.assign(&names, renames);
    let fields = fields
        .into_iter()
        .zip(names)
        .zip(numbers)
        .filter_map(|((p, name), number)| {
            let w = p.wire?;
            Some(Field {
                name,
                source_name: p.source,
                number,
                label: w.label,
                ty: w.ty,
                pg_type: p.pg_type,
                nullable: p.nullable,
                list_of: w.list_of,
            })
        })
        .collect();
    Message {
        name: name.to_owned(),
        kind,
        queries: vec![q.name.clone()],
        fields,
        reserved: entry
            .reserved
            .iter()
            .map(|(n, s)| (*n, s.clone()))
            .collect(),
    }
}

/// The label and protobuf type of a value, or why it cannot travel.
fn wire_type(
    proto: &str,
    pg: &str,
    nullable: bool,
    base_of: &dyn Fn(&str) -> String,
    w: &crate::model::Wire,
    enums: &BTreeMap<&str, String>,
) -> Result<WireTy, String> {
    let (repeated, elem) = match proto.strip_prefix("repeated ") {
        Some(e) => (true, e),
        None => (false, proto),
    };
    if elem.starts_with("repeated ") {
        return Err(
            "a multidimensional array has no protobuf form (a repeated field holds one dimension)"
                .to_owned(),
        );
    }
    let base = base_of(pg);
    let elem_pg = base.trim_end_matches("[]");
    let ty = if elem == "string" && elem_pg == "uuid" && w.uuid == "bytes" {
        "bytes".to_owned()
    } else {
        elem.to_owned()
    };
    let known = SCALARS.contains(&ty.as_str())
        || WELL_KNOWN.iter().any(|(t, _)| *t == ty)
        || ty == INTERVAL
        || enums.values().any(|e| *e == ty);
    if !known {
        return Err(format!(
            "`{ty}` is not a protobuf type sqlpact can carry (scalars, google.protobuf.Timestamp, google.protobuf.Duration, {INTERVAL}, the contract's enums)"
        ));
    }
    let (label, ty, list_of) = if repeated && nullable {
        (Label::Optional, list_name(&ty), Some(ty))
    } else if repeated {
        (Label::Repeated, ty, None)
    } else if nullable {
        (Label::Optional, ty, None)
    } else {
        (Label::Plain, ty, None)
    };
    Ok(WireTy { label, ty, list_of })
}

/// The wrapper of a nullable list: `string` → `StringList`,
/// `google.protobuf.Timestamp` → `TimestampList`.
pub fn list_name(elem: &str) -> String {
    let last = elem.rsplit('.').next().unwrap_or(elem);
    format!("{}List", rust_pascal(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_protobuf_identifiers() {
        assert_eq!(field_name("Owner Name"), "owner_name");
        assert_eq!(field_name("2fa"), "_2fa");
        assert_eq!(field_name("?column?"), "column");
        assert_eq!(
            enum_value_name("TransferStatus", "in-progress"),
            "TRANSFER_STATUS_IN_PROGRESS"
        );
    }
}
