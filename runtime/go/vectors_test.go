package sqlpact

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The shared test vectors (runtime/testdata/backoff.json, computed by an independent
// implementation in make_vectors.py); the Rust crate passes the same ones.
type vectors struct {
	SplitMix64 []struct {
		Seed    string   `json:"seed"`
		Outputs []string `json:"outputs"`
	} `json:"splitmix64"`
	Uniform []struct {
		Seed  string   `json:"seed"`
		Max   string   `json:"max"`
		Draws []string `json:"draws"`
	} `json:"uniform"`
	Backoff []struct {
		Seed        uint64    `json:"seed"`
		BaseUs      uint64    `json:"base_us"`
		CapUs       uint64    `json:"cap_us"`
		MaxAttempts uint32    `json:"max_attempts"`
		RemainingUs *uint64   `json:"remaining_us"`
		Multiplier  float64   `json:"multiplier"`
		Jitter      string    `json:"jitter"`
		DelaysUs    []*uint64 `json:"delays_us"`
	} `json:"backoff"`
}

func load(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("../testdata/backoff.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func hex(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSplitMix64MatchesTheReferenceOutputs(t *testing.T) {
	v := load(t)
	if len(v.SplitMix64) < 5 {
		t.Fatalf("only %d cases", len(v.SplitMix64))
	}
	for _, c := range v.SplitMix64 {
		// The runtime's seeds come from the lock-free generator: the same draws.
		g, a := NewSplitMix64(hex(t, c.Seed)), newAtomicSplitMix64(hex(t, c.Seed))
		for i, want := range c.Outputs {
			if got := g.Next(); got != hex(t, want) {
				t.Fatalf("seed %s output %d: got %#x, want %s", c.Seed, i, got, want)
			}
			if got := a.Next(); got != hex(t, want) {
				t.Fatalf("seed %s output %d of the lock-free generator: got %#x, want %s", c.Seed, i, got, want)
			}
		}
	}
}

func TestUniformDrawsMatch(t *testing.T) {
	for _, c := range load(t).Uniform {
		g := NewSplitMix64(hex(t, c.Seed))
		max := hex(t, c.Max)
		for i, want := range c.Draws {
			got := g.Uniform(max)
			if got > max || got != hex(t, want) {
				t.Fatalf("seed %s max %s draw %d: got %#x, want %s", c.Seed, c.Max, i, got, want)
			}
		}
	}
}

func TestBackoffSchedulesMatch(t *testing.T) {
	v := load(t)
	if len(v.Backoff) < 10 {
		t.Fatalf("only %d cases", len(v.Backoff))
	}
	for _, c := range v.Backoff {
		p := BackoffPolicy{
			Base:        time.Duration(c.BaseUs) * time.Microsecond,
			Cap:         time.Duration(c.CapUs) * time.Microsecond,
			MaxAttempts: c.MaxAttempts,
			Multiplier:  c.Multiplier,
			Jitter:      map[string]Jitter{"full": JitterFull, "equal": JitterEqual, "none": JitterNone}[c.Jitter],
		}
		remaining := time.Duration(-1)
		if c.RemainingUs != nil {
			remaining = time.Duration(*c.RemainingUs) * time.Microsecond
		}
		b := NewBackoff(p, c.Seed)
		for n, want := range c.DelaysUs {
			d, ok := b.NextDelay(remaining)
			switch {
			case want == nil && ok:
				t.Fatalf("seed %d retry %d: got %v, want no retry", c.Seed, n, d)
			case want != nil && (!ok || uint64(d/time.Microsecond) != *want):
				t.Fatalf("seed %d retry %d: got %v (%v), want %dµs", c.Seed, n, d, ok, *want)
			case ok && uint64(d/time.Microsecond) > p.CeilingMicros(uint32(n)):
				t.Fatalf("seed %d retry %d: %v above the ceiling", c.Seed, n, d)
			}
		}
	}
}
