//! Printing findings: text (rustc-style), JSON, GitHub annotations, SARIF, JUnit XML
//! and Markdown.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{Finding, Level, Mode, Rule, Suppressed};
use crate::model::Source;

/// The result of one comparison, as printed and as JSON.
#[derive(Serialize)]
pub struct Report<'a> {
    /// The baseline as named on the command line.
    pub baseline: &'a str,
    pub mode: Mode,
    pub summary: Summary,
    pub findings: &'a [Finding],
    /// Findings `compat.ignore` accepted.
    pub suppressed: &'a [Suppressed],
    /// The level at which the command fails.
    #[serde(skip)]
    pub fail_on: Level,
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
    for x in r.suppressed {
        let _ = writeln!(
            out,
            "suppressed[{}] {}: {}\n   = reason: {}{}\n",
            x.finding.rule,
            x.finding.entity,
            x.finding.message,
            x.reason,
            x.expires
                .as_ref()
                .map_or_else(String::new, |d| format!(" (until {d})"))
        );
    }
    let s = &r.summary;
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s), {} info, {} suppressed against {} ({} compatibility)",
        s.errors,
        s.warnings,
        s.infos,
        r.suppressed.len(),
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

/// The file a location names, as the repository names it.
fn repo_path(registry_dir: &Path, s: &Source) -> String {
    registry_dir
        .join(&s.file)
        .to_string_lossy()
        .replace('\\', "/")
}

/// SARIF 2.1.0, for code-scanning services: one result per finding, suppressed ones
/// with their justification; the rules the results name, with their pages.
pub fn sarif(r: &Report<'_>, registry_dir: &Path, rules_url: &str) -> String {
    use serde_json::{json, Value};
    let all = super::rules::catalog();
    let mut used: Vec<&Rule> = Vec::new();
    let index_of = |id: &str, used: &mut Vec<&'static Rule>| -> Option<usize> {
        if let Some(i) = used.iter().position(|u| u.id == id) {
            return Some(i);
        }
        let rule = all.iter().find(|x| x.id == id)?;
        used.push(rule);
        Some(used.len() - 1)
    };
    let level = |l: Level| match l {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "note",
    };
    let mut results = Vec::new();
    let found = r.findings.iter().map(|f| (f, None));
    let accepted = r.suppressed.iter().map(|x| (&x.finding, Some(x)));
    for (f, suppressed) in found.chain(accepted) {
        let mut res = json!({
            "ruleId": f.rule,
            "level": level(f.level),
            "message": { "text": match &f.help {
                Some(h) => format!("{}\nhelp: {h}", f.message),
                None => f.message.clone(),
            } },
            "partialFingerprints": { "sqlpact/v1": f.fingerprint },
            "properties": { "entity": f.entity, "category": f.category, "bump": f.bump },
        });
        if let Some(i) = index_of(f.rule, &mut used) {
            res["ruleIndex"] = json!(i);
        }
        if let Some(s) = f.new_location.as_ref().or(f.old_location.as_ref()) {
            res["locations"] = json!([{ "physicalLocation": {
                "artifactLocation": { "uri": repo_path(registry_dir, s) },
                "region": { "startLine": s.line, "startColumn": s.column },
            } }]);
        }
        if let Some(x) = suppressed {
            res["suppressions"] = json!([{ "kind": "inSource", "justification": x.reason }]);
        }
        results.push(res);
    }
    let rules: Vec<Value> = used
        .iter()
        .map(|x| {
            json!({
                "id": x.id,
                "name": x.name,
                "shortDescription": { "text": x.summary },
                "fullDescription": { "text": x.doc },
                "helpUri": format!("{rules_url}{}.md", x.id),
                "defaultConfiguration": { "level": level(x.level) },
                "properties": { "category": x.category, "bump": x.bump },
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "sqlpact",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            } },
            "automationDetails": { "id": format!("sqlpact compat/{}", r.baseline) },
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// JUnit XML, for CI test reports: one test case per rule of the catalog, failed when
/// the rule found something at or above the failing level; findings below it and
/// suppressed ones are in the case's output.
pub fn junit(r: &Report<'_>) -> String {
    let rules = super::rules::catalog();
    let mut cases = String::new();
    let mut failures = 0;
    for rule in &rules {
        let mine = |f: &&Finding| f.rule == rule.id;
        let failing: Vec<&Finding> = r
            .findings
            .iter()
            .filter(mine)
            .filter(|f| f.level >= r.fail_on)
            .collect();
        let below: Vec<&Finding> = r
            .findings
            .iter()
            .filter(mine)
            .filter(|f| f.level < r.fail_on)
            .collect();
        let accepted: Vec<&Suppressed> = r
            .suppressed
            .iter()
            .filter(|x| x.finding.rule == rule.id)
            .collect();
        let _ = writeln!(
            cases,
            "    <testcase classname=\"sqlpact.compat\" name=\"{} {}\">",
            rule.id, rule.name
        );
        let line = |f: &Finding| {
            let place = f
                .new_location
                .as_ref()
                .or(f.old_location.as_ref())
                .map_or_else(String::new, |s| format!(" ({})", at(s)));
            format!("{}: {}{place}", f.level.as_str(), f.message)
        };
        if !failing.is_empty() {
            failures += 1;
            let text: Vec<String> = failing.iter().map(|f| line(f)).collect();
            let _ = writeln!(
                cases,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                xml(&format!(
                    "{} finding(s): {}",
                    failing.len(),
                    failing[0].message
                )),
                failing[0].level.as_str(),
                xml(&text.join("\n"))
            );
        }
        if !below.is_empty() || !accepted.is_empty() {
            let mut text: Vec<String> = below.iter().map(|f| line(f)).collect();
            text.extend(
                accepted
                    .iter()
                    .map(|x| format!("suppressed: {} (reason: {})", x.finding.message, x.reason)),
            );
            let _ = writeln!(
                cases,
                "      <system-out>{}</system-out>",
                xml(&text.join("\n"))
            );
        }
        cases.push_str("    </testcase>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sqlpact compat\" tests=\"{n}\" failures=\"{failures}\">\n  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n{cases}  </testsuite>\n</testsuites>\n",
        xml(&format!("sqlpact compat against {}", r.baseline)),
        n = rules.len(),
    )
}

/// Text for XML content and attribute values.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown table, for pull-request comments.
pub fn markdown(r: &Report<'_>) -> String {
    let s = &r.summary;
    let mut out = format!(
        "### sqlpact compat against `{}`\n\n{} error(s), {} warning(s), {} info\n\n",
        r.baseline, s.errors, s.warnings, s.infos
    );
    if r.findings.is_empty() && r.suppressed.is_empty() {
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
    for x in r.suppressed {
        let _ = writeln!(
            out,
            "| suppressed | [{}](docs/rules/{}.md) `{}` | {} (reason: {}) | |",
            x.finding.rule,
            x.finding.rule,
            x.finding.name,
            x.finding.message.replace('|', "\\|"),
            x.reason.replace('|', "\\|")
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
