//! Parity: one scenario (insert, read back, update, page, aggregate, delete) runs
//! through the generated Rust client and through the generated Go client
//! (tests/clients/go/cmd/parity) against the same database, emptied in between. Both
//! dump their results as JSON; after canonicalization the two dumps are identical.
//!
//! Canonicalization only removes what differs between two runs, never between two
//! languages: UUIDs the server generates become `uuid#N` in order of appearance,
//! timestamps the server takes from `now()` become `timestamp`, object keys are
//! sorted, and numbers are compared by value (`100.2500` and `100.25` are one number).

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::str::FromStr;

use chrono::TimeZone;
use common::Scratch;
use ledger_db as db;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tokio_postgres::Client;
use uuid::Uuid;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

type Steps = Vec<(String, Value)>;

fn add<T: serde::Serialize>(steps: &mut Steps, name: &str, v: T) {
    steps.push((name.to_owned(), serde_json::to_value(v).unwrap()));
}

async fn scenario(q: &Client) -> Steps {
    let mut s = Steps::new();
    db::upsert_currency(
        q,
        &db::UpsertCurrencyParams {
            code: "usd",
            name: "US Dollar",
            minor_units: 2,
        },
    )
    .await
    .unwrap();
    let ada = db::upsert_customer(
        q,
        &db::UpsertCustomerParams {
            email: "Ada@Example.com",
            full_name: "Ada Lovelace",
            country: Some("GB"),
        },
    )
    .await
    .unwrap();
    add(&mut s, "upsert_customer", &ada);
    let meta = json!({"segment": "retail", "limits": {"daily": 500}});
    let a1 = db::create_account(
        q,
        &db::CreateAccountParams {
            customer_id: ada.id,
            currency: "USD",
            display_name: Some("Main"),
            metadata: &meta,
            tags: &["primary".to_owned(), "ünïcode ✓".to_owned()],
        },
    )
    .await
    .unwrap();
    add(&mut s, "create_account_1", &a1);
    let a2 = db::create_account(
        q,
        &db::CreateAccountParams {
            customer_id: ada.id,
            currency: "USD",
            display_name: None,
            metadata: &json!({}),
            tags: &[],
        },
    )
    .await
    .unwrap();
    add(&mut s, "create_account_2", &a2);
    add(
        &mut s,
        "get_account",
        db::get_account(q, a1.id).await.unwrap(),
    );
    let n = db::update_account_status(
        q,
        &db::UpdateAccountStatusParams {
            status: db::AccountStatus::Active,
            id: a1.id,
            version: 1,
        },
    )
    .await
    .unwrap();
    add(&mut s, "update_account_status", n);
    let merged = db::merge_account_metadata(q, &json!({"tier": "gold"}), a1.id)
        .await
        .unwrap();
    add(&mut s, "merge_account_metadata", merged);
    for (i, offset) in [0, 1, 2].into_iter().enumerate() {
        let page = db::list_accounts(
            q,
            &db::ListAccountsParams {
                status: None,
                currency: None,
                row_limit: 1,
                row_offset: offset,
            },
        )
        .await
        .unwrap();
        add(&mut s, &format!("list_accounts_page_{i}"), page);
    }
    let dep = db::create_transfer(
        q,
        &db::CreateTransferParams {
            from_account_id: None,
            to_account_id: Some(a1.id),
            amount: dec("12345678901234.5678"),
            currency: "USD",
            description: None,
            idempotency_key: Some("dep-1"),
        },
    )
    .await
    .unwrap();
    add(&mut s, "create_transfer", &dep);
    add(
        &mut s,
        "post_transfer",
        db::post_transfer(q, dep.id).await.unwrap(),
    );
    let copied = db::insert_ledger_entries(
        q,
        &[
            db::InsertLedgerEntriesParams {
                account_id: a1.id,
                transfer_id: Some(dep.id),
                amount: dec("12345678901234.5678"),
                balance_after: dec("12345678901234.5678"),
            },
            db::InsertLedgerEntriesParams {
                account_id: a1.id,
                transfer_id: None,
                amount: dec("-0.0001"),
                balance_after: dec("12345678901234.5677"),
            },
        ],
    )
    .await
    .unwrap();
    add(&mut s, "insert_ledger_entries", copied);
    let entries = db::list_ledger_entries(
        q,
        &db::ListLedgerEntriesParams {
            account_id: a1.id,
            row_limit: 10,
            row_offset: 0,
        },
    )
    .await
    .unwrap();
    add(&mut s, "list_ledger_entries", entries);
    add(
        &mut s,
        "get_ledger_totals",
        db::get_ledger_totals(q, a1.id).await.unwrap(),
    );
    add(
        &mut s,
        "get_ledger_totals_empty",
        db::get_ledger_totals(q, a2.id).await.unwrap(),
    );
    add(
        &mut s,
        "list_customer_summaries",
        db::list_customer_summaries(q, 10).await.unwrap(),
    );
    let hold = db::place_hold(
        q,
        &db::PlaceHoldParams {
            account_id: a2.id,
            transfer_id: None,
            amount: dec("2.5"),
            reason: "review",
            expires_at: chrono::Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap(),
        },
    )
    .await
    .unwrap();
    add(&mut s, "place_hold", hold);
    db::close_account(q, a2.id).await.unwrap();
    add(&mut s, "close_account", ());
    add(
        &mut s,
        "delete_holds_of_closed_accounts",
        db::delete_holds_of_closed_accounts(q).await.unwrap(),
    );
    add(
        &mut s,
        "get_customer_with_accounts",
        db::get_customer_with_accounts(q, ada.id).await.unwrap(),
    );
    add(
        &mut s,
        "list_account_snapshots",
        db::list_account_snapshots(q, &[a1.id, a2.id])
            .await
            .unwrap(),
    );
    s
}

/// See the module documentation.
struct Canon {
    uuids: HashMap<String, usize>,
}

impl Canon {
    fn value(&mut self, v: &Value) -> Value {
        match v {
            Value::String(s) => self.string(s),
            Value::Number(n) => Value::String(number(&n.to_string())),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), self.value(x))).collect())
            }
            other => other.clone(),
        }
    }

    fn string(&mut self, s: &str) -> Value {
        if Uuid::parse_str(s).is_ok() && s.len() == 36 {
            let n = self.uuids.len() + 1;
            let id = *self.uuids.entry(s.to_owned()).or_insert(n);
            return Value::String(format!("uuid#{id}"));
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            // Fixed timestamps the scenario wrote keep their value; now() does not.
            return Value::String(if t.timestamp() == 1_893_553_445 {
                t.to_utc().to_rfc3339()
            } else {
                "timestamp".into()
            });
        }
        if Decimal::from_str(s).is_ok()
            && s.chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        {
            return Value::String(number(s));
        }
        Value::String(s.to_owned())
    }
}

/// A decimal number without trailing zeros: `100.2500` → `100.25`, `1500.0` → `1500`.
fn number(s: &str) -> String {
    match Decimal::from_str(s) {
        Ok(d) => d.normalize().to_string(),
        Err(_) => s.to_owned(),
    }
}

fn canonical(steps: &Value) -> String {
    let mut c = Canon {
        uuids: HashMap::new(),
    };
    serde_json::to_string_pretty(&c.value(steps)).unwrap()
}

#[tokio::test]
async fn go_and_rust_clients_give_identical_results() {
    let db = Scratch::new("sqlpact_parity", &common::example_migrations()).await;
    let client = &db.client;

    let rust: Value = Value::Array(
        scenario(client)
            .await
            .into_iter()
            .map(|(n, v)| json!([n, v]))
            .collect(),
    );

    // Empty every table, identities restarted, then the Go client runs the same scenario.
    client
        .batch_execute(
            "DO $$ DECLARE t text; BEGIN
               FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
                 EXECUTE format('TRUNCATE %I RESTART IDENTITY CASCADE', t);
               END LOOP;
             END $$;",
        )
        .await
        .unwrap();
    let out = std::env::temp_dir().join(format!("sqlpact_parity_{}.json", std::process::id()));
    let run = Command::new("go")
        .args(["run", "./cmd/parity", "-out"])
        .arg(&out)
        .current_dir(common::GO_DIR)
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("run `go` (the Go toolchain is needed for the parity test)");
    db.drop().await;
    assert!(
        run.status.success(),
        "go run ./cmd/parity failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let go: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);

    let (r, g) = (canonical(&rust), canonical(&go));
    if r != g {
        let diff = similar_lines(&g, &r);
        panic!("the Go (-) and Rust (+) dumps differ:\n{diff}");
    }
    // The dump is not trivially empty: every step is there, with real rows.
    assert_eq!(rust.as_array().unwrap().len(), 21);
    assert!(r.contains("\"12345678901234.5678\""), "{r}");
    assert!(r.contains("ünïcode ✓"), "{r}");
}

/// A line diff of two texts, for the failure message.
fn similar_lines(a: &str, b: &str) -> String {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out = String::new();
    let n = al.len().max(bl.len());
    for i in 0..n {
        match (al.get(i), bl.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("{i}: - {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("{i}: + {y}\n"));
                }
            }
        }
    }
    out
}
