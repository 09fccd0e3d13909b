//! Round trips of every mapped type between the generated Rust and Go clients, on the
//! kitchen-sink fixture (tests/fixtures/generate/kitchen_sink): extremes, NULLs, empty
//! arrays, a 30-digit numeric, timestamps written with a time zone, non-ASCII text.
//!
//! Rust writes each value set and reads it back (Rust ⇄ PostgreSQL). The Go client
//! (tests/clients/go/cmd/roundtrip) then reads each row and writes what it read as a
//! new row; Rust reads the Go-written rows and finds the very values it wrote, and the
//! server finds the two rows equal column by column. A value Go misread, or wrote
//! differently, shows up in both checks.
//!
//! The Go client also sends each row it read as its wire message: the bytes must be the
//! bytes Rust writes for the row it read, and Rust must read them back into that row.
//! So every mapped type has one wire form, written alike by both clients.

mod common;

use std::net::IpAddr;
use std::process::Command;
use std::str::FromStr;

use chrono::{FixedOffset, NaiveDate, TimeZone, Utc};
use common::Scratch;
use kitchen_db as k;
use prost::Message;
use rust_decimal::Decimal;
use serde_json::json;

/// The values of one sample as Rust reads them back.
fn expected(p: &k::InsertSampleParams<'_>) -> serde_json::Value {
    json!({
        "flag": p.flag, "small": p.small, "medium": p.medium, "big": p.big,
        "ratio4": p.ratio4, "ratio8": p.ratio8, "amount": p.amount.normalize().to_string(),
        "note": p.note, "label": p.label, "code": p.code, "blob": p.blob, "ref": p.r#ref,
        "day": p.day, "at_time": p.at_time, "stamp": p.stamp, "stamp_tz": p.stamp_tz,
        "span": p.span.map(|s| s.to_iso_8601()), "doc": p.doc, "docb": p.docb,
        "addr": p.addr, "net": p.net.map(|n| n.to_string()), "mac": p.mac.map(|m| m.to_hex_string()),
        "scores": p.scores, "words": p.words, "feeling": p.feeling.as_str(),
        "maybe_mood": p.maybe_mood.map(|m| m.as_str()), "pct": p.pct.map(|d| d.normalize().to_string()),
        "type": p.r#type, "fn": p.r#fn, "self": p.self_, "range": p.range,
    })
}

fn actual(r: &k::GetSampleRow) -> serde_json::Value {
    json!({
        "flag": r.flag, "small": r.small, "medium": r.medium, "big": r.big,
        "ratio4": r.ratio4, "ratio8": r.ratio8, "amount": r.amount.normalize().to_string(),
        "note": r.note, "label": r.label, "code": r.code, "blob": r.blob, "ref": r.r#ref,
        "day": r.day, "at_time": r.at_time, "stamp": r.stamp, "stamp_tz": r.stamp_tz,
        "span": r.span.map(|s| s.to_iso_8601()), "doc": r.doc, "docb": r.docb,
        "addr": r.addr, "net": r.net.map(|n| n.to_string()), "mac": r.mac.map(|m| m.to_hex_string()),
        "scores": r.scores, "words": r.words, "feeling": r.feeling.as_str(),
        "maybe_mood": r.maybe_mood.map(|m| m.as_str()), "pct": r.pct.map(|d| d.normalize().to_string()),
        "type": r.r#type, "fn": r.r#fn, "self": r.self_, "range": r.range,
    })
}

#[tokio::test]
async fn every_mapped_type_round_trips_between_go_and_rust() {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/generate/kitchen_sink/schema.sql"
    );
    let scratch = Scratch::new("sqlpact_roundtrip", &[schema.into()]).await;
    let db = &scratch.client;

    let doc = json!({"list": [1, 2.5, "ü"], "nested": {"null": null}});
    let docb = json!({"k": "v", "n": 1});
    let empty = json!({});
    let span = pg_interval::Interval::new(14, 3, 4_000_005);
    let net = cidr::IpCidr::from_str("10.0.0.0/8").unwrap();
    let mac = eui48::MacAddress::parse_str("08:00:2b:01:02:03").unwrap();
    let back_span = pg_interval::Interval::new(-25, -1, -1_500_000);
    let host_net = cidr::IpCidr::from_str("192.0.2.7/32").unwrap();
    let mac_hex = eui48::MacAddress::parse_str("ab:cd:ef:00:0a:ff").unwrap();
    let tags = ["with \"quotes\", commas, {braces}".to_owned()];
    let words = [
        "ascii".to_owned(),
        "ünïcode ✓ 日本語".to_owned(),
        String::new(),
    ];
    let plus_two = FixedOffset::east_opt(2 * 3600).unwrap();
    let ref_id = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let sets = [
        // Upper extremes, every nullable column set.
        k::InsertSampleParams {
            flag: true,
            small: i16::MAX,
            medium: Some(i32::MAX),
            big: i64::MAX,
            ratio4: Some(3.402_823_5e38),
            ratio8: 1.797_693_134_862_315_7e308,
            amount: Decimal::from_str("12345678901234567890.1234567890").unwrap(),
            note: Some("ünïcode ✓ 日本語 \u{1F600}"),
            label: "max",
            code: Some("ABC"),
            blob: Some(&[0, 1, 127, 128, 255]),
            r#ref: ref_id,
            day: NaiveDate::from_ymd_opt(2024, 2, 29),
            at_time: chrono::NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999),
            stamp: NaiveDate::from_ymd_opt(2024, 12, 31)
                .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 123_456)),
            stamp_tz: plus_two
                .with_ymd_and_hms(2024, 6, 30, 12, 0, 0)
                .unwrap()
                .with_timezone(&Utc),
            span: Some(&span),
            doc: Some(&doc),
            docb: &docb,
            addr: Some(IpAddr::from_str("2001:db8::1").unwrap()),
            net: Some(&net),
            mac: Some(&mac),
            scores: &[i32::MIN, 0, i32::MAX],
            words: Some(&words),
            feeling: k::Mood::SoSo,
            maybe_mood: Some(k::Mood::Happy),
            pct: Some(Decimal::from_str("99.99").unwrap()),
            r#type: Some("type"),
            r#fn: Some(1),
            self_: Some("self"),
            range: Some(-1),
        },
        // Lower extremes.
        k::InsertSampleParams {
            flag: false,
            small: i16::MIN,
            medium: Some(i32::MIN),
            big: i64::MIN,
            ratio4: Some(-1.5),
            ratio8: -2.5e-308,
            amount: Decimal::from_str("-0.0000000001").unwrap(),
            note: Some(""),
            label: "min",
            code: None,
            blob: Some(&[]),
            r#ref: uuid::Uuid::nil(),
            day: NaiveDate::from_ymd_opt(1, 1, 1),
            at_time: chrono::NaiveTime::from_hms_opt(0, 0, 0),
            stamp: NaiveDate::from_ymd_opt(1970, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)),
            stamp_tz: Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap(),
            span: None,
            doc: None,
            docb: &empty,
            addr: Some(IpAddr::from_str("127.0.0.1").unwrap()),
            net: None,
            mac: None,
            scores: &[],
            words: Some(&[]),
            feeling: k::Mood::Sad,
            maybe_mood: None,
            pct: Some(Decimal::ZERO),
            r#type: None,
            r#fn: Some(0),
            self_: None,
            range: None,
        },
        // Everyday values whose written forms have trailing zeros, negative parts or a
        // full-length network: the wire form must be the same from both clients.
        k::InsertSampleParams {
            flag: false,
            small: -42,
            medium: Some(7),
            big: 1_234_567_890_123,
            ratio4: Some(0.1),
            ratio8: 0.1,
            amount: Decimal::from_str("1.5000000000").unwrap(),
            note: Some("line one\nline two\t\u{7f}"),
            label: "typical",
            code: Some("x y"),
            blob: Some(&[0; 3]),
            r#ref: uuid::Uuid::from_u128(0x5f0c_1a4e_8d2b_4c1a_9e7f_0123_4567_89ab),
            day: NaiveDate::from_ymd_opt(1999, 12, 31),
            at_time: chrono::NaiveTime::from_hms_micro_opt(12, 30, 0, 500_000),
            stamp: NaiveDate::from_ymd_opt(1969, 7, 20)
                .and_then(|d| d.and_hms_micro_opt(20, 17, 40, 100)),
            stamp_tz: Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 1).unwrap(),
            span: Some(&back_span),
            doc: Some(&empty),
            docb: &doc,
            addr: Some(IpAddr::from_str("::ffff:192.0.2.1").unwrap()),
            net: Some(&host_net),
            mac: Some(&mac_hex),
            scores: &[7],
            words: Some(&tags),
            feeling: k::Mood::SoSo,
            maybe_mood: Some(k::Mood::Sad),
            pct: Some(Decimal::from_str("0.50").unwrap()),
            r#type: Some(""),
            r#fn: Some(-1),
            self_: Some("ü"),
            range: Some(i32::MAX),
        },
        // Every nullable column NULL.
        k::InsertSampleParams {
            flag: true,
            small: 0,
            medium: None,
            big: 0,
            ratio4: None,
            ratio8: 0.0,
            amount: Decimal::ZERO,
            note: None,
            label: "nulls",
            code: None,
            blob: None,
            r#ref: ref_id,
            day: None,
            at_time: None,
            stamp: None,
            stamp_tz: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
            span: None,
            doc: None,
            docb: &empty,
            addr: None,
            net: None,
            mac: None,
            scores: &[],
            words: None,
            feeling: k::Mood::Happy,
            maybe_mood: None,
            pct: None,
            r#type: None,
            r#fn: None,
            self_: None,
            range: None,
        },
    ];

    // Rust writes and reads back.
    let mut ids = Vec::new();
    for p in &sets {
        let id = k::insert_sample(db, p).await.unwrap().id;
        let back = k::get_sample(db, id).await.unwrap();
        assert_eq!(
            actual(&back),
            expected(p),
            "Rust round trip of `{}`",
            p.label
        );
        ids.push(id);
    }

    // Go reads every row and writes what it read.
    let run = Command::new("go")
        .args(["run", "./cmd/roundtrip"])
        .args(ids.iter().map(i64::to_string))
        .current_dir(common::GO_DIR)
        .env("DATABASE_URL", &scratch.url)
        .output()
        .expect("run `go` (the Go toolchain is needed for the round-trip test)");
    assert!(
        run.status.success(),
        "go run ./cmd/roundtrip failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    #[derive(serde::Deserialize)]
    struct Echo {
        id: i64,
        wire: String,
    }
    let echoes: Vec<Echo> = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(echoes.len(), sets.len());

    // Go's wire bytes are Rust's, and Rust reads them back into the row it read.
    for (p, (id, e)) in sets.iter().zip(ids.iter().zip(&echoes)) {
        let row = k::get_sample(db, *id).await.unwrap();
        let ours = hex(&k::wire::GetSampleRow::from(&row).encode_to_vec());
        assert_eq!(e.wire, ours, "wire bytes of `{}`: Go, then Rust", p.label);
        let bytes = unhex(&e.wire);
        let m = k::wire::GetSampleRow::decode(bytes.as_slice()).unwrap();
        let back = k::GetSampleRow::try_from(m).unwrap();
        assert_eq!(back, row, "Go's wire message of `{}` read by Rust", p.label);
    }
    let echoed: Vec<i64> = echoes.iter().map(|e| e.id).collect();

    // Rust reads what Go wrote: the same values; and the server agrees column by column.
    for ((p, id), echo) in sets.iter().zip(&ids).zip(&echoed) {
        let back = k::get_sample(db, *echo).await.unwrap();
        assert_eq!(
            actual(&back),
            expected(p),
            "Go-written copy of `{}`",
            p.label
        );
        let same: bool = db
            .query_one(
                "SELECT (to_jsonb(a) - 'id') = (to_jsonb(b) - 'id')
                 FROM samples a, samples b WHERE a.id = $1 AND b.id = $2",
                &[id, echo],
            )
            .await
            .unwrap()
            .get(0);
        assert!(same, "the server sees a difference for `{}`", p.label);
    }
    scratch.drop().await;
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// NULL-able lists whose elements each convert (enums, timestamps, uuids as bytes,
/// intervals) travel alike: Rust sends a row's message, Go decodes it, sends the lists
/// through PostgreSQL and writes the returned row, and the bytes are Rust's own. Present,
/// empty and NULL lists each keep their meaning.
#[tokio::test]
async fn nullable_lists_travel_alike_from_go_and_rust() {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/generate/kitchen_sink/schema.sql"
    );
    let scratch = Scratch::new("sqlpact_lists", &[schema.into()]).await;
    let db = &scratch.client;
    let stamps = [
        Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap(),
        Utc.timestamp_opt(1_700_000_000, 123_456_000).unwrap(),
    ];
    let refs = [uuid::Uuid::nil(), uuid::Uuid::from_u128(u128::MAX)];
    let spans = [
        pg_interval::Interval::new(-25, 3, 1),
        pg_interval::Interval::new(0, 0, 0),
    ];
    let moods = [k::Mood::Happy, k::Mood::SoSo];
    let cases = [
        k::EchoListsParams {
            moods: Some(&moods),
            stamps: Some(&stamps),
            refs: Some(&refs),
            spans: Some(&spans),
        },
        k::EchoListsParams {
            moods: Some(&[]),
            stamps: None,
            refs: Some(&[]),
            spans: None,
        },
    ];
    for p in &cases {
        let row = k::echo_lists(db, p).await.unwrap();
        assert_eq!(row.moods.as_deref(), p.moods);
        assert_eq!(row.spans.as_deref(), p.spans);
        let m = k::wire::EchoListsRow::from(&row);
        assert_eq!(m.stamps.is_none(), p.stamps.is_none());
        let bytes = m.encode_to_vec();
        let back = k::EchoListsRow::try_from(k::wire::EchoListsRow::decode(&*bytes).unwrap());
        assert_eq!(back.unwrap(), row);

        let run = Command::new("go")
            .args(["run", "./cmd/roundtrip", "lists", &hex(&bytes)])
            .current_dir(common::GO_DIR)
            .env("DATABASE_URL", &scratch.url)
            .output()
            .expect("run `go`");
        assert!(
            run.status.success(),
            "go run ./cmd/roundtrip lists failed:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let go = String::from_utf8(run.stdout).unwrap();
        assert_eq!(go.trim(), hex(&bytes), "Go's bytes, then Rust's");
    }
    scratch.drop().await;
}

/// serde of the generated rows carries an interval through its ISO 8601 form and back.
#[test]
fn rows_with_intervals_round_trip_through_serde() {
    for span in [
        pg_interval::Interval::new(14, 3, 4_000_005),
        pg_interval::Interval::new(0, 0, 0),
        pg_interval::Interval::new(-1, -2, -3_000_000),
    ] {
        let row = k::InsertSampleRow {
            id: 1,
            flag: true,
            small: 0,
            medium: None,
            big: 0,
            ratio4: None,
            ratio8: 0.0,
            amount: Decimal::ZERO,
            note: None,
            label: String::new(),
            code: None,
            blob: None,
            r#ref: uuid::Uuid::nil(),
            day: None,
            at_time: None,
            stamp: None,
            stamp_tz: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
            span: Some(span),
            doc: None,
            docb: json!({}),
            addr: None,
            net: None,
            mac: None,
            scores: vec![],
            words: None,
            feeling: k::Mood::Happy,
            maybe_mood: None,
            pct: None,
            r#type: None,
            r#fn: None,
            self_: None,
            range: None,
        };
        let text = serde_json::to_string(&row).unwrap();
        let back: k::InsertSampleRow = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{span:?} does not read back from {text}: {e}"));
        assert_eq!(back, row);
    }
}
