//! One error taxonomy: every failure, classified from what happened (a SQLSTATE, an
//! I/O error, a timeout), how far the statement got, the transaction and the query's
//! policy, into one decision. The table is in `docs/runtime.md`; the Go module makes
//! the same decisions (shared vectors in `runtime/testdata/classify.json`).

use crate::error::Class;

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind<'a> {
    /// The server answered with an error.
    SqlState(&'a str),
    /// The connection broke (reset, refused, closed).
    Io,
    /// The runtime's deadline for the statement passed.
    Timeout,
    /// No connection could be had from the pool in time.
    PoolTimeout,
}

/// How far the statement got before it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendState {
    NotSent,
    SentNoReply,
    Replied,
}

/// The route of the query in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Primary,
    Replica,
}

/// A failure and its circumstances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure<'a> {
    pub kind: FailureKind<'a>,
    pub sent: SendState,
    pub in_transaction: bool,
    pub idempotent: bool,
    pub route: Route,
}

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Retry, on any host of the route, on a new connection.
    RetryAnywhere,
    /// Re-run the whole transaction (or the single statement, its own transaction).
    RerunTransaction,
    /// Retry after the class's backoff.
    BackoffRetry,
    /// Refresh host roles and retry on the (new) primary.
    ReroutePrimary,
    /// The statement may or may not have taken effect; do not retry.
    Ambiguous,
    /// Return the error.
    Fatal,
}

impl Action {
    /// The stable name, the same in Go: `retry_anywhere`, `rerun_transaction`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Action::RetryAnywhere => "retry_anywhere",
            Action::RerunTransaction => "rerun_transaction",
            Action::BackoffRetry => "backoff_retry",
            Action::ReroutePrimary => "reroute_primary",
            Action::Ambiguous => "ambiguous",
            Action::Fatal => "fatal",
        }
    }
}

/// The decision: the error's class (a stable code callers branch on), the action,
/// and the side effects on the pool and the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub class: Class,
    pub action: Action,
    /// Close every connection opened before this one (the server restarted).
    pub evict_generation: bool,
    /// Count it against the host's circuit breaker.
    pub feeds_breaker: bool,
}

fn decide(class: Class, action: Action) -> Decision {
    Decision {
        class,
        action,
        evict_generation: false,
        feeds_breaker: false,
    }
}

/// A lost connection: safe to retry if nothing was sent, or if running it twice is
/// harmless; otherwise the outcome is unknown.
fn connection_loss(f: &Failure<'_>) -> Action {
    // A transaction whose session is lost before its COMMIT applied nothing: the server
    // rolls it back. (The COMMIT itself is classified outside the transaction.)
    if f.in_transaction {
        Action::RerunTransaction
    } else if f.sent == SendState::NotSent || f.idempotent {
        Action::RetryAnywhere
    } else {
        Action::Ambiguous
    }
}

/// Classifies a failure. See `docs/runtime.md` for the table.
pub fn classify(f: &Failure<'_>) -> Decision {
    let code = match f.kind {
        FailureKind::PoolTimeout => return decide(Class::PoolTimeout, Action::Fatal),
        FailureKind::Timeout => {
            let ambiguous = f.sent != SendState::NotSent && !f.idempotent;
            return Decision {
                feeds_breaker: true,
                ..decide(
                    Class::Timeout,
                    if ambiguous {
                        Action::Ambiguous
                    } else {
                        Action::Fatal
                    },
                )
            };
        }
        FailureKind::Io => {
            return Decision {
                feeds_breaker: f.sent == SendState::NotSent,
                ..decide(Class::Connection, connection_loss(f))
            }
        }
        FailureKind::SqlState(code) => code,
    };
    match code {
        "40001" => decide(Class::Serialization, Action::RerunTransaction),
        "40P01" => decide(Class::Deadlock, Action::RerunTransaction),
        "55P03" => decide(
            Class::LockNotAvailable,
            if f.in_transaction {
                Action::RerunTransaction
            } else {
                Action::BackoffRetry
            },
        ),
        "57014" => decide(Class::Canceled, Action::Fatal),
        "57P01" | "57P02" | "57P03" => Decision {
            evict_generation: true,
            // Refused while connecting: the host cannot take connections now.
            feeds_breaker: f.sent == SendState::NotSent,
            ..decide(Class::ServerShutdown, connection_loss(f))
        },
        "53300" => Decision {
            feeds_breaker: true,
            ..decide(Class::TooManyConnections, Action::BackoffRetry)
        },
        "25006" => decide(
            Class::ReadOnly,
            match f.route {
                Route::Primary => Action::ReroutePrimary,
                Route::Replica => Action::Fatal,
            },
        ),
        c if c.starts_with("08") => Decision {
            feeds_breaker: f.sent == SendState::NotSent,
            ..decide(Class::Connection, connection_loss(f))
        },
        c if c.starts_with("22") => decide(Class::Data, Action::Fatal),
        c if c.starts_with("23") => decide(Class::Constraint, Action::Fatal),
        c if c.starts_with("42") => decide(Class::SyntaxOrAccess, Action::Fatal),
        _ => decide(Class::Other, Action::Fatal),
    }
}
