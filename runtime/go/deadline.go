package sqlpact

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Deadlines without a timer per call. A statement's deadline and its wait for a
// connection each need a context that ends at a time; context.WithDeadline makes a
// timer, a context and a channel for every call, and pgx then registers with it during
// the query: half of what the runtime costs a call. Here the calls with one timeout
// whose deadlines fall in the same slot of time share one context: one timer and one
// channel, made by the first of them. A slot ends at its start, so a deadline is met
// up to one slot's width early, never late: a millisecond, or 1/2048 of a long
// timeout (a slot per millisecond would keep tens of thousands of timers pending
// under a 30 s timeout).
//
// A slot's timer fires only when it may matter: once no call can join the slot (a
// newer one took its place) and none of its calls is still running, the timer is
// stopped, so a busy process is not woken every millisecond for slots nobody holds.
// The context handed to a call is therefore for that call only: used after the call
// returned, it may never end.
//
// A statement under a slot runs without pgx watching a context: its connection's entry
// (slotEntry, made once per connection) goes on the slot's list for the statement, and
// the slot cuts that connection when it ends, as cutOnGiveUp does for a watched one.
//
// Only a parent that never ends (its Done is nil: context.Background, or values on
// it) can share a slot: the slot's context does not end with a parent. Other parents,
// and timeouts shorter than four slots, get context.WithDeadline.

const (
	slotWidthMin = time.Millisecond
	slotsPerSpan = 2048
	slotTable    = 64
)

// slotWidth is the width of the slots of deadlines timeout from now.
func slotWidth(timeout time.Duration) time.Duration {
	return max(slotWidthMin, timeout/slotsPerSpan)
}

// deadlines hands out the shared contexts of a DB.
type deadlines struct {
	epoch time.Time
	// The latest slot of each timeout, by a hash of the timeout: the one new calls
	// with that timeout join while its tick lasts.
	table [slotTable]atomic.Pointer[deadlineSlot]
}

// deadlineSlot is a shared context that ends at end. Its Err is
// context.DeadlineExceeded once done is closed, and it runs the functions registered
// with AfterFunc (how the context package and pgx watch it) when it ends.
type deadlineSlot struct {
	timeout time.Duration
	tick    int64
	end     time.Time
	done    chan struct{}
	timer   *time.Timer
	// users counts the calls holding the slot; closed is set once no new call may
	// join it. The timer is stopped when both say nobody can need it.
	users  atomic.Int64
	closed atomic.Bool
	mu     sync.Mutex
	fired  bool
	// What waits for the slot's end, not yet run, cut or stopped: the functions
	// registered with AfterFunc and the connections of the statements it bounds. A
	// list, so that a stopped one goes at once.
	head *slotEntry
}

// slotEntry is one function or connection waiting for a slot's end. A connection's is
// made once, with it (a connection runs one statement at a time): a statement under a
// shared deadline then costs pgx no watch (no context.AfterFunc, no channel) and no
// allocation, and the slot cuts its connection when it ends, as cutOnGiveUp does for
// a context pgx watches.
type slotEntry struct {
	f    func()
	conn net.Conn
	// Under the slot's lock.
	prev, next *slotEntry
	s          *deadlineSlot
	stopped    bool
}

// bound is a call's hold on its deadline; end releases it.
type bound struct {
	s      *deadlineSlot
	cancel context.CancelFunc
}

func (b bound) end() {
	if b.s != nil {
		b.s.leave()
	} else if b.cancel != nil {
		b.cancel()
	}
}

// bounded returns ctx ending no later than now+timeout (now on d's epoch's monotonic
// clock) and the hold to end when the call returns. ctx itself comes back when it ends
// first.
func (d *deadlines) bounded(ctx context.Context, now, timeout time.Duration) (context.Context, bound) {
	limit := d.epoch.Add(now + timeout)
	if dl, ok := ctx.Deadline(); ok && !dl.After(limit) {
		return ctx, bound{}
	}
	width := slotWidth(timeout)
	if ctx.Done() != nil || timeout < 4*width {
		c, cancel := context.WithDeadline(ctx, limit)
		return c, bound{cancel: cancel}
	}
	s := d.join(now, timeout, width)
	if ctx == context.Background() || ctx == context.TODO() {
		return s, bound{s: s}
	}
	return slotCtx{Context: ctx, s: s}, bound{s: s}
}

// joinRace, set only by tests, runs between finding a slot and joining it: where a
// newer slot may close it.
var joinRace func()

// join returns the slot of the deadline now+timeout, held for one more call.
func (d *deadlines) join(now, timeout, width time.Duration) *deadlineSlot {
	tick := int64((now + timeout) / width)
	p := d.entry(timeout)
	for {
		old := p.Load()
		if old != nil && old.tick == tick && old.timeout == timeout {
			if joinRace != nil {
				joinRace()
			}
			old.users.Add(1)
			if !old.closed.Load() {
				return old
			}
			// Closed while joining: its timer may be stopped.
			old.leave()
			continue
		}
		start := time.Duration(tick) * width
		s := &deadlineSlot{timeout: timeout, tick: tick, end: d.epoch.Add(start), done: make(chan struct{})}
		s.users.Store(1)
		// From the present, not from now: the caller may have read the clock a while ago.
		s.timer = time.AfterFunc(time.Until(s.end), s.fire)
		if old != nil && (old.timeout != timeout || old.tick > tick) {
			// Another timeout shares the entry, or a newer slot is there (this call
			// read the clock before its maker): this slot is the call's alone.
			s.close()
			return s
		}
		if p.CompareAndSwap(old, s) {
			if old != nil {
				old.close()
			}
			return s
		}
		// Someone else made the slot first: use theirs.
		s.timer.Stop()
	}
}

// entry is the table's entry for timeout: the first of a few neighbours that holds
// it or nothing, so that two timeouts whose hashes collide still share slots.
func (d *deadlines) entry(timeout time.Duration) *atomic.Pointer[deadlineSlot] {
	h := uint64(timeout) * 0x9e3779b97f4a7c15 >> 32
	for k := range uint64(4) {
		p := &d.table[(h+k)%slotTable]
		if s := p.Load(); s == nil || s.timeout == timeout {
			return p
		}
	}
	return &d.table[h%slotTable]
}

// close lets no new call join s; its timer stops once its calls are done.
func (s *deadlineSlot) close() {
	s.closed.Store(true)
	if s.users.Load() == 0 {
		s.timer.Stop()
	}
}

// leave ends one call's hold on s.
func (s *deadlineSlot) leave() {
	if s.users.Add(-1) == 0 && s.closed.Load() {
		s.timer.Stop()
	}
}

// fire ends s: its channel closes, the connections of its statements are cut and
// the registered functions run.
func (s *deadlineSlot) fire() {
	s.mu.Lock()
	s.fired = true
	close(s.done)
	var fs []func()
	var conns []net.Conn
	for e := s.head; e != nil; e = e.next {
		if e.conn != nil {
			conns = append(conns, e.conn)
		} else {
			fs = append(fs, e.f)
		}
	}
	s.head = nil
	s.mu.Unlock()
	for _, c := range conns {
		cutOnGiveUp{c}.HandleCancel(s)
	}
	for _, f := range fs {
		f()
	}
}

// add puts e on s's list, unless s has ended (false): a function to run, or a
// connection to cut, when s ends. stop takes it off.
func (s *deadlineSlot) add(e *slotEntry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fired {
		return false
	}
	e.s, e.stopped, e.prev, e.next = s, false, nil, s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	return true
}

func (s *deadlineSlot) Deadline() (time.Time, bool) { return s.end, true }
func (s *deadlineSlot) Done() <-chan struct{}       { return s.done }
func (s *deadlineSlot) Value(any) any               { return nil }

func (s *deadlineSlot) Err() error {
	select {
	case <-s.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// AfterFunc runs f when the slot ends, unless the returned stop comes first (it then
// reports true). The context package uses it for the slot's children and
// context.AfterFunc, instead of a goroutine per child.
func (s *deadlineSlot) AfterFunc(f func()) func() bool {
	e := &slotEntry{f: f}
	if !s.add(e) {
		go f()
		return func() bool { return false }
	}
	return e.stop
}

// stop takes e off its slot's list before the slot ends: false if it ended first (or
// e was stopped already).
func (e *slotEntry) stop() bool {
	s := e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fired || e.stopped {
		return false
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	}
	e.prev, e.next, e.stopped = nil, nil, true
	return true
}

// slotCtx is a slot under a parent that never ends, whose values it carries.
type slotCtx struct {
	context.Context
	s *deadlineSlot
}

func (c slotCtx) Deadline() (time.Time, bool)    { return c.s.Deadline() }
func (c slotCtx) Done() <-chan struct{}          { return c.s.done }
func (c slotCtx) Err() error                     { return c.s.Err() }
func (c slotCtx) AfterFunc(f func()) func() bool { return c.s.AfterFunc(f) }
