package sqlpact

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// The circuit breaker against the shared vectors (runtime/testdata/breaker.json,
// computed by make_breaker.py); Rust passes the same.
func TestEveryEventSequenceGivesTheSameStates(t *testing.T) {
	b, err := os.ReadFile("../testdata/breaker.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Config struct {
			FailureThreshold uint32 `json:"failure_threshold"`
			OpenForMs        uint64 `json:"open_for_ms"`
			MaxOpenMs        uint64 `json:"max_open_ms"`
			WindowMs         uint64 `json:"window_ms"`
			MinRequests      uint32 `json:"min_requests"`
			FailurePercent   uint32 `json:"failure_percent"`
		} `json:"config"`
		Cases []struct {
			Name  string `json:"name"`
			Seed  uint64 `json:"seed"`
			Steps []struct {
				T         uint64  `json:"t"`
				Event     string  `json:"event"`
				Allowed   *bool   `json:"allowed"`
				State     string  `json:"state"`
				OpenUntil *uint64 `json:"open_until"`
			} `json:"steps"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) < 5 {
		t.Fatalf("only %d cases", len(v.Cases))
	}
	cfg := BreakerConfig(v.Config)
	names := map[BreakerState]string{BreakerClosed: "closed", BreakerOpen: "open", BreakerHalfOpen: "half_open"}
	seen := map[string]int{}
	for _, c := range v.Cases {
		br := NewBreaker(cfg, c.Seed)
		for i, s := range c.Steps {
			var allowed *bool
			switch s.Event {
			case "allow":
				a := br.Allow(s.T)
				allowed = &a
			case "success":
				br.RecordSuccess(s.T)
			default:
				br.RecordFailure(s.T)
			}
			if (allowed == nil) != (s.Allowed == nil) || (allowed != nil && *allowed != *s.Allowed) {
				t.Fatalf("%s step %d: allowed %v, want %v", c.Name, i, allowed, s.Allowed)
			}
			state, until := br.State()
			seen[names[state]]++
			if names[state] != s.State {
				t.Fatalf("%s step %d (%+v): state %s", c.Name, i, s, names[state])
			}
			if state == BreakerOpen && (s.OpenUntil == nil || until != *s.OpenUntil) {
				t.Fatalf("%s step %d (%+v): open until %d", c.Name, i, s, until)
			}
		}
	}
	if len(seen) != 3 {
		t.Fatalf("not every state reached: %v", seen)
	}
}

// A host reads its breaker's closed state without the lock: the mirror follows every
// change of the breaker, whichever call made it.
func TestTheHostSeesItsBreakerClosedExactlyWhenItIs(t *testing.T) {
	h := &host{name: "h", db: &DB{epoch: time.Now()}, breaker: NewBreaker(BreakerConfig{FailureThreshold: 2,
		OpenForMs: 40, MaxOpenMs: 640, WindowMs: 10_000, MinRequests: 20, FailurePercent: 50}, 1)}
	h.closed.Store(true)
	check := func(step string, want BreakerState) {
		t.Helper()
		h.mu.Lock()
		got, _ := h.breaker.State()
		h.mu.Unlock()
		if got != want || h.breakerState() != want || h.closed.Load() != (want == BreakerClosed) {
			t.Fatalf("%s: breaker %v, host sees %v (closed: %v), want %v", step, got, h.breakerState(), h.closed.Load(), want)
		}
	}
	check("new", BreakerClosed)
	if !h.allow() {
		t.Fatal("a closed breaker refused")
	}
	h.failure(h.db.nowMs())
	check("one failure", BreakerClosed)
	h.failure(h.db.nowMs())
	check("two failures", BreakerOpen)
	if h.allow() {
		t.Fatal("an open breaker let a request through")
	}
	time.Sleep(60 * time.Millisecond)
	if !h.allow() {
		t.Fatal("no probe after the open delay")
	}
	check("probe", BreakerHalfOpen)
	if h.allow() {
		t.Fatal("a second probe went")
	}
	h.failure(h.db.nowMs())
	check("failed probe", BreakerOpen)
	time.Sleep(120 * time.Millisecond)
	if !h.allow() {
		t.Fatal("no probe after the longer open delay")
	}
	h.success(h.db.nowMs())
	check("successful probe", BreakerClosed)
	if !h.allow() {
		t.Fatal("a closed breaker refused")
	}
}
