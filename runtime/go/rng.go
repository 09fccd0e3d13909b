// Package runtime is the runtime core generated sqlpact clients run on. Its semantics
// are stated once in docs/runtime.md; the Rust crate under runtime/rust follows the
// same text and passes the same test vectors (runtime/testdata/).
//
// So far: the seeded random source and the full-jitter backoff schedule.
package sqlpact

import "math/bits"

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

// Next returns the next 64 random bits.
func (g *SplitMix64) Next() uint64 {
	g.state += 0x9E3779B97F4A7C15
	z := g.state
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
