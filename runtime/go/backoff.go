package sqlpact

import "time"

// Jitter says how a wait is drawn under its ceiling c.
type Jitter int

const (
	// JitterFull waits uniform(c): spreads retries the most (the default).
	JitterFull Jitter = iota
	// JitterEqual waits c - c/2 + uniform(c/2): at least half the ceiling.
	JitterEqual
	// JitterNone waits exactly c, without a draw.
	JitterNone
)

// BackoffPolicy is one retry policy's backoff settings.
type BackoffPolicy struct {
	Base time.Duration
	Cap  time.Duration
	// MaxAttempts counts every attempt, the first one included.
	MaxAttempts uint32
	// Multiplier is the growth between ceilings, at least 1; 0 means 2, which is
	// computed exactly in integers.
	Multiplier float64
	Jitter     Jitter
}

// CeilingMicros is the longest wait before retry n (from 0): min(cap, base·multiplierⁿ),
// in microseconds. A multiplier other than 2 is applied n times in IEEE doubles (the
// same operations in Rust), stopping at the cap.
func (p BackoffPolicy) CeilingMicros(n uint32) uint64 {
	base := micros(p.Base)
	capUs := micros(p.Cap)
	if p.Multiplier == 0 || p.Multiplier == 2 {
		if n >= 64 || base > capUs>>n {
			return capUs
		}
		return base << n
	}
	c := float64(base)
	for i := uint32(0); i < n; i++ {
		c *= p.Multiplier
		if c >= float64(capUs) {
			return capUs
		}
	}
	return min(uint64(c), capUs)
}

func micros(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(d / time.Microsecond)
}

// Backoff yields the delays of one call's retries: retry n waits a time drawn under
// its ceiling by the policy's jitter, never past the caller's deadline.
type Backoff struct {
	policy   BackoffPolicy
	rng      *SplitMix64
	attempts uint32
}

// NewBackoff starts a schedule for one call.
func NewBackoff(policy BackoffPolicy, seed uint64) *Backoff {
	return &Backoff{policy: policy, rng: NewSplitMix64(seed), attempts: 1}
}

// NextDelay is called after a failed attempt. It returns how long to wait before the
// next attempt, and false when the attempts are used up or the wait would not end
// before the caller's deadline (remaining < 0 means no deadline). The random draw
// happens either way, so a schedule does not depend on the deadlines seen.
func (b *Backoff) NextDelay(remaining time.Duration) (time.Duration, bool) {
	if b.attempts >= b.policy.MaxAttempts {
		return 0, false
	}
	n := b.attempts - 1
	b.attempts++
	c := b.policy.CeilingMicros(n)
	var delay uint64
	switch b.policy.Jitter {
	case JitterEqual:
		delay = c - c/2 + b.rng.Uniform(c/2)
	case JitterNone:
		delay = c
	default:
		delay = b.rng.Uniform(c)
	}
	if remaining >= 0 && delay >= micros(remaining) {
		return 0, false
	}
	return time.Duration(delay) * time.Microsecond, true
}
