package sqlpact

// The runtime against a real PostgreSQL (DATABASE_URL, set by scripts/test.sh): each
// behaviour of docs/runtime.md, with a scratch database per test, as the Rust crate's
// tests/pg.rs does. Outages are made with a TCP proxy the test switches off and on.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var fast = &RetryPolicy{Name: "standard", Backoff: BackoffPolicy{Base: 5 * time.Millisecond,
	Cap: 40 * time.Millisecond, MaxAttempts: 4, Multiplier: 2, Jitter: JitterFull}}

func testPolicies() *Policies {
	return &Policies{Contract: "runtime-test", Version: "0.0.0",
		Pool: PoolPolicy{MaxSize: 4, AcquireTimeout: 300 * time.Millisecond, IdleTimeout: time.Minute,
			MaxLifetime: 30 * time.Minute},
		Breaker: BreakerPolicy{FailureThreshold: 3, OpenFor: 300 * time.Millisecond},
		Retry:   []*RetryPolicy{fast}}
}

func stmt(name, sql string) *Statement {
	return &Statement{Name: name, Command: "exec", SQL: sql, Route: RoutePrimary, Timeout: 5 * time.Second, Retry: fast}
}

const schema = `
CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL, version int NOT NULL DEFAULT 1);
INSERT INTO counter (id, n) VALUES (1, 0);
CREATE TABLE log (v text PRIMARY KEY);
CREATE TABLE transfers (id serial PRIMARY KEY, key text UNIQUE, amount numeric NOT NULL, tags text[]);
`

func scratch(t *testing.T, name string) (string, *pgx.Conn) {
	t.Helper()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		t.Fatal("DATABASE_URL is not set: run the tests through scripts/test.sh")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	name = fmt.Sprintf("gort_%s_%d", name, os.Getpid())
	for _, sql := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	url := base[:strings.LastIndex(base, "/")+1] + name
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, schema); err != nil {
		t.Fatal(err)
	}
	return url, admin
}

func open(t testing.TB, p *Policies, o Options) *DB {
	t.Helper()
	o.Seed = 7
	db, err := Open(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// connect opens a plain connection to url, closed when the test ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func count(t *testing.T, url, sql string) int64 {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int64
	if err := c.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func exec(ctx context.Context, db DBTX, st *Statement, args ...any) (int64, error) {
	var n int64
	err := Run(ctx, st, db, nil, func(ctx context.Context, q DBTX) error {
		tag, err := q.Exec(ctx, st.SQL, args...)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return CheckRows(st, n)
	})
	return n, err
}

func readN(ctx context.Context, db DBTX) (int32, error) {
	st := &Statement{Name: "ReadN", Command: "one", SQL: "SELECT n FROM counter WHERE id = 1", ReadOnly: true,
		Idempotent: true, Timeout: 5 * time.Second, Retry: fast}
	var n int32
	err := Run(ctx, st, db, nil, func(ctx context.Context, q DBTX) error { return q.QueryRow(ctx, st.SQL).Scan(&n) })
	return n, err
}

func classOf(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("not a *sqlpact.Error: %v", err)
	}
	return e
}

func TestSerializationFailureRerunsTheTransaction(t *testing.T) {
	url, _ := scratch(t, "serial")
	ctx := context.Background()
	db := open(t, testPolicies(), Options{Hosts: []string{url}})
	outsider, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer outsider.Close(ctx)
	bump := stmt("BumpN", "UPDATE counter SET n = n + 1 WHERE id = 1")
	calls, seen := 0, int32(0)
	err = db.Transaction(ctx, TxOptions{IsoLevel: pgx.Serializable}, func(ctx context.Context, tx *Tx) error {
		calls++
		n, err := readN(ctx, tx)
		if err != nil {
			return err
		}
		if calls == 1 {
			if _, err := outsider.Exec(ctx, "UPDATE counter SET n = n + 100 WHERE id = 1"); err != nil {
				t.Fatal(err)
			}
		}
		seen = n
		_, err = exec(ctx, tx, bump)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || seen != 100 {
		t.Fatalf("calls %d, seen %d; want 2 and 100", calls, seen)
	}
	if n := count(t, url, "SELECT n::int8 FROM counter"); n != 101 {
		t.Fatalf("n = %d", n)
	}
	s := db.Stats()
	if s.TransactionReruns != 1 || s.Retries[ClassSerialization] != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// killWhenRunning terminates the backend running a statement that contains needle
// while it sleeps in pg_sleep: never as it finishes, when the reply may already be sent.
func killWhenRunning(ctx context.Context, admin *pgx.Conn, db, needle string) int64 {
	for range 200 {
		tag, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = $1 AND query LIKE $2 AND pid <> pg_backend_pid() AND state = 'active'
			AND wait_event = 'PgSleep'`, db, "%"+needle+"%")
		if err == nil && tag.RowsAffected() > 0 {
			return tag.RowsAffected()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}

func dbName(url string) string { return url[strings.LastIndex(url, "/")+1:] }

func TestNonIdempotentWriteIsNotRetriedAfterSend(t *testing.T) {
	url, admin := scratch(t, "ambig")
	ctx := context.Background()
	db := open(t, testPolicies(), Options{Hosts: []string{url}})
	slow := stmt("SlowInsert", "INSERT INTO log (v) SELECT $1::text FROM pg_sleep(0.6)")
	done := make(chan int64)
	go func() { done <- killWhenRunning(ctx, admin, dbName(url), "pg_sleep(0.6)") }()
	_, err := exec(ctx, db, slow, "once")
	if k := <-done; k != 1 {
		t.Fatalf("killed %d", k)
	}
	e := classOf(t, err)
	if !e.Ambiguous() || e.Class != ClassServerShutdown || e.Attempts != 1 {
		t.Fatalf("want an ambiguous server_shutdown after 1 attempt, got %v (%+v)", err, e)
	}
	slowIdem := stmt("SlowInsertIdempotent", slow.SQL)
	slowIdem.Idempotent = true
	go func() { done <- killWhenRunning(ctx, admin, dbName(url), "pg_sleep(0.6)") }()
	n, err := exec(ctx, db, slowIdem, "twice")
	if k := <-done; k != 1 || err != nil || n != 1 {
		t.Fatalf("killed %d, n %d, err %v", k, n, err)
	}
	if c := count(t, url, "SELECT count(*) FROM log"); c != 1 {
		t.Fatalf("%d rows", c)
	}
	if s := db.Stats(); s.Ambiguous != 1 || s.Retries[ClassServerShutdown] != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestIdempotencyKeyReplaysTheStoredResult(t *testing.T) {
	url, _ := scratch(t, "keyed")
	ctx := context.Background()
	db := open(t, testPolicies(), Options{Hosts: []string{url}})
	if err := db.InstallIdempotencyTable(ctx); err != nil {
		t.Fatal(err)
	}
	create := stmt("CreateTransfer",
		"INSERT INTO transfers (key, amount, tags) VALUES ($1, $2::text::numeric, $3) RETURNING id, amount::text, tags")
	create.Idempotency = &IdempotencyKey{Param: 0, ParamType: "text", Columns: []ResultColumn{
		{"id", "int4"}, {"amount", "text"}, {"tags", "text[]"}}}
	run := func(key, amount string, tags []string) (int32, string, []string, error) {
		var id int32
		var amt string
		var got []string
		err := Run(ctx, create, db, nil, func(ctx context.Context, q DBTX) error {
			return q.QueryRow(ctx, create.SQL, key, amount, tags).Scan(&id, &amt, &got)
		})
		return id, amt, got, err
	}
	tags := []string{"a", "b é"}
	id, amt, _, err := run("k-1", "12345678901234567890.5", tags)
	if err != nil {
		t.Fatal(err)
	}
	id2, amt2, tags2, err := run("k-1", "99", nil)
	if err != nil || id2 != id || amt2 != amt || strings.Join(tags2, "|") != "a|b é" {
		t.Fatalf("replay: %d %s %v %v; first %d %s", id2, amt2, tags2, err, id, amt)
	}
	if c := count(t, url, "SELECT count(*) FROM transfers"); c != 1 {
		t.Fatalf("%d transfers", c)
	}
	addLog := stmt("AddLogKeyed", "INSERT INTO log (v) VALUES ($1), ($1 || '-2')")
	addLog.Command = "execrows"
	addLog.Idempotency = &IdempotencyKey{Param: 0, ParamType: "text"}
	for range 2 {
		if n, err := exec(ctx, db, addLog, "e-1"); err != nil || n != 2 {
			t.Fatalf("n %d err %v", n, err)
		}
	}
	if c := count(t, url, "SELECT count(*) FROM log"); c != 2 {
		t.Fatalf("%d log rows", c)
	}
	if r := db.Stats().Replays; r != 2 {
		t.Fatalf("replays %d", r)
	}
	other := stmt("OtherKeyed", "INSERT INTO log (v) VALUES ($1)")
	other.Idempotency = addLog.Idempotency
	_, err = exec(ctx, db, other, "e-1")
	if ClassOf(err) != ClassConflict {
		t.Fatalf("want conflict, got %v", err)
	}
}

func TestZeroRowOptimisticUpdateIsAConflict(t *testing.T) {
	url, _ := scratch(t, "occ")
	ctx := context.Background()
	db := open(t, testPolicies(), Options{Hosts: []string{url}})
	upd := stmt("UpdateVersioned", "UPDATE counter SET n = n + 1, version = version + 1 WHERE id = 1 AND version = $1")
	upd.ExpectOneRow = true
	if n, err := exec(ctx, db, upd, 1); err != nil || n != 1 {
		t.Fatalf("n %d err %v", n, err)
	}
	_, err := exec(ctx, db, upd, 1)
	if e := classOf(t, err); e.Class != ClassConflict || e.Statement != "UpdateVersioned" {
		t.Fatalf("%+v", e)
	}
	plain, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close(ctx)
	if _, err := exec(ctx, plain, upd, 1); ClassOf(err) != ClassConflict {
		t.Fatalf("plain client: %v", err)
	}
}

func TestAcquireTimeoutFires(t *testing.T) {
	url, _ := scratch(t, "acquire")
	ctx := context.Background()
	p := testPolicies()
	p.Pool.MaxSize, p.Pool.AcquireTimeout = 1, 200*time.Millisecond
	db := open(t, p, Options{Hosts: []string{url}})
	held, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = readN(ctx, db)
	waited := time.Since(start)
	if ClassOf(err) != ClassPoolTimeout || waited < 190*time.Millisecond || waited > 2*time.Second {
		t.Fatalf("%v after %v", err, waited)
	}
	if s := db.Stats(); s.AcquireTimeouts != 1 {
		t.Fatalf("stats %+v", s)
	}
	held.Release()
	if _, err := readN(ctx, db); err != nil {
		t.Fatal(err)
	}
}

func TestDeadlineCancelsTheStatementOnTheServer(t *testing.T) {
	url, admin := scratch(t, "deadline")
	ctx := context.Background()
	db := open(t, testPolicies(), Options{Hosts: []string{url}})
	sleepSt := stmt("Sleep", "SELECT pg_sleep(5)")
	sleepSt.Timeout = 300 * time.Millisecond
	start := time.Now()
	err := Run(ctx, sleepSt, db, nil, func(ctx context.Context, q DBTX) error {
		_, err := q.Exec(ctx, sleepSt.SQL)
		return err
	})
	if ClassOf(err) != ClassTimeout || time.Since(start) > 2*time.Second {
		t.Fatalf("%v after %v", err, time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a statement cut at its deadline does not say so: %v", err)
	}
	if !countsNone(t, admin, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1
			AND query LIKE '%pg_sleep(5)%' AND state = 'active'`, dbName(url)) {
		t.Fatal("the server still runs the canceled statement")
	}
	if _, err := readN(ctx, db); err != nil {
		t.Fatal(err)
	}
}

// A statement whose deadline passes after its reply came (its function still running)
// succeeds, and its connection, cut by the deadline, is closed rather than reused.
func TestAConnectionCutAfterItsStatementIsNotReused(t *testing.T) {
	url, admin := scratch(t, "cutafter")
	ctx := context.Background()
	db := open(t, testPolicies(), Options{Hosts: []string{url}})
	pidSt := stmt("Pid", "SELECT pg_backend_pid()")
	pidSt.Timeout = 100 * time.Millisecond
	var pid int32
	err := Run(ctx, pidSt, db, nil, func(ctx context.Context, q DBTX) error {
		if err := q.QueryRow(ctx, pidSt.SQL).Scan(&pid); err != nil {
			return err
		}
		time.Sleep(3 * pidSt.Timeout)
		return nil
	})
	if err != nil {
		t.Fatalf("a statement that had its reply failed at its deadline: %v", err)
	}
	if !countsNone(t, admin, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid) {
		t.Fatal("the connection cut by the deadline is still open")
	}
	var next int32
	if err := Run(ctx, pidSt, db, nil, func(ctx context.Context, q DBTX) error {
		return q.QueryRow(ctx, pidSt.SQL).Scan(&next)
	}); err != nil || next == pid {
		t.Fatalf("the next statement: %v on backend %d (the cut one: %d)", err, next, pid)
	}
}

// countsNone reports whether the count query comes to zero within 2 s.
func countsNone(t *testing.T, admin *pgx.Conn, query string, args ...any) bool {
	t.Helper()
	for range 100 {
		var n int64
		if err := admin.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

type proxy struct {
	ln       net.Listener
	up       atomic.Bool
	accepted atomic.Int64 // connections asked for, refused or not
	mu       sync.Mutex
	conns    []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.up.Store(true)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			if !p.up.Load() {
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *proxy) down() {
	p.up.Store(false)
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
}

// url returns url with its host and port replaced by the proxy's.
func (p *proxy) url(url string) string { return via(url, p.ln.Addr().String()) }

// via is url with its host and port replaced by addr.
func via(url, addr string) string {
	at := strings.LastIndex(url, "@")
	slash := strings.Index(url[at:], "/") + at
	return url[:at+1] + addr + url[slash:]
}

func targetOf(url string) string {
	at := strings.LastIndex(url, "@")
	slash := strings.Index(url[at:], "/") + at
	return strings.Replace(url[at+1:slash], "localhost", "127.0.0.1", 1)
}

type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) OnEvent(e Event) {
	if e.Kind == EventBreaker {
		r.mu.Lock()
		r.events = append(r.events, "breaker "+e.Breaker.String())
		r.mu.Unlock()
	}
}

func TestBreakerOpensAndRecoversAndReadyTracksTheServer(t *testing.T) {
	url, _ := scratch(t, "breaker")
	ctx := context.Background()
	px := startProxy(t, targetOf(url))
	rec := &recorder{}
	db := open(t, testPolicies(), Options{Hosts: []string{px.url(url)}, Observer: rec})
	if err := db.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	px.down()
	time.Sleep(50 * time.Millisecond)
	if db.Ready(ctx) == nil {
		t.Fatal("ready while the server is cut off")
	}
	var last Class
	for range 6 {
		_, err := readN(ctx, db)
		last = ClassOf(err)
	}
	if last != ClassBreakerOpen {
		t.Fatalf("last class %s", last)
	}
	start := time.Now()
	if _, err := readN(ctx, db); ClassOf(err) != ClassBreakerOpen || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("an open breaker fails fast: %v after %v", err, time.Since(start))
	}
	px.up.Store(true)
	ok := false
	for range 100 {
		time.Sleep(50 * time.Millisecond)
		if db.Ready(ctx) == nil {
			ok = true
			break
		}
	}
	if !ok {
		t.Fatal("not ready again")
	}
	if _, err := readN(ctx, db); err != nil {
		t.Fatal(err)
	}
	if s := db.Stats(); s.Hosts[0].Breaker != BreakerClosed {
		t.Fatalf("breaker %v", s.Hosts[0].Breaker)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	got := strings.Join(rec.events, ",")
	if !strings.Contains(got, "breaker open") || !strings.Contains(got, "breaker closed") {
		t.Fatalf("events %s", got)
	}
}

func TestOpenBreakerGatesNewConnectionsWhilePooledOnesKeepServing(t *testing.T) {
	url, _ := scratch(t, "breaker_idle")
	ctx := context.Background()
	px := startProxy(t, targetOf(url))
	p := testPolicies()
	p.Breaker = BreakerPolicy{FailureThreshold: 1, OpenFor: 30 * time.Second}
	db := open(t, p, Options{Hosts: []string{px.url(url)}})
	if _, err := readN(ctx, db); err != nil {
		t.Fatal(err)
	}
	if s := db.Stats().Hosts[0].Size; s != 1 {
		t.Fatalf("%d pooled connections, want 1", s)
	}
	slowRead := stmt("SlowRead", "SELECT n FROM counter, pg_sleep(0.8) WHERE id = 1")
	slowRead.Command, slowRead.ReadOnly, slowRead.Idempotent = "one", true, true
	slow := func() chan error {
		done := make(chan error, 1)
		go func() {
			done <- db.Run(ctx, slowRead, nil, func(ctx context.Context, q DBTX) error {
				var n int32
				return q.QueryRow(ctx, slowRead.SQL).Scan(&n)
			})
		}()
		time.Sleep(100 * time.Millisecond)
		return done
	}

	// New connections fail from now on; the pooled one stays healthy.
	px.up.Store(false)
	busy := slow()
	if _, err := readN(ctx, db); ClassOf(err) != ClassBreakerOpen {
		t.Fatalf("want breaker-open, got %v", err)
	}
	if b := db.Stats().Hosts[0].Breaker; b != BreakerOpen {
		t.Fatalf("breaker %v", b)
	}
	asked := px.accepted.Load()

	// The statement already running on the pooled connection completes, and that
	// connection serves the next calls while the breaker stays open.
	if err := <-busy; err != nil {
		t.Fatalf("the running statement: %v", err)
	}
	for range 3 {
		if _, err := readN(ctx, db); err != nil {
			t.Fatalf("served by the pooled connection: %v", err)
		}
	}
	if b := db.Stats().Hosts[0].Breaker; b != BreakerOpen {
		t.Fatalf("breaker %v", b)
	}

	// With that connection busy, a call finds no idle one and fails fast without
	// opening a connection.
	busy = slow()
	start := time.Now()
	if _, err := readN(ctx, db); ClassOf(err) != ClassBreakerOpen || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("want a fast breaker-open, got %v after %v", err, time.Since(start))
	}
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
	if n := px.accepted.Load(); n != asked {
		t.Fatalf("%d connections attempted while the breaker is open", n-asked)
	}
	if s := db.Stats().Hosts[0].Size; s != 1 {
		t.Fatalf("%d pooled connections, want 1", s)
	}
}

// A request a closed breaker let through holds its permit: should the breaker open
// before the request's connect, the connect still goes. A request without the permit
// (one served from idle connections) opens none.
func TestARequestLetThroughByAClosedBreakerConnectsAfterItOpens(t *testing.T) {
	url, _ := scratch(t, "permit")
	ctx := context.Background()
	p := testPolicies()
	p.Breaker = BreakerPolicy{FailureThreshold: 1, OpenFor: 30 * time.Second}
	db := open(t, p, Options{Hosts: []string{url}})
	h, permit, err := db.pick(ctx, RoutePrimary, true)
	if err != nil || !permit {
		t.Fatalf("pick: permit %v, %v", permit, err)
	}
	// No idle connection left: an acquire must connect.
	for _, c := range h.pool.AcquireAllIdle(ctx) {
		defer c.Release()
	}
	closed := h.closed.Load()
	h.failure(h.db.nowMs())
	if s := h.breakerState(); !closed || s != BreakerOpen {
		t.Fatalf("breaker %v, closed before: %v", s, closed)
	}
	size := db.Stats().Hosts[0].Size
	// The acquire began while the breaker was closed.
	if _, err := h.poolAcquire(ctx, false, closed); !errors.Is(err, errBreakerOpen) {
		t.Fatalf("without the permit: %v", err)
	}
	c, err := h.poolAcquire(ctx, true, closed)
	if err != nil {
		t.Fatalf("with the permit: %v", err)
	}
	defer c.Release()
	// And as the call's acquire does it, after the breaker opened.
	c2, err := db.acquire(ctx, h, true)
	if err != nil {
		t.Fatalf("with the permit: %v", err)
	}
	defer c2.Release()
	if _, err := db.acquire(ctx, h, false); !errors.Is(err, errBreakerOpen) {
		t.Fatalf("without the permit: %v", err)
	}
	if got := db.Stats().Hosts[0].Size; got != size+2 {
		t.Fatalf("%d connections, want %d", got, size+2)
	}
}

func TestReadsGoToTheReplicaAndWritesFollowAPromotion(t *testing.T) {
	oldURL, admin := scratch(t, "old")
	newURL, _ := scratch(t, "new")
	ctx := context.Background()
	oldName, newName := dbName(oldURL), dbName(newURL)
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+newName+" SET default_transaction_read_only = on"); err != nil {
		t.Fatal(err)
	}
	db := open(t, testPolicies(), Options{Hosts: []string{oldURL, newURL}})
	roles := func() string {
		var r []string
		for _, h := range db.Stats().Hosts {
			r = append(r, h.Role.String())
		}
		return strings.Join(r, ",")
	}
	if r := roles(); r != "primary,replica" {
		t.Fatalf("roles %s", r)
	}
	where := stmt("WhereAmI", "SELECT current_database()::text")
	where.Idempotent, where.ReadOnly = true, true
	whereRep := *where
	whereRep.Route = RouteReplica
	on := func(st *Statement) string {
		var s string
		if err := Run(ctx, st, db, nil, func(ctx context.Context, q DBTX) error { return q.QueryRow(ctx, st.SQL).Scan(&s) }); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if on(where) != oldName || on(&whereRep) != newName {
		t.Fatal("routing")
	}
	mark := stmt("UpsertMark", "INSERT INTO log (v) VALUES ($1) ON CONFLICT DO NOTHING")
	mark.Idempotent = true
	for _, sql := range []string{
		"ALTER DATABASE " + oldName + " SET default_transaction_read_only = on",
		"ALTER DATABASE " + newName + " RESET default_transaction_read_only",
		fmt.Sprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ('%s', '%s')", oldName, newName),
	} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := exec(ctx, db, mark, "after"); err != nil {
		t.Fatal(err)
	}
	if count(t, newURL, "SELECT count(*) FROM log WHERE v = 'after'") != 1 ||
		count(t, oldURL, "SELECT count(*) FROM log WHERE v = 'after'") != 0 {
		t.Fatal("the write did not reach the new primary")
	}
	if r := roles(); r != "replica,primary" {
		t.Fatalf("roles %s", r)
	}
}

func TestConnectionsGoThroughTLS(t *testing.T) {
	url, _ := scratch(t, "tls")
	ctx := context.Background()
	db := open(t, testPolicies(), Options{Hosts: []string{url + "?sslmode=require"}})
	if err := db.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	st := stmt("OnTls", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
	st.Command, st.ReadOnly, st.Idempotent = "one", true, true
	var ssl bool
	if err := Run(ctx, st, db, nil, func(ctx context.Context, q DBTX) error {
		return q.QueryRow(ctx, st.SQL).Scan(&ssl)
	}); err != nil {
		t.Fatal(err)
	}
	if !ssl {
		t.Fatal("the connection is not encrypted")
	}
}

// whoAmI connects with conn and says who the server sees and whether the link is
// encrypted; the error when it cannot.
func whoAmI(conn string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := Open(ctx, testPolicies(), Options{Hosts: []string{conn}, Seed: 7})
	if err != nil {
		return "", false, err
	}
	defer db.Close()
	st := stmt("Who", "SELECT current_user::text, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
	st.Command, st.ReadOnly, st.Idempotent = "one", true, true
	var who string
	var ssl bool
	err = Run(ctx, st, db, nil, func(ctx context.Context, q DBTX) error {
		return q.QueryRow(ctx, st.SQL).Scan(&who, &ssl)
	})
	return who, ssl, err
}

func TestSSLModeChecksWhatLibpqChecks(t *testing.T) {
	dir := os.Getenv("SQLPACT_TEST_TLS_DIR")
	plain := os.Getenv("SQLPACT_TEST_NOTLS_URL")
	if dir == "" || plain == "" {
		t.Fatal("SQLPACT_TEST_TLS_DIR or SQLPACT_TEST_NOTLS_URL is not set: run the tests through scripts/test.sh")
	}
	u, err := neturl.Parse(os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	user := u.User.Username()
	password, _ := u.User.Password()
	words := func(host, extra string) string {
		return fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s %s",
			host, u.Port(), user, password, strings.TrimPrefix(u.Path, "/"), extra)
	}
	ca, other := dir+"/ca.pem", dir+"/other-ca.pem"
	ok := func(conn, wantUser string, wantSSL bool) {
		t.Helper()
		who, ssl, err := whoAmI(conn)
		if err != nil || who != wantUser || ssl != wantSSL {
			t.Fatalf("%s: got %q ssl=%v err=%v", strings.ReplaceAll(conn, password, "***"), who, ssl, err)
		}
	}
	fails := func(conn, want string) {
		t.Helper()
		_, _, err := whoAmI(conn)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: want an error with %q, got %v", strings.ReplaceAll(conn, password, "***"), want, err)
		}
		if strings.Contains(err.Error(), password) {
			t.Fatalf("the error shows the password: %v", err)
		}
	}
	ok(words("localhost", "sslmode=verify-full sslrootcert="+ca), user, true)
	fails(words("localhost", "sslmode=verify-full sslrootcert="+other), "certificate signed by unknown authority")
	// An address the certificate does not name: verify-full refuses, verify-ca does not.
	fails(words("127.0.0.1", "sslmode=verify-full sslrootcert="+ca), "doesn't contain any IP SANs")
	ok(words("127.0.0.1", "sslmode=verify-ca sslrootcert="+ca), user, true)
	fails(words("127.0.0.1", "sslmode=verify-ca sslrootcert="+other), "certificate signed by unknown authority")
	ok(words("localhost", "sslmode=disable"), user, false)
	// The role tls_client may log in only with its client certificate.
	client := func(extra string) string {
		return fmt.Sprintf("host=localhost port=%s user=tls_client dbname=%s sslmode=verify-full sslrootcert=%s %s",
			u.Port(), strings.TrimPrefix(u.Path, "/"), ca, extra)
	}
	ok(client("sslcert="+dir+"/client.pem sslkey="+dir+"/client.key"), "tls_client", true)
	fails(client(""), "requires a valid client certificate")
	// require refuses a server that offers no TLS; prefer goes on plain.
	ok(plain+"?sslmode=prefer", "postgres", false)
	fails(plain+"?sslmode=require", "server refused TLS connection")
}

// planted is a password no error, log line, %v output or stats snapshot may show.
const planted = "Pl4nted-s3cret-7a91"

// eventLog keeps every event as %+v prints it.
type eventLog struct {
	mu    sync.Mutex
	lines []string
	next  Observer
}

func (l *eventLog) OnEvent(e Event) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf("%+v", e))
	l.mu.Unlock()
	l.next.OnEvent(e)
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNoPasswordReachesErrorsLogsFormattingOrStats(t *testing.T) {
	ctx := context.Background()
	base, err := neturl.Parse(os.Getenv("DATABASE_URL"))
	if err != nil || base.Host == "" {
		t.Fatal("DATABASE_URL is not set: run the tests through scripts/test.sh")
	}
	user, dbname := base.User.Username(), strings.TrimPrefix(base.Path, "/")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var shown []string
	show := func(v any) { shown = append(shown, fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v)) }

	// A wrong password for the real server (as URL and as keywords), and a port nobody
	// listens on: every failure path of opening a connection, through retries until
	// the breaker opens.
	wrong := *base
	wrong.User = neturl.UserPassword(user, planted)
	for _, conn := range []string{
		wrong.String(),
		fmt.Sprintf("host=%s port=%s user=%s password='%s' dbname=%s", base.Hostname(), base.Port(), user, planted, dbname),
		fmt.Sprintf("postgresql://%s:%s@127.0.0.1:%d/%s", user, planted, closedPort, dbname),
	} {
		events := &eventLog{next: SlogObserver{Logger: logger}}
		o := Options{Hosts: []string{conn}, Observer: events, Seed: 11}
		show(o)
		logger.Info("opening", "options", o)
		db, err := Open(ctx, testPolicies(), o)
		if err != nil {
			t.Fatal(err)
		}
		var classes []Class
		for i := 0; i < 6; i++ {
			_, err := readN(ctx, db)
			classes = append(classes, classOf(t, err).Class)
			show(err)
		}
		if classes[len(classes)-1] != ClassBreakerOpen {
			t.Fatalf("the breaker opened: %v", classes)
		}
		show(db.Ready(ctx))
		show(db)
		show(db.Stats())
		events.mu.Lock()
		shown = append(shown, events.lines...)
		events.mu.Unlock()
		db.Close()
	}
	// Connection strings that do not parse.
	for _, conn := range []string{
		fmt.Sprintf("postgresql://%s:%s@127.0.0.1:notaport/%s", user, planted, dbname),
		fmt.Sprintf("host=127.0.0.1 port=notaport password=%s", planted),
		fmt.Sprintf("host=127.0.0.1 password=%s sslmode=bogus", planted),
		fmt.Sprintf("host=127.0.0.1 password=%s %s", planted, planted),
		fmt.Sprintf("host=127.0.0.1 password=%s %s user=app", planted, planted),
		fmt.Sprintf("postgresql://%s:%s@127.0.0.1/%s?sslmode=bogus", user, planted, dbname),
	} {
		show(Options{Hosts: []string{conn}})
		_, err := Open(ctx, testPolicies(), Options{Hosts: []string{conn}})
		if err == nil {
			t.Fatalf("%s: opened", RedactDSN(conn))
		}
		show(err)
		logger.Warn("open failed", "err", err)
	}
	shown = append(shown, logs.String())

	// The scan means something only if the failures were described.
	all := strings.Join(shown, "\n")
	for _, want := range []string{"password authentication failed", "connection refused", "breaker_open",
		"invalid connection string", "sslmode", "xxxxx", "quote it", "sqlpact breaker", "runtime-test"} {
		if !strings.Contains(all, want) {
			t.Errorf("%q is in none of:\n%s", want, all)
		}
	}
	for _, s := range shown {
		if strings.Contains(s, planted) {
			t.Errorf("the password is shown:\n%s", s)
		}
	}
}

func TestAPasswordWithAnUnquotedSpaceIsRefusedUnshown(t *testing.T) {
	for conn, misquoted := range map[string]bool{
		"host=db password=a b":             true,
		"host=db password=a b user=app":    true,
		"host=db password = a b":           true,
		"host=db password=a port=5433":     false,
		"host=db password=a\\ b port=1":    false,
		"host=db password='a b' user=app":  false,
		"host=db password=a search_path=x": false,
	} {
		if got := misquotedPassword.MatchString(conn); got != misquoted {
			t.Errorf("%q: misquoted %v, want %v", conn, got, misquoted)
		}
	}
}

func TestRedactDSNMasksEveryFormOfPassword(t *testing.T) {
	for in, want := range map[string]string{
		"postgresql://app:" + planted + "@db:5432/app":        "postgresql://app:xxxxx@db:5432/app",
		"postgres://app@db/app?password=" + planted + "&x=1":  "postgres://app@db/app?password=xxxxx&x=1",
		"host=db password=" + planted + " user=app":           "host=db password=xxxxx user=app",
		"host=db password = '" + planted + " \\' q' user=app": "host=db password = xxxxx user=app",
		"host=db password='" + planted:                        "host=db password=xxxxx",
		"postgresql://app:" + planted + "@db:notaport/app%zz": "(a connection URL that does not parse)",
		"host=db user=app": "host=db user=app",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
