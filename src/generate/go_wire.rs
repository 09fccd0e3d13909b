//! The Go side of the wire format: message types from protoc-gen-go, driven as a
//! plugin with a code generator request built from the descriptor set protox compiled,
//! and conversions between each row struct and its message.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use prost::Message as _;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};

use super::GenError;
use crate::wire::{Build, Field, Label, Message, MessageKind};

/// The protoc-gen-go release the committed Go messages were generated with.
pub const PROTOC_GEN_GO: &str = "google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12";

/// The messages' subpackage, under the Go output directory.
pub const SUBPACKAGE: &str = "wire";

fn fail(msg: String) -> GenError {
    GenError::Wire { lang: "go", msg }
}

/// The Go import path of the output package: `outputs.go.import_path`, or the module
/// path of the nearest `go.mod` above the output directory joined with the directory.
pub fn import_path(set: Option<&str>, out: &str, root: &Path) -> Result<String, GenError> {
    if let Some(p) = set {
        return Ok(p.to_owned());
    }
    let dir = root.join(out);
    let mut rel: Vec<String> = Vec::new();
    let mut at: PathBuf = dir.clone();
    loop {
        let gomod = at.join("go.mod");
        if let Ok(text) = std::fs::read_to_string(&gomod) {
            let module = text.lines().find_map(|l| {
                let l = l.trim();
                l.strip_prefix("module")
                    .filter(|r| r.starts_with([' ', '\t']))
                    .map(|r| r.trim().trim_matches('"').to_owned())
            });
            let Some(module) = module.filter(|m| !m.is_empty()) else {
                return Err(fail(format!(
                    "`{}` declares no module path\n  help: add `module example.com/...` to it, or set `outputs.go.import_path`",
                    gomod.display()
                )));
            };
            rel.reverse();
            let path = std::iter::once(module)
                .chain(rel)
                .collect::<Vec<_>>()
                .join("/");
            // It is written into import lines and protoc-gen-go's options.
            if !crate::registry::validate::is_go_import_path(&path) {
                return Err(fail(format!(
                    "`{path}` (the module path of `{}` and the output directory) is not a Go import path\n  help: set `outputs.go.import_path`, or rename the directory",
                    gomod.display()
                )));
            }
            return Ok(path);
        }
        let Some(name) = at.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            break;
        };
        rel.push(name);
        if !at.pop() {
            break;
        }
    }
    Err(fail(format!(
        "the Go wire messages go to a subpackage of `{out}`, and its import path is unknown: no `go.mod` above it\n  help: set `outputs.go.import_path: example.com/<module>/{out}`, or create the Go module first (`go mod init`)"
    )))
}

/// Where protoc-gen-go is: `$SQLPACT_PROTOC_GEN_GO`, `$PATH`, `$GOBIN`, `$GOPATH/bin`,
/// `~/go/bin`.
fn find_plugin() -> Result<PathBuf, GenError> {
    if let Some(p) = std::env::var_os("SQLPACT_PROTOC_GEN_GO") {
        return Ok(PathBuf::from(p));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(b) = std::env::var_os("GOBIN") {
        dirs.push(PathBuf::from(b));
    }
    if let Some(g) = std::env::var_os("GOPATH") {
        dirs.extend(std::env::split_paths(&g).map(|d| d.join("bin")));
    }
    if let Some(h) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(h).join("go").join("bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("protoc-gen-go"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            fail(format!(
                "protoc-gen-go is not installed (looked on PATH, in $GOBIN, $GOPATH/bin and ~/go/bin)\n  help: `go install {PROTOC_GEN_GO}`, or point $SQLPACT_PROTOC_GEN_GO at it"
            ))
        })
}

/// The derived file and every file it imports, dependencies first.
fn closure(b: &Build) -> Vec<&prost_types::FileDescriptorProto> {
    let by_name: BTreeMap<&str, &prost_types::FileDescriptorProto> =
        b.descriptors.file.iter().map(|f| (f.name(), f)).collect();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    fn visit<'a>(
        name: &str,
        by_name: &BTreeMap<&str, &'a prost_types::FileDescriptorProto>,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<&'a prost_types::FileDescriptorProto>,
    ) {
        if !seen.insert(name.to_owned()) {
            return;
        }
        if let Some(f) = by_name.get(name) {
            for d in &f.dependency {
                visit(d, by_name, seen, out);
            }
            out.push(f);
        }
    }
    visit(&b.model.file, &by_name, &mut seen, &mut out);
    out
}

/// protoc-gen-go's code for the derived file: `wire/<name>.pb.go`, behind the
/// generated-file header.
pub fn messages(header: &str, b: &Build, wire_import: &str) -> Result<(String, String), GenError> {
    let req = CodeGeneratorRequest {
        file_to_generate: vec![b.model.file.clone()],
        parameter: Some(format!("M{}={wire_import}", b.model.file)),
        proto_file: closure(b).into_iter().cloned().collect(),
        compiler_version: None,
    };
    let plugin = find_plugin()?;
    let mut child = Command::new(&plugin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run `{}`: {e}", plugin.display())))?;
    let input = req.encode_to_vec();
    let mut stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        stdin
            .as_mut()
            .map_or(Ok(()), |s| s.write_all(&input).and_then(|()| s.flush()))
    });
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("`{}` failed: {e}", plugin.display())))?;
    let wrote = writer.join().unwrap_or(Ok(()));
    if !out.status.success() {
        return Err(fail(format!(
            "`{}` failed ({}): {}",
            plugin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    wrote.map_err(|e| fail(format!("cannot write to `{}`: {e}", plugin.display())))?;
    let resp = CodeGeneratorResponse::decode(out.stdout.as_slice()).map_err(|e| {
        fail(format!(
            "`{}` answered with something that is not a code generator response: {e}",
            plugin.display()
        ))
    })?;
    if let Some(e) = resp.error {
        return Err(fail(format!("protoc-gen-go: {e}")));
    }
    let mut files = resp.file.into_iter();
    let (Some(f), None) = (files.next(), files.next()) else {
        return Err(fail("protoc-gen-go did not write exactly one file".into()));
    };
    let base = f
        .name()
        .rsplit('/')
        .next()
        .unwrap_or("wire.pb.go")
        .to_owned();
    Ok((
        format!("{SUBPACKAGE}/{base}"),
        format!("{header}\n\n{}", f.content()),
    ))
}

/// protoc-gen-go's name for a field (`account_id` → `AccountId`): the protobuf
/// library's `GoCamelCase`, then `_` after a name the message's methods take.
pub fn go_camel(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next_lower = i + 1 < b.len() && b[i + 1].is_ascii_lowercase();
        if c == b'.' && next_lower {
        } else if c == b'.' {
            out.push('_');
        } else if c == b'_' && (i == 0 || b[i - 1] == b'.') {
            out.push('X');
        } else if c == b'_' && next_lower {
        } else if c.is_ascii_digit() {
            out.push(c as char);
        } else {
            out.push(c.to_ascii_uppercase() as char);
            while i + 1 < b.len() && b[i + 1].is_ascii_lowercase() {
                i += 1;
                out.push(b[i] as char);
            }
        }
        i += 1;
    }
    const TAKEN: &[&str] = &[
        "Reset",
        "String",
        "ProtoMessage",
        "Marshal",
        "Unmarshal",
        "ExtensionRangeArray",
        "ExtensionMap",
        "Descriptor",
    ];
    if TAKEN.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// One Go row struct to convert: its name, its fields `(name, Go type written with
/// full import paths)` in message order, and its message.
pub struct GoRow<'a> {
    pub name: String,
    pub fields: Vec<(String, String)>,
    pub message: &'a Message,
}

/// A SQL enum in Go: type name, `(SQL value, constant)`, and the wire enum.
pub struct GoEnum<'a> {
    pub name: String,
    pub consts: Vec<(String, String)>,
    pub wire: &'a crate::wire::WireEnum,
}

impl GoEnum<'_> {
    /// `(Go constant, wire value name)` for each SQL value.
    fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.consts.iter().filter_map(|(sql, k)| {
            self.wire
                .values
                .iter()
                .find(|v| &v.0 == sql)
                .map(|v| (k.as_str(), v.1.as_str()))
        })
    }
}

/// How one Go value type maps to one protobuf element type. `to` reads `{x}`; `from`
/// reads the protobuf value `{x}` and is `(T, error)` when `fallible`.
struct Conv {
    to: String,
    from: String,
    fallible: bool,
    helpers: &'static [&'static str],
}

/// Everything one file of conversions needs besides its code.
#[derive(Default)]
struct Needs {
    imports: BTreeSet<String>,
    helpers: BTreeSet<&'static str>,
    enums: BTreeSet<String>,
}

struct Ctx<'a> {
    enums: BTreeMap<&'a str, &'a GoEnum<'a>>,
    /// Embedded structs that have conversions.
    embeds: BTreeSet<String>,
    wire_enums: BTreeSet<&'a str>,
}

fn conv(go: &str, proto: &str, pg: &str, cx: &Ctx<'_>, needs: &mut Needs) -> Option<Conv> {
    let pg = pg.trim_end_matches("[]");
    let c = |to: &str, from: &str, helpers: &'static [&'static str]| Conv {
        to: to.into(),
        from: from.into(),
        fallible: from != "{x}",
        helpers,
    };
    let mut import = |p: &str| {
        needs.imports.insert(p.to_owned());
    };
    Some(match (go, proto) {
        ("bool", "bool")
        | ("int32", "int32")
        | ("int64", "int64")
        | ("float32", "float")
        | ("float64", "double")
        | ("uint32", "uint32")
        | ("string", "string") => c("{x}", "{x}", &[]),
        ("int16", "int32") => c("int32({x})", "wireInt16({x})", &["int16"]),
        ("github.com/shopspring/decimal.Decimal", "string") => {
            import("github.com/shopspring/decimal");
            c("{x}.String()", "decimal.NewFromString({x})", &[])
        }
        ("github.com/google/uuid.UUID", "string") => {
            import("github.com/google/uuid");
            c("{x}.String()", "uuid.Parse({x})", &[])
        }
        ("github.com/google/uuid.UUID", "bytes") => {
            import("github.com/google/uuid");
            c("wireUUIDBytes({x})", "uuid.FromBytes({x})", &["uuid_bytes"])
        }
        ("encoding/json.RawMessage", "string") => {
            import("encoding/json");
            c("wireJSON({x})", "wireJSONFrom({x})", &["json"])
        }
        ("time.Time", "google.protobuf.Timestamp") => {
            import("google.golang.org/protobuf/types/known/timestamppb");
            c("timestamppb.New({x})", "wireTime({x})", &["timestamp"])
        }
        ("time.Time", "string") if pg == "date" => {
            import("time");
            c(
                "{x}.Format(time.DateOnly)",
                "time.Parse(time.DateOnly, {x})",
                &[],
            )
        }
        ("net/netip.Prefix", "string") if pg == "cidr" => {
            import("net/netip");
            c("{x}.String()", "wireCidrFrom({x})", &["cidr"])
        }
        ("net/netip.Prefix", "string") => {
            import("net/netip");
            c("wireInet({x})", "wireInetFrom({x})", &["inet"])
        }
        ("net.HardwareAddr", "string") => {
            import("net");
            c("{x}.String()", "wireMACFrom({x})", &["macaddr"])
        }
        // `pgtype.UUID`'s bytes.
        ("[16]byte", "string") => {
            import("github.com/google/uuid");
            c("uuid.UUID({x}).String()", "uuid.Parse({x})", &[])
        }
        ("[16]byte", "bytes") => {
            import("github.com/google/uuid");
            c("wireUUIDBytes({x})", "uuid.FromBytes({x})", &["uuid_bytes"])
        }
        ("github.com/jackc/pgx/v5/pgtype.Numeric", "string") => {
            c("wireNumeric({x})", "wireNumericFrom({x})", &["numeric"])
        }
        ("github.com/jackc/pgx/v5/pgtype.Time", "string") => c(
            "wireTimeOfDay({x})",
            "wireTimeOfDayFrom({x})",
            &["time_of_day"],
        ),
        ("github.com/jackc/pgx/v5/pgtype.Interval", crate::wire::INTERVAL) => Conv {
            to: "wireInterval({x})".into(),
            from: "wireIntervalFrom({x})".into(),
            fallible: false,
            helpers: &["interval"],
        },
        (g, p) if cx.enums.contains_key(g) && cx.wire_enums.contains(p) && g == p => {
            needs.enums.insert(g.to_owned());
            Conv {
                to: "{x}.toWire()".into(),
                from: format!("{}FromWire({{x}})", lower_first(g)),
                fallible: true,
                helpers: &[],
            }
        }
        (g, p) if cx.embeds.contains(g) && g == p => Conv {
            to: "{x}.ToWire()".into(),
            from: format!("{g}FromWire({{x}})"),
            fallible: true,
            helpers: &[],
        },
        _ => return None,
    })
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

fn is_message(proto: &str, b: &Build) -> bool {
    proto.starts_with("google.protobuf.")
        || proto == crate::wire::INTERVAL
        || b.model.messages.iter().any(|m| m.name == proto)
}

/// `pgtype.X` of a nullable value: the field holding the value and its Go type.
fn pgtype_inner(go: &str) -> Option<(&'static str, &'static str)> {
    Some(match go.strip_prefix("github.com/jackc/pgx/v5/pgtype.")? {
        "Text" => ("String", "string"),
        "Bool" => ("Bool", "bool"),
        "Int2" => ("Int16", "int16"),
        "Int4" => ("Int32", "int32"),
        "Int8" => ("Int64", "int64"),
        "Float4" => ("Float32", "float32"),
        "Float8" => ("Float64", "float64"),
        "Timestamptz" | "Timestamp" | "Date" => ("Time", "time.Time"),
        "Uint32" => ("Uint32", "uint32"),
        "UUID" => ("Bytes", "[16]byte"),
        _ => return None,
    })
}

/// The pgtype structs that carry their own `Valid`, converted whole.
const SELF_VALID: &[&str] = &[
    "github.com/jackc/pgx/v5/pgtype.Numeric",
    "github.com/jackc/pgx/v5/pgtype.Time",
    "github.com/jackc/pgx/v5/pgtype.Interval",
];

/// Substitutes `{x}`, parenthesising a dereference that a method call follows.
fn sub(t: &str, x: &str) -> String {
    if x.starts_with('*') && t.starts_with("{x}.") {
        t.replace("{x}", &format!("({x})"))
    } else {
        t.replace("{x}", x)
    }
}

/// The statements converting one field, both ways; `Err` says why it has none.
fn field(
    gname: &str,
    gty: &str,
    f: &Field,
    cx: &Ctx<'_>,
    b: &Build,
    needs: &mut Needs,
) -> Result<(Vec<String>, Vec<String>), String> {
    let w = go_camel(&f.name);
    let name = &f.name;
    let none = || format!("`{gty}` as `{}`", f.ty);
    let mut to = Vec::new();
    let mut from = Vec::new();
    let check = |from: &mut Vec<String>, lhs: &str, expr: &str, ind: &str| {
        from.push(format!("{ind}if {lhs}, err = {expr}; err != nil {{"));
        from.push(format!("{ind}\treturn r, wireErr({name:?}, err)"));
        from.push(format!("{ind}}}"));
    };
    // Nullable arrays carry their elements in a list message.
    if let (Label::Optional, Some(elem)) = (f.label, &f.list_of) {
        let inner = gty.strip_prefix("[]").ok_or_else(none)?;
        let c = conv(inner, elem, &f.pg_type, cx, needs).ok_or_else(none)?;
        needs.helpers.extend(c.helpers);
        let list = format!("wire.{}", go_camel(&f.ty));
        to.push(format!("\tif r.{gname} != nil {{"));
        to.push(format!("\t\tl := &{list}{{}}"));
        repeated_to(&mut to, "l.Values", &format!("r.{gname}"), &c, "\t\t");
        to.push(format!("\t\tm.{w} = l"));
        to.push("\t}".into());
        from.push(format!("\tif m.{w} != nil {{"));
        repeated_from(
            &mut from,
            &format!("r.{gname}"),
            &format!("m.{w}.Values"),
            inner,
            &c,
            name,
            "\t\t",
            needs,
        );
        from.push("\t}".into());
        return Ok((to, from));
    }
    match f.label {
        Label::Repeated => {
            let inner = gty.strip_prefix("[]").ok_or_else(none)?;
            let c = conv(inner, &f.ty, &f.pg_type, cx, needs).ok_or_else(none)?;
            needs.helpers.extend(c.helpers);
            repeated_to(&mut to, &format!("m.{w}"), &format!("r.{gname}"), &c, "\t");
            repeated_from(
                &mut from,
                &format!("r.{gname}"),
                &format!("m.{w}"),
                inner,
                &c,
                name,
                "\t",
                needs,
            );
        }
        Label::Plain if gty == "[]byte" && f.ty == "bytes" => {
            to.push(format!("\tm.{w} = append([]byte(nil), r.{gname}...)"));
            from.push(format!("\tr.{gname} = append([]byte{{}}, m.{w}...)"));
        }
        Label::Plain => {
            let c = conv(gty, &f.ty, &f.pg_type, cx, needs).ok_or_else(none)?;
            needs.helpers.extend(c.helpers);
            to.push(format!("\tm.{w} = {}", sub(&c.to, &format!("r.{gname}"))));
            if is_message(&f.ty, b) {
                from.push(format!("\tif m.{w} == nil {{"));
                from.push(format!(
                    "\t\treturn r, &WireError{{Field: {name:?}, Problem: \"missing\"}}"
                ));
                from.push("\t}".into());
            }
            let expr = sub(&c.from, &format!("m.{w}"));
            if c.fallible {
                check(&mut from, &format!("r.{gname}"), &expr, "\t");
            } else {
                from.push(format!("\tr.{gname} = {expr}"));
            }
        }
        Label::Optional => {
            let msg = is_message(&f.ty, b);
            // The Go form of the value, how to read it from the row, and how to store
            // a converted value `v` back.
            let (inner, read, store, present): (String, String, String, String) =
                if let Some(inner) = gty.strip_prefix('*') {
                    (
                        inner.to_owned(),
                        format!("*r.{gname}"),
                        format!("r.{gname} = &v"),
                        format!("r.{gname} != nil"),
                    )
                } else if let Some((vf, it)) = pgtype_inner(gty) {
                    let t = gty.rsplit('.').next().unwrap_or(gty);
                    needs
                        .imports
                        .insert("github.com/jackc/pgx/v5/pgtype".into());
                    (
                        it.to_owned(),
                        format!("r.{gname}.{vf}"),
                        format!("r.{gname} = pgtype.{t}{{{vf}: v, Valid: true}}"),
                        format!("r.{gname}.Valid"),
                    )
                } else if SELF_VALID.contains(&gty) {
                    // A pgtype struct that is its own NULL: the conversion makes it valid.
                    (
                        gty.to_owned(),
                        format!("r.{gname}"),
                        format!("r.{gname} = v"),
                        format!("r.{gname}.Valid"),
                    )
                } else if gty == "[]byte"
                    || gty == "net.HardwareAddr"
                    || gty.ends_with("json.RawMessage")
                {
                    // nil is NULL.
                    (
                        gty.to_owned(),
                        format!("r.{gname}"),
                        format!("r.{gname} = v"),
                        format!("r.{gname} != nil"),
                    )
                } else {
                    return Err(none());
                };
            if inner == "[]byte" && f.ty == "bytes" {
                to.push(format!("\tif {present} {{"));
                to.push(format!("\t\tm.{w} = append([]byte{{}}, {read}...)"));
                to.push("\t}".into());
                from.push(format!("\tif m.{w} != nil {{"));
                from.push(format!("\t\tv := append([]byte{{}}, m.{w}...)"));
                from.push(format!("\t\t{store}"));
                from.push("\t}".into());
                return Ok((to, from));
            }
            let c = conv(&inner, &f.ty, &f.pg_type, cx, needs).ok_or_else(none)?;
            needs.helpers.extend(c.helpers);
            to.push(format!("\tif {present} {{"));
            if msg {
                to.push(format!("\t\tm.{w} = {}", sub(&c.to, &read)));
            } else {
                to.push(format!("\t\tv := {}", sub(&c.to, &read)));
                to.push(format!("\t\tm.{w} = &v"));
            }
            to.push("\t}".into());
            let x = if msg {
                format!("m.{w}")
            } else {
                format!("*m.{w}")
            };
            from.push(format!("\tif m.{w} != nil {{"));
            if c.fallible {
                from.push(format!("\t\tv, err := {}", sub(&c.from, &x)));
                from.push("\t\tif err != nil {".into());
                from.push(format!("\t\t\treturn r, wireErr({name:?}, err)"));
                from.push("\t\t}".into());
            } else {
                from.push(format!("\t\tv := {}", sub(&c.from, &x)));
            }
            from.push(format!("\t\t{store}"));
            from.push("\t}".into());
        }
    }
    Ok((to, from))
}

fn repeated_to(to: &mut Vec<String>, dst: &str, src: &str, c: &Conv, ind: &str) {
    if c.to == "{x}" {
        to.push(format!("{ind}{dst} = append({dst}, {src}...)"));
        return;
    }
    to.push(format!("{ind}for _, v := range {src} {{"));
    to.push(format!("{ind}\t{dst} = append({dst}, {})", sub(&c.to, "v")));
    to.push(format!("{ind}}}"));
}

#[allow(clippy::too_many_arguments)]
fn repeated_from(
    from: &mut Vec<String>,
    dst: &str,
    src: &str,
    inner: &str,
    c: &Conv,
    name: &str,
    ind: &str,
    needs: &mut Needs,
) {
    let elem = spelled(inner, needs);
    from.push(format!("{ind}{dst} = make([]{elem}, len({src}))"));
    if c.from == "{x}" {
        from.push(format!("{ind}copy({dst}, {src})"));
        return;
    }
    from.push(format!("{ind}for i, v := range {src} {{"));
    if c.fallible {
        from.push(format!(
            "{ind}\tif {dst}[i], err = {}; err != nil {{",
            sub(&c.from, "v")
        ));
        from.push(format!("{ind}\t\treturn r, wireErr({name:?}, err)"));
        from.push(format!("{ind}\t}}"));
    } else {
        from.push(format!("{ind}\t{dst}[i] = {}", sub(&c.from, "v")));
    }
    from.push(format!("{ind}}}"));
}

/// A Go type written with full import paths, as code spells it (`uuid.UUID`).
fn spelled(t: &str, needs: &mut Needs) -> String {
    match t.rfind('.') {
        Some(dot) if dot > 0 => {
            let path = &t[..dot];
            needs.imports.insert(path.to_owned());
            let pkg = path.rsplit('/').next().unwrap_or(path);
            format!("{pkg}.{}", &t[dot + 1..])
        }
        _ => t.to_owned(),
    }
}

/// The helper functions, by name: emitted only when a conversion uses them, with the
/// imports they need.
const HELPERS: &[(&str, &[&str], &str)] = &[
    (
        "int16",
        &["errors", "math"],
        "func wireInt16(v int32) (int16, error) {\n\tif v < math.MinInt16 || v > math.MaxInt16 {\n\t\treturn 0, errors.New(\"out of the range of int2\")\n\t}\n\treturn int16(v), nil\n}",
    ),
    (
        "uuid_bytes",
        &["github.com/google/uuid"],
        "func wireUUIDBytes(u uuid.UUID) []byte {\n\treturn u[:]\n}",
    ),
    (
        "json",
        &["encoding/json", "errors", RUNTIME],
        "// wireJSON writes a JSON value the way the Rust client does: compact, keys sorted.\nfunc wireJSON(v json.RawMessage) string {\n\tif s, err := sqlpact.CanonicalJSON(v); err == nil {\n\t\treturn s\n\t}\n\treturn string(v)\n}\n\nfunc wireJSONFrom(s string) (json.RawMessage, error) {\n\tif !json.Valid([]byte(s)) {\n\t\treturn nil, errors.New(\"not valid JSON\")\n\t}\n\treturn json.RawMessage(s), nil\n}",
    ),
    (
        "timestamp",
        &["errors", "time", "google.golang.org/protobuf/types/known/timestamppb"],
        "func wireTime(t *timestamppb.Timestamp) (time.Time, error) {\n\tif err := t.CheckValid(); err != nil {\n\t\treturn time.Time{}, errors.New(\"not a valid timestamp\")\n\t}\n\treturn t.AsTime(), nil\n}",
    ),
    (
        "inet",
        &["net/netip", "strings"],
        "// wireInet writes a host address without its prefix length, a network with it.\nfunc wireInet(p netip.Prefix) string {\n\tif p.Bits() == p.Addr().BitLen() {\n\t\treturn p.Addr().String()\n\t}\n\treturn p.String()\n}\n\nfunc wireInetFrom(s string) (netip.Prefix, error) {\n\tif strings.Contains(s, \"/\") {\n\t\treturn netip.ParsePrefix(s)\n\t}\n\ta, err := netip.ParseAddr(s)\n\tif err != nil {\n\t\treturn netip.Prefix{}, err\n\t}\n\treturn netip.PrefixFrom(a, a.BitLen()), nil\n}",
    ),
    (
        "cidr",
        &["errors", "net/netip"],
        "// wireCidrFrom reads a network, which has no bits set right of its mask.\nfunc wireCidrFrom(s string) (netip.Prefix, error) {\n\tp, err := netip.ParsePrefix(s)\n\tif err != nil {\n\t\treturn netip.Prefix{}, err\n\t}\n\tif p != p.Masked() {\n\t\treturn netip.Prefix{}, errors.New(\"has bits set right of its mask\")\n\t}\n\treturn p, nil\n}",
    ),
    (
        "macaddr",
        &["errors", "net"],
        "func wireMACFrom(s string) (net.HardwareAddr, error) {\n\ta, err := net.ParseMAC(s)\n\tif err == nil && len(a) != 6 {\n\t\treturn nil, errors.New(\"not a 6-byte MAC address\")\n\t}\n\treturn a, err\n}",
    ),
    (
        "numeric",
        &["strings", "github.com/jackc/pgx/v5/pgtype"],
        "// wireNumeric writes a number as the Rust client does: no trailing zeros after the\n// point; NaN and infinities by name.\nfunc wireNumeric(n pgtype.Numeric) string {\n\tv, err := n.Value()\n\ts, ok := v.(string)\n\tif err != nil || !ok {\n\t\treturn \"0\"\n\t}\n\tif strings.Contains(s, \".\") {\n\t\ts = strings.TrimRight(strings.TrimRight(s, \"0\"), \".\")\n\t}\n\treturn s\n}\n\nfunc wireNumericFrom(s string) (pgtype.Numeric, error) {\n\tvar n pgtype.Numeric\n\terr := n.Scan(s)\n\treturn n, err\n}",
    ),
    (
        "time_of_day",
        &["fmt", "strings", "time", "github.com/jackc/pgx/v5/pgtype"],
        "// wireTimeOfDay writes a time of day as PostgreSQL prints it: HH:MM:SS, then the\n// fraction without trailing zeros.\nfunc wireTimeOfDay(t pgtype.Time) string {\n\tus := t.Microseconds\n\ts := fmt.Sprintf(\"%02d:%02d:%02d\", us/3600000000, us/60000000%60, us/1000000%60)\n\tif f := us % 1000000; f != 0 {\n\t\ts += strings.TrimRight(fmt.Sprintf(\".%06d\", f), \"0\")\n\t}\n\treturn s\n}\n\nfunc wireTimeOfDayFrom(s string) (pgtype.Time, error) {\n\tt, err := time.Parse(time.TimeOnly, s)\n\tif err != nil {\n\t\treturn pgtype.Time{}, err\n\t}\n\tus := int64(t.Hour())*3600000000 + int64(t.Minute())*60000000 +\n\t\tint64(t.Second())*1000000 + int64(t.Nanosecond())/1000\n\treturn pgtype.Time{Microseconds: us, Valid: true}, nil\n}",
    ),
    (
        "interval",
        &["github.com/jackc/pgx/v5/pgtype"],
        "func wireInterval(i pgtype.Interval) *wire.Interval {\n\treturn &wire.Interval{Months: i.Months, Days: i.Days, Microseconds: i.Microseconds}\n}\n\nfunc wireIntervalFrom(m *wire.Interval) pgtype.Interval {\n\treturn pgtype.Interval{\n\t\tMonths:       m.GetMonths(),\n\t\tDays:         m.GetDays(),\n\t\tMicroseconds: m.GetMicroseconds(),\n\t\tValid:        true,\n\t}\n}",
    ),
];

const RUNTIME: &str = "github.com/sqlpact/sqlpact/runtime/go";

/// `wire_rows.go`: conversions for every row struct whose fields all have one; the
/// others are named in the file's comment.
pub fn conversions(
    header: &str,
    package: &str,
    wire_import: &str,
    rows: &[GoRow<'_>],
    enums: &[GoEnum<'_>],
    b: &Build,
) -> String {
    let mut cx = Ctx {
        enums: enums.iter().map(|e| (e.name.as_str(), e)).collect(),
        embeds: BTreeSet::new(),
        wire_enums: b.model.enums.iter().map(|e| e.name.as_str()).collect(),
    };
    let mut needs = Needs::default();
    let mut bodies = Vec::new();
    let mut skipped = Vec::new();
    for r in rows {
        let mut local = Needs::default();
        match row_funcs(r, &cx, b, &mut local) {
            Ok(lines) => {
                bodies.extend(lines);
                needs.imports.extend(local.imports);
                needs.helpers.extend(local.helpers);
                needs.enums.extend(local.enums);
                if r.message.kind == MessageKind::Embed {
                    cx.embeds.insert(r.name.clone());
                }
            }
            Err(why) => skipped.push(format!("//   - {}: {why}", r.name)),
        }
    }
    needs.imports.insert(wire_import.to_owned());
    if !bodies.is_empty() {
        needs.imports.insert("errors".into());
    }
    for (name, imports, _) in HELPERS {
        if needs.helpers.contains(name) {
            needs
                .imports
                .extend(imports.iter().map(|s| (*s).to_owned()));
        }
    }
    if !needs.enums.is_empty() {
        needs.imports.insert("fmt".into());
    }
    let mut s = vec![header.to_owned(), String::new()];
    s.push(format!("package {package}"));
    s.push(String::new());
    s.push(
        "// Conversions between the row structs and their wire messages: ToWire on the row,".into(),
    );
    s.push("// <Row>FromWire for the way back.".into());
    if !skipped.is_empty() {
        s.push("//".into());
        s.push("// Rows without conversions (a type with no wire conversion):".into());
        s.extend(skipped);
    }
    s.push(String::new());
    let (std, other): (Vec<&String>, Vec<&String>) = needs
        .imports
        .iter()
        .partition(|p| !p.split('/').next().unwrap_or("").contains('.'));
    s.push("import (".into());
    for (i, group) in [std, other].iter().filter(|g| !g.is_empty()).enumerate() {
        if i > 0 {
            s.push(String::new());
        }
        for p in group {
            if p.as_str() == RUNTIME {
                s.push(format!("\tsqlpact \"{p}\""));
            } else {
                s.push(format!("\t\"{p}\""));
            }
        }
    }
    s.push(")".into());
    s.extend(
        [
            "",
            "// WireError reports a wire message that does not make a valid row: a required field",
            "// missing, a value out of range or malformed, an unknown enum value.",
            "type WireError struct {",
            "\t// Field is the message field.",
            "\tField   string",
            "\tProblem string",
            "}",
            "",
            "func (e *WireError) Error() string {",
            "\treturn \"wire field `\" + e.Field + \"`: \" + e.Problem",
            "}",
        ]
        .map(str::to_owned),
    );
    if !bodies.is_empty() {
        s.extend(
            [
                "",
                "func wireErr(field string, err error) error {",
                "\tvar we *WireError",
                "\tif errors.As(err, &we) {",
                "\t\treturn err",
                "\t}",
                "\treturn &WireError{Field: field, Problem: err.Error()}",
                "}",
            ]
            .map(str::to_owned),
        );
    }
    for e in enums.iter().filter(|e| needs.enums.contains(&e.name)) {
        let n = &e.name;
        let wn = go_camel(&e.wire.name);
        s.push(String::new());
        s.push(format!("func (v {n}) toWire() wire.{wn} {{"));
        s.push("\tswitch v {".into());
        for (k, wv) in e.pairs() {
            s.push(format!("\tcase {k}:"));
            s.push(format!("\t\treturn wire.{wn}_{wv}"));
        }
        s.push("\t}".into());
        let unspecified = crate::wire::enum_value_name(&e.wire.name, "unspecified");
        s.push(format!("\treturn wire.{wn}_{unspecified}"));
        s.push("}".into());
        s.push(String::new());
        s.push(format!(
            "func {}FromWire(v wire.{wn}) ({n}, error) {{",
            lower_first(n)
        ));
        s.push("\tswitch v {".into());
        for (k, wv) in e.pairs() {
            s.push(format!("\tcase wire.{wn}_{wv}:"));
            s.push(format!("\t\treturn {k}, nil"));
        }
        s.push("\t}".into());
        s.push("\treturn \"\", fmt.Errorf(\"%d is not a known value\", int32(v))".into());
        s.push("}".into());
    }
    for (name, _, text) in HELPERS {
        if needs.helpers.contains(name) {
            s.push(String::new());
            s.extend(text.lines().map(str::to_owned));
        }
    }
    s.extend(bodies);
    let mut text = s.join("\n");
    text.push('\n');
    text
}

/// `ToWire` and `<Row>FromWire` of one row, or why it has none.
fn row_funcs(
    r: &GoRow<'_>,
    cx: &Ctx<'_>,
    b: &Build,
    needs: &mut Needs,
) -> Result<Vec<String>, String> {
    let m = r.message;
    let mut to = Vec::new();
    let mut from = Vec::new();
    for ((gname, gty), f) in r.fields.iter().zip(&m.fields) {
        let (t, fr) = field(gname, gty, f, cx, b, needs)?;
        to.extend(t);
        from.extend(fr);
    }
    let n = &r.name;
    let wn = go_camel(&m.name);
    let mut v = vec![String::new()];
    v.push(format!(
        "// ToWire converts the row to its wire message `{}`.",
        m.name
    ));
    v.push(format!("func (r *{n}) ToWire() *wire.{wn} {{"));
    v.push("\tif r == nil {".into());
    v.push("\t\treturn nil".into());
    v.push("\t}".into());
    v.push(format!("\tm := &wire.{wn}{{}}"));
    v.extend(to);
    v.push("\treturn m".into());
    v.push("}".into());
    v.push(String::new());
    v.push(format!(
        "// {n}FromWire converts a wire message `{}` to a row, or says which field is wrong.",
        m.name
    ));
    v.push(format!("func {n}FromWire(m *wire.{wn}) ({n}, error) {{"));
    v.push(format!("\tvar r {n}"));
    v.push("\tif m == nil {".into());
    v.push("\t\treturn r, &WireError{Problem: \"missing\"}".into());
    v.push("\t}".into());
    // `if r.X, err = ...` assigns to an `err` declared once per function.
    if from.iter().any(|l| l.contains(", err = ")) {
        v.push("\tvar err error".into());
    }
    v.extend(from);
    v.push("\treturn r, nil".into());
    v.push("}".into());
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_script_installs_the_pinned_plugin() {
        let script = include_str!("../../scripts/test.sh");
        assert!(
            script.contains(PROTOC_GEN_GO),
            "scripts/test.sh must install {PROTOC_GEN_GO}"
        );
    }

    #[test]
    fn field_names_follow_protoc_gen_go() {
        assert_eq!(go_camel("account_id"), "AccountId");
        assert_eq!(go_camel("id"), "Id");
        assert_eq!(go_camel("v2_total"), "V2Total");
        assert_eq!(go_camel("a_1"), "A_1");
        assert_eq!(go_camel("_x"), "XX");
        assert_eq!(go_camel("string"), "String_");
        assert_eq!(go_camel("descriptor"), "Descriptor_");
    }

    #[test]
    fn import_path_comes_from_the_nearest_go_mod() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("gen/go/ledger")).unwrap();
        std::fs::write(
            dir.path().join("gen/go/go.mod"),
            "// the module\nmodule example.com/svc\n\ngo 1.22\n",
        )
        .unwrap();
        assert_eq!(
            import_path(None, "gen/go/ledger", dir.path()).unwrap(),
            "example.com/svc/ledger"
        );
        assert_eq!(
            import_path(Some("x.org/y"), "gen/go/ledger", dir.path()).unwrap(),
            "x.org/y"
        );
        let none = tempfile::tempdir().unwrap();
        let e = import_path(None, "gen", none.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("outputs.go.import_path"), "{e}");
    }
}
