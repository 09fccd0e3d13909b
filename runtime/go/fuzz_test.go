package sqlpact

// Fuzz targets for what the runtime reads from outside: connection strings (how Open
// parses them and what the runtime shows of them), the failures it classifies, and the
// JSON it canonicalizes for the wire. `go test` runs their seeds;
// `go test -fuzz=FuzzName` explores (docs/security.md has figures).

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// FuzzRedactDSN: whatever the password and the settings around it, the password never
// survives RedactDSN, as a URL or as a keyword string.
func FuzzRedactDSN(f *testing.F) {
	f.Add("db.example", "app", "s3cret-pass", "sslmode=require", false)
	f.Add("127.0.0.1:5432", "app", "p@ss w'rd\\", "application_name=x", true)
	f.Add("h", "u", "password=", "", false)
	f.Fuzz(func(t *testing.T, host, user, password, extra string, asURL bool) {
		dsn := func(password string) string {
			if asURL {
				u := url.URL{Scheme: "postgresql", User: url.UserPassword(user, password), Host: host, Path: "/db"}
				if extra != "" {
					u.RawQuery = url.QueryEscape(extra)
				}
				return u.String()
			}
			quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(password)
			return "host=" + host + " user=" + user + " password='" + quoted + "' " + extra
		}
		conn := dsn(password)
		got := RedactDSN(conn)
		// Only a password the rest of the output does not spell can be looked for: the
		// same string redacted with another password shows what the rest is.
		rest := RedactDSN(dsn("Q"))
		if len(password) < 6 || strings.Contains(rest, password) || strings.Contains(host+user+extra, password) {
			return
		}
		for _, form := range []string{password, url.QueryEscape(password), url.PathEscape(password), (&url.URL{User: url.UserPassword("", password)}).String()[3:]} {
			if len(form) >= 6 && strings.Contains(got, form) {
				t.Fatalf("RedactDSN(%q) = %q shows the password %q", conn, got, form)
			}
		}
	})
}

// FuzzCanonicalJSON: canonical JSON is a fixed point, and no input panics.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1.5,1e20,"x\u0000"]}`, `null`, `-0`, `{"a":1,"a":2}`, `1.0000000000000002`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := CanonicalJSON(raw)
		if err != nil {
			return
		}
		again, err := CanonicalJSON([]byte(c))
		if err != nil || again != c {
			t.Fatalf("CanonicalJSON(%q) = %q, then %q (%v)", raw, c, again, err)
		}
	})
}

// FuzzOpen: any connection string with a planted password opens or fails without a
// panic, and neither the error nor the DB's printed forms show the password.
func FuzzOpen(f *testing.F) {
	for _, s := range []string{
		"host=127.0.0.1 port=1 user=app password='%s' dbname=app",
		"postgres://app:%s@127.0.0.1:1/app?sslmode=disable",
		"host=h password=%s sslmode=verify-full sslrootcert=/nonexistent",
		"postgresql://u:%s@[::1/x",
		"password=%s x",
		"host=a,b port=1,2 password=%s target_session_attrs=read-write",
	} {
		f.Add(s, "Planted-Pw-7781")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // nothing dials: the parse and what is shown of it are under test
	f.Fuzz(func(t *testing.T, format, password string) {
		// The planted text must sit where a password goes: a whole connection string
		// that is only the "password" is echoed by a parse error, as any malformed
		// string is, and holds no password to protect.
		inPlace := strings.Contains(format, "password=%s") || strings.Contains(format, "password='%s'") ||
			strings.Contains(format, ":%s@")
		if len(password) < 8 || !inPlace || strings.Count(format, "%") != 1 {
			return
		}
		conn := fmt.Sprintf(format, password)
		if strings.Contains(strings.Replace(conn, password, "", 1), password) {
			return // the password is spelled elsewhere too, as a host or a user
		}
		db, err := Open(ctx, &Policies{}, Options{Hosts: []string{conn}, Seed: 1})
		if err != nil {
			for _, shown := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				if strings.Contains(shown, password) && !strings.Contains(format, password[:4]) {
					t.Fatalf("Open(%q) fails showing the password: %s", conn, shown)
				}
			}
			return
		}
		defer db.Close()
		for _, shown := range []string{db.String(), fmt.Sprintf("%v", db), fmt.Sprintf("%#v", db)} {
			if strings.Contains(shown, password) {
				t.Fatalf("Open(%q) gives a DB that prints the password: %s", conn, shown)
			}
		}
	})
}

// FuzzClassify: every failure gets a known action, the same one every time, and a
// statement that may have run but is not idempotent is never retried on its own.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"40001", "40P01", "55P03", "57P01", "08006", "53300", "25006", "23505", "", "0800", "XX000"} {
		f.Add(uint8(FailSQLState), s, uint8(SentNoReply), false, false, uint8(RoutePrimary))
	}
	f.Add(uint8(FailIO), "", uint8(SentNoReply), false, false, uint8(RouteReplica))
	f.Add(uint8(FailTimeout), "", uint8(NotSent), true, true, uint8(RoutePrimary))
	known := map[Action]bool{RetryAnywhere: true, RerunTransaction: true, BackoffRetry: true, ReroutePrimary: true, Ambiguous: true, Fatal: true}
	f.Fuzz(func(t *testing.T, kind uint8, state string, sent uint8, inTx, idempotent bool, route uint8) {
		fl := Failure{Kind: FailureKind(kind % 4), SQLState: state, Sent: SendState(sent % 3),
			InTransaction: inTx, Idempotent: idempotent, Route: Route(route % 2)}
		d := Classify(fl)
		if !known[d.Action] || d.Class == "" || Classify(fl) != d {
			t.Fatalf("Classify(%+v) = %+v", fl, d)
		}
		// Lost in flight: the server may have applied it, so only a transaction re-run
		// (which starts over on a rolled-back transaction) may run it again.
		lost := fl.Kind == FailIO || fl.Kind == FailTimeout || strings.HasPrefix(state, "08") || strings.HasPrefix(state, "57P0")
		if lost && fl.Kind != FailPoolTimeout && fl.Sent != NotSent && !idempotent && !inTx &&
			d.Action != Ambiguous && d.Action != Fatal {
			t.Fatalf("Classify(%+v) = %+v: a non-idempotent statement that may have run is retried", fl, d)
		}
	})
}
