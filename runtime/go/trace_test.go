package sqlpact

// Scenario 14 of the fault suite (docs/runtime.md, "Under faults"), as
// runtime/rust/tests/trace.rs runs it: the seeded fault script
// runtime/testdata/faultscript.json (written by make_faultscript.py), its faults raised
// by PostgreSQL itself, gives the decision-and-delay trace committed as
// runtime/testdata/faulttrace.txt, line for line. SQLPACT_UPDATE_TRACE=1 rewrites the
// file instead of comparing with it.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	faultScriptPath = "../testdata/faultscript.json"
	faultTracePath  = "../testdata/faulttrace.txt"
)

// traceHeader is the committed trace's header; the comparison skips its # lines.
const traceHeader = `# Scenario 14 of the fault suite (docs/runtime.md, "Under faults"): the decisions and
# delays of runtime/testdata/faultscript.json, as the Rust runtime
# (runtime/rust/tests/trace.rs) and the Go runtime (runtime/go/trace_test.go) both
# trace it. Rewritten by either test run with SQLPACT_UPDATE_TRACE=1.
# ` + "`call`" + ` lines name each call (its kind and scripted SQLSTATEs); the indented lines are
# the observer's events (host ` + "`db`" + `, delays in microseconds) and ` + "`=`" + ` the call's outcome.
`

type faultScript struct {
	Seed   uint64 `json:"seed"`
	Policy struct {
		Retry struct {
			BaseUs      int64   `json:"base_us"`
			CapUs       int64   `json:"cap_us"`
			MaxAttempts uint32  `json:"max_attempts"`
			Multiplier  float64 `json:"multiplier"`
			Jitter      string  `json:"jitter"`
		} `json:"retry"`
		TimeoutMs int64 `json:"timeout_ms"`
		Breaker   struct {
			FailureThreshold uint32 `json:"failure_threshold"`
			OpenForMs        int64  `json:"open_for_ms"`
		} `json:"breaker"`
		Budget struct {
			Percent   uint64 `json:"percent"`
			MinPerSec uint64 `json:"min_per_sec"`
			TTLMs     uint64 `json:"ttl_ms"`
		} `json:"budget"`
		Pool struct {
			MaxSize          uint32 `json:"max_size"`
			AcquireTimeoutMs int64  `json:"acquire_timeout_ms"`
		} `json:"pool"`
	} `json:"policy"`
	Setup []string `json:"setup"`
	Calls []struct {
		Call   int32    `json:"call"`
		Kind   string   `json:"kind"`
		Faults []string `json:"faults"`
		Key    string   `json:"key"`
		Expect string   `json:"expect"`
	} `json:"calls"`
}

// traceRecorder records the events that are decisions or delays, as trace lines;
// connections opened and closed are left out (how many a runtime opens is its own
// business).
type traceRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *traceRecorder) push(line string) {
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
}

func (r *traceRecorder) OnEvent(e Event) {
	var line string
	switch e.Kind {
	case EventAttempt:
		line = fmt.Sprintf("  attempt %d %s %s", e.Attempt, e.Statement, e.Host)
	case EventRetry:
		line = fmt.Sprintf("  retry %d %s %s %s delay=%dus", e.Attempt, e.Statement, e.Host, e.Class,
			e.Delay/time.Microsecond)
	case EventFailed:
		line = fmt.Sprintf("  failed %s %s attempts=%d ambiguous=%t budget_exhausted=%t", e.Statement, e.Class,
			e.Attempt, e.Ambiguous, e.BudgetExhausted)
	case EventReplayed:
		line = "  replayed " + e.Statement
	case EventBreaker:
		line = fmt.Sprintf("  breaker %s %s", e.Host, e.Breaker)
	case EventRole:
		line = fmt.Sprintf("  role %s %s", e.Host, e.Role)
	case EventAcquireTimeout:
		line = "  acquire_timeout " + e.Host
	default:
		return
	}
	r.push(line)
}

// traceKinds are the script's statements, run under its policy.
type traceKinds struct {
	read, write, idempotentWrite, keyedWrite, inTransaction *Statement
}

func tracePolicies(s *faultScript) (*Policies, traceKinds) {
	p := s.Policy
	retry := &RetryPolicy{Name: "standard", Backoff: BackoffPolicy{
		Base:        time.Duration(p.Retry.BaseUs) * time.Microsecond,
		Cap:         time.Duration(p.Retry.CapUs) * time.Microsecond,
		MaxAttempts: p.Retry.MaxAttempts,
		Multiplier:  p.Retry.Multiplier,
		Jitter:      map[string]Jitter{"full": JitterFull, "equal": JitterEqual, "none": JitterNone}[p.Retry.Jitter],
	}}
	timeout := time.Duration(p.TimeoutMs) * time.Millisecond
	read := &Statement{Name: "Read", Command: "one", SQL: "SELECT sqlpact_fault($1)", ReadOnly: true,
		Idempotent: true, Route: RoutePrimary, Timeout: timeout, Retry: retry}
	write := &Statement{Name: "Write", Command: "exec",
		SQL:   "INSERT INTO fault_log (call, attempt) VALUES ($1, sqlpact_fault($1))",
		Route: RoutePrimary, Timeout: timeout, Retry: retry}
	idempotent := *write
	idempotent.Name, idempotent.Idempotent = "IdempotentWrite", true
	idempotent.SQL = "INSERT INTO fault_log (call, attempt) VALUES ($1, sqlpact_fault($1)) ON CONFLICT (call) DO NOTHING"
	keyed := *write
	keyed.Name = "KeyedWrite"
	keyed.SQL = "INSERT INTO fault_log (call, attempt, key) VALUES ($1, sqlpact_fault($1), $2)"
	keyed.Idempotency = &IdempotencyKey{Param: 1, ParamType: "text"}
	inTx := *write
	inTx.Name = "TxWrite"
	policies := &Policies{Contract: "fault-script", Version: "0.0.0",
		Pool: PoolPolicy{MaxSize: p.Pool.MaxSize, AcquireTimeout: time.Duration(p.Pool.AcquireTimeoutMs) * time.Millisecond,
			IdleTimeout: 10 * time.Minute, MaxLifetime: 30 * time.Minute},
		Breaker: BreakerPolicy{FailureThreshold: p.Breaker.FailureThreshold,
			OpenFor: time.Duration(p.Breaker.OpenForMs) * time.Millisecond},
		Retry: []*RetryPolicy{retry}}
	return policies, traceKinds{read: read, write: write, idempotentWrite: &idempotent, keyedWrite: &keyed, inTransaction: &inTx}
}

// traceOutcome is the outcome line of a call, as the script's expect spells it.
func traceOutcome(t *testing.T, err error) string {
	if err == nil {
		return "ok"
	}
	e := classOf(t, err)
	return fmt.Sprintf("err %s %s attempts=%d ambiguous=%t budget_exhausted=%t", e.Class, e.Action, e.Attempts,
		e.Ambiguous(), e.BudgetExhausted)
}

// compareTrace fails at the first line where got departs from the committed trace,
// naming the call it belongs to and the lines before it.
func compareTrace(t *testing.T, committed string, got []string, whole string) {
	t.Helper()
	type line struct {
		no   int
		text string
	}
	var want []line
	var all []string
	if committed != "" {
		all = strings.Split(strings.TrimSuffix(committed, "\n"), "\n")
	}
	for i, l := range all {
		if !strings.HasPrefix(l, "#") {
			want = append(want, line{i + 1, l})
		}
	}
	for k := 0; k < max(len(want), len(got)); k++ {
		w, g := "<end of trace>", "<end of trace>"
		no := len(all) + 1
		if k < len(want) {
			w, no = want[k].text, want[k].no
		}
		if k < len(got) {
			g = got[k]
		}
		if k < len(want) && k < len(got) && w == g {
			continue
		}
		call := "before the first call"
		for i := min(k, len(got)) - 1; i >= 0; i-- {
			if strings.HasPrefix(got[i], "call ") {
				call = got[i]
				break
			}
		}
		before := strings.Join(got[max(k-4, 0):min(k, len(got))], "\n    ")
		t.Fatalf("the trace departs from runtime/testdata/faulttrace.txt at its line %d (%s):\n  want: %s\n  got:  %s\n"+
			"  after:\n    %s\nThe whole trace is in %s; SQLPACT_UPDATE_TRACE=1 rewrites the committed one.",
			no, call, w, g, before, whole)
	}
}

// assertTraceCovers checks that what the script is there to exercise is in the trace,
// so that a trace that lost its faults cannot pass by matching a file that lost them
// too.
func assertTraceCovers(t *testing.T, lines []string) {
	t.Helper()
	actions, retried := map[string]bool{}, map[string]bool{}
	has := func(needle string) bool {
		for _, l := range lines {
			if strings.Contains(l, needle) {
				return true
			}
		}
		return false
	}
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "  = err "); ok {
			actions[strings.Fields(rest)[1]] = true
		}
		if strings.HasPrefix(l, "  retry ") {
			retried[strings.Fields(l)[4]] = true
		}
	}
	for _, a := range []Action{RetryAnywhere, BackoffRetry, RerunTransaction, ReroutePrimary, Ambiguous, Fatal} {
		if !actions[string(a)] {
			t.Errorf("no call ends with action %s", a)
		}
	}
	for _, c := range []Class{ClassSerialization, ClassDeadlock, ClassLockNotAvailable, ClassServerShutdown,
		ClassTooManyConnections, ClassReadOnly, ClassConnection} {
		if !retried[string(c)] {
			t.Errorf("no retry of class %s: %v", c, retried)
		}
	}
	for needle, what := range map[string]string{
		"budget_exhausted=true":      "the retry budget never ran out",
		"  breaker db open":          "the breaker never opened",
		"  failed Read breaker_open": "no retry was refused by the open breaker",
		"  replayed KeyedWrite":      "no keyed write was replayed",
	} {
		if !has(needle) {
			t.Error(what)
		}
	}
}

// Scenario 14: the same seeded fault script run by the Go and the Rust runtime gives
// identical decision-and-delay traces. PostgreSQL raises the scripted SQLSTATE of each
// attempt (a PL/pgSQL function counting the attempts of each call in a sequence, which
// no rollback undoes); the calls run one after another under policies no clock can sway
// (deadlines and the breaker's open delay far beyond the test, a budget window longer
// than it), so every decision and delay follows from the script and the seed.
func TestSeededFaultScriptGivesTheCommittedTrace(t *testing.T) {
	raw, err := os.ReadFile(faultScriptPath)
	if err != nil {
		t.Fatal(err)
	}
	var script faultScript
	if err := json.Unmarshal(raw, &script); err != nil {
		t.Fatal(err)
	}
	url, _ := scratch(t, "trace")
	ctx := context.Background()
	setup, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range append([]string{IdempotencyTable}, script.Setup...) {
		if _, err := setup.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	setup.Close(ctx)
	policies, kinds := tracePolicies(&script)
	b := script.Policy.Budget

	started := time.Now()
	rec := &traceRecorder{}
	rec.push("open")
	db, err := Open(ctx, policies, Options{Hosts: []string{url}, Seed: script.Seed, Observer: rec,
		Budget: BudgetConfig{Percent: b.Percent, MinPerSec: b.MinPerSec, TTLMs: b.TTLMs}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var unexpected []string
	for _, c := range script.Calls {
		rec.push(strings.Join(append([]string{"call", fmt.Sprint(c.Call), c.Kind}, c.Faults...), " "))
		var err error
		switch c.Kind {
		case "read":
			err = Run(ctx, kinds.read, db, nil, func(ctx context.Context, q DBTX) error {
				var n int64
				return q.QueryRow(ctx, kinds.read.SQL, c.Call).Scan(&n)
			})
		case "write":
			_, err = exec(ctx, db, kinds.write, c.Call)
		case "idempotent_write":
			_, err = exec(ctx, db, kinds.idempotentWrite, c.Call)
		case "keyed_write":
			_, err = exec(ctx, db, kinds.keyedWrite, c.Call, c.Key)
		case "transaction":
			err = db.Transaction(ctx, TxOptions{}, func(ctx context.Context, tx *Tx) error {
				_, err := exec(ctx, tx, kinds.inTransaction, c.Call)
				return err
			})
		default:
			t.Fatalf("unknown kind %s", c.Kind)
		}
		got := traceOutcome(t, err)
		if got != c.Expect {
			unexpected = append(unexpected, fmt.Sprintf("call %d: %s, the rules give %s", c.Call, got, c.Expect))
		}
		rec.push("  = " + got)
	}
	took := time.Since(started)

	host := db.Stats().Hosts[0].Name
	rec.mu.Lock()
	lines := make([]string, len(rec.lines))
	for i, l := range rec.lines {
		lines[i] = strings.ReplaceAll(l, " "+host, " db")
	}
	rec.mu.Unlock()
	text := traceHeader + strings.Join(lines, "\n") + "\n"
	whole := filepath.Join(os.TempDir(), "sqlpact-faulttrace.go.txt")
	if err := os.WriteFile(whole, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if len(unexpected) > 0 {
		t.Fatalf("outcomes departing from the script's (docs/runtime.md's rules, make_faultscript.py):\n  %s\n"+
			"The whole trace is in %s", strings.Join(unexpected, "\n  "), whole)
	}
	assertTraceCovers(t, lines)
	if os.Getenv("SQLPACT_UPDATE_TRACE") == "1" {
		if err := os.WriteFile(faultTracePath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		committed, _ := os.ReadFile(faultTracePath)
		compareTrace(t, string(committed), lines, whole)
	}
	retries := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "  retry ") {
			retries++
		}
	}
	t.Logf("scenario 14: %d calls, %d retries, %d trace lines in %v", len(script.Calls), retries, len(lines), took)
}
