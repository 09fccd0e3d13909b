//! The `sqlpact` command line: parses arguments, runs the core, prints.
//!
//! Exit codes: 0 clean, 1 the contract has errors, 2 sqlpact could not run (usage, I/O).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use sqlpact::diag::{Code, Diagnostics, Severity};
use sqlpact::source::SourceMap;
use sqlpact::{analyze, present, registry, render};

#[derive(Parser)]
#[command(
    name = "sqlpact",
    version,
    about = "Database contracts for Go and Rust services on PostgreSQL"
)]
struct Cli {
    /// The registry file [default: ./sqlpact.yaml]
    #[arg(short = 'c', long = "config", global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum DiagFormat {
    Text,
    Json,
    Github,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum ModelFormat {
    Json,
    Text,
}

#[derive(Subcommand)]
enum Command {
    /// Load and analyze the registry; report every problem.
    Check {
        #[arg(long, value_enum, default_value = "text")]
        format: DiagFormat,
    },
    /// Print the resolved contract, the model every other command reads.
    Inspect {
        #[arg(long, value_enum, default_value = "json")]
        format: ModelFormat,
    },
    /// Show each parameter and column of a query with the reasons for its type and nullability.
    Explain {
        /// The query's name.
        query: String,
        #[arg(long, value_enum, default_value = "text")]
        format: ModelFormat,
    },
    /// Prepare every query on a real PostgreSQL and report where it disagrees with the analyzer.
    Verify {
        /// Server to use; a scratch database is created there and dropped after [env: DATABASE_URL]
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// A file holding the server's URL (a password on the command line is visible to
        /// every user of the machine)
        #[arg(long, value_name = "PATH", conflicts_with = "database_url")]
        database_url_file: Option<std::path::PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: DiagFormat,
    },
    /// Write a new registry, or convert a sqlc configuration.
    Init {
        /// A sqlc.yaml / sqlc.json to convert.
        #[arg(long, value_name = "PATH")]
        from_sqlc: Option<PathBuf>,
        /// Directory to write sqlpact.yaml into [default: the sqlc file's directory, or .]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Overwrite an existing sqlpact.yaml.
        #[arg(long)]
        force: bool,
    },
    /// Write the Go and Rust clients configured under `outputs`.
    Generate {
        /// Write nothing; exit 1 with a diff when the files on disk are not up to date.
        #[arg(long)]
        check: bool,
    },
    /// Show how the generated files on disk differ from what `generate` would write.
    Diff,
    /// Print the JSON Schema of sqlpact.yaml.
    Schema,
    /// Compare the contract with a baseline; fail on changes that break deployed
    /// clients, running services or the database.
    #[command(args_conflicts_with_subcommands = true)]
    Compat {
        /// The baseline: a directory, a registry file, or a git revision (`main`,
        /// `v1.4.0`, `HEAD~1`, `origin/main:services/ledger`).
        #[arg(long, value_name = "BASELINE", conflicts_with = "transitive")]
        against: Option<String>,
        /// Check against every git tag matching this glob (`'v*'`), not one baseline.
        #[arg(long, value_name = "GLOB")]
        transitive: Option<String>,
        /// Default: the registry's `compat.mode`, else `backward`.
        #[arg(long, value_enum)]
        mode: Option<sqlpact::compat::Mode>,
        #[arg(long, value_enum, default_value = "text")]
        format: CompatFormat,
        /// Exit 1 when a finding at this level or above is found.
        #[arg(long, value_enum, default_value = "error")]
        fail_on: sqlpact::compat::Level,
        /// Where rule links point (SARIF).
        #[arg(long, value_name = "URL", default_value = "docs/rules/")]
        rules_url: String,
        #[command(subcommand)]
        command: Option<CompatCommand>,
    },
    /// Release notes and compatibility matrices between contract versions read from
    /// git: what broke, was deprecated, added or changed, and which client, schema and
    /// wire versions run together.
    Changelog {
        /// The oldest version: a git revision (`v1.0.0`, `HEAD~5`), a directory or a
        /// registry file.
        #[arg(long, value_name = "REV", conflicts_with = "tags")]
        from: Option<String>,
        /// The newest version (default: the registry as it is in the working tree).
        #[arg(long, value_name = "REV", requires = "from")]
        to: Option<String>,
        /// Every tag matching this glob, in version order (`'v*'`).
        #[arg(long, value_name = "GLOB")]
        tags: Option<String>,
        #[arg(long, value_enum, default_value = "markdown")]
        format: ChangelogFormat,
        /// A handlebars template rendered with the JSON form as its data.
        #[arg(long, value_name = "FILE", conflicts_with = "format")]
        template: Option<PathBuf>,
        /// Where rule links point (Markdown and HTML).
        #[arg(long, value_name = "URL", default_value = "docs/rules/")]
        rules_url: String,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum ChangelogFormat {
    Markdown,
    Json,
    /// One self-contained page.
    Html,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum CompatFormat {
    Text,
    Json,
    Github,
    Sarif,
    Junit,
    Markdown,
}

#[derive(Subcommand)]
enum CompatCommand {
    /// List the rules.
    Rules {
        #[arg(long, value_enum, default_value = "text")]
        format: ModelFormat,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

fn config_path(cli: &Option<PathBuf>) -> Result<PathBuf, String> {
    match cli {
        Some(p) => Ok(p.clone()),
        None => {
            let p = PathBuf::from("sqlpact.yaml");
            if p.exists() {
                Ok(p)
            } else {
                Err("no sqlpact.yaml in the current directory\n  help: pass the registry with `-c path/to/sqlpact.yaml`, or create one with `sqlpact init`".into())
            }
        }
    }
}

struct Loaded {
    sources: SourceMap,
    diags: Diagnostics,
    analysis: Option<analyze::Analysis>,
}

fn load(path: &std::path::Path) -> Result<Loaded, String> {
    if !path.is_file() {
        return Err(format!("cannot read `{}`: no such file\n  help: pass the registry with `-c path/to/sqlpact.yaml`", path.display()));
    }
    let mut sources = SourceMap::default();
    let mut diags = Diagnostics::default();
    let reg = registry::load(path, &mut sources, &mut diags);
    // The registry file is the first source read, whether or not it parsed.
    if let Some((id, _)) = sources.files().next() {
        registry::secrets::check(id, &sources, &mut diags);
    }
    let analysis = reg.map(|reg| {
        registry::confine::check_outputs(&reg, &mut diags);
        analyze::analyze(&reg, &sources, &mut diags)
    });
    diags.sort();
    Ok(Loaded {
        sources,
        diags,
        analysis,
    })
}

fn print_diags(l: &Loaded, format: DiagFormat, out: &mut impl Write) -> std::io::Result<()> {
    match format {
        DiagFormat::Text => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            for d in &l.diags.items {
                eprint!("{}", render::text(d, &l.sources, color));
            }
            let errors = l
                .diags
                .items
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            let warnings = l.diags.items.len() - errors;
            if errors + warnings > 0 {
                eprintln!("{errors} error(s), {warnings} warning(s)");
            }
        }
        DiagFormat::Json => {
            let v: Vec<_> = l
                .diags
                .items
                .iter()
                .map(|d| render::json(d, &l.sources))
                .collect();
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            )?;
        }
        DiagFormat::Github => {
            for d in &l.diags.items {
                writeln!(out, "{}", render::github(d, &l.sources))?;
            }
        }
    }
    Ok(())
}

fn exit_for(diags: &Diagnostics) -> ExitCode {
    if diags.items.iter().any(|d| d.code == Code::Io) {
        ExitCode::from(2)
    } else if diags.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn changelog(
    config: &Option<PathBuf>,
    range: (Option<String>, Option<String>, Option<String>),
    format: ChangelogFormat,
    template: Option<PathBuf>,
    rules_url: &str,
    out: &mut impl Write,
) -> Result<ExitCode, String> {
    use sqlpact::changelog;
    use sqlpact::compat::baseline;
    let path = config_path(config)?;
    let (from, to, tags) = range;
    let names: Vec<String> = match (from, tags) {
        (Some(from), _) => vec![from, to.unwrap_or_default()],
        (None, Some(glob)) => changelog::tags(&path, &glob)?,
        (None, None) => {
            return Err("no versions named\n  help: `sqlpact changelog --tags 'v*'`, or `--from v1.0.0 [--to v1.1.0]`".into())
        }
    };
    // Each revision is written to a private directory, kept until the end.
    let mut held = Vec::new();
    let mut paths = Vec::new();
    let mut resolver = baseline::Resolver::default();
    for name in names {
        if name.is_empty() {
            paths.push(("working tree".to_owned(), path.clone()));
            continue;
        }
        let b = resolver.resolve(&name, &path)?;
        paths.push((name, b.registry.clone()));
        held.push(b);
    }
    let c = changelog::build(&paths)?;
    let text = match (template, format) {
        (Some(t), _) => {
            let src = std::fs::read_to_string(&t)
                .map_err(|e| format!("cannot read the template `{}`: {e}", t.display()))?;
            let mut h = handlebars::Handlebars::new();
            h.set_strict_mode(true);
            h.register_escape_fn(handlebars::no_escape);
            h.render_template(&src, &c)
                .map_err(|e| format!("the template `{}` fails: {e}", t.display()))?
        }
        (None, ChangelogFormat::Markdown) => changelog::markdown(&c, rules_url),
        (None, ChangelogFormat::Json) => changelog::json(&c),
        (None, ChangelogFormat::Html) => changelog::html(&c, rules_url),
    };
    write!(out, "{text}").map_err(|e| format!("cannot write output: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn compat(
    config: &Option<PathBuf>,
    (against, transitive): (Option<String>, Option<String>),
    mode: Option<sqlpact::compat::Mode>,
    (format, rules_url): (CompatFormat, &str),
    fail_on: sqlpact::compat::Level,
    out: &mut impl Write,
) -> Result<ExitCode, String> {
    use sqlpact::compat::{self, report};
    let path = config_path(config)?;
    let (label, outcome, mode) = match (against, transitive) {
        (Some(against), _) => {
            let base = compat::baseline::resolve(&against, &path)?;
            let outcome = compat::run_gate(&base.registry, &path, &against, mode)?;
            (against, outcome.0, outcome.1)
        }
        (None, Some(glob)) => {
            let tags = sqlpact::changelog::tags(&path, &glob)?;
            if tags.is_empty() {
                return Err(format!("no tag matches `{glob}`\n  help: `git tag --list '{glob}'` shows none; in a shallow CI clone, fetch the tags first (`git fetch --tags`)"));
            }
            let mut resolver = compat::baseline::Resolver::default();
            let mut held = Vec::new();
            for t in &tags {
                held.push(resolver.resolve(t, &path)?);
            }
            let baselines: Vec<(String, PathBuf)> = tags
                .iter()
                .zip(&held)
                .map(|(t, b)| (t.clone(), b.registry.clone()))
                .collect();
            let (outcome, mode) = compat::run_transitive(&baselines, &path, mode)?;
            (
                format!("{} tags matching `{glob}`", tags.len()),
                outcome,
                mode,
            )
        }
        (None, None) => {
            return Err("nothing to compare against\n  help: name the baseline: `sqlpact compat --against main` (a git revision, a directory or a registry file), or every release tag: `--transitive 'v*'`".into());
        }
    };
    let findings = &outcome.findings;
    let r = report::Report {
        baseline: &label,
        mode,
        summary: report::Summary::of(findings),
        findings,
        suppressed: &outcome.suppressed,
        fail_on,
    };
    let dir = path.parent().unwrap_or(std::path::Path::new(""));
    let text = match format {
        CompatFormat::Text => report::text(&r),
        CompatFormat::Json => report::json(&r) + "\n",
        CompatFormat::Github => report::github(&r, dir),
        CompatFormat::Sarif => report::sarif(&r, dir, rules_url),
        CompatFormat::Junit => report::junit(&r),
        CompatFormat::Markdown => report::markdown(&r),
    };
    write!(out, "{text}").map_err(|e| format!("cannot write output: {e}"))?;
    Ok(if findings.iter().any(|f| f.level >= fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Clone, Copy, PartialEq)]
enum GenMode {
    Write,
    Check,
    Diff,
}

fn generate(
    config: &Option<PathBuf>,
    mode: GenMode,
    out: &mut impl Write,
) -> Result<ExitCode, String> {
    use sqlpact::generate::{self, Change};
    let path = config_path(config)?;
    let l = load(&path)?;
    if l.diags.has_errors() {
        print_diags(&l, DiagFormat::Text, out).map_err(|e| e.to_string())?;
        eprintln!("nothing generated: fix the errors above first");
        return Ok(exit_for(&l.diags));
    }
    print_diags(&l, DiagFormat::Text, out).map_err(|e| e.to_string())?;
    let Some(a) = &l.analysis else {
        return Ok(exit_for(&l.diags));
    };
    let root = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    if a.contract.outputs.go.is_none() && a.contract.outputs.rust.is_none() && a.wire.is_none() {
        return Err("the registry configures no outputs\n  help: add `outputs: { go: { out: gen/go, package: db } }` or `outputs: { rust: { out: gen/rust, crate: db } }` to sqlpact.yaml".into());
    }
    let outs = generate::plan(&a.contract, a.wire.as_ref(), &root).map_err(|e| e.to_string())?;
    let files: usize = outs.iter().map(|o| o.files.len()).sum();
    let changes = generate::compare(outs).map_err(|e| e.to_string())?;
    let result = match mode {
        GenMode::Write => {
            generate::apply(&changes).map_err(|e| e.to_string())?;
            for c in &changes {
                let what = match c.change {
                    Change::Create => "created",
                    Change::Update => "updated",
                    Change::Remove => "removed",
                };
                eprintln!("{what} {}", c.path);
            }
            eprintln!("{} file(s) generated, {} changed", files, changes.len());
            Ok(ExitCode::SUCCESS)
        }
        GenMode::Check | GenMode::Diff => {
            write!(out, "{}", generate::unified_diff(&changes)).map_err(|e| e.to_string())?;
            if changes.is_empty() {
                eprintln!("generated code is up to date");
                Ok(ExitCode::SUCCESS)
            } else if mode == GenMode::Check {
                eprintln!("{} generated file(s) are out of date\n  help: run `sqlpact generate` and commit the result", changes.len());
                Ok(ExitCode::from(1))
            } else {
                Ok(ExitCode::SUCCESS)
            }
        }
    };
    // The process ends next: freeing the analysis and the rendered files only costs time.
    std::mem::forget(changes);
    std::mem::forget(l);
    result
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let io = |e: std::io::Error| format!("cannot write output: {e}");
    match cli.command {
        Command::Check { format } => {
            let l = load(&config_path(&cli.config)?)?;
            print_diags(&l, format, &mut out).map_err(io)?;
            if format == DiagFormat::Text && !l.diags.has_errors() {
                if let Some(a) = &l.analysis {
                    eprintln!(
                        "ok: {} queries, {} tables",
                        a.contract.queries.len(),
                        a.contract.schema.tables.len()
                    );
                }
            }
            let code = exit_for(&l.diags);
            // The process ends next: tearing down thousands of analyzed
            // queries would only add time (about a tenth of the run).
            std::mem::forget(l);
            Ok(code)
        }
        Command::Inspect { format } => {
            let l = load(&config_path(&cli.config)?)?;
            if l.diags.has_errors() {
                print_diags(&l, DiagFormat::Text, &mut out).map_err(io)?;
                return Ok(exit_for(&l.diags));
            }
            let Some(a) = &l.analysis else {
                return Ok(exit_for(&l.diags));
            };
            match format {
                ModelFormat::Json => writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&a.contract).map_err(|e| e.to_string())?
                )
                .map_err(io)?,
                ModelFormat::Text => {
                    write!(out, "{}", present::inspect_text(&a.contract)).map_err(io)?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { query, format } => {
            let l = load(&config_path(&cli.config)?)?;
            let Some(a) = &l.analysis else {
                print_diags(&l, DiagFormat::Text, &mut out).map_err(io)?;
                return Ok(exit_for(&l.diags));
            };
            match a.contract.queries.iter().find(|q| q.name == query) {
                Some(q) => {
                    match format {
                        ModelFormat::Text => {
                            write!(out, "{}", present::explain_text(q)).map_err(io)?
                        }
                        ModelFormat::Json => writeln!(
                            out,
                            "{}",
                            serde_json::to_string_pretty(q).map_err(|e| e.to_string())?
                        )
                        .map_err(io)?,
                    }
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    print_diags(&l, DiagFormat::Text, &mut out).map_err(io)?;
                    let names = a.contract.queries.iter().map(|q| q.name.as_str());
                    let hint = sqlpact::diag::did_you_mean(&query, names).map_or_else(
                        || "run `sqlpact inspect --format text` to list the queries".to_owned(),
                        |s| format!("did you mean `{s}`?"),
                    );
                    eprintln!("error: no analyzed query is named `{query}`\n  help: {hint}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Verify {
            database_url,
            database_url_file,
            format,
        } => {
            if database_url
                .as_deref()
                .is_some_and(|u| !registry::secrets::find(u).is_empty())
            {
                eprintln!("warning: the password in --database-url is visible to every user of this machine and kept in shell history\n  help: set DATABASE_URL, or put the URL in a file and pass --database-url-file");
            }
            let from_file = match database_url_file {
                Some(p) => Some(
                    std::fs::read_to_string(&p)
                        .map(|t| t.trim().to_owned())
                        .map_err(|e| {
                            format!("cannot read the database URL from `{}`: {e}", p.display())
                        })?,
                ),
                None => None,
            };
            let url = database_url
                .or(from_file)
                .or_else(|| std::env::var("DATABASE_URL").ok())
                .ok_or("no database to verify against\n  help: set DATABASE_URL, or pass --database-url-file PATH (a file holding postgres://user:password@host/db)")?;
            let mut l = load(&config_path(&cli.config)?)?;
            if l.diags.has_errors() {
                print_diags(&l, format, &mut out).map_err(io)?;
                return Ok(exit_for(&l.diags));
            }
            let Some(a) = &l.analysis else {
                return Ok(exit_for(&l.diags));
            };
            let report = sqlpact::verify::run(&url, &l.sources, a).map_err(|e| e.to_string())?;
            let checked = report.checked;
            l.diags.items.extend(report.diags.items);
            print_diags(&l, format, &mut out).map_err(io)?;
            if format == DiagFormat::Text && !l.diags.has_errors() {
                eprintln!("ok: {} queries prepared, {checked} parameters and columns agree with the server", a.contract.queries.len());
            }
            Ok(exit_for(&l.diags))
        }
        Command::Generate { check } => generate(
            &cli.config,
            if check {
                GenMode::Check
            } else {
                GenMode::Write
            },
            &mut out,
        ),
        Command::Diff => generate(&cli.config, GenMode::Diff, &mut out),
        Command::Init {
            from_sqlc,
            dir,
            force,
        } => {
            let (written, notes) = sqlpact::init::run(from_sqlc.as_deref(), dir.as_deref(), force)
                .map_err(|e| e.to_string())?;
            for n in notes {
                eprintln!("note: {n}");
            }
            eprintln!("wrote {}", written.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            writeln!(out, "{}", sqlpact::registry::json_schema()).map_err(io)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Compat {
            command: Some(CompatCommand::Rules { format }),
            ..
        } => {
            let rules = sqlpact::compat::rules::catalog();
            let text = match format {
                ModelFormat::Text => sqlpact::compat::report::rules_text(&rules),
                ModelFormat::Json => sqlpact::compat::report::rules_json(&rules) + "\n",
            };
            write!(out, "{text}").map_err(io)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Compat {
            against,
            transitive,
            mode,
            format,
            fail_on,
            rules_url,
            command: None,
        } => compat(
            &cli.config,
            (against, transitive),
            mode,
            (format, &rules_url),
            fail_on,
            &mut out,
        ),
        Command::Changelog {
            from,
            to,
            tags,
            format,
            template,
            rules_url,
        } => changelog(
            &cli.config,
            (from, to, tags),
            format,
            template,
            &rules_url,
            &mut out,
        ),
    }
}

/// The analyzer allocates many small, short-lived values; mimalloc makes
/// `check` about a third faster than the system allocator (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
