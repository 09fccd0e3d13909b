package clients

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"example.com/ledgerservice/ledger"
	_ "example.com/ledgerservice/ledger/wire" // registers the message types
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// rowTrip converts a message to its row and back.
func rowTrip[M proto.Message, R any](from func(M) (R, error), to func(*R) M) func(proto.Message) (proto.Message, error) {
	return func(m proto.Message) (proto.Message, error) {
		r, err := from(m.(M))
		if err != nil {
			return nil, err
		}
		return to(&r), nil
	}
}

// Every row conversion of the generated package, by wire message; the test checks
// that none is missing.
var rowTrips = map[string]func(proto.Message) (proto.Message, error){
	"AccountRow":                     rowTrip(ledger.AccountRowFromWire, (*ledger.AccountRow).ToWire),
	"CreateAccountRow":               rowTrip(ledger.CreateAccountRowFromWire, (*ledger.CreateAccountRow).ToWire),
	"ListAccountsRow":                rowTrip(ledger.ListAccountsRowFromWire, (*ledger.ListAccountsRow).ToWire),
	"GetAccountsByIdsRow":            rowTrip(ledger.GetAccountsByIDsRowFromWire, (*ledger.GetAccountsByIDsRow).ToWire),
	"ListAccountSnapshotsRow":        rowTrip(ledger.ListAccountSnapshotsRowFromWire, (*ledger.ListAccountSnapshotsRow).ToWire),
	"Account":                        rowTrip(ledger.AccountFromWire, (*ledger.Account).ToWire),
	"Customer":                       rowTrip(ledger.CustomerFromWire, (*ledger.Customer).ToWire),
	"GetAccountWithCustomerRow":      rowTrip(ledger.GetAccountWithCustomerRowFromWire, (*ledger.GetAccountWithCustomerRow).ToWire),
	"MergeAccountMetadataRow":        rowTrip(ledger.MergeAccountMetadataRowFromWire, (*ledger.MergeAccountMetadataRow).ToWire),
	"FindAccountsBySegmentRow":       rowTrip(ledger.FindAccountsBySegmentRowFromWire, (*ledger.FindAccountsBySegmentRow).ToWire),
	"GetAccountBatchRow":             rowTrip(ledger.GetAccountBatchRowFromWire, (*ledger.GetAccountBatchRow).ToWire),
	"ListCurrencyUsageRow":           rowTrip(ledger.ListCurrencyUsageRowFromWire, (*ledger.ListCurrencyUsageRow).ToWire),
	"UpsertCustomerRow":              rowTrip(ledger.UpsertCustomerRowFromWire, (*ledger.UpsertCustomerRow).ToWire),
	"GetCustomerByEmailRow":          rowTrip(ledger.GetCustomerByEmailRowFromWire, (*ledger.GetCustomerByEmailRow).ToWire),
	"UpdateCustomerRow":              rowTrip(ledger.UpdateCustomerRowFromWire, (*ledger.UpdateCustomerRow).ToWire),
	"SearchCustomersRow":             rowTrip(ledger.SearchCustomersRowFromWire, (*ledger.SearchCustomersRow).ToWire),
	"GetCustomerWithAccountsRow":     rowTrip(ledger.GetCustomerWithAccountsRowFromWire, (*ledger.GetCustomerWithAccountsRow).ToWire),
	"ListCustomerSummariesRow":       rowTrip(ledger.ListCustomerSummariesRowFromWire, (*ledger.ListCustomerSummariesRow).ToWire),
	"ListDormantCustomersRow":        rowTrip(ledger.ListDormantCustomersRowFromWire, (*ledger.ListDormantCustomersRow).ToWire),
	"CreateApiKeyRow":                rowTrip(ledger.CreateAPIKeyRowFromWire, (*ledger.CreateAPIKeyRow).ToWire),
	"AuthenticateApiKeyRow":          rowTrip(ledger.AuthenticateAPIKeyRowFromWire, (*ledger.AuthenticateAPIKeyRow).ToWire),
	"EnqueueTransferEventRow":        rowTrip(ledger.EnqueueTransferEventRowFromWire, (*ledger.EnqueueTransferEventRow).ToWire),
	"ClaimOutboxEventsRow":           rowTrip(ledger.ClaimOutboxEventsRowFromWire, (*ledger.ClaimOutboxEventsRow).ToWire),
	"UpsertWebhookEndpointRow":       rowTrip(ledger.UpsertWebhookEndpointRowFromWire, (*ledger.UpsertWebhookEndpointRow).ToWire),
	"ListEndpointsForEventRow":       rowTrip(ledger.ListEndpointsForEventRowFromWire, (*ledger.ListEndpointsForEventRow).ToWire),
	"GetDeliveryStatsRow":            rowTrip(ledger.GetDeliveryStatsRowFromWire, (*ledger.GetDeliveryStatsRow).ToWire),
	"ListAuditLogRow":                rowTrip(ledger.ListAuditLogRowFromWire, (*ledger.ListAuditLogRow).ToWire),
	"PlaceHoldRow":                   rowTrip(ledger.PlaceHoldRowFromWire, (*ledger.PlaceHoldRow).ToWire),
	"ListActiveHoldsRow":             rowTrip(ledger.ListActiveHoldsRowFromWire, (*ledger.ListActiveHoldsRow).ToWire),
	"ReleaseHoldsForTransferRow":     rowTrip(ledger.ReleaseHoldsForTransferRowFromWire, (*ledger.ReleaseHoldsForTransferRow).ToWire),
	"DeleteHoldsOfClosedAccountsRow": rowTrip(ledger.DeleteHoldsOfClosedAccountsRowFromWire, (*ledger.DeleteHoldsOfClosedAccountsRow).ToWire),
	"GetAvailableBalanceRow":         rowTrip(ledger.GetAvailableBalanceRowFromWire, (*ledger.GetAvailableBalanceRow).ToWire),
	"ListLedgerEntriesRow":           rowTrip(ledger.ListLedgerEntriesRowFromWire, (*ledger.ListLedgerEntriesRow).ToWire),
	"GetLatestEntriesRow":            rowTrip(ledger.GetLatestEntriesRowFromWire, (*ledger.GetLatestEntriesRow).ToWire),
	"GetLedgerTotalsRow":             rowTrip(ledger.GetLedgerTotalsRowFromWire, (*ledger.GetLedgerTotalsRow).ToWire),
	"ReconcileBalancesRow":           rowTrip(ledger.ReconcileBalancesRowFromWire, (*ledger.ReconcileBalancesRow).ToWire),
	"DailyTransferVolumeRow":         rowTrip(ledger.DailyTransferVolumeRowFromWire, (*ledger.DailyTransferVolumeRow).ToWire),
	"MonthlyStatementRow":            rowTrip(ledger.MonthlyStatementRowFromWire, (*ledger.MonthlyStatementRow).ToWire),
	"GetCustomerOverviewRow":         rowTrip(ledger.GetCustomerOverviewRowFromWire, (*ledger.GetCustomerOverviewRow).ToWire),
	"ListAccountActivityRow":         rowTrip(ledger.ListAccountActivityRowFromWire, (*ledger.ListAccountActivityRow).ToWire),
	"ClassifyAccountsRow":            rowTrip(ledger.ClassifyAccountsRowFromWire, (*ledger.ClassifyAccountsRow).ToWire),
	"ListUnusualTransfersRow":        rowTrip(ledger.ListUnusualTransfersRowFromWire, (*ledger.ListUnusualTransfersRow).ToWire),
	"ListBalancesConvertedRow":       rowTrip(ledger.ListBalancesConvertedRowFromWire, (*ledger.ListBalancesConvertedRow).ToWire),
	"CreateTransferRow":              rowTrip(ledger.CreateTransferRowFromWire, (*ledger.CreateTransferRow).ToWire),
	"GetTransferByIdempotencyKeyRow": rowTrip(ledger.GetTransferByIdempotencyKeyRowFromWire, (*ledger.GetTransferByIdempotencyKeyRow).ToWire),
	"GetTransferDetailsRow":          rowTrip(ledger.GetTransferDetailsRowFromWire, (*ledger.GetTransferDetailsRow).ToWire),
	"ListAccountTransfersRow":        rowTrip(ledger.ListAccountTransfersRowFromWire, (*ledger.ListAccountTransfersRow).ToWire),
	"PostTransferRow":                rowTrip(ledger.PostTransferRowFromWire, (*ledger.PostTransferRow).ToWire),
	"CreateTransfersRow":             rowTrip(ledger.CreateTransfersRowFromWire, (*ledger.CreateTransfersRow).ToWire),
	"ListRecentTransfersRow":         rowTrip(ledger.ListRecentTransfersRowFromWire, (*ledger.ListRecentTransfersRow).ToWire),
}

var marshal = proto.MarshalOptions{Deterministic: true}

type vectorFile struct {
	Message string `json:"message"`
	Samples []struct {
		Name string          `json:"name"`
		JSON json.RawMessage `json:"json"`
		Hex  string          `json:"hex"`
	} `json:"samples"`
}

// The cross-language vectors (tests/wire-vectors, written by the Rust side): for every
// message of the example, the Go types read the protobuf JSON sample and write exactly
// the committed bytes, read the bytes back to the same message, and, where the message
// is a row, carry it through the row struct and back without changing a byte.
func TestWireVectorsAreByteIdenticalFromGo(t *testing.T) {
	files, err := filepath.Glob("../../wire-vectors/*.json")
	if err != nil || len(files) < 100 {
		t.Fatalf("expected the example's vectors, found %d (%v)", len(files), err)
	}
	rows := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v vectorFile
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(v.Message))
		if err != nil {
			t.Fatalf("%s: %v", v.Message, err)
		}
		short := v.Message[strings.LastIndex(v.Message, ".")+1:]
		trip := rowTrips[short]
		if len(v.Samples) != 3 {
			t.Fatalf("%s: %d samples", v.Message, len(v.Samples))
		}
		for _, s := range v.Samples {
			what := v.Message + " " + s.Name
			want, err := hex.DecodeString(s.Hex)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			fromJSON := mt.New().Interface()
			if err := protojson.Unmarshal(s.JSON, fromJSON); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			got, err := marshal.Marshal(fromJSON)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: Go writes\n%x\nRust wrote\n%x (%v)", what, got, want, err)
				continue
			}
			fromBytes := mt.New().Interface()
			if err := proto.Unmarshal(want, fromBytes); err != nil || !proto.Equal(fromBytes, fromJSON) {
				t.Errorf("%s: Rust's bytes read back as %v (%v), want %v", what, fromBytes, err, fromJSON)
				continue
			}
			if trip == nil {
				continue
			}
			back, err := trip(fromBytes)
			if err != nil {
				t.Errorf("%s: not a valid row: %v", what, err)
				continue
			}
			again, err := marshal.Marshal(back)
			if err != nil || !bytes.Equal(again, want) {
				t.Errorf("%s: through the row struct Go writes\n%x\nwant\n%x (%v)", what, again, want, err)
			}
			rows++
		}
	}
	if rows < 100 {
		t.Errorf("only %d samples went through a row struct", rows)
	}
}

// The table above names every conversion the generated package has.
func TestEveryRowConversionIsTripped(t *testing.T) {
	src, err := os.ReadFile("../../../contracts/gen/go/ledger/wire_rows.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^func \w+FromWire\(m \*wire\.(\w+)\)`)
	found := re.FindAllSubmatch(src, -1)
	if len(found) != len(rowTrips) {
		t.Errorf("wire_rows.go has %d conversions, the table %d", len(found), len(rowTrips))
	}
	for _, m := range found {
		if rowTrips[string(m[1])] == nil {
			t.Errorf("no trip for %s", m[1])
		}
	}
}
