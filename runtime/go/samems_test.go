package sqlpact

import (
	"maps"
	"sync"
	"testing"
)

func TestSameMsCountsOnlyTheMillisecondItWasStartedFor(t *testing.T) {
	var s sameMs
	if s.try(5) {
		t.Fatal("counted with nothing started")
	}
	if _, n := s.take(); n != 0 {
		t.Fatalf("took %d from nothing", n)
	}
	s.start(5)
	if !s.try(5) || !s.try(5) {
		t.Fatal("the started millisecond was not counted")
	}
	if s.try(6) || s.try(4) {
		t.Fatal("another millisecond was counted without the lock")
	}
	if at, n := s.take(); at != 5 || n != 2 {
		t.Fatalf("took %d at %d, want 2 at 5", n, at)
	}
	if _, n := s.take(); n != 0 {
		t.Fatal("taken twice")
	}
	if s.try(5) {
		t.Fatal("taking did not stop the count")
	}
	s.start(0)
	if _, n := s.take(); n != 0 {
		t.Fatal("started with something counted")
	}
	if s.start(sameMsLimit); s.try(sameMsLimit) {
		t.Fatal("counted beyond the word's range")
	}
}

func TestAFullSameMsSendsTheRestToTheLock(t *testing.T) {
	var s sameMs
	s.start(1)
	s.w.Add(sameMsCountMask - 1)
	if !s.try(1) || s.try(1) {
		t.Fatal("the count's last place was not taken, or taken twice")
	}
	if at, n := s.take(); at != 1 || n != sameMsCountMask {
		t.Fatalf("took %d at %d", n, at)
	}
}

// Goroutines counting while others take, restart or stop the count under a lock, as a
// host does: every event is counted once, at its own millisecond, in the word or
// under the lock.
func TestNoSameMsEventIsLostMovedOrCountedTwice(t *testing.T) {
	var s sameMs
	var mu sync.Mutex
	locked := map[uint64]uint64{}
	var wg sync.WaitGroup
	for g := range uint64(4) {
		wg.Go(func() {
			var slow uint64
			for i := range uint64(50_000) {
				ms := i/1000 + g%2
				if s.try(ms) {
					continue
				}
				mu.Lock()
				if at, n := s.take(); n > 0 {
					locked[at] += n
				}
				locked[ms]++
				slow++
				// Now and then the breaker stops being clean: nothing restarts the count.
				if slow%7 != 0 {
					s.start(ms)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if at, n := s.take(); n > 0 {
		locked[at] += n
	}
	// Goroutines 0 and 2 count 1,000 events in each of milliseconds 0..49, 1 and 3 in
	// each of 1..50.
	want := map[uint64]uint64{}
	for ms := range uint64(51) {
		want[ms] = 4000
		if ms == 0 || ms == 50 {
			want[ms] = 2000
		}
	}
	if !maps.Equal(locked, want) {
		t.Fatalf("counted %v, want %v", locked, want)
	}
}

// A host counting successes and requests without its locks ends where recording each
// under the lock would: the breaker trips on the same failure, the budget allows the
// same retries.
func TestAHostsTallyRecordsWhatItsLocksWould(t *testing.T) {
	cfg := BreakerConfig{FailureThreshold: 1000, OpenForMs: 100, MaxOpenMs: 1000, WindowMs: 50,
		MinRequests: 10, FailurePercent: 30}
	bcfg := BudgetConfig{TTLMs: 40, Percent: 20, MinPerSec: 0}
	h := &host{breaker: NewBreaker(cfg, 1), budget: NewRetryBudget(bcfg), db: &DB{}}
	h.closed.Store(true)
	direct, budget := NewBreaker(cfg, 1), NewRetryBudget(bcfg)
	var tripped, allowed, refused bool
	for i := range uint64(600) {
		now := i / 3
		h.request(now)
		budget.Request(now)
		if i%5 == 4 || i >= 200 && i < 240 {
			h.failure(now)
			direct.RecordFailure(now)
		} else {
			h.success(now)
			direct.RecordSuccess(now)
		}
		if i%11 == 0 {
			var ok bool
			h.withBudget(now, func(b *RetryBudget) { ok = b.TryRetry(now, "connection") })
			if want := budget.TryRetry(now, "connection"); ok != want {
				t.Fatalf("at %d ms the budget allowed a retry: %v, recorded under the lock: %v", now, ok, want)
			}
			allowed, refused = allowed || ok, refused || !ok
		}
		if i%7 == 0 {
			var ok bool
			h.withBreaker(now, func(b *Breaker) { ok = b.Allow(now) })
			if want := direct.Allow(now); ok != want {
				t.Fatalf("at %d ms the breaker allowed: %v, recorded under the lock: %v", now, ok, want)
			}
		}
		var got, want BreakerState
		h.withBreaker(now, func(b *Breaker) { got, _ = b.State() })
		want, _ = direct.State()
		if got != want {
			t.Fatalf("at %d ms the breaker is %v, recorded under the lock: %v", now, got, want)
		}
		tripped = tripped || got != BreakerClosed
	}
	if !tripped || !allowed || !refused {
		t.Fatalf("tripped %v, a retry allowed %v, refused %v: the test proves less than it should", tripped, allowed, refused)
	}
}
