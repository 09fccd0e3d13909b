package sqlpact

// The fault suite (docs/runtime.md, "Under faults"), as runtime/rust/tests/faults.rs
// runs it: a primary with a streaming standby (scripts/pg-extra.sh) for failover, a
// server to restart, toxiproxy between client and server for network faults, a TCP
// gate for the outage, pg_terminate_backend for killed sessions.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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
	st.Command, st.ReadOnly, st.Idempotent, st.Timeout = "one", true, true, 10*time.Second
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
	big.Command = "many"
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
	s := failEveryCall(t, testPolicies(), via(url, proxy.listen), faultRead("ReadN", "SELECT n FROM counter WHERE id = 1"), ClassConnection)
	if s.Failures[ClassBreakerOpen] <= 100 {
		t.Fatalf("most of the 200 calls should fail fast: %v", s.Failures)
	}
}

// smallBudget is the retry budget scenario 13 runs with: 10% of the calls plus 10.
var smallBudget = BudgetConfig{Percent: 10, MinPerSec: 1, TTLMs: 10_000}

// failEveryCall is scenario 13's run: 200 calls of st, each failing with class or
// breaker_open, under smallBudget. Retries stay within the budget and the breaker
// opens; the stats.
func failEveryCall(t *testing.T, p *Policies, url string, st *Statement, class Class) Stats {
	t.Helper()
	rec := &recorder{}
	db := open(t, p, Options{Hosts: []string{url}, Budget: smallBudget, Observer: rec})
	const calls = 200
	for range calls {
		err := Run(context.Background(), st, db, nil, func(ctx context.Context, q DBTX) error {
			var n int32
			return q.QueryRow(ctx, st.SQL).Scan(&n)
		})
		if err == nil {
			t.Fatal("a call got through")
		}
		if c := classOf(t, err).Class; c != class && c != ClassBreakerOpen {
			t.Fatalf("class %s: %v", c, err)
		}
	}
	s := db.Stats()
	var retries int64
	for _, n := range s.Retries {
		retries += n
	}
	allowed := int64(smallBudget.MinPerSec*smallBudget.TTLMs/1000 + smallBudget.Percent*calls/100)
	if retries > allowed {
		t.Fatalf("%d retries for %d calls, the budget allows %d", retries, calls, allowed)
	}
	rec.mu.Lock()
	opened := slices.Contains(rec.events, "breaker "+BreakerOpen.String())
	rec.mu.Unlock()
	if !opened {
		t.Fatalf("the breaker never opened: %v", rec.events)
	}
	return s
}

// Scenario 13 again, with every statement refused by the server (53300, so the host
// keeps its role and every retry asks the budget) and a breaker that opens only on the
// failure ratio (20 results, half failed): the retry budget binds first. Retries stay
// within it, calls fail marked budget-exhausted, and the breaker still opens.
func TestUnderTotalFailureTheBudgetBindsBeforeASlowBreakerOpens(t *testing.T) {
	url, _ := scratch(t, "fault_total_budget")
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Exec(ctx, `CREATE FUNCTION refuse() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'too many' USING ERRCODE = '53300';
END $$`)
	c.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := faultPolicies()
	p.Breaker.FailureThreshold = 1000
	s := failEveryCall(t, p, url, faultRead("Refused", "SELECT refuse()"), ClassTooManyConnections)
	if s.BudgetExhausted == 0 {
		t.Fatalf("the budget never bound: %+v", s)
	}
	t.Logf("total failure, slow breaker: retries %v, %d calls failed budget-exhausted, failures %v",
		s.Retries, s.BudgetExhausted, s.Failures)
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
	owner := connect(t, url)
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
	owner := connect(t, url)
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

// standard is the retry policy of the scenarios below, as runtime/rust/tests/faults.rs
// has it.
var standard = &RetryPolicy{Name: "standard", Backoff: BackoffPolicy{Base: 10 * time.Millisecond,
	Cap: 200 * time.Millisecond, MaxAttempts: 4, Multiplier: 2, Jitter: JitterFull}}

// faultPolicies are the policies of the scenarios below, as runtime/rust/tests/faults.rs
// has them.
func faultPolicies() *Policies {
	return &Policies{Contract: "fault-suite", Version: "0.0.0",
		Pool: PoolPolicy{MaxSize: 4, AcquireTimeout: 500 * time.Millisecond, IdleTimeout: time.Minute,
			MaxLifetime: 30 * time.Minute},
		Breaker: BreakerPolicy{FailureThreshold: 3, OpenFor: 200 * time.Millisecond},
		Retry:   []*RetryPolicy{standard}}
}

// stamped is an event and when the runtime emitted it.
type stamped struct {
	at time.Time
	Event
}

// timeline keeps every event with its time, so that what the runtime did can be set
// against what the test did meanwhile.
type timeline struct {
	mu     sync.Mutex
	events []stamped
}

func (l *timeline) OnEvent(e Event) {
	at := time.Now()
	l.mu.Lock()
	l.events = append(l.events, stamped{at, e})
	l.mu.Unlock()
}

func (l *timeline) all() []stamped {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// quantile is the q-quantile of ds (nearest rank).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max(int(math.Ceil(q*float64(len(s))))-1, 0)]
}

// holdAll opens n connections of db's primary at once and returns them to the pool.
func holdAll(t *testing.T, db *DB, n int) []uint32 {
	t.Helper()
	var pids []uint32
	var held []*pgxpool.Conn
	for range n {
		c, err := db.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		pids = append(pids, c.Conn().PgConn().PID())
	}
	for _, c := range held {
		c.Release()
	}
	return pids
}

// Scenario 3: the server stops at once and starts again, refusing connections with
// 57P03 while it recovers (1.5 s). The connections to the old server cost at most one
// failed attempt each, the breaker bounds the dials while the server refuses, and reads
// are served again at the breaker's first probe after the server takes connections.
func TestAFastRestartCostsFewAttemptsBoundsDialsAndRecoversAtTheNextProbe(t *testing.T) {
	url := env(t, "SQLPACT_TEST_RESTART_GO_URL")
	dir := env(t, "SQLPACT_TEST_RESTART_GO_DIR")
	ctx := context.Background()
	events := &timeline{}
	p := faultPolicies()
	db := open(t, p, Options{Hosts: []string{url}, Observer: events})
	// Four connections open at once: the generation the restart makes stale.
	stale := map[uint32]bool{}
	for _, pid := range holdAll(t, db, 4) {
		stale[pid] = true
	}

	read := faultRead("RestartPid", "SELECT pg_backend_pid()")
	read.Timeout, read.Retry = 2*time.Second, standard
	// Each attempt on a connection of its own, whose generation the test can tell.
	read.Command = "many"
	type call struct {
		worker     int
		start, end time.Time
		pid        uint32
		err        error
	}
	var (
		mu            sync.Mutex
		calls         []call
		staleFailures int // attempts that failed on a connection of the stale generation
		stop          atomic.Bool
		wg            sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				start := time.Now()
				var pid int32
				err := Run(ctx, read, db, nil, func(ctx context.Context, q DBTX) error {
					on := q.(*pgxpool.Conn).Conn().PgConn().PID()
					err := q.QueryRow(ctx, read.SQL).Scan(&pid)
					if err != nil && stale[on] {
						mu.Lock()
						staleFailures++
						mu.Unlock()
					}
					return err
				})
				mu.Lock()
				calls = append(calls, call{w, start, time.Now(), uint32(pid), err})
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)

	// The server logs every dial it receives (log_connections).
	log := filepath.Join(dir, "log")
	dialsLogged := func() int {
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "connection received")
	}
	before := dialsLogged()
	restart := time.Now()
	out, err := osexec.Command("../../scripts/pg-extra.sh", "restart", dir, "1.5").CombinedOutput()
	serving := time.Now()
	dials := dialsLogged() - before
	// Long enough for the breaker's longest open delay (16 × open_for) and then some.
	time.Sleep(4 * time.Second)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("restart: %v %s", err, out)
	}

	var firstFailure time.Time
	failedAttempts, evictions := 0, 0
	var breakerAfter []BreakerState
	for _, e := range events.all() {
		switch {
		case e.at.Before(restart):
		case e.Kind == EventRetry || e.Kind == EventFailed:
			if firstFailure.IsZero() {
				firstFailure = e.at
			}
			if e.Class != ClassBreakerOpen {
				failedAttempts++
			}
		case e.Kind == EventConnectionClosed:
			evictions++
		case e.Kind == EventBreaker && e.at.After(serving):
			breakerAfter = append(breakerAfter, e.Breaker)
		}
	}
	var firstServed time.Time
	byClass := map[Class]int{}
	last := map[int]error{}
	for _, c := range calls {
		last[c.worker] = c.err
		if c.err != nil {
			cl := classOf(t, c.err).Class
			byClass[cl]++
			if cl != ClassServerShutdown && cl != ClassConnection && cl != ClassBreakerOpen && cl != ClassTimeout {
				t.Errorf("a read failed with %s: %v", cl, c.err)
			}
			continue
		}
		if stale[c.pid] && !firstFailure.IsZero() && c.end.After(firstFailure) {
			t.Errorf("a read succeeded on the stale backend %d %v after the restart began, after an attempt had failed",
				c.pid, c.end.Sub(restart))
		}
		if !stale[c.pid] && c.end.After(serving) && (firstServed.IsZero() || c.end.Before(firstServed)) {
			firstServed = c.end
		}
	}
	lag := firstServed.Sub(serving)
	t.Logf("restart: down %v, %d dials, %d failed attempts (%d on the 4 stale connections), %d evictions; "+
		"served again %v after the server was; breaker after it %v; failed calls %v",
		serving.Sub(restart).Round(time.Millisecond), dials, failedAttempts, staleFailures, evictions,
		lag.Round(time.Millisecond), breakerAfter, byClass)

	if firstFailure.IsZero() || firstServed.IsZero() {
		t.Fatalf("the restart went unnoticed (first failure %v) or nothing was served after it (%v)",
			firstFailure, firstServed)
	}
	// Each stale connection failed one attempt at most, and none is left in the pool.
	if staleFailures > len(stale) || failedAttempts > dials+int(p.Pool.MaxSize) {
		t.Errorf("%d attempts failed on the %d stale connections, %d attempts failed in all for %d dials",
			staleFailures, len(stale), failedAttempts, dials)
	}
	for _, c := range db.hosts[0].pool.AcquireAllIdle(ctx) {
		if pid := c.Conn().PgConn().PID(); stale[pid] {
			t.Errorf("the stale connection of backend %d is still pooled", pid)
		}
		c.Release()
	}
	// Four callers retrying every 10 ms would dial well over a hundred times.
	if dials > 20 {
		t.Errorf("%d dials while the server restarted, want at most 20", dials)
	}
	// The first probe after the server serves succeeds, and from the first read served
	// on, every read is.
	if len(breakerAfter) > 0 && breakerAfter[0] != BreakerClosed &&
		!(len(breakerAfter) > 1 && breakerAfter[0] == BreakerHalfOpen && breakerAfter[1] == BreakerClosed) {
		t.Errorf("the breaker after the server served again: %v", breakerAfter)
	}
	for _, c := range calls {
		if c.start.After(firstServed) && c.err != nil {
			t.Errorf("a read failed %v after reads were served again: %v", c.start.Sub(firstServed), c.err)
		}
	}
	for w, err := range last {
		if err != nil {
			t.Errorf("worker %d was not served again: %v", w, err)
		}
	}
	if maxOpen := 16 * p.Breaker.OpenFor; lag > maxOpen {
		t.Errorf("served again %v after the server was, past the breaker's longest open delay %v", lag, maxOpen)
	}
}

// gate forwards TCP connections to a server; while it is down it accepts connections
// and holds them unanswered (a blackhole: a dial through it hangs until the client
// gives up). It tells a connection attempt from a CancelRequest by the first message
// (so the client must not ask for TLS first), and counts both.
type gate struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	links  []net.Conn
	held   map[net.Conn]bool
	// Since the gate went down: the connection attempts held (spans) and the
	// CancelRequests held (cancels); peakFrom starts the window counts' peak covers.
	spans    []*span
	cancels  int
	peakFrom time.Time
}

// span is a connection attempt the gate held: from its first message to its close
// (zero while open).
type span struct{ start, end time.Time }

// closeLag is how long the gate may take to see a client's close: a connection the
// client closed just before dialing the next can still look held beside it for that
// long, on a loaded machine, and only an overlap beyond it is two attempts at once.
const closeLag = 50 * time.Millisecond

func startGate(t *testing.T, target string) *gate {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, target: target, held: map[net.Conn]bool{}}
	t.Cleanup(func() {
		ln.Close()
		g.up()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.mu.Lock()
			down := g.down
			if down {
				g.held[c] = true
			}
			g.mu.Unlock()
			if down {
				go g.hold(c)
			} else {
				go g.forward(c)
			}
		}
	}()
	return g
}

// cancelRequestCode opens a CancelRequest, where a connection opens with its startup
// message (protocol 3.0).
const cancelRequestCode = 80877102

// hold reads what the client sends, answering nothing, until the client gives up (or
// the gate comes up and drops it).
func (g *gate) hold(c net.Conn) {
	var head [8]byte
	_, err := io.ReadFull(c, head[:])
	cancel := err == nil && binary.BigEndian.Uint32(head[4:]) == cancelRequestCode
	g.mu.Lock()
	var sp *span
	if cancel {
		g.cancels++
	} else {
		sp = &span{start: time.Now()}
		g.spans = append(g.spans, sp)
	}
	g.mu.Unlock()
	if err == nil {
		_, _ = io.Copy(io.Discard, c)
	}
	c.Close()
	g.mu.Lock()
	delete(g.held, c)
	if sp != nil {
		sp.end = time.Now()
	}
	g.mu.Unlock()
}

func (g *gate) forward(in net.Conn) {
	out, err := net.Dial("tcp", g.target)
	if err != nil {
		in.Close()
		return
	}
	g.mu.Lock()
	if g.down {
		g.mu.Unlock()
		in.Close()
		out.Close()
		return
	}
	g.links = append(g.links, in, out)
	g.mu.Unlock()
	go func() { _, _ = io.Copy(out, in); out.Close() }()
	_, _ = io.Copy(in, out)
	in.Close()
}

// cut closes every forwarded connection and holds the new ones from now on.
func (g *gate) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down, g.spans, g.cancels, g.peakFrom = true, nil, 0, time.Now()
	for _, c := range g.links {
		c.Close()
	}
	g.links = nil
}

// up drops the connections it holds and forwards the new ones.
func (g *gate) up() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = false
	for c := range g.held {
		c.Close()
	}
}

func (g *gate) resetPeak() {
	g.mu.Lock()
	g.peakFrom = time.Now()
	g.mu.Unlock()
}

// counts gives the most connection attempts held at once since resetPeak (each
// counted closeLag short of the close the gate saw), those held in all, and the
// CancelRequests held.
func (g *gate) counts() (peak, dials, cancels int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	type edge struct {
		at time.Time
		d  int
	}
	var edges []edge
	for _, sp := range g.spans {
		end := now
		if !sp.end.IsZero() {
			end = sp.end.Add(-closeLag)
		}
		start := sp.start
		if start.Before(g.peakFrom) {
			start = g.peakFrom
		}
		if end.After(start) {
			edges = append(edges, edge{start, 1}, edge{end, -1})
		}
	}
	// At a tie, a close before an open: touching spans are not at once.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.d - b.d
	})
	held := 0
	for _, e := range edges {
		held += e.d
		peak = max(peak, held)
	}
	return peak, len(g.spans), g.cancels
}

// Scenario 4: the server is unreachable for 30 s (SQLPACT_TEST_OUTAGE_SECS; longer for
// a soak): connections cut, new dials hang. The breaker opens, calls fail fast (p99
// under 5 ms), only the breaker's probe dials, and every caller is served again soon
// after the outage ends.
func TestAnOutageOpensTheBreakerFailsFastWithOneDialAndRecovers(t *testing.T) {
	url, _ := scratch(t, "fault_outage")
	outage := 30 * time.Second
	if s := os.Getenv("SQLPACT_TEST_OUTAGE_SECS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 3 {
			t.Fatalf("SQLPACT_TEST_OUTAGE_SECS=%q: want a number of seconds, at least 3", s)
		}
		outage = time.Duration(n) * time.Second
	}
	g := startGate(t, targetOf(url))
	events := &timeline{}
	// In plain text, so that the gate can tell a connection attempt from a CancelRequest.
	db := open(t, faultPolicies(), Options{Hosts: []string{via(url, g.ln.Addr().String()) + "?sslmode=disable"},
		Observer: events})
	read := faultRead("Read", "SELECT n FROM counter WHERE id = 1")
	read.Timeout, read.Retry = time.Second, standard

	type call struct {
		worker     int
		start, end time.Time
		class      Class
	}
	var (
		mu    sync.Mutex
		calls []call
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	ctx := context.Background()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				start := time.Now()
				var n int32
				err := Run(ctx, read, db, nil, func(ctx context.Context, q DBTX) error {
					return q.QueryRow(ctx, read.SQL).Scan(&n)
				})
				c := call{w, start, time.Now(), ""}
				if err != nil {
					c.class = classOf(t, err).Class
				}
				mu.Lock()
				calls = append(calls, c)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second)
	g.cut()
	cut := time.Now()
	time.Sleep(2 * time.Second)
	g.resetPeak()
	time.Sleep(time.Until(cut.Add(outage)))
	peak, dials, cancels := g.counts()
	g.up()
	healed := time.Now()
	time.Sleep(5 * time.Second)
	stop.Store(true)
	wg.Wait()

	var failFast []time.Duration
	recovered := map[int]time.Time{}
	for _, c := range calls {
		switch {
		case c.start.Before(cut):
			if c.class != "" && c.end.Before(cut) {
				t.Errorf("before the outage a call failed: %s", c.class)
			}
		case c.start.After(cut.Add(2*time.Second)) && c.end.Before(healed):
			failFast = append(failFast, c.end.Sub(c.start))
		case c.end.After(healed) && c.class == "":
			if _, ok := recovered[c.worker]; !ok {
				recovered[c.worker] = c.end
			}
		}
	}
	for _, c := range calls {
		if back, ok := recovered[c.worker]; ok && c.start.After(back) && c.class != "" {
			t.Errorf("d. worker %d failed with %s %v after the outage, once served again", c.worker, c.class,
				c.start.Sub(healed))
		}
	}
	opened := 0
	for _, e := range events.all() {
		if e.Kind == EventBreaker && e.Breaker == BreakerOpen && e.at.After(cut) && e.at.Before(healed) {
			opened++
		}
	}
	p50, p99 := quantile(failFast, 0.5), quantile(failFast, 0.99)
	var slowest time.Duration
	slow := 0
	for _, d := range failFast {
		slowest = max(slowest, d)
		if d > 100*time.Millisecond {
			slow++
		}
	}
	var back []time.Duration
	for w := range 8 {
		if r, ok := recovered[w]; ok {
			back = append(back, r.Sub(healed))
		}
	}
	t.Logf("outage of %v: breaker opened %d times; %d calls from 2 s in, p50 %v, p99 %v, max %v, %d over 100 ms; %d connection attempts held in all, at most %d at once from 2 s in; %d CancelRequests held; served again after %v",
		outage, opened, len(failFast), p50, p99, slowest, slow, dials, peak, cancels, back)
	if opened == 0 {
		t.Error("a. the breaker never opened")
	}
	if len(failFast) < 100 || p99 >= 5*time.Millisecond {
		t.Errorf("b. %d calls from 2 s into the outage, p99 %v: not failing fast", len(failFast), p99)
	}
	if peak > 1 {
		t.Errorf("c. %d dials held at once from 2 s into the outage; only the breaker's probe should dial", peak)
	}
	// Only the caller whose request is the breaker's probe waits for its dial: the
	// others fail fast instead of queueing behind the role refresh it is part of.
	if slow > opened {
		t.Errorf("c. %d calls from 2 s into the outage took over 100 ms, for %d probes", slow, opened)
	}
	// pgx sends a CancelRequest for each connection it finds broken (those the cut
	// broke), outside the breaker, and waits up to 15 s for its answer, the pool
	// counting the connection until then: no more than one each.
	if cancels > int(faultPolicies().Pool.MaxSize) {
		t.Errorf("c. %d CancelRequests during the outage, more than the %d connections it cut", cancels,
			faultPolicies().Pool.MaxSize)
	}
	for w := range 8 {
		if r, ok := recovered[w]; !ok || r.Sub(healed) > 4*time.Second {
			t.Errorf("d. worker %d not served again within 4 s of the outage's end", w)
		}
	}
}

// flaky is a read the server refuses now and then with 55P03 (lock not available),
// which the runtime retries after a backoff.
const flaky = `CREATE FUNCTION flaky() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  IF random() < 0.3 THEN
    RAISE EXCEPTION 'busy' USING ERRCODE = '55P03';
  END IF;
  RETURN 1;
END $$`

// Scenario 7: every reply comes 0-50 ms late (toxiproxy latency with jitter) against a
// 250 ms deadline, and the server refuses some calls with a retryable error. No call
// outlives its deadline, and no backoff sleeps past it.
func TestUnderJitteredLatencyNoCallOrBackoffOutlivesItsDeadline(t *testing.T) {
	url, _ := scratch(t, "fault_latency")
	owner, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = owner.Exec(context.Background(), flaky)
	owner.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	proxy := newToxiProxy(t, "go_latency", targetOf(url))
	// Timeouts feed the breaker, and this scenario is about deadlines: no run of them
	// opens it (their ratio still may, half the results of the last 10 s).
	p := faultPolicies()
	p.Breaker.FailureThreshold = 1000
	events := &timeline{}
	db := open(t, p, Options{Hosts: []string{via(url, proxy.listen)}, Observer: events})
	// The pool's four connections open before the latency (Rust's reads share one
	// opened before it): the deadlines meet slow replies and refusals, not only the
	// set-up of new connections through the latency, half a dozen late round trips each.
	holdAll(t, db, 4)
	proxy.toxic(t, "latency", map[string]any{"latency": 25, "jitter": 25})
	type call struct {
		start, end time.Time
		err        error
	}
	var (
		mu    sync.Mutex
		calls = map[string][]call{}
		wg    sync.WaitGroup
	)
	ctx := context.Background()
	for w := range 8 {
		// A statement per caller, so that the runtime's events name the call they belong
		// to; one of them slow enough that the latency often makes it miss its deadline.
		st := faultRead(fmt.Sprintf("Lagged%d", w), "SELECT flaky()")
		if w == 7 {
			st = faultRead("Slow7", "SELECT flaky() FROM pg_sleep(0.2)")
		}
		st.Timeout, st.Retry = 250*time.Millisecond, standard
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				start := time.Now()
				var n int32
				err := Run(ctx, st, db, nil, func(ctx context.Context, q DBTX) error {
					return q.QueryRow(ctx, st.SQL).Scan(&n)
				})
				end := time.Now()
				mu.Lock()
				calls[st.Name] = append(calls[st.Name], call{start, end, err})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	const timeout = 250 * time.Millisecond
	// Scheduling noise on a busy machine; a backoff past the deadline is checked closely
	// below.
	const slack = 100 * time.Millisecond
	var slowest time.Duration
	byClass := map[Class]int{}
	for _, cs := range calls {
		for _, c := range cs {
			took := c.end.Sub(c.start)
			slowest = max(slowest, took)
			if took > timeout+slack {
				t.Errorf("a call took %v with a deadline of %v", took, timeout)
			}
			switch cl := ClassOf(c.err); cl {
			// Served; timed out; refused until its retries ran out within the deadline;
			// failed fast by the breaker, fed by timeouts; no connection in time.
			case "", ClassTimeout, ClassLockNotAvailable, ClassBreakerOpen, ClassPoolTimeout:
				byClass[cl]++
			default:
				t.Errorf("a call failed with %s: %v", cl, c.err)
			}
		}
	}
	retries, latest := 0, time.Duration(math.MinInt64)
	for _, e := range events.all() {
		if e.Kind != EventRetry {
			continue
		}
		retries++
		i := slices.IndexFunc(calls[e.Statement], func(c call) bool { return !e.at.Before(c.start) && !e.at.After(c.end) })
		if i < 0 {
			t.Errorf("a retry of %s at %v belongs to no call", e.Statement, e.at)
			continue
		}
		over := e.at.Add(e.Delay).Sub(calls[e.Statement][i].start.Add(timeout))
		latest = max(latest, over)
		// The test's clock starts before the runtime's, and the event comes a moment
		// after the delay was drawn: a few milliseconds, where a backoff ignoring the
		// deadline would overshoot by most of itself.
		if over > 5*time.Millisecond {
			t.Errorf("a backoff of %v sleeps %v past the deadline", e.Delay, over)
		}
	}
	t.Logf("latency: %d served, %d timed out, %d refused to the end, %d failed fast (breaker), %d without a connection in time; "+
		"%d retries, the latest backoff ending %v past the deadline; slowest call %v",
		byClass[""], byClass[ClassTimeout], byClass[ClassLockNotAvailable], byClass[ClassBreakerOpen],
		byClass[ClassPoolTimeout], retries, latest, slowest)
	// Both outcomes, and retries: the deadline and the backoff were exercised.
	if byClass[""] == 0 || byClass[ClassTimeout] == 0 || retries == 0 {
		t.Errorf("%d served, %d timed out, %d retries: the deadline or the backoff went unexercised",
			byClass[""], byClass[ClassTimeout], retries)
	}
}

// Scenario 12: a pool whose connections all opened at once reaches their lifetime
// under load. The lifetime jitter spreads their replacement out, and no acquire waits
// for it. (The pool's maintenance runs every second, not every 100 ms as Rust's does
// here, but under this load a connection past its lifetime is closed at once, at its
// next checkout.)
func TestLifetimeJitterSpreadsReconnectsAndAcquireStaysQuick(t *testing.T) {
	url, _ := scratch(t, "fault_lifetime")
	p := faultPolicies()
	p.Pool.MaxSize, p.Pool.MinIdle = 8, 8
	p.Pool.MaxLifetime, p.Pool.LifetimeJitter = 2*time.Second, 2*time.Second
	// A replacement opens within the acquire of the caller that finds its slot free
	// (pgxpool dials for the acquirer), and on a loaded machine the server has taken
	// over half a second to start a backend: the scenario is about how expiry spreads,
	// not how fast the server opens connections, so opening gets the time it needs.
	p.Pool.AcquireTimeout = 5 * time.Second
	events := &timeline{}
	db := open(t, p, Options{Hosts: []string{url}, Observer: events})
	ctx := context.Background()

	// All eight open together, so that without jitter they would expire together.
	held := make([]*pgxpool.Conn, 8)
	var wg sync.WaitGroup
	for i := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := db.Acquire(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			held[i] = c
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	original := map[uint32]bool{}
	for _, c := range held {
		original[c.Conn().PgConn().PID()] = true
		c.Release()
	}
	opened := time.Now()

	var (
		mu       sync.Mutex
		acquires []time.Duration
		lastSeen = map[uint32]time.Time{}
		failures []error
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(opened) < 6*time.Second {
				start := time.Now()
				c, err := db.Acquire(ctx)
				took := time.Since(start)
				if err == nil {
					_, err = c.Exec(ctx, "SELECT 1")
					// Held a while, as a request holds it (and as the Rust scenario
					// does): a steady load, not a spin that starves the server.
					time.Sleep(2 * time.Millisecond)
				}
				mu.Lock()
				acquires = append(acquires, took)
				if err != nil {
					failures = append(failures, err)
				} else if pid := c.Conn().PgConn().PID(); original[pid] {
					lastSeen[pid] = start
				}
				mu.Unlock()
				if c != nil {
					c.Release()
				}
			}
		}()
	}
	wg.Wait()

	var expiries []time.Time
	var at []string
	for _, e := range events.all() {
		if e.Kind == EventConnectionClosed && e.Reason == "expired" {
			expiries = append(expiries, e.at)
			at = append(at, e.at.Sub(opened).Round(time.Millisecond).String())
		}
	}
	p50, p99, slowest := quantile(acquires, 0.5), quantile(acquires, 0.99), slices.Max(acquires)
	t.Logf("lifetime: %d expiry closes at %v; %d acquires, p50 %v, p99 %v, max %v; %d failures",
		len(expiries), at, len(acquires), p50, p99, slowest, len(failures))
	if len(expiries) < 8 {
		t.Errorf("a. %d connections closed as expired, want at least the 8 opened at the start", len(expiries))
	}
	for pid, last := range lastSeen {
		if last.Sub(opened) > 4*time.Second+100*time.Millisecond {
			t.Errorf("a. backend %d served at %v, past its lifetime and jitter", pid, last.Sub(opened))
		}
	}
	if len(expiries) >= 8 {
		first := expiries[:8]
		if span := first[7].Sub(first[0]); span < time.Second {
			t.Errorf("b. the first 8 expiries span %v, want at least 1 s", span)
		}
		for i := range first {
			n := 0
			for _, e := range first[i:] {
				if e.Sub(first[i]) < 250*time.Millisecond {
					n++
				}
			}
			if n > 4 {
				t.Errorf("b. %d of the first 8 expiries within 250 ms of %v", n, first[i].Sub(opened))
				break
			}
		}
	}
	if p99 >= 5*time.Millisecond || len(failures) > 0 {
		t.Errorf("c. acquire p99 %v, %d failures (%v)", p99, len(failures), failures)
	}
}

// pgxpool draws the lifetime jitter in whole seconds: a jitter under a second was
// none, and connections opened together all expired together. Each now gets its own
// share of it.
func TestALifetimeJitterUnderASecondStillSpreadsExpiry(t *testing.T) {
	url, _ := scratch(t, "jitter")
	p := faultPolicies()
	p.Pool.MaxSize, p.Pool.MaxLifetime, p.Pool.LifetimeJitter = 8, 300*time.Millisecond, 600*time.Millisecond
	events := &timeline{}
	db := open(t, p, Options{Hosts: []string{url}, Observer: events})
	// Every connection checked out every few milliseconds, so that each is closed as
	// soon as it expires.
	for start := time.Now(); time.Since(start) < 1200*time.Millisecond; time.Sleep(5 * time.Millisecond) {
		holdAll(t, db, 8)
	}
	var expiries []time.Time
	for _, e := range events.all() {
		if e.Kind == EventConnectionClosed && e.Reason == "expired" {
			expiries = append(expiries, e.at)
		}
	}
	if len(expiries) < 8 {
		t.Fatalf("%d connections closed as expired, want the 8 first ones at least", len(expiries))
	}
	if spread := expiries[7].Sub(expiries[0]); spread < 200*time.Millisecond {
		t.Fatalf("the first 8 connections expired within %v of each other", spread)
	}
}
