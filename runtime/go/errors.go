package sqlpact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Class is the class of a failure: what callers branch on, never the message. Its
// value is the stable code, the same in Rust.
type Class string

// The classes. The taxonomy's table is in docs/runtime.md.
const (
	ClassNotFound           Class = "not_found"
	ClassConflict           Class = "conflict"
	ClassSerialization      Class = "serialization"
	ClassDeadlock           Class = "deadlock"
	ClassLockNotAvailable   Class = "lock_not_available"
	ClassCanceled           Class = "canceled"
	ClassServerShutdown     Class = "server_shutdown"
	ClassTooManyConnections Class = "too_many_connections"
	ClassReadOnly           Class = "read_only"
	ClassConnection         Class = "connection"
	ClassTimeout            Class = "timeout"
	ClassPoolTimeout        Class = "pool_timeout"
	ClassBreakerOpen        Class = "breaker_open"
	ClassNoHost             Class = "no_host"
	ClassData               Class = "data"
	ClassConstraint         Class = "constraint"
	ClassSyntaxOrAccess     Class = "syntax_or_access"
	ClassOther              Class = "other"
)

// Error is what generated methods and the runtime fail with. errors.As finds it;
// Unwrap gives the driver's error (pgx.ErrNoRows for ClassNotFound).
type Error struct {
	Class Class
	// Action is what the runtime decided about the failure.
	Action Action
	// Statement is the query's name, when the failure belongs to one.
	Statement string
	// Attempts made (0 when the failure came before the first).
	Attempts int
	// BudgetExhausted: the host's retry budget was empty, so the runtime gave up early.
	BudgetExhausted bool
	Msg             string
	Err             error
}

// Ambiguous reports that the statement may or may not have taken effect: it was
// sent, the reply never came, and it is not safe to run twice.
func (e *Error) Ambiguous() bool { return e.Action == Ambiguous }

// SQLState is the server's error code, when it answered with one.
func (e *Error) SQLState() string {
	var pg *pgconn.PgError
	if errors.As(e.Err, &pg) {
		return pg.Code
	}
	return ""
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Statement != "" {
		b.WriteString(e.Statement + ": ")
	}
	b.WriteString(string(e.Class))
	switch {
	case e.Msg != "":
		b.WriteString(": " + e.Msg)
	case e.Class == ClassNotFound:
		b.WriteString(": no row found")
	}
	if e.Err != nil && !errors.Is(e.Err, pgx.ErrNoRows) {
		var pg *pgconn.PgError
		if errors.As(e.Err, &pg) {
			fmt.Fprintf(&b, ": %s (%s)", pg.Message, pg.Code)
		} else {
			b.WriteString(": " + e.Err.Error())
		}
	}
	if e.Ambiguous() {
		b.WriteString(" (outcome unknown: the statement may have been applied)")
	}
	if e.BudgetExhausted {
		b.WriteString(" (retry budget exhausted)")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf is the class of err: its *Error's, or the classification of a bare driver
// error; "" for nil.
func ClassOf(err error) Class {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Class(Classify(failureOf(err, SentNoReply, false, false, RoutePrimary)).Class)
}

// Conflict is the error of a query declared to affect one row that affected none.
func Conflict(statement string) *Error {
	return &Error{Class: ClassConflict, Action: Fatal, Statement: statement,
		Msg: "affected no row: the row changed or is gone (optimistic concurrency)"}
}

// CheckRows applies a statement's ExpectOneRow: affecting no row is a conflict.
func CheckRows(st *Statement, n int64) error {
	if st != nil && st.ExpectOneRow && n == 0 {
		return Conflict(st.Name)
	}
	return nil
}

// failureOf describes a driver error for the taxonomy. sent is how far the statement
// got as far as the caller knows; a server reply or pgconn's own knowledge refine it.
func failureOf(err error, sent SendState, inTx, idempotent bool, route Route) Failure {
	f := Failure{Sent: sent, InTransaction: inTx, Idempotent: idempotent, Route: route}
	var pg *pgconn.PgError
	switch {
	case errors.As(err, &pg):
		// A server's refusal while connecting (57P03, 53300) answers the connect,
		// not the statement: it was not sent.
		f.Kind, f.SQLState = FailSQLState, pg.Code
		if sent != NotSent {
			f.Sent = Replied
		}
	case errors.Is(err, context.DeadlineExceeded):
		f.Kind = FailTimeout
	case errors.Is(err, context.Canceled):
		f.Kind, f.SQLState, f.Sent = FailSQLState, "57014", Replied
	case isIO(err):
		f.Kind = FailIO
	default:
		f.Kind, f.SQLState, f.Sent = FailSQLState, "XX000", Replied
	}
	// pgx's word that nothing was sent is taken, except for a connection found closed:
	// pgx says so also when the connection broke while the statement awaited its reply
	// (the fault suite's reset after send), when the server may have run it.
	if f.Sent != Replied && pgconn.SafeToRetry(err) && !errors.Is(err, pgconn.ErrConnClosed) {
		f.Sent = NotSent
	}
	return f
}

func isIO(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed)
}

// wrap turns a driver error into an *Error for st (an *Error passes through).
func wrap(err error, st *Statement, sent SendState, inTx bool) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Class: ClassNotFound, Action: Fatal, Statement: st.Name, Err: err}
	}
	d := Classify(failureOf(err, sent, inTx, st.replaySafe(), st.Route))
	return &Error{Class: Class(d.Class), Action: d.Action, Statement: st.Name, Err: err}
}
