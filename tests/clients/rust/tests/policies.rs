//! Policies written in the registry take effect in the generated Rust client run on
//! the runtime (tests/fixtures/generate/kitchen_sink/sqlpact.yaml): a timeout, a retry
//! limit, `idempotent: false`, `expect_one_row` and an idempotency key. The Go client
//! is held to the same in tests/clients/go/policy_test.go.

mod common;

use std::time::{Duration, Instant};

use common::Scratch;
use kitchen_db as k;
use sqlpact_runtime::{Class, Db};

async fn runtime(scratch: &Scratch) -> Db {
    let db = Db::builder(&k::POLICIES)
        .seed(5)
        .host(&scratch.url)
        .unwrap()
        .build()
        .await
        .unwrap();
    db.ready().await.unwrap();
    db
}

fn schema() -> std::path::PathBuf {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/generate/kitchen_sink/schema.sql"
    )
    .into()
}

#[tokio::test]
async fn registry_policies_take_effect_through_the_runtime() {
    let scratch = Scratch::new("sqlpact_policies_rs", &[schema()]).await;
    let db = runtime(&scratch).await;

    // `SlowEcho: { timeout: 200ms }`.
    assert_eq!(k::slow_echo(&db, "hi", 0.01).await.unwrap().v, "hi");
    let t = Instant::now();
    let err = k::slow_echo(&db, "late", 3.0).await.unwrap_err();
    assert_eq!(err.class(), Class::Timeout, "{err}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());

    // `DropMyConnection: { idempotent: true, retry: twice }`: retried, twice in all.
    let err = k::drop_my_connection(&db).await.unwrap_err();
    assert_eq!(err.class(), Class::ServerShutdown, "{err}");
    assert_eq!(err.attempt_count(), 2, "{err}");

    // `DropMyConnectionOnce: { idempotent: false, retry: twice }`: sent, so never again.
    let err = k::drop_my_connection_once(&db).await.unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    assert_eq!(err.attempt_count(), 1, "{err}");

    // `BumpSampleVersion: { expect_one_row: true }`.
    let err = k::bump_sample_version(&db, 999, 1).await.unwrap_err();
    assert_eq!(err.class(), Class::Conflict, "{err}");

    // `AddNoteOnce: { idempotency_key: body }`.
    db.install_idempotency_table().await.unwrap();
    let first = k::add_note_once(&db, None, "note-1").await.unwrap();
    let again = k::add_note_once(&db, None, "note-1").await.unwrap();
    assert_eq!(first, again, "the replay returns the stored row");
    let n: i64 = scratch
        .client
        .query_one("SELECT count(*) FROM notes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "written once");
    assert_eq!(db.stats().replays, 1);

    drop(db);
    scratch.drop().await;
}

/// Without the runtime a plain client sends each statement once: no deadline, no
/// retry, yet the row-count contract still holds.
#[tokio::test]
async fn a_plain_client_sends_once_but_keeps_the_row_count_contract() {
    let scratch = Scratch::new("sqlpact_policies_plain_rs", &[schema()]).await;
    let err = k::bump_sample_version(&scratch.client, 999, 1)
        .await
        .unwrap_err();
    assert_eq!(err.class(), Class::Conflict);
    scratch.drop().await;
}

/// `:exec` queries of functions that return void (`pg_advisory_xact_lock`,
/// `pg_notify`) take their lock and send their notification, on a plain transaction
/// and through the runtime. The Go client is held to the same.
#[tokio::test]
async fn void_calls_run_for_their_effect() {
    use futures_util::StreamExt;
    use tokio_postgres::AsyncMessage;

    let mut scratch = Scratch::new("sqlpact_void_calls_rs", &[schema()]).await;
    let db = runtime(&scratch).await;
    let other = common::connect(&scratch.url).await;

    const KEY: i64 = 4242;
    let tx = scratch.client.transaction().await.unwrap();
    k::hold_advisory_lock(&tx, KEY).await.unwrap();
    assert!(
        !k::try_advisory_lock(&other, KEY).await.unwrap(),
        "the lock held by the transaction was taken again"
    );
    assert!(
        !k::try_advisory_lock(&db, KEY).await.unwrap(),
        "through the runtime: the lock held by the transaction was taken again"
    );
    tx.commit().await.unwrap();
    assert!(
        k::try_advisory_lock(&db, KEY).await.unwrap(),
        "the lock is released with its transaction"
    );

    // A listener on a connection of its own, whose messages this test reads.
    let (listener, mut conn) = tokio_postgres::connect(&scratch.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (tx_note, mut notes) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if let AsyncMessage::Notification(n) = m {
                let _ = tx_note.send((n.channel().to_owned(), n.payload().to_owned()));
            }
        }
    });
    listener.batch_execute("LISTEN kitchen_news").await.unwrap();
    k::announce(&db, "kitchen_news", "soup is ready")
        .await
        .unwrap();
    let note = tokio::time::timeout(Duration::from_secs(5), notes.recv())
        .await
        .expect("no notification within 5 s")
        .expect("the listener's connection ended");
    assert_eq!(note, ("kitchen_news".into(), "soup is ready".into()));

    drop((db, other, listener));
    scratch.drop().await;
}

#[tokio::test]
async fn functions_in_from_yield_their_rows() {
    let scratch = Scratch::new("sqlpact_table_functions_rs", &[schema()]).await;
    let db = runtime(&scratch).await;
    scratch
        .client
        .batch_execute("INSERT INTO notes (body) VALUES ('soup: leek'), ('bread'), ('soup: pea')")
        .await
        .unwrap();

    // `RETURNS TABLE (...)` selected from, numbered WITH ORDINALITY, through the
    // runtime (a STABLE function: a read) and over a plain client.
    let rows = k::notes_matching(&db, "soup%").await.unwrap();
    let got: Vec<(Option<String>, i64)> = rows.iter().map(|r| (r.body.clone(), r.n)).collect();
    assert_eq!(
        got,
        [
            (Some("soup: leek".into()), 1),
            (Some("soup: pea".into()), 2)
        ]
    );
    assert!(rows[0].note_id.unwrap() < rows[1].note_id.unwrap());
    assert!(k::notes_matching(&scratch.client, "tea%")
        .await
        .unwrap()
        .is_empty());

    // jsonb_to_recordset's columns come from the column definition list; a key the
    // document leaves out is NULL.
    let doc = serde_json::json!([{"body": "a", "weight": 3}, {"body": "b"}]);
    let rows = k::notes_from_json(&db, &doc).await.unwrap();
    let got: Vec<(Option<String>, Option<i32>)> =
        rows.into_iter().map(|r| (r.body, r.weight)).collect();
    assert_eq!(got, [(Some("a".into()), Some(3)), (Some("b".into()), None)]);

    drop(db);
    scratch.drop().await;
}

/// Two samples, the first with two notes, the second with none.
const WHOLE_ROWS_SQL: &str = "
INSERT INTO samples (flag, small, big, ratio8, amount, label, ref, stamp_tz, docb, scores, feeling)
VALUES (true, 1, 1, 1, 1, 'a', gen_random_uuid(), now(), '{}', '{}', 'happy'),
       (true, 2, 2, 2, 2, 'b', gen_random_uuid(), now(), '{}', '{}', 'sad');
INSERT INTO notes (sample_id, body)
SELECT id, b FROM samples, (VALUES ('pea'), ('leek')) AS v (b) WHERE label = 'a';";

#[tokio::test]
async fn whole_rows_and_rollups_keep_their_nulls() {
    let scratch = Scratch::new("sqlpact_whole_rows_rs", &[schema()]).await;
    let db = runtime(&scratch).await;
    scratch.client.batch_execute(WHOLE_ROWS_SQL).await.unwrap();

    // A whole row as JSON; NULL on the side of the LEFT JOIN that matched nothing.
    let rows = k::sample_notes_json(&db).await.unwrap();
    let bodies: Vec<Option<&str>> = rows
        .iter()
        .map(|r| {
            r.note.as_ref().map(|n| {
                assert_eq!(n["sample_id"].as_i64(), Some(r.id), "{n}");
                assert!(n["id"].as_i64().is_some(), "{n}");
                n["body"].as_str().unwrap()
            })
        })
        .collect();
    assert_eq!(bodies, [Some("pea"), Some("leek"), None]);

    // A group's rows collected by json_agg.
    let groups = k::notes_by_sample_json(&db).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert!(groups[0].sample_id.is_some());
    let got: Vec<&str> = groups[0]
        .notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["pea", "leek"]);

    // ROLLUP's total row: the body it leaves out is NULL, GROUPING says so.
    let totals = k::note_totals(&scratch.client).await.unwrap();
    let got: Vec<(Option<&str>, i64, i32)> = totals
        .iter()
        .map(|r| (r.body.as_deref(), r.n, r.total))
        .collect();
    assert_eq!(
        got,
        [(Some("leek"), 1, 0), (Some("pea"), 1, 0), (None, 2, 1)]
    );

    drop(db);
    scratch.drop().await;
}

#[tokio::test]
async fn merge_updates_or_inserts() {
    let scratch = Scratch::new("sqlpact_merge_rs", &[schema()]).await;
    let db = runtime(&scratch).await;
    // No note has id 1000: the MERGE inserts one (its id comes from the identity).
    assert_eq!(k::save_note(&db, 1000, "first").await.unwrap(), 1);
    let id: i64 = scratch
        .client
        .query_one("SELECT id FROM notes WHERE body = 'first'", &[])
        .await
        .unwrap()
        .get(0);
    // That id now matches: the MERGE updates the note in place.
    assert_eq!(k::save_note(&db, id, "second").await.unwrap(), 1);
    let bodies: Vec<String> = scratch
        .client
        .query("SELECT body FROM notes ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(bodies, ["second"]);
    drop(db);
    scratch.drop().await;
}
