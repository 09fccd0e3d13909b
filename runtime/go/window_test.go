package sqlpact

import (
	"math/rand/v2"
	"testing"
)

// listWindow is what msWindow stands for: every result in a list, pruned from its front.
type listWindow struct{ at []uint64 }

func (l *listWindow) prune(nowMs, spanMs uint64) {
	i := 0
	for i < len(l.at) && l.at[i]+spanMs <= nowMs {
		i++
	}
	l.at = l.at[i:]
}

// Clocks that go back as well as forward, several results per millisecond, and long
// quiet spells: the window holds what the list holds after every step.
func TestTheWindowCountsWhatAListOfEveryResultWould(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		span := uint64(1 + rng.IntN(50))
		var w msWindow
		var l listWindow
		var failed []bool
		now := uint64(rng.IntN(100))
		for step := range 500 {
			switch r := rng.IntN(100); {
			case r < 60:
			case r < 90:
				now += uint64(rng.IntN(5))
			case r < 95:
				now -= min(now, uint64(rng.IntN(5)))
			default:
				now += uint64(rng.IntN(200))
			}
			if rng.IntN(50) == 0 {
				w.clear()
				l.at, failed = nil, nil
				continue
			}
			w.prune(now, span)
			before := len(failed)
			l.prune(now, span)
			failed = failed[before-len(l.at):]
			f := rng.IntN(3) == 0
			w.add(now, f)
			l.at = append(l.at, now)
			failed = append(failed, f)
			var nFailed uint64
			for _, f := range failed {
				if f {
					nFailed++
				}
			}
			if w.n != uint64(len(l.at)) || w.failed != nFailed {
				t.Fatalf("round %d step %d: window %d results (%d failed), list %d (%d failed)",
					round, step, w.n, w.failed, len(l.at), nFailed)
			}
		}
	}
}

// A host serving thousands of statements a second used to keep each result of the
// last 10 s in a list that every call copied: the cost of a call grew with the request
// rate. The window keeps one entry per millisecond at most.
func TestABusyHostsWindowStaysAsLongAsItsMilliseconds(t *testing.T) {
	b := NewBreaker(BreakerConfig{FailureThreshold: 5, OpenForMs: 1000, MaxOpenMs: 16000,
		WindowMs: 10_000, MinRequests: 20, FailurePercent: 50}, 1)
	budget := NewRetryBudget(DefaultBudget)
	for i := range uint64(1_000_000) {
		now := i / 40 // 40 results per millisecond for 25 s
		b.RecordSuccess(now)
		budget.Request(now)
	}
	if n := b.window.n; n != 400_000 {
		t.Fatalf("%d results in the breaker's window, want the last 10 s: 400000", n)
	}
	if live := len(b.window.q) - b.window.head; live != 10_000 {
		t.Fatalf("%d entries for 10000 ms", live)
	}
	if c := cap(b.window.q); c > 40_000 {
		t.Fatalf("the window's list has grown to %d entries", c)
	}
	if n := budget.requests.n; n != 400_000 {
		t.Fatalf("%d requests in the budget's window", n)
	}
}
