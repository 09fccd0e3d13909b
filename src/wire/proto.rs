//! The derived `.proto` text, and its compilation with protox together with the
//! registry's hand-written files.

use std::fmt::Write;

use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

use super::{Label, MessageKind, WireModel};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::Contract;
use crate::source::{FileId, SourceMap, Span};

/// Renders the derived file. Deterministic: the model is already in contract order.
pub fn render(c: &Contract, m: &WireModel) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// {} from contract {} {}. DO NOT EDIT.",
        crate::generate::MARKER,
        c.name,
        crate::generate::header_version(&c.version)
    );
    let _ = writeln!(
        s,
        "// Wire version {}; readers accept versions {} to {}. Field numbers are kept in sqlpact.lock.",
        m.version, m.min_compatible, m.version
    );
    s.push_str("syntax = \"proto3\";\n\n");
    let _ = writeln!(s, "package {};\n", m.package);
    let imports = super::imports(m);
    for i in &imports {
        let _ = writeln!(s, "import \"{i}\";");
    }
    if !imports.is_empty() {
        s.push('\n');
    }
    for e in &m.enums {
        let _ = writeln!(
            s,
            "// The SQL enum `{}`.",
            crate::generate::escape::comment(&e.sql_name)
        );
        let _ = writeln!(s, "enum {} {{", e.name);
        let _ = writeln!(
            s,
            "  {} = 0;",
            super::enum_value_name(&e.name, "unspecified")
        );
        for (sql, name, n) in &e.values {
            let _ = writeln!(s, "  {name} = {n}; // '{}'", sql.replace('\n', " "));
        }
        reserved(
            &mut s,
            &e.reserved,
            &e.values.iter().map(|v| v.1.as_str()).collect::<Vec<_>>(),
        );
        s.push_str("}\n\n");
    }
    for msg in &m.messages {
        let list = msg
            .queries
            .iter()
            .map(|q| format!("`{q}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let what = match msg.kind {
            MessageKind::Row => format!("A result row of {list}."),
            MessageKind::Params => format!("The parameters of {list}."),
            MessageKind::Embed => format!("An embedded table, in {list}."),
            MessageKind::List => {
                "A list that may be NULL: absent is NULL, present is the list (maybe empty)."
                    .to_owned()
            }
            MessageKind::Interval => "A PostgreSQL interval, its three parts kept apart as PostgreSQL keeps them: a\n// month has no fixed number of days, nor a day of hours."
                .to_owned(),
        };
        let _ = writeln!(s, "// {what}");
        let _ = writeln!(s, "message {} {{", msg.name);
        for f in &msg.fields {
            let label = match f.label {
                Label::Plain => "",
                Label::Optional => "optional ",
                Label::Repeated => "repeated ",
            };
            if matches!(msg.kind, MessageKind::List | MessageKind::Interval) {
                let _ = writeln!(s, "  {label}{} {} = {};", f.ty, f.name, f.number);
                continue;
            }
            let null = if f.nullable { " NULL" } else { "" };
            let _ = writeln!(
                s,
                "  {label}{} {} = {}; // {}{null}",
                f.ty,
                f.name,
                f.number,
                crate::generate::escape::comment(&f.pg_type)
            );
        }
        reserved(
            &mut s,
            &msg.reserved,
            &msg.fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
        );
        s.push_str("}\n\n");
    }
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}

/// `reserved 3, 5;` and `reserved "old_name";` (names in use again are left out: a
/// re-added field has a new number, and protobuf forbids a reserved name in use).
fn reserved(s: &mut String, list: &[(u32, String)], in_use: &[&str]) {
    if list.is_empty() {
        return;
    }
    let numbers: Vec<String> = list.iter().map(|(n, _)| n.to_string()).collect();
    let _ = writeln!(s, "  reserved {};", numbers.join(", "));
    let mut names: Vec<&str> = list
        .iter()
        .map(|(_, n)| n.as_str())
        .filter(|n| !in_use.contains(n))
        .collect();
    names.sort_unstable();
    names.dedup();
    if !names.is_empty() {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        let _ = writeln!(s, "  reserved {};", quoted.join(", "));
    }
}

/// Serves the derived file from memory and the hand-written ones from the source map.
/// Unless `located`, hand-written files reach protox without their source info: protox
/// keeps three copies of whatever it is given, and the locations of every field are
/// most of it (they only serve to place an error).
struct Files {
    texts: std::sync::Arc<Texts>,
    located: bool,
}

/// What [`Files`] serves.
struct Texts {
    derived: (String, Derived),
    hand: Vec<(String, String)>,
}

/// The derived file, as text or as its descriptor.
pub enum Derived {
    Text(String),
    Built(Box<prost_types::FileDescriptorProto>),
}

impl FileResolver for Files {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        let texts = &*self.texts;
        if name == texts.derived.0 {
            return match &texts.derived.1 {
                Derived::Text(t) => File::from_source(name, t),
                Derived::Built(d) => Ok(File::from_file_descriptor_proto((**d).clone())),
            };
        }
        match texts.hand.iter().find(|(n, _)| *n == name) {
            Some((n, text)) if self.located => File::from_source(n, text),
            Some((n, text)) => {
                let mut file = protox_parse::parse(n, text)?;
                file.source_code_info = None;
                Ok(File::from_file_descriptor_proto(file))
            }
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Compiles the derived file and the hand-written ones into one descriptor set (with
/// source info when the derived file is text). A hand-written file that does not
/// compile is a located diagnostic.
pub fn compile(
    derived_name: &str,
    derived: Derived,
    protos: &[FileId],
    sources: &SourceMap,
    diags: &mut Diagnostics,
) -> Option<prost_types::FileDescriptorSet> {
    let derived = match derived {
        // Nothing to check the built file against: it joins the well-known files it
        // imports, as protox would order them.
        Derived::Built(d) if protos.is_empty() => {
            if let Some(mut file) = well_known(&d.dependency) {
                file.push(*d);
                return Some(prost_types::FileDescriptorSet { file });
            }
            Derived::Built(d)
        }
        d => d,
    };
    let source_info = matches!(derived, Derived::Text(_));
    let texts = std::sync::Arc::new(Texts {
        derived: (derived_name.to_owned(), derived),
        hand: protos
            .iter()
            .map(|id| {
                let f = sources.get(*id);
                (f.name.clone(), f.text.clone())
            })
            .collect(),
    });
    let mut names: Vec<String> = vec![derived_name.to_owned()];
    names.extend(texts.hand.iter().map(|(n, _)| n.clone()));
    let result = match open(&texts, source_info, &names, source_info) {
        // The error is placed by compiling again with every location.
        Err(_) if !source_info => open(&texts, true, &names, false),
        r => r,
    };
    match result {
        Ok(set) => Some(set),
        Err(e) => {
            let file = e.file().map(str::to_owned);
            let id = protos
                .iter()
                .copied()
                .find(|id| Some(sources.get(*id).name.as_str()) == file.as_deref());
            let offset = miette::Diagnostic::labels(&e)
                .and_then(|mut l| l.next())
                .map(|l| l.offset());
            let span = id.map(|id| Span::point(id, offset.unwrap_or(0)));
            let msg = if id.is_none() && file.as_deref() == Some(derived_name) {
                format!("the derived file `{derived_name}` does not compile: {e}")
            } else {
                e.to_string()
            };
            let help = miette::Diagnostic::help(&e)
                .map(|h| h.to_string())
                .unwrap_or_else(|| {
                    "fix the .proto file; hand-written files may import the derived one by its package path".into()
                });
            diags.push(
                Diagnostic::error(Code::ProtoError, msg)
                    .at_opt(span)
                    .help(help),
            );
            None
        }
    }
}

/// Compiles `names` (with their imports); `located`: hand-written files keep their
/// source info while they compile, `source_info`: the result keeps it.
fn open(
    texts: &std::sync::Arc<Texts>,
    located: bool,
    names: &[String],
    source_info: bool,
) -> Result<prost_types::FileDescriptorSet, protox::Error> {
    let mut chain = ChainFileResolver::new();
    chain.add(Files {
        texts: texts.clone(),
        located,
    });
    chain.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(chain);
    compiler
        .include_imports(true)
        .include_source_info(source_info);
    compiler.open_files(names).map(|c| c.file_descriptor_set())
}

/// The compiled `google/protobuf` files `names`, in order; `None` if one is not among
/// the ones the derived file may import.
fn well_known(names: &[String]) -> Option<Vec<prost_types::FileDescriptorProto>> {
    static COMPILED: std::sync::OnceLock<Vec<prost_types::FileDescriptorProto>> =
        std::sync::OnceLock::new();
    let all = COMPILED.get_or_init(|| {
        let mut compiler = protox::Compiler::with_file_resolver(GoogleFileResolver::new());
        compiler.include_imports(true).include_source_info(false);
        compiler
            .open_files(super::WELL_KNOWN.iter().map(|(_, file)| *file))
            .map(|c| c.file_descriptor_set().file)
            .unwrap_or_default()
    });
    names
        .iter()
        .map(|n| all.iter().find(|f| f.name() == n).cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn derived() -> Derived {
        Derived::Built(Box::new(prost_types::FileDescriptorProto {
            name: Some("shop/wire/v1/shop.proto".into()),
            package: Some("shop.wire.v1".into()),
            syntax: Some("proto3".into()),
            message_type: vec![prost_types::DescriptorProto {
                name: Some("Item".into()),
                ..Default::default()
            }],
            ..Default::default()
        }))
    }

    /// `text` as the hand-written `api/order.proto`, compiled for descriptors only.
    fn compile_hand(text: &str) -> (Option<prost_types::FileDescriptorSet>, Diagnostics) {
        let mut sources = SourceMap::default();
        let id = sources.add(SourceFile::new(
            "api/order.proto".into(),
            "api/order.proto".into(),
            text.into(),
        ));
        let mut diags = Diagnostics::default();
        let set = compile(
            "shop/wire/v1/shop.proto",
            derived(),
            &[id],
            &sources,
            &mut diags,
        );
        (set, diags)
    }

    #[test]
    fn hand_written_files_compile_alike_without_their_locations() {
        let text = "syntax = \"proto3\";\npackage shop.api;\nimport \"shop/wire/v1/shop.proto\";\n\
                    message Order {\n  repeated shop.wire.v1.Item items = 1;\n  Note note = 2;\n}\n\
                    message Note { string text = 1; }\n";
        let (set, diags) = compile_hand(text);
        let set = set.expect("compiles");
        assert!(diags.items.is_empty(), "{:?}", diags.items);
        let texts = std::sync::Arc::new(Texts {
            derived: ("shop/wire/v1/shop.proto".into(), derived()),
            hand: vec![("api/order.proto".into(), text.into())],
        });
        let names = [
            "shop/wire/v1/shop.proto".to_owned(),
            "api/order.proto".to_owned(),
        ];
        let located = open(&texts, true, &names, false).expect("compiles");
        assert_eq!(set, located);
        let order = set
            .file
            .iter()
            .find(|f| f.name() == "api/order.proto")
            .unwrap();
        assert_eq!(order.message_type[0].field[1].type_name(), ".shop.api.Note");
    }

    #[test]
    fn an_error_without_locations_is_placed_all_the_same() {
        let text =
            "syntax = \"proto3\";\npackage shop.api;\nmessage Order {\n  Missing m = 1;\n}\n";
        let (set, diags) = compile_hand(text);
        assert!(set.is_none());
        let d = &diags.items[0];
        assert!(d.message.contains("Missing"), "{}", d.message);
        let span = d.span.clone().expect("located");
        assert_eq!(span.range.start, text.find("Missing").unwrap());
    }
}
