package sqlpact

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The retry budget against the shared vectors (runtime/testdata/budget.json, computed
// by make_budget.py); Rust passes the same.
func TestEveryRetryIsAllowedOrRefusedAsSpecified(t *testing.T) {
	b, err := os.ReadFile("../testdata/budget.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Config struct {
			Percent   uint64 `json:"percent"`
			MinPerSec uint64 `json:"min_per_sec"`
			TTLMs     uint64 `json:"ttl_ms"`
		} `json:"config"`
		Cases []struct {
			Name  string `json:"name"`
			Steps []struct {
				T       uint64 `json:"t"`
				Event   string `json:"event"`
				Allowed *bool  `json:"allowed"`
			} `json:"steps"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	allowed, refused := 0, 0
	for _, c := range v.Cases {
		bud := NewRetryBudget(BudgetConfig(v.Config))
		for i, s := range c.Steps {
			class, isRetry := strings.CutPrefix(s.Event, "retry:")
			if !isRetry {
				bud.Request(s.T)
				if s.Allowed != nil {
					t.Fatalf("%s step %d: a request has no verdict", c.Name, i)
				}
				continue
			}
			got := bud.TryRetry(s.T, class)
			if s.Allowed == nil || got != *s.Allowed {
				t.Fatalf("%s step %d (%+v): got %v", c.Name, i, s, got)
			}
			if got {
				allowed++
			} else {
				refused++
			}
		}
	}
	if allowed <= 100 || refused <= 10 {
		t.Fatalf("%d allowed, %d refused", allowed, refused)
	}
}
