//! `sqlpact verify` against a real PostgreSQL (DATABASE_URL, started by scripts/test.sh).

mod common;

use sqlpact::diag::Code;

fn database_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL",
    )
}

fn verify(registry: &std::path::Path) -> (sqlpact::verify::Report, common::Run) {
    let run = common::load(registry);
    assert!(
        !run.diags.has_errors(),
        "{} does not analyze",
        registry.display()
    );
    let a = run.analysis.as_ref().unwrap();
    let report = sqlpact::verify::run(&database_url(), &run.sources, a).expect("verify runs");
    (report, run)
}

#[test]
fn example_and_every_fixture_agree_with_the_server() {
    let mut registries = vec![common::root().join("contracts/sqlpact.yaml")];
    let dir = common::root().join("tests/fixtures/analyze");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    registries.extend(cases.into_iter().map(|c| c.join("sqlpact.yaml")));
    let mut total = 0;
    for r in registries {
        let (report, run) = verify(&r);
        let rendered: Vec<String> = report
            .diags
            .items
            .iter()
            .map(|d| sqlpact::render::text(d, &run.sources, false))
            .collect();
        assert!(
            report.diags.items.is_empty(),
            "{}:\n{}",
            r.display(),
            rendered.join("\n")
        );
        assert!(report.checked > 0);
        total += report.checked;
    }
    assert!(total > 500, "only {total} values compared");
}

#[test]
fn a_wrong_analysis_is_reported() {
    let run = common::load(
        &common::root().join("tests/fixtures/analyze/aggregates_empty_set/sqlpact.yaml"),
    );
    let mut a = run.analysis.unwrap();
    // Claim `n` is text and non-nullable `author_id` columns are NOT NULL: the server disagrees.
    let q = a
        .contract
        .queries
        .iter_mut()
        .find(|q| q.name == "PriceStats")
        .unwrap();
    q.columns[0].ty = "text".into();
    let g = a
        .contract
        .queries
        .iter_mut()
        .find(|q| q.name == "PriceStatsByAuthor")
        .unwrap();
    g.columns[0].nullable = false;
    let report = sqlpact::verify::run(&database_url(), &run.sources, &a).unwrap();
    let msgs: Vec<&str> = report
        .diags
        .items
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(report.diags.items.len(), 2, "{msgs:?}");
    assert!(report
        .diags
        .items
        .iter()
        .all(|d| d.code == Code::VerifyMismatch));
    assert!(
        msgs[0].contains("`n` is `text` to the analyzer but `int8` to the server"),
        "{msgs:?}"
    );
    assert!(
        msgs[1]
            .contains("`author_id` is NOT NULL to the analyzer but its table column is nullable"),
        "{msgs:?}"
    );
}

#[test]
fn a_query_the_server_rejects_is_reported() {
    let (report, _) = verify(&common::root().join("tests/fixtures/verify_rejected/sqlpact.yaml"));
    assert_eq!(report.diags.items.len(), 1);
    assert_eq!(report.diags.items[0].code, Code::VerifyRejected);
    assert!(
        report.diags.items[0].message.contains("42883"),
        "{}",
        report.diags.items[0].message
    );
}

#[test]
fn a_schema_statement_the_server_rejects_is_located() {
    // Each file is accepted by the analyzer and refused by the server: a child that
    // lacks a column of the parent it is to inherit from (no position from the
    // server: the statement's start), and a CHECK comparing an integer with text that
    // is no integer (the server's position).
    let cases = [
        (
            "CREATE TABLE p (id int8, x int4);\n-- the child\nCREATE TABLE c (id int8);\nALTER TABLE c INHERIT p;\n",
            "ALTER TABLE c INHERIT p",
            "42804",
        ),
        (
            "CREATE TABLE p (id int8);\nCREATE TABLE q (n int4 CHECK (n > 'abc'));\n",
            "'abc'",
            "22P02",
        ),
    ];
    for (schema, at, code) in cases {
        let dir = common::registry(schema, "-- name: Ids :many\nSELECT id FROM p;\n");
        let (report, _) = verify(&dir.path().join("sqlpact.yaml"));
        let d = &report.diags.items[0];
        assert_eq!(d.code, Code::VerifyRejected);
        assert!(
            d.message
                .starts_with("PostgreSQL rejects this schema statement:")
                && d.message.contains(code),
            "{}",
            d.message
        );
        let span = d.span.as_ref().expect("a location");
        assert_eq!(span.range.start, schema.find(at).unwrap(), "{}", d.message);
    }
}

#[test]
fn unreachable_server_is_a_clear_error() {
    let run =
        common::load(&common::root().join("tests/fixtures/analyze/coalesce_max/sqlpact.yaml"));
    let err = sqlpact::verify::run(
        "postgresql://nobody@127.0.0.1:1/none",
        &run.sources,
        run.analysis.as_ref().unwrap(),
    )
    .err()
    .expect("must fail");
    assert!(err.to_string().contains("cannot connect"), "{err}");
}

#[test]
fn tls_is_negotiated_and_checked_as_sslmode_says() {
    let run =
        common::load(&common::root().join("tests/fixtures/analyze/coalesce_max/sqlpact.yaml"));
    let a = run.analysis.as_ref().unwrap();
    let tls = std::path::PathBuf::from(std::env::var_os("SQLPACT_TEST_TLS_DIR").expect(
        "SQLPACT_TEST_TLS_DIR is not set: run the tests with scripts/test.sh, which makes the certificates",
    ));
    let url = database_url();
    // The test server's certificate names localhost.
    assert!(url.contains("@localhost:"), "{url}");
    let with = |params: &str| format!("{url}?{params}");
    let ca = tls.join("ca.pem").display().to_string();
    let other = tls.join("other-ca.pem").display().to_string();
    let report = sqlpact::verify::run(
        &with(&format!("sslmode=verify-full&sslrootcert={ca}")),
        &run.sources,
        a,
    )
    .expect("verify-full with the right authority");
    assert!(!report.diags.has_errors());
    let err = sqlpact::verify::run(
        &with(&format!("sslmode=verify-full&sslrootcert={other}")),
        &run.sources,
        a,
    )
    .err()
    .expect("another authority is refused");
    let msg = err.to_string();
    assert!(
        msg.contains("cannot connect") && msg.contains("UnknownIssuer"),
        "{msg}"
    );
    let err = sqlpact::verify::run(&with("sslmode=verify-ca"), &run.sources, a)
        .err()
        .expect("verify-ca without a root certificate is refused");
    assert!(err.to_string().contains("add sslrootcert="), "{err}");
    let plain = std::env::var("SQLPACT_TEST_NOTLS_URL").expect(
        "SQLPACT_TEST_NOTLS_URL is not set: run the tests with scripts/test.sh, which starts that server",
    );
    let err = sqlpact::verify::run(&format!("{plain}?sslmode=require"), &run.sources, a)
        .err()
        .expect("require refuses a server without TLS");
    assert!(err.to_string().contains("TLS"), "{err}");
}

/// The analyzer's NOT NULL claims against rows: every fixture over the shared
/// `schema.sql` runs its reads that take no parameters, first on empty tables (where
/// aggregates see no row), then on `seed.sql`'s rows (an author without books, a book
/// without an author or reviews, NULLs in the nullable columns); no column the analyzer
/// calls NOT NULL may come back NULL.
#[test]
fn not_null_columns_stay_non_null_on_real_rows() {
    let dir = common::root().join("tests/fixtures/analyze");
    let base = database_url();
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap();
    let name = format!("sqlpact_nulls_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin.batch_execute(&sql).unwrap();
    }
    let mut cfg: postgres::Config = base.parse().unwrap();
    cfg.dbname(&name);
    let mut db = cfg.connect(postgres::NoTls).unwrap();
    db.batch_execute(&std::fs::read_to_string(dir.join("schema.sql")).unwrap())
        .unwrap();

    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("sqlpact.yaml"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|y| y.contains("schema: [../schema.sql]")))
        .collect();
    cases.sort();
    let queries: Vec<(String, sqlpact::model::Query)> = cases
        .iter()
        .flat_map(|c| {
            let run = common::load(c);
            let fixture = c
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            run.analysis
                .unwrap()
                .contract
                .queries
                .into_iter()
                .filter(|q| q.params.is_empty() && q.read_only && !q.columns.is_empty())
                .map(move |q| (fixture.clone(), q))
        })
        .collect();
    assert!(queries.len() >= 30, "only {} queries", queries.len());

    let (mut checked, mut nulls, mut elems) = (0, 0, 0);
    for seeded in [false, true] {
        if seeded {
            db.batch_execute(&std::fs::read_to_string(dir.join("seed.sql")).unwrap())
                .unwrap();
        }
        for (fixture, q) in &queries {
            let msgs = db
                .simple_query(&q.sql)
                .unwrap_or_else(|e| panic!("{fixture} {}: {e}", q.name));
            for m in msgs {
                let postgres::SimpleQueryMessage::Row(row) = m else {
                    continue;
                };
                // A nullable embed (`sqlc.embed` on an outer join's nullable side) is
                // absent as a whole: its NOT NULL columns are all NULL, or none is.
                let absent = |c: &sqlpact::model::Column| {
                    let e = q.embeds.iter().find(|e| Some(&e.name) == c.embed.as_ref());
                    e.is_some_and(|e| {
                        let cols =
                            e.first_column as usize..(e.first_column + e.column_count) as usize;
                        e.nullable
                            && cols
                                .filter(|&j| !q.columns[j].nullable)
                                .all(|j| row.get(j).is_none())
                    })
                };
                for (i, c) in q.columns.iter().enumerate() {
                    let value = row.get(i);
                    assert!(
                        c.nullable || value.is_some() || absent(c),
                        "{fixture} {}: column `{}` is NOT NULL to the analyzer ({}) but NULL in a row{}",
                        q.name,
                        c.name,
                        c.nullable_reason.detail,
                        if seeded { " of seed.sql" } else { " over empty tables" }
                    );
                    checked += 1;
                    nulls += usize::from(value.is_none());
                    // An array the query builds (not a table's column, whose elements
                    // are taken as declared) holds a NULL only where the analyzer says.
                    if let Some(text) = value.filter(|_| {
                        c.ty.ends_with("[]") && !c.elem_nullable && c.table_column.is_none()
                    }) {
                        elems += 1;
                        assert!(
                            !has_null_element(text),
                            "{fixture} {}: column `{}` holds no NULL element to the analyzer, but {text} does{}",
                            q.name,
                            c.name,
                            if seeded { " in seed.sql" } else { "" }
                        );
                    }
                }
            }
        }
    }
    drop(db);
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
    // The rows reach the NULL cases: many values checked, NULLs among them.
    eprintln!(
        "{} queries, {checked} values, {nulls} NULL, {elems} built arrays",
        queries.len()
    );
    assert!(elems > 10, "{elems} built arrays");
    assert!(
        checked > 300 && nulls > 30,
        "{checked} values, {nulls} NULL"
    );
}

/// Whether an array's text form (`{a,NULL,"NULL",{b,NULL}}`) holds a NULL element: an
/// unquoted `NULL` between delimiters, at any depth.
fn has_null_element(text: &str) -> bool {
    let (mut quoted, mut escaped, mut was_quoted) = (false, false, false);
    let mut token = String::new();
    for ch in text.chars() {
        if escaped {
            escaped = false;
            token.push(ch);
        } else if quoted {
            match ch {
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => token.push(ch),
            }
        } else {
            match ch {
                '"' => {
                    quoted = true;
                    was_quoted = true;
                }
                '{' | '}' | ',' => {
                    if !was_quoted && token.trim().eq_ignore_ascii_case("NULL") {
                        return true;
                    }
                    token.clear();
                    was_quoted = false;
                }
                _ => token.push(ch),
            }
        }
    }
    false
}

#[test]
fn null_elements_are_found_in_array_text() {
    assert!(has_null_element("{NULL}"));
    assert!(has_null_element("{a,NULL}"));
    assert!(has_null_element("{{1,2},{3,NULL}}"));
    assert!(!has_null_element("{a,\"NULL\"}"));
    assert!(!has_null_element("{\"a,NULL\",b}"));
    assert!(!has_null_element("{nullish,\"x\\\"NULL\"}"));
    assert!(!has_null_element("{}"));
}
