//! Diagnostics: what went wrong, where, and how to fix it.
//!
//! The core never prints and never stops at the first problem: every stage returns
//! what it could build plus a list of [`Diagnostic`]s. Rendering lives in
//! [`crate::render`]; only the CLI writes the result out.

use crate::source::{FileId, Span};

/// Whether a diagnostic fails the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $id:literal, $name:literal, $summary:literal;)*) => {
        /// Every diagnostic code sqlpact emits. Codes are stable: a code is never
        /// reused for a different problem.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant),* }

        impl Code {
            /// All codes, in catalog order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable identifier, e.g. `E401`.
            pub fn id(self) -> &'static str {
                match self { $(Code::$variant => $id),* }
            }

            /// The kebab-case name, e.g. `unknown-column`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name),* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary),* }
            }
        }
    };
}

codes! {
    Io = "E100", "io-error", "a file the registry names could not be read";
    YamlSyntax = "E101", "yaml-syntax", "the registry file is not valid YAML";
    RegistryShape = "E102", "invalid-registry", "a registry key is unknown, missing, or holds the wrong kind of value";
    YamlLimit = "E103", "yaml-limit", "the registry file exceeds a safety limit (size, aliases, nesting)";
    UnsupportedVersion = "E104", "unsupported-version", "the registry's `version` or `engine` is not one sqlpact reads";
    NoFiles = "E105", "no-files", "a schema or query path matches no file";
    FileTooLarge = "E106", "file-too-large", "an input file is larger than sqlpact reads";
    NotText = "E107", "not-text", "an input file is not UTF-8 text";
    InvalidValue = "E108", "invalid-value", "a registry value is malformed (duration, version, name, reference)";
    DuplicateQuery = "E109", "duplicate-query", "two queries have the same name";
    UnknownQueryRef = "E110", "unknown-query", "the registry refers to a query that does not exist";
    UnknownOverrideTarget = "E111", "unknown-override-target", "a type or nullability override names a table, column or type that does not exist";
    RowTypeMismatch = "E112", "row-type-mismatch", "queries declared to share a row type return different shapes";
    OutputOutside = "E113", "output-outside-project", "an output directory leads outside the project (an absolute path, `..`, a symbolic link)";
    SecretInRegistry = "E114", "secret-in-registry", "the registry file holds a password (connection strings come from the environment or a file)";
    TooManyQueries = "E115", "too-many-queries", "the registry holds more queries than sqlpact analyzes (100,000)";
    SqlSyntax = "E200", "sql-syntax", "a query is not valid SQL";
    MissingAnnotation = "E201", "missing-annotation", "SQL in a query file is not under a `-- name: Name :command` header";
    BadAnnotation = "E202", "bad-annotation", "a query header is malformed or names an unknown command";
    EmptyQuery = "E203", "empty-query", "a query header is followed by no SQL";
    MultipleStatements = "E204", "multiple-statements", "a query holds more than one SQL statement";
    UnsupportedStatement = "E205", "unsupported-statement", "a query is a kind of statement sqlpact does not generate code for";
    CommandMismatch = "E206", "command-mismatch", "the query's command does not fit what the statement returns";
    BadParameter = "E207", "bad-parameter", "a parameter is written wrongly or mixes naming styles";
    SqlTooDeep = "E208", "sql-too-deep", "an expression chains or nests more operators than sqlpact analyzes (1,000)";
    SchemaSyntax = "E300", "schema-syntax", "a schema statement is not valid SQL";
    SchemaUnknownTable = "E301", "schema-unknown-table", "a schema statement alters a table, type or view that does not exist";
    SchemaUnknownColumn = "E302", "schema-unknown-column", "a schema statement alters a column that does not exist";
    SchemaDuplicate = "E303", "schema-duplicate", "a schema statement creates something that already exists";
    SchemaUnknownType = "E304", "schema-unknown-type", "a column uses a type sqlpact does not know";
    SchemaUnsupported = "E305", "schema-unsupported", "a schema statement changes tables in a way sqlpact cannot follow";
    UnknownTable = "E400", "unknown-table", "a query names a table that is not in the schema";
    UnknownColumn = "E401", "unknown-column", "a query names a column that is not in scope";
    AmbiguousColumn = "E402", "ambiguous-column", "an unqualified column is in more than one table of the query";
    UntypedParameter = "E403", "untyped-parameter", "a parameter's type cannot be inferred";
    UntypedColumn = "E404", "untyped-column", "a result column's type cannot be inferred";
    ParameterConflict = "E405", "parameter-conflict", "one parameter is used with two different types";
    ArityMismatch = "E406", "arity-mismatch", "column and value counts disagree";
    UnknownFunction = "E407", "unknown-function", "a query calls a function sqlpact has no signature for";
    DuplicateColumn = "E408", "duplicate-column", "two result columns have the same name";
    BadEmbed = "E409", "bad-embed", "`sqlc.embed` names something that is not a table of the query";
    UnmappedType = "E410", "unmapped-type", "a type has no Go or Rust mapping";
    BadOptional = "E411", "bad-optional", "an optional parameter is not used in a filter";
    GeneratedColumn = "E412", "generated-column", "a query writes a value into a column PostgreSQL fills itself (GENERATED ALWAYS)";
    UngroupedColumn = "E413", "ungrouped-column", "a grouped or aggregated query reads a column it neither groups nor aggregates";
    SetReturningPlacement = "E414", "set-returning-placement", "a set-returning function stands where PostgreSQL refuses one (WHERE, CASE, an aggregate's arguments, ...)";
    VerifyRejected = "E500", "verify-rejected", "the server rejects a schema statement or query the analyzer accepted";
    VerifyMismatch = "E501", "verify-mismatch", "the server reports another type or nullability than the analyzer";
    WireLock = "E600", "wire-lock", "`sqlpact.lock` is not a valid lock (syntax, version, a number given twice)";
    WireType = "E601", "wire-type", "a value cannot travel on the wire (a nullable array, a type protobuf cannot carry)";
    WireName = "E602", "wire-name", "two things would get the same wire message or enum name";
    ProtoError = "E603", "proto-error", "a hand-written .proto file does not compile";
    WireSelection = "E604", "wire-selection", "a `wire.queries` entry is not a glob or names no query";
    SessionState = "W100", "session-state", "a query leaves state on its connection after it ends (a session-level advisory lock, a setting), which a pool hands to its next caller";
}

/// A secondary location, e.g. "first defined here".
#[derive(Clone, Debug)]
pub struct Related {
    pub span: Span,
    pub message: String,
}

/// One problem, located in a source file when it can be.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Option<Span>,
    /// Text under the caret.
    pub label: Option<String>,
    pub help: Option<String>,
    pub related: Vec<Related>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn at_opt(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            message: message.into(),
        });
        self
    }

    pub fn file(&self) -> Option<FileId> {
        self.span.as_ref().map(|s| s.file)
    }
}

/// Diagnostics collected by a stage.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Orders diagnostics by file and position so output is stable.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            let ka = a.span.as_ref().map(|s| (s.file, s.range.start));
            let kb = b.span.as_ref().map(|s| (s.file, s.range.start));
            ka.cmp(&kb).then(a.code.cmp(&b.code))
        });
    }
}

/// The closest candidate to `name`, for "did you mean" help; `None` if nothing is close.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_ids_and_names_are_unique() {
        let mut ids: Vec<_> = Code::ALL.iter().map(|c| c.id()).collect();
        let mut names: Vec<_> = Code::ALL.iter().map(|c| c.name()).collect();
        ids.sort();
        names.sort();
        let n = ids.len();
        ids.dedup();
        names.dedup();
        assert_eq!(ids.len(), n);
        assert_eq!(names.len(), n);
    }

    #[test]
    fn did_you_mean_finds_close_names_only() {
        let c = ["accounts", "transfers", "customers"];
        assert_eq!(did_you_mean("acounts", c), Some("accounts"));
        assert_eq!(did_you_mean("zzz", c), None);
    }
}
