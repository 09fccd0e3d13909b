package sqlpact

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// oneRead is a single-row read that may ride the lane.
func oneRead(name, sql string) *Statement {
	st := faultRead(name, sql)
	st.Command = "one"
	return st
}

// forceLane sends every shareable read of the test to the lane, even alone.
func forceLane(t *testing.T) {
	laneAlways.Store(true)
	t.Cleanup(func() { laneAlways.Store(false) })
}

// queryRow runs st as a QueryRow of args scanned into dest.
func queryRow(ctx context.Context, db *DB, st *Statement, args []any, dest ...any) error {
	return Run(ctx, st, db, nil, func(ctx context.Context, q DBTX) error {
		return q.QueryRow(ctx, st.SQL, args...).Scan(dest...)
	})
}

// holdPool takes every connection of db's pool; release gives them back.
func holdPool(t *testing.T, db *DB) (release func()) {
	t.Helper()
	n := int(db.policies.Pool.MaxSize)
	held := make([]*pgxpool.Conn, n)
	for i := range held {
		c, err := db.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held[i] = c
	}
	return func() {
		for _, c := range held {
			c.Release()
		}
	}
}

// A read on the lane answers as pgx's QueryRow does on a connection of its own: the
// row, no row, the server's error, and the errors of scanning, word for word.
func TestALaneReadAnswersAsQueryRowDoes(t *testing.T) {
	url, _ := scratch(t, "lane_same")
	db := open(t, testPolicies(), Options{Hosts: []string{url}})
	ctx := context.Background()
	cases := []struct {
		name, sql string
		args      []any
		dest      func() []any
	}{
		{"Row", "SELECT $1::int, 'x' || $1::text", []any{7}, func() []any { var a int32; var b string; return []any{&a, &b} }},
		{"NoRow", "SELECT 1 WHERE $1::int < 0", []any{7}, func() []any { var a int32; return []any{&a} }},
		{"ServerError", "SELECT 1 / $1::int", []any{0}, func() []any { var a int32; return []any{&a} }},
		{"BadParam", "SELECT $1::int", []any{"seven"}, func() []any { var a int32; return []any{&a} }},
		{"ScanType", "SELECT 'text'::text", nil, func() []any { var a int32; return []any{&a} }},
		{"DestCount", "SELECT 1, 2", nil, func() []any { var a int32; return []any{&a} }},
		{"NullIntoInt", "SELECT NULL::int", nil, func() []any { var a int32; return []any{&a} }},
	}
	describe := func(dest []any, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		s := ""
		for _, d := range dest {
			switch v := d.(type) {
			case *int32:
				s += fmt.Sprint(*v, " ")
			case *string:
				s += *v + " "
			}
		}
		return s
	}
	for _, c := range cases {
		st := oneRead(c.name, c.sql)
		st.Retry = nil
		alone := c.dest()
		want := describe(alone, queryRow(ctx, db, st, c.args, alone...))
		before := db.Stats().Pipelined
		laneAlways.Store(true)
		shared := c.dest()
		got := describe(shared, queryRow(ctx, db, st, c.args, shared...))
		laneAlways.Store(false)
		if db.Stats().Pipelined == before && c.name != "BadParam" {
			t.Errorf("%s did not ride the lane", c.name)
		}
		if got != want {
			t.Errorf("%s: on the lane %q, alone %q", c.name, got, want)
		}
	}
	// The row case is not vacuous.
	var a int32
	var b string
	laneAlways.Store(true)
	defer laneAlways.Store(false)
	if err := queryRow(ctx, db, oneRead("Row", "SELECT $1::int, 'x' || $1::text"), []any{9}, &a, &b); err != nil || a != 9 || b != "x9" {
		t.Fatalf("got %d %q %v", a, b, err)
	}
	var none int32
	if err := queryRow(ctx, db, oneRead("NoRow", "SELECT 1 WHERE false"), nil, &none); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("no row: %v", err)
	}
}

// 16 callers reading concurrently each get their own row, whatever batch carries it;
// the lane carries most of them.
func TestConcurrentReadsOnTheLaneEachGetTheirOwnRow(t *testing.T) {
	url, _ := scratch(t, "lane_own")
	db := open(t, testPolicies(), Options{Hosts: []string{url}})
	st := oneRead("Echo", "SELECT $1::int, md5($1::text)")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				v := int32(g*1000 + i)
				var got int32
				var sum string
				if err := queryRow(context.Background(), db, st, []any{v}, &got, &sum); err != nil {
					errs <- err
					return
				}
				if want := fmt.Sprintf("%x", md5.Sum([]byte(fmt.Sprint(v)))); got != v || sum != want {
					errs <- fmt.Errorf("asked %d, got %d %s", v, got, sum)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s := db.Stats()
	if s.Pipelined < 16*300/5 {
		t.Fatalf("only %d of %d reads rode the lane", s.Pipelined, 16*300)
	}
	// A batch takes one connection from the pool for all its reads.
	if s.Acquires >= 16*300 {
		t.Fatalf("%d acquires for %d reads", s.Acquires, 16*300)
	}
	t.Logf("%d of %d reads pipelined, %d acquires", s.Pipelined, 16*300, s.Acquires)
}

// One batch: each read gets its own answer, a caller giving up while a later read
// still waits leaves the connection whole, and a read's error ends the batch on the
// server, so the reads after it are sent again.
func TestOneBatchAnswersEachReadAloneAndOutlivesACallerGivingUp(t *testing.T) {
	url, _ := scratch(t, "lane_batch")
	p := testPolicies()
	p.Pool.MaxSize, p.Pool.AcquireTimeout = 2, 3*time.Second
	db := open(t, p, Options{Hosts: []string{url}})
	forceLane(t)
	ctx := context.Background()
	type answer struct {
		v   int32
		pid int32
		err error
	}
	echo := oneRead("Echo", "SELECT $1::int, pg_backend_pid()")
	failing := oneRead("Divide", "SELECT 1 / $1::int, pg_backend_pid()")
	slow := oneRead("Slow", "SELECT length('lane slow')::int, pg_backend_pid() FROM pg_sleep(0.6)")
	type read struct {
		st    *Statement
		arg   any
		limit time.Duration
	}
	// batch sends reads as one batch: they queue, in order, while the pool is held.
	batch := func(reads ...read) ([]answer, int64) {
		release := holdPool(t, db)
		before := db.Stats().Pipelined
		chans := make([]chan answer, len(reads))
		for i, rd := range reads {
			chans[i] = make(chan answer, 1)
			go func() {
				cctx, cancel := context.WithTimeout(ctx, rd.limit)
				defer cancel()
				var a answer
				var args []any
				if rd.arg != nil {
					args = []any{rd.arg}
				}
				a.err = queryRow(cctx, db, rd.st, args, &a.v, &a.pid)
				chans[i] <- a
			}()
			time.Sleep(20 * time.Millisecond)
		}
		release()
		answers := make([]answer, len(reads))
		for i, c := range chans {
			answers[i] = <-c
		}
		return answers, db.Stats().Pipelined - before
	}
	divideError := func(err error) bool {
		var pg *pgconn.PgError
		return errors.As(err, &pg) && pg.Code == "22012"
	}

	got, sent := batch(read{echo, 1, 5 * time.Second}, read{slow, nil, 300 * time.Millisecond},
		read{echo, 4, 5 * time.Second}, read{failing, 0, 5 * time.Second})
	if got[0].err != nil || got[0].v != 1 || got[2].err != nil || got[2].v != 4 {
		t.Fatalf("echoes: %+v %+v", got[0], got[2])
	}
	var e *Error
	if !errors.As(got[1].err, &e) || e.Class != ClassTimeout {
		t.Fatalf("the slow read given up: %v", got[1].err)
	}
	if !divideError(got[3].err) {
		t.Fatalf("the failing read: %v", got[3].err)
	}
	if sent != 4 {
		t.Fatalf("%d reads pipelined, want the batch of 4", sent)
	}
	if got[0].pid != got[2].pid {
		t.Fatalf("one batch, several connections: %+v", got)
	}
	if s := db.Stats().Hosts[0]; s.Size != 2 {
		t.Fatalf("a connection was lost: %+v", s)
	}

	// The echo after the error did not run in the first batch: it is sent again.
	got, sent = batch(read{failing, 0, 5 * time.Second}, read{echo, 7, 5 * time.Second})
	if !divideError(got[0].err) || got[1].err != nil || got[1].v != 7 {
		t.Fatalf("after an error: %+v", got)
	}
	if sent != 3 {
		t.Fatalf("%d reads pipelined, want 2 and the echo again", sent)
	}
}

// When every caller of a batch gives up, its connection is cut and closed, and the
// server stops the reads.
func TestABatchEveryoneGaveUpOnIsCutAndTheServerStopsIt(t *testing.T) {
	url, admin := scratch(t, "lane_cut")
	p := testPolicies()
	p.Pool.MaxSize = 2
	db := open(t, p, Options{Hosts: []string{url}})
	forceLane(t)
	ctx := context.Background()
	st := oneRead("LongOne", "SELECT length('lane long')::int FROM pg_sleep(5)")
	// Both reads go in one batch: they queue while the pool is held.
	release := holdPool(t, db)
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	ended, _ := cctx.Deadline()
	before := db.Stats().Pipelined
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int32
			errs[i] = queryRow(cctx, db, st, nil, &n)
		}()
	}
	time.Sleep(50 * time.Millisecond)
	release()
	if !seenRunning(t, admin, url, "'lane long'") {
		t.Fatal("the reads never ran")
	}
	wg.Wait()
	if late := time.Since(ended); late > 250*time.Millisecond {
		t.Errorf("the callers returned %v after their limit", late)
	}
	for _, err := range errs {
		if err == nil {
			t.Fatal("a read given up succeeded")
		}
	}
	took := gone(t, admin, url, "'lane long'", ended)
	if db.Stats().Pipelined-before != 2 {
		t.Fatalf("the reads did not ride the lane: %+v", db.Stats())
	}
	var n int32
	if err := queryRow(ctx, db, oneRead("After", "SELECT 1"), nil, &n); err != nil || n != 1 {
		t.Fatalf("after the cut: %d %v", n, err)
	}
	t.Logf("the server stopped the reads %v after their callers gave up", took)
}

// A schema change that makes the lane's prepared statement stale costs the caller
// nothing: the statement is prepared again and the read sent once more.
func TestALaneStatementMadeStaleIsPreparedAgain(t *testing.T) {
	url, _ := scratch(t, "lane_stale")
	ctx := context.Background()
	owner := connect(t, url)
	if _, err := owner.Exec(ctx, "CREATE TABLE drift (id int PRIMARY KEY, v int NOT NULL); INSERT INTO drift VALUES (1, 41)"); err != nil {
		t.Fatal(err)
	}
	p := testPolicies()
	p.Pool.MaxSize = 2
	db := open(t, p, Options{Hosts: []string{url}})
	forceLane(t)
	st := oneRead("Drift", "SELECT * FROM drift WHERE id = 1")
	st.Retry = nil
	var id int32
	var v int64
	if err := queryRow(ctx, db, st, nil, &id, &v); err != nil || v != 41 {
		t.Fatalf("before: %d %v", v, err)
	}
	if _, err := owner.Exec(ctx, "ALTER TABLE drift ALTER COLUMN v TYPE bigint; UPDATE drift SET v = 42"); err != nil {
		t.Fatal(err)
	}
	before := db.Stats()
	if err := queryRow(ctx, db, st, nil, &id, &v); err != nil || v != 42 {
		t.Fatalf("after the change: %d %v", v, err)
	}
	after := db.Stats()
	if after.Attempts != before.Attempts+1 || after.Pipelined != before.Pipelined+2 {
		t.Fatalf("want one attempt sent twice: attempts %d→%d, pipelined %d→%d",
			before.Attempts, after.Attempts, before.Pipelined, after.Pipelined)
	}
}

// testLane is a lane of no host and no driver: what is queued stays queued.
func testLane() *lane {
	l := &lane{}
	l.free.New = func() any {
		r := &laneReq{lane: l, done: make(chan struct{}, 1)}
		r.entry.f = r.leave
		return r
	}
	return l
}

// takenReq is a request of a batch, in state.
func takenReq(state int32) (*laneReq, *laneRound) {
	r := testLane().free.Get().(*laneReq)
	r.round = &laneRound{}
	r.state.Store(state)
	return r, r.round
}

// giveUpOnErr is a context that never ends by itself but whose first Err runs giveUp:
// the caller giving up at that very point of Scan.
type giveUpOnErr struct {
	context.Context
	giveUp func()
	done   chan struct{}
}

func (c *giveUpOnErr) Done() <-chan struct{} { return c.done }

func (c *giveUpOnErr) Err() error {
	if f := c.giveUp; f != nil {
		c.giveUp = nil
		f()
	}
	return nil
}

// A caller giving up while its read is being registered gets an error, never a nil
// with its destinations unwritten, and its read is not queued.
func TestACallerGivingUpAsItsReadIsRegisteredGetsAnError(t *testing.T) {
	l := testLane()
	r := l.free.Get().(*laneReq)
	r.given = context.Background()
	ctx := &giveUpOnErr{Context: context.Background(), giveUp: r.leave, done: make(chan struct{})}
	var dest int32
	errc := make(chan error, 1)
	go func() { errc <- r.QueryRow(ctx, "SELECT 1").Scan(&dest) }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Scan returned nil without a reply")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Scan is stuck")
	}
	if len(l.queue) != 0 {
		t.Fatalf("a read given up was queued: %d", len(l.queue))
	}
}

// A caller giving up while its batch is still being taken does not cut the batch for
// the reads taken after it.
func TestACallerGivingUpWhileItsBatchIsTakenLeavesTheOthersTheirConnection(t *testing.T) {
	l := testLane()
	first, second := l.free.Get().(*laneReq), l.free.Get().(*laneReq)
	l.queue = []*laneReq{first, second}
	takeRace = func(r *laneReq) {
		if r == first {
			r.leave()
		}
	}
	defer func() { takeRace = nil }()
	rd := &laneRound{}
	batch := l.take(rd, -1)
	if len(batch) != 2 || second.state.Load() != reqTaken || first.state.Load() != reqLeft {
		t.Fatalf("taken: %d, states %d %d", len(batch), first.state.Load(), second.state.Load())
	}
	if rd.isCut() {
		t.Fatal("the batch was cut while a read of it still waits")
	}
	if rd.waiting.Load() != 1 {
		t.Fatalf("waiting %d, want the second read", rd.waiting.Load())
	}
	// Once the second leaves too, nobody waits: the batch is cut.
	second.leave()
	if !rd.isCut() {
		t.Fatal("a batch nobody waits for was not cut")
	}
}

// A caller giving up during its row's scan cuts the connection only while the scan
// lasts; after it, the batch's next replies are left alone.
func TestACallerGivingUpCutsItsScanNotTheNextReply(t *testing.T) {
	r, rd := takenReq(reqScanning)
	r.leave() // the driver has finished the scan: nothing is scanned
	if rd.isCut() {
		t.Fatal("cut after the scan ended")
	}
	rd.setScanning(r)
	r.leave()
	if !rd.isCut() {
		t.Fatal("a scan in progress was not cut")
	}
}

// A caller giving up while the driver encodes its arguments waits for the encoding, so
// that nothing reads them after the call returned.
func TestACallerGivingUpWaitsOutTheEncodingOfItsArguments(t *testing.T) {
	r, rd := takenReq(reqEncoding)
	rd.waiting.Store(2)
	left := make(chan struct{})
	go func() { r.leave(); close(left) }()
	select {
	case <-left:
		t.Fatal("left while its arguments were read")
	case <-time.After(20 * time.Millisecond):
	}
	r.state.Store(reqTaken)
	select {
	case <-left:
	case <-time.After(2 * time.Second):
		t.Fatal("never left")
	}
	if r.state.Load() != reqLeft {
		t.Fatalf("state %d", r.state.Load())
	}
}

// A read queued on the lane while a driver already waits for a connection waits its
// own acquire timeout: when the driver's wait runs out, only the reads that waited as
// long fail with pool_timeout, and the later one is sent once a connection is free.
func TestALaneReadQueuedDuringAnotherWaitIsNotFailedByIt(t *testing.T) {
	url, _ := scratch(t, "lane_late")
	p := testPolicies()
	p.Pool.AcquireTimeout = 400 * time.Millisecond
	db := open(t, p, Options{Hosts: []string{url}})
	forceLane(t)
	early, late := oneRead("Early", "SELECT $1::int"), oneRead("Late", "SELECT $1::int")
	early.Retry, late.Retry = nil, nil
	var once sync.Once
	held := holdPool(t, db)
	release := func() { once.Do(held) }
	// A failing check still gives the connections back, or closing the pool would wait.
	defer release()
	earlyErr := make(chan error, 1)
	go func() {
		var v int32
		earlyErr <- queryRow(context.Background(), db, early, []any{1}, &v)
	}()
	time.Sleep(250 * time.Millisecond)
	var got int32
	lateErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		lateErr <- queryRow(ctx, db, late, []any{2}, &got)
	}()
	err := <-earlyErr
	if ClassOf(err) != ClassPoolTimeout {
		t.Fatalf("the read that waited the acquire timeout: %v", err)
	}
	select {
	case err := <-lateErr:
		t.Fatalf("the read queued later ended with the earlier wait: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if err := <-lateErr; err != nil || got != 2 {
		t.Fatalf("the read queued later: %d, %v", got, err)
	}
}
