package sqlpact

import "sync/atomic"

// sameMs counts the common events of a host (a request for the retry budget, a success
// for a clean breaker) without the lock of what they are counted into. Events of the
// millisecond being counted add to one atomic word; whoever takes the lock next moves
// them in first. So the lock is taken about once per millisecond and host instead of
// once per call. The Rust runtime counts the same way (tally.rs).
//
// The word holds the millisecond plus one in its high bits (0: counting nothing) and
// the count in its low sameMsCountBits.
type sameMs struct{ w atomic.Uint64 }

const (
	sameMsCountBits = 20
	sameMsCountMask = 1<<sameMsCountBits - 1
	// Milliseconds from here on (half a millennium after the clock's epoch) always
	// take the lock.
	sameMsLimit = 1<<(64-sameMsCountBits) - 1
)

// try counts one event at nowMs if that is the millisecond being counted; false: take
// the lock and record it there.
func (s *sameMs) try(nowMs uint64) bool {
	if nowMs >= sameMsLimit {
		return false
	}
	for {
		cur := s.w.Load()
		if cur>>sameMsCountBits != nowMs+1 || cur&sameMsCountMask == sameMsCountMask {
			return false
		}
		if s.w.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// take returns the events counted so far, their millisecond and how many (n is 0 for
// none), and counts nothing until start. Called under the lock.
func (s *sameMs) take() (atMs, n uint64) {
	v := s.w.Swap(0)
	if n = v & sameMsCountMask; n == 0 {
		return 0, 0
	}
	return v>>sameMsCountBits - 1, n
}

// start counts the events of nowMs from now on (none yet). Called under the lock,
// after take.
func (s *sameMs) start(nowMs uint64) {
	if nowMs < sameMsLimit {
		s.w.Store((nowMs + 1) << sameMsCountBits)
	}
}
