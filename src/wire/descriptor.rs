//! The derived file's descriptor, built straight from the model: what protox makes of
//! the rendered text, without the text, the parse and the source info. Comparisons
//! (compat, changelog) read only descriptors, and a registry's history has many
//! versions to compile; generation, which wants the comments, compiles the text.
//!
//! `tests::built_equals_compiled` holds the two to the same result.

use std::collections::BTreeSet;

use prost_types::descriptor_proto::ReservedRange;
use prost_types::enum_descriptor_proto::EnumReservedRange;
use prost_types::field_descriptor_proto::{Label as PLabel, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
    FileDescriptorProto, OneofDescriptorProto,
};

use super::{enum_value_name, Label, WireModel};

/// The derived file of `m`, as protox compiles [`super::proto::render`]'s text.
pub fn file(m: &WireModel) -> FileDescriptorProto {
    let enums: BTreeSet<&str> = m.enums.iter().map(|e| e.name.as_str()).collect();
    FileDescriptorProto {
        name: Some(m.file.clone()),
        package: Some(m.package.clone()),
        dependency: super::imports(m).into_iter().map(str::to_owned).collect(),
        syntax: Some("proto3".into()),
        enum_type: m
            .enums
            .iter()
            .map(|e| EnumDescriptorProto {
                name: Some(e.name.clone()),
                value: std::iter::once((enum_value_name(&e.name, "unspecified"), 0))
                    .chain(e.values.iter().map(|(_, n, v)| (n.clone(), *v)))
                    .map(|(name, number)| EnumValueDescriptorProto {
                        name: Some(name),
                        number: Some(number as i32),
                        options: None,
                    })
                    .collect(),
                reserved_range: e
                    .reserved
                    .iter()
                    .map(|(n, _)| EnumReservedRange {
                        start: Some(*n as i32),
                        end: Some(*n as i32),
                    })
                    .collect(),
                reserved_name: reserved_names(
                    &e.reserved,
                    &e.values.iter().map(|v| v.1.as_str()).collect::<Vec<_>>(),
                ),
                ..Default::default()
            })
            .collect(),
        message_type: m
            .messages
            .iter()
            .map(|msg| {
                let mut oneof_decl = Vec::new();
                let field = msg
                    .fields
                    .iter()
                    .map(|f| {
                        let (ty, type_name) = match f.ty.as_str() {
                            t if super::SCALARS.contains(&t) => (scalar(t), None),
                            t if t.starts_with("google.protobuf.") => {
                                (Type::Message, Some(format!(".{t}")))
                            }
                            t if enums.contains(t) => {
                                (Type::Enum, Some(format!(".{}.{t}", m.package)))
                            }
                            t => (Type::Message, Some(format!(".{}.{t}", m.package))),
                        };
                        let optional = f.label == Label::Optional;
                        let oneof_index = optional.then(|| {
                            let prefix = if f.name.starts_with('_') { "X" } else { "_" };
                            oneof_decl.push(OneofDescriptorProto {
                                name: Some(format!("{prefix}{}", f.name)),
                                options: None,
                            });
                            oneof_decl.len() as i32 - 1
                        });
                        FieldDescriptorProto {
                            name: Some(f.name.clone()),
                            number: Some(f.number as i32),
                            label: Some(if f.label == Label::Repeated {
                                PLabel::Repeated
                            } else {
                                PLabel::Optional
                            } as i32),
                            r#type: Some(ty as i32),
                            type_name,
                            oneof_index,
                            json_name: Some(json_name(&f.name)),
                            proto3_optional: optional.then_some(true),
                            ..Default::default()
                        }
                    })
                    .collect();
                DescriptorProto {
                    name: Some(msg.name.clone()),
                    field,
                    oneof_decl,
                    reserved_range: msg
                        .reserved
                        .iter()
                        .map(|(n, _)| ReservedRange {
                            start: Some(*n as i32),
                            end: Some(*n as i32 + 1),
                        })
                        .collect(),
                    reserved_name: reserved_names(
                        &msg.reserved,
                        &msg.fields
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>(),
                    ),
                    ..Default::default()
                }
            })
            .collect(),
        ..Default::default()
    }
}

/// The names a `reserved` statement of the rendered file lists: sorted, deduplicated,
/// without the ones in use again.
fn reserved_names(list: &[(u32, String)], in_use: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = list
        .iter()
        .map(|(_, n)| n)
        .filter(|n| !in_use.contains(&n.as_str()))
        .cloned()
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn scalar(t: &str) -> Type {
    match t {
        "double" => Type::Double,
        "float" => Type::Float,
        "int32" => Type::Int32,
        "int64" => Type::Int64,
        "uint32" => Type::Uint32,
        "uint64" => Type::Uint64,
        "sint32" => Type::Sint32,
        "sint64" => Type::Sint64,
        "fixed32" => Type::Fixed32,
        "fixed64" => Type::Fixed64,
        "sfixed32" => Type::Sfixed32,
        "sfixed64" => Type::Sfixed64,
        "bool" => Type::Bool,
        "string" => Type::String,
        _ => Type::Bytes,
    }
}

/// protobuf's JSON name: `owner_name` → `ownerName`.
fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
