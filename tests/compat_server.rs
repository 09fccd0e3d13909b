//! The schema-against-queries rules (SCH-*) checked against a real PostgreSQL
//! (DATABASE_URL, started by scripts/test.sh).
//!
//! For every compat fixture whose schema changes, the baseline's queries, as deployed
//! clients send them, are prepared against a database with the old schema and one with
//! the new schema. What the server observes must be exactly what the rules report:
//! - SCH-001: the query fails to prepare against the new schema;
//! - SCH-002: it prepares, but a parameter's type, or a column's name, type or
//!   NOT NULL (for plain table columns) differs from what it was;
//! - SCH-003: an INSERT that prepares and runs against the old schema fails with
//!   23502 (not_null_violation) against the new one.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use postgres::types::{Kind, Type};
use postgres::{Client, Config, NoTls};
use sqlpact::analyze::Analysis;
use sqlpact::compat::{self, Mode};
use sqlpact::model::Query;

fn config() -> Config {
    std::env::var("DATABASE_URL")
        .expect(
            "DATABASE_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL",
        )
        .parse()
        .expect("DATABASE_URL parses")
}

/// A database holding one registry's schema, dropped when it goes.
struct Scratch {
    admin: Client,
    name: String,
    client: Option<Client>,
}

impl Scratch {
    fn new(label: &str, run: &common::Run) -> Scratch {
        let config = config();
        let mut admin = config.connect(NoTls).expect("connects to DATABASE_URL");
        let name = format!("sqlpact_compat_{label}_{}", std::process::id()).to_lowercase();
        // One statement each: CREATE DATABASE cannot run inside the implicit
        // transaction of a multi-statement string.
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{name}\""),
            format!("CREATE DATABASE \"{name}\""),
        ] {
            admin.batch_execute(&sql).unwrap();
        }
        let mut cfg = config.clone();
        cfg.dbname(&name);
        let mut client = cfg.connect(NoTls).unwrap();
        let a = run.analysis.as_ref().unwrap();
        for s in &a.schema {
            let text = &run.sources.get(s.file).text[s.range.clone()];
            client
                .batch_execute(text)
                .unwrap_or_else(|e| panic!("{label}: the schema does not apply: {e}"));
        }
        Scratch {
            admin,
            name,
            client: Some(client),
        }
    }

    fn client(&mut self) -> &mut Client {
        self.client.as_mut().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop(self.client.take());
        let _ = self.admin.batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ));
    }
}

fn type_name(t: &Type) -> String {
    match t.kind() {
        Kind::Array(e) => format!("{}[]", type_name(e)),
        _ => t.name().to_owned(),
    }
}

/// What a deployed client sees of a prepared statement.
struct Shape {
    params: Vec<String>,
    /// Name, type, and NOT NULL where the column is a plain table column.
    columns: Vec<(String, String, Option<bool>)>,
}

fn describe(client: &mut Client, sql: &str) -> Result<Shape, postgres::Error> {
    let stmt = client.prepare(sql)?;
    let params = stmt.params().iter().map(type_name).collect();
    let mut columns = Vec::new();
    for c in stmt.columns() {
        let notnull = match (c.table_oid(), c.column_id()) {
            (Some(oid), Some(attnum)) if oid != 0 => client
                .query_opt(
                    "SELECT a.attnotnull FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid \
                     WHERE a.attrelid = $1 AND a.attnum = $2 AND r.relkind IN ('r', 'p')",
                    &[&oid, &attnum],
                )?
                .map(|r| r.get::<_, bool>(0)),
            _ => None,
        };
        columns.push((c.name().to_owned(), type_name(c.type_()), notnull));
    }
    Ok(Shape { params, columns })
}

/// The SCH-002 entities the server's two descriptions call for.
fn shape_changes(name: &str, q: &Query, old: &Shape, new: &Shape) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for ((p, a), b) in q.params.iter().zip(&old.params).zip(&new.params) {
        if a != b {
            out.insert(format!("query {name} schema param {}", p.name));
        }
    }
    if old.columns.len() != new.columns.len() {
        out.insert(format!("query {name} schema columns"));
        return out;
    }
    for (a, b) in old.columns.iter().zip(&new.columns) {
        let loosened = a.2 == Some(true) && b.2 == Some(false);
        if a.0 != b.0 || a.1 != b.1 || loosened {
            out.insert(format!("query {name} schema column {}", a.0));
        }
    }
    out
}

/// A value of `ty` as an untyped literal the server coerces to the parameter's type.
fn sample(a: &Analysis, ty: &str) -> String {
    let lit = match ty {
        "int2" | "int4" | "int8" | "numeric" | "float4" | "float8" => "1".to_owned(),
        "text" | "varchar" | "bpchar" | "citext" => "x".to_owned(),
        "bool" => "true".to_owned(),
        "uuid" => "00000000-0000-0000-0000-000000000001".to_owned(),
        "date" | "timestamp" | "timestamptz" => "2026-01-01".to_owned(),
        "json" | "jsonb" => "{}".to_owned(),
        "bytea" => "\\x00".to_owned(),
        t if t.ends_with("[]") => "{}".to_owned(),
        t => match a.catalog.enums.get(t) {
            Some(e) => e.values[0].clone(),
            None => panic!("no sample value for the type `{t}`: add one to tests/compat_server.rs"),
        },
    };
    format!("'{}'", lit.replace('\'', "''"))
}

/// Runs `q` with sample parameters in a transaction that is rolled back; the SQLSTATE
/// of the failure, if it fails.
fn execute(client: &mut Client, a: &Analysis, q: &Query) -> Option<String> {
    let args: Vec<String> = q.params.iter().map(|p| sample(a, &p.ty)).collect();
    let args = if args.is_empty() {
        String::new()
    } else {
        format!("({})", args.join(", "))
    };
    let script = format!(
        "BEGIN; PREPARE sqlpact_probe AS {}; EXECUTE sqlpact_probe{args}; ROLLBACK; DEALLOCATE sqlpact_probe",
        q.sql.trim_end().trim_end_matches(';')
    );
    let outcome = client.batch_execute(&script);
    client.batch_execute("ROLLBACK; DEALLOCATE ALL").unwrap();
    outcome.err().map(|e| {
        e.code()
            .map_or_else(|| e.to_string(), |c| c.code().to_owned())
    })
}

fn schema_text(run: &common::Run) -> String {
    let a = run.analysis.as_ref().unwrap();
    a.schema
        .iter()
        .map(|s| &run.sources.get(s.file).text[s.range.clone()])
        .collect()
}

/// What the server observed of one fixture, per rule.
#[derive(Default)]
struct Observed {
    rules: BTreeMap<&'static str, BTreeSet<String>>,
}

fn observe(id: &str, dir: &Path) -> (Observed, Observed) {
    let old_run = common::load(&dir.join("old/sqlpact.yaml"));
    let new_run = common::load(&dir.join("new/sqlpact.yaml"));
    let old_a = old_run.analysis.as_ref().unwrap();
    let findings = compat::run(
        &dir.join("old/sqlpact.yaml"),
        &dir.join("new/sqlpact.yaml"),
        "old",
        Mode::Backward,
    )
    .unwrap();
    let mut reported = Observed::default();
    for f in findings.iter().filter(|f| f.rule.starts_with("SCH-")) {
        // A nullability change of a computed column is beyond what the server can
        // describe: the analyzer's word stands there.
        if f.message.ends_with("NULL where it never was") {
            let q = f.entity.split(' ').nth(1).unwrap();
            let col = f.entity.rsplit(' ').next().unwrap();
            let plain = old_a
                .contract
                .queries
                .iter()
                .find(|x| x.name == q)
                .and_then(|x| x.columns.iter().find(|c| c.name == col))
                .is_some_and(|c| c.table_column.is_some());
            if !plain {
                continue;
            }
        }
        let entity = if f.rule == "SCH-002" {
            f.entity.clone()
        } else {
            // SCH-001 and SCH-003 are checked per query.
            f.entity.split(' ').take(2).collect::<Vec<_>>().join(" ")
        };
        reported.rules.entry(f.rule).or_default().insert(entity);
    }

    let mut old_db = Scratch::new(&format!("{id}_old").replace('-', "_"), &old_run);
    let mut new_db = Scratch::new(&format!("{id}_new").replace('-', "_"), &new_run);
    let mut seen = Observed::default();
    for q in &old_a.contract.queries {
        let name = &q.name;
        let before = describe(old_db.client(), &q.sql).unwrap_or_else(|e| {
            panic!("{id}: the baseline query `{name}` fails against its own schema: {e}")
        });
        let after = match describe(new_db.client(), &q.sql) {
            Ok(s) => s,
            Err(_) => {
                seen.rules
                    .entry("SCH-001")
                    .or_default()
                    .insert(format!("query {name}"));
                continue;
            }
        };
        let changes = shape_changes(name, q, &before, &after);
        if !changes.is_empty() {
            seen.rules.entry("SCH-002").or_default().extend(changes);
        }
        // An INSERT, or a MERGE whose INSERT runs on the empty tables.
        if matches!(q.statement.as_str(), "insert" | "merge") {
            if let Some(code) = execute(old_db.client(), old_a, q) {
                panic!("{id}: the baseline INSERT `{name}` fails against its own schema: {code}");
            }
            match execute(new_db.client(), old_a, q).as_deref() {
                None => {}
                Some("23502") => {
                    seen.rules
                        .entry("SCH-003")
                        .or_default()
                        .insert(format!("query {name}"));
                }
                Some(other) => panic!("{id}: the baseline INSERT `{name}` fails with {other}"),
            }
        }
    }
    (reported, seen)
}

#[test]
fn schema_rules_agree_with_the_server() {
    let dir = common::root().join("tests/fixtures/compat");
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    let mut checked = Vec::new();
    let mut confirmed: BTreeMap<&str, usize> = BTreeMap::new();
    for id in ids {
        let d = dir.join(&id);
        let old = common::load(&d.join("old/sqlpact.yaml"));
        let new = common::load(&d.join("new/sqlpact.yaml"));
        if schema_text(&old) == schema_text(&new) {
            assert!(!id.starts_with("SCH-"), "{id}: its schema does not change");
            continue;
        }
        let (reported, seen) = observe(&id, &d);
        for rule in ["SCH-001", "SCH-002", "SCH-003"] {
            let r = reported.rules.get(rule).cloned().unwrap_or_default();
            let s = seen.rules.get(rule).cloned().unwrap_or_default();
            assert_eq!(
                r, s,
                "{id}: {rule} reports (left) other than what the server observes (right)"
            );
            *confirmed.entry(rule).or_default() += s.len();
        }
        checked.push(id);
    }
    // Every schema rule's fixture is among them, and each rule was seen to fire.
    for rule in ["SCH-001", "SCH-002", "SCH-003"] {
        assert!(checked.iter().any(|c| c == rule), "{rule} was not checked");
        assert!(confirmed[rule] > 0, "the server never confirmed {rule}");
    }
    assert!(checked.len() >= 8, "only {checked:?} change their schema");
}
