//! Renders diagnostics for people (rustc-style, via miette) and for machines (JSON,
//! GitHub annotations). The same data in every format.

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report,
};
use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::source::SourceMap;

/// One diagnostic as rustc would print it, with the source line and a caret.
pub fn text(d: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let mut md = MietteDiagnostic::new(d.message.clone())
        .with_code(d.code.id())
        .with_severity(match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        });
    if let Some(h) = &d.help {
        md = md.with_help(h.clone());
    }
    let mut out = String::new();
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let report = match &d.span {
        Some(span) => {
            let file = sources.get(span.file);
            let len = span.range.end.saturating_sub(span.range.start);
            md = md.with_label(LabeledSpan::new(d.label.clone(), span.range.start, len));
            let mut labels = Vec::new();
            let mut notes = Vec::new();
            for r in &d.related {
                if r.span.file == span.file {
                    labels.push(LabeledSpan::new(
                        Some(r.message.clone()),
                        r.span.range.start,
                        r.span.range.end - r.span.range.start,
                    ));
                } else {
                    let f = sources.get(r.span.file);
                    let lc = f.line_col(r.span.range.start);
                    notes.push(format!(
                        "note: {} at {}:{}:{}",
                        r.message, f.name, lc.line, lc.column
                    ));
                }
            }
            let shown: Vec<std::ops::Range<usize>> = std::iter::once(span.range.clone())
                .chain(labels.iter().map(|l| l.offset()..l.offset() + l.len()))
                .collect();
            md = md.and_labels(labels);
            let _ = &notes;
            let report = Report::new(md).with_source_code(NamedSource::new(
                file.name.clone(),
                // A password near the caret is not repeated on screen or in CI logs.
                crate::registry::secrets::mask_near(&file.text, &shown).into_owned(),
            ));
            for n in notes {
                out.push_str(&n);
                out.push('\n');
            }
            report
        }
        None => Report::new(md),
    };
    let mut s = String::new();
    if handler.render_report(&mut s, report.as_ref()).is_err() {
        s = format!("{}: {}\n", d.code.id(), d.message);
    }
    s.push_str(&out);
    s
}

#[derive(Serialize)]
pub struct JsonLocation {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

#[derive(Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<JsonLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<JsonRelated>,
}

#[derive(Serialize)]
pub struct JsonRelated {
    pub message: String,
    pub location: JsonLocation,
}

fn location(span: &crate::source::Span, sources: &SourceMap) -> JsonLocation {
    let f = sources.get(span.file);
    let a = f.line_col(span.range.start);
    let b = f.line_col(span.range.end);
    JsonLocation {
        file: f.name.clone(),
        line: a.line,
        column: a.column,
        end_line: b.line,
        end_column: b.column,
    }
}

pub fn json(d: &Diagnostic, sources: &SourceMap) -> JsonDiagnostic {
    JsonDiagnostic {
        code: d.code.id(),
        name: d.code.name(),
        severity: d.severity,
        message: d.message.clone(),
        location: d.span.as_ref().map(|s| location(s, sources)),
        label: d.label.clone(),
        help: d.help.clone(),
        related: d
            .related
            .iter()
            .map(|r| JsonRelated {
                message: r.message.clone(),
                location: location(&r.span, sources),
            })
            .collect(),
    }
}

/// A GitHub Actions workflow command, so CI shows the diagnostic on the pull request.
pub fn github(d: &Diagnostic, sources: &SourceMap) -> String {
    let kind = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut msg = d.message.clone();
    if let Some(h) = &d.help {
        msg.push_str(" (help: ");
        msg.push_str(h);
        msg.push(')');
    }
    let msg = msg
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    match &d.span {
        Some(s) => {
            let l = location(s, sources);
            format!(
                "::{kind} file={},line={},col={},title={}::{msg}",
                l.file,
                l.line,
                l.column,
                d.code.id()
            )
        }
        None => format!("::{kind} title={}::{msg}", d.code.id()),
    }
}
