package clients

import (
	"context"
	"errors"
	"testing"

	"example.com/ledgerservice/ledger"
	"example.com/ledgerservice/ledger/wire"
	"google.golang.org/protobuf/proto"
)

// wireTrip sends a message through protobuf encoding and decoding.
func wireTrip[M proto.Message](t *testing.T, m M, fresh M) M {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, fresh); err != nil {
		t.Fatal(err)
	}
	return fresh
}

// Rows read from PostgreSQL through the generated Go client travel as their wire
// messages and come back equal: ToWire, protobuf encoding, decoding and FromWire lose
// nothing, NULL included. A malformed message is refused with the field it concerns.
func TestRowsSurviveTheWire(t *testing.T) {
	ctx := context.Background()
	q := ledger.New(scratchDB(t))
	check(t, "UpsertCurrency", q.UpsertCurrency(ctx, ledger.UpsertCurrencyParams{Code: "EUR", Name: "Euro", MinorUnits: 2}))
	ada := must[ledger.UpsertCustomerRow](t, "UpsertCustomer")(q.UpsertCustomer(ctx, ledger.UpsertCustomerParams{Email: "ada@example.com", FullName: "Ada Lovelace – Zoë ✓"}))
	m := wireTrip(t, ada.ToWire(), &wire.UpsertCustomerRow{})
	back, err := ledger.UpsertCustomerRowFromWire(m)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != ada.ID || back.FullName != ada.FullName || back.Country != nil || !back.CreatedAt.Equal(ada.CreatedAt) {
		t.Fatalf("customer came back as %+v, want %+v", back, ada)
	}

	created := must[ledger.CreateAccountRow](t, "CreateAccount")(q.CreateAccount(ctx, ledger.CreateAccountParams{
		CustomerID: ada.ID, Currency: "EUR",
		Metadata: []byte(`{"tier": "gold", "limits": [1, 2.5, null], "note": "ünïcode"}`),
		Tags:     []string{"vip", "ëu", ""},
	}))
	account := must[ledger.AccountRow](t, "GetAccount")(q.GetAccount(ctx, created.ID))
	am := account.ToWire()
	// The jsonb value is written as the Rust client writes it: compact, keys sorted.
	if am.Metadata != `{"limits":[1,2.5,null],"note":"ünïcode","tier":"gold"}` {
		t.Fatalf("metadata on the wire: %s", am.Metadata)
	}
	if am.DisplayName != nil || am.ClosedAt != nil || am.Status == wire.AccountStatus_ACCOUNT_STATUS_UNSPECIFIED {
		t.Fatalf("NULL or enum on the wire: %v", am)
	}
	got, err := ledger.AccountRowFromWire(wireTrip(t, am, &wire.AccountRow{}))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != account.ID || got.Status != account.Status || !got.Balance.Equal(account.Balance) ||
		got.DisplayName != nil || got.ClosedAt != nil || !got.CreatedAt.Equal(account.CreatedAt) ||
		len(got.Tags) != 3 || got.Tags[1] != "ëu" || got.Tags[2] != "" {
		t.Fatalf("account came back as %+v, want %+v", got, account)
	}
	jsonEq(t, "metadata back", got.Metadata, string(account.Metadata))
	if !proto.Equal(got.ToWire(), am) {
		t.Fatal("a second trip changes the message")
	}

	// Embeds: a NULL embed stays nil, a present one converts whole.
	both := must[ledger.GetAccountWithCustomerRow](t, "GetAccountWithCustomer")(q.GetAccountWithCustomer(ctx, account.ID))
	bm := wireTrip(t, both.ToWire(), &wire.GetAccountWithCustomerRow{})
	if bm.Accounts == nil || bm.Customers == nil || bm.Customers.Email != "ada@example.com" {
		t.Fatalf("embeds on the wire: %v", bm)
	}
	bothBack, err := ledger.GetAccountWithCustomerRowFromWire(bm)
	if err != nil || bothBack.Account.ID != account.ID || bothBack.Customer.ID != ada.ID {
		t.Fatalf("embeds back: %+v, %v", bothBack, err)
	}
	lonely := must[ledger.UpsertCustomerRow](t, "UpsertCustomer")(q.UpsertCustomer(ctx, ledger.UpsertCustomerParams{Email: "bob@example.com", FullName: "Bob"}))
	rows := must[[]ledger.GetCustomerWithAccountsRow](t, "GetCustomerWithAccounts")(q.GetCustomerWithAccounts(ctx, lonely.ID))
	if len(rows) != 1 || rows[0].Account != nil {
		t.Fatalf("GetCustomerWithAccounts: %+v", rows)
	}
	nm := wireTrip(t, rows[0].ToWire(), &wire.GetCustomerWithAccountsRow{})
	if nm.Accounts != nil {
		t.Fatal("a NULL embed was sent")
	}
	if r, err := ledger.GetCustomerWithAccountsRowFromWire(nm); err != nil || r.Account != nil || r.Customer.ID != lonely.ID {
		t.Fatalf("NULL embed back: %+v, %v", r, err)
	}

	// A required field missing, an unknown enum value, a malformed decimal: refused,
	// naming the field as the Rust client does.
	for _, c := range []struct {
		field string
		spoil func(*wire.AccountRow)
	}{
		{"created_at", func(m *wire.AccountRow) { m.CreatedAt = nil }},
		{"status", func(m *wire.AccountRow) { m.Status = 99 }},
		{"balance", func(m *wire.AccountRow) { m.Balance = "12,5" }},
		{"id", func(m *wire.AccountRow) { m.Id = "not-a-uuid" }},
		{"metadata", func(m *wire.AccountRow) { m.Metadata = "{" }},
	} {
		bad := proto.Clone(am).(*wire.AccountRow)
		c.spoil(bad)
		_, err := ledger.AccountRowFromWire(bad)
		var we *ledger.WireError
		if !errors.As(err, &we) || we.Field != c.field {
			t.Errorf("spoiled %s: got %v", c.field, err)
		}
	}
	if _, err := ledger.AccountRowFromWire(nil); err == nil {
		t.Error("a nil message converted")
	}
}
