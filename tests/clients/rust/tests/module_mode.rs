//! A client generated as a module of an existing crate
//! (tests/fixtures/generate/rust_module: `module: true`), used through that crate,
//! against PostgreSQL: every command of the fixture, COPY into a domain column.

mod common;

use common::Scratch;
use module_host::db;

#[tokio::test]
async fn a_generated_module_works_inside_its_crate() {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/generate/rust_module/schema.sql"
    );
    let scratch = Scratch::new("sqlpact_module", &[schema.into()]).await;
    let q = &scratch.client;

    let a = db::add_item(
        q,
        &db::AddItemParams {
            name: "bolt",
            color: Some(db::Color::Red),
            quantity: 3,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (a.name.as_str(), a.color, a.quantity),
        ("bolt", Some(db::Color::Red), 3)
    );
    let loaded = db::load_items(
        q,
        &[
            db::LoadItemsParams {
                name: "nut",
                quantity: 10,
            },
            db::LoadItemsParams {
                name: "washer",
                quantity: 0,
            },
        ],
    )
    .await
    .unwrap();
    assert_eq!(loaded, 2);
    assert_eq!(db::restock(q, 5, a.id).await.unwrap(), 1);
    let items = db::list_items(q).await.unwrap();
    let got: Vec<(&str, i32)> = items
        .iter()
        .map(|i| (i.name.as_str(), i.quantity))
        .collect();
    assert_eq!(got, [("bolt", 8), ("nut", 10), ("washer", 0)]);
    let names = db::item_names(q, &[items[2].id, items[0].id])
        .await
        .unwrap();
    assert_eq!(names, ["washer", "bolt"]);
    assert_eq!(module_host::first_item_name(q).await.unwrap(), "bolt");
    // The domain's CHECK still applies through the wrapper.
    assert!(db::restock(q, -100, a.id).await.is_err());
    scratch.drop().await;
}
