//! `sqlpact verify`: the analyzer checked against a real PostgreSQL server.
//!
//! Applies the schema to a scratch database, prepares every query there, and compares
//! the server's parameter and column types, and the NOT NULL of plain table columns,
//! with the resolved contract. The scratch database is dropped afterwards.

use std::collections::HashMap;

use postgres::types::{Kind, Type};
use postgres::{Client, Config, NoTls};

use crate::analyze::Analysis;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::ReasonSource;
use crate::source::{SourceMap, Span};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the database URL is not valid: {0}")]
    Url(String),
    #[error("cannot connect to PostgreSQL: {0}\n  help: check the database URL (DATABASE_URL, --database-url-file) and that the server is running")]
    Connect(String),
    #[error(
        "cannot create a scratch database: {0}\n  help: the user needs the CREATEDB privilege"
    )]
    Scratch(String),
}

/// What a run found.
pub struct Report {
    /// Parameters and columns compared.
    pub checked: usize,
    pub diags: Diagnostics,
}

/// `pg_type`'s spelling of a server type: `int4`, `int4[]`, `public.account_status`.
fn type_name(t: &Type) -> String {
    match t.kind() {
        Kind::Array(e) => format!("{}[]", type_name(e)),
        _ if t.schema() == "pg_catalog" => t.name().to_owned(),
        _ => format!("{}.{}", t.schema(), t.name()),
    }
}

fn span_for(sources: &SourceMap, file: &str, line: u32, column: u32) -> Option<Span> {
    sources
        .files()
        .find(|(_, f)| f.name == file)
        .map(|(id, f)| Span::point(id, f.offset_of(line, column)))
}

/// `msg` without the passwords of `url` (nor any other it shows): what reaches the user.
fn redact(msg: String, url: &str) -> String {
    let mut msg = crate::registry::secrets::mask(&msg).into_owned();
    for r in crate::registry::secrets::find(url) {
        msg = msg.replace(&url[r], "***");
    }
    msg
}

/// [`run_unredacted`], every error message without the URL's password.
pub fn run(url: &str, sources: &SourceMap, a: &Analysis) -> Result<Report, VerifyError> {
    run_unredacted(url, sources, a).map_err(|e| match e {
        VerifyError::Url(m) => VerifyError::Url(redact(m, url)),
        VerifyError::Connect(m) => VerifyError::Connect(redact(m, url)),
        VerifyError::Scratch(m) => VerifyError::Scratch(redact(m, url)),
    })
}

fn run_unredacted(url: &str, sources: &SourceMap, a: &Analysis) -> Result<Report, VerifyError> {
    let (rest, tls) = sqlpact_runtime::tls::split(url).map_err(VerifyError::Url)?;
    let config: Config = rest
        .parse()
        .map_err(|e: postgres::Error| VerifyError::Url(sqlpact_runtime::error_chain(&e)))?;
    let connector = tls.connector().map_err(VerifyError::Url)?;
    let connect = |cfg: &Config| {
        match &connector {
            Some(c) => cfg.connect(c.clone()),
            None => cfg.connect(NoTls),
        }
        .map_err(|e| VerifyError::Connect(sqlpact_runtime::error_chain(&e)))
    };
    let mut admin = connect(&config)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let scratch = format!("sqlpact_verify_{}_{nanos}", std::process::id());
    admin
        .batch_execute(&format!("CREATE DATABASE \"{scratch}\""))
        .map_err(|e| VerifyError::Scratch(sqlpact_runtime::error_chain(&e)))?;
    let result = (|| {
        let mut cfg = config.clone();
        cfg.dbname(&scratch);
        let mut client = connect(&cfg)?;
        Ok(compare(&mut client, sources, a))
    })();
    let _ = admin.batch_execute(&format!(
        "DROP DATABASE IF EXISTS \"{scratch}\" WITH (FORCE)"
    ));
    result
}

fn compare(client: &mut Client, sources: &SourceMap, a: &Analysis) -> Report {
    let mut diags = Diagnostics::default();
    let mut checked = 0;
    for s in &a.schema {
        let f = sources.get(s.file);
        let section = &f.text[s.range.clone()];
        if let Err(e) = client.batch_execute(section) {
            // The file ran as one transaction, undone whole: its statements are run
            // again one by one, to point at the one refused, and in it at where the
            // server says.
            let (what, at) = match rejected_statement(client, section, &e) {
                Some(at) => ("statement", s.range.start + at),
                None => ("file", s.range.start),
            };
            diags.push(
                Diagnostic::error(
                    Code::VerifyRejected,
                    format!("PostgreSQL rejects this schema {what}: {}", db_message(&e)),
                )
                .at(Span::point(s.file, at))
                .help("fix the migration so it applies to an empty database"),
            );
            return Report { checked, diags };
        }
    }
    let mut notnull: HashMap<(u32, i16), bool> = HashMap::new();
    for q in &a.contract.queries {
        let at = span_for(sources, &q.source.file, q.source.line, q.source.column);
        let stmt = match client.prepare(&q.sql) {
            Ok(s) => s,
            Err(e) => {
                diags.push(
                    Diagnostic::error(Code::VerifyRejected, format!("PostgreSQL rejects query `{}`: {}", q.name, db_message(&e)))
                        .at_opt(at)
                        .help("the analyzer accepted a query the server does not; fix the query, and report the analyzer gap"),
                );
                continue;
            }
        };
        let mut mismatch = |what: String| {
            diags.push(
                Diagnostic::error(Code::VerifyMismatch, format!("query `{}`: {what}", q.name))
                    .at_opt(at.clone())
                    .help("add a cast in the query, or a type/nullability override in sqlpact.yaml, and report the analyzer gap"),
            );
        };
        for (p, server) in q.params.iter().zip(stmt.params()) {
            checked += 1;
            let ours = base_name(a, &p.ty);
            let theirs = base_name(a, &type_name(server));
            if ours != theirs {
                mismatch(format!(
                    "parameter ${} `{}` is `{}` to the analyzer but `{}` to the server",
                    p.position,
                    p.name,
                    p.ty,
                    type_name(server)
                ));
            }
        }
        if q.params.len() != stmt.params().len() {
            mismatch(format!(
                "{} parameters to the analyzer, {} to the server",
                q.params.len(),
                stmt.params().len()
            ));
        }
        // The analyzer leaves out `void` values, which a command reading no rows only
        // runs (and one reading rows is refused for).
        let server_columns: Vec<_> = stmt
            .columns()
            .iter()
            .filter(|c| type_name(c.type_()) != "void")
            .collect();
        if q.columns.len() != server_columns.len() {
            mismatch(format!(
                "{} columns to the analyzer, {} to the server",
                q.columns.len(),
                server_columns.len()
            ));
            continue;
        }
        for (c, server) in q.columns.iter().zip(server_columns) {
            checked += 1;
            let ours = base_name(a, &c.ty);
            let theirs = base_name(a, &type_name(server.type_()));
            if ours != theirs {
                mismatch(format!(
                    "column `{}` is `{}` to the analyzer but `{}` to the server",
                    c.name,
                    c.ty,
                    type_name(server.type_())
                ));
            }
            if server.name() != c.name {
                mismatch(format!(
                    "column {} is named `{}` by the analyzer but `{}` by the server",
                    c.name,
                    c.name,
                    server.name()
                ));
            }
            // Nullability is compared where both sides speak of one plain table column.
            let (Some(oid), Some(attnum)) = (server.table_oid(), server.column_id()) else {
                continue;
            };
            if oid == 0 || c.nullable_reason.source != ReasonSource::TableConstraint {
                continue;
            }
            let is_view = c.table_column.as_ref().is_some_and(|tc| {
                let rel = tc.rsplit_once('.').map_or(&**tc, |(r, _)| r);
                a.catalog
                    .relation(rel)
                    .is_some_and(|r| r.kind == crate::catalog::RelKind::View)
            });
            if is_view {
                continue;
            }
            let server_notnull = *notnull.entry((oid, attnum)).or_insert_with(|| {
                client
                    .query_one(
                        "SELECT attnotnull FROM pg_attribute WHERE attrelid = $1 AND attnum = $2",
                        &[&oid, &attnum],
                    )
                    .map(|r| r.get::<_, bool>(0))
                    .unwrap_or(false)
            });
            if server_notnull == c.nullable {
                mismatch(format!(
                    "column `{}` is {} to the analyzer but its table column is {} on the server",
                    c.name,
                    if c.nullable { "nullable" } else { "NOT NULL" },
                    if server_notnull {
                        "NOT NULL"
                    } else {
                        "nullable"
                    }
                ));
            }
        }
    }
    Report { checked, diags }
}

/// Looks through domains: the server describes a domain-typed result by its base type.
/// An array of any dimensions is one type to the server (`int4[][]` is `int4[]`).
fn base_name(a: &Analysis, t: &str) -> String {
    let mut cur = t.trim_end_matches("[]").to_owned();
    let mut array = cur.len() < t.len();
    for _ in 0..16 {
        match a.catalog.domains.get(&cur) {
            Some(d) => {
                let base = d.base.to_string();
                cur = base.trim_end_matches("[]").to_owned();
                array |= cur.len() < base.len();
            }
            None => break,
        }
    }
    if array {
        cur.push_str("[]");
    }
    cur
}

/// Where in `text` the statement that fails as `err` did is (the server's position in
/// it, or its start), running `text`'s statements one by one until one fails; `None`
/// when the first to fail fails otherwise (a statement a COMMIT in the file kept, one
/// that runs only outside a transaction).
fn rejected_statement(client: &mut Client, text: &str, err: &postgres::Error) -> Option<usize> {
    let first = err.as_db_error()?;
    // A file that opened a transaction left it failed.
    let _ = client.batch_execute("ROLLBACK");
    for r in crate::sqltext::split_statements(text) {
        let r = crate::sqltext::strip_leading_comments(text, r);
        let stmt = &text[r.clone()];
        let Err(e) = client.batch_execute(stmt) else {
            continue;
        };
        // Another error (a statement a COMMIT earlier in the file kept, say): not the
        // one to point at.
        let db = e.as_db_error()?;
        if (db.code(), db.message()) != (first.code(), first.message()) {
            return None;
        }
        // The server counts characters from 1; one past the end is the end of input.
        let offset = match db.position() {
            Some(postgres::error::ErrorPosition::Original(p)) => stmt
                .char_indices()
                .nth((*p as usize).saturating_sub(1))
                .map_or(stmt.len(), |(i, _)| i),
            _ => 0,
        };
        return Some(r.start + offset);
    }
    None
}

fn db_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn messages_lose_the_password_of_the_url() {
        let url = "host=db user=app password=PlantedS3cret";
        let msg = "server said: bad startup packet near PlantedS3cret".to_owned();
        assert_eq!(redact(msg, url), "server said: bad startup packet near ***");
        let url = "postgres://app:PlantedS3cret@db/app";
        let msg = format!("cannot reach {url}");
        let out = redact(msg, url);
        assert!(
            !out.contains("PlantedS3cret") && out.contains("@db/app"),
            "{out}"
        );
    }
}
