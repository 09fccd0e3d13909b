package sqlpact

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkRunOverhead is what the runtime itself costs per statement: calls whose
// statement does nothing with the connection it is handed, so that neither the network
// nor the server is measured, only the pick, the deadline, the acquire and release of a
// pooled connection, the breaker and the budget. pgxpool is the floor: its acquire and
// release alone. (tests/clients/go's BenchmarkPointRead measures whole point reads
// against raw pgx.)
func BenchmarkRunOverhead(b *testing.B) {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		b.Fatal("DATABASE_URL is not set: run the tests through scripts/test.sh")
	}
	ctx := context.Background()
	st := stmt("Nothing", "SELECT 1")
	st.ReadOnly, st.Idempotent, st.Route = true, true, RouteReplica
	nothing := func(context.Context, DBTX) error { return nil }

	b.Run("pgxpool", func(b *testing.B) {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		b.ReportAllocs()
		for b.Loop() {
			c, err := pool.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			c.Release()
		}
	})
	db := open(b, testPolicies(), Options{Hosts: []string{url}})
	if err := db.Ready(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("runtime", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := db.Run(ctx, st, nil, nothing); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A caller whose own deadline comes before the statement's: the runtime needs no
	// timer of its own.
	b.Run("runtime-caller-deadline", func(b *testing.B) {
		long := *st
		long.Timeout = time.Hour
		ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		b.ReportAllocs()
		for b.Loop() {
			if err := db.Run(ctx, &long, nil, nothing); err != nil {
				b.Fatal(err)
			}
		}
	})
}
