package clients

// The Go half of bench/runtime.sh: what the runtime costs per point read next to one raw
// pgx connection, what it serves to 16 readers next to pgxpool, and how fast its pool
// hands connections to many waiters. Each benchmark runs on a scratch database of the
// example contract on the server named by DATABASE_URL:
//
//	go test -run '^$' -bench . -benchtime 2000x -count 3
//
// Pools are opened, warmed and seeded in a parent benchmark, never in a leaf: a leaf's
// body runs twice per -count (b.N = 1, then the -benchtime count).

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/ledgerservice/ledger"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	sqlpact "github.com/sqlpact/sqlpact/runtime/go"
)

// benchAccounts is how many accounts the point reads cycle through, as on the Rust side.
const benchAccounts = 64

// benchReaders is how many goroutines BenchmarkConcurrentReads runs.
const benchReaders = 16

// benchDB is scratchDB with benchAccounts accounts; it returns the database's URL and
// the accounts' ids.
func benchDB(b *testing.B) (string, []uuid.UUID) {
	b.Helper()
	pool := scratchDB(b)
	ctx := context.Background()
	c := pool.Config().ConnConfig
	url := fmt.Sprintf("postgresql://%s:%s@%s:%d/%s", c.User, c.Password, c.Host, c.Port, c.Database)
	// The rows the Rust side seeds, so both read rows of the same shape.
	seed := `INSERT INTO currencies (code, name, minor_units) VALUES ('EUR', 'Euro', 2);
INSERT INTO customers (email, full_name, country) VALUES ('bench@example.com', 'Bench', 'DE');
INSERT INTO accounts (customer_id, currency, display_name, tags)
SELECT (SELECT id FROM customers WHERE email = 'bench@example.com'), 'EUR',
       'account ' || g, ARRAY['bench', 'x' || g]
FROM generate_series(1, ` + fmt.Sprint(benchAccounts) + `) g;`
	if _, err := pool.Exec(ctx, seed); err != nil {
		b.Fatalf("seed: %v", err)
	}
	rows, _ := pool.Query(ctx, "SELECT id FROM accounts ORDER BY id")
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(ids) != benchAccounts {
		b.Fatalf("seeded accounts: %d, %v", len(ids), err)
	}
	return url, ids
}

// getAccount is the generated GetAccount's statement.
func getAccount(b *testing.B) *sqlpact.Statement {
	for _, st := range ledger.Statements {
		if st.Name == "GetAccount" {
			return st
		}
	}
	b.Fatal("the contract has no GetAccount")
	return nil
}

// getAccountSQL is the generated GetAccount's SQL, so that the raw driver sends the
// same text.
func getAccountSQL(b *testing.B) string { return getAccount(b).SQL }

// getAccountTimeout is the deadline the contract gives one GetAccount call.
func getAccountTimeout(b *testing.B) time.Duration { return getAccount(b).Timeout }

// readAccount is GetAccount without the runtime: the same SQL on db, scanned into the
// same fields.
func readAccount(ctx context.Context, db ledger.DBTX, sql string, id uuid.UUID) (ledger.Account, error) {
	var a ledger.Account
	// The id goes as its bytes, as the generated client passes it.
	err := db.QueryRow(ctx, sql, [16]byte(id)).Scan(&a.ID, &a.CustomerID, &a.Currency, &a.DisplayName, &a.Status,
		&a.Balance, &a.Metadata, &a.Tags, &a.Version, &a.CreatedAt, &a.ClosedAt, &a.OverdraftLimit, &a.UpdatedAt)
	return a, err
}

// openRuntime opens the runtime on url under the contract's policies, with a pool of
// maxSize connections instead of the table's; obs may be nil.
func openRuntime(b *testing.B, url string, maxSize uint32, obs sqlpact.Observer) *sqlpact.DB {
	b.Helper()
	ctx := context.Background()
	p := *ledger.Policies
	p.Pool.MaxSize = maxSize
	p.Pool.MinIdle = min(p.Pool.MinIdle, maxSize)
	db, err := sqlpact.Open(ctx, &p, sqlpact.Options{Hosts: []string{url}, Seed: 7, Observer: obs})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	if err := db.Ready(ctx); err != nil {
		b.Fatal(err)
	}
	return db
}

// openPool opens a pgxpool on url with maxConns connections.
func openPool(b *testing.B, url string, maxConns int32) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// acquirer is pgxpool's Acquire or the runtime's.
type acquirer func(context.Context) (*pgxpool.Conn, error)

// warm holds n connections of a pool at once, so all n are open before any timing, and
// when sql is set reads id with it on each, so each has the statement prepared.
func warm(b *testing.B, acquire acquirer, n int, sql string, id uuid.UUID) {
	b.Helper()
	ctx := context.Background()
	conns := make([]*pgxpool.Conn, 0, n)
	for range n {
		c, err := acquire(ctx)
		if err != nil {
			b.Fatalf("warm: %v", err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		if sql != "" {
			if _, err := readAccount(ctx, c, sql, id); err != nil {
				b.Fatalf("warm: %v", err)
			}
		}
		c.Release()
	}
}

// contend runs op b.N times on workers goroutines, each taking the next index until
// none is left, and returns the wall time they took; op's first error fails b.
func contend(b *testing.B, workers int, op func(i int) error) time.Duration {
	b.Helper()
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-start
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := op(i); err != nil {
					// A copy: taking err's address would move it to the heap on
					// every call, an allocation charged to op.
					firstErr.CompareAndSwap(nil, ptr(err))
					return
				}
			}
		})
	}
	// The goroutines exist before the timer starts: only the operations are measured.
	b.ResetTimer()
	t := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t)
	b.StopTimer()
	if err := firstErr.Load(); err != nil {
		b.Fatal(*err)
	}
	return elapsed
}

// percentile is the nearest-rank percentile p of sorted, as the Rust side computes it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted)-1)*p + 0.5)
	return sorted[min(i, len(sorted)-1)]
}

// BenchmarkPointRead is the runtime's cost per statement: one caller, one connection,
// GetAccount through the runtime against the same select on a raw pgx connection.
func BenchmarkPointRead(b *testing.B) {
	ctx := context.Background()
	url, ids := benchDB(b)
	sql := getAccountSQL(b)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close(ctx) })
	// A pool of one connection, as the raw side has one.
	q := ledger.New(openRuntime(b, url, 1, nil))

	// Both sides read the same row once before any timing, which also prepares the
	// statement on their connection.
	raw, err := readAccount(ctx, conn, sql, ids[0])
	if err != nil {
		b.Fatal(err)
	}
	got, err := q.GetAccount(ctx, ids[0])
	if err != nil {
		b.Fatal(err)
	}
	if got.ID != raw.ID || got.Version != raw.Version || !slices.Equal(got.Tags, raw.Tags) || !got.Balance.Equal(raw.Balance) {
		b.Fatalf("the runtime read %+v, pgx %+v", got, raw)
	}

	b.Run("pgx", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := readAccount(ctx, conn, sql, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("runtime", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := q.GetAccount(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkConcurrentReads is throughput under contention: 16 goroutines sharing b.N
// point reads over 8 connections, pgxpool against the runtime.
func BenchmarkConcurrentReads(b *testing.B) {
	ctx := context.Background()
	url, ids := benchDB(b)
	sql := getAccountSQL(b)
	const conns = 8
	pool := openPool(b, url, conns)
	warm(b, pool.Acquire, conns, sql, ids[0])
	db := openRuntime(b, url, conns, nil)
	warm(b, db.Acquire, conns, sql, ids[0])
	q := ledger.New(db)

	run := func(b *testing.B, read func(i int) error) {
		b.ReportAllocs()
		elapsed := contend(b, benchReaders, read)
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "q/s")
	}
	b.Run(fmt.Sprintf("pgxpool%d", conns), func(b *testing.B) {
		run(b, func(i int) error {
			_, err := readAccount(ctx, pool, sql, ids[i%len(ids)])
			return err
		})
	})
	// What a pgxpool caller pays to bound each read as the runtime does: a context
	// with the statement's deadline (pgx then watches it during the query).
	timeout := getAccountTimeout(b)
	b.Run(fmt.Sprintf("pgxpool%d-deadline", conns), func(b *testing.B) {
		run(b, func(i int) error {
			rctx, cancel := context.WithTimeout(ctx, timeout)
			_, err := readAccount(rctx, pool, sql, ids[i%len(ids)])
			cancel()
			return err
		})
	})
	b.Run(fmt.Sprintf("runtime%d", conns), func(b *testing.B) {
		run(b, func(i int) error {
			_, err := q.GetAccount(ctx, ids[i%len(ids)])
			return err
		})
	})
}

// connectionsOpened counts the runtime's new connections.
type connectionsOpened struct{ n atomic.Int64 }

func (c *connectionsOpened) OnEvent(e sqlpact.Event) {
	if e.Kind == sqlpact.EventConnectionOpened {
		c.n.Add(1)
	}
}

// BenchmarkAcquire is the pool alone: W goroutines over C connections, each acquiring,
// yielding once and releasing, no statement; pgxpool against the runtime's Acquire.
// The yield keeps the connection held while other goroutines run, as the Rust side
// does: without it a connection is held for nanoseconds, 2 cores never empty a pool of
// 4, and W only lengthens the run queue. Each acquire's latency is recorded and its 50th
// and 99th percentiles reported.
//
// The runtime's Acquire hands out a *pgxpool.Conn of its pool, which Release returns
// to it: the benchmark fails if either pool opens a connection beyond the C it warmed.
func BenchmarkAcquire(b *testing.B) {
	url, _ := benchDB(b)
	type pool struct {
		acquire acquirer
		// opened counts the connections opened since the pool was.
		opened func() int64
	}
	pools := []struct {
		name string
		open func(b *testing.B, size int) pool
	}{
		{"pgxpool", func(b *testing.B, size int) pool {
			p := openPool(b, url, int32(size))
			return pool{p.Acquire, func() int64 { return p.Stat().NewConnsCount() }}
		}},
		{"runtime", func(b *testing.B, size int) pool {
			obs := &connectionsOpened{}
			return pool{openRuntime(b, url, uint32(size), obs).Acquire, obs.n.Load}
		}},
	}
	for _, p := range pools {
		b.Run(p.name, func(b *testing.B) {
			for _, size := range []int{4, 16} {
				// This level has sub-benchmarks, so it runs once: the pool is opened
				// and warmed once, and closed after its last waiter count.
				b.Run(fmt.Sprintf("c%d", size), func(b *testing.B) {
					pl := p.open(b, size)
					warm(b, pl.acquire, size, "", uuid.UUID{})
					for _, waiters := range []int{4, 16, 64, 256} {
						b.Run(fmt.Sprintf("w%d", waiters), func(b *testing.B) {
							ctx := context.Background()
							lat := make([]time.Duration, b.N)
							b.ReportAllocs()
							contend(b, waiters, func(i int) error {
								t := time.Now()
								c, err := pl.acquire(ctx)
								lat[i] = time.Since(t)
								if err != nil {
									return err
								}
								runtime.Gosched()
								c.Release()
								return nil
							})
							slices.Sort(lat)
							b.ReportMetric(float64(percentile(lat, 0.50)), "p50-ns")
							b.ReportMetric(float64(percentile(lat, 0.99)), "p99-ns")
						})
					}
					if n := pl.opened(); n != int64(size) {
						b.Fatalf("%d connections opened for a pool of %d: released ones were not reused", n, size)
					}
				})
			}
		})
	}
}
