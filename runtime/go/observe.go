package sqlpact

import (
	"context"
	"log/slog"
	"time"
)

// EventKind says what happened.
type EventKind int

const (
	// EventAttempt: an attempt of a statement starts on a host (Attempt from 1).
	EventAttempt EventKind = iota
	// EventRetry: an attempt failed and the statement runs again after Delay.
	EventRetry
	// EventFailed: a call failed for good.
	EventFailed
	// EventReplayed: a keyed write returned its stored result.
	EventReplayed
	// EventBreaker: a host's circuit breaker changed state.
	EventBreaker
	// EventRole: a host's role changed.
	EventRole
	// EventConnectionOpened: a connection was opened.
	EventConnectionOpened
	// EventConnectionClosed: the runtime closed connections (Reason).
	EventConnectionClosed
	// EventAcquireTimeout: a caller waited longer than the acquire timeout.
	EventAcquireTimeout
)

var eventNames = [...]string{"attempt", "retry", "failed", "replayed", "breaker", "role",
	"connection opened", "connection closed", "acquire timeout"}

func (k EventKind) String() string { return eventNames[k] }

// Event is something the runtime did; fields beyond Kind are set when they apply.
type Event struct {
	Kind            EventKind
	Statement       string
	Host            string
	Class           Class
	Attempt         int
	Delay           time.Duration
	Ambiguous       bool
	BudgetExhausted bool
	Breaker         BreakerState
	Role            Role
	Reason          string
}

// Observer receives every runtime event. Called inline: keep it quick, never block.
type Observer interface {
	OnEvent(Event)
}

// SlogObserver writes every event to a log/slog logger: retries, failures and breaker
// changes at Warn, the rest at Debug.
type SlogObserver struct{ Logger *slog.Logger }

// OnEvent logs e.
func (o SlogObserver) OnEvent(e Event) {
	level := slog.LevelDebug
	switch e.Kind {
	case EventRetry, EventFailed, EventBreaker, EventAcquireTimeout:
		level = slog.LevelWarn
	case EventRole:
		level = slog.LevelInfo
	}
	attrs := []slog.Attr{}
	add := func(k string, v slog.Value, set bool) {
		if set {
			attrs = append(attrs, slog.Attr{Key: k, Value: v})
		}
	}
	add("statement", slog.StringValue(e.Statement), e.Statement != "")
	add("host", slog.StringValue(e.Host), e.Host != "")
	add("class", slog.StringValue(string(e.Class)), e.Class != "")
	add("attempt", slog.IntValue(e.Attempt), e.Attempt > 0)
	add("delay", slog.DurationValue(e.Delay), e.Kind == EventRetry)
	add("ambiguous", slog.BoolValue(e.Ambiguous), e.Ambiguous)
	add("budget_exhausted", slog.BoolValue(e.BudgetExhausted), e.BudgetExhausted)
	add("state", slog.StringValue(e.Breaker.String()), e.Kind == EventBreaker)
	add("role", slog.StringValue(e.Role.String()), e.Kind == EventRole)
	add("reason", slog.StringValue(e.Reason), e.Reason != "")
	o.Logger.LogAttrs(context.Background(), level, "sqlpact "+e.Kind.String(), attrs...)
}
