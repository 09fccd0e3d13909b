package sqlpact

import (
	"encoding/json"
	"os"
	"testing"
)

// The shared canonical-JSON cases (runtime/testdata/canonical_json.json); the Rust
// client test checks that serde_json writes the same.
func TestCanonicalJSONMatchesSerdeJSON(t *testing.T) {
	b, err := os.ReadFile("../testdata/canonical_json.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		In  string `json:"in"`
		Out string `json:"out"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		got, err := CanonicalJSON([]byte(c.In))
		if err != nil || got != c.Out {
			t.Errorf("%s: got %q, %v; want %q", c.In, got, err, c.Out)
		}
	}
}

func TestCanonicalJSONRefusesWhatIsNotOneValue(t *testing.T) {
	for _, in := range []string{"", "{", "1 2", `{"a":}`, "nul"} {
		if got, err := CanonicalJSON([]byte(in)); err == nil {
			t.Errorf("%q: got %q, want an error", in, got)
		}
	}
}
