//! `sqlpact init`: a new registry, or one converted from a sqlc configuration.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("`{0}` already exists\n  help: pass --force to overwrite it")]
    Exists(PathBuf),
    #[error("cannot read `{path}`: {err}")]
    Read { path: PathBuf, err: std::io::Error },
    #[error("cannot write `{path}`: {err}")]
    Write { path: PathBuf, err: std::io::Error },
    #[error("`{path}` is not a sqlc configuration: {msg}\n  help: pass the sqlc.yaml or sqlc.json that `sqlc generate` reads")]
    Parse { path: PathBuf, msg: String },
    #[error("`{0}` has no PostgreSQL package to convert\n  help: sqlpact reads `engine: postgresql` entries")]
    NoPostgres(PathBuf),
}

/// A string or a list of strings, as sqlc accepts for `schema` and `queries`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Paths {
    One(String),
    Many(Vec<String>),
}

impl Paths {
    fn list(&self) -> Vec<String> {
        match self {
            Paths::One(s) => vec![s.clone()],
            Paths::Many(v) => v.clone(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum GoType {
    Plain(String),
    Detailed {
        #[serde(default)]
        import: Option<String>,
        #[serde(default)]
        package: Option<String>,
        #[serde(rename = "type")]
        ty: String,
        #[serde(default)]
        pointer: bool,
    },
}

impl GoType {
    /// sqlpact's spelling: `import/path.Type`, `*` for pointers.
    fn spelled(&self) -> String {
        match self {
            GoType::Plain(s) => s.clone(),
            GoType::Detailed {
                import,
                package,
                ty,
                pointer,
            } => {
                let base = match (import, package) {
                    (Some(i), _) if !i.is_empty() => format!("{i}.{ty}"),
                    (_, Some(p)) if !p.is_empty() => format!("{p}.{ty}"),
                    _ => ty.clone(),
                };
                if *pointer {
                    format!("*{base}")
                } else {
                    base
                }
            }
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
struct Override {
    #[serde(default)]
    db_type: Option<String>,
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    go_type: Option<GoType>,
    #[serde(default)]
    nullable: bool,
}

#[derive(Debug, Default, Deserialize)]
struct GoGen {
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    out: Option<String>,
    #[serde(default)]
    emit_json_tags: bool,
    #[serde(default)]
    emit_interface: bool,
    #[serde(default)]
    emit_pointers_for_null_types: bool,
    #[serde(default)]
    overrides: Vec<Override>,
}

#[derive(Debug, Default, Deserialize)]
struct Gen {
    #[serde(default)]
    go: Option<GoGen>,
}

#[derive(Debug, Deserialize)]
struct SqlV2 {
    #[serde(default)]
    name: Option<String>,
    engine: String,
    schema: Paths,
    queries: Paths,
    #[serde(default)]
    gen: Gen,
}

#[derive(Debug, Deserialize)]
struct PackageV1 {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    path: Option<String>,
    schema: Paths,
    queries: Paths,
    #[serde(default)]
    engine: Option<String>,
    #[serde(default)]
    emit_json_tags: bool,
    #[serde(default)]
    emit_interface: bool,
    #[serde(default)]
    emit_pointers_for_null_types: bool,
}

#[derive(Debug, Deserialize)]
struct SqlcConfig {
    version: String,
    #[serde(default)]
    sql: Vec<SqlV2>,
    #[serde(default)]
    packages: Vec<PackageV1>,
    #[serde(default)]
    overrides: Option<GlobalOverrides>,
}

/// Top-level overrides: a list in version 1, by language in version 2
/// (`overrides: { go: { overrides: [...] } }`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum GlobalOverrides {
    List(Vec<Override>),
    ByLanguage {
        #[serde(default)]
        go: Option<GoOverrides>,
    },
}

#[derive(Debug, Deserialize)]
struct GoOverrides {
    #[serde(default)]
    overrides: Vec<Override>,
}

impl GlobalOverrides {
    fn go(self) -> Vec<Override> {
        match self {
            GlobalOverrides::List(l) => l,
            GlobalOverrides::ByLanguage { go } => go.map(|g| g.overrides).unwrap_or_default(),
        }
    }
}

/// A converted registry, and what the conversion left out.
pub struct Converted {
    pub text: String,
    pub notes: Vec<String>,
}

/// Writes `sqlpact.yaml` (and, for a fresh project, example schema and query files);
/// returns the registry's path and notes on what a conversion left out.
pub fn run(
    from_sqlc: Option<&Path>,
    dir: Option<&Path>,
    force: bool,
) -> Result<(PathBuf, Vec<String>), InitError> {
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| from_sqlc.and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_default();
    let target = dir.join("sqlpact.yaml");
    if target.exists() && !force {
        return Err(InitError::Exists(target));
    }
    let mut notes = Vec::new();
    let text = match from_sqlc {
        Some(p) => {
            let raw = std::fs::read_to_string(p).map_err(|err| InitError::Read {
                path: p.to_path_buf(),
                err,
            })?;
            let name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "service".into());
            let converted = convert_sqlc(&raw, &name).map_err(|e| match e {
                ConvertError::Parse(msg) => InitError::Parse {
                    path: p.to_path_buf(),
                    msg,
                },
                ConvertError::NoPostgres => InitError::NoPostgres(p.to_path_buf()),
            })?;
            notes = converted.notes;
            converted.text
        }
        None => {
            write_new(&dir.join("schema/0001_init.sql"), SCAFFOLD_SCHEMA)?;
            write_new(&dir.join("queries/authors.sql"), SCAFFOLD_QUERIES)?;
            SCAFFOLD_REGISTRY.to_owned()
        }
    };
    write_atomic(&target, &text)?;
    Ok((target, notes))
}

const SCAFFOLD_REGISTRY: &str = "# sqlpact registry: see docs/registry.md\nversion: 1\ncontract:\n  name: service\n  version: 0.1.0\nengine: postgresql\nschema: [schema/]\nqueries: [queries/*.sql]\npolicies:\n  defaults: { timeout: 2s, retry: standard }\noutputs:\n  go: { out: gen/go/db, package: db }\n  rust: { out: gen/rust/db, crate: service-db }\n";
const SCAFFOLD_SCHEMA: &str = "CREATE TABLE authors (\n  id   bigserial PRIMARY KEY,\n  name text NOT NULL,\n  bio  text\n);\n";
const SCAFFOLD_QUERIES: &str = "-- name: GetAuthor :one\nSELECT * FROM authors WHERE id = @id;\n\n-- name: ListAuthors :many\nSELECT * FROM authors ORDER BY name;\n\n-- name: CreateAuthor :one\nINSERT INTO authors (name, bio) VALUES (@name, @bio) RETURNING *;\n";

fn write_new(path: &Path, text: &str) -> Result<(), InitError> {
    if path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|err| InitError::Write {
            path: parent.to_path_buf(),
            err,
        })?;
    }
    write_atomic(path, text)
}

/// Writes through a temporary file in the same directory and renames it into place,
/// so a reader never sees half a file.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), InitError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|err| InitError::Write {
        path: dir.to_path_buf(),
        err,
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|err| {
            let _ = std::fs::remove_file(&tmp);
            InitError::Write {
                path: path.to_path_buf(),
                err,
            }
        })
}

#[derive(Debug)]
pub enum ConvertError {
    Parse(String),
    NoPostgres,
}

fn yaml_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|s| quote(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-*".contains(c))
        && !s.starts_with('*');
    if plain {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Converts a sqlc configuration (v1 or v2, YAML or JSON) into a registry's text.
pub fn convert_sqlc(raw: &str, name: &str) -> Result<Converted, ConvertError> {
    let cfg: SqlcConfig = serde_saphyr::from_str(raw)
        .map_err(|e| ConvertError::Parse(e.without_snippet().to_string()))?;
    struct Pkg {
        schema: Vec<String>,
        queries: Vec<String>,
        package: String,
        out: String,
        json_tags: bool,
        interface: bool,
        overrides: Vec<Override>,
    }
    let global = cfg.overrides.map(GlobalOverrides::go).unwrap_or_default();
    let mut notes = Vec::new();
    let pkg = if cfg.version == "1" {
        let p = cfg
            .packages
            .into_iter()
            .find(|p| p.engine.as_deref().is_none_or(|e| e == "postgresql"))
            .ok_or(ConvertError::NoPostgres)?;
        let _ = p.emit_pointers_for_null_types;
        Pkg {
            schema: p.schema.list(),
            queries: p.queries.list(),
            package: p.name.unwrap_or_else(|| "db".into()),
            out: p.path.unwrap_or_else(|| "db".into()),
            json_tags: p.emit_json_tags,
            interface: p.emit_interface,
            overrides: global,
        }
    } else {
        // Entries over the first one's schema that generate the same Go package become
        // one registry; a registry generates one package, so the others are left out.
        let mut pkg: Option<Pkg> = None;
        for (i, s) in cfg.sql.into_iter().enumerate() {
            let entry = s
                .name
                .clone()
                .map_or_else(|| format!("sql[{i}]"), |n| format!("sql[{i}] (`{n}`)"));
            if s.engine != "postgresql" {
                notes.push(format!(
                    "{entry} is left out: its engine is `{}`, and sqlpact reads PostgreSQL",
                    s.engine
                ));
                continue;
            }
            let go = s.gen.go.unwrap_or_default();
            let _ = go.emit_pointers_for_null_types;
            let package = go.package.unwrap_or_else(|| "db".into());
            let out = go.out.unwrap_or_else(|| "db".into());
            match &mut pkg {
                None => {
                    let mut overrides = global.clone();
                    overrides.extend(go.overrides);
                    pkg = Some(Pkg {
                        schema: s.schema.list(),
                        queries: s.queries.list(),
                        package,
                        out,
                        json_tags: go.emit_json_tags,
                        interface: go.emit_interface,
                        overrides,
                    });
                }
                Some(p) if p.schema == s.schema.list() && p.package == package && p.out == out => {
                    for q in s.queries.list() {
                        if !p.queries.contains(&q) {
                            p.queries.push(q);
                        }
                    }
                    // One package has one set of settings: say where the entries differed.
                    let mut shared = Vec::new();
                    if go.emit_json_tags != p.json_tags {
                        shared.push("json tags");
                    }
                    if go.emit_interface != p.interface {
                        shared.push("the Querier interface");
                    }
                    if !go.overrides.is_empty() {
                        shared.push("its type overrides");
                    }
                    if !shared.is_empty() {
                        notes.push(format!(
                            "{entry} is merged with the entries before it, which generate the same package: {} now apply to all of their queries",
                            shared.join(", ")
                        ));
                    }
                    p.json_tags |= go.emit_json_tags;
                    p.interface |= go.emit_interface;
                    p.overrides.extend(go.overrides);
                }
                Some(p) => {
                    let same_schema = p.schema == s.schema.list();
                    let why = if p.package != package || p.out != out {
                        format!(
                            "it generates Go package `{package}` into `{out}`, not `{}` into `{}`",
                            p.package, p.out
                        )
                    } else {
                        "it reads another schema".to_owned()
                    };
                    notes.push(format!(
                        "{entry} is left out: {why}, and a registry generates one package; write a second \
                         registry for it, a copy of this one with `queries: {}`{} and `outputs.go: {{ out: {}, package: {} }}`",
                        yaml_list(&s.queries.list()),
                        if same_schema { String::new() } else { format!(", `schema: {}`", yaml_list(&s.schema.list())) },
                        quote(&out),
                        quote(&package),
                    ));
                }
            }
        }
        pkg.ok_or(ConvertError::NoPostgres)?
    };
    let slug: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let slug = if slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        slug
    } else {
        format!("service-{slug}")
    };
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Converted from a sqlc configuration; see docs/registry.md."
    );
    let _ = writeln!(y, "version: 1");
    let _ = writeln!(y, "contract:\n  name: {}\n  version: 0.1.0", quote(&slug));
    let _ = writeln!(y, "engine: postgresql");
    let _ = writeln!(y, "schema: {}", yaml_list(&pkg.schema));
    let _ = writeln!(y, "queries: {}", yaml_list(&pkg.queries));
    // sqlc needs one override for the non-null and one for the nullable form of a type;
    // sqlpact needs one: the non-null form, with `go_nullable` only when it is not a pointer.
    let mut types: Vec<(String, String, String, Option<String>)> = Vec::new();
    for o in &pkg.overrides {
        let Some(go) = o.go_type.as_ref().map(GoType::spelled) else {
            continue;
        };
        let (key, target) = match (&o.db_type, &o.column) {
            (Some(d), _) => ("db_type", d.clone()),
            (None, Some(c)) => ("column", c.clone()),
            _ => continue,
        };
        match types.iter_mut().find(|t| t.0 == key && t.1 == target) {
            Some(t) => {
                if o.nullable {
                    if go != format!("*{}", t.2) {
                        t.3 = Some(go);
                    }
                } else {
                    let old = std::mem::replace(&mut t.2, go);
                    if t.3.is_none() && old != format!("*{}", t.2) {
                        t.3 = Some(old);
                    }
                }
            }
            None => {
                if o.nullable {
                    let base = go.strip_prefix('*').unwrap_or(&go).to_owned();
                    let nullable = (!go.starts_with('*')).then_some(go.clone());
                    types.push((key.into(), target, base, nullable));
                } else {
                    types.push((key.into(), target, go, None));
                }
            }
        }
    }
    if !types.is_empty() {
        let _ = writeln!(y, "types:");
        for (key, target, go, nullable) in &types {
            let _ = write!(y, "  - {{ {key}: {}, go: {}", quote(target), quote(go));
            if let Some(n) = nullable {
                let _ = write!(y, ", go_nullable: {}", quote(n));
            }
            let _ = writeln!(y, " }}");
        }
    }
    let _ = writeln!(y, "outputs:");
    let _ = write!(
        y,
        "  go: {{ out: {}, package: {}",
        quote(&pkg.out),
        quote(&pkg.package)
    );
    if pkg.json_tags {
        let _ = write!(y, ", json_tags: true");
    }
    if pkg.interface {
        let _ = write!(y, ", emit_interface: true");
    }
    let _ = writeln!(y, " }}");
    Ok(Converted { text: y, notes })
}
