package runtime

import "time"

// BackoffPolicy is one retry class's backoff settings.
type BackoffPolicy struct {
	Base time.Duration
	Cap  time.Duration
	// MaxAttempts counts every attempt, the first one included.
	MaxAttempts uint32
}

// CeilingMicros is the longest wait before retry n (from 0): min(cap, base·2ⁿ), in
// microseconds.
func (p BackoffPolicy) CeilingMicros(n uint32) uint64 {
	base := micros(p.Base)
	capUs := micros(p.Cap)
	if n >= 64 || base > capUs>>n {
		return capUs
	}
	return base << n
}

func micros(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64(d / time.Microsecond)
}

// Backoff yields the delays of one call's retries: full jitter, retry n waits a
// uniform random time in 0..=min(cap, base·2ⁿ), never past the caller's deadline.
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
	delay := b.rng.Uniform(b.policy.CeilingMicros(n))
	if remaining >= 0 && delay >= micros(remaining) {
		return 0, false
	}
	return time.Duration(delay) * time.Microsecond, true
}
