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
