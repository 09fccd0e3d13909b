//! Printing findings: text (rustc-style), JSON, GitHub annotations and Markdown.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{Finding, Level, Mode, Rule};
use crate::model::Source;

/// The result of one comparison, as printed and as JSON.
#[derive(Serialize)]
pub struct Report<'a> {
    /// The baseline as named on the command line.
    pub baseline: &'a str,
    pub mode: Mode,
    pub summary: Summary,
    pub findings: &'a [Finding],
}

#[derive(Serialize, Default)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Self {
        let mut s = Summary::default();
        for f in findings {
            match f.level {
                Level::Error => s.errors += 1,
                Level::Warning => s.warnings += 1,
                Level::Info => s.infos += 1,
            }
        }
        s
    }
}

fn at(s: &Source) -> String {
    format!("{}:{}:{}", s.file, s.line, s.column)
}

/// rustc-style: the finding, where the entity is now and where it was.
pub fn text(r: &Report<'_>) -> String {
    let mut out = String::new();
    for f in r.findings {
        let _ = writeln!(
            out,
            "{}[{}] {}: {}",
            f.level.as_str(),
            f.rule,
            f.name,
            f.message
        );
        if let Some(s) = &f.new_location {
            let _ = writeln!(out, "  --> {}", at(s));
        }
        if let Some(s) = &f.old_location {
            let _ = writeln!(out, "  --> {} (in {})", at(s), r.baseline);
        }
        if let Some(h) = &f.help {
            let _ = writeln!(out, "   = help: {h}");
        }
        let _ = writeln!(out);
    }
    let s = &r.summary;
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s), {} info against {} ({} compatibility)",
        s.errors,
        s.warnings,
        s.infos,
        r.baseline,
        match r.mode {
            Mode::Backward => "backward",
            Mode::Forward => "forward",
            Mode::Full => "full",
        }
    );
    out
}

pub fn json(r: &Report<'_>) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

/// GitHub workflow commands: one annotation per finding, on the file as the
/// repository names it (`registry_dir` joined with the registry-relative path).
pub fn github(r: &Report<'_>, registry_dir: &Path) -> String {
    let mut out = String::new();
    for f in r.findings {
        let cmd = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(s) = &f.new_location {
            let file = registry_dir.join(&s.file);
            props.push(format!("file={}", escape_prop(&file.to_string_lossy())));
            props.push(format!("line={}", s.line));
            props.push(format!("col={}", s.column));
        }
        props.push(format!(
            "title={}",
            escape_prop(&format!("{} {}", f.rule, f.name))
        ));
        let mut msg = f.message.clone();
        if let Some(h) = &f.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        let _ = writeln!(out, "::{cmd} {}::{}", props.join(","), escape_data(&msg));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_prop(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A Markdown table, for pull-request comments.
pub fn markdown(r: &Report<'_>) -> String {
    let s = &r.summary;
    let mut out = format!(
        "### sqlpact compat against `{}`\n\n{} error(s), {} warning(s), {} info\n\n",
        r.baseline, s.errors, s.warnings, s.infos
    );
    if r.findings.is_empty() {
        out.push_str("No changes found.\n");
        return out;
    }
    out.push_str("| level | rule | what changed | where |\n|---|---|---|---|\n");
    for f in r.findings {
        let place = f
            .new_location
            .as_ref()
            .or(f.old_location.as_ref())
            .map(at)
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | [{}](docs/rules/{}.md) `{}` | {} | {} |",
            f.level.as_str(),
            f.rule,
            f.rule,
            f.name,
            f.message.replace('|', "\\|"),
            place
        );
    }
    out
}

/// `sqlpact compat rules`: the catalog.
pub fn rules_text(rules: &[&Rule]) -> String {
    let mut out = String::new();
    for r in rules {
        let _ = writeln!(
            out,
            "{:<8} {:<32} {:<8} {:<8} {:<6} {:<6} {}",
            r.id,
            r.name,
            format!("{:?}", r.category).to_uppercase(),
            r.level.as_str(),
            format!("{:?}", r.side).to_lowercase(),
            format!("{:?}", r.bump).to_lowercase(),
            r.summary
        );
    }
    out
}

pub fn rules_json(rules: &[&Rule]) -> String {
    serde_json::to_string_pretty(rules).unwrap_or_default()
}

/// A rule's page under `docs/rules/`.
pub fn rule_doc(r: &Rule) -> String {
    format!(
        "# {} `{}`\n\n{}\n\n| category | default level | side | bump required |\n|---|---|---|---|\n| `{}` | {} | {} | {} |\n\n{}\n",
        r.id,
        r.name,
        r.summary,
        serde_json::to_value(r.category).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        r.level.as_str(),
        format!("{:?}", r.side).to_lowercase(),
        format!("{:?}", r.bump).to_lowercase(),
        r.doc
    )
}
