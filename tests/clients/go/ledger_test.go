package clients

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"example.com/ledgerservice/ledger"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
	sqlpact "github.com/sqlpact/sqlpact/runtime/go"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func jsonEq(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("%s: %v (%s)", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("%s: got %s, want %s", what, ja, jb)
	}
}

// TestEveryQuery runs every query of the example contract through the generated
// Go client against a real PostgreSQL and asserts its results. A recording Runner
// proves that every statement ran.
func TestEveryQuery(t *testing.T) {
	pool := scratchDB(t)
	rec := &recorder{seen: map[string]int{}}
	everyQuery(t, ledger.NewWithRunner(pool, rec), rec)
}

// TestEveryQueryThroughTheRuntime runs the same through the runtime core, opened with
// the contract's own policy table.
func TestEveryQueryThroughTheRuntime(t *testing.T) {
	ctx := context.Background()
	pool := scratchDB(t)
	c := pool.Config().ConnConfig
	url := fmt.Sprintf("postgresql://%s:%s@%s:%d/%s", c.User, c.Password, c.Host, c.Port, c.Database)
	db, err := sqlpact.Open(ctx, ledger.Policies, sqlpact.Options{Hosts: []string{url}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{seen: map[string]int{}, inner: db}
	everyQuery(t, ledger.NewWithRunner(db, rec), rec)
	s := db.Stats()
	if s.Calls < int64(len(ledger.Statements)) {
		t.Fatalf("%d calls through the runtime", s.Calls)
	}
	var failures int64
	for _, n := range s.Failures {
		failures += n
	}
	// Lookups that find no row on purpose are the only failures.
	if failures != s.Failures[sqlpact.ClassNotFound] {
		t.Fatalf("failures: %v", s.Failures)
	}
}

func everyQuery(t *testing.T, q *ledger.Queries, rec *recorder) {
	ctx := context.Background()

	// Currencies and customers.
	check(t, "UpsertCurrency usd", q.UpsertCurrency(ctx, ledger.UpsertCurrencyParams{Code: "usd", Name: "US Dollar", MinorUnits: 2}))
	check(t, "UpsertCurrency eur", q.UpsertCurrency(ctx, ledger.UpsertCurrencyParams{Code: "EUR", Name: "Euro", MinorUnits: 2}))
	check(t, "UpsertCurrency jpy", q.UpsertCurrency(ctx, ledger.UpsertCurrencyParams{Code: "JPY", Name: "Yen", MinorUnits: 0}))

	ada := must[ledger.UpsertCustomerRow](t, "UpsertCustomer ada")(q.UpsertCustomer(ctx, ledger.UpsertCustomerParams{Email: "Ada@Example.com", FullName: "Ada Lovelace", Country: ptr("GB")}))
	if ada.Email != "ada@example.com" || ada.Country == nil || *ada.Country != "GB" {
		t.Fatalf("UpsertCustomer: %+v", ada)
	}
	bob := must[ledger.UpsertCustomerRow](t, "UpsertCustomer bob")(q.UpsertCustomer(ctx, ledger.UpsertCustomerParams{Email: "bob@example.com", FullName: "Bob Babbage", Country: ptr("DE")}))
	carol := must[ledger.UpsertCustomerRow](t, "UpsertCustomer carol")(q.UpsertCustomer(ctx, ledger.UpsertCustomerParams{Email: "carol@example.com", FullName: "Carol Shaw", Country: ptr("US")}))
	again := must[ledger.UpsertCustomerRow](t, "UpsertCustomer again")(q.UpsertCustomer(ctx, ledger.UpsertCustomerParams{Email: "bob@example.com", FullName: "Bob B. Babbage"}))
	if again.ID != bob.ID || again.FullName != "Bob B. Babbage" || again.Country == nil || *again.Country != "DE" {
		t.Fatalf("upsert kept identity and country: %+v", again)
	}

	byEmail := must[ledger.GetCustomerByEmailRow](t, "GetCustomerByEmail")(q.GetCustomerByEmail(ctx, "ADA@example.COM"))
	if byEmail.ID != ada.ID {
		t.Fatalf("GetCustomerByEmail: %+v", byEmail)
	}
	if _, err := q.GetCustomerByEmail(ctx, "nobody@example.com"); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("GetCustomerByEmail of nobody: %v", err)
	}
	upd := must[ledger.UpdateCustomerRow](t, "UpdateCustomer")(q.UpdateCustomer(ctx, ledger.UpdateCustomerParams{Country: ptr("FR"), ID: ada.ID}))
	if upd.FullName != "Ada Lovelace" || upd.Country == nil || *upd.Country != "FR" {
		t.Fatalf("UpdateCustomer: %+v", upd)
	}
	found := must[[]ledger.SearchCustomersRow](t, "SearchCustomers")(q.SearchCustomers(ctx, "lovelace", 10))
	if len(found) != 1 || found[0].ID != ada.ID {
		t.Fatalf("SearchCustomers: %+v", found)
	}

	// Accounts.
	a1 := must[ledger.CreateAccountRow](t, "CreateAccount a1")(q.CreateAccount(ctx, ledger.CreateAccountParams{
		CustomerID: ada.ID, Currency: "USD", DisplayName: ptr("Main"),
		Metadata: json.RawMessage(`{"segment": "retail", "limits": {"daily": 500}}`), Tags: []string{"primary"},
	}))
	if a1.Status != ledger.AccountStatusPending || !a1.Balance.IsZero() || a1.Version != 1 || *a1.DisplayName != "Main" {
		t.Fatalf("CreateAccount: %+v", a1)
	}
	a2 := must[ledger.CreateAccountRow](t, "CreateAccount a2")(q.CreateAccount(ctx, ledger.CreateAccountParams{
		CustomerID: ada.ID, Currency: "USD", Metadata: json.RawMessage(`{}`), Tags: []string{},
	}))
	if a2.DisplayName != nil || len(a2.Tags) != 0 {
		t.Fatalf("CreateAccount a2: %+v", a2)
	}
	b1 := must[ledger.CreateAccountRow](t, "CreateAccount b1")(q.CreateAccount(ctx, ledger.CreateAccountParams{
		CustomerID: bob.ID, Currency: "EUR", DisplayName: ptr("Bob"), Metadata: json.RawMessage(`{"segment": "business"}`), Tags: []string{"b"},
	}))

	got := must[ledger.AccountRow](t, "GetAccount")(q.GetAccount(ctx, a1.ID))
	if got.ID != a1.ID || got.Currency != "USD" || got.Tags[0] != "primary" {
		t.Fatalf("GetAccount: %+v", got)
	}
	jsonEq(t, "GetAccount metadata", got.Metadata, `{"segment": "retail", "limits": {"daily": 500}}`)
	locked := must[ledger.AccountRow](t, "GetAccountForUpdate")(q.GetAccountForUpdate(ctx, a1.ID))
	if locked.ID != a1.ID {
		t.Fatalf("GetAccountForUpdate: %+v", locked)
	}
	if n := must[int64](t, "UpdateAccountStatus")(q.UpdateAccountStatus(ctx, ledger.UpdateAccountStatusParams{Status: ledger.AccountStatusActive, ID: a1.ID, Version: 1})); n != 1 {
		t.Fatalf("UpdateAccountStatus: %d rows", n)
	}
	if n := must[int64](t, "UpdateAccountStatus stale")(q.UpdateAccountStatus(ctx, ledger.UpdateAccountStatusParams{Status: ledger.AccountStatusFrozen, ID: a1.ID, Version: 1})); n != 0 {
		t.Fatalf("UpdateAccountStatus with a stale version: %d rows", n)
	}
	active := ledger.AccountStatusActive
	listed := must[[]ledger.ListAccountsRow](t, "ListAccounts")(q.ListAccounts(ctx, ledger.ListAccountsParams{Status: &active, Currency: ptr("USD"), RowLimit: 10}))
	if len(listed) != 1 || listed[0].ID != a1.ID {
		t.Fatalf("ListAccounts active USD: %+v", listed)
	}
	all := must[[]ledger.ListAccountsRow](t, "ListAccounts all")(q.ListAccounts(ctx, ledger.ListAccountsParams{RowLimit: 10}))
	if len(all) != 3 {
		t.Fatalf("ListAccounts without filters: %d rows", len(all))
	}
	byIDs := must[[]ledger.GetAccountsByIDsRow](t, "GetAccountsByIDs")(q.GetAccountsByIDs(ctx, []uuid.UUID{a1.ID, a2.ID}))
	if len(byIDs) != 2 {
		t.Fatalf("GetAccountsByIDs: %+v", byIDs)
	}
	snaps := must[[]ledger.ListAccountSnapshotsRow](t, "ListAccountSnapshots")(q.ListAccountSnapshots(ctx, []uuid.UUID{a1.ID, b1.ID, uuid.New()}))
	if len(snaps) != 2 {
		t.Fatalf("ListAccountSnapshots: %+v", snaps)
	}
	withCust := must[ledger.GetAccountWithCustomerRow](t, "GetAccountWithCustomer")(q.GetAccountWithCustomer(ctx, a1.ID))
	if withCust.Account.ID != a1.ID || withCust.Customer.Email != "ada@example.com" {
		t.Fatalf("GetAccountWithCustomer: %+v", withCust)
	}
	merged := must[ledger.MergeAccountMetadataRow](t, "MergeAccountMetadata")(q.MergeAccountMetadata(ctx, json.RawMessage(`{"tier": "gold"}`), a1.ID))
	if merged.Version != 3 {
		t.Fatalf("MergeAccountMetadata version: %d", merged.Version)
	}
	jsonEq(t, "MergeAccountMetadata", merged.Metadata, `{"segment": "retail", "limits": {"daily": 500}, "tier": "gold"}`)
	seg := must[[]ledger.FindAccountsBySegmentRow](t, "FindAccountsBySegment")(q.FindAccountsBySegment(ctx, json.RawMessage(`{"segment": "retail"}`)))
	if len(seg) != 1 || seg[0].ID != a1.ID || seg[0].Segment == nil || *seg[0].Segment != "retail" || seg[0].DailyLimit == nil || !seg[0].DailyLimit.Equal(dec("500")) {
		t.Fatalf("FindAccountsBySegment: %+v", seg)
	}
	jsonEq(t, "FindAccountsBySegment limits", seg[0].Limits, `{"daily": 500}`)
	check(t, "AddAccountTag", q.AddAccountTag(ctx, "vip", a1.ID))
	check(t, "AddAccountTag twice", q.AddAccountTag(ctx, "vip", a1.ID))
	if got := must[ledger.AccountRow](t, "GetAccount tags")(q.GetAccount(ctx, a1.ID)); len(got.Tags) != 2 || got.Tags[1] != "vip" {
		t.Fatalf("AddAccountTag: %v", got.Tags)
	}
	check(t, "FreezeAccounts", q.FreezeAccounts(ctx, []uuid.UUID{b1.ID}))
	batch := must[[]ledger.GetAccountBatchRow](t, "GetAccountBatch")(q.GetAccountBatch(ctx, []uuid.UUID{a1.ID, b1.ID}))
	if len(batch) != 2 || batch[0].Status != ledger.AccountStatusActive || batch[1].Status != ledger.AccountStatusFrozen || !batch[1].Status.Valid() {
		t.Fatalf("GetAccountBatch: %+v", batch)
	}
	usage := must[[]ledger.ListCurrencyUsageRow](t, "ListCurrencyUsage")(q.ListCurrencyUsage(ctx))
	if len(usage) != 4 || usage[1].Code != "JPY" || usage[1].AccountID != nil || usage[2].Code != "USD" || usage[2].AccountID == nil {
		t.Fatalf("ListCurrencyUsage: %+v", usage)
	}

	// Customers with accounts: a nullable embed.
	bobAccts := must[[]ledger.GetCustomerWithAccountsRow](t, "GetCustomerWithAccounts bob")(q.GetCustomerWithAccounts(ctx, bob.ID))
	if len(bobAccts) != 1 || bobAccts[0].Account == nil || bobAccts[0].Account.ID != b1.ID {
		t.Fatalf("GetCustomerWithAccounts bob: %+v", bobAccts)
	}
	carolAccts := must[[]ledger.GetCustomerWithAccountsRow](t, "GetCustomerWithAccounts carol")(q.GetCustomerWithAccounts(ctx, carol.ID))
	if len(carolAccts) != 1 || carolAccts[0].Account != nil || carolAccts[0].Customer.ID != carol.ID {
		t.Fatalf("GetCustomerWithAccounts carol: %+v", carolAccts)
	}
	summaries := must[[]ledger.ListCustomerSummariesRow](t, "ListCustomerSummaries")(q.ListCustomerSummaries(ctx, 10))
	if len(summaries) != 3 {
		t.Fatalf("ListCustomerSummaries: %+v", summaries)
	}
	for _, s := range summaries {
		switch s.ID {
		case carol.ID:
			if s.AccountCount != 0 || s.TotalBalance != nil || s.LastOpenedAt != nil {
				t.Fatalf("carol's summary: %+v", s)
			}
		case ada.ID:
			if s.AccountCount != 2 || s.TotalBalance == nil || !s.TotalBalance.IsZero() {
				t.Fatalf("ada's summary: %+v", s)
			}
		}
	}
	dormant := must[[]ledger.ListDormantCustomersRow](t, "ListDormantCustomers")(q.ListDormantCustomers(ctx, time.Now().Add(time.Hour)))
	if len(dormant) != 2 || dormant[0].ID != bob.ID || dormant[1].ID != carol.ID {
		t.Fatalf("ListDormantCustomers: %+v", dormant)
	}

	// API keys.
	key := must[ledger.CreateAPIKeyRow](t, "CreateAPIKey")(q.CreateAPIKey(ctx, ledger.CreateAPIKeyParams{CustomerID: ada.ID, Prefix: "sk_test", KeyHash: []byte{0, 1, 2, 255}, Scopes: []string{"read", "write"}}))
	auth := must[ledger.AuthenticateAPIKeyRow](t, "AuthenticateAPIKey")(q.AuthenticateAPIKey(ctx, "sk_test"))
	if auth.APIKeyID != key.ID || !bytes.Equal(auth.KeyHash, []byte{0, 1, 2, 255}) || len(auth.Scopes) != 2 {
		t.Fatalf("AuthenticateAPIKey: %+v", auth)
	}
	check(t, "TouchAPIKey", q.TouchAPIKey(ctx, key.ID))
	if n := must[int64](t, "RevokeCustomerAPIKeys")(q.RevokeCustomerAPIKeys(ctx, ada.ID)); n != 1 {
		t.Fatalf("RevokeCustomerAPIKeys: %d", n)
	}
	if _, err := q.AuthenticateAPIKey(ctx, "sk_test"); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("a revoked key still authenticates: %v", err)
	}

	// Transfers.
	dep := must[ledger.CreateTransferRow](t, "CreateTransfer deposit")(q.CreateTransfer(ctx, ledger.CreateTransferParams{ToAccountID: &a1.ID, Amount: dec("100.25"), Currency: "USD", Description: ptr("opening deposit"), IdempotencyKey: ptr("dep-1")}))
	if dep.Status != ledger.TransferStatusPending || dep.FromAccountID != nil || !dep.Amount.Equal(dec("100.25")) {
		t.Fatalf("CreateTransfer: %+v", dep)
	}
	byKey := must[ledger.GetTransferByIdempotencyKeyRow](t, "GetTransferByIdempotencyKey")(q.GetTransferByIdempotencyKey(ctx, "dep-1"))
	if byKey.ID != dep.ID {
		t.Fatalf("GetTransferByIdempotencyKey: %+v", byKey)
	}
	posted := must[ledger.PostTransferRow](t, "PostTransfer")(q.PostTransfer(ctx, dep.ID))
	if posted.FromBalance != nil || posted.ToBalance == nil || !posted.ToBalance.Equal(dec("100.25")) {
		t.Fatalf("PostTransfer: %+v", posted)
	}
	if _, err := q.PostTransfer(ctx, dep.ID); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("posting twice: %v", err)
	}
	details := must[ledger.GetTransferDetailsRow](t, "GetTransferDetails")(q.GetTransferDetails(ctx, dep.ID))
	if details.FromAccountID != nil || details.ToAccountID == nil || *details.ToAccountID != a1.ID || details.MinorUnits != 2 || details.Status != ledger.TransferStatusPosted || details.HasActiveHold {
		t.Fatalf("GetTransferDetails: %+v", details)
	}
	if !details.TotalDebit.Equal(details.Amount.Add(details.Fee)) {
		t.Fatalf("total debit %s != %s + %s", details.TotalDebit, details.Amount, details.Fee)
	}
	out1 := must[ledger.CreateTransferRow](t, "CreateTransfer out")(q.CreateTransfer(ctx, ledger.CreateTransferParams{FromAccountID: &a1.ID, ToAccountID: &a2.ID, Amount: dec("30"), Currency: "USD"}))
	multi := must[[]ledger.CreateTransfersRow](t, "CreateTransfers")(q.CreateTransfers(ctx, ledger.CreateTransfersParams{Currency: "USD", FromAccountIDs: []uuid.UUID{a1.ID, a1.ID}, ToAccountIDs: []uuid.UUID{a2.ID, a2.ID}, Amounts: []decimal.Decimal{dec("1.5"), dec("2.5")}}))
	if len(multi) != 2 || multi[0].ID == multi[1].ID {
		t.Fatalf("CreateTransfers: %+v", multi)
	}
	page := must[[]ledger.ListAccountTransfersRow](t, "ListAccountTransfers")(q.ListAccountTransfers(ctx, ledger.ListAccountTransfersParams{AccountID: a1.ID, AfterCreatedAt: time.Now().Add(time.Hour), AfterID: uuid.Max, PageSize: 2}))
	if len(page) != 2 {
		t.Fatalf("ListAccountTransfers page 1: %+v", page)
	}
	next := must[[]ledger.ListAccountTransfersRow](t, "ListAccountTransfers next")(q.ListAccountTransfers(ctx, ledger.ListAccountTransfersParams{AccountID: a1.ID, AfterCreatedAt: page[1].CreatedAt, AfterID: page[1].ID, PageSize: 10}))
	if len(next) != 2 {
		t.Fatalf("ListAccountTransfers page 2: %d rows", len(next))
	}
	recent := must[[][]ledger.ListRecentTransfersRow](t, "ListRecentTransfers")(q.ListRecentTransfers(ctx, []uuid.UUID{a1.ID, b1.ID}))
	if len(recent) != 2 || len(recent[0]) != 3 || len(recent[1]) != 0 {
		t.Fatalf("ListRecentTransfers: %+v", recent)
	}
	counterparties := must[[]uuid.UUID](t, "ListCounterparties")(q.ListCounterparties(ctx, a1.ID))
	if len(counterparties) != 1 || counterparties[0] != a2.ID {
		t.Fatalf("ListCounterparties: %+v", counterparties)
	}

	// Holds.
	hold := must[ledger.PlaceHoldRow](t, "PlaceHold")(q.PlaceHold(ctx, ledger.PlaceHoldParams{AccountID: a1.ID, TransferID: &out1.ID, Amount: dec("10.5"), Reason: "authorization", ExpiresAt: time.Now().Add(time.Hour)}))
	if !hold.Amount.Equal(dec("10.5")) || hold.ReleasedAt != nil {
		t.Fatalf("PlaceHold: %+v", hold)
	}
	_ = must[ledger.PlaceHoldRow](t, "PlaceHold expired")(q.PlaceHold(ctx, ledger.PlaceHoldParams{AccountID: a1.ID, Amount: dec("1"), Reason: "stale", ExpiresAt: time.Now().Add(-time.Hour)}))
	activeHolds := must[[]ledger.ListActiveHoldsRow](t, "ListActiveHolds")(q.ListActiveHolds(ctx, a1.ID))
	if len(activeHolds) != 1 || activeHolds[0].ID != hold.ID || activeHolds[0].Currency != "USD" {
		t.Fatalf("ListActiveHolds: %+v", activeHolds)
	}
	avail := must[ledger.GetAvailableBalanceRow](t, "GetAvailableBalance")(q.GetAvailableBalance(ctx, a1.ID))
	if !avail.Balance.Equal(dec("100.25")) || !avail.Held.Equal(dec("11.5")) || !avail.Available.Equal(dec("88.75")) {
		t.Fatalf("GetAvailableBalance: %+v", avail)
	}
	classes := must[[]ledger.ClassifyAccountsRow](t, "ClassifyAccounts")(q.ClassifyAccounts(ctx, ada.ID))
	if len(classes) != 2 || classes[0].BalanceState != "empty" || classes[1].BalanceState != "funded" || classes[1].ReviewQueue != nil {
		t.Fatalf("ClassifyAccounts: %+v", classes)
	}
	check(t, "ReleaseExpiredHolds", q.ReleaseExpiredHolds(ctx))
	released := must[[]ledger.ReleaseHoldsForTransferRow](t, "ReleaseHoldsForTransfer")(q.ReleaseHoldsForTransfer(ctx, out1.ID))
	if len(released) != 1 || released[0].ID != hold.ID || released[0].TransferStatus != ledger.TransferStatusPending {
		t.Fatalf("ReleaseHoldsForTransfer: %+v", released)
	}
	if left := must[[]ledger.ListActiveHoldsRow](t, "ListActiveHolds after")(q.ListActiveHolds(ctx, a1.ID)); len(left) != 0 {
		t.Fatalf("holds left: %+v", left)
	}
	_ = must[ledger.PlaceHoldRow](t, "PlaceHold a2")(q.PlaceHold(ctx, ledger.PlaceHoldParams{AccountID: a2.ID, Amount: dec("2"), Reason: "review", ExpiresAt: time.Now().Add(time.Hour)}))
	check(t, "CloseAccount", q.CloseAccount(ctx, a2.ID))
	if got := must[ledger.AccountRow](t, "GetAccount a2")(q.GetAccount(ctx, a2.ID)); got.Status != ledger.AccountStatusClosed || got.ClosedAt == nil {
		t.Fatalf("CloseAccount: %+v", got)
	}
	deleted := must[[]ledger.DeleteHoldsOfClosedAccountsRow](t, "DeleteHoldsOfClosedAccounts")(q.DeleteHoldsOfClosedAccounts(ctx))
	if len(deleted) != 1 || deleted[0].AccountID != a2.ID || !deleted[0].Amount.Equal(dec("2")) {
		t.Fatalf("DeleteHoldsOfClosedAccounts: %+v", deleted)
	}

	// Outbox and webhooks.
	ev := must[ledger.EnqueueTransferEventRow](t, "EnqueueTransferEvent")(q.EnqueueTransferEvent(ctx, dep.ID))
	if ev.EventType != "transfer.posted" || ev.AggregateID != dep.ID {
		t.Fatalf("EnqueueTransferEvent: %+v", ev)
	}
	claimed := must[[]ledger.ClaimOutboxEventsRow](t, "ClaimOutboxEvents")(q.ClaimOutboxEvents(ctx, 5, 10))
	if len(claimed) != 1 || claimed[0].Attempts != 1 || claimed[0].Currency == nil || *claimed[0].Currency != "USD" {
		t.Fatalf("ClaimOutboxEvents: %+v", claimed)
	}
	check(t, "MarkEventsPublished", q.MarkEventsPublished(ctx, []uuid.UUID{ev.ID}))
	if again := must[[]ledger.ClaimOutboxEventsRow](t, "ClaimOutboxEvents again")(q.ClaimOutboxEvents(ctx, 5, 10)); len(again) != 0 {
		t.Fatalf("a published event was claimed again: %+v", again)
	}
	hook := must[ledger.UpsertWebhookEndpointRow](t, "UpsertWebhookEndpoint")(q.UpsertWebhookEndpoint(ctx, ledger.UpsertWebhookEndpointParams{CustomerID: ada.ID, URL: "https://hooks.example.com/ledger", Secret: "s3cret", EventTypes: []string{"transfer.posted"}}))
	endpoints := must[[]ledger.ListEndpointsForEventRow](t, "ListEndpointsForEvent")(q.ListEndpointsForEvent(ctx, ada.ID, "transfer.posted"))
	if len(endpoints) != 1 || endpoints[0].ID != hook.ID {
		t.Fatalf("ListEndpointsForEvent: %+v", endpoints)
	}
	check(t, "RecordDelivery", q.RecordDelivery(ctx, ledger.RecordDeliveryParams{EndpointID: hook.ID, EventID: ev.ID, StatusCode: ptr(int32(200)), ResponseBody: ptr("ok"), DurationMs: ptr(1500.0)}))
	check(t, "RecordDelivery failed", q.RecordDelivery(ctx, ledger.RecordDeliveryParams{EndpointID: hook.ID, EventID: ev.ID, DurationMs: ptr(500.0)}))
	stats := must[[]ledger.GetDeliveryStatsRow](t, "GetDeliveryStats")(q.GetDeliveryStats(ctx, ada.ID))
	if len(stats) != 1 || stats[0].Deliveries != 2 || stats[0].Succeeded != 1 {
		t.Fatalf("GetDeliveryStats: %+v", stats)
	}

	// Audit log.
	check(t, "InsertAuditLog", q.InsertAuditLog(ctx, ledger.InsertAuditLogParams{Actor: "ops", Action: "freeze", EntityType: "account", EntityID: &a1.ID, Payload: json.RawMessage(`{"reason": "test"}`)}))
	check(t, "InsertAuditLog no entity", q.InsertAuditLog(ctx, ledger.InsertAuditLogParams{Actor: "ops", Action: "login", EntityType: "session", Payload: json.RawMessage(`{}`)}))
	audit := must[[]ledger.ListAuditLogRow](t, "ListAuditLog")(q.ListAuditLog(ctx, ledger.ListAuditLogParams{EntityType: "account", EntityID: a1.ID, PageSize: 10}))
	if len(audit) != 1 || audit[0].Reason == nil || *audit[0].Reason != "test" {
		t.Fatalf("ListAuditLog: %+v", audit)
	}

	// Ledger entries.
	n := must[int64](t, "InsertLedgerEntries")(q.InsertLedgerEntries(ctx, []ledger.InsertLedgerEntriesParams{
		{AccountID: a1.ID, TransferID: &dep.ID, Amount: dec("100.25"), BalanceAfter: dec("100.25")},
		{AccountID: a1.ID, Amount: dec("-0.25"), BalanceAfter: dec("100")},
	}))
	if n != 2 {
		t.Fatalf("InsertLedgerEntries: %d", n)
	}
	entries := must[[]ledger.ListLedgerEntriesRow](t, "ListLedgerEntries")(q.ListLedgerEntries(ctx, ledger.ListLedgerEntriesParams{AccountID: a1.ID, RowLimit: 10}))
	if len(entries) != 2 || entries[1].Seq != 2 || !entries[1].RunningBalance.Equal(dec("100")) || entries[1].TransferID != nil {
		t.Fatalf("ListLedgerEntries: %+v", entries)
	}
	latest := must[[]ledger.GetLatestEntriesRow](t, "GetLatestEntries")(q.GetLatestEntries(ctx, []uuid.UUID{a1.ID, b1.ID}))
	if len(latest) != 1 || latest[0].ID != entries[1].ID || latest[0].Rn != 1 {
		t.Fatalf("GetLatestEntries: %+v", latest)
	}
	totals := must[ledger.GetLedgerTotalsRow](t, "GetLedgerTotals")(q.GetLedgerTotals(ctx, a1.ID))
	if totals.EntryCount != 2 || totals.NetAmount == nil || !totals.NetAmount.Equal(dec("100")) || !totals.TotalCredits.Equal(dec("100.25")) || !totals.TotalDebits.Equal(dec("0.25")) || totals.LastEntryID != entries[1].ID {
		t.Fatalf("GetLedgerTotals: %+v", totals)
	}
	empty := must[ledger.GetLedgerTotalsRow](t, "GetLedgerTotals empty")(q.GetLedgerTotals(ctx, b1.ID))
	if empty.EntryCount != 0 || empty.NetAmount != nil || empty.LastEntryAt != nil || empty.LastEntryID != 0 {
		t.Fatalf("GetLedgerTotals of an account without entries: %+v", empty)
	}
	recon := must[[]ledger.ReconcileBalancesRow](t, "ReconcileBalances")(q.ReconcileBalances(ctx))
	if len(recon) != 1 || recon[0].AccountID == nil || *recon[0].AccountID != a1.ID || !recon[0].Difference.Equal(dec("0.25")) {
		t.Fatalf("ReconcileBalances: %+v", recon)
	}
	if n := must[int64](t, "InsertOpeningEntries")(q.InsertOpeningEntries(ctx, bob.ID)); n != 1 {
		t.Fatalf("InsertOpeningEntries: %d", n)
	}

	// Reports.
	since := time.Now().Add(-24 * time.Hour)
	volume := must[[]ledger.DailyTransferVolumeRow](t, "DailyTransferVolume")(q.DailyTransferVolume(ctx, since, time.Now().Add(time.Hour)))
	if len(volume) != 1 || volume[0].TransferCount != 1 || !volume[0].TotalAmount.Equal(dec("100.25")) {
		t.Fatalf("DailyTransferVolume: %+v", volume)
	}
	statement := must[[]ledger.MonthlyStatementRow](t, "MonthlyStatement")(q.MonthlyStatement(ctx, a1.ID))
	now := time.Now()
	if len(statement) != 1 || statement[0].EntryCount != 2 || statement[0].StatementYear != int32(now.Year()) {
		t.Fatalf("MonthlyStatement: %+v", statement)
	}
	overview := must[ledger.GetCustomerOverviewRow](t, "GetCustomerOverview")(q.GetCustomerOverview(ctx, ada.ID))
	if len(overview.AccountIDs) != 2 || overview.Currencies != "USD" || overview.ActiveAPIKeys != 0 {
		t.Fatalf("GetCustomerOverview: %+v", overview)
	}
	activity := must[[]ledger.ListAccountActivityRow](t, "ListAccountActivity")(q.ListAccountActivity(ctx, a1.ID, 50))
	kinds := map[string]int{}
	for _, a := range activity {
		kinds[a.Kind]++
	}
	if kinds["transfer"] != 4 || kinds["hold"] != 2 || kinds["audit:freeze"] != 1 {
		t.Fatalf("ListAccountActivity: %v", kinds)
	}
	unusual := must[[]ledger.ListUnusualTransfersRow](t, "ListUnusualTransfers")(q.ListUnusualTransfers(ctx, since))
	if len(unusual) != 1 || !unusual[0].Amount.Equal(dec("30")) {
		t.Fatalf("ListUnusualTransfers: %+v", unusual)
	}
	converted := must[[]ledger.ListBalancesConvertedRow](t, "ListBalancesConverted")(q.ListBalancesConverted(ctx, dec("1.123"), ada.ID))
	if len(converted) != 2 || !converted[0].ConvertedBalance.Equal(dec("112.58")) {
		t.Fatalf("ListBalancesConverted: %+v", converted)
	}

	// Housekeeping last: it fails every pending transfer.
	tag := must[pgconn.CommandTag](t, "FailStaleTransfers")(q.FailStaleTransfers(ctx, pgtype.Interval{Microseconds: 0, Valid: true}))
	if tag.RowsAffected() != 3 {
		t.Fatalf("FailStaleTransfers: %d rows", tag.RowsAffected())
	}

	if missing := rec.missing(); len(missing) > 0 {
		t.Fatalf("queries never run: %s", joinNames(missing))
	}
}
