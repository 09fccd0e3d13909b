package sqlpact

// Fuzz targets for the runtime's parsers of untrusted text: connection strings (what
// the runtime shows of them) and the JSON it canonicalizes for the wire. `go test`
// runs their seeds; `go test -fuzz=FuzzName` explores (docs/security.md has figures).

import (
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
