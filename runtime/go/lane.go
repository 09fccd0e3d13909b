package sqlpact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Reads pipelined on shared connections: Go's form of what tokio-postgres gives the
// Rust runtime. pgx runs one statement at a time on a connection, so the queries of
// concurrent callers cannot share one as they do in Rust. Instead, while another read
// of the host is running, a single-row read that may be sent again (read-only,
// idempotent, no key, command "one") goes to the host's lane: a few drivers (at most
// half the pool, so writes and transactions always find room) each take a pooled
// connection, send up to laneBatch waiting reads in one write (pgx's pipeline mode, a
// Sync after each, so one read's error ends that read alone), read the replies in
// order and scan each row into its caller's destinations, as pgx's QueryRow would.
// The caller's goroutine waits for its reply; nothing else changes: the attempt,
// its classification, retries and breaker are Run's.
//
// A caller that gives up before its reply takes nothing with it: its reply is read
// and dropped. Once no caller of a batch is waiting while replies are still due, the
// connection is cut (as cutOnGiveUp cuts one) and closed: pgconn then sends the
// server a CancelRequest, so the read given up on stops there, and no other caller's
// read can be hit by it. A caller whose row is being scanned when it gives up cuts
// the connection too (a reply stalled mid-row would hold it); the batch's other
// callers then fail as on any broken connection, and their reads are retried.

// laneBatch is how many reads one write sends: a slow read holds up at most the
// replies of three others, as on a Rust shared connection.
const laneBatch = 4

// A request's states. A caller may leave only a queued or taken request; a driver
// answers only a taken one, reading the caller's arguments (encoding) or writing its
// destinations (scanning) meanwhile. A caller giving up then waits for the encoding
// (a moment's work in memory), or cuts the connection of a scan, whose reply may
// stall.
const (
	reqQueued int32 = iota
	reqTaken
	reqEncoding
	reqScanning
	reqDone
	reqLeft
)

// lane is a host's pipelined reads.
type lane struct {
	h *host
	// drivers at most: half the pool.
	max int
	// reads counts the host's shareable reads running, on the lane or not: the lane is
	// for reads that would wait behind another.
	reads atomic.Int32
	// queued counts the requests in the lane, not yet answered or left.
	queued atomic.Int32
	mu     sync.Mutex
	queue  []*laneReq
	// drivers running; one exits when it finds the queue empty.
	drivers int
	free    sync.Pool
}

func newLane(h *host, maxSize uint32) *lane {
	if maxSize < 2 {
		return nil
	}
	l := &lane{h: h, max: int(maxSize / 2)}
	l.free.New = func() any {
		r := &laneReq{lane: l, done: make(chan struct{}, 1)}
		r.entry.f = r.leave
		return r
	}
	return l
}

// takeRace, set only by tests, runs as each request is taken into a batch: where its
// caller may give up while the rest is taken.
var takeRace func(*laneReq)

// laneAlways, set only by tests, sends shareable reads to the lane even when no other
// read runs.
var laneAlways atomic.Bool

// shareable reports whether st may ride the lane.
func (st *Statement) shareable() bool {
	return st.ReadOnly && st.Idempotent && st.Idempotency == nil && st.Command == "one"
}

// run runs fn with a request of the lane as its DBTX, when another read of the host is
// running and the lane has room (ok); otherwise the caller takes a connection of its
// own. sent says whether the read reached a connection.
func (l *lane) run(given context.Context, s *deadlineSlot, permit bool, fn func(ctx context.Context, db DBTX) error) (sent SendState, err error, ok bool) {
	if l.reads.Load() < 2 && !laneAlways.Load() {
		return NotSent, nil, false
	}
	if l.queued.Add(1) > int32(l.max*laneBatch) {
		l.queued.Add(-1)
		return NotSent, nil, false
	}
	defer l.queued.Add(-1)
	r := l.free.Get().(*laneReq)
	r.given, r.slot, r.permit = given, s, permit
	err = fn(given, r)
	sent = NotSent
	if r.used == 2 {
		if r.state.Load() == reqLeft {
			if r.leftFrom == reqTaken {
				sent = SentNoReply
			}
		} else if r.sent {
			sent = SentNoReply
		}
	}
	if r.reuse {
		*r = laneReq{lane: l, done: r.done, entry: slotEntry{f: r.entry.f}}
		l.free.Put(r)
	}
	return sent, err, true
}

// enqueue hands r to the lane's drivers, starting one if there is room.
func (l *lane) enqueue(r *laneReq) {
	r.at = l.h.db.now()
	l.mu.Lock()
	l.queue = append(l.queue, r)
	start := l.drivers < l.max
	if start {
		l.drivers++
	}
	l.mu.Unlock()
	if start {
		go l.drive()
	}
}

// requeue puts back, first in line, requests a driver took that did not run.
func (l *lane) requeue(rs []*laneReq) {
	if len(rs) == 0 {
		return
	}
	l.mu.Lock()
	l.queue = append(rs, l.queue...)
	l.mu.Unlock()
}

// drive sends the queued reads, a batch per pooled connection at a time, until none is
// left.
func (l *lane) drive() {
	var eqb pgx.ExtendedQueryBuilder
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.drivers--
			l.mu.Unlock()
			return
		}
		permit := false
		for _, r := range l.queue[:min(len(l.queue), laneBatch)] {
			permit = permit || r.permit
		}
		l.mu.Unlock()
		// The batch is taken once the connection is there: reads queued meanwhile go
		// with it. When the wait runs out, it fails only the reads that waited as long;
		// one queued during the wait waits its own acquire timeout, on the next.
		began := l.h.db.now()
		c, err := l.h.db.acquire(context.Background(), l.h, permit)
		rd := &laneRound{}
		before := time.Duration(-1)
		if errors.Is(err, errPoolTimeout) {
			before = began
		}
		batch := l.take(rd, before)
		if err != nil {
			for _, r := range batch {
				rd.answer(r, err)
			}
			continue
		}
		l.round(c, rd, batch, &eqb)
	}
}

// take moves up to laneBatch waiting requests from the queue into rd; with before at
// or above zero, only those queued by then.
func (l *lane) take(rd *laneRound, before time.Duration) []*laneReq {
	l.mu.Lock()
	defer l.mu.Unlock()
	batch := rd.batch[:0]
	n := 0
	// Held while taking, so that the batch is not cut for emptiness before it is all
	// taken.
	rd.waiting.Add(1)
	defer rd.release()
	for n < len(l.queue) && len(batch) < laneBatch {
		r := l.queue[n]
		if before >= 0 && r.at > before {
			break
		}
		l.queue[n] = nil
		n++
		// Counted before r can leave the round, so that its leaving finds it counted.
		rd.waiting.Add(1)
		r.round, r.idx = rd, len(batch)
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			rd.owed[len(batch)] = true
			batch = append(batch, r)
			if takeRace != nil {
				takeRace(r)
			}
		} else {
			rd.waiting.Add(-1)
		}
	}
	l.queue = append(l.queue[:0], l.queue[n:]...)
	return batch
}

// laneStmtsKey keys, in a connection's CustomData, the statements the lane prepared on
// it.
const laneStmtsKey = "sqlpact.lane"

// laneStmt is a statement prepared on one connection, with the result formats its
// replies come in.
type laneStmt struct {
	sd      *pgconn.StatementDescription
	formats []int16
}

// prepared returns sql's statement on conn, preparing it on first use.
func prepared(conn *pgx.Conn, sql string) (*laneStmt, error) {
	stmts, _ := conn.PgConn().CustomData()[laneStmtsKey].(map[string]*laneStmt)
	if st := stmts[sql]; st != nil {
		return st, nil
	}
	if stmts == nil {
		stmts = map[string]*laneStmt{}
		conn.PgConn().CustomData()[laneStmtsKey] = stmts
	}
	sd, err := conn.Prepare(context.Background(), sql, sql)
	if err != nil {
		return nil, err
	}
	st := &laneStmt{sd: sd, formats: make([]int16, len(sd.Fields))}
	for i, f := range sd.Fields {
		st.formats[i] = conn.TypeMap().FormatCodeForOID(f.DataTypeOID)
	}
	stmts[sql] = st
	return st, nil
}

// forget drops sql's statement on conn, on the server too: a schema change made it
// stale. false: the server did not confirm, so the connection is not to be reused.
func forget(conn *pgx.Conn, sql string, timeout time.Duration) bool {
	if stmts, _ := conn.PgConn().CustomData()[laneStmtsKey].(map[string]*laneStmt); stmts != nil {
		delete(stmts, sql)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return conn.Deallocate(ctx, sql) == nil
}

// stale reports a statement the server no longer runs as prepared: prepare it again
// and send it once more.
func stale(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "0A000" || pg.Code == "26000")
}

// errLaneBroken answers the reads of a batch whose connection failed before their
// replies.
var errLaneBroken = fmt.Errorf("the connection broke before the reply: %w", io.ErrUnexpectedEOF)

// round sends batch on c in one write and answers each request from its reply, then
// gives c back, or closes it when it broke or was cut.
func (l *lane) round(c *pgxpool.Conn, rd *laneRound, batch []*laneReq, eqb *pgx.ExtendedQueryBuilder) {
	conn := c.Conn()
	pc := conn.PgConn()
	if !rd.attach(pc) {
		// Everyone left before the connection came: it is untouched.
		c.Release()
		return
	}
	var broken error
	var again []*laneReq
	var forgotten []string
	live := rd.live[:0]
	for _, r := range batch {
		if r.state.Load() != reqTaken {
			continue
		}
		// As far as the caller knows, on a connection the read is sent.
		r.sent = true
		st, err := prepared(conn, r.sql)
		if err != nil {
			if pc.IsClosed() {
				broken = err
				break
			}
			rd.answer(r, err)
			continue
		}
		r.stmt = st
		live = append(live, r)
	}
	if broken == nil && len(live) > 0 && !rd.isCut() {
		broken, again, forgotten = l.pipeline(pc, conn.TypeMap(), rd, live, eqb)
	}
	// Reads that did not run go again, on the next batch.
	var back []*laneReq
	for _, r := range again {
		rd.owed[r.idx] = false
		if r.state.CompareAndSwap(reqTaken, reqQueued) {
			back = append(back, r)
		}
	}
	cut := rd.end()
	closed := broken != nil || cut || pc.IsClosed()
	if closed {
		why := errLaneBroken
		if broken != nil {
			why = fmt.Errorf("%w: %w", errLaneBroken, broken)
		}
		// Only the requests it still owes: one answered may be in use again.
		for i, r := range batch {
			if rd.owed[i] {
				rd.answer(r, why)
			}
		}
	} else {
		for _, sql := range forgotten {
			if !forget(conn, sql, l.h.db.policies.Pool.AcquireTimeout) {
				closed = true
			}
		}
	}
	if closed {
		_ = conn.Close(context.Background())
	}
	c.Release()
	// The driver takes them next.
	l.requeue(back)
}

// pipeline sends live in one write, as one implicit transaction (one Sync), and
// answers each from its reply. An error ends the batch on the server: the reads after
// it did not run and come back in again, with a read whose statement was stale (its
// SQL in forgotten), sent once more. One Sync is what lets a cut stop the whole batch:
// the cancel ends the read running, and the server then skips the rest. broken is the
// connection's failure.
func (l *lane) pipeline(pc *pgconn.PgConn, tm *pgtype.Map, rd *laneRound, live []*laneReq,
	eqb *pgx.ExtendedQueryBuilder) (broken error, again []*laneReq, forgotten []string) {
	p := pc.StartPipeline(context.Background())
	sent := rd.sent[:0]
	for _, r := range live {
		if !r.state.CompareAndSwap(reqTaken, reqEncoding) {
			continue // left
		}
		err := eqb.Build(tm, r.stmt.sd, r.args)
		r.state.Store(reqTaken)
		if err != nil {
			rd.answer(r, err)
			continue
		}
		p.SendQueryStatement(r.stmt.sd, eqb.ParamValues, eqb.ParamFormats, r.stmt.formats)
		sent = append(sent, r)
	}
	if len(sent) == 0 {
		_ = p.Close()
		return nil, nil, nil
	}
	l.h.db.counters.pipelined.Add(int64(len(sent)))
	if err := p.Sync(); err != nil {
		return err, nil, nil
	}
	synced := false
	for i, r := range sent {
		if rd.waiting.Load() == 0 {
			// Nobody waits for the replies still due: the cut stops them.
			rd.cut()
		}
		res, err := p.GetResults()
		switch v := res.(type) {
		case *pgconn.ResultReader:
			err = rd.scan(r, pgx.RowsFromResultReader(tm, v))
		case *pgconn.PipelineSync:
			// An earlier read's error ended the batch: these did not run.
			again, synced = append(again, sent[i:]...), true
		default:
			switch {
			case err == nil:
				err = errors.New("no reply for the query")
				rd.answer(r, err)
			case stale(err) && !r.resent && !pc.IsClosed():
				r.resent = true
				forgotten, again = append(forgotten, r.sql), append(again, r)
			default:
				rd.answer(r, err)
			}
		}
		if pc.IsClosed() {
			if err == nil {
				err = errLaneBroken
			}
			return err, again, forgotten
		}
		if synced {
			break
		}
	}
	if !synced {
		if _, err := p.GetResults(); err != nil {
			return err, again, forgotten
		}
	}
	if err := p.Close(); err != nil && pc.IsClosed() {
		return err, again, forgotten
	}
	return nil, again, forgotten
}

// laneRound is one batch on one connection.
type laneRound struct {
	// waiting counts the batch's requests neither answered nor left.
	waiting           atomic.Int32
	mu                sync.Mutex
	pc                *pgconn.PgConn
	ended, cutDone    bool
	batch, live, sent [laneBatch]*laneReq
	// The request whose row the driver is scanning, under mu.
	scanning *laneReq
	// owed: the driver has yet to answer batch[i] (it is neither answered nor sent
	// again). Only the driver reads or writes it.
	owed [laneBatch]bool
}

// attach gives rd its connection: false when everyone left before.
func (rd *laneRound) attach(pc *pgconn.PgConn) bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.pc = pc
	return !rd.cutDone
}

// cut cuts rd's connection, unless its batch is over: the replies still due are not
// waited for, and the connection is closed.
func (rd *laneRound) cut() {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.ended || rd.cutDone {
		return
	}
	rd.cutDone = true
	if rd.pc != nil {
		cutOnGiveUp{rd.pc.Conn()}.HandleCancel(context.Background())
	}
}

// isCut reports whether rd was cut: nobody waits, so nothing is to be sent.
func (rd *laneRound) isCut() bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return rd.cutDone
}

// cutScan cuts rd's connection if r's row is still being scanned: its caller gave
// up, and the reply may have stalled mid-row.
func (rd *laneRound) cutScan(r *laneReq) {
	rd.mu.Lock()
	scanning := rd.scanning == r
	rd.mu.Unlock()
	if scanning {
		rd.cut()
	}
}

// end closes rd to cuts and reports whether one came.
func (rd *laneRound) end() bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.ended = true
	return rd.cutDone
}

// release lets go of one count of the batch: the last one cuts it, if replies are due.
func (rd *laneRound) release() {
	if rd.waiting.Add(-1) == 0 {
		rd.cut()
	}
}

// answer gives r err, unless r left. The driver touches r no more: answered, it may
// be reused at once.
func (rd *laneRound) answer(r *laneReq, err error) {
	rd.owed[r.idx] = false
	if r.state.CompareAndSwap(reqTaken, reqScanning) {
		rd.deliver(r, err)
	}
}

// scan scans the reply's row into r's destinations and answers r, as pgx's QueryRow
// does; a request left is not scanned. It returns the reply's error.
func (rd *laneRound) scan(r *laneReq, rows pgx.Rows) error {
	rd.owed[r.idx] = false
	// Marked before the claim: a caller that sees its request scanned finds it so.
	rd.setScanning(r)
	if !r.state.CompareAndSwap(reqTaken, reqScanning) {
		rd.setScanning(nil)
		rows.Close()
		return rows.Err()
	}
	err := scanRow(rows, r.dest)
	rd.setScanning(nil)
	rd.deliver(r, err)
	return err
}

func (rd *laneRound) setScanning(r *laneReq) {
	rd.mu.Lock()
	rd.scanning = r
	rd.mu.Unlock()
}

// deliver answers r, which the driver claimed: the driver touches it no more.
func (rd *laneRound) deliver(r *laneReq, err error) {
	r.err = err
	r.state.Store(reqDone)
	r.done <- struct{}{}
	rd.waiting.Add(-1)
}

// scanRow is pgx's QueryRow(...).Scan(dest...) on rows.
func scanRow(rows pgx.Rows, dest []any) error {
	for _, d := range dest {
		if _, ok := d.(*pgtype.DriverBytes); ok {
			rows.Close()
			return errors.New("cannot scan into *pgtype.DriverBytes from QueryRow")
		}
	}
	if !rows.Next() {
		if rows.Err() == nil {
			return pgx.ErrNoRows
		}
		return rows.Err()
	}
	_ = rows.Scan(dest...)
	rows.Close()
	return rows.Err()
}

// laneReq is one read on the lane: the DBTX its statement's fn gets, and the pgx.Row
// its QueryRow returns.
type laneReq struct {
	lane *lane
	// The context Run gave fn, and the call's shared deadline (nil under a context that
	// can end).
	given  context.Context
	slot   *deadlineSlot
	permit bool
	// When it was queued (the DB's clock).
	at time.Duration
	// What QueryRow and Scan were given; used counts the QueryRow (1) and the Scan (2).
	ctx  context.Context
	sql  string
	args []any
	dest []any
	used int
	// Set by the driver that took it.
	state  atomic.Int32
	round  *laneRound
	idx    int
	stmt   *laneStmt
	sent   bool
	resent bool
	err    error
	done   chan struct{}
	// How the caller waits for its deadline: an entry on its slot, or a registration
	// with its context.
	entry    slotEntry
	stop     func() bool
	leftFrom int32
	// reuse: nothing refers to it once the call is over.
	reuse bool
}

var errLaneOne = errors.New("a shared read runs one QueryRow and scans it: run other work with a statement of its own")

func (r *laneReq) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if r.used != 0 {
		return errRow{errLaneOne}
	}
	r.used = 1
	r.ctx, r.sql, r.args = ctx, sql, args
	return r
}

func (r *laneReq) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errLaneOne
}

func (r *laneReq) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errLaneOne
}

func (r *laneReq) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults {
	return errBatch{errLaneOne}
}

func (r *laneReq) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errLaneOne
}

// Scan sends the read and waits for its reply, or for the call's deadline or the end
// of QueryRow's context.
func (r *laneReq) Scan(dest ...any) error {
	if r.used != 1 {
		return errLaneOne
	}
	r.used, r.dest = 2, dest
	// Queued before the caller's deadline can make it leave.
	r.state.Store(reqQueued)
	if r.slot != nil && !r.slot.add(&r.entry) {
		return context.DeadlineExceeded
	}
	if r.ctx != r.given && r.ctx.Done() != nil || r.slot == nil && r.ctx.Done() != nil {
		if err := r.ctx.Err(); err != nil {
			if r.slot != nil {
				r.entry.stop()
			}
			return err
		}
		r.stop = context.AfterFunc(r.ctx, r.leave)
	}
	if r.state.Load() != reqLeft {
		r.lane.enqueue(r)
	}
	<-r.done
	// Reused only when no late leave can reach it.
	stopped := true
	if r.slot != nil {
		stopped = r.entry.stop()
	}
	if r.stop != nil {
		stopped = r.stop() && stopped
	}
	if r.state.Load() == reqLeft {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		return context.DeadlineExceeded
	}
	r.reuse = stopped
	return r.err
}

// leave ends the caller's wait at its deadline or context's end. A request being
// scanned is answered in a moment; its connection is cut, should its reply stall.
func (r *laneReq) leave() {
	for {
		switch st := r.state.Load(); st {
		case reqQueued, reqTaken:
			if !r.state.CompareAndSwap(st, reqLeft) {
				continue
			}
			r.leftFrom = st
			var rd *laneRound
			if st == reqTaken {
				rd = r.round
			}
			r.done <- struct{}{}
			if rd != nil {
				rd.release()
			}
		case reqEncoding:
			runtime.Gosched()
			continue
		case reqScanning:
			r.round.cutScan(r)
		}
		return
	}
}
