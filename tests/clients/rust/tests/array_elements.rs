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
        json.contains(r#""loans":[null,{"Microseconds":0,"Days":14,"Months":0,"Valid":true}]"#),
        "{json}"
    );
    let back: Vec<db::ShelvesRow> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rows);
    // The Go client writes a NULL interval as `"Valid": false`.
    let from_go = json.replace(
        r#""loans":[null,"#,
        r#""loans":[{"Microseconds":0,"Days":0,"Months":0,"Valid":false},"#,
    );
    assert_ne!(from_go, json);
    let back: Vec<db::ShelvesRow> = serde_json::from_str(&from_go).unwrap();
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

/// A rack's shifts as encoding/json writes the Go client's
/// `pgtype.Array[pgtype.Interval]` (tests/clients/go/arrays_test.go checks the Go side
/// writes these very texts).
const SHIFTS_JSON: &str = r#"{"Elements":[{"Microseconds":3,"Days":2,"Months":1,"Valid":true},{"Microseconds":-5,"Days":0,"Months":0,"Valid":true},{"Microseconds":7200000000,"Days":0,"Months":0,"Valid":true},{"Microseconds":86400000000,"Days":0,"Months":-14,"Valid":true}],"Dims":[{"Length":2,"LowerBound":0},{"Length":2,"LowerBound":1}],"Valid":true}"#;
const FIRST_SHIFTS_JSON: &str = r#"{"Elements":[{"Microseconds":7200000000,"Days":0,"Months":0,"Valid":true},{"Microseconds":0,"Days":1,"Months":0,"Valid":true}],"Dims":[{"Length":2,"LowerBound":1},{"Length":1,"LowerBound":1}],"Valid":true}"#;

#[tokio::test]
async fn multidimensional_interval_arrays_keep_their_dimensions() {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/generate/array_elements/schema.sql"
    );
    let scratch = Scratch::new("sqlpact_interval_dims", &[schema.into()]).await;
    let q = &scratch.client;
    let id = db::add_rack(q, &Array::from_parts(Vec::new(), Vec::new()), None)
        .await
        .unwrap();
    let iv = pg_interval::Interval::new;
    let shifts = Array::from_parts(
        vec![
            iv(1, 2, 3),
            iv(0, 0, -5),
            iv(0, 0, 7_200_000_000),
            iv(-14, 0, 86_400_000_000),
        ],
        dims(&[(2, 0), (2, 1)]),
    );
    db::set_rack_shifts(q, Some(&shifts), id).await.unwrap();
    // The server holds what the client wrote.
    let held = q
        .query_one(
            "SELECT array_dims(shifts), shifts[0][2] = interval '-5 microseconds', \
             shifts[1][2] = interval '-1 year -2 months 24 hours' FROM racks WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        (held.get::<_, String>(0), held.get(1), held.get(2)),
        ("[0:1][1:2]".to_owned(), true, true)
    );
    let row = db::rack_shifts(q, id).await.unwrap();
    let first_shifts = Array::from_parts(
        vec![Some(iv(0, 0, 7_200_000_000)), Some(iv(0, 1, 0))],
        dims(&[(2, 1), (1, 1)]),
    );
    assert_eq!(
        row,
        db::RackShiftsRow {
            shifts: Some(shifts),
            first_shifts,
        }
    );

    // JSON in the Go client's form, both ways.
    let json = serde_json::to_string(&row).unwrap();
    assert_eq!(
        json,
        format!(r#"{{"shifts":{SHIFTS_JSON},"first_shifts":{FIRST_SHIFTS_JSON}}}"#)
    );
    let back: db::RackShiftsRow = serde_json::from_str(&json).unwrap();
    assert_eq!(back, row);

    // NULL shifts: the first corner is a NULL element, as Go writes both.
    db::set_rack_shifts(q, None, id).await.unwrap();
    let row = db::rack_shifts(q, id).await.unwrap();
    assert_eq!(row.shifts, None);
    assert_eq!(
        row.first_shifts.iter().cloned().collect::<Vec<_>>(),
        [None, Some(iv(0, 1, 0))]
    );
    let from_go = r#"{"shifts":{"Elements":null,"Dims":null,"Valid":false},"first_shifts":{"Elements":[{"Microseconds":0,"Days":0,"Months":0,"Valid":false},{"Microseconds":0,"Days":1,"Months":0,"Valid":true}],"Dims":[{"Length":2,"LowerBound":1},{"Length":1,"LowerBound":1}],"Valid":true}}"#;
    let read: db::RackShiftsRow = serde_json::from_str(from_go).unwrap();
    assert_eq!(read, row);
    // A NULL element where elements are NOT NULL is an error, not a NULL.
    let null_element = format!(r#"{{"shifts":{SHIFTS_JSON},"first_shifts":{FIRST_SHIFTS_JSON}}}"#)
        .replacen(
            r#""Months":1,"Valid":true"#,
            r#""Months":1,"Valid":false"#,
            1,
        );
    let err = serde_json::from_str::<db::RackShiftsRow>(&null_element).unwrap_err();
    assert!(err.to_string().contains("a NULL interval"), "{err}");
    scratch.drop().await;
}
