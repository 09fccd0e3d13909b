package clients

import (
	"context"
	"encoding/json"
	"testing"

	"example.com/ledgerservice/ledger"
)

// TestAddedColumn: a column added to a table after the client was generated does not
// break it. The generated SQL names its columns instead of `*`, so rows keep the shape
// the client scans (pgx refuses a row with more columns than destinations). This is
// the rolling deploy: old clients on the new schema.
func TestAddedColumn(t *testing.T) {
	ctx := context.Background()
	pool := scratchDB(t)
	if _, err := pool.Exec(ctx, `ALTER TABLE accounts ADD COLUMN added_later text DEFAULT 'x';
		ALTER TABLE customers ADD COLUMN nickname text`); err != nil {
		t.Fatal(err)
	}
	q := ledger.New(pool)
	check(t, "UpsertCurrency", q.UpsertCurrency(ctx, ledger.UpsertCurrencyParams{Code: "EUR", Name: "Euro", MinorUnits: 2}))
	c := must[ledger.UpsertCustomerRow](t, "UpsertCustomer")(q.UpsertCustomer(ctx, ledger.UpsertCustomerParams{Email: "drift@example.com", FullName: "Drift"}))
	a := must[ledger.CreateAccountRow](t, "CreateAccount (RETURNING *)")(q.CreateAccount(ctx, ledger.CreateAccountParams{CustomerID: c.ID, Currency: "EUR", Metadata: json.RawMessage(`{}`), Tags: []string{}}))
	if got := must[ledger.AccountRow](t, "GetAccount (SELECT *)")(q.GetAccount(ctx, a.ID)); got.ID != a.ID {
		t.Fatalf("GetAccount: %+v", got)
	}
	with := must[ledger.GetAccountWithCustomerRow](t, "GetAccountWithCustomer (sqlc.embed)")(q.GetAccountWithCustomer(ctx, a.ID))
	if with.Customer.Email != "drift@example.com" {
		t.Fatalf("GetAccountWithCustomer: %+v", with)
	}
}
