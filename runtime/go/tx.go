package sqlpact

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TxOptions says how Transaction runs.
type TxOptions struct {
	IsoLevel pgx.TxIsoLevel
	ReadOnly bool
	// Retry says how often and how soon to re-run; nil: the contract's standard policy.
	Retry *RetryPolicy
	// Timeout bounds the whole transaction, re-runs included (0: the caller's ctx).
	Timeout time.Duration
}

// Tx is an open transaction: generated code runs on it like on a pgx.Tx. Each
// statement keeps its own deadline; nothing is retried inside, the whole transaction
// is.
type Tx struct{ tx pgx.Tx }

// PgxTx is the transaction itself, for statements outside the contract.
func (t *Tx) PgxTx() pgx.Tx { return t.tx }

// Run runs one statement of the transaction under its deadline.
func (t *Tx) Run(ctx context.Context, st *Statement, _ DBTX, fn func(ctx context.Context, db DBTX) error) error {
	ctx, cancel := context.WithTimeout(ctx, st.Timeout)
	defer cancel()
	var err error
	if st.Idempotency != nil {
		_, err = runKeyed(ctx, t.tx, st, fn, false)
	} else {
		err = fn(ctx, t.tx)
	}
	if err == nil {
		return nil
	}
	e := wrap(err, st, SentNoReply, true)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && e.Class != ClassNotFound && e.Class != ClassConflict {
		// The transaction is rolled back: nothing of it applies, so nothing is unknown.
		e.Class, e.Action, e.Msg = ClassTimeout, Fatal, fmt.Sprintf("deadline of %v passed", st.Timeout)
	}
	return e
}

// Exec runs sql in the transaction (a statement outside the contract).
func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.tx.Exec(ctx, sql, args...)
}

// Query runs sql in the transaction.
func (t *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.tx.Query(ctx, sql, args...)
}

// QueryRow runs sql in the transaction.
func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.tx.QueryRow(ctx, sql, args...)
}

// SendBatch sends b in the transaction.
func (t *Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.tx.SendBatch(ctx, b)
}

// CopyFrom copies rows in the transaction.
func (t *Tx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	return t.tx.CopyFrom(ctx, table, columns, src)
}

const txName = "transaction"

// Transaction runs fn in a transaction on the primary and commits. On a serialization
// failure or a deadlock (from any statement or the commit) the transaction is rolled
// back and fn runs again, after the policy's backoff, while attempts, the deadline and
// the host's retry budget allow; fn must therefore start from scratch on every call.
// Any other error rolls back and is returned; a commit whose reply is lost is
// ambiguous.
func (d *DB) Transaction(ctx context.Context, o TxOptions, fn func(ctx context.Context, tx *Tx) error) error {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	policy := defaultBackoff
	if r := o.Retry; r != nil {
		policy = r.Backoff
	} else if r := d.policies.RetryPolicy("standard"); r != nil {
		policy = r.Backoff
	}
	bo := NewBackoff(policy, d.nextSeed())
	access := pgx.ReadWrite
	if o.ReadOnly {
		access = pgx.ReadOnly
	}
	for attempt := 1; ; attempt++ {
		h, permit, err := d.pick(ctx, RoutePrimary, attempt == 1)
		if err != nil {
			e := err.(*Error)
			e.Statement, e.Attempts = txName, attempt
			return d.fail(e)
		}
		if attempt == 1 {
			h.request(h.db.nowMs())
		}
		c, err := d.acquire(ctx, h, permit)
		if errors.Is(err, errBreakerOpen) {
			e := breakerOpen(h)
			e.Statement, e.Attempts = txName, attempt
			return d.fail(e)
		}
		if err != nil {
			cl := ClassConnection
			switch {
			case errors.Is(err, errPoolTimeout):
				cl = ClassPoolTimeout
			case errors.Is(ctx.Err(), context.DeadlineExceeded):
				cl = ClassTimeout
			case ctx.Err() != nil:
				cl = ClassCanceled
			default:
				// A failed connect counts against the host's breaker.
				h.failure(h.db.nowMs())
				h.setRole(RoleUnknown)
			}
			return d.fail(&Error{Class: cl, Action: Fatal, Statement: txName, Attempts: attempt, Err: err})
		}
		err = func() error {
			tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: o.IsoLevel, AccessMode: access})
			if err != nil {
				// Nothing was applied yet: a lost BEGIN is safe to re-run.
				if !replied(err) {
					dec := Classify(failureOf(err, NotSent, true, false, RoutePrimary))
					return &Error{Class: Class(dec.Class), Action: dec.Action, Statement: txName, Err: err}
				}
				return err
			}
			if err := fn(ctx, &Tx{tx: tx}); err != nil {
				// Bounded: on a dead network the rollback must not hang the caller.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.policies.Pool.AcquireTimeout)
				defer cancel()
				_ = tx.Rollback(rctx)
				return err
			}
			if err := tx.Commit(ctx); err != nil {
				// A COMMIT that failed with the server's answer (a serialization failure,
				// a lock timeout) rolled back and is decided like any statement of the
				// transaction; one whose connection was lost, whose session ended under
				// it, or whose caller gave up meanwhile may have applied: ambiguous.
				f := failureOf(err, SentNoReply, true, false, RoutePrimary)
				dec := Classify(f)
				e := &Error{Class: Class(dec.Class), Action: dec.Action, Statement: txName, Err: err}
				switch {
				case f.Sent == NotSent:
					// pgx's word that the COMMIT never left: the transaction rolls back
					// with its connection, and is re-run.
				case ctx.Err() != nil:
					e.Class, e.Action = ClassCanceled, Ambiguous
					if errors.Is(ctx.Err(), context.DeadlineExceeded) {
						e.Class = ClassTimeout
					}
				case e.Class == ClassConnection || e.Class == ClassServerShutdown:
					e.Action = Ambiguous
				}
				return e
			}
			return nil
		}()
		release(ctx, c, err)
		if err == nil {
			if permit {
				h.success(h.db.nowMs())
			}
			return nil
		}
		var e *Error
		if !errors.As(err, &e) {
			dec := Classify(failureOf(err, SentNoReply, true, false, RoutePrimary))
			e = &Error{Class: Class(dec.Class), Action: dec.Action, Statement: txName, Err: err}
		}
		e.Attempts = attempt
		if e.Action != RerunTransaction {
			return d.failAs(txName, e)
		}
		delay, ok := bo.NextDelay(remaining(ctx))
		if !ok {
			return d.failAs(txName, e)
		}
		if !h.tryRetry(e.Class) {
			e.BudgetExhausted = true
			return d.failAs(txName, e)
		}
		d.counters.transactionReruns.Add(1)
		d.counters.retry(e.Class)
		d.emit(Event{Kind: EventRetry, Statement: txName, Host: h.name, Class: e.Class, Attempt: attempt, Delay: delay})
		if !sleep(ctx, delay) {
			return d.failAs(txName, e)
		}
	}
}

// IdempotencyTable is the table the runtime records keys and results in; apply it with
// your migrations (or DB.InstallIdempotencyTable). The Rust crate uses the same table.
const IdempotencyTable = `CREATE TABLE IF NOT EXISTS sqlpact_idempotency (
    key text PRIMARY KEY,
    statement text NOT NULL,
    result jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
)`

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func keyExpr(k *IdempotencyKey, n int) string { return fmt.Sprintf("$%d::%s::text", n, k.ParamType) }

func recordRowsSQL(st *Statement, k *IdempotencyKey, n int) string {
	aliases := make([]string, len(k.Columns))
	sel := make([]string, len(k.Columns))
	for i, c := range k.Columns {
		aliases[i] = fmt.Sprintf("c%d", i+1)
		sel[i] = fmt.Sprintf("c%d AS %s", i+1, quoteIdent(c.Name))
	}
	return fmt.Sprintf("WITH sqlpact_r (%s) AS (%s), sqlpact_s AS (UPDATE sqlpact_idempotency SET result = "+
		"(SELECT coalesce(jsonb_agg(to_jsonb(sqlpact_r)), '[]'::jsonb) FROM sqlpact_r) "+
		"WHERE key = %s) SELECT %s FROM sqlpact_r",
		strings.Join(aliases, ", "), st.SQL, keyExpr(k, n+1), strings.Join(sel, ", "))
}

func replayRowsSQL(k *IdempotencyKey) string {
	defs := make([]string, len(k.Columns))
	aliases := make([]string, len(k.Columns))
	sel := make([]string, len(k.Columns))
	for i, c := range k.Columns {
		defs[i] = fmt.Sprintf("c%d %s", i+1, c.PgType)
		aliases[i] = fmt.Sprintf("c%d", i+1)
		sel[i] = fmt.Sprintf("r.c%d AS %s", i+1, quoteIdent(c.Name))
	}
	return fmt.Sprintf("SELECT %s FROM sqlpact_idempotency i, ROWS FROM (jsonb_to_recordset(i.result) AS (%s)) "+
		"WITH ORDINALITY AS r (%s, ord) WHERE i.key = %s ORDER BY r.ord",
		strings.Join(sel, ", "), strings.Join(defs, ", "), strings.Join(aliases, ", "), keyExpr(k, 1))
}

type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// runKeyed runs a keyed write: in a transaction of its own (own) or the caller's.
// fn's one statement goes through a DBTX that claims the key, then records the result
// or replays the stored one. The Rust crate stores and reads the same way.
func runKeyed(ctx context.Context, db DBTX, st *Statement, fn func(ctx context.Context, db DBTX) error, own bool) (bool, error) {
	q := db
	var tx pgx.Tx
	if own {
		b, ok := db.(beginner)
		if !ok {
			return false, fmt.Errorf("%s: a keyed write needs a connection that can begin a transaction", st.Name)
		}
		var err error
		if tx, err = b.Begin(ctx); err != nil {
			return false, err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		q = tx
	}
	k := &keyedDBTX{DBTX: q, st: st}
	if err := fn(ctx, k); err != nil {
		return false, err
	}
	if own {
		if err := tx.Commit(ctx); err != nil {
			return false, err
		}
	}
	return k.replayed, nil
}

type keyedDBTX struct {
	DBTX
	st       *Statement
	replayed bool
}

// claim records the key for st; false when it was recorded before (then the stored
// count, for an exec).
func (k *keyedDBTX) claim(ctx context.Context, args []any) (bool, int64, error) {
	key := k.st.Idempotency
	if key.Param >= len(args) {
		return false, 0, fmt.Errorf("%s: the idempotency key is parameter %d of %d", k.st.Name, key.Param+1, len(args))
	}
	tag, err := k.DBTX.Exec(ctx, fmt.Sprintf(
		"INSERT INTO sqlpact_idempotency (key, statement) VALUES (%s, $2) ON CONFLICT (key) DO NOTHING",
		keyExpr(key, 1)), args[key.Param], k.st.Name)
	if err != nil {
		return false, 0, err
	}
	if tag.RowsAffected() == 1 {
		return true, 0, nil
	}
	var owner string
	var count *int64
	err = k.DBTX.QueryRow(ctx, fmt.Sprintf(
		"SELECT statement, CASE WHEN jsonb_typeof(result) = 'number' THEN (result #>> '{}')::int8 END "+
			"FROM sqlpact_idempotency WHERE key = %s", keyExpr(key, 1)), args[key.Param]).Scan(&owner, &count)
	if err != nil {
		return false, 0, err
	}
	if owner != k.st.Name {
		return false, 0, &Error{Class: ClassConflict, Action: Fatal, Statement: k.st.Name,
			Msg: fmt.Sprintf("the idempotency key is already recorded for `%s`; use a new key per write", owner)}
	}
	k.replayed = true
	if count != nil {
		return false, *count, nil
	}
	return false, 0, nil
}

func (k *keyedDBTX) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	claimed, n, err := k.claim(ctx, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	if !claimed {
		return pgconn.NewCommandTag(fmt.Sprintf("INSERT 0 %d", n)), nil
	}
	tag, err := k.DBTX.Exec(ctx, sql, args...)
	if err != nil {
		return tag, err
	}
	_, err = k.DBTX.Exec(ctx, fmt.Sprintf(
		"UPDATE sqlpact_idempotency SET result = to_jsonb($2::int8) WHERE key = %s",
		keyExpr(k.st.Idempotency, 1)), args[k.st.Idempotency.Param], tag.RowsAffected())
	return tag, err
}

func (k *keyedDBTX) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	claimed, _, err := k.claim(ctx, args)
	if err != nil {
		return nil, err
	}
	key := k.st.Idempotency
	if !claimed {
		return k.DBTX.Query(ctx, replayRowsSQL(key), args[key.Param])
	}
	all := append(append([]any{}, args...), args[key.Param])
	return k.DBTX.Query(ctx, recordRowsSQL(k.st, key, len(args)), all...)
}

func (k *keyedDBTX) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := k.Query(ctx, sql, args...)
	return firstRow{rows, err}
}

type firstRow struct {
	rows pgx.Rows
	err  error
}

func (r firstRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
