// Package runtime is the runtime core generated sqlpact clients run on. Its semantics
// are stated once in docs/runtime.md; the Rust crate under runtime/rust follows the
// same text and passes the same test vectors (runtime/testdata/).
//
// So far: the seeded random source and the full-jitter backoff schedule.
package sqlpact

import (
	"math/bits"
	"sync/atomic"
)

// SplitMix64 (Steele, Lea and Flood, 2014) is a small seeded generator, implemented
// the same way in Go and Rust so that one seed gives the same backoff delays in both.
// Not for cryptography: it spreads retries, nothing more.
type SplitMix64 struct {
	state uint64
}

// NewSplitMix64 returns a generator seeded with seed.
func NewSplitMix64(seed uint64) *SplitMix64 {
	return &SplitMix64{state: seed}
}

// splitMixGamma is what every draw adds to the state.
const splitMixGamma = 0x9E3779B97F4A7C15

// Next returns the next 64 random bits.
func (g *SplitMix64) Next() uint64 {
	g.state += splitMixGamma
	return splitMixOutput(g.state)
}

// splitMixOutput is the draw of the generator whose state just became state.
func splitMixOutput(state uint64) uint64 {
	z := state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Uniform returns a number in 0..=max: the high 64 bits of Next() * (max + 1).
func (g *SplitMix64) Uniform(max uint64) uint64 {
	if max == ^uint64(0) {
		return g.Next()
	}
	hi, _ := bits.Mul64(g.Next(), max+1)
	return hi
}

// atomicSplitMix64 is a SplitMix64 that many goroutines draw from without a lock: a
// draw adds to the state atomically, so the draws are the sequence SplitMix64 gives for
// the same seed, each handed to one caller.
type atomicSplitMix64 struct {
	state atomic.Uint64
}

func newAtomicSplitMix64(seed uint64) *atomicSplitMix64 {
	g := &atomicSplitMix64{}
	g.state.Store(seed)
	return g
}

// Next returns the next 64 random bits.
func (g *atomicSplitMix64) Next() uint64 {
	return splitMixOutput(g.state.Add(splitMixGamma))
}
