package sqlpact

import (
	"context"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// writeGrace is how long a message being written when its context ends may still take:
// on a dead network, how late a caller giving up mid-write returns.
const writeGrace = 100 * time.Millisecond

// cutOnGiveUp ends a statement whose context ended (the caller gave up, or the
// statement's deadline passed). The wait for the server's reply is cut at once, so the
// caller goes; pgconn, closing the connection it finds cut mid-statement, sends the
// server a CancelRequest and then Terminate, so the server stops the statement.
//
// A message being written gets writeGrace more: a TLS connection whose write timed out
// can send nothing more, not even that Terminate, and pgconn would then wait 15 s for
// the server to close its side, holding the connection's place in the pool (and the
// server the session's locks) all that time. pgconn's CancelRequestContextWatcherHandler
// avoids that by cutting only 100 ms after the cancel, but it holds every caller giving
// up mid-statement until the server answered the cancel and 100 ms more, lest the
// cancel reach the connection's next statement: the runtime runs none on a cut
// connection, and a statement that ended before the cut gets no cancel at all.
type cutOnGiveUp struct{ conn net.Conn }

var _ ctxwatch.Handler = cutOnGiveUp{}

func (h cutOnGiveUp) HandleCancel(context.Context) {
	now := time.Now()
	_ = h.conn.SetReadDeadline(now)
	_ = h.conn.SetWriteDeadline(now.Add(writeGrace))
}

func (h cutOnGiveUp) HandleUnwatchAfterCancel() { _ = h.conn.SetDeadline(time.Time{}) }
