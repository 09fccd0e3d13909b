//! What the wire rules (`WIR-*`) share: the compiled messages and enums of both sides, matched
//! by full name, and protobuf's notions of reservation, oneof and type compatibility.

use std::collections::BTreeMap;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto};

use crate::compat::Cx;
use crate::model::Source;
use crate::wire::Build;

/// The key a message or enum is matched by: its full name, with the derived package
/// (which carries the wire version) shortened to `wire`, so that `ledger.wire.v2.X`
/// and `ledger.wire.v3.X` are the same message.
fn key(b: &Build, full: String) -> String {
    match full.strip_prefix(&format!("{}.", b.model.package)) {
        Some(short) => format!("wire.{short}"),
        None => full,
    }
}

/// Every message of a build (nested ones included) by key, except
/// `google.protobuf`'s.
pub fn messages(b: &Build) -> BTreeMap<String, &DescriptorProto> {
    fn walk<'a>(
        prefix: &str,
        ms: &'a [DescriptorProto],
        out: &mut BTreeMap<String, &'a DescriptorProto>,
    ) {
        for m in ms {
            let full = format!("{prefix}.{}", m.name());
            walk(&full, &m.nested_type, out);
            out.insert(full, m);
        }
    }
    let mut out = BTreeMap::new();
    for f in b
        .descriptors
        .file
        .iter()
        .filter(|f| f.package() != "google.protobuf")
    {
        walk(f.package(), &f.message_type, &mut out);
    }
    out.into_iter().map(|(k, v)| (key(b, k), v)).collect()
}

/// Every enum of a build (nested ones included) by full name.
pub fn enums(b: &Build) -> BTreeMap<String, &EnumDescriptorProto> {
    fn walk<'a>(
        prefix: &str,
        ms: &'a [DescriptorProto],
        out: &mut BTreeMap<String, &'a EnumDescriptorProto>,
    ) {
        for m in ms {
            let full = format!("{prefix}.{}", m.name());
            for e in &m.enum_type {
                out.insert(format!("{full}.{}", e.name()), e);
            }
            walk(&full, &m.nested_type, out);
        }
    }
    let mut out = BTreeMap::new();
    for f in b
        .descriptors
        .file
        .iter()
        .filter(|f| f.package() != "google.protobuf")
    {
        for e in &f.enum_type {
            out.insert(format!("{}.{}", f.package(), e.name()), e);
        }
        walk(f.package(), &f.message_type, &mut out);
    }
    out.into_iter().map(|(k, v)| (key(b, k), v)).collect()
}

/// A thing on both sides: (key, before, now).
pub type Pair<'a, T> = (String, &'a T, &'a T);

/// What the wire rules compare, matched once for all of them.
#[derive(Default)]
pub struct Pairs<'a> {
    /// Messages on both sides.
    pub messages: Vec<Pair<'a, DescriptorProto>>,
    /// Enums on both sides.
    pub enums: Vec<Pair<'a, EnumDescriptorProto>>,
    /// Fields with the same number on both sides, keyed by their message.
    pub fields: Vec<Pair<'a, FieldDescriptorProto>>,
}

/// A build's messages and enums by name, for comparing one build with many.
pub struct Index<'a> {
    build: &'a Build,
    /// Sorted by key, each with the id of its content.
    messages: Vec<(String, &'a DescriptorProto, u32)>,
    enums: Vec<(String, &'a EnumDescriptorProto, u32)>,
}

/// Ids of message and enum contents (their encoding): two indexes made with the same
/// interner hold the same id for equal contents, so that a comparison skips unchanged
/// ones without reading them.
#[derive(Default)]
pub struct Interner(std::collections::HashMap<Vec<u8>, u32>);

impl Interner {
    fn id(&mut self, m: &impl prost::Message) -> u32 {
        let next = self.0.len() as u32;
        *self.0.entry(m.encode_to_vec()).or_insert(next)
    }
}

impl<'a> Index<'a> {
    /// Indexes `build`; indexes compared with each other must share `interner`.
    pub fn of(build: &'a Build, interner: &mut Interner) -> Self {
        Index {
            build,
            messages: messages(build)
                .into_iter()
                .map(|(k, m)| {
                    let id = interner.id(m);
                    (k, m, id)
                })
                .collect(),
            enums: enums(build)
                .into_iter()
                .map(|(k, e)| {
                    let id = interner.id(e);
                    (k, e, id)
                })
                .collect(),
        }
    }

    pub fn build(&self) -> &'a Build {
        self.build
    }
}

impl<'a> Pairs<'a> {
    /// Empty unless both sides declare a wire format and the new contract still
    /// accepts the baseline's wire version (otherwise negotiation refuses peers on it,
    /// which `WIR-013` reports, and field-level changes cannot reach them).
    pub fn of(old: Option<&'a Build>, new: Option<&'a Build>) -> Self {
        let (Some(o), Some(n)) = (old, new) else {
            return Pairs::default();
        };
        let mut interner = Interner::default();
        Self::indexed(&Index::of(o, &mut interner), &Index::of(n, &mut interner))
    }

    /// [`Pairs::of`] from indexes built once.
    pub fn indexed(old: &Index<'a>, new: &Index<'a>) -> Self {
        if new.build.model.min_compatible > old.build.model.version {
            return Pairs::default();
        }
        let messages = matched(&old.messages, &new.messages);
        let fields = messages
            .iter()
            .flat_map(|(name, o, n)| {
                o.field.iter().filter_map(move |of| {
                    let nf = n.field.iter().find(|f| f.number() == of.number())?;
                    Some((name.clone(), of, nf))
                })
            })
            .collect();
        Pairs {
            messages,
            enums: matched(&old.enums, &new.enums),
            fields,
        }
    }
}

/// The entries of both sides with the same name that differ (a walk of the two sorted
/// lists): an unchanged message or enum has nothing any rule could report.
fn matched<'a, T>(old: &[(String, &'a T, u32)], new: &[(String, &'a T, u32)]) -> Vec<Pair<'a, T>> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(o), Some(n)) = (old.get(i), new.get(j)) {
        match o.0.cmp(&n.0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if o.2 != n.2 {
                    out.push((o.0.clone(), o.1, n.1));
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Whether a message reserves a field number (reserved ranges end exclusive).
pub fn reserves_number(m: &DescriptorProto, n: i32) -> bool {
    m.reserved_range
        .iter()
        .any(|r| r.start() <= n && n < r.end())
}

/// The real oneof a field belongs to (a proto3 `optional`'s synthetic one is not).
pub fn oneof(m: &DescriptorProto, f: &FieldDescriptorProto) -> Option<String> {
    if f.proto3_optional() {
        return None;
    }
    let i = usize::try_from(f.oneof_index?).ok()?;
    m.oneof_decl.get(i).map(|o| o.name().to_owned())
}

/// The protobuf type of a field as written in a `.proto` file.
pub fn type_name(f: &FieldDescriptorProto) -> String {
    match f.r#type() {
        Type::Message | Type::Enum | Type::Group => {
            f.type_name().trim_start_matches('.').to_owned()
        }
        t => t.as_str_name().trim_start_matches("TYPE_").to_lowercase(),
    }
}

/// The group of types whose values read each other on the binary wire (buf's
/// `FIELD_WIRE_COMPATIBLE_TYPE`): varints, zigzag varints, 32- and 64-bit fixed, text
/// and bytes, a message with itself (or bytes).
fn wire_group(f: &FieldDescriptorProto) -> String {
    match f.r#type() {
        Type::Int32 | Type::Int64 | Type::Uint32 | Type::Uint64 | Type::Bool | Type::Enum => {
            "varint".into()
        }
        Type::Sint32 | Type::Sint64 => "zigzag".into(),
        Type::Fixed32 | Type::Sfixed32 => "fixed32".into(),
        Type::Fixed64 | Type::Sfixed64 => "fixed64".into(),
        Type::Float => "float".into(),
        Type::Double => "double".into(),
        Type::String | Type::Bytes => "bytes".into(),
        Type::Message | Type::Group => format!("message {}", f.type_name()),
    }
}

/// Whether a value written as `old` reads as `new` on the binary wire.
pub fn wire_compatible(old: &FieldDescriptorProto, new: &FieldDescriptorProto) -> bool {
    let (a, b) = (wire_group(old), wire_group(new));
    a == b
        || (a.starts_with("message ") && new.r#type() == Type::Bytes)
        || (b.starts_with("message ") && old.r#type() == Type::Bytes)
}

/// How a value is spelled in protobuf's JSON form: 32-bit integers as numbers, 64-bit
/// ones as strings, enums by name, text, base64, a message as an object.
fn json_family(f: &FieldDescriptorProto) -> String {
    match f.r#type() {
        Type::Int32 | Type::Uint32 | Type::Sint32 | Type::Fixed32 | Type::Sfixed32 => {
            "int32".into()
        }
        Type::Int64 | Type::Uint64 | Type::Sint64 | Type::Fixed64 | Type::Sfixed64 => {
            "int64".into()
        }
        Type::Float | Type::Double => "number".into(),
        Type::Bool => "bool".into(),
        Type::String => "string".into(),
        Type::Bytes => "bytes".into(),
        Type::Enum | Type::Message | Type::Group => type_name(f),
    }
}

/// Whether a value's JSON form reads as the other type.
pub fn json_compatible(old: &FieldDescriptorProto, new: &FieldDescriptorProto) -> bool {
    json_family(old) == json_family(new)
}

pub fn repeated(f: &FieldDescriptorProto) -> bool {
    f.label() == Label::Repeated
}

/// Where a message of the derived file comes from: the first query it carries.
pub fn source<'a>(cx: &Cx<'a>, new_side: bool, full: &str) -> Option<&'a Source> {
    let (b, c) = if new_side {
        (cx.new_wire?, cx.new)
    } else {
        (cx.old_wire?, cx.old)
    };
    let short = full.strip_prefix("wire.")?;
    let m = b.model.messages.iter().find(|m| m.name == short)?;
    let q = m.queries.first()?;
    c.queries.iter().find(|x| &x.name == q).map(|x| &x.source)
}
