package sqlpact

// Breaker is the circuit breaker of one host. It counts connect failures and timeouts
// only (the failures the taxonomy marks FeedsBreaker) and gates new connections and
// retries; connections already healthy keep serving. Rules in docs/runtime.md; the
// Rust crate follows the same rules (shared vectors in runtime/testdata/breaker.json).
// Not safe for concurrent use: the caller holds the host's lock.
type Breaker struct {
	cfg         BreakerConfig
	rng         *SplitMix64
	state       BreakerState
	openUntil   uint64
	consecutive uint32
	window      msWindow
	openings    uint32
	probeAt     uint64 // when the current half-open probe went
}

// BreakerConfig holds the breaker's settings; times in milliseconds.
type BreakerConfig struct {
	// FailureThreshold consecutive failures open it.
	FailureThreshold uint32
	// OpenForMs is the first open delay; it doubles with every reopening, up to MaxOpenMs.
	OpenForMs uint64
	MaxOpenMs uint64
	// The failure ratio is measured over WindowMs, once it holds MinRequests results,
	// and opens the breaker at FailurePercent.
	WindowMs       uint64
	MinRequests    uint32
	FailurePercent uint32
}

// BreakerState is closed, open or half-open.
type BreakerState int

const (
	BreakerClosed BreakerState = iota
	BreakerOpen
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half_open"
	}
	return "closed"
}

// NewBreaker returns a closed breaker.
func NewBreaker(cfg BreakerConfig, seed uint64) *Breaker {
	return &Breaker{cfg: cfg, rng: NewSplitMix64(seed)}
}

// State returns the state and, when open, until when (ms).
func (b *Breaker) State() (BreakerState, uint64) {
	return b.state, b.openUntil
}

// Allow reports whether a new connection or a retry may go to this host now. After the
// open delay the breaker half-opens and lets one probe through (another once open_for
// passed without its result: the caller gave up, the probe is presumed lost).
func (b *Breaker) Allow(nowMs uint64) bool {
	switch {
	case b.state == BreakerClosed:
		return true
	case b.state == BreakerOpen && nowMs >= b.openUntil,
		b.state == BreakerHalfOpen && nowMs >= b.probeAt+b.cfg.OpenForMs:
		b.state = BreakerHalfOpen
		b.probeAt = nowMs
		return true
	}
	return false
}

// RecordSuccess records a success at nowMs.
func (b *Breaker) RecordSuccess(nowMs uint64) {
	switch b.state {
	case BreakerHalfOpen:
		b.state = BreakerClosed
		b.openings = 0
		b.consecutive = 0
		b.window.clear()
	case BreakerClosed:
		b.consecutive = 0
		b.window.prune(nowMs, b.cfg.WindowMs)
		b.window.add(nowMs, false)
	}
}

// recordSuccesses records n successes at nowMs, as n calls of RecordSuccess would.
func (b *Breaker) recordSuccesses(nowMs, n uint64) {
	if n == 0 {
		return
	}
	b.RecordSuccess(nowMs)
	if n > 1 && b.state == BreakerClosed {
		b.window.addN(nowMs, n-1, 0)
	}
}

// clean reports a closed breaker with no failure since the last success: a success
// then changes nothing but the window's tally.
func (b *Breaker) clean() bool {
	return b.state == BreakerClosed && b.consecutive == 0
}

// RecordFailure records a connect failure or timeout at nowMs.
func (b *Breaker) RecordFailure(nowMs uint64) {
	switch b.state {
	case BreakerHalfOpen:
		b.trip(nowMs)
	case BreakerClosed:
		b.consecutive++
		b.window.prune(nowMs, b.cfg.WindowMs)
		b.window.add(nowMs, true)
		failed, total := b.window.failed, b.window.n
		ratioTrips := total >= uint64(b.cfg.MinRequests) && failed*100 >= uint64(b.cfg.FailurePercent)*total
		if b.consecutive >= b.cfg.FailureThreshold || ratioTrips {
			b.trip(nowMs)
		}
	}
}

// trip opens for open_for·2^k (k: reopenings since it last closed), capped, with equal
// jitter: half the delay, plus a uniform draw of the other half.
func (b *Breaker) trip(nowMs uint64) {
	base, capMs, k := b.cfg.OpenForMs, b.cfg.MaxOpenMs, b.openings
	d := capMs
	if k < 64 && base <= capMs>>k {
		d = base << k
	}
	if d > capMs {
		d = capMs
	}
	delay := d - d/2 + b.rng.Uniform(d/2)
	b.state = BreakerOpen
	b.openUntil = nowMs + delay
	b.openings++
	b.consecutive = 0
	b.window.clear()
}
