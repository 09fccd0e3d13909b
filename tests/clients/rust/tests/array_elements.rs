//! Arrays whose elements may be NULL (tests/fixtures/generate/array_elements): the
//! generated row holds them as `Vec<Option<T>>`, so a NULL element reads as `None`
//! where `Vec<T>` could not decode it, against PostgreSQL. Multidimensional arrays are
//! `postgres_array::Array<T>`: elements, dimensions and lower bounds.

mod common;

use common::Scratch;
use postgres_array::{Array, Dimension};
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

/// A layout as encoding/json writes the Go client's `pgtype.Array[int32]`
/// (tests/clients/go/arrays_test.go checks the Go side writes this very text).
const RACK_JSON: &str = r#"{"Elements":[1,2,3,4,5,6],"Dims":[{"Length":2,"LowerBound":1},{"Length":3,"LowerBound":1}],"Valid":true}"#;

fn dims(d: &[(i32, i32)]) -> Vec<Dimension> {
    d.iter()
        .map(|&(len, lower_bound)| Dimension { len, lower_bound })
        .collect()
}

#[tokio::test]
async fn multidimensional_arrays_keep_their_dimensions() {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/generate/array_elements/schema.sql"
    );
    let scratch = Scratch::new("sqlpact_array_dims", &[schema.into()]).await;
    let q = &scratch.client;

    let layout = Array::from_parts(vec![1, 2, 3, 4, 5, 6], dims(&[(2, 1), (3, 1)]));
    let first = db::add_rack(q, &layout, None).await.unwrap();
    // A text[][] column holds a one-dimensional array with lower bound 0 as well.
    let labels = Array::from_parts(vec!["top".to_owned(), "é".to_owned()], dims(&[(2, 0)]));
    let empty = Array::from_parts(Vec::new(), Vec::new());
    let second = db::add_rack(q, &empty, Some(&labels)).await.unwrap();
    // The server prints what the client wrote.
    for (id, want) in [
        (first, "{{1,2,3},{4,5,6}}|<null>"),
        (second, "{}|[0:1]={top,é}"),
    ] {
        let row = q
            .query_one(
                "SELECT layout::text || '|' || COALESCE(labels::text, '<null>') FROM racks WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), want, "rack {id}");
    }
    let row = db::rack(q, first).await.unwrap();
    assert_eq!(
        row,
        db::RackRow {
            id: first,
            layout: layout.clone(),
            labels: None,
            corners: Array::from_parts(
                vec![Some(1), None, Some(1), Some(2)],
                dims(&[(2, 1), (2, 1)])
            ),
        }
    );
    let second_row = db::rack(q, second).await.unwrap();
    assert_eq!(second_row.layout, empty);
    assert_eq!(second_row.labels.as_ref(), Some(&labels));
    // layout[1][1] of an empty array is NULL.
    assert_eq!(second_row.corners.iter().next(), Some(&None));

    // JSON in the Go client's form, both ways.
    let json = serde_json::to_string(&row).unwrap();
    assert!(json.contains(&format!(r#""layout":{RACK_JSON}"#)), "{json}");
    assert!(json.contains(r#""labels":null"#), "{json}");
    let back: db::RackRow = serde_json::from_str(&json).unwrap();
    assert_eq!(back, row);
    let json = serde_json::to_string(&second_row).unwrap();
    let back: db::RackRow = serde_json::from_str(&json).unwrap();
    assert_eq!(back, second_row);
    let from_go = format!(
        r#"{{"id":1,"layout":{RACK_JSON},"labels":{{"Elements":null,"Dims":null,"Valid":false}},"corners":{{"Elements":[null],"Dims":[{{"Length":1,"LowerBound":1}}],"Valid":true}}}}"#
    );
    let read: db::RackRow = serde_json::from_str(&from_go).unwrap();
    assert_eq!(read.layout, layout);
    assert_eq!(read.labels, None);
    assert_eq!(read.corners, Array::from_vec(vec![None], 1));
    // Elements that do not fill the dimensions are an error, not a panic.
    let short = RACK_JSON.replace("[1,2,3,4,5,6]", "[1,2,3]");
    let err = serde_json::from_str::<db::RackRow>(&from_go.replace(RACK_JSON, &short)).unwrap_err();
    assert!(
        err.to_string()
            .contains("3 elements do not fill the dimensions [2, 3]"),
        "{err}"
    );
    let past = RACK_JSON.replace(r#""LowerBound":1}]"#, r#""LowerBound":2147483647}]"#);
    let err = serde_json::from_str::<db::RackRow>(&from_go.replace(RACK_JSON, &past)).unwrap_err();
    assert!(
        err.to_string().contains("past PostgreSQL's bounds"),
        "{err}"
    );
    let null = from_go.replace(RACK_JSON, r#"{"Elements":null,"Dims":null,"Valid":false}"#);
    let err = serde_json::from_str::<db::RackRow>(&null).unwrap_err();
    assert!(err.to_string().contains("NOT NULL"), "{err}");
    scratch.drop().await;
}
