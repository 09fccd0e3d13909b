package sqlpact

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// RetryPolicy is a named retry policy of the contract.
type RetryPolicy struct {
	Name    string
	Backoff BackoffPolicy
}

// ResultColumn is one result column: its name and PostgreSQL type.
type ResultColumn struct {
	Name   string
	PgType string
}

// IdempotencyKey marks a write recorded under an idempotency key: the runtime stores
// the key and the result in the same transaction, and a replay returns the stored
// result without running the statement again.
type IdempotencyKey struct {
	// Param is the 0-based parameter holding the key.
	Param int
	// ParamType is its PostgreSQL type (text, uuid).
	ParamType string
	// Columns are the result columns, to store and restore rows exactly.
	Columns []ResultColumn
}

// Statement describes one query of the contract and the policy it runs under.
type Statement struct {
	Name    string
	Command string
	SQL     string
	// ReadOnly: the statement changes no data.
	ReadOnly bool
	// Idempotent: running it twice has the effect of running it once.
	Idempotent bool
	Route      Route
	// Timeout is the deadline of one call, retries and waits included.
	Timeout time.Duration
	Retry   *RetryPolicy
	// Idempotency is set when the contract records this write under a key.
	Idempotency *IdempotencyKey
	// ExpectOneRow: affecting no row is a ClassConflict error.
	ExpectOneRow bool
}

func (s *Statement) replaySafe() bool { return s.Idempotent || s.Idempotency != nil }

// PoolPolicy holds the contract's pool limits, per host.
type PoolPolicy struct {
	MaxSize uint32
	MinIdle uint32
	// AcquireTimeout bounds the wait for a connection; never unbounded.
	AcquireTimeout time.Duration
	IdleTimeout    time.Duration
	MaxLifetime    time.Duration
	LifetimeJitter time.Duration
}

// BreakerPolicy holds the contract's circuit breaker settings, per host.
type BreakerPolicy struct {
	FailureThreshold uint32
	OpenFor          time.Duration
}

// Policies is the contract's resolved policy table, as generated code embeds it.
type Policies struct {
	Contract   string
	Version    string
	Pool       PoolPolicy
	Breaker    BreakerPolicy
	Retry      []*RetryPolicy
	Statements []*Statement
}

// RetryPolicy returns the retry policy named name, or nil.
func (p *Policies) RetryPolicy(name string) *RetryPolicy {
	for _, r := range p.Retry {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// DBTX is what generated methods run on: a *pgxpool.Pool, a *pgx.Conn, a pgx.Tx, or
// the runtime's *DB and *Tx.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// Runner runs every statement the generated methods send: the one place where
// policies apply. Run calls fn at least once, with the DBTX to use (db, or another it
// chooses), and returns fn's last error. fn may run more than once, so it starts from
// scratch on every call.
type Runner interface {
	Run(ctx context.Context, st *Statement, db DBTX, fn func(ctx context.Context, db DBTX) error) error
}

// Run is what generated methods call: through db's Runner when db is one (the
// runtime's *DB and *Tx are), else fn once on db; errors come back as *Error.
func Run(ctx context.Context, st *Statement, db DBTX, r Runner, fn func(ctx context.Context, db DBTX) error) error {
	if r == nil {
		r, _ = db.(Runner)
	}
	if r != nil {
		return r.Run(ctx, st, db, fn)
	}
	if err := fn(ctx, db); err != nil {
		return wrap(err, st, SentNoReply, false)
	}
	return nil
}
