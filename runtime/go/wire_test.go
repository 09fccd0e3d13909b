package sqlpact

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// The shared negotiation cases (runtime/testdata/negotiate.json, decided by brute force
// in make_negotiate.py); the Rust crate passes the same ones.
func TestNegotiationMatchesTheReference(t *testing.T) {
	b, err := os.ReadFile("../testdata/negotiate.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Local   [2]uint32 `json:"local"`
			Remote  [2]uint32 `json:"remote"`
			Want    *uint32   `json:"want"`
			Invalid bool      `json:"invalid"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) < 200 {
		t.Fatalf("only %d cases", len(v.Cases))
	}
	refused := 0
	for _, c := range v.Cases {
		local := WireRange{Min: c.Local[0], Max: c.Local[1]}
		remote := WireRange{Min: c.Remote[0], Max: c.Remote[1]}
		got, err := Negotiate(local, remote)
		if c.Want != nil {
			if err != nil || got != *c.Want {
				t.Errorf("%s vs %s: got %d, %v; want %d", local, remote, got, err, *c.Want)
			}
			continue
		}
		refused++
		var ne *NegotiationError
		if !errors.As(err, &ne) {
			t.Errorf("%s vs %s: got %d, %v; want a *NegotiationError", local, remote, got, err)
			continue
		}
		if ne.Invalid != c.Invalid {
			t.Errorf("%s vs %s: Invalid = %v, want %v", local, remote, ne.Invalid, c.Invalid)
		}
	}
	if refused < 10 {
		t.Fatalf("only %d refusals", refused)
	}
}

func TestNegotiationErrorNamesBothRanges(t *testing.T) {
	_, err := Negotiate(WireRange{3, 4}, WireRange{1, 2})
	want := "no common wire version: this side accepts v3..=v4, the other side accepts v1..=v2"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}
