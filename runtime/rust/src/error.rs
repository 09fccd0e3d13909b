//! The one error type of generated clients and the runtime: every failure carries its
//! class (a stable code callers branch on), the decision the runtime took, and how
//! many attempts were made. The Go module's `*sqlpact.Error` carries the same.

use std::fmt;

use crate::classify::{classify, Action, Failure, FailureKind, Route, SendState};

/// The class of a failure: what callers branch on, never the message. `as_str` is the
/// stable code, the same in Go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Class {
    /// A `:one` query found no row.
    NotFound,
    /// A query declared to affect one row affected none (a stale version), or an
    /// idempotency key was reused by another statement.
    Conflict,
    Serialization,
    Deadlock,
    LockNotAvailable,
    /// The statement was canceled (57014).
    Canceled,
    ServerShutdown,
    TooManyConnections,
    ReadOnly,
    Connection,
    /// The statement's deadline passed.
    Timeout,
    /// No connection could be had from the pool in time.
    PoolTimeout,
    /// Every host of the route has its circuit breaker open.
    BreakerOpen,
    /// No host of the route is known (no primary after a role refresh).
    NoHost,
    Data,
    Constraint,
    SyntaxOrAccess,
    Other,
}

impl Class {
    /// Every class, in declaration order.
    pub const ALL: [Class; 18] = [
        Class::NotFound,
        Class::Conflict,
        Class::Serialization,
        Class::Deadlock,
        Class::LockNotAvailable,
        Class::Canceled,
        Class::ServerShutdown,
        Class::TooManyConnections,
        Class::ReadOnly,
        Class::Connection,
        Class::Timeout,
        Class::PoolTimeout,
        Class::BreakerOpen,
        Class::NoHost,
        Class::Data,
        Class::Constraint,
        Class::SyntaxOrAccess,
        Class::Other,
    ];

    /// The stable code: `not_found`, `serialization`, `pool_timeout`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Class::NotFound => "not_found",
            Class::Conflict => "conflict",
            Class::Serialization => "serialization",
            Class::Deadlock => "deadlock",
            Class::LockNotAvailable => "lock_not_available",
            Class::Canceled => "canceled",
            Class::ServerShutdown => "server_shutdown",
            Class::TooManyConnections => "too_many_connections",
            Class::ReadOnly => "read_only",
            Class::Connection => "connection",
            Class::Timeout => "timeout",
            Class::PoolTimeout => "pool_timeout",
            Class::BreakerOpen => "breaker_open",
            Class::NoHost => "no_host",
            Class::Data => "data",
            Class::Constraint => "constraint",
            Class::SyntaxOrAccess => "syntax_or_access",
            Class::Other => "other",
        }
    }

    /// Whether a retry of this class draws from the contention bucket of the budget.
    pub fn is_contention(self) -> bool {
        matches!(
            self,
            Class::Serialization | Class::Deadlock | Class::LockNotAvailable
        )
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a generated function or the runtime can fail with.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    class: Class,
    action: Action,
    statement: Option<&'static str>,
    attempts: u32,
    budget_exhausted: bool,
    message: Option<String>,
    source: Option<tokio_postgres::Error>,
}

impl Error {
    pub(crate) fn new(class: Class, action: Action) -> Self {
        Error {
            inner: Box::new(Inner {
                class,
                action,
                statement: None,
                attempts: 0,
                budget_exhausted: false,
                message: None,
                source: None,
            }),
        }
    }

    /// A `:one` query found no row.
    pub fn not_found(statement: &'static str) -> Self {
        Error::new(Class::NotFound, Action::Fatal).statement(statement)
    }

    /// A query declared to affect one row affected none.
    pub fn conflict(statement: &'static str) -> Self {
        Error::new(Class::Conflict, Action::Fatal)
            .statement(statement)
            .message("affected no row: the row changed or is gone (optimistic concurrency)")
    }

    /// A driver error classified for a statement outside a transaction, neither
    /// idempotent nor retried: what a plain client returns.
    pub fn from_driver(e: tokio_postgres::Error, sent: SendState, ctx: &Context) -> Self {
        let kind = driver_kind(&e);
        let decision = classify(&Failure {
            kind,
            sent: if e.as_db_error().is_some() {
                SendState::Replied
            } else {
                sent
            },
            in_transaction: ctx.in_transaction,
            idempotent: ctx.idempotent,
            route: ctx.route,
        });
        Error::new(decision.class, decision.action).driver(e)
    }

    pub(crate) fn statement(mut self, name: &'static str) -> Self {
        self.inner.statement = Some(name);
        self
    }

    pub(crate) fn message(mut self, m: impl Into<String>) -> Self {
        self.inner.message = Some(m.into());
        self
    }

    pub(crate) fn attempts(mut self, n: u32) -> Self {
        self.inner.attempts = n;
        self
    }

    /// The outcome is unknown: the COMMIT of a transaction lost its connection.
    pub(crate) fn ambiguous(mut self) -> Self {
        self.inner.action = Action::Ambiguous;
        self
    }

    pub(crate) fn exhausted(mut self) -> Self {
        self.inner.budget_exhausted = true;
        self
    }

    /// Attaches the driver's error (its SQLSTATE and message).
    pub(crate) fn driver(mut self, e: tokio_postgres::Error) -> Self {
        self.inner.source = Some(e);
        self
    }

    /// The class: branch on this.
    pub fn class(&self) -> Class {
        self.inner.class
    }

    /// The class's stable code, the same in Go: `serialization`, `timeout`, ...
    pub fn code(&self) -> &'static str {
        self.inner.class.as_str()
    }

    /// What the runtime decided about this failure.
    pub fn action(&self) -> Action {
        self.inner.action
    }

    /// The statement may or may not have taken effect: it was sent, the reply never
    /// came, and it is not safe to run twice.
    pub fn is_ambiguous(&self) -> bool {
        self.inner.action == Action::Ambiguous
    }

    /// The retry budget of the host was empty, so the runtime gave up early.
    pub fn is_budget_exhausted(&self) -> bool {
        self.inner.budget_exhausted
    }

    /// The query, when the failure belongs to one.
    pub fn statement_name(&self) -> Option<&'static str> {
        self.inner.statement
    }

    /// Attempts made (0 when the failure came before the first).
    pub fn attempt_count(&self) -> u32 {
        self.inner.attempts
    }

    /// The SQLSTATE, when the server answered with an error.
    pub fn sqlstate(&self) -> Option<&str> {
        self.db_error().map(|d| d.code().code())
    }

    /// The server's error, when it answered with one.
    pub fn db_error(&self) -> Option<&tokio_postgres::error::DbError> {
        self.inner.source.as_ref().and_then(|e| e.as_db_error())
    }

    /// The driver's error, when there is one.
    pub fn driver_error(&self) -> Option<&tokio_postgres::Error> {
        self.inner.source.as_ref()
    }
}

/// Circumstances of a statement used to classify its driver errors.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub in_transaction: bool,
    pub idempotent: bool,
    pub route: Route,
}

/// What kind of failure a driver error is.
pub(crate) fn driver_kind(e: &tokio_postgres::Error) -> FailureKind<'_> {
    if let Some(db) = e.as_db_error() {
        return FailureKind::SqlState(db.code().code());
    }
    if e.is_closed() || io_source(e) {
        return FailureKind::Io;
    }
    FailureKind::SqlState("XX000")
}

fn io_source(e: &tokio_postgres::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = cur {
        if s.is::<std::io::Error>() {
            return true;
        }
        cur = s.source();
    }
    false
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Error")
            .field("class", &i.class)
            .field("action", &i.action)
            .field("statement", &i.statement)
            .field("attempts", &i.attempts)
            .field("budget_exhausted", &i.budget_exhausted)
            .field("message", &i.message)
            .field("source", &i.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        if let Some(st) = i.statement {
            write!(f, "{st}: ")?;
        }
        write!(f, "{}", i.class)?;
        if let Some(m) = &i.message {
            write!(f, ": {m}")?;
        } else if i.class == Class::NotFound {
            f.write_str(": no row found")?;
        }
        if let Some(e) = &i.source {
            match e.as_db_error() {
                Some(db) => write!(f, ": {} ({})", db.message(), db.code().code())?,
                None => write!(f, ": {e}")?,
            }
        }
        if i.action == Action::Ambiguous {
            f.write_str(" (outcome unknown: the statement may have been applied)")?;
        }
        if i.budget_exhausted {
            f.write_str(" (retry budget exhausted)")?;
        }
        if i.attempts > 1 {
            write!(f, " after {} attempts", i.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<tokio_postgres::Error> for Error {
    /// A driver error from a plain client: nothing known about idempotency or
    /// transactions, so a lost reply is ambiguous.
    fn from(e: tokio_postgres::Error) -> Self {
        Error::from_driver(
            e,
            SendState::SentNoReply,
            &Context {
                in_transaction: false,
                idempotent: false,
                route: Route::Primary,
            },
        )
    }
}

/// An error and its causes on one line, each cause that the text so far does not
/// already hold after a `: ` (a driver's own message is often only "error connecting
/// to server"; the reason is its source).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cause = c.source();
    }
    s
}
