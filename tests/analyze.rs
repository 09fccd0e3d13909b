//! The analyzer on one fixture directory per case (tests/fixtures/analyze/<case>/):
//! explicit assertions for the cases other generators get wrong, and a snapshot of
//! `explain` for every case.

mod common;

use common::{clean, col, param, query, settings};
use sqlpact::model::ReasonSource;

fn fixture(case: &str) -> sqlpact::analyze::Analysis {
    clean(
        &common::root()
            .join("tests/fixtures/analyze")
            .join(case)
            .join("sqlpact.yaml"),
    )
}

/// A registry in a temporary directory: `schema.sql`, `queries.sql`, and `extra` lines
/// appended to its `sqlpact.yaml`.
fn scratch_registry(extra: &str, schema: &str, queries: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "version: 1\ncontract: {{ name: scratch, version: 0.1.0 }}\nengine: postgresql\nschema: [schema.sql]\nqueries: [queries.sql]\n{extra}"
    );
    for (file, text) in [
        ("sqlpact.yaml", yaml.as_str()),
        ("schema.sql", schema),
        ("queries.sql", queries),
    ] {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    dir
}

#[test]
fn left_joined_subquery_columns_are_nullable() {
    let a = fixture("left_join_subquery");
    let q = query(&a, "AuthorsWithBookCounts");
    assert!(!col(q, "name").nullable);
    // count(*) is never NULL inside the subquery, but the LEFT JOIN makes it so outside.
    assert!(col(q, "book_count").nullable);
    assert_eq!(
        col(q, "book_count").nullable_reason.source,
        ReasonSource::JoinSide
    );
    assert!(col(q, "max_price").nullable);
}

#[test]
fn embed_on_the_nullable_side_is_a_nullable_struct() {
    let a = fixture("embed_nullable_side");
    let q = query(&a, "AuthorsWithBooks");
    assert_eq!(q.embeds.len(), 2);
    assert!(!q.embeds[0].nullable, "authors is the preserved side");
    assert!(
        q.embeds[1].nullable,
        "books is on the nullable side of the LEFT JOIN"
    );
    assert_eq!(q.embeds[1].table, "public.books");
    // Inside the struct, columns keep their table's nullability.
    let title = &q.columns[(q.embeds[1].first_column as usize)..]
        .iter()
        .find(|c| c.name == "title")
        .unwrap();
    assert!(!title.nullable);
    assert_eq!(title.embed.as_deref(), Some("b"));
}

#[test]
fn scalar_subquery_is_nullable_and_count_subquery_too() {
    let a = fixture("scalar_subquery");
    let q = query(&a, "BooksWithTopReview");
    assert!(col(q, "top_stars").nullable);
    assert_eq!(&*col(q, "top_stars").ty, "int4");
    assert_eq!(
        col(q, "top_stars").nullable_reason.source,
        ReasonSource::Subquery
    );
    assert_eq!(&*col(q, "review_count").ty, "int8");
}

#[test]
fn union_all_with_null_branch_is_nullable() {
    let a = fixture("union_all_null");
    let q = query(&a, "Timeline");
    assert_eq!(&*col(q, "id").ty, "int8");
    assert!(col(q, "id").nullable);
    assert!(!col(q, "label").nullable);
}

#[test]
fn aggregates_over_possibly_empty_sets_are_nullable() {
    let a = fixture("aggregates_empty_set");
    let q = query(&a, "PriceStats");
    assert!(!col(q, "n").nullable);
    assert_eq!(&*col(q, "n").ty, "int8");
    for c in ["total", "mean", "top", "first_published"] {
        assert!(col(q, c).nullable, "{c} must be nullable over an empty set");
    }
    assert_eq!(&*col(q, "total").ty, "numeric");
    assert_eq!(&*col(q, "mean").ty, "numeric");
    // Grouped: every group has a row, so max/sum of NOT NULL columns are NOT NULL ...
    let g = query(&a, "PriceStatsByAuthor");
    assert!(!col(g, "total").nullable);
    assert!(!col(g, "top").nullable);
    // ... but max of a nullable column is still nullable.
    assert!(col(g, "last_published").nullable);
    assert!(col(g, "author_id").nullable);
}

#[test]
fn coalesce_of_max_with_literal_is_not_null() {
    let a = fixture("coalesce_max");
    let q = query(&a, "NextBookId");
    assert!(!col(q, "next_id").nullable);
    assert_eq!(&*col(q, "next_id").ty, "int8");
    assert!(!col(q, "latest").nullable);
    assert_eq!(&*col(q, "latest").ty, "date");
}

#[test]
fn float_times_integer_is_float8() {
    let a = fixture("float_arithmetic");
    let q = query(&a, "Doubled");
    assert_eq!(&*col(q, "doubled").ty, "float8");
    assert_eq!(&*col(q, "third").ty, "float8");
    assert_eq!(&*col(q, "price_doubled").ty, "numeric");
    assert_eq!(&*col(q, "mixed").ty, "float8");
    assert_eq!(&*col(q, "id_doubled").ty, "int8");
}

#[test]
fn case_without_else_is_nullable() {
    let a = fixture("case_without_else");
    let q = query(&a, "Labels");
    assert!(col(q, "no_else").nullable);
    assert!(!col(q, "with_else").nullable);
    assert!(col(q, "bio_when_draft").nullable);
}

#[test]
fn scalar_subquery_scope_does_not_leak() {
    // `books` appears inside and outside the subquery; neither `id` nor `price` is ambiguous.
    let a = fixture("scalar_subquery_scope");
    let q = query(&a, "BooksAboveAuthorAverage");
    assert_eq!(q.columns.len(), 3);
    assert_eq!(&*param(q, "min_stars").ty, "int4");
}

#[test]
fn data_modifying_cte_is_typed_and_not_read_only() {
    let a = fixture("cte_data_modifying");
    let q = query(&a, "RepriceAndReport");
    assert!(!q.read_only);
    assert!(
        !q.policy.idempotent,
        "a write is not idempotent unless declared"
    );
    assert_eq!(&*param(q, "factor").ty, "numeric");
    assert_eq!(&*param(q, "author_id").ty, "int8");
    assert_eq!(&*param(q, "before").ty, "date");
    assert!(col(q, "old_id").nullable);
    assert!(!col(q, "price").nullable);
}

#[test]
fn optional_filters_compile_to_conditional_predicates() {
    let a = fixture("optional_params");
    let q = query(&a, "SearchBooks");
    assert!(param(q, "status").optional && param(q, "status").nullable);
    assert!(param(q, "min_price").optional);
    assert!(!param(q, "pattern").optional && !param(q, "pattern").nullable);
    assert!(
        q.sql
            .contains("$1::public.book_status IS NULL OR status = $1"),
        "{}",
        q.sql
    );
    assert!(
        q.sql.contains("$2::numeric IS NULL OR price >= $2"),
        "{}",
        q.sql
    );
    // sqlc.narg in a filter is optional too.
    let b = query(&a, "BooksByAuthor");
    assert!(param(b, "author_id").optional);
    // sqlc.narg outside a filter is a nullable value, not an optional filter.
    let s = query(&a, "SetBio");
    assert!(param(s, "bio").nullable && !param(s, "bio").optional);
    assert!(!s.sql.contains("IS NULL OR"));
}

#[test]
fn shared_row_types_are_named() {
    let a = fixture("shared_row_types");
    assert_eq!(
        query(&a, "GetBook").row_type.as_deref(),
        Some("BookSummary")
    );
    assert_eq!(
        query(&a, "ListBooks").row_type.as_deref(),
        Some("BookSummary")
    );
}

#[test]
fn one_type_override_covers_nullable_and_non_null() {
    let a = fixture("type_overrides");
    let q = query(&a, "GetBookPrices");
    assert_eq!(
        &*col(q, "price").go_type,
        "github.com/shopspring/decimal.Decimal"
    );
    assert_eq!(&*col(q, "price").rust_type, "rust_decimal::Decimal");
    // max_price would be nullable; the registry forces it.
    assert!(!col(q, "max_price").nullable);
    assert_eq!(
        col(q, "max_price").nullable_reason.source,
        ReasonSource::Override
    );
    assert_eq!(&*col(q, "meta").go_type, "*example.com/bookmeta.Meta");
    assert_eq!(&*col(q, "meta").rust_type, "Option<bookmeta::Meta>");
    assert_eq!(&*col(q, "id").go_type, "example.com/ids.BookID");
}

#[test]
fn right_and_full_joins_null_the_other_side() {
    let a = fixture("right_full_joins");
    let q = query(&a, "ReviewsAndBooks");
    assert!(!col(q, "title").nullable);
    assert!(col(q, "stars").nullable);
    let f = query(&a, "AuthorsBooksFull");
    assert!(col(f, "name").nullable && col(f, "title").nullable);
}

#[test]
fn json_operators() {
    let a = fixture("json_operators");
    let q = query(&a, "BookMeta");
    assert_eq!(&*col(q, "isbn_json").ty, "jsonb");
    assert_eq!(&*col(q, "isbn").ty, "text");
    assert_eq!(&*col(q, "width").ty, "text");
    assert_eq!(&*col(q, "matches").ty, "bool");
    assert_eq!(&*param(q, "filter").ty, "jsonb");
    assert_eq!(&*param(q, "lang").ty, "text");
}

#[test]
fn dml_with_returning_upsert_and_copyfrom() {
    let a = fixture("dml_returning");
    let u = query(&a, "UpsertAuthor");
    assert_eq!(&*param(u, "id").ty, "int8");
    assert!(
        param(u, "bio").nullable,
        "bio is inserted into a nullable column"
    );
    assert!(!param(u, "name").nullable);
    let r = query(&a, "RetitleBooksOfAuthor");
    assert_eq!(r.tables, ["public.authors", "public.books"]);
    assert!(!col(r, "name").nullable);
    let d = query(&a, "DeleteReviewsOfDrafts");
    assert_eq!(d.statement, "delete");
    assert_eq!(query(&a, "CopyBooks").command, "copyfrom");
    let m = query(&a, "InsertMany");
    assert_eq!(&*param(m, "titles").ty, "text[]");
}

#[test]
fn window_functions() {
    let a = fixture("window_functions");
    let q = query(&a, "RankedBooks");
    assert_eq!(&*col(q, "rank_in_author").ty, "int8");
    assert!(!col(q, "rank_in_author").nullable);
    assert!(
        !col(q, "running_total").nullable,
        "the default frame holds the current row"
    );
    assert!(col(q, "previous_price").nullable);
}

#[test]
fn star_expansion_slices_and_limits() {
    let a = fixture("star_expansion");
    let q = query(&a, "BooksAndAuthors");
    assert_eq!(q.columns.len(), 9);
    let s = param(q, "statuses");
    assert!(s.slice);
    assert_eq!(&*s.ty, "public.book_status[]");
    assert_eq!(&*param(q, "ids").ty, "int8[]");
    assert_eq!(&*param(q, "page_size").ty, "int8");
    assert!(q.sql.contains("b.status = ANY($2)"), "{}", q.sql);
}

#[test]
fn where_is_not_null_removes_join_nullability() {
    let a = fixture("where_refines_nullability");
    let q = query(&a, "AuthorsWithSomeBook");
    assert!(
        !col(q, "title").nullable,
        "rows where b is null-extended are filtered out"
    );
    assert!(!col(q, "published").nullable);
    assert_eq!(
        col(q, "published").nullable_reason.source,
        ReasonSource::Filter
    );
}

#[test]
fn inline_queries_from_the_registry() {
    let a = fixture("inline_queries");
    let q = query(&a, "CountBooks");
    assert_eq!(q.doc, ["Counts the books in one status."]);
    assert_eq!(&*param(q, "status").ty, "public.book_status");
}

#[test]
fn migration_layouts_apply_in_order() {
    let g = fixture("migrations_goose");
    let q = query(&g, "GetItem");
    assert_eq!(&*col(q, "title").ty, "varchar");
    assert!(!col(q, "title").nullable);
    let r = fixture("migrations_refinery");
    let q = query(&r, "GetItem");
    assert_eq!(
        q.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["id", "label", "qty", "created"]
    );
    let d = fixture("migrations_dbmate");
    assert_eq!(&*col(query(&d, "GetItem"), "price").ty, "public.positive");
    let n = fixture("migrations_numbered");
    assert_eq!(&*col(query(&n, "GetItem"), "kind").ty, "public.kind");
    assert_eq!(n.contract.schema.enums[0].values, ["a", "c", "b"]);
    assert_eq!(&*col(query(&n, "KindCounts"), "n").ty, "int8");
}

#[test]
fn every_fixture_matches_its_explain_snapshot() {
    let dir = common::root().join("tests/fixtures/analyze");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "fixtures: {cases:?}");
    for case in cases {
        let a = fixture(&case);
        let text: String = a
            .contract
            .queries
            .iter()
            .map(sqlpact::present::explain_text)
            .collect::<Vec<_>>()
            .join("\n");
        settings().bind(|| insta::assert_snapshot!(format!("analyze__{case}"), text));
    }
}

/// Analyses reused from a memo (the changelog's and the transitive gate's many
/// versions) are the analyses made from scratch: for every fixture and the example,
/// analyzed once to fill the memo and again to hit it, with the source locations and
/// policies of the registry at hand.
#[test]
fn memoized_analyses_equal_fresh_ones() {
    use sqlpact::analyze::{analyze, analyze_with, memo::Memo, Options};
    use sqlpact::diag::Diagnostics;
    use sqlpact::source::SourceMap;
    let mut registries: Vec<std::path::PathBuf> =
        std::fs::read_dir(common::root().join("tests/fixtures/analyze"))
            .unwrap()
            .map(|e| e.unwrap().path().join("sqlpact.yaml"))
            .filter(|p| p.is_file())
            .collect();
    registries.sort();
    registries.push(common::root().join("contracts/sqlpact.yaml"));
    let memo = Memo::default();
    let opts = Options {
        memo: Some(&memo),
        ..Options::default()
    };
    for path in &registries {
        let mut sources = SourceMap::default();
        let mut diags = Diagnostics::default();
        let reg = sqlpact::registry::load(path, &mut sources, &mut diags).unwrap();
        let fresh = analyze(&reg, &sources, &mut Diagnostics::default());
        let first = analyze_with(&reg, &sources, &mut Diagnostics::default(), &opts);
        let kept = memo.len();
        let second = analyze_with(&reg, &sources, &mut Diagnostics::default(), &opts);
        assert_eq!(memo.len(), kept, "{}: the second run hits", path.display());
        for a in [&first, &second] {
            assert_eq!(
                serde_json::to_string(&a.contract).unwrap(),
                serde_json::to_string(&fresh.contract).unwrap(),
                "{}",
                path.display()
            );
        }
    }
    assert!(memo.len() > 50, "the memo keeps analyses: {}", memo.len());
}

/// Analyzes `queries` against each schema in turn, through one memo, and gives what
/// `seen` reads of each analysis, which must report nothing.
fn memoized_runs<T>(
    queries: &str,
    schemas: &[String],
    seen: impl Fn(&sqlpact::analyze::Analysis) -> T,
) -> Vec<T> {
    memoized_diagnosed_runs(queries, schemas, |a, diags| {
        assert!(diags.items.is_empty(), "{:?}", diags.items);
        seen(a)
    })
}

/// As `memoized_runs`, with each run's diagnostics.
/// The columns of the query `Read` (`name?` when nullable) and the codes of the
/// diagnostics, for [`memoized_diagnosed_runs`].
fn read_columns_and_codes(
    a: &sqlpact::analyze::Analysis,
    diags: &sqlpact::diag::Diagnostics,
) -> (Vec<String>, Vec<&'static str>) {
    let codes = diags.items.iter().map(|d| d.code.id()).collect();
    let cols = a
        .contract
        .queries
        .iter()
        .filter(|q| q.name == "Read")
        .flat_map(|q| &q.columns)
        .map(|c| format!("{}{}", c.name, if c.nullable { "?" } else { "" }))
        .collect();
    (cols, codes)
}

fn memoized_diagnosed_runs<T>(
    queries: &str,
    schemas: &[String],
    seen: impl Fn(&sqlpact::analyze::Analysis, &sqlpact::diag::Diagnostics) -> T,
) -> Vec<T> {
    use sqlpact::analyze::{analyze_with, memo::Memo, Options};
    use sqlpact::diag::Diagnostics;
    use sqlpact::source::SourceMap;
    let dir = scratch_registry("", "", queries);
    let memo = Memo::default();
    let opts = Options {
        memo: Some(&memo),
        ..Options::default()
    };
    schemas
        .iter()
        .map(|schema| {
            std::fs::write(dir.path().join("schema.sql"), schema).unwrap();
            let mut sources = SourceMap::default();
            let mut diags = Diagnostics::default();
            let reg =
                sqlpact::registry::load(&dir.path().join("sqlpact.yaml"), &mut sources, &mut diags)
                    .unwrap();
            let a = analyze_with(&reg, &sources, &mut diags, &opts);
            seen(&a, &diags)
        })
        .collect()
}

#[test]
fn a_memoized_analysis_is_not_reused_when_a_function_it_calls_changes() {
    let schemas: Vec<String> = [
        ("IMMUTABLE", "integer"),
        ("VOLATILE", "integer"),
        ("VOLATILE", "bigint"),
    ]
    .iter()
    .map(|(volatility, ty)| format!("CREATE FUNCTION twice(x {ty}) RETURNS {ty} LANGUAGE sql {volatility} AS $$ SELECT x * 2 $$;\n"))
    .collect();
    let seen = memoized_runs(
        "-- name: Twice :one\nSELECT twice(@x) AS y;\n",
        &schemas,
        |a| {
            let q = query(a, "Twice");
            (q.read_only, param(q, "x").ty.to_string())
        },
    );
    assert_eq!(
        seen,
        [
            (true, "int4".to_owned()),
            (false, "int4".to_owned()),
            (false, "int8".to_owned())
        ]
    );
}

#[test]
fn a_memoized_analysis_is_not_reused_when_the_table_a_function_returns_changes() {
    // The query names the function only: the table behind `SETOF` is reached through it.
    let schemas: Vec<String> = ["", "ALTER TABLE items ADD COLUMN label text;\n"]
        .iter()
        .map(|extra| format!("CREATE TABLE items (id bigint PRIMARY KEY);\n{extra}CREATE FUNCTION live_items() RETURNS SETOF items LANGUAGE sql STABLE AS $$ SELECT * FROM items $$;\n"))
        .collect();
    let seen = memoized_runs(
        "-- name: Live :many\nSELECT * FROM live_items();\n",
        &schemas,
        |a| {
            let q = query(a, "Live");
            q.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>()
        },
    );
    assert_eq!(seen, [vec!["id"], vec!["id", "label"]]);
}

#[test]
fn a_memoized_analysis_is_not_reused_when_a_primary_key_changes() {
    // Grouping by the key lets every column be read; grouping by a plain column does not.
    let schemas: Vec<String> = ["PRIMARY KEY", "NOT NULL UNIQUE"]
        .iter()
        .map(|key| format!("CREATE TABLE items (id bigint {key}, label text);\n"))
        .collect();
    let seen = memoized_diagnosed_runs(
        "-- name: Labels :many\nSELECT id, label FROM items GROUP BY id;\n",
        &schemas,
        |_, diags| diags.items.iter().map(|d| d.code).collect::<Vec<_>>(),
    );
    assert_eq!(seen, [vec![], vec![sqlpact::diag::Code::UngroupedColumn]]);
}

#[test]
fn a_memoized_analysis_is_not_reused_when_a_composite_field_changes() {
    let schemas: Vec<String> = ["int4", "text"]
        .iter()
        .map(|t| format!("CREATE TYPE spot AS (x {t});\nCREATE TABLE places (at spot);\n"))
        .collect();
    let seen = memoized_runs(
        "-- name: Xs :many\nSELECT (at).x FROM places;\n",
        &schemas,
        |a| col(query(a, "Xs"), "x").ty.to_string(),
    );
    assert_eq!(seen, ["int4", "text"]);
}

#[test]
fn functions_the_schema_declares_are_selected_from_as_tables() {
    let a = fixture("schema_functions");
    // `RETURNS SETOF books`: the table's columns, nullable (a function's rows may hold
    // NULL), and its parameter typed by the argument.
    let by_status = query(&a, "BooksByStatus");
    assert_eq!(&*param(by_status, "status").ty, "public.book_status");
    assert_eq!(&*col(by_status, "title").ty, "text");
    assert!(col(by_status, "title").nullable);
    assert_eq!(&*col(by_status, "status").ty, "public.book_status");
    // `RETURNS TABLE (...)`, with the defaulted argument left out and then given.
    let search = query(&a, "SearchTitles");
    assert_eq!(&*col(search, "score").ty, "float4");
    assert_eq!(search.params.len(), 1);
    let numbered = query(&a, "SearchTitlesNumbered");
    assert_eq!(&*param(numbered, "max_rows").ty, "int4");
    assert_eq!(&*col(numbered, "n").ty, "int8");
    assert!(
        !col(numbered, "n").nullable,
        "WITH ORDINALITY counts from 1"
    );
    // `OUT` arguments name the columns; a single one keeps its name under an alias.
    let count = query(&a, "BookCount");
    assert_eq!(count.columns.len(), 1);
    assert_eq!(&*col(count, "total").ty, "int8");
    let split = query(&a, "SplitPrice");
    assert_eq!(&*param(split, "price").ty, "numeric");
    assert_eq!(&*col(split, "whole").ty, "int8");
    assert_eq!(&*col(split, "cents").ty, "int4");
    // A function of one unnamed value is renamed by its alias.
    let drafts = query(&a, "DraftTitleRows");
    let names: Vec<&str> = drafts.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["d", "ordinality"]);
    // jsonb_array_elements names its column `value` itself, under an alias too.
    let elements = query(&a, "MetaElements");
    assert_eq!(&*col(elements, "value").ty, "jsonb");
    for name in ["BooksByStatus", "SearchTitles", "BookCount", "SplitPrice"] {
        let q = query(&a, name);
        assert!(q.read_only, "{name}: STABLE and IMMUTABLE functions read");
        assert_eq!(q.policy.route, "replica", "{name}");
    }
    // `RETURNS SETOF record` and jsonb_to_recordset: the column definition list types
    // the columns, and jsonb_to_recordset's argument.
    let prices = query(&a, "PriceRows");
    assert_eq!(&*col(prices, "price").ty, "numeric");
    assert!(col(prices, "price").nullable);
    let from_json = query(&a, "TitlesFromJson");
    assert_eq!(&*param(from_json, "doc").ty, "jsonb");
    assert_eq!(&*col(from_json, "n").ty, "int4");
    // A defaulted argument before the `OUT` ones may be left out; a one-column table is
    // one value, also in the select list; a renamed table is followed.
    let priced = query(&a, "Priced");
    assert_eq!(priced.params.len(), 1);
    assert_eq!(&*col(priced, "tax").ty, "numeric");
    let first = query(&a, "FirstTitles");
    let names: Vec<&str> = first.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["title"], "the column keeps its name under an alias");
    assert_eq!(&*col(query(&a, "FirstTitleValues"), "first").ty, "text");
    assert_eq!(&*col(query(&a, "Shelves"), "label").ty, "text");
    let publish = query(&a, "PublishDrafts");
    assert!(
        !publish.read_only && !publish.policy.idempotent,
        "a VOLATILE function may write"
    );
    assert_eq!(publish.policy.route, "primary");
}

#[test]
fn repeated_types_and_reasons_are_one_allocation() {
    // Two queries selecting the same table columns: each type, table column and reason
    // is the same string, held once (a large contract repeats a few hundred of them).
    let a = fixture("shared_row_types");
    let (one, many) = (query(&a, "GetBook"), query(&a, "ListBooks"));
    let (x, y) = (col(one, "price"), col(many, "price"));
    assert_eq!(x, y);
    for (p, q) in [
        (&x.ty, &y.ty),
        (&x.go_type, &y.go_type),
        (&x.rust_type, &y.rust_type),
        (&x.proto_type, &y.proto_type),
        (&x.type_reason.detail, &y.type_reason.detail),
        (&x.nullable_reason.detail, &y.nullable_reason.detail),
    ] {
        assert!(std::sync::Arc::ptr_eq(p, q), "`{p}` is held twice");
    }
    let (tx, ty) = (x.table_column.as_ref(), y.table_column.as_ref());
    assert!(std::sync::Arc::ptr_eq(tx.unwrap(), ty.unwrap()));
}

/// A locking read changes no data but needs the primary: a standby and a READ ONLY
/// transaction refuse `FOR UPDATE`/`FOR SHARE` (25006), so it must not be routed or
/// pipelined as a read (the defaults' `route: replica` leaves it on the primary).
/// Re-running it is harmless, so it stays idempotent.
#[test]
fn locking_reads_are_not_read_only_but_stay_idempotent() {
    let a = fixture("locking_reads");
    for name in [
        "LockBook",
        "ShareAuthorBooks",
        "LockBookNoKey",
        "KeyShareBookAndAuthor",
        "LockEachItsOwnWay",
    ] {
        let q = query(&a, name);
        assert!(!q.read_only, "{name} locks rows");
        assert!(q.policy.idempotent, "{name} writes nothing");
        assert_eq!(
            q.policy.route, "primary",
            "{name}: the defaults' replica route"
        );
    }
    let claim = query(&a, "ClaimDrafts");
    assert!(
        !claim.read_only && !claim.policy.idempotent,
        "ClaimDrafts writes"
    );
    assert_eq!(claim.policy.route, "primary");
    // PostgreSQL's weaker strengths and lists of tables are read as locks; the SQL
    // run is the text as written.
    assert!(query(&a, "LockBookNoKey")
        .sql
        .ends_with("FOR NO KEY UPDATE"));
    assert!(query(&a, "KeyShareBookAndAuthor")
        .sql
        .ends_with("FOR KEY SHARE OF b, a NOWAIT"));
    let plain = query(&a, "PlainRead");
    assert!(plain.read_only && plain.policy.idempotent);
    assert_eq!(plain.policy.route, "replica");
}

/// Forms PostgreSQL applications write often: a conflict target that picks a partial
/// index, advisory locks by both overloads, settings, sequences, full-text search and
/// array slices. `nextval` writes a sequence: its query stays off replicas and is not
/// replayed.
#[test]
fn common_postgresql_forms_are_typed_and_routed_as_the_server_runs_them() {
    let a = fixture("postgres_forms");
    assert_eq!(&*param(query(&a, "LockKey"), "key").ty, "int8");
    let pair = query(&a, "TryLockPair");
    assert_eq!(&*param(pair, "class").ty, "int4", "the two-key overload");
    assert_eq!(&*param(pair, "object").ty, "int4");
    assert_eq!(&*param(query(&a, "ActAs"), "user_id").ty, "text");
    for name in ["ActAs", "SearchTitles", "TagSlices"] {
        let q = query(&a, name);
        assert!(q.read_only, "{name} writes nothing");
        assert_eq!(q.policy.route, "replica", "{name}: the defaults' route");
    }
    // An advisory lock excludes only sessions of the server that holds it: primary,
    // though taking it again after a lost connection is harmless.
    for name in ["LockKey", "TryLockPair", "HoldKey", "HoldPair"] {
        let q = query(&a, name);
        assert!(!q.read_only, "{name} takes a lock");
        assert_eq!(q.policy.route, "primary", "{name}");
        assert!(q.policy.idempotent, "{name}");
    }
    let next = query(&a, "NextBookID");
    assert!(!next.read_only && !next.policy.idempotent, "nextval writes");
    assert_eq!(next.policy.route, "primary");
    let search = query(&a, "SearchTitles");
    assert_eq!(&*param(search, "terms").ty, "text");
    assert_eq!(&*col(search, "rank").ty, "float4");
    let slices = query(&a, "TagSlices");
    for c in ["first_two", "rest", "leading"] {
        assert_eq!(&*col(slices, c).ty, "text[]", "{c}");
        assert!(!col(slices, c).nullable, "{c}: a slice of a NOT NULL array");
    }
    assert_eq!(&*param(slices, "n").ty, "int4");
    // A void call is run for its effect: under `:exec` it has no column to type.
    for name in ["HoldKey", "HoldPair", "Announce"] {
        assert!(
            query(&a, name).columns.is_empty(),
            "{name}: void has no column"
        );
    }
    assert_eq!(&*param(query(&a, "HoldKey"), "key").ty, "int8");
    assert_eq!(&*param(query(&a, "HoldPair"), "object").ty, "int4");
    let announce = query(&a, "Announce");
    assert!(
        !announce.read_only && !announce.policy.idempotent,
        "pg_notify sends"
    );
    assert_eq!(announce.policy.route, "primary");
}

#[test]
fn functions_the_schema_declares_are_typed_from_their_declaration() {
    let a = fixture("schema_functions");
    let slug = query(&a, "BookSlug");
    assert_eq!(&*col(slug, "slug").ty, "text");
    assert!(col(slug, "slug").nullable, "a function may return NULL");
    assert_eq!(&*param(query(&a, "SlugOf"), "raw").ty, "text");
    let gross = query(&a, "Gross");
    assert_eq!(
        &*param(gross, "rate").ty,
        "numeric",
        "the defaulted argument"
    );
    assert_eq!(&*col(gross, "gross").ty, "numeric");
    assert_eq!(&*col(query(&a, "ShoutNumber"), "loud").ty, "int4");
    assert_eq!(&*col(query(&a, "ShoutTitle"), "loud").ty, "text");
    assert_eq!(&*col(query(&a, "DraftTitles"), "title").ty, "text");
    // IMMUTABLE and STABLE functions read; a VOLATILE one (the default) may write.
    for name in ["BookSlug", "SlugOf", "Gross", "ShoutNumber", "DraftTitles"] {
        let q = query(&a, name);
        assert!(q.read_only, "{name}");
        assert_eq!(q.policy.route, "replica", "{name}");
    }
    // varchar converts to text within its category; the dropped overload is gone; the
    // replacing definition counts; a schema-qualified name is that schema's function.
    assert_eq!(&*col(query(&a, "ShoutVarchar"), "loud").ty, "text");
    assert_eq!(&*param(query(&a, "Pick"), "v").ty, "int4");
    assert!(
        query(&a, "Flip").read_only,
        "replaced by an IMMUTABLE definition"
    );
    let later = query(&a, "Later");
    assert_eq!(&*param(later, "days").ty, "int4");
    assert_eq!(&*col(later, "at").ty, "timestamptz");
    let touch = query(&a, "TouchBook");
    assert!(!touch.read_only && !touch.policy.idempotent);
    assert_eq!(touch.policy.route, "primary");
    assert!(touch.columns.is_empty(), "it returns void");
    assert_eq!(&*param(touch, "id").ty, "int8");
}

#[test]
fn session_state_is_warned_about_and_kept_off_replicas_unless_declared() {
    use sqlpact::diag::{Code, Diagnostics, Severity};
    use sqlpact::source::SourceMap;
    let cfg = common::root().join("tests/fixtures/bad/W100_session_state/sqlpact.yaml");
    let mut sources = SourceMap::default();
    let mut diags = Diagnostics::default();
    let reg = sqlpact::registry::load(&cfg, &mut sources, &mut diags).unwrap();
    let a = sqlpact::analyze::analyze(&reg, &sources, &mut diags);
    assert!(!diags.has_errors());
    let warned: Vec<&str> = diags
        .items
        .iter()
        .inspect(|d| {
            assert_eq!(
                (d.code, d.severity),
                (Code::SessionState, Severity::Warning)
            )
        })
        .map(|d| d.message.split('`').nth(1).unwrap())
        .collect();
    // `HoldLeadership` is declared `session: true`; the transaction forms end with
    // their transaction.
    assert_eq!(warned, ["LockForever", "TryLead", "ActAsForTheSession"]);
    // A setting made for the session stays on the primary, off shared connections;
    // one made for the transaction reads.
    let session = query(&a, "ActAsForTheSession");
    assert!(!session.read_only && session.policy.idempotent);
    assert_eq!(session.policy.route, "primary");
    assert!(query(&a, "ActAsInTheTransaction").read_only);
}

#[test]
fn a_registry_that_maps_void_keeps_the_column() {
    let dir = scratch_registry(
        "types:\n  - { db_type: void, go: string, rust: String }\n",
        "CREATE TABLE t (id int4);\n",
        "-- name: Hold :one\nSELECT pg_advisory_xact_lock(@key);\n\n-- name: HoldQuietly :exec\nSELECT pg_advisory_xact_lock(@key);\n",
    );
    let a = clean(&dir.path().join("sqlpact.yaml"));
    for name in ["Hold", "HoldQuietly"] {
        let q = query(&a, name);
        assert_eq!(q.columns.len(), 1, "{name}: the mapped void is a column");
        assert_eq!(&*q.columns[0].rust_type, "String", "{name}");
    }
}

#[test]
fn partitions_and_children_follow_their_parents_changes() {
    let parted = "CREATE TABLE p (id int8 GENERATED ALWAYS AS IDENTITY, at date NOT NULL) PARTITION BY RANGE (at);\n\
                  CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n\
                  ALTER TABLE p RENAME TO q;\n\
                  ALTER TABLE q ADD COLUMN note text;\n\
                  ALTER TABLE q RENAME COLUMN id TO key;\n";
    let schemas = [
        parted.to_owned(),
        // The partition, named after its table, went with it: no error for its name.
        format!("{parted}DROP TABLE q, p1;\n"),
        "CREATE TABLE base (id int8 NOT NULL, name text);\n\
         CREATE TABLE p1 (extra text, name text NOT NULL) INHERITS (base);\n"
            .to_owned(),
        // A column the child has as its own, or from another parent, stays when one
        // parent drops it.
        "CREATE TABLE a (x int4, y int4, z int4);\n\
         CREATE TABLE b (z int4);\n\
         CREATE TABLE p1 (x int4) INHERITS (a, b);\n\
         ALTER TABLE a DROP COLUMN x, DROP COLUMN y, DROP COLUMN z;\n"
            .to_owned(),
    ];
    let seen = memoized_diagnosed_runs(
        "-- name: Read :many\nSELECT * FROM p1;\n\n-- name: Put :exec\nINSERT INTO p1 SELECT * FROM p1;\n",
        &schemas,
        read_columns_and_codes,
    );
    // The rename of the parent, its new column and its renamed one reach the partition;
    // the partition's copy of the identity is no identity (PostgreSQL 15), so writing
    // it is no E412.
    assert_eq!(
        seen[0],
        (vec!["key".into(), "at".into(), "note?".into()], vec![])
    );
    // Dropping the partitioned table drops its partitions.
    assert_eq!(seen[1], (vec![], vec!["E400", "E400"]));
    // A child has its parent's columns first, merged with its own of the same name.
    assert_eq!(
        seen[2],
        (vec!["id".into(), "name".into(), "extra?".into()], vec![])
    );
    assert_eq!(seen[3], (vec!["x?".into(), "z?".into()], vec![]));
}

#[test]
fn like_and_later_links_take_their_sources_columns() {
    let src =
        "CREATE TABLE src (id int8 GENERATED ALWAYS AS IDENTITY, n int4 NOT NULL DEFAULT 1);\n";
    let schemas = [
        // Identity copied: writing the id is E412.
        format!("{src}CREATE TABLE p1 (LIKE src INCLUDING IDENTITY, note text);\n"),
        // Without it, the id is a plain NOT NULL column.
        format!("{src}CREATE TABLE p1 (note text, LIKE src INCLUDING DEFAULTS);\n"),
        // No such source: the table is not created.
        format!("{src}CREATE TABLE p1 (LIKE nowhere INCLUDING ALL);\n"),
        // An option PostgreSQL does not have is left to the parser.
        format!("{src}CREATE TABLE p1 (LIKE src INCLUDING EVERYTHING);\n"),
        // Links naming a missing table; IF EXISTS spares the first.
        format!(
            "{src}CREATE TABLE p1 (id int8, n int4);\n\
             ALTER TABLE nowhere INHERIT src;\n\
             ALTER TABLE IF EXISTS nowhere INHERIT src;\n\
             ALTER TABLE src ATTACH PARTITION nowhere DEFAULT;\n\
             ALTER TABLE p1 INHERIT src;\n\
             ALTER TABLE src ADD COLUMN added text;\n"
        ),
    ];
    let seen = memoized_diagnosed_runs(
        "-- name: Read :many\nSELECT * FROM p1;\n\n-- name: Put :exec\nINSERT INTO p1 SELECT * FROM p1;\n",
        &schemas,
        read_columns_and_codes,
    );
    let cols = |c: &[&str]| c.iter().map(|&s| s.to_owned()).collect::<Vec<_>>();
    assert_eq!(seen[0], (cols(&["id", "n", "note?"]), vec!["E412"]));
    assert_eq!(seen[1], (cols(&["note?", "id", "n"]), vec![]));
    assert_eq!(seen[2], (vec![], vec!["E301", "E400", "E400"]));
    assert_eq!(seen[3].1, vec!["E300", "E400", "E400"]);
    // The child inherited, so it has the column the parent added after.
    assert_eq!(
        seen[4],
        (cols(&["id?", "n?", "added?"]), vec!["E301", "E301"])
    );
}

#[test]
fn links_keep_postgresql_s_rules() {
    let schemas = [
        // A table linked to itself, or to its own child, is refused (E305), and a
        // later change of it is no endless walk.
        "CREATE TABLE p1 (x int4, y int4) PARTITION BY LIST (x);\n\
         ALTER TABLE p1 ATTACH PARTITION p1 DEFAULT;\n\
         CREATE TABLE c (x int4, y int4) INHERITS (p1);\n\
         ALTER TABLE c INHERIT c;\n\
         ALTER TABLE p1 INHERIT c;\n\
         ALTER TABLE p1 DROP COLUMN x;\n"
            .to_owned(),
        // Unlinked, then linked again, a child's columns are its own: the parent
        // dropping one leaves it.
        "CREATE TABLE base (x int4, y int4);\n\
         CREATE TABLE p1 () INHERITS (base);\n\
         ALTER TABLE p1 NO INHERIT base;\n\
         ALTER TABLE p1 INHERIT base;\n\
         ALTER TABLE base DROP COLUMN x;\n"
            .to_owned(),
        // An attached partition takes its table's primary key: grouping by it reads
        // the row.
        "CREATE TABLE base (id int4 PRIMARY KEY, y int4) PARTITION BY RANGE (id);\n\
         CREATE TABLE p1 (id int4 NOT NULL, y int4);\n\
         ALTER TABLE base ATTACH PARTITION p1 FOR VALUES FROM (1) TO (10);\n"
            .to_owned(),
    ];
    let seen = memoized_diagnosed_runs(
        "-- name: Read :many\nSELECT * FROM p1;\n\n-- name: Keyed :many\nSELECT id, y FROM p1 GROUP BY id;\n",
        &schemas,
        read_columns_and_codes,
    );
    // Keyed's `id` is unknown where p1 has none: E401 (and E413 is not reached).
    assert_eq!(seen[0].0, ["y?"]);
    assert_eq!(seen[0].1, ["E305", "E305", "E305", "E401"]);
    assert_eq!(
        seen[1],
        (vec!["x?".to_owned(), "y?".to_owned()], vec!["E401"])
    );
    assert_eq!(seen[2], (vec!["id".to_owned(), "y?".to_owned()], vec![]));
}

#[test]
fn like_copies_an_identity_s_default_only_with_including_identity() {
    let dir = common::registry(
        "CREATE TABLE src (id int8 GENERATED BY DEFAULT AS IDENTITY, n int4 NOT NULL DEFAULT 1);\n\
         CREATE TABLE with_defaults (LIKE src INCLUDING DEFAULTS);\n\
         CREATE TABLE with_identity (LIKE src INCLUDING IDENTITY);\n",
        "-- name: Ids :many\nSELECT id FROM src;\n",
    );
    let a = clean(&dir.path().join("sqlpact.yaml"));
    let defaults = |table: &str| -> Vec<(String, bool)> {
        a.catalog.relations[&format!("public.{table}")]
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.has_default))
            .collect()
    };
    let pairs = |p: &[(&str, bool)]| -> Vec<(String, bool)> {
        p.iter().map(|&(n, d)| (n.to_owned(), d)).collect()
    };
    assert_eq!(
        defaults("with_defaults"),
        pairs(&[("id", false), ("n", true)])
    );
    assert_eq!(
        defaults("with_identity"),
        pairs(&[("id", true), ("n", false)])
    );
}

#[test]
fn system_columns_belong_to_tables_alone() {
    let schemas = ["CREATE TABLE t (id int4);\nCREATE VIEW p1 AS SELECT id FROM t;\n".to_owned()];
    let seen = memoized_diagnosed_runs(
        "-- name: Table :one\nSELECT ctid::text AS c, tableoid FROM t;\n\n\
         -- name: View :one\nSELECT ctid::text AS c FROM p1;\n\n\
         -- name: Sub :one\nSELECT s.tableoid FROM (SELECT id FROM t) s;\n",
        &schemas,
        |a, diags| {
            let codes: Vec<(String, &str)> = diags
                .items
                .iter()
                .map(|d| (d.message.clone(), d.code.id()))
                .collect();
            let cols: Vec<String> = a
                .contract
                .queries
                .iter()
                .flat_map(|q| &q.columns)
                .map(|c| format!("{}:{}", c.name, c.ty))
                .collect();
            (cols, codes)
        },
    );
    assert_eq!(seen[0].0, ["c:text", "tableoid:oid"]);
    let codes: Vec<&str> = seen[0].1.iter().map(|c| c.1).collect();
    assert_eq!(codes, ["E401", "E401"], "{:?}", seen[0].1);
}
