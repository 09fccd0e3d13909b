//! A client whose types come from crates of the registry's own choosing
//! (tests/fixtures/generate/custom_crates): `timestamptz` and `date` as the `time`
//! crate's types, through a tokio-postgres feature the registry names, and a column as
//! a local crate's newtype, against PostgreSQL.

mod common;

use common::Scratch;
use shipping_db as db;
use time::{Date, Month, OffsetDateTime, UtcOffset};
use units::Grams;

fn date(day: u8) -> Date {
    Date::from_calendar_date(2026, Month::November, day).unwrap()
}

#[tokio::test]
async fn overridden_types_from_declared_crates_round_trip() {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/generate/custom_crates/schema.sql"
    );
    let scratch = Scratch::new("sqlpact_custom_crates", &[schema.into()]).await;
    let q = &scratch.client;

    // Microseconds, as the server keeps them, in an offset other than UTC.
    let shipped = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_000)
        .unwrap()
        .to_offset(UtcOffset::from_hms(5, 30, 0).unwrap());
    let mut added = Vec::new();
    for (arrives, grams, note) in [
        (Some(date(24)), 1_250, Some("fragile")),
        (None, 9_000_000_000, None),
        (Some(date(20)), 40, None),
    ] {
        let row = db::add_shipment(
            q,
            &db::AddShipmentParams {
                shipped_at: &shipped,
                arrives: arrives.as_ref(),
                weight_grams: &Grams(grams),
                note,
            },
        )
        .await
        .unwrap();
        assert_eq!(row.shipped_at, shipped, "the same instant");
        assert_eq!(row.shipped_at.offset(), UtcOffset::UTC, "read back in UTC");
        assert_eq!(
            (row.arrives, row.weight_grams, row.note.as_deref()),
            (arrives, Grams(grams), note)
        );
        added.push(row.id);
    }

    let arriving = db::arriving_between(q, &date(1), &date(30)).await.unwrap();
    let got: Vec<(i64, Date, Grams)> = arriving
        .iter()
        .map(|r| (r.id, r.arrives, r.weight_grams))
        .collect();
    assert_eq!(
        got,
        [
            (added[2], date(20), Grams(40)),
            (added[0], date(24), Grams(1_250))
        ]
    );
    assert!(db::arriving_between(q, &date(25), &date(30))
        .await
        .unwrap()
        .is_empty());

    let h = db::heaviest_since(q, &(shipped - time::Duration::DAY))
        .await
        .unwrap();
    assert_eq!(
        (h.heaviest, h.earliest),
        (Some(9_000_000_000), Some(shipped))
    );
    let none = db::heaviest_since(q, &(shipped + time::Duration::SECOND))
        .await
        .unwrap();
    assert_eq!((none.heaviest, none.earliest), (None, None));
    scratch.drop().await;
}
