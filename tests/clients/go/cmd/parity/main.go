// Command parity runs the parity scenario through the generated Go client against the
// database named by DATABASE_URL (which must hold the example's schema, empty) and
// writes the results as JSON to -out. The Rust test tests/clients/rust/tests/parity.rs
// runs the same scenario through the Rust client and compares the two dumps.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"example.com/ledgerservice/ledger"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
)

type step struct {
	name  string
	value any
}

func main() {
	out := flag.String("out", "", "file to write the JSON dump to")
	flag.Parse()
	if *out == "" || os.Getenv("DATABASE_URL") == "" {
		fmt.Fprintln(os.Stderr, "usage: DATABASE_URL=... parity -out FILE")
		os.Exit(2)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fail(err)
	}
	defer pool.Close()
	steps, err := scenario(ctx, ledger.New(pool))
	if err != nil {
		fail(err)
	}
	dump := make([][2]any, len(steps))
	for i, s := range steps {
		dump[i] = [2]any{s.name, s.value}
	}
	b, err := json.MarshalIndent(dump, "", "  ")
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "parity:", err)
	os.Exit(1)
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func ptr[T any](v T) *T { return &v }

// scenario: insert, read back, update, page, aggregate, delete.
func scenario(ctx context.Context, q *ledger.Queries) ([]step, error) {
	var steps []step
	add := func(name string, v any, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		steps = append(steps, step{name, v})
		return nil
	}
	if err := q.UpsertCurrency(ctx, ledger.UpsertCurrencyParams{Code: "usd", Name: "US Dollar", MinorUnits: 2}); err != nil {
		return nil, err
	}
	ada, err := q.UpsertCustomer(ctx, ledger.UpsertCustomerParams{Email: "Ada@Example.com", FullName: "Ada Lovelace", Country: ptr("GB")})
	if err := add("upsert_customer", ada, err); err != nil {
		return nil, err
	}
	a1, err := q.CreateAccount(ctx, ledger.CreateAccountParams{CustomerID: ada.ID, Currency: "USD", DisplayName: ptr("Main"),
		Metadata: json.RawMessage(`{"segment": "retail", "limits": {"daily": 500}}`), Tags: []string{"primary", "ünïcode ✓"}})
	if err := add("create_account_1", a1, err); err != nil {
		return nil, err
	}
	a2, err := q.CreateAccount(ctx, ledger.CreateAccountParams{CustomerID: ada.ID, Currency: "USD", Metadata: json.RawMessage(`{}`), Tags: []string{}})
	if err := add("create_account_2", a2, err); err != nil {
		return nil, err
	}
	got, err := q.GetAccount(ctx, a1.ID)
	if err := add("get_account", got, err); err != nil {
		return nil, err
	}
	n, err := q.UpdateAccountStatus(ctx, ledger.UpdateAccountStatusParams{Status: ledger.AccountStatusActive, ID: a1.ID, Version: 1})
	if err := add("update_account_status", n, err); err != nil {
		return nil, err
	}
	merged, err := q.MergeAccountMetadata(ctx, json.RawMessage(`{"tier": "gold"}`), a1.ID)
	if err := add("merge_account_metadata", merged, err); err != nil {
		return nil, err
	}
	for i, off := range []int64{0, 1, 2} {
		page, err := q.ListAccounts(ctx, ledger.ListAccountsParams{RowLimit: 1, RowOffset: off})
		if err := add(fmt.Sprintf("list_accounts_page_%d", i), page, err); err != nil {
			return nil, err
		}
	}
	dep, err := q.CreateTransfer(ctx, ledger.CreateTransferParams{ToAccountID: &a1.ID, Amount: dec("12345678901234.5678"), Currency: "USD", IdempotencyKey: ptr("dep-1")})
	if err := add("create_transfer", dep, err); err != nil {
		return nil, err
	}
	posted, err := q.PostTransfer(ctx, dep.ID)
	if err := add("post_transfer", posted, err); err != nil {
		return nil, err
	}
	copied, err := q.InsertLedgerEntries(ctx, []ledger.InsertLedgerEntriesParams{
		{AccountID: a1.ID, TransferID: &dep.ID, Amount: dec("12345678901234.5678"), BalanceAfter: dec("12345678901234.5678")},
		{AccountID: a1.ID, Amount: dec("-0.0001"), BalanceAfter: dec("12345678901234.5677")},
	})
	if err := add("insert_ledger_entries", copied, err); err != nil {
		return nil, err
	}
	entries, err := q.ListLedgerEntries(ctx, ledger.ListLedgerEntriesParams{AccountID: a1.ID, RowLimit: 10})
	if err := add("list_ledger_entries", entries, err); err != nil {
		return nil, err
	}
	totals, err := q.GetLedgerTotals(ctx, a1.ID)
	if err := add("get_ledger_totals", totals, err); err != nil {
		return nil, err
	}
	empty, err := q.GetLedgerTotals(ctx, a2.ID)
	if err := add("get_ledger_totals_empty", empty, err); err != nil {
		return nil, err
	}
	summaries, err := q.ListCustomerSummaries(ctx, 10)
	if err := add("list_customer_summaries", summaries, err); err != nil {
		return nil, err
	}
	hold, err := q.PlaceHold(ctx, ledger.PlaceHoldParams{AccountID: a2.ID, Amount: dec("2.5"), Reason: "review", ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err := add("place_hold", hold, err); err != nil {
		return nil, err
	}
	if err := add("close_account", nil, q.CloseAccount(ctx, a2.ID)); err != nil {
		return nil, err
	}
	deleted, err := q.DeleteHoldsOfClosedAccounts(ctx)
	if err := add("delete_holds_of_closed_accounts", deleted, err); err != nil {
		return nil, err
	}
	withAccts, err := q.GetCustomerWithAccounts(ctx, ada.ID)
	if err := add("get_customer_with_accounts", withAccts, err); err != nil {
		return nil, err
	}
	snaps, err := q.ListAccountSnapshots(ctx, []uuid.UUID{a1.ID, a2.ID})
	if err := add("list_account_snapshots", snaps, err); err != nil {
		return nil, err
	}
	return steps, nil
}
