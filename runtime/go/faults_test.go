package sqlpact

// The fault suite (docs/runtime.md, "Under faults"), as runtime/rust/tests/faults.rs
// runs it: a primary with a streaming standby (scripts/pg-extra.sh) for failover,
// toxiproxy between client and server for network faults, pg_terminate_backend for
// killed sessions.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	osexec "os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the tests through scripts/test.sh", name)
	}
	return v
}

// toxiProxy is one proxy of the toxiproxy server at SQLPACT_TEST_TOXIPROXY.
type toxiProxy struct {
	api, name, listen string
}

func toxiAPI(t *testing.T, method, url string, body any, want int) []byte {
	t.Helper()
	var in io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		in = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, in)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if want != 0 && resp.StatusCode != want {
		t.Fatalf("toxiproxy: %s %s: %d %s", method, url, resp.StatusCode, out)
	}
	return out
}

// newToxiProxy makes a proxy to upstream on a free port, removed when the test ends.
func newToxiProxy(t *testing.T, name, upstream string) *toxiProxy {
	t.Helper()
	p := &toxiProxy{api: "http://" + env(t, "SQLPACT_TEST_TOXIPROXY"), name: fmt.Sprintf("%s_%d", name, os.Getpid())}
	toxiAPI(t, "DELETE", p.api+"/proxies/"+p.name, nil, 0)
	out := toxiAPI(t, "POST", p.api+"/proxies", map[string]any{"name": p.name, "listen": "127.0.0.1:0",
		"upstream": upstream, "enabled": true}, http.StatusCreated)
	var v struct{ Listen string }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	p.listen = v.Listen
	t.Cleanup(func() { toxiAPI(t, "DELETE", p.api+"/proxies/"+p.name, nil, 0) })
	return p
}

// toxic adds a toxic on the server-to-client stream.
func (p *toxiProxy) toxic(t *testing.T, kind string, attributes map[string]any) {
	toxiAPI(t, "POST", p.api+"/proxies/"+p.name+"/toxics", map[string]any{"name": kind, "type": kind,
		"stream": "downstream", "toxicity": 1.0, "attributes": attributes}, http.StatusOK)
}

func (p *toxiProxy) removeToxic(t *testing.T, kind string) {
	toxiAPI(t, "DELETE", p.api+"/proxies/"+p.name+"/toxics/"+kind, nil, http.StatusNoContent)
}

func faultRead(name, sql string) *Statement {
	st := stmt(name, sql)
	st.Command, st.ReadOnly, st.Idempotent, st.Timeout = "many", true, true, 10*time.Second
	return st
}

// backendPID runs SELECT pg_backend_pid() through the runtime.
func backendPID(t *testing.T, db *DB) int32 {
	t.Helper()
	st := faultRead("Backend", "SELECT pg_backend_pid()")
	var pid int32
	if err := Run(context.Background(), st, db, nil, func(ctx context.Context, q DBTX) error {
		return q.QueryRow(ctx, st.SQL).Scan(&pid)
	}); err != nil {
		t.Fatal(err)
	}
	return pid
}

// Scenario 1: the server kills every pooled connection while it is idle; the next
// idempotent reads all succeed, on new connections.
func TestIdleConnectionsKilledByTheServerCostNoRead(t *testing.T) {
	url, admin := scratch(t, "fault_idle")
	ctx := context.Background()
	db := open(t, testPolicies(), Options{Hosts: []string{url}})
	slow := faultRead("SlowBackend", "SELECT pg_backend_pid() FROM pg_sleep(0.05)")
	var mu sync.Mutex
	var before []int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pid int32
			if err := Run(ctx, slow, db, nil, func(ctx context.Context, q DBTX) error {
				return q.QueryRow(ctx, slow.SQL).Scan(&pid)
			}); err != nil {
				t.Error(err)
			}
			mu.Lock()
			before = append(before, pid)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(before)
	before = slices.Compact(before)
	if len(before) < 2 {
		t.Fatalf("the pool opened one connection: %v", before)
	}
	tag, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", dbName(url))
	if err != nil || tag.RowsAffected() < int64(len(before)) {
		t.Fatalf("killed %v: %v", tag, err)
	}
	time.Sleep(100 * time.Millisecond)
	errs := make(chan error, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := readN(ctx, db)
			if err == nil && n != 0 {
				err = fmt.Errorf("read %d", n)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a read failed after the kill: %v", err)
		}
	}
	if pid := backendPID(t, db); slices.Contains(before, pid) {
		t.Fatalf("a killed connection serves: %d", pid)
	}
	if f := db.Stats().Failures; len(f) != 0 {
		t.Fatalf("failures %v", f)
	}
}

// Scenario 9: the connection is cut in the middle of a large result. The call fails
// (never a partial result as success), and the connection is not reused.
func TestAConnectionCutMidResultFailsTheCallAndIsDestroyed(t *testing.T) {
	url, _ := scratch(t, "fault_cut")
	proxy := newToxiProxy(t, "go_cut", targetOf(url))
	p := testPolicies()
	p.Pool.MaxSize = 1
	db := open(t, p, Options{Hosts: []string{via(url, proxy.listen)}})
	big := faultRead("Big", "SELECT i, repeat('x', 500) FROM generate_series(1, 20000) i")
	rowsOf := func() (int, error) {
		var n int
		err := Run(context.Background(), big, db, nil, func(ctx context.Context, q DBTX) error {
			n = 0
			rows, err := q.Query(ctx, big.SQL)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				n++
			}
			return rows.Err()
		})
		return n, err
	}
	if n, err := rowsOf(); err != nil || n != 20000 {
		t.Fatalf("%d rows, %v", n, err)
	}
	first := backendPID(t, db)

	// The server's reply is cut after 200 kB of the ~10 MB result, on this and every
	// new connection, so each retry of the read is cut too.
	proxy.toxic(t, "limit_data", map[string]any{"bytes": 200_000})
	n, err := rowsOf()
	if err == nil {
		t.Fatalf("a cut result succeeded with %d rows", n)
	}
	if c := classOf(t, err).Class; c != ClassConnection && c != ClassTimeout {
		t.Fatalf("class %s: %v", c, err)
	}

	proxy.removeToxic(t, "limit_data")
	if n, err := rowsOf(); err != nil || n != 20000 {
		t.Fatalf("once the link is sound: %d rows, %v", n, err)
	}
	if now := backendPID(t, db); now == first {
		t.Fatal("the cut connection was reused")
	}
}

// Scenario 6: the primary stops, its streaming standby is promoted. A write in flight
// when the primary died is reported ambiguous and not retried; writes reach the new
// primary within 5 s of the stop.
func TestWritesReachThePromotedStandbyWithinFiveSeconds(t *testing.T) {
	primary := env(t, "SQLPACT_TEST_FAILOVER_GO_PRIMARY")
	standby := env(t, "SQLPACT_TEST_FAILOVER_GO_STANDBY")
	primaryDir := env(t, "SQLPACT_TEST_FAILOVER_GO_PRIMARY_DIR")
	ctx := context.Background()
	pc, err := pgx.Connect(ctx, primary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Exec(ctx, "CREATE TABLE marks (v text PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	pc.Close(ctx)
	replica, err := pgx.Connect(ctx, standby)
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close(ctx)
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if err := replica.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname = 'marks'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the standby does not replay")
		}
	}

	db := open(t, testPolicies(), Options{Hosts: []string{primary, standby}})
	roles := func() []Role {
		var r []Role
		for _, h := range db.Stats().Hosts {
			r = append(r, h.Role)
		}
		return r
	}
	if r := roles(); !slices.Equal(r, []Role{RolePrimary, RoleReplica}) {
		t.Fatalf("roles %v", r)
	}
	mark := stmt("Mark", "INSERT INTO marks (v) VALUES ($1) ON CONFLICT DO NOTHING")
	mark.Idempotent = true
	if _, err := exec(ctx, db, mark, "before"); err != nil {
		t.Fatal(err)
	}
	inRecovery := faultRead("InRecovery", "SELECT pg_is_in_recovery()")
	inRecovery.Route = RouteReplica
	var rec bool
	if err := Run(ctx, inRecovery, db, nil, func(ctx context.Context, q DBTX) error {
		return q.QueryRow(ctx, inRecovery.SQL).Scan(&rec)
	}); err != nil || !rec {
		t.Fatalf("replica reads go to the standby: %v %v", rec, err)
	}

	slowMark := stmt("SlowMark", "INSERT INTO marks (v) SELECT $1::text FROM pg_sleep(3)")
	slow := make(chan error, 1)
	go func() {
		_, err := exec(ctx, db, slowMark, "in-flight")
		slow <- err
	}()
	time.Sleep(300 * time.Millisecond)
	stopped := time.Now()
	if out, err := osexec.Command("../../scripts/pg-extra.sh", "halt", primaryDir).CombinedOutput(); err != nil {
		t.Fatalf("halt: %v %s", err, out)
	}
	if err := <-slow; err == nil || classOf(t, err).Action != Ambiguous {
		t.Fatalf("the write in flight: %v", err)
	}
	if a := db.Stats().Ambiguous; a != 1 {
		t.Fatalf("ambiguous %d", a)
	}

	if _, err := replica.Exec(ctx, "SELECT pg_promote(true, 30)"); err != nil {
		t.Fatal(err)
	}
	tries := 0
	for {
		tries++
		_, err := exec(ctx, db, mark, "after")
		if err == nil {
			break
		}
		if time.Since(stopped) > 5*time.Second {
			t.Fatalf("no write reached the new primary within 5 s (%d tries): %v", tries, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(stopped)
	if took > 5*time.Second {
		t.Fatalf("took %v", took)
	}
	rows, err := replica.Query(ctx, "SELECT v FROM marks ORDER BY v")
	if err != nil {
		t.Fatal(err)
	}
	marks, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || !slices.Equal(marks, []string{"after", "before"}) {
		t.Fatalf("marks on the new primary %v (%v): the write landed there, the ambiguous one was not re-run", marks, err)
	}
	if r := roles(); r[1] != RolePrimary {
		t.Fatalf("roles %v", r)
	}
	t.Logf("failover: writes on the new primary %v after the stop (%d tries)", took, tries)
}

// Scenario 8: resets and a blackhole (toxiproxy). A reset after the statement was
// sent makes a write ambiguous, applied at most once; a reset before anything is sent
// is a plain connection error; a blackholed connection is given up at the statement's
// deadline instead of hanging.
func TestResetsAreClassifiedByWhenTheyComeAndABlackholeMeetsTheDeadline(t *testing.T) {
	url, _ := scratch(t, "fault_reset")
	proxy := newToxiProxy(t, "go_reset", targetOf(url))
	db := open(t, testPolicies(), Options{Hosts: []string{via(url, proxy.listen)}})
	ctx := context.Background()
	if _, err := readN(ctx, db); err != nil {
		t.Fatal(err)
	}

	slowBump := stmt("SlowBump", "UPDATE counter SET n = n + 1 FROM pg_sleep(1) WHERE id = 1")
	slow := make(chan error, 1)
	go func() {
		_, err := exec(ctx, db, slowBump)
		slow <- err
	}()
	time.Sleep(300 * time.Millisecond)
	proxy.toxic(t, "reset_peer", map[string]any{"timeout": 0})
	if err := <-slow; err == nil || classOf(t, err).Action != Ambiguous {
		t.Fatalf("after send: %v", err)
	}
	// Before send: the connection attempts are reset, and after three of them the
	// breaker opens; never ambiguous, since nothing reached the server.
	_, err := exec(ctx, db, stmt("Bump", "UPDATE counter SET n = n + 1 WHERE id = 1"))
	if err == nil {
		t.Fatal("a write went through a resetting link")
	}
	if e := classOf(t, err); (e.Class != ClassConnection && e.Class != ClassBreakerOpen) || e.Action == Ambiguous ||
		!strings.Contains(err.Error(), "reset") {
		t.Fatalf("before send: %s %s: %v", e.Class, e.Action, err)
	}
	proxy.removeToxic(t, "reset_peer")

	// The ambiguous update ran at most once; the one refused before send not at all.
	time.Sleep(time.Second)
	if n := count(t, url, "SELECT n::bigint FROM counter WHERE id = 1"); n > 1 {
		t.Fatalf("n = %d", n)
	}

	if _, err := readN(ctx, db); err != nil {
		t.Fatal(err)
	}
	proxy.toxic(t, "timeout", map[string]any{"timeout": 0})
	quick := faultRead("QuickRead", "SELECT n FROM counter WHERE id = 1")
	quick.Timeout = 500 * time.Millisecond
	start := time.Now()
	var n int32
	err = Run(ctx, quick, db, nil, func(ctx context.Context, q DBTX) error { return q.QueryRow(ctx, quick.SQL).Scan(&n) })
	took := time.Since(start)
	if err == nil || classOf(t, err).Class != ClassTimeout {
		t.Fatalf("blackholed: %v", err)
	}
	if took > 1500*time.Millisecond {
		t.Fatalf("given up %v after the call, past its 500 ms deadline", took)
	}
	proxy.removeToxic(t, "timeout")
}

// Scenario 13: every connection fails, from the start. Retries stay within the retry
// budget, the breaker opens, and every call fails with a connection or breaker error,
// most of them fast.
func TestUnderTotalFailureRetriesStayWithinTheBudgetAndTheBreakerOpens(t *testing.T) {
	url, _ := scratch(t, "fault_total")
	proxy := newToxiProxy(t, "go_total", targetOf(url))
	proxy.toxic(t, "reset_peer", map[string]any{"timeout": 0})
	budget := BudgetConfig{Percent: 10, MinPerSec: 1, TTLMs: 10_000}
	rec := &recorder{}
	db := open(t, testPolicies(), Options{Hosts: []string{via(url, proxy.listen)}, Budget: budget, Observer: rec})
	const calls = 200
	for range calls {
		_, err := readN(context.Background(), db)
		if err == nil {
			t.Fatal("a read got through")
		}
		if c := classOf(t, err).Class; c != ClassConnection && c != ClassBreakerOpen {
			t.Fatalf("class %s: %v", c, err)
		}
	}
	s := db.Stats()
	var retries int64
	for _, n := range s.Retries {
		retries += n
	}
	allowed := int64(budget.MinPerSec*budget.TTLMs/1000 + budget.Percent*calls/100)
	if retries > allowed {
		t.Fatalf("%d retries for %d calls, the budget allows %d", retries, calls, allowed)
	}
	rec.mu.Lock()
	opened := slices.Contains(rec.events, "breaker "+BreakerOpen.String())
	rec.mu.Unlock()
	if !opened {
		t.Fatalf("the breaker never opened: %v", rec.events)
	}
	if s.Failures[ClassBreakerOpen] <= calls/2 {
		t.Fatalf("most calls should fail fast: %v", s.Failures)
	}
}

// Scenario 5: the server refuses connections beyond a limit (53300, the role may open
// two). Calls back off within the retry budget, the connections already open keep
// serving, and no call fails with anything but too_many_connections or an open breaker.
func TestTooManyConnectionsBacksOffWhileOpenConnectionsServe(t *testing.T) {
	url, admin := scratch(t, "fault_limit")
	ctx := context.Background()
	role := fmt.Sprintf("golimited_%d", os.Getpid())
	for _, sql := range []string{
		"DROP ROLE IF EXISTS " + role,
		"CREATE ROLE " + role + " LOGIN PASSWORD 'limited' CONNECTION LIMIT 2",
		"GRANT ALL ON DATABASE " + dbName(url) + " TO " + role,
	} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, "GRANT SELECT ON counter TO "+role); err != nil {
		t.Fatal(err)
	}
	owner.Close(ctx)
	limited := "postgresql://" + role + ":limited@" + url[strings.LastIndex(url, "@")+1:]
	p := testPolicies()
	p.Pool.AcquireTimeout = 3 * time.Second
	db := open(t, p, Options{Hosts: []string{limited}})
	slow := faultRead("SlowRead", "SELECT n FROM counter, pg_sleep(0.05) WHERE id = 1")
	const calls = 24
	errs := make(chan error, calls)
	var wg sync.WaitGroup
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int32
			errs <- Run(ctx, slow, db, nil, func(ctx context.Context, q DBTX) error { return q.QueryRow(ctx, slow.SQL).Scan(&n) })
		}()
	}
	wg.Wait()
	close(errs)
	served := 0
	for err := range errs {
		if err == nil {
			served++
			continue
		}
		if c := classOf(t, err).Class; c != ClassTooManyConnections && c != ClassBreakerOpen {
			t.Errorf("class %s: %v", c, err)
		}
	}
	s := db.Stats()
	if s.Hosts[0].Size > 2 {
		t.Fatalf("more connections than the server allows: %+v", s.Hosts[0])
	}
	// Each pooled connection served, and serves on: a call after the burst is answered
	// by an idle one, whatever the breaker's state.
	if served < 2 {
		t.Fatalf("the open connections stopped serving: %d of %d", served, calls)
	}
	if _, err := readN(ctx, db); err != nil {
		t.Fatalf("after the burst: %v", err)
	}
	if s.Retries[ClassTooManyConnections] == 0 {
		t.Fatalf("the server never refused a connection: %+v", s)
	}
	var retries int64
	for _, n := range s.Retries {
		retries += n
	}
	if allowed := int64(DefaultBudget.MinPerSec*DefaultBudget.TTLMs/1000 + DefaultBudget.Percent*calls/100); retries > allowed {
		t.Fatalf("%d retries, the budget allows %d", retries, allowed)
	}
	t.Logf("53300: %d of %d served, %d retries, breaker %v", served, calls, retries, s.Hosts[0].Breaker)
}

// Scenario 11: concurrent SERIALIZABLE transfers between a few accounts, each debiting
// then crediting (so two transfers in opposite directions lock in opposite orders).
// Serialization failures and deadlocks re-run whole transactions within the policy's
// attempts; every balance is what the committed transfers make it, and the total
// never changes.
func TestSerializableTransfersKeepTheSumAndRerunWithinThePolicy(t *testing.T) {
	url, _ := scratch(t, "fault_transfers")
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, `CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 6) g;
-- Deadlocks are found after deadlock_timeout (1 s by default): 100 ms here.
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET deadlock_timeout = ''100ms''', current_database());
END $$`); err != nil {
		t.Fatal(err)
	}
	p := testPolicies()
	p.Pool.AcquireTimeout = 3 * time.Second // twelve transfers queue for four connections
	db := open(t, p, Options{Hosts: []string{url}})
	debit := stmt("Debit", "UPDATE accounts SET balance = balance - $2 WHERE id = $1")
	credit := stmt("Credit", "UPDATE accounts SET balance = balance + $2 WHERE id = $1")
	type transfer struct {
		from, to int32
		amount   int64
	}
	var (
		mu        sync.Mutex
		committed []transfer
		failed    []error
		maxCalls  int
		wg        sync.WaitGroup
	)
	for task := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := NewSplitMix64(uint64(task))
			for range 8 {
				// Accounts 1..=6; `to` differs from `from`.
				from := 1 + int32(rng.Uniform(5))
				to := (from+int32(rng.Uniform(4)))%6 + 1
				amount := 1 + int64(rng.Uniform(49))
				calls := 0
				err := db.Transaction(ctx, TxOptions{IsoLevel: pgx.Serializable}, func(ctx context.Context, tx *Tx) error {
					calls++
					if _, err := exec(ctx, tx, debit, from, amount); err != nil {
						return err
					}
					// Widen the window in which the other direction's locks are taken.
					time.Sleep(3 * time.Millisecond)
					_, err := exec(ctx, tx, credit, to, amount)
					return err
				})
				mu.Lock()
				maxCalls = max(maxCalls, calls)
				if err == nil {
					committed = append(committed, transfer{from, to, amount})
				} else {
					failed = append(failed, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range failed {
		if c := ClassOf(err); c != ClassSerialization && c != ClassDeadlock {
			t.Errorf("a transfer failed otherwise: %v", err)
		}
	}
	var expect [7]int64
	for i := range expect {
		expect[i] = 1000
	}
	for _, tr := range committed {
		expect[tr.from] -= tr.amount
		expect[tr.to] += tr.amount
	}
	rows, err := owner.Query(ctx, "SELECT id, balance FROM accounts ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for rows.Next() {
		var id int32
		var balance int64
		if err := rows.Scan(&id, &balance); err != nil {
			t.Fatal(err)
		}
		if balance != expect[id] {
			t.Errorf("account %d: balance %d, committed transfers make it %d", id, balance, expect[id])
		}
		total += balance
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if total != 6000 {
		t.Errorf("the sum of the balances is %d, not 6000", total)
	}
	s := db.Stats()
	if s.TransactionReruns == 0 {
		t.Errorf("the transfers did not conflict (the scenario's point): %+v", s)
	}
	if maxCalls > int(fast.Backoff.MaxAttempts) {
		t.Errorf("a transaction ran %d times; its policy allows %d", maxCalls, fast.Backoff.MaxAttempts)
	}
	t.Logf("transfers: %d committed, %d failed, %d re-runs, retries %v", len(committed), len(failed), s.TransactionReruns, s.Retries)
	if len(committed)+len(failed) != 96 || len(committed) < 48 {
		t.Errorf("%d transfers committed, %d failed", len(committed), len(failed))
	}
}
