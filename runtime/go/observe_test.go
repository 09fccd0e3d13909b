package sqlpact

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSlogObserverWritesEveryEventWithItsFieldsAndLevel(t *testing.T) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})
	o := SlogObserver{Logger: slog.New(h)}
	o.OnEvent(Event{Kind: EventRetry, Statement: "GetAccount", Host: "db1:5432", Class: ClassConnection,
		Attempt: 1, Delay: 40 * time.Millisecond})
	o.OnEvent(Event{Kind: EventFailed, Statement: "Transfer", Class: ClassConnection, Attempt: 1, Ambiguous: true})
	o.OnEvent(Event{Kind: EventBreaker, Host: "db1:5432", Breaker: BreakerHalfOpen})
	o.OnEvent(Event{Kind: EventRole, Host: "db2:5432", Role: RolePrimary})
	o.OnEvent(Event{Kind: EventConnectionClosed, Host: "db1:5432", Reason: "expired"})
	want := []string{
		`level=WARN msg="sqlpact retry" statement=GetAccount host=db1:5432 class=connection attempt=1 delay=40ms`,
		`level=WARN msg="sqlpact failed" statement=Transfer class=connection attempt=1 ambiguous=true`,
		`level=WARN msg="sqlpact breaker" host=db1:5432 state=half_open`,
		`level=INFO msg="sqlpact role" host=db2:5432 role=primary`,
		`level=DEBUG msg="sqlpact connection closed" host=db1:5432 reason=expired`,
	}
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
