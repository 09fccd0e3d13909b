package sqlpact

import "strings"

// One error taxonomy: every failure, classified from what happened (a SQLSTATE, an I/O
// error, a timeout), how far the statement got, the transaction and the query's
// policy, into one decision. The table is in docs/runtime.md; the Rust crate makes the
// same decisions (shared vectors in runtime/testdata/classify.json).

// FailureKind says what failed.
type FailureKind int

const (
	// FailSQLState: the server answered with an error (Failure.SQLState).
	FailSQLState FailureKind = iota
	// FailIO: the connection broke (reset, refused, closed).
	FailIO
	// FailTimeout: the runtime's deadline for the statement passed.
	FailTimeout
	// FailPoolTimeout: no connection could be had from the pool in time.
	FailPoolTimeout
)

// SendState says how far the statement got before it failed.
type SendState int

const (
	NotSent SendState = iota
	SentNoReply
	Replied
)

// Route is the route of the query in the contract.
type Route int

const (
	RoutePrimary Route = iota
	RouteReplica
)

// Failure is a failure and its circumstances.
type Failure struct {
	Kind          FailureKind
	SQLState      string
	Sent          SendState
	InTransaction bool
	Idempotent    bool
	Route         Route
}

// Action is what to do about a failure; its string is the stable name shared with Rust.
type Action string

const (
	// RetryAnywhere: retry, on any host of the route, on a new connection.
	RetryAnywhere Action = "retry_anywhere"
	// RerunTransaction: re-run the whole transaction (or the single statement).
	RerunTransaction Action = "rerun_transaction"
	// BackoffRetry: retry after the class's backoff.
	BackoffRetry Action = "backoff_retry"
	// ReroutePrimary: refresh host roles and retry on the (new) primary.
	ReroutePrimary Action = "reroute_primary"
	// Ambiguous: the statement may or may not have taken effect; do not retry.
	Ambiguous Action = "ambiguous"
	// Fatal: return the error.
	Fatal Action = "fatal"
)

// Decision is the error's class (a stable code callers branch on), the action, and
// the side effects on the pool and the breaker.
type Decision struct {
	Class  string
	Action Action
	// EvictGeneration: close every connection opened before this one.
	EvictGeneration bool
	// FeedsBreaker: count it against the host's circuit breaker.
	FeedsBreaker bool
}

// connectionLoss: safe to retry if nothing was sent, or if running it twice is
// harmless; otherwise the outcome is unknown. A transaction whose session is lost
// before its COMMIT applied nothing (the server rolls it back), so it is re-run; the
// COMMIT itself is classified outside the transaction.
func connectionLoss(f Failure) Action {
	if f.InTransaction {
		return RerunTransaction
	}
	if f.Sent == NotSent || f.Idempotent {
		return RetryAnywhere
	}
	return Ambiguous
}

// Classify classifies a failure. See docs/runtime.md for the table.
func Classify(f Failure) Decision {
	switch f.Kind {
	case FailPoolTimeout:
		return Decision{Class: "pool_timeout", Action: Fatal}
	case FailTimeout:
		a := Fatal
		if f.Sent != NotSent && !f.Idempotent {
			a = Ambiguous
		}
		return Decision{Class: "timeout", Action: a, FeedsBreaker: true}
	case FailIO:
		return Decision{Class: "connection", Action: connectionLoss(f), FeedsBreaker: f.Sent == NotSent}
	}
	code := f.SQLState
	switch code {
	case "40001":
		return Decision{Class: "serialization", Action: RerunTransaction}
	case "40P01":
		return Decision{Class: "deadlock", Action: RerunTransaction}
	case "55P03":
		if f.InTransaction {
			return Decision{Class: "lock_not_available", Action: RerunTransaction}
		}
		return Decision{Class: "lock_not_available", Action: BackoffRetry}
	case "57014":
		return Decision{Class: "canceled", Action: Fatal}
	case "57P01", "57P02", "57P03":
		// Refused while connecting: the host cannot take connections now.
		return Decision{Class: "server_shutdown", Action: connectionLoss(f), EvictGeneration: true,
			FeedsBreaker: f.Sent == NotSent}
	case "53300":
		return Decision{Class: "too_many_connections", Action: BackoffRetry, FeedsBreaker: true}
	case "25006":
		if f.Route == RoutePrimary {
			return Decision{Class: "read_only", Action: ReroutePrimary}
		}
		return Decision{Class: "read_only", Action: Fatal}
	}
	switch {
	case strings.HasPrefix(code, "08"):
		return Decision{Class: "connection", Action: connectionLoss(f), FeedsBreaker: f.Sent == NotSent}
	case strings.HasPrefix(code, "22"):
		return Decision{Class: "data", Action: Fatal}
	case strings.HasPrefix(code, "23"):
		return Decision{Class: "constraint", Action: Fatal}
	case strings.HasPrefix(code, "42"):
		return Decision{Class: "syntax_or_access", Action: Fatal}
	}
	return Decision{Class: "other", Action: Fatal}
}
