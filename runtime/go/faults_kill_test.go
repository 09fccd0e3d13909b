package sqlpact

// Scenarios 2 and 10 of the fault suite (docs/runtime.md, "Under faults"), as
// runtime/rust/tests/faults.rs runs them: a statement whose session the server kills,
// and callers giving up at random points.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// audited records every change of the counter, committed with it.
const audited = `CREATE TABLE audit (n int NOT NULL);
CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit VALUES (NEW.n);
  RETURN NEW;
END $$;
CREATE TRIGGER audit AFTER UPDATE ON counter FOR EACH ROW EXECUTE FUNCTION audit();`

func faultWrite(name, sql string) *Statement {
	st := stmt(name, sql)
	st.Timeout = 10 * time.Second
	return st
}

// readInts runs st, a read of one int column, and returns its rows.
func readInts(ctx context.Context, db DBTX, st *Statement, args ...any) ([]int32, error) {
	var got []int32
	err := Run(ctx, st, db, nil, func(ctx context.Context, q DBTX) error {
		rows, err := q.Query(ctx, st.SQL, args...)
		if err != nil {
			return err
		}
		got, err = pgx.CollectRows(rows, pgx.RowTo[int32])
		return err
	})
	return got, err
}

// activeLike is how many sessions of url's database, other than the asking one, run a
// statement containing marker.
const activeLike = `SELECT count(*) FROM pg_stat_activity
	WHERE datname = $1 AND state = 'active' AND query LIKE '%' || $2 || '%' AND pid <> pg_backend_pid()`

// killRunning terminates, once, the session of url's database running a statement that
// contains marker, while it sleeps: never as it finishes, when its reply may be on the
// way. It returns the session's pid.
func killRunning(t *testing.T, admin *pgx.Conn, url, marker string) int32 {
	t.Helper()
	ctx := context.Background()
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		var pid int32
		// In the select list, not the WHERE clause: there the server may call it before
		// the other conditions, on any session, this one included.
		err := admin.QueryRow(ctx, `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = $1 AND state = 'active' AND wait_event = 'PgSleep'
			  AND query LIKE '%' || $2 || '%' AND pid <> pg_backend_pid()`,
			dbName(url), marker).Scan(&pid, nil)
		if err == nil {
			return pid
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("nothing runs %s", marker)
		}
	}
}

// counterAudited returns the counter and how many changes of it the audit table holds.
func counterAudited(t *testing.T, url string) (int64, int64) {
	t.Helper()
	return count(t, url, "SELECT n::int8 FROM counter WHERE id = 1"), count(t, url, "SELECT count(*) FROM audit")
}

// Scenario 2: the server kills the session running a statement. An idempotent read is
// retried transparently; an UPDATE is reported ambiguous and applied at most once (the
// audit table says); an explicit transaction is re-run whole and commits once.
func TestAStatementKilledMidFlightIsRetriedReportedOrRerunAsItAllows(t *testing.T) {
	url, admin := scratch(t, "fault_killed")
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, audited); err != nil {
		t.Fatal(err)
	}
	owner.Close(ctx)
	p := testPolicies()
	// Long enough a wait for a connection that a call never runs out of it.
	p.Pool.AcquireTimeout = 3 * time.Second
	db := open(t, p, Options{Hosts: []string{url}})

	killedRead := faultRead("KilledRead", "SELECT n FROM counter, pg_sleep(0.6) WHERE id = 1")
	killedRead.Command = "many"
	type readResult struct {
		rows []int32
		err  error
	}
	read := make(chan readResult, 1)
	go func() {
		rows, err := readInts(ctx, db, killedRead)
		read <- readResult{rows, err}
	}()
	killed := killRunning(t, admin, url, "pg_sleep(0.6) WHERE id")
	r := <-read
	if r.err != nil || len(r.rows) != 1 || r.rows[0] != 0 {
		t.Fatalf("the read is retried: %v %v", r.rows, r.err)
	}
	if n := db.Stats().Retries[ClassServerShutdown]; n != 1 {
		t.Fatalf("%d server_shutdown retries, want 1", n)
	}
	if pid := backendPID(t, db); pid == killed {
		t.Fatalf("the killed session %d serves", killed)
	}

	killedBump := faultWrite("KilledBump", "UPDATE counter SET n = n + 1 FROM pg_sleep(0.6) WHERE id = 1")
	bump := make(chan error, 1)
	go func() {
		_, err := exec(ctx, db, killedBump)
		bump <- err
	}()
	killRunning(t, admin, url, "UPDATE counter SET n = n + 1 FROM pg_sleep")
	err = <-bump
	if err == nil {
		t.Fatal("the update succeeded with its session killed under it")
	}
	if e := classOf(t, err); !e.Ambiguous() || e.Attempts != 1 {
		t.Fatalf("want ambiguous after 1 attempt, never re-sent: %v (%+v)", err, e)
	}
	n, audits := counterAudited(t, url)
	if n > 1 || audits > 1 || n != audits {
		t.Fatalf("n %d, %d audits", n, audits)
	}

	txBump := faultWrite("TxBump", "UPDATE counter SET n = n + 1 WHERE id = 1")
	// Killed inside the transaction: a write, so that only the transaction's re-run may
	// repeat it.
	txSlowBump := faultWrite("TxSlowBump",
		"UPDATE counter SET n = n + 1 FROM pg_sleep(0.6) WHERE id = 1 AND 'in a transaction' <> ''")
	runs := 0
	tx := make(chan error, 1)
	go func() {
		tx <- db.Transaction(ctx, TxOptions{}, func(ctx context.Context, tx *Tx) error {
			runs++
			if _, err := exec(ctx, tx, txBump); err != nil {
				return err
			}
			_, err := exec(ctx, tx, txSlowBump)
			return err
		})
	}()
	killRunning(t, admin, url, "'in a transaction'")
	if err := <-tx; err != nil {
		t.Fatalf("the transaction is re-run: %v", err)
	}
	if runs != 2 {
		t.Fatalf("the transaction ran %d times, want 2 (re-run once)", runs)
	}
	n2, audits2 := counterAudited(t, url)
	if n2-n != 2 || audits2-audits != 2 {
		t.Fatalf("the killed run left nothing, the re-run committed its two updates once: n %d → %d, audits %d → %d",
			n, n2, audits, audits2)
	}
	t.Logf("killed mid-flight: the read retried, the update ambiguous (applied %d times), the transaction "+
		"re-run and committed once; retries %v", audits, db.Stats().Retries)
}

// gone waits until no session of url's database runs a statement containing marker;
// how long after since that was.
// seenRunning reports whether a session runs a statement containing marker within
// 250 ms.
func seenRunning(t *testing.T, admin *pgx.Conn, url, marker string) bool {
	t.Helper()
	for start := time.Now(); time.Since(start) < 250*time.Millisecond; time.Sleep(5 * time.Millisecond) {
		var running int64
		if err := admin.QueryRow(context.Background(), activeLike, dbName(url), marker).Scan(&running); err != nil {
			t.Fatal(err)
		}
		if running > 0 {
			return true
		}
	}
	return false
}

func gone(t *testing.T, admin *pgx.Conn, url, marker string, since time.Time) time.Duration {
	t.Helper()
	for {
		var running int64
		if err := admin.QueryRow(context.Background(), activeLike, dbName(url), marker).Scan(&running); err != nil {
			t.Fatal(err)
		}
		took := time.Since(since)
		if took > time.Second {
			t.Fatalf("the server ran %s for %v after its caller gave up", marker, took)
		}
		if running == 0 {
			return took
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Scenario 10: 16 callers give up on reads, writes and transactions at random moments
// (a context of 0–60 ms ends the call wherever it waits). Nobody waits past their
// limit, the pool's capacity is all there afterwards, and a statement given up on
// stops running on the server.
func TestCallsGivenUpAtRandomPointsLeakNothingAndTheServerSeesTheCancel(t *testing.T) {
	url, admin := scratch(t, "fault_cancel")
	p := testPolicies()
	p.Pool.AcquireTimeout = 500 * time.Millisecond
	db := open(t, p, Options{Hosts: []string{url}})
	pausedRead := faultRead("PausedRead", "SELECT n FROM counter, pg_sleep($1::float8) WHERE id = 1")
	pausedRead.Command = "many"
	// The same read as a single row: it rides the lane of pipelined reads (lane.go).
	pausedOne := faultRead("PausedOne", "SELECT n FROM counter, pg_sleep($1::float8) WHERE id = 1")
	pausedBump := faultWrite("PausedBump", "UPDATE counter SET n = n + 1 FROM pg_sleep($1::float8) WHERE id = 1")
	txBump := faultWrite("TxBump", "UPDATE counter SET n = n + 1 WHERE id = 1")

	var (
		mu                 sync.Mutex
		ok, gaveUp, failed int
		failures           = map[Class]int{}
		latest             time.Duration // the most a call returned after its limit
		wg                 sync.WaitGroup
	)
	readOn := func(ctx context.Context, q DBTX, pause float64) error {
		_, err := readInts(ctx, q, pausedRead, pause)
		return err
	}
	start := time.Now()
	for task := range uint64(16) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := NewSplitMix64(task)
			o, g := 0, 0
			defer func() {
				mu.Lock()
				ok, gaveUp = ok+o, gaveUp+g
				mu.Unlock()
			}()
			for time.Since(start) < 3*time.Second {
				op := rng.Uniform(4)
				pause := float64(rng.Uniform(10)) / 1000
				limit := time.Duration(rng.Uniform(60)) * time.Millisecond
				ctx, cancel := context.WithTimeout(context.Background(), limit)
				t0 := time.Now()
				var err error
				switch op {
				case 0:
					err = readOn(ctx, db, pause)
				case 1:
					_, err = exec(ctx, db, pausedBump, pause)
				case 3:
					var n int32
					err = Run(ctx, pausedOne, db, nil, func(ctx context.Context, q DBTX) error {
						return q.QueryRow(ctx, pausedOne.SQL, pause).Scan(&n)
					})
				default:
					err = db.Transaction(ctx, TxOptions{}, func(ctx context.Context, tx *Tx) error {
						if _, err := exec(ctx, tx, txBump); err != nil {
							return err
						}
						return readOn(ctx, tx, pause)
					})
				}
				took := time.Since(t0)
				givenUp := ctx.Err() != nil
				cancel()
				// A stuck waiter would wait out the pool (500 ms) or its statement; the
				// margin is for a busy machine's scheduling.
				if took > limit+250*time.Millisecond {
					t.Errorf("a call given %v took %v", limit, took)
				}
				switch {
				case err == nil:
					o++
				case givenUp:
					g++
				default:
					mu.Lock()
					failed++
					failures[ClassOf(err)]++
					if failed <= 3 {
						t.Logf("a call failed: %v", err)
					}
					mu.Unlock()
				}
				if took > limit {
					mu.Lock()
					latest = max(latest, took-limit)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if ok == 0 || gaveUp == 0 {
		t.Fatalf("%d served, %d given up", ok, gaveUp)
	}
	pipelined := db.Stats().Pipelined
	if pipelined == 0 {
		t.Fatal("no read rode the lane")
	}
	// A cancel that hit another caller's statement would show here.
	if failed > 0 {
		t.Fatalf("%d calls failed otherwise: %v", failed, failures)
	}

	// The whole pool can be held at once again: nothing leaked.
	ctx := context.Background()
	h := db.hosts[0]
	t0 := time.Now()
	for {
		held := make([]*pgxpool.Conn, p.Pool.MaxSize)
		errs := make([]error, len(held))
		var hw sync.WaitGroup
		for i := range held {
			hw.Add(1)
			go func() { defer hw.Done(); held[i], errs[i] = db.Acquire(ctx) }()
		}
		hw.Wait()
		all := true
		for i, c := range held {
			if errs[i] != nil {
				all = false
			} else {
				c.Release()
			}
		}
		if all {
			break
		}
		if time.Since(t0) > 3*time.Second {
			t.Fatalf("the pool's capacity did not come back: %v; %+v", errs, db.Stats().Hosts[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
	recovered := time.Since(t0)
	if s := h.pool.Stat(); s.AcquiredConns() != 0 || s.TotalConns() > int32(p.Pool.MaxSize) {
		t.Fatalf("%d connections held, %d open", s.AcquiredConns(), s.TotalConns())
	}

	// A read and a write given up on stop running on the server.
	longRead := faultRead("LongRead", "SELECT 'long read', pg_sleep(5)")
	longRead.Command = "many"
	longWrite := faultWrite("LongWrite", "UPDATE counter SET n = n FROM pg_sleep(5) WHERE id = 1 AND 'long write' <> ''")
	var stopped []time.Duration
	for _, c := range []struct {
		st     *Statement
		marker string
	}{{longRead, "'long read'"}, {longWrite, "'long write'"}} {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		ended, _ := cctx.Deadline()
		done := make(chan error, 1)
		go func() {
			done <- Run(cctx, c.st, db, nil, func(ctx context.Context, q DBTX) error {
				_, err := q.Exec(ctx, c.st.SQL)
				return err
			})
		}()
		// The statement must reach the server before its caller gives up, or its
		// absence afterwards would prove nothing.
		if !seenRunning(t, admin, url, c.marker) {
			t.Fatalf("%s never ran on the server", c.st.Name)
		}
		err := <-done
		givenUp := cctx.Err() != nil
		cancel()
		if err == nil || !givenUp {
			t.Fatalf("%s was not given up: %v", c.st.Name, err)
		}
		if late := time.Since(ended); late > 250*time.Millisecond {
			t.Errorf("%s returned %v after its caller gave up", c.st.Name, late)
		}
		stopped = append(stopped, gone(t, admin, url, c.marker, ended))
	}
	if _, err := readN(ctx, db); err != nil {
		t.Fatalf("still serving: %v", err)
	}
	t.Logf("cancellation: %d served, %d given up (returning at most %v after the limit), %d failed otherwise %v; "+
		"%d reads pipelined; the pool whole again after %v; the server stopped the abandoned read and write %v "+
		"after their callers gave up", ok, gaveUp, latest, failed, failures, pipelined, recovered, stopped)
}
