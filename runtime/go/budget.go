package sqlpact

// RetryBudget is the retry budget of one host: retries may use Percent of the requests
// of the last TTLMs, plus a reserve of MinPerSec per second of that window. Contention
// retries (serialization, deadlock, lock) and outage retries (everything else) draw
// from separate buckets, so an outage cannot starve contention retries or the other
// way round. Rules in docs/runtime.md; the Rust crate follows them (shared vectors in
// runtime/testdata/budget.json). Not safe for concurrent use: the caller holds the
// host's budget lock.
type RetryBudget struct {
	cfg        BudgetConfig
	requests   msWindow
	contention msWindow
	outage     msWindow
}

// BudgetConfig holds the budget's settings.
type BudgetConfig struct {
	Percent   uint64
	MinPerSec uint64
	TTLMs     uint64
}

// DefaultBudget is 20% of requests plus 10 per second, over 10 s.
var DefaultBudget = BudgetConfig{Percent: 20, MinPerSec: 10, TTLMs: 10_000}

// IsContention reports whether a retry of this class draws from the contention bucket.
func IsContention(class string) bool {
	switch class {
	case "serialization", "deadlock", "lock_not_available":
		return true
	}
	return false
}

// NewRetryBudget returns an empty budget.
func NewRetryBudget(cfg BudgetConfig) *RetryBudget {
	return &RetryBudget{cfg: cfg}
}

// Request records a request (first attempts only).
func (b *RetryBudget) Request(nowMs uint64) {
	b.requests.prune(nowMs, b.cfg.TTLMs)
	b.requests.add(nowMs, false)
}

// requestN records n requests at nowMs, as n calls of Request would.
func (b *RetryBudget) requestN(nowMs, n uint64) {
	if n == 0 {
		return
	}
	b.requests.prune(nowMs, b.cfg.TTLMs)
	b.requests.addN(nowMs, n, 0)
}

// TryRetry reports whether a retry of an error of class may go now; if so, it is
// counted. When not, the caller returns the original error marked as budget-exhausted.
func (b *RetryBudget) TryRetry(nowMs uint64, class string) bool {
	ttl := b.cfg.TTLMs
	b.requests.prune(nowMs, ttl)
	requests := b.requests.n
	bucket := &b.outage
	if IsContention(class) {
		bucket = &b.contention
	}
	bucket.prune(nowMs, ttl)
	reserve := b.cfg.MinPerSec * ttl / 1000
	ok := (bucket.n+1)*100 <= reserve*100+requests*b.cfg.Percent
	if ok {
		bucket.add(nowMs, false)
	}
	return ok
}
