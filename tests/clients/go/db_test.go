package clients

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"example.com/ledgerservice/ledger"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var scratchCount atomic.Int64

// scratchDB creates a database on the server named by DATABASE_URL, applies the
// example's migrations to it and returns a pool on it; the database is dropped
// when the test ends.
func scratchDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		t.Fatal("DATABASE_URL is not set: run the tests through scripts/test.sh")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	name := fmt.Sprintf("sqlpact_go_%d_%d", os.Getpid(), scratchCount.Add(1))
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Database = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close(ctx)
	})
	files, err := filepath.Glob("../../../contracts/migrations/*.up.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		sql, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return pool
}

// recorder is a ledger.Runner that records each statement's name and runs it (once,
// or through another Runner).
type recorder struct {
	mu   sync.Mutex
	seen map[string]int
	// inner runs the statement when set (the runtime); else it runs once on db.
	inner ledger.Runner
}

func (r *recorder) Run(ctx context.Context, st *ledger.Statement, db ledger.DBTX, fn func(context.Context, ledger.DBTX) error) error {
	r.mu.Lock()
	r.seen[st.Name]++
	r.mu.Unlock()
	if r.inner != nil {
		return r.inner.Run(ctx, st, db, fn)
	}
	return fn(ctx, db)
}

func (r *recorder) missing() []string {
	var out []string
	for _, st := range ledger.Statements {
		if r.seen[st.Name] == 0 {
			out = append(out, st.Name)
		}
	}
	return out
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func ptr[T any](v T) *T { return &v }

func joinNames(v []string) string { return strings.Join(v, ", ") }
