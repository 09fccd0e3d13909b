//! Rows read from PostgreSQL through the generated Rust client travel as their wire
//! messages and come back equal: `From<&Row>`, protobuf encoding, decoding and
//! `TryFrom<message>` lose nothing, NULL included. A malformed message is refused with
//! the field it concerns.

mod common;

use common::Scratch;
use ledger_db as db;
use ledger_db::wire;
use prost::Message;

fn round_trip<R, M>(row: &R) -> R
where
    for<'a> M: From<&'a R> + Message + Default,
    R: TryFrom<M, Error = db::WireError>,
{
    let bytes = M::from(row).encode_to_vec();
    R::try_from(M::decode(bytes.as_slice()).expect("decodes")).expect("converts back")
}

#[tokio::test]
async fn rows_survive_the_wire() {
    let scratch = Scratch::new("sqlpact_wire_rs", &common::example_migrations()).await;
    let c = &scratch.client;
    db::upsert_currency(
        c,
        &db::UpsertCurrencyParams {
            code: "EUR",
            name: "Euro",
            minor_units: 2,
        },
    )
    .await
    .unwrap();
    let ada = db::upsert_customer(
        c,
        &db::UpsertCustomerParams {
            email: "ada@example.com",
            full_name: "Ada Lovelace – Zoë ✓",
            country: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(round_trip::<_, wire::UpsertCustomerRow>(&ada), ada);

    let meta = serde_json::json!({"tier": "gold", "limits": [1, 2.5, null], "note": "ünïcode"});
    let tags = vec!["vip".to_owned(), "ëu".to_owned(), String::new()];
    let created = db::create_account(
        c,
        &db::CreateAccountParams {
            customer_id: ada.id,
            currency: "EUR",
            display_name: None,
            metadata: &meta,
            tags: &tags,
        },
    )
    .await
    .unwrap();
    assert_eq!(round_trip::<_, wire::CreateAccountRow>(&created), created);
    let account = db::get_account(c, created.id).await.unwrap();
    assert!(account.display_name.is_none() && account.closed_at.is_none());
    let back = round_trip::<_, wire::AccountRow>(&account);
    assert_eq!(back, account);

    // NULL and absent are the same thing on the wire; an empty string is not NULL.
    let m = wire::AccountRow::from(&account);
    assert_eq!(m.display_name, None);
    assert_eq!(m.tags, tags);
    assert_eq!(m.status, wire::AccountStatus::from(account.status) as i32);
    assert_ne!(m.status, wire::AccountStatus::Unspecified as i32);

    // A required field missing, an unknown enum value, a malformed decimal: refused.
    let mut bad = m.clone();
    bad.created_at = None;
    let err = db::AccountRow::try_from(bad).unwrap_err();
    assert_eq!(err.field, "created_at");
    let mut bad = m.clone();
    bad.status = 99;
    assert_eq!(db::AccountRow::try_from(bad).unwrap_err().field, "status");
    let mut bad = m;
    bad.balance = "12,5".into();
    let err = db::AccountRow::try_from(bad).unwrap_err();
    assert_eq!(err.field, "balance");
    assert!(err.to_string().starts_with("wire field `balance`"), "{err}");
    scratch.drop().await;
}

/// The Go client writes jsonb values with `sqlpact.CanonicalJSON`; the shared cases say
/// what serde_json writes, so both clients put the same bytes on the wire.
#[test]
fn serde_json_writes_the_shared_canonical_json() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../runtime/testdata/canonical_json.json"
    ))
    .unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 10);
    let mut wrong = Vec::new();
    for c in &cases {
        let input = c["in"].as_str().unwrap();
        let want = c["out"].as_str().unwrap();
        let got = serde_json::from_str::<serde_json::Value>(input)
            .unwrap()
            .to_string();
        if got != want {
            wrong.push(format!("{input}: got {got}, want {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
