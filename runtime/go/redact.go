package sqlpact

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// What the runtime shows of its configuration: connection strings with every password
// masked, whichever way they are printed (%v, %+v, %#v, slog).

const masked = "xxxxx"

// dsnPassword is a password or sslpassword setting of a keyword/value string: quoted
// (with backslash escapes, closed or not) or up to the next space.
var dsnPassword = regexp.MustCompile(`((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

// misquotedPassword is a keyword/value string whose unquoted password is followed by a
// word that is no setting: most likely the rest of a password with a space in it,
// which an error must not echo.
var misquotedPassword = regexp.MustCompile(`(?:^|\s)(?:ssl)?password\s*=\s*(?:\\.|[^'\s\\])(?:\\.|[^\s\\])*\s+[^\s=]+(?:\s+[^=\s]|\s*$)`)

// errMisquotedPassword says so without showing any of it.
const errMisquotedPassword = "the `password` value in the connection string holds a space: quote it, as in `password='...'`"

// RedactDSN returns the connection string conn with its password masked. A URL that
// does not parse, or a password with an unquoted space, is not shown at all: where
// the password ends is unknown.
func RedactDSN(conn string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			return "(a connection URL that does not parse)"
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), masked)
		}
		q := u.Query()
		for _, k := range []string{"password", "sslpassword"} {
			if q.Has(k) {
				q.Set(k, masked)
				u.RawQuery = q.Encode()
			}
		}
		return u.String()
	}
	if misquotedPassword.MatchString(conn) {
		return "(a connection string whose password holds an unquoted space)"
	}
	return dsnPassword.ReplaceAllString(conn, "${1}"+masked)
}

// parseReason is why pgx could not parse a connection string, without the string:
// pgx shows it with the password masked, but misses a password after `= ` whose quote
// is not closed (found by FuzzOpen), so none of it is shown.
func parseReason(err error) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return "it does not parse"
	}
	// The message is "cannot parse `<string>`: <what> (<cause>)"; what follows the
	// string's last "`: " is pgx's own wording.
	full, cause := pe.Error(), ""
	if inner := pe.Unwrap(); inner != nil {
		cause = " (" + inner.Error() + ")"
		full = strings.TrimSuffix(full, cause)
	}
	i := strings.LastIndex(full, "`: ")
	if i < 0 || (pe.ConnString != "" && strings.Contains(cause, pe.ConnString)) {
		return "it does not parse"
	}
	return full[i+3:] + cause
}

// String shows the options with every password masked.
func (o Options) String() string {
	hosts := make([]string, len(o.Hosts))
	for i, h := range o.Hosts {
		hosts[i] = fmt.Sprintf("%q", RedactDSN(h))
	}
	return fmt.Sprintf("sqlpact.Options{Hosts: [%s], Seed: %d, Observer: %t, Budget: %+v, AfterConnect: %t}",
		strings.Join(hosts, ", "), o.Seed, o.Observer != nil, o.Budget, o.AfterConnect != nil)
}

// GoString is String: %#v masks passwords too.
func (o Options) GoString() string { return o.String() }

// LogValue is String: a logged Options masks passwords too.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

// String shows the contract and each host's name, role and breaker state.
func (d *DB) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sqlpact.DB{%s %s:", d.policies.Contract, d.policies.Version)
	for _, h := range d.hosts {
		fmt.Fprintf(&b, " %s (%s, breaker %s)", h.name, h.getRole(), h.breakerState())
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String.
func (d *DB) GoString() string { return d.String() }
