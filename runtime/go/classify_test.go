package sqlpact

import (
	"encoding/json"
	"os"
	"testing"
)

// The error taxonomy against the shared vectors (runtime/testdata/classify.json,
// computed from docs/runtime.md's table by make_classify.py); Rust passes the same.
func TestEveryCaseOfTheDecisionTable(t *testing.T) {
	b, err := os.ReadFile("../testdata/classify.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Kind            string `json:"kind"`
			SQLState        string `json:"sqlstate"`
			Sent            string `json:"sent"`
			InTx            bool   `json:"in_tx"`
			Idempotent      bool   `json:"idempotent"`
			Route           string `json:"route"`
			Class           string `json:"class"`
			Action          string `json:"action"`
			EvictGeneration bool   `json:"evict_generation"`
			FeedsBreaker    bool   `json:"feeds_breaker"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) < 500 {
		t.Fatalf("only %d cases", len(v.Cases))
	}
	kinds := map[string]FailureKind{"sqlstate": FailSQLState, "io": FailIO, "timeout": FailTimeout, "pool_timeout": FailPoolTimeout}
	sent := map[string]SendState{"not_sent": NotSent, "sent_no_reply": SentNoReply, "replied": Replied}
	for i, c := range v.Cases {
		k, ok := kinds[c.Kind]
		s, ok2 := sent[c.Sent]
		if !ok || !ok2 {
			t.Fatalf("case %d: unknown kind %q or send state %q", i, c.Kind, c.Sent)
		}
		route := RoutePrimary
		if c.Route == "replica" {
			route = RouteReplica
		}
		d := Classify(Failure{Kind: k, SQLState: c.SQLState, Sent: s, InTransaction: c.InTx, Idempotent: c.Idempotent, Route: route})
		want := Decision{Class: c.Class, Action: Action(c.Action), EvictGeneration: c.EvictGeneration, FeedsBreaker: c.FeedsBreaker}
		if d != want {
			t.Fatalf("case %d %+v: got %+v, want %+v", i, c, d, want)
		}
	}
}
