//! Arrays whose elements may be NULL (tests/fixtures/generate/array_elements): the
//! generated row holds them as `Vec<Option<T>>`, so a NULL element reads as `None`
//! where `Vec<T>` could not decode it, against PostgreSQL.

mod common;

use common::Scratch;
use shelves_db as db;

#[tokio::test]
async fn null_array_elements_read_as_none() {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/generate/array_elements/schema.sql"
    );
    let scratch = Scratch::new("sqlpact_array_elements", &[schema.into()]).await;
    let q = &scratch.client;

    let ann = db::add_author(q, "Ann", None).await.unwrap();
    let bo = db::add_author(q, "Bo", Some("writes")).await.unwrap();
    let fortnight = pg_interval::Interval::new(0, 14, 0);
    for (title, pages, loan) in [("One", Some(320), None), ("Two", None, Some(&fortnight))] {
        db::add_book(
            q,
            &db::AddBookParams {
                author_id: ann,
                title,
                pages,
                loan,
            },
        )
        .await
        .unwrap();
    }
    let rows = db::shelves(q).await.unwrap();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        rows,
        [
            db::ShelvesRow {
                id: ann,
                titles: vec![some("One"), some("Two")],
                pages: vec![Some(320), None],
                loans: vec![None, Some(fortnight)],
                known_titles: vec!["One".to_owned(), "Two".to_owned()],
                name_and_bio: vec![some("Ann"), None],
            },
            // Bo has no book: the LEFT JOIN's one row aggregates to {NULL}.
            db::ShelvesRow {
                id: bo,
                titles: vec![None],
                pages: vec![None],
                loans: vec![None],
                known_titles: vec![],
                name_and_bio: vec![some("Bo"), some("writes")],
            },
        ]
    );
    // Through a view whose query builds the array.
    let viewed = db::titles_from_view(q).await.unwrap();
    let titles: Vec<(i64, Vec<Option<String>>)> =
        viewed.into_iter().map(|r| (r.id, r.titles)).collect();
    assert_eq!(
        titles,
        [(ann, vec![some("One"), some("Two")]), (bo, vec![None])]
    );
    // Through JSON and back, NULL elements and intervals included.
    let json = serde_json::to_string(&rows).unwrap();
    assert!(
        json.contains(r#""loans":[null,{"months":0,"days":14,"microseconds":0}]"#),
        "{json}"
    );
    let back: Vec<db::ShelvesRow> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rows);
    scratch.drop().await;
}
