//! Every query of the example contract through the generated Rust client, against a
//! real PostgreSQL (the server named by DATABASE_URL), with its results asserted. A
//! recording `Executor` proves that every statement ran.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Mutex;

mod common;

use chrono::{Datelike, Duration, Utc};
use common::Scratch;
use futures_util::TryStreamExt;
use ledger_db::{self as db, Class, Error, Executor, RowStream, Statement};
use rust_decimal::Decimal;
use serde_json::json;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// An Executor that runs on another (a plain client, or the runtime) and counts each
/// statement.
struct Recorder<'a, E> {
    client: &'a E,
    seen: Mutex<BTreeMap<&'static str, u32>>,
}

impl<E> Recorder<'_, E> {
    fn saw(&self, st: &'static Statement) {
        *self.seen.lock().unwrap().entry(st.name).or_default() += 1;
    }

    fn missing(&self) -> Vec<&'static str> {
        let seen = self.seen.lock().unwrap();
        db::STATEMENTS
            .iter()
            .filter(|s| !seen.contains_key(s.name))
            .map(|s| s.name)
            .collect()
    }
}

impl<E: Executor> Executor for Recorder<'_, E> {
    async fn query(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        self.saw(st);
        Executor::query(self.client, st, params).await
    }

    async fn query_opt(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        self.saw(st);
        Executor::query_opt(self.client, st, params).await
    }

    async fn query_stream(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<RowStream<Row>, Error> {
        self.saw(st);
        Executor::query_stream(self.client, st, params).await
    }

    async fn execute(
        &self,
        st: &'static Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error> {
        self.saw(st);
        Executor::execute(self.client, st, params).await
    }

    async fn copy_in<'a, R: AsRef<[&'a (dyn ToSql + Sync)]> + Sync>(
        &self,
        st: &'static Statement,
        copy: &'static str,
        rows: &[R],
    ) -> Result<u64, Error> {
        self.saw(st);
        Executor::copy_in(self.client, st, copy, rows).await
    }
}

#[tokio::test]
async fn every_query_runs_with_the_expected_results() {
    let db = Scratch::new("sqlpact_rust", &common::example_migrations()).await;
    let q = Recorder {
        client: &db.client,
        seen: Mutex::new(BTreeMap::new()),
    };
    scenario(&q).await;
    let missing = q.missing();
    db.drop().await;
    assert!(missing.is_empty(), "queries never run: {missing:?}");
}

/// The same scenario through the runtime, built from the contract's own policies.
#[tokio::test]
async fn every_query_runs_through_the_runtime() {
    let scratch = Scratch::new("sqlpact_rust_rt", &common::example_migrations()).await;
    let rt = sqlpact_runtime::Db::builder(&db::POLICIES)
        .seed(1)
        .host(&scratch.url)
        .unwrap()
        .build()
        .await
        .unwrap();
    rt.ready().await.unwrap();
    let q = Recorder {
        client: &rt,
        seen: Mutex::new(BTreeMap::new()),
    };
    scenario(&q).await;
    let missing = q.missing();
    let stats = rt.stats();
    drop(rt);
    scratch.drop().await;
    assert!(missing.is_empty(), "queries never run: {missing:?}");
    assert!(stats.calls >= db::STATEMENTS.len() as u64, "{stats:?}");
    // Two `:one` lookups fail on purpose with no row; nothing else fails.
    assert_eq!(
        stats.failures.values().sum::<u64>(),
        stats.failures.get("not_found").copied().unwrap_or(0),
        "{stats:?}"
    );
}

async fn scenario<E: Executor>(q: &Recorder<'_, E>) {
    let now = Utc::now();

    // Currencies and customers.
    for (code, name, minor) in [
        ("usd", "US Dollar", 2),
        ("EUR", "Euro", 2),
        ("JPY", "Yen", 0),
    ] {
        let p = db::UpsertCurrencyParams {
            code,
            name,
            minor_units: minor,
        };
        db::upsert_currency(q, &p).await.unwrap();
    }
    let customer = |email, full_name, country| db::UpsertCustomerParams {
        email,
        full_name,
        country,
    };
    let ada = db::upsert_customer(q, &customer("Ada@Example.com", "Ada Lovelace", Some("GB")))
        .await
        .unwrap();
    assert_eq!(ada.email, "ada@example.com");
    assert_eq!(ada.country.as_deref(), Some("GB"));
    let bob = db::upsert_customer(q, &customer("bob@example.com", "Bob Babbage", Some("DE")))
        .await
        .unwrap();
    let carol = db::upsert_customer(q, &customer("carol@example.com", "Carol Shaw", Some("US")))
        .await
        .unwrap();
    let again = db::upsert_customer(q, &customer("bob@example.com", "Bob B. Babbage", None))
        .await
        .unwrap();
    assert_eq!(again.id, bob.id);
    assert_eq!(again.full_name, "Bob B. Babbage");
    assert_eq!(again.country.as_deref(), Some("DE"));

    let by_email = db::get_customer_by_email(q, "ADA@example.COM")
        .await
        .unwrap();
    assert_eq!(by_email.id, ada.id);
    match db::get_customer_by_email(q, "nobody@example.com").await {
        Err(e) if e.class() == Class::NotFound => {
            assert_eq!(e.statement_name(), Some("GetCustomerByEmail"))
        }
        other => panic!("GetCustomerByEmail of nobody: {other:?}"),
    }
    let upd = db::update_customer(
        q,
        &db::UpdateCustomerParams {
            full_name: None,
            country: Some("FR"),
            id: ada.id,
        },
    )
    .await
    .unwrap();
    assert_eq!(upd.full_name, "Ada Lovelace");
    assert_eq!(upd.country.as_deref(), Some("FR"));
    let found = db::search_customers(q, "lovelace", 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, ada.id);

    // Accounts.
    let meta = json!({"segment": "retail", "limits": {"daily": 500}});
    let a1 = db::create_account(
        q,
        &db::CreateAccountParams {
            customer_id: ada.id,
            currency: "USD",
            display_name: Some("Main"),
            metadata: &meta,
            tags: &["primary".to_owned()],
        },
    )
    .await
    .unwrap();
    assert_eq!(a1.status, db::AccountStatus::Pending);
    assert_eq!(a1.balance, Decimal::ZERO);
    assert_eq!(a1.version, 1);
    assert_eq!(a1.display_name.as_deref(), Some("Main"));
    let empty = json!({});
    let a2 = db::create_account(
        q,
        &db::CreateAccountParams {
            customer_id: ada.id,
            currency: "USD",
            display_name: None,
            metadata: &empty,
            tags: &[],
        },
    )
    .await
    .unwrap();
    assert_eq!(a2.display_name, None);
    assert!(a2.tags.is_empty());
    let business = json!({"segment": "business"});
    let b1 = db::create_account(
        q,
        &db::CreateAccountParams {
            customer_id: bob.id,
            currency: "EUR",
            display_name: Some("Bob"),
            metadata: &business,
            tags: &["b".to_owned()],
        },
    )
    .await
    .unwrap();

    let got = db::get_account(q, a1.id).await.unwrap();
    assert_eq!(got.currency, "USD");
    assert_eq!(got.tags, ["primary"]);
    assert_eq!(got.metadata, meta);
    let locked = db::get_account_for_update(q, a1.id).await.unwrap();
    assert_eq!(locked.id, a1.id);
    let status = |status, id, version| db::UpdateAccountStatusParams {
        status,
        id,
        version,
    };
    let n = db::update_account_status(q, &status(db::AccountStatus::Active, a1.id, 1))
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = db::update_account_status(q, &status(db::AccountStatus::Frozen, a1.id, 1))
        .await
        .unwrap();
    assert_eq!(n, 0, "a stale version updates nothing");
    let listed = db::list_accounts(
        q,
        &db::ListAccountsParams {
            status: Some(db::AccountStatus::Active),
            currency: Some("USD"),
            row_limit: 10,
            row_offset: 0,
        },
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, a1.id);
    let all = db::list_accounts(
        q,
        &db::ListAccountsParams {
            status: None,
            currency: None,
            row_limit: 10,
            row_offset: 0,
        },
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 3);
    let all_params = db::ListAccountsParams {
        status: None,
        currency: None,
        row_limit: 10,
        row_offset: 0,
    };
    let streamed: Vec<db::ListAccountsRow> = db::list_accounts_stream(q, &all_params)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, all, "the streaming variant yields the same rows");
    let by_ids = db::get_accounts_by_ids(q, &[a1.id, a2.id]).await.unwrap();
    assert_eq!(by_ids.len(), 2);
    let snaps = db::list_account_snapshots(q, &[a1.id, b1.id, Uuid::new_v4()])
        .await
        .unwrap();
    assert_eq!(snaps.len(), 2);
    let with_cust = db::get_account_with_customer(q, a1.id).await.unwrap();
    assert_eq!(with_cust.account.id, a1.id);
    assert_eq!(with_cust.customer.email, "ada@example.com");
    let merged = db::merge_account_metadata(q, &json!({"tier": "gold"}), a1.id)
        .await
        .unwrap();
    assert_eq!(merged.version, 3);
    assert_eq!(
        merged.metadata,
        json!({"segment": "retail", "limits": {"daily": 500}, "tier": "gold"})
    );
    let seg = db::find_accounts_by_segment(q, &json!({"segment": "retail"}))
        .await
        .unwrap();
    assert_eq!(seg.len(), 1);
    assert_eq!(seg[0].segment.as_deref(), Some("retail"));
    assert_eq!(seg[0].daily_limit, Some(dec("500")));
    assert_eq!(seg[0].limits, Some(json!({"daily": 500})));
    db::add_account_tag(q, "vip", a1.id).await.unwrap();
    db::add_account_tag(q, "vip", a1.id).await.unwrap();
    assert_eq!(
        db::get_account(q, a1.id).await.unwrap().tags,
        ["primary", "vip"]
    );
    db::freeze_accounts(q, &[b1.id]).await.unwrap();
    let batch = db::get_account_batch(q, &[a1.id, b1.id]).await.unwrap();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[0].status, db::AccountStatus::Active);
    assert_eq!(batch[1].status, db::AccountStatus::Frozen);
    assert_eq!(batch[1].status.as_str(), "frozen");
    let usage = db::list_currency_usage(q).await.unwrap();
    assert_eq!(usage.len(), 4);
    assert_eq!(usage[1].code, "JPY");
    assert_eq!(usage[1].account_id, None);
    assert_eq!(usage[2].code, "USD");
    assert!(usage[2].account_id.is_some());

    // Customers with accounts: a nullable embed.
    let bob_accts = db::get_customer_with_accounts(q, bob.id).await.unwrap();
    assert_eq!(bob_accts.len(), 1);
    assert_eq!(bob_accts[0].account.as_ref().map(|a| a.id), Some(b1.id));
    let carol_accts = db::get_customer_with_accounts(q, carol.id).await.unwrap();
    assert_eq!(carol_accts.len(), 1);
    assert_eq!(carol_accts[0].account, None);
    assert_eq!(carol_accts[0].customer.id, carol.id);
    let summaries = db::list_customer_summaries(q, 10).await.unwrap();
    assert_eq!(summaries.len(), 3);
    for s in &summaries {
        if s.id == carol.id {
            assert_eq!(s.account_count, 0);
            assert_eq!(s.total_balance, None);
            assert_eq!(s.last_opened_at, None);
        } else if s.id == ada.id {
            assert_eq!(s.account_count, 2);
            assert_eq!(s.total_balance, Some(Decimal::ZERO));
        }
    }
    let dormant = db::list_dormant_customers(q, now + Duration::hours(1))
        .await
        .unwrap();
    let ids: Vec<Uuid> = dormant.iter().map(|d| d.id).collect();
    assert_eq!(ids, [bob.id, carol.id]);

    // API keys.
    let key = db::create_api_key(
        q,
        &db::CreateApiKeyParams {
            customer_id: ada.id,
            prefix: "sk_test",
            key_hash: &[0, 1, 2, 255],
            scopes: &["read".to_owned(), "write".to_owned()],
        },
    )
    .await
    .unwrap();
    let auth = db::authenticate_api_key(q, "sk_test").await.unwrap();
    assert_eq!(auth.api_key_id, key.id);
    assert_eq!(auth.key_hash, [0, 1, 2, 255]);
    assert_eq!(auth.scopes.len(), 2);
    db::touch_api_key(q, key.id).await.unwrap();
    assert_eq!(db::revoke_customer_api_keys(q, ada.id).await.unwrap(), 1);
    assert!(matches!(
        db::authenticate_api_key(q, "sk_test").await,
        Err(e) if e.class() == Class::NotFound
    ));

    // Transfers.
    let dep = db::create_transfer(
        q,
        &db::CreateTransferParams {
            from_account_id: None,
            to_account_id: Some(a1.id),
            amount: dec("100.25"),
            currency: "USD",
            description: Some("opening deposit"),
            idempotency_key: Some("dep-1"),
        },
    )
    .await
    .unwrap();
    assert_eq!(dep.status, db::TransferStatus::Pending);
    assert_eq!(dep.from_account_id, None);
    assert_eq!(dep.amount, dec("100.25"));
    let by_key = db::get_transfer_by_idempotency_key(q, "dep-1")
        .await
        .unwrap();
    assert_eq!(by_key.id, dep.id);
    let posted = db::post_transfer(q, dep.id).await.unwrap();
    assert_eq!(posted.from_balance, None);
    assert_eq!(posted.to_balance, Some(dec("100.25")));
    assert!(matches!(
        db::post_transfer(q, dep.id).await,
        Err(e) if e.class() == Class::NotFound
    ));
    let details = db::get_transfer_details(q, dep.id).await.unwrap();
    assert_eq!(details.from_account_id, None);
    assert_eq!(details.to_account_id, Some(a1.id));
    assert_eq!(details.minor_units, 2);
    assert_eq!(details.status, db::TransferStatus::Posted);
    assert!(!details.has_active_hold);
    assert_eq!(details.total_debit, details.amount + details.fee);
    let out1 = db::create_transfer(
        q,
        &db::CreateTransferParams {
            from_account_id: Some(a1.id),
            to_account_id: Some(a2.id),
            amount: dec("30"),
            currency: "USD",
            description: None,
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let multi = db::create_transfers(
        q,
        &db::CreateTransfersParams {
            currency: "USD",
            from_account_ids: &[a1.id, a1.id],
            to_account_ids: &[a2.id, a2.id],
            amounts: &[dec("1.5"), dec("2.5")],
        },
    )
    .await
    .unwrap();
    assert_eq!(multi.len(), 2);
    assert_ne!(multi[0].id, multi[1].id);
    let page = db::list_account_transfers(
        q,
        &db::ListAccountTransfersParams {
            account_id: a1.id,
            after_created_at: now + Duration::hours(1),
            after_id: Uuid::max(),
            page_size: 2,
        },
    )
    .await
    .unwrap();
    assert_eq!(page.len(), 2);
    let next = db::list_account_transfers(
        q,
        &db::ListAccountTransfersParams {
            account_id: a1.id,
            after_created_at: page[1].created_at,
            after_id: page[1].id,
            page_size: 10,
        },
    )
    .await
    .unwrap();
    assert_eq!(next.len(), 2);
    let recent = db::list_recent_transfers(q, &[a1.id, b1.id]).await.unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0].len(), 3);
    assert!(recent[1].is_empty());
    let counterparties = db::list_counterparties(q, a1.id).await.unwrap();
    assert_eq!(counterparties, [a2.id]);

    // Holds.
    let hold = db::place_hold(
        q,
        &db::PlaceHoldParams {
            account_id: a1.id,
            transfer_id: Some(out1.id),
            amount: dec("10.5"),
            reason: "authorization",
            expires_at: now + Duration::hours(1),
        },
    )
    .await
    .unwrap();
    assert_eq!(hold.amount, dec("10.5"));
    assert_eq!(hold.released_at, None);
    db::place_hold(
        q,
        &db::PlaceHoldParams {
            account_id: a1.id,
            transfer_id: None,
            amount: dec("1"),
            reason: "stale",
            expires_at: now - Duration::hours(1),
        },
    )
    .await
    .unwrap();
    let active_holds = db::list_active_holds(q, a1.id).await.unwrap();
    assert_eq!(active_holds.len(), 1);
    assert_eq!(active_holds[0].id, hold.id);
    assert_eq!(active_holds[0].currency, "USD");
    let avail = db::get_available_balance(q, a1.id).await.unwrap();
    assert_eq!(avail.balance, dec("100.25"));
    assert_eq!(avail.held, dec("11.5"));
    assert_eq!(avail.available, dec("88.75"));
    let classes = db::classify_accounts(q, ada.id).await.unwrap();
    assert_eq!(classes.len(), 2);
    assert_eq!(classes[0].balance_state, "empty");
    assert_eq!(classes[1].balance_state, "funded");
    assert_eq!(classes[1].review_queue, None);
    db::release_expired_holds(q).await.unwrap();
    let released = db::release_holds_for_transfer(q, out1.id).await.unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].id, hold.id);
    assert_eq!(released[0].transfer_status, db::TransferStatus::Pending);
    assert!(db::list_active_holds(q, a1.id).await.unwrap().is_empty());
    db::place_hold(
        q,
        &db::PlaceHoldParams {
            account_id: a2.id,
            transfer_id: None,
            amount: dec("2"),
            reason: "review",
            expires_at: now + Duration::hours(1),
        },
    )
    .await
    .unwrap();
    db::close_account(q, a2.id).await.unwrap();
    let closed = db::get_account(q, a2.id).await.unwrap();
    assert_eq!(closed.status, db::AccountStatus::Closed);
    assert!(closed.closed_at.is_some());
    let deleted = db::delete_holds_of_closed_accounts(q).await.unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].account_id, a2.id);
    assert_eq!(deleted[0].amount, dec("2"));

    // Outbox and webhooks.
    let ev = db::enqueue_transfer_event(q, dep.id).await.unwrap();
    assert_eq!(ev.event_type, "transfer.posted");
    assert_eq!(ev.aggregate_id, dep.id);
    let claimed = db::claim_outbox_events(q, 5, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(claimed[0].currency.as_deref(), Some("USD"));
    db::mark_events_published(q, &[ev.id]).await.unwrap();
    assert!(db::claim_outbox_events(q, 5, 10).await.unwrap().is_empty());
    let hook = db::upsert_webhook_endpoint(
        q,
        &db::UpsertWebhookEndpointParams {
            customer_id: ada.id,
            url: "https://hooks.example.com/ledger",
            secret: "s3cret",
            event_types: &["transfer.posted".to_owned()],
        },
    )
    .await
    .unwrap();
    let endpoints = db::list_endpoints_for_event(q, ada.id, "transfer.posted")
        .await
        .unwrap();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].id, hook.id);
    let delivery = |status_code, response_body, duration_ms| db::RecordDeliveryParams {
        endpoint_id: hook.id,
        event_id: ev.id,
        status_code,
        response_body,
        duration_ms,
    };
    db::record_delivery(q, &delivery(Some(200), Some("ok"), Some(1500.0)))
        .await
        .unwrap();
    db::record_delivery(q, &delivery(None, None, Some(500.0)))
        .await
        .unwrap();
    let stats = db::get_delivery_stats(q, ada.id).await.unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].deliveries, 2);
    assert_eq!(stats[0].succeeded, 1);

    // Audit log.
    let reason = json!({"reason": "test"});
    db::insert_audit_log(
        q,
        &db::InsertAuditLogParams {
            actor: "ops",
            action: "freeze",
            entity_type: "account",
            entity_id: Some(a1.id),
            payload: &reason,
        },
    )
    .await
    .unwrap();
    db::insert_audit_log(
        q,
        &db::InsertAuditLogParams {
            actor: "ops",
            action: "login",
            entity_type: "session",
            entity_id: None,
            payload: &empty,
        },
    )
    .await
    .unwrap();
    let audit = db::list_audit_log(
        q,
        &db::ListAuditLogParams {
            entity_type: "account",
            entity_id: a1.id,
            page_size: 10,
        },
    )
    .await
    .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].reason.as_deref(), Some("test"));

    // Ledger entries.
    let n = db::insert_ledger_entries(
        q,
        &[
            db::InsertLedgerEntriesParams {
                account_id: a1.id,
                transfer_id: Some(dep.id),
                amount: dec("100.25"),
                balance_after: dec("100.25"),
            },
            db::InsertLedgerEntriesParams {
                account_id: a1.id,
                transfer_id: None,
                amount: dec("-0.25"),
                balance_after: dec("100"),
            },
        ],
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
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
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].seq, 2);
    assert_eq!(entries[1].running_balance, dec("100"));
    assert_eq!(entries[1].transfer_id, None);
    let latest = db::get_latest_entries(q, &[a1.id, b1.id]).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].id, entries[1].id);
    assert_eq!(latest[0].rn, 1);
    let totals = db::get_ledger_totals(q, a1.id).await.unwrap();
    assert_eq!(totals.entry_count, 2);
    assert_eq!(totals.net_amount, Some(dec("100")));
    assert_eq!(totals.total_credits, dec("100.25"));
    assert_eq!(totals.total_debits, dec("0.25"));
    assert_eq!(totals.last_entry_id, entries[1].id);
    let none = db::get_ledger_totals(q, b1.id).await.unwrap();
    assert_eq!(none.entry_count, 0);
    assert_eq!(none.net_amount, None);
    assert_eq!(none.last_entry_at, None);
    assert_eq!(none.last_entry_id, 0);
    let recon = db::reconcile_balances(q).await.unwrap();
    assert_eq!(recon.len(), 1);
    assert_eq!(recon[0].account_id, Some(a1.id));
    assert_eq!(recon[0].difference, dec("0.25"));
    assert_eq!(db::insert_opening_entries(q, bob.id).await.unwrap(), 1);

    // Reports.
    let since = now - Duration::hours(24);
    let volume = db::daily_transfer_volume(q, since, now + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(volume.len(), 1);
    assert_eq!(volume[0].transfer_count, 1);
    assert_eq!(volume[0].total_amount, dec("100.25"));
    let statement = db::monthly_statement(q, a1.id).await.unwrap();
    assert_eq!(statement.len(), 1);
    assert_eq!(statement[0].entry_count, 2);
    assert_eq!(statement[0].statement_year, now.year());
    let overview = db::get_customer_overview(q, ada.id).await.unwrap();
    assert_eq!(overview.account_ids.len(), 2);
    assert_eq!(overview.currencies, "USD");
    assert_eq!(overview.active_api_keys, 0);
    let activity = db::list_account_activity(q, a1.id, 50).await.unwrap();
    let mut kinds: BTreeMap<&str, u32> = BTreeMap::new();
    for a in &activity {
        *kinds.entry(a.kind.as_str()).or_default() += 1;
    }
    assert_eq!(kinds.get("transfer"), Some(&4));
    assert_eq!(kinds.get("hold"), Some(&2));
    assert_eq!(kinds.get("audit:freeze"), Some(&1));
    let unusual = db::list_unusual_transfers(q, since).await.unwrap();
    assert_eq!(unusual.len(), 1);
    assert_eq!(unusual[0].amount, dec("30"));
    let converted = db::list_balances_converted(q, dec("1.123"), ada.id)
        .await
        .unwrap();
    assert_eq!(converted.len(), 2);
    assert_eq!(converted[0].converted_balance, dec("112.58"));

    // Housekeeping last: it fails every pending transfer.
    let failed = db::fail_stale_transfers(q, &pg_interval::Interval::new(0, 0, 0))
        .await
        .unwrap();
    assert_eq!(failed, 3);
}
